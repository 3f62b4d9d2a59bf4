//! Kubernetes label selectors as they arrive in `?labelSelector=`: equality (`a=b`, `a==b`,
//! `a!=b`) and set-based (`a in (x,y)`, `a notin (x)`, `a`, `!a`) requirements joined by `,`.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed selector; empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    /// Parses a selector string; the error says what is wrong and where.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(s)? {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part)?);
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    /// The single value the selector pins `key` to (`key=v` or `key in (v)`), if any.
    pub fn exact_value(&self, key: &str) -> Option<&str> {
        self.0.iter().find_map(|r| match r {
            Requirement::Equals(k, v) if k == key => Some(v.as_str()),
            Requirement::In(k, vs) if k == key && vs.len() == 1 => Some(vs[0].as_str()),
            _ => None,
        })
    }
}

/// Splits on commas that are not inside `( )`.
fn split_top_level(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!(
                        "unbalanced ')' at position {i} in label selector {s:?}"
                    ));
                }
            }
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in label selector {s:?}"));
    }
    out.push(&s[start..]);
    Ok(out)
}

fn parse_requirement(p: &str) -> Result<Requirement, String> {
    if let Some(k) = p.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key(k.trim())?));
    }
    for (op, ctor) in [("!=", 0), ("==", 1), ("=", 1)] {
        if let Some((k, v)) = p.split_once(op) {
            let (k, v) = (key(k.trim())?, value(v.trim())?);
            return Ok(if ctor == 0 {
                Requirement::NotEquals(k, v)
            } else {
                Requirement::Equals(k, v)
            });
        }
    }
    let words: Vec<&str> = p.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let rest = words[1].trim_start();
        let (op, list) = if let Some(l) = rest.strip_prefix("notin") {
            ("notin", l)
        } else if let Some(l) = rest.strip_prefix("in") {
            ("in", l)
        } else {
            return Err(format!(
                "unknown operator in label selector requirement {p:?}"
            ));
        };
        let list = list.trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| format!("expected '(values)' after {op} in {p:?}"))?;
        let values = inner
            .split(',')
            .map(|v| value(v.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let k = key(words[0])?;
        return Ok(if op == "in" {
            Requirement::In(k, values)
        } else {
            Requirement::NotIn(k, values)
        });
    }
    Ok(Requirement::Exists(key(p)?))
}

fn key(k: &str) -> Result<String, String> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
    });
    if name_ok && prefix_ok {
        Ok(k.to_string())
    } else {
        Err(format!("invalid label key {k:?}"))
    }
}

fn value(v: &str) -> Result<String, String> {
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("invalid label value {v:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_equality_and_set_based() {
        let s = Selector::parse(
            "scaledobject.keda.sh/name=web, tier in (a,b), env notin (dev), x, !y, z!=1, w==2",
        )
        .unwrap();
        assert_eq!(s.0.len(), 7);
        assert_eq!(s.exact_value("scaledobject.keda.sh/name"), Some("web"));
        let good = labels(&[
            ("scaledobject.keda.sh/name", "web"),
            ("tier", "a"),
            ("env", "prod"),
            ("x", ""),
            ("w", "2"),
        ]);
        assert!(s.matches(&good));
        let mut bad = good.clone();
        bad.insert("y".into(), "1".into());
        assert!(!s.matches(&bad));
        assert!(Selector::parse("").unwrap().matches(&labels(&[])));
        assert_eq!(
            Selector::parse("a in (only)").unwrap().exact_value("a"),
            Some("only")
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "a in (x",
            "a in x",
            "a foo (x)",
            "=x",
            "a=b c",
            "-a=b",
            "a=-b",
            "a)=b",
            "Upper/x=1",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }
}
