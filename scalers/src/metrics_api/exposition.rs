//! `format: prometheus`: one sample of an application's own Prometheus text exposition
//! (`/metrics`), read with the `prometheus-parse` crate.
//!
//! `valueLocation` is a series selector: a metric name and optional equality matchers,
//! `http_requests_total{code="200",method="get"}` (label values in `"…"` or `'…'`, with `\"`,
//! `\\` and `\n` escapes; `{__name__="x"}` names the metric too). The first series, in page
//! order, that carries every named label with that value is the value (as KEDA takes it); other
//! labels may differ. Matchers other than `=` are refused when the trigger is parsed.
//!
//! Counters, gauges and untyped samples are read as they are. A histogram or summary has no
//! single value, so one sample of it must be chosen: `name_bucket{le="0.5"}` (a bucket),
//! `name{quantile="0.99"}` (a summary quantile), `name_sum` or `name_count`. Naming the bare
//! family is an error that lists those choices. Metric names with `:` (recording rules, not
//! found on application pages) are refused: prometheus-parse does not read them. So is a
//! missing metric ("metric '…' not
//! found"), a series no sample matches ("value … not found") and a body that is not exposition
//! text (the first bad line is named).

use prometheus_parse::{Sample, Scrape, Value};

/// A parsed `valueLocation` for the prometheus format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub matchers: Vec<(String, String)>,
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

impl Selector {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let name_end = raw
            .char_indices()
            .find(|&(i, c)| !is_name_char(c, i == 0))
            .map_or(raw.len(), |(i, _)| i);
        let mut name = raw[..name_end].to_string();
        let rest = raw[name_end..].trim();
        let mut matchers = Vec::new();
        if !rest.is_empty() {
            let inner = rest
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .ok_or_else(|| {
                    format!(
                        "expected a metric name and optional {{label=\"value\",…}}, got {raw:?}"
                    )
                })?;
            matchers = parse_matchers(inner)?;
        }
        if let Some(pos) = matchers.iter().position(|(k, _)| k == "__name__") {
            let (_, v) = matchers.remove(pos);
            if !name.is_empty() && name != v {
                return Err(format!("the metric is named twice: {name} and {v}"));
            }
            name = v;
        }
        if name.is_empty() {
            return Err(format!("no metric name in {raw:?}"));
        }
        if name.contains(':') {
            return Err(format!(
                "{name}: metric names with ':' (recording rules) cannot be read from exposition \
                 text by the parser Prescale uses"
            ));
        }
        Ok(Self { name, matchers })
    }
}

/// `label="value", …` with only `=` matchers.
fn parse_matchers(inner: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut label = String::new();
        while let Some(&c) = chars.peek() {
            if !is_name_char(c, label.is_empty()) || c == ':' {
                break;
            }
            label.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if label.is_empty() {
            return Err("expected a label name".into());
        }
        match (chars.next(), chars.peek()) {
            (Some('='), Some('~')) | (Some('!'), _) => {
                return Err(format!(
                    "only equality matchers (label=\"value\") are supported, not those on {label}"
                ));
            }
            (Some('='), _) => {}
            _ => return Err(format!("expected = after {label}")),
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = match chars.next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(format!("the value of {label} must be quoted")),
        };
        let mut value = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("the value of {label} is not closed")),
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of {label} is not closed")),
                },
                Some(c) if c == quote => break,
                Some(c) => value.push(c),
            }
        }
        out.push((label, value));
    }
}

/// Whether `t` has the shape `name[{labels}] value [timestamp]` with a number as value (Go's
/// spellings of NaN and infinities included).
fn is_sample_line(t: &str) -> bool {
    let name_end = t
        .char_indices()
        .find(|&(i, c)| !is_name_char(c, i == 0))
        .map_or(t.len(), |(i, _)| i);
    if name_end == 0 {
        return false;
    }
    let mut rest = &t[name_end..];
    if rest.starts_with('{') {
        match rest.rfind('}') {
            Some(end) => rest = &rest[end + 1..],
            None => return false,
        }
    }
    if !rest.starts_with(char::is_whitespace) {
        return false;
    }
    let value = rest.split_whitespace().next().unwrap_or("").to_lowercase();
    value == "nan" || value.parse::<f64>().is_ok()
}

