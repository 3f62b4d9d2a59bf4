//! KEDA's typed trigger configuration (spec §2.3): each parameter has aliases and an ordered
//! list of sources; the first non-empty, whitespace-trimmed value wins; values convert by
//! KEDA's rules; every problem is collected and reported together.
//!
//! Conversion errors name the raw value only when it came from trigger metadata: values from
//! authentication parameters or the environment may be secrets and are shown as `<redacted>`.

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where a parameter may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `triggers[i].metadata[name]`.
    Metadata,
    /// `triggers[i].metadata[name + "FromEnv"]`, looked up in the target container's env.
    Env,
    /// TriggerAuthentication parameters.
    Auth,
}

impl Source {
    fn keda_name(self) -> &'static str {
        match self {
            Source::Metadata => "triggerMetadata",
            Source::Env => "resolvedEnv",
            Source::Auth => "authParams",
        }
    }
}

pub const META: &[Source] = &[Source::Metadata];
pub const AUTH: &[Source] = &[Source::Auth];

/// Whether a parameter must be present.
#[derive(Debug, Clone, Copy)]
pub enum Need<'d> {
    Required,
    Optional,
    /// Absent → this string is parsed as if it had been given.
    Default(&'d str),
}

/// A value found for a parameter, and where.
#[derive(Debug, Clone)]
pub struct Found {
    pub raw: String,
    pub source: Source,
    pub name: String,
}

/// A type a parameter string converts to, with KEDA's rules.
pub trait FromParam: Sized {
    fn from_param(raw: &str) -> std::result::Result<Self, String>;
}

impl FromParam for String {
    fn from_param(raw: &str) -> std::result::Result<Self, String> {
        Ok(raw.to_string())
    }
}

impl FromParam for bool {
    /// Go's `strconv.ParseBool`.
    fn from_param(raw: &str) -> std::result::Result<Self, String> {
        parse_go_bool(raw)
            .ok_or_else(|| format!("strconv.ParseBool: parsing {raw:?}: invalid syntax"))
    }
}

macro_rules! json_number {
    ($($t:ty),*) => {$(
        impl FromParam for $t {
            /// JSON number decoding: `05`, `+5`, `.5`, `5.`, `0x10` are rejected.
            fn from_param(raw: &str) -> std::result::Result<Self, String> {
                serde_json::from_str::<$t>(raw).map_err(|e| {
                    format!("cannot decode as {}: {e}", stringify!($t))
                })
            }
        }
    )*};
}
json_number!(i32, i64, u32, u64, f64);

impl FromParam for Duration {
    /// A Go duration string (`1.5s`, `300ms`, `1h2m`), else integer milliseconds.
    fn from_param(raw: &str) -> std::result::Result<Self, String> {
        if let Ok(ms) = serde_json::from_str::<i64>(raw) {
            return u64::try_from(ms)
                .map(Duration::from_millis)
                .map_err(|_| "duration must not be negative".to_string());
        }
        parse_go_duration(raw)
    }
}

impl FromParam for Vec<String> {
    /// `,`-separated, elements trimmed.
    fn from_param(raw: &str) -> std::result::Result<Self, String> {
        Ok(raw.split(',').map(|s| s.trim().to_string()).collect())
    }
}

