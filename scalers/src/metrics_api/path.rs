//! `valueLocation` for the `json`, `yaml` and `xml` formats.
//!
//! - `json`: the part of GJSON's path syntax that names one value: keys separated by `.`
//!   (`\` escapes a `.`, `*`, `?` or `\` in a key), array indexes (`items.0.count`), `#` for an
//!   array's length (`items.#`), and `*`/`?` wildcards in keys (the first matching key, in
//!   document order, as GJSON takes it). Queries (`#(…)`), modifiers (`@…`), pipes (`|`) and
//!   multipaths are refused when the trigger is parsed.
//! - `yaml`: keys separated by `.`; a number indexes a list (KEDA's `GetValueByPath`).
//! - `xml`: element names separated by `.`, starting below the root element (naming the root
//!   first is allowed too); a number after a name picks among repeated elements of that name
//!   (`queue.item.2.depth`); a last segment `@name` reads an attribute.
//!
//! The value must be a number, or a string that is a Kubernetes quantity (`"64"`, `"1k"`,
//! `"250m"`); anything else is KEDA's error `valueLocation must point to value of type number or
//! a string representing a Quantity got: '…'`.

use serde_json::Value as Json;

/// KEDA's text for a value that is not a number (`valueLocationWrongErrorMsg`).
pub fn wrong(got: &str) -> String {
    format!(
        "valueLocation must point to value of type number or a string representing a Quantity got: '{got}'"
    )
}

/// A string value as a Kubernetes quantity.
fn quantity(s: &str) -> Result<f64, String> {
    prescale_quantity::parse_quantity(s.trim())
        .map(|q| q.value)
        .map_err(|_| wrong(s))
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A key (object) or index (array); may hold `*`/`?` wildcards.
    Key { text: String, wild: bool },
    /// `#`: the length of an array.
    Count,
}

/// A checked GJSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(Vec<Step>);

impl JsonPath {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        let (mut cur, mut wild, mut chars) = (String::new(), false, raw.chars());
        let push = |cur: &mut String, wild: &mut bool| {
            let step = if cur == "#" && !*wild {
                Step::Count
            } else {
                Step::Key {
                    text: std::mem::take(cur),
                    wild: *wild,
                }
            };
            cur.clear();
            *wild = false;
            step
        };
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.push(chars.next().ok_or("a path may not end with '\\'")?),
                '.' => steps.push(push(&mut cur, &mut wild)),
                '*' | '?' => {
                    wild = true;
                    cur.push(c);
                }
                '|' | '@' | '[' | '{' | '(' | ')' | '!' | '=' | '<' | '>' | '%' => {
                    return Err(format!(
                        "GJSON queries, modifiers, pipes and multipaths are not supported ('{c}'): \
                         use a plain path such as components.0.tasks"
                    ));
                }
                c => cur.push(c),
            }
        }
        steps.push(push(&mut cur, &mut wild));
        if steps
            .iter()
            .any(|s| matches!(s, Step::Key { text, .. } if text.is_empty()))
        {
            return Err("a path may not have an empty part".into());
        }
        if steps[..steps.len() - 1].contains(&Step::Count) {
            return Err("'#' (an array's length) must be the last part".into());
        }
        Ok(Self(steps))
    }

    /// The number at this path in `body`.
    pub fn value(&self, body: &[u8]) -> Result<f64, String> {
        // GJSON reads what it can of a damaged document; a body that is not JSON is reported
        // as such rather than as a missing value
        let doc: Json =
            serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
        let mut cur = &doc;
        for step in &self.0 {
            match (step, cur) {
                (Step::Count, Json::Array(a)) => return Ok(a.len() as f64),
                (Step::Count, _) => return Err(wrong("Null")),
                (Step::Key { text, wild }, Json::Object(m)) => {
                    let found = if *wild {
                        m.iter().find(|(k, _)| glob(text, k)).map(|(_, v)| v)
                    } else {
                        m.get(text)
                    };
                    cur = found.ok_or_else(|| wrong("Null"))?;
                }
                (Step::Key { text, wild: false }, Json::Array(a)) => {
                    cur = text
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| a.get(i))
                        .ok_or_else(|| wrong("Null"))?;
                }
                _ => return Err(wrong("Null")),
            }
        }
        match cur {
            Json::Number(n) => n.as_f64().ok_or_else(|| wrong("Number")),
            Json::String(s) => quantity(s),
            Json::Null => Err(wrong("Null")),
            Json::Bool(true) => Err(wrong("True")),
            Json::Bool(false) => Err(wrong("False")),
            Json::Array(_) | Json::Object(_) => Err(wrong("JSON")),
        }
    }
}