/// Every non-comment line must be a sample with a number: prometheus-parse skips what it cannot
/// read, which would turn a broken page into "metric not found".
fn check_lines(text: &str) -> Result<(), String> {
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || is_sample_line(t) {
            continue;
        }
        let mut shown: String = t.chars().take(80).collect();
        if t.chars().count() > 80 {
            shown.push('…');
        }
        return Err(format!(
            "prometheus format parsing error: line {} is not a sample: {shown:?}",
            n + 1
        ));
    }
    Ok(())
}

/// The value of label `name` of `s`. prometheus-parse keeps the blanks around a pair
/// (`a="1", b="2"` gives the key ` b`), which the exposition format allows.
fn label<'s>(s: &'s Sample, name: &str) -> Option<&'s str> {
    s.labels
        .iter()
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

fn labels_match(s: &Sample, matchers: &[(String, String)], skip: &str) -> bool {
    matchers
        .iter()
        .filter(|(k, _)| k != skip)
        .all(|(k, v)| label(s, k) == Some(v.as_str()))
}

/// The chosen sample's value in the exposition `body`.
pub fn value(body: &[u8], sel: &Selector, raw: &str) -> Result<f64, String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| "prometheus format parsing error: the body is not UTF-8".to_string())?;
    check_lines(text)?;
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .map_err(|e| format!("prometheus format parsing error: {e}"))?;
    let matcher = |k: &str| {
        sel.matchers
            .iter()
            .find(|(l, _)| l == k)
            .map(|(_, v)| v.as_str())
    };
    // a histogram bucket: `name_bucket{le="…"}`
    if let Some(base) = sel.name.strip_suffix("_bucket") {
        let histograms: Vec<&Sample> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == base && matches!(s.value, Value::Histogram(_)))
            .collect();
        if !histograms.is_empty() {
            let le = matcher("le").ok_or_else(|| {
                format!(
                    "choose a bucket of the histogram {base}: {}{{le=\"…\"}}",
                    sel.name
                )
            })?;
            let le = parse_bound(le)?;
            for s in histograms
                .iter()
                .filter(|s| labels_match(s, &sel.matchers, "le"))
            {
                if let Value::Histogram(buckets) = &s.value
                    && let Some(b) = buckets.iter().find(|b| b.less_than == le)
                {
                    return Ok(b.count);
                }
            }
            return Err(format!("value {raw} not found"));
        }
    }
    let family: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == sel.name)
        .collect();
    if family.is_empty() {
        return Err(format!("metric '{}' not found", sel.name));
    }
    let n = &sel.name;
    if family
        .iter()
        .any(|s| matches!(s.value, Value::Histogram(_)))
    {
        return Err(format!(
            "metric '{n}' is a histogram: choose one sample: {n}_bucket{{le=\"…\"}}, {n}_sum or {n}_count"
        ));
    }
    if family.iter().any(|s| matches!(s.value, Value::Summary(_))) {
        let Some(q) = matcher("quantile") else {
            return Err(format!(
                "metric '{n}' is a summary: choose one sample: {n}{{quantile=\"…\"}}, {n}_sum or {n}_count"
            ));
        };
        let q = parse_bound(q)?;
        for s in family
            .iter()
            .filter(|s| labels_match(s, &sel.matchers, "quantile"))
        {
            if let Value::Summary(qs) = &s.value
                && let Some(c) = qs.iter().find(|c| c.quantile == q)
            {
                return Ok(c.count);
            }
        }
        return Err(format!("value {raw} not found"));
    }
    family
        .iter()
        .find(|s| labels_match(s, &sel.matchers, ""))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .ok_or_else(|| format!("value {raw} not found"))
}

/// A bucket bound or quantile as the exposition writes it (`0.5`, `+Inf`).
fn parse_bound(raw: &str) -> Result<f64, String> {
    let v = raw.trim().to_lowercase();
    v.parse::<f64>()
        .map_err(|_| format!("{raw:?} is not a number"))
}
