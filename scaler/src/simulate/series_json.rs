//! The JSON form of series files: `[{"timestamp": …, "value": …}]` or
//! `[{"starts_at": …, "ends_at": …, "load": …}]`, timestamps as RFC 3339 strings or unix seconds,
//! numbers as numbers or strings. Errors name the entry (1-based), or the line of a syntax error.

use super::series::{Recorded, events, values};
use serde_json::Value;

/// Parses the text of a JSON series file named `file`.
pub fn parse(file: &str, text: &str) -> Result<Recorded, String> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| format!("{file}: line {}: invalid JSON: {e}", e.line()))?;
    let Value::Array(entries) = doc else {
        return Err(format!(
            "{file}: expected an array of {{\"timestamp\", \"value\"}} objects"
        ));
    };
    let is_calendar = entries
        .first()
        .is_some_and(|e| e.get("starts_at").is_some());
    let cells = |names: &'static [&'static str]| {
        entries.iter().enumerate().map(move |(i, e)| {
            let row = names.iter().map(|n| cell(e.get(*n))).collect();
            (format!("entry {}", i + 1), row)
        })
    };
    if is_calendar {
        events(file, cells(&["starts_at", "ends_at", "load"])).map(Recorded::Events)
    } else {
        values(file, cells(&["timestamp", "value"])).map(Recorded::Values)
    }
}

/// A cell as the CSV reader would see it (missing → empty, which fails to parse there).
fn cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) => "NaN".into(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_events_and_their_errors() {
        let Recorded::Values(s) = parse(
            "s.json",
            r#"[{"timestamp": "2026-12-11T16:00:00Z", "value": 1.5}, {"timestamp": 1797004815, "value": "2"}]"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.points[1], (1_797_004_815_000, 2.0));
        let Recorded::Events(e) = parse(
            "c.json",
            r#"[{"starts_at": "2026-12-02T19:00:00+08:00", "ends_at": "2026-12-02T20:00:00+08:00", "load": 80}]"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(e[0].load, 80.0);
        let bad = parse(
            "s.json",
            r#"[{"timestamp": "2026-12-11T16:00:00Z", "value": true}]"#,
        );
        assert_eq!(
            bad.unwrap_err(),
            "s.json: entry 1: value \"true\" is not a number"
        );
        let bad = parse("s.json", r#"[{"timestamp": "2026-12-11T16:00:00Z"}]"#);
        assert_eq!(
            bad.unwrap_err(),
            "s.json: entry 1: value \"\" is not a number"
        );
        let bad = parse("s.json", "[\n{\"timestamp\": 1,\n \"value\": }]");
        assert!(bad.unwrap_err().starts_with("s.json: line 3: invalid JSON"));
        assert!(
            parse("s.json", "{}")
                .unwrap_err()
                .contains("expected an array")
        );
    }
}