impl FromParam for BTreeMap<String, String> {
    /// `k=v` pairs separated by `,`; each pair and side trimmed; exactly one `=` per pair.
    fn from_param(raw: &str) -> std::result::Result<Self, String> {
        let mut out = BTreeMap::new();
        for pair in raw.split(',') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let parts: Vec<&str> = pair.split('=').collect();
            if parts.len() != 2 {
                return Err(format!(
                    "invalid map pair {pair:?}: expected exactly one '='"
                ));
            }
            out.insert(parts[0].trim().to_string(), parts[1].trim().to_string());
        }
        Ok(out)
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(raw: &str) -> Option<bool> {
    match raw {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `time.ParseDuration` (negative durations are rejected here).
pub fn parse_go_duration(raw: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("time: invalid duration {raw:?}");
    let mut s = raw;
    if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    } else if s.starts_with('-') {
        return Err("duration must not be negative".to_string());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {raw:?}"))?;
        let num = &s[..num_end];
        if num.is_empty() || num == "." {
            return Err(bad());
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let nanos_per = match &s[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {raw:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {raw:?}")),
        };
        total += n * nanos_per;
        s = &s[unit_end..];
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Collects the typed parameters of one trigger and every problem found on the way.
pub struct Params<'a> {
    input: &'a TriggerInput,
    errors: Vec<String>,
}

impl<'a> Params<'a> {
    pub fn new(input: &'a TriggerInput) -> Self {
        Self {
            input,
            errors: Vec::new(),
        }
    }

    pub fn input(&self) -> &'a TriggerInput {
        self.input
    }

    /// The first non-empty value among `names` × `sources` (sources outer, aliases inner).
    pub fn lookup(&self, names: &[&str], sources: &[Source]) -> Option<Found> {
        for &source in sources {
            for &name in names {
                crate::known_keys::note(name, source);
            }
        }
        for &source in sources {
            for &name in names {
                let raw = match source {
                    Source::Metadata => self.input.metadata.get(name),
                    Source::Auth => self.input.auth_params.get(name),
                    Source::Env => self
                        .input
                        .metadata
                        .get(&format!("{name}FromEnv"))
                        .map(|var| var.trim())
                        .filter(|var| !var.is_empty())
                        .and_then(|var| self.input.resolved_env.get(var)),
                };
                if let Some(raw) = raw.map(|r| r.trim()).filter(|r| !r.is_empty()) {
                    return Some(Found {
                        raw: raw.to_string(),
                        source,
                        name: name.to_string(),
                    });
                }
            }
        }
        None
    }

    /// A typed parameter. `None` when absent and optional, or when it failed (the failure is
    /// recorded and reported by [`Params::finish`]).
    pub fn get<T: FromParam>(
        &mut self,
        names: &[&str],
        sources: &[Source],
        need: Need<'_>,
    ) -> Option<T> {
        let found = match (self.lookup(names, sources), need) {
            (Some(found), _) => found,
            (None, Need::Default(d)) => Found {
                raw: d.to_string(),
                source: Source::Metadata,
                name: names[0].to_string(),
            },
            (None, Need::Optional) => return None,
            (None, Need::Required) => {
                self.missing(names, sources);
                return None;
            }
        };
        match T::from_param(&found.raw) {
            Ok(v) => Some(v),
            Err(detail) => {
                // A conversion detail may quote the value: keep both out for secret sources.
                let (shown, detail) = if found.source == Source::Metadata {
                    (found.raw.clone(), detail)
                } else {
                    ("<redacted>".to_string(), "invalid value".to_string())
                };
                self.error(format!(
                    "unable to set param {:?} value {:?}: {detail}",
                    found.name, shown
                ));
                None
            }
        }
    }

    /// A string parameter (`""` when absent and optional).
    pub fn string(&mut self, names: &[&str], sources: &[Source], need: Need<'_>) -> String {
        self.get::<String>(names, sources, need).unwrap_or_default()
    }

    /// A list parameter whose every element must be one of `allowed` (KEDA `enum`).
    pub fn enum_list(
        &mut self,
        names: &[&str],
        sources: &[Source],
        need: Need<'_>,
        allowed: &[&str],
    ) -> Vec<String> {
        let secret = self
            .lookup(names, sources)
            .is_some_and(|f| f.source != Source::Metadata);
        let Some(raw) = self.get::<String>(names, sources, need) else {
            return Vec::new();
        };
        let items: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).collect();
        if items.iter().any(|i| !allowed.contains(&i.as_str())) {
            // a value from authParams or the environment may be a secret: not shown
            let shown = if secret { "<redacted>" } else { raw.as_str() };
            self.error(format!(
                "parameter {:?} value {:?} must be one of [{}]",
                names[0],
                shown,
                allowed.join(" ")
            ));
            return Vec::new();
        }
        items
    }

    /// Records `missing required parameter "<names>" in [<sources>]`.
    pub fn missing(&mut self, names: &[&str], sources: &[Source]) {
        let sources: Vec<&str> = sources.iter().map(|s| s.keda_name()).collect();
        self.error(format!(
            "missing required parameter {:?} in [{}]",
            names.join(","),
            sources.join(" ")
        ));
    }

    /// Records a cross-field validation problem.
    pub fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Every problem joined by newlines, wrapped as `error parsing <scaler> metadata: …`.
    pub fn finish(self, scaler: &'static str) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Parse {
                scaler,
                message: self.errors.join("\n"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_in_order_aliases_within() {
        let input = TriggerInput::new(
            "redis",
            0,
            &[("host", " "), ("hosts", "a"), ("portFromEnv", "P")],
        )
        .with_auth(&[("host", "b")])
        .with_env(&[("P", "6379")]);
        let p = Params::new(&input);
        // whitespace-only metadata `host` is absent, so the alias `hosts` wins before authParams
        let f = p
            .lookup(&["host", "hosts"], &[Source::Metadata, Source::Auth])
            .unwrap();
        assert_eq!((f.raw.as_str(), f.source), ("a", Source::Metadata));
        let f = p
            .lookup(&["host"], &[Source::Metadata, Source::Auth])
            .unwrap();
        assert_eq!((f.raw.as_str(), f.source), ("b", Source::Auth));
        let f = p
            .lookup(&["port"], &[Source::Metadata, Source::Env])
            .unwrap();
        assert_eq!((f.raw.as_str(), f.source), ("6379", Source::Env));
    }

    #[test]
    fn json_number_rules() {
        for ok in ["5", "-5", "0", "12345"] {
            assert!(i64::from_param(ok).is_ok(), "{ok}");
        }
        for bad in ["05", "+5", ".5", "5.", "0x10", "1e3", "5.0", "five"] {
            assert!(i64::from_param(bad).is_err(), "{bad}");
        }
        assert_eq!(f64::from_param("1e3"), Ok(1000.0));
        assert_eq!(f64::from_param("2.5"), Ok(2.5));
        for bad in ["05", "+5", ".5", "5.", "NaN"] {
            assert!(f64::from_param(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_bools_and_durations() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(bool::from_param(t), Ok(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(bool::from_param(f), Ok(false));
        }
        assert!(bool::from_param("yes").is_err());
        assert_eq!(
            Duration::from_param("1500"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            Duration::from_param("1.5s"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            Duration::from_param("1h2m3s"),
            Ok(Duration::from_secs(3723))
        );
        assert_eq!(
            Duration::from_param("300ms"),
            Ok(Duration::from_millis(300))
        );
        assert!(Duration::from_param("-5").is_err());
        assert!(Duration::from_param("-1s").is_err());
        assert!(Duration::from_param("10").is_ok());
        assert!(Duration::from_param("10x").is_err());
        assert!(Duration::from_param("s").is_err());
    }

    #[test]
    fn maps_and_lists() {
        let m = BTreeMap::<String, String>::from_param(" a = 1 , b=2").unwrap();
        assert_eq!(m.get("a").map(String::as_str), Some("1"));
        assert_eq!(m.get("b").map(String::as_str), Some("2"));
        assert!(BTreeMap::<String, String>::from_param("a=1=2").is_err());
        assert!(BTreeMap::<String, String>::from_param("a").is_err());
        assert_eq!(
            Vec::<String>::from_param("a, b ,c").unwrap(),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn errors_are_collected_and_secrets_redacted() {
        let input = TriggerInput::new("redis", 0, &[("listLength", "five")])
            .with_auth(&[("databaseIndex", "s3cr3t")]);
        let mut p = Params::new(&input);
        assert_eq!(
            p.get::<i64>(&["listLength"], META, Need::Default("5")),
            None
        );
        assert_eq!(p.get::<i64>(&["databaseIndex"], AUTH, Need::Optional), None);
        assert_eq!(p.get::<String>(&["listName"], META, Need::Required), None);
        assert_eq!(
            p.get::<i64>(&["activation"], META, Need::Default("7")),
            Some(7)
        );
        let err = p.finish("redis").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "error parsing redis metadata: unable to set param \"listLength\" value \"five\""
            ),
            "{err}"
        );
        assert!(
            err.contains("missing required parameter \"listName\" in [triggerMetadata]"),
            "{err}"
        );
        assert!(err.contains("value \"<redacted>\""), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
        assert_eq!(err.lines().count(), 3);
    }

    #[test]
    fn enum_lists() {
        let input = TriggerInput::new(
            "prometheus",
            0,
            &[("authModes", "basic, tls"), ("bad", "x,basic")],
        );
        let mut p = Params::new(&input);
        assert_eq!(
            p.enum_list(&["authModes"], META, Need::Optional, &["basic", "tls"]),
            vec!["basic", "tls"]
        );
        assert!(
            p.enum_list(&["bad"], META, Need::Optional, &["basic", "tls"])
                .is_empty()
        );
        let err = p.finish("prometheus").unwrap_err().to_string();
        assert!(
            err.contains("parameter \"bad\" value \"x,basic\" must be one of [basic tls]"),
            "{err}"
        );
    }
}