/// GJSON's wildcard match: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A dotted path for `yaml`/`xml`: no empty parts.
pub fn check_dotted(raw: &str) -> Result<(), String> {
    if raw.split('.').any(str::is_empty) {
        return Err("a path may not have an empty part".into());
    }
    Ok(())
}

/// The number at the dotted `path` of a YAML document.
pub fn yaml_value(body: &[u8], path: &str) -> Result<f64, String> {
    use serde_yaml::Value as Yaml;
    let doc: Yaml =
        serde_yaml::from_slice(body).map_err(|e| format!("the body is not valid YAML: {e}"))?;
    let mut cur = &doc;
    for part in path.split('.') {
        cur = match cur {
            Yaml::Mapping(m) => m
                .iter()
                .find(|(k, _)| match k {
                    Yaml::String(s) => s == part,
                    Yaml::Number(n) => n.to_string() == part,
                    Yaml::Bool(b) => b.to_string() == part,
                    _ => false,
                })
                .map(|(_, v)| v)
                .ok_or_else(|| format!("key '{part}' not found in path '{path}'"))?,
            Yaml::Sequence(s) => part
                .parse::<usize>()
                .ok()
                .and_then(|i| s.get(i))
                .ok_or_else(|| format!("index '{part}' not found in path '{path}'"))?,
            _ => {
                return Err(format!(
                    "'{part}' in path '{path}' goes below a plain value"
                ));
            }
        };
    }
    match cur {
        Yaml::Number(n) => n.as_f64().ok_or_else(|| wrong(&n.to_string())),
        Yaml::String(s) => quantity(s),
        Yaml::Null => Err(wrong("null")),
        Yaml::Bool(b) => Err(wrong(&b.to_string())),
        _ => Err(wrong("a list or map")),
    }
}

/// The child elements of `n` named `name`.
fn named<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() && c.tag_name().name() == name)
        .collect()
}

/// The number at the dotted `path` of an XML document.
pub fn xml_value(body: &[u8], path: &str) -> Result<f64, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8 XML".to_string())?;
    let doc =
        roxmltree::Document::parse(text).map_err(|e| format!("the body is not valid XML: {e}"))?;
    let root = doc.root_element();
    let parts: Vec<&str> = path.split('.').collect();
    let mut i = 0;
    if parts[0] == root.tag_name().name() && named(root, parts[0]).is_empty() {
        i = 1;
    }
    let mut node = root;
    while i < parts.len() {
        let part = parts[i];
        if let Some(attr) = part.strip_prefix('@') {
            if i + 1 != parts.len() {
                return Err(format!(
                    "the attribute '{part}' must be the last part of '{path}'"
                ));
            }
            let v = node
                .attribute(attr)
                .ok_or_else(|| format!("attribute '{attr}' not found in path '{path}'"))?;
            return quantity(v);
        }
        let all = named(node, part);
        if all.is_empty() {
            return Err(format!("element '{part}' not found in path '{path}'"));
        }
        i += 1;
        let mut pick = 0;
        if let Some(n) = parts.get(i).and_then(|p| p.parse::<usize>().ok()) {
            pick = n;
            i += 1;
        }
        node = *all
            .get(pick)
            .ok_or_else(|| format!("index '{pick}' of '{part}' not found in path '{path}'"))?;
    }
    if node.children().any(|c| c.is_element()) {
        return Err(wrong(&format!(
            "<{}> with child elements",
            node.tag_name().name()
        )));
    }
    let text: String = node
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect();
    quantity(&text)
}
