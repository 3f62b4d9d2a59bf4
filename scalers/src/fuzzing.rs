//! Bodies of the fuzz targets in `fuzz/` (see `scripts/fuzz.sh`), public only so that the
//! fuzz package can call them; not an API. Each takes the raw fuzzer input, must not panic on
//! any input, and checks a few properties of what it parsed (a failed check panics, which the
//! fuzzer reports as a crash). The crate's tests run each body over its seed corpus
//! (`fuzz/corpus/<target>/`), so every harness also gets a short smoke run on stable Rust.

use crate::cron::schedule::Schedule;
use crate::cron::window::{Zone, load_location};
use crate::input::TriggerInput;
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::time::Duration;

/// `trigger_metadata`: one trigger of any registered type from a text description, parsed
/// with [`crate::registry::parse`] (errors are fine, panics are not).
///
/// The first line is the trigger `type`; every other line is `key=value` (metadata),
/// `@auth key=value`, `@env key=value`, `@metricType value`, `@podIdentity value` or
/// `@index N`. In values, `\n` stands for a newline (the `schedule` trigger's multi-line
/// `windows` and `recurring`).
pub fn trigger_metadata(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut input = TriggerInput {
        trigger_type: lines.next().unwrap_or("").trim().to_string(),
        ..TriggerInput::default()
    };
    for line in lines {
        if let Some(v) = line.strip_prefix("@metricType ") {
            input.metric_type = v.to_string();
        } else if let Some(v) = line.strip_prefix("@podIdentity ") {
            input.pod_identity_provider = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("@index ") {
            input.index = v.trim().parse().unwrap_or(0);
        } else {
            let (map, rest) = if let Some(r) = line.strip_prefix("@auth ") {
                (&mut input.auth_params, r)
            } else if let Some(r) = line.strip_prefix("@env ") {
                (&mut input.resolved_env, r)
            } else {
                (&mut input.metadata, line)
            };
            if let Some((k, v)) = rest.split_once('=') {
                map.insert(k.to_string(), v.replace("\\n", "\n"));
            }
        }
    }
    let Ok(def) = crate::registry::parse(&input) else {
        return;
    };
    assert_eq!(def.trigger_type(), input.trigger_type);
    let _ = def.metric_spec();
    for v in [0.0, 1.0, -1.0, f64::NAN, f64::INFINITY] {
        let _ = def.is_active(v);
    }
}

/// Instants the cron target evaluates schedules at: an ordinary day and the two Berlin and
/// New York daylight-saving nights of 2026.
const CRON_NOW: [&str; 3] = [
    "2026-06-15T10:17:30Z",
    "2026-03-29T00:30:00Z",
    "2026-11-01T04:30:00Z",
];

/// `cron`: [`Schedule::parse`] on the input; a schedule that parses is asked for its next
/// fire after a few instants in UTC, Berlin and New York. The next fire must be after `now`
/// and, for zones whose offsets change by whole hours, be a minute the schedule matches.
pub fn cron(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(schedule) = Schedule::parse(&text) else {
        return;
    };
    for zone in ["UTC", "Europe/Berlin", "America/New_York"] {
        let zone = load_location(zone).unwrap_or(Zone::Local);
        for now in CRON_NOW {
            let now = instant(now);
            let Some(next) = schedule.next_after(now, zone) else {
                continue;
            };
            assert!(next > now, "{text:?}: next {next} is not after {now}");
            if schedule.location.is_none() {
                let wall = next.with_timezone(&zone.tz());
                assert!(
                    wall.second() == 0
                        && Schedule::has(schedule.minute, wall.minute())
                        && Schedule::has(schedule.hour, wall.hour())
                        && Schedule::has(schedule.month, wall.month())
                        && schedule.day_matches(wall.day(), wall.weekday().num_days_from_sunday()),
                    "{text:?}: next {wall} does not match the schedule"
                );
            }
        }
    }
}

/// At most this many windows are evaluated per input (each costs schedule walks per minute).
const MAX_EVALUATED: usize = 4;

/// `schedule_windows`: the input as the `schedule` trigger's `windows` (dated, in Berlin
/// time) and as its `recurring` lines; windows that parse are evaluated (bounds at an instant,
/// change times over an hour) with a one-hour lead. Floors must be ≥ 0, caps > 0, change
/// times sorted and inside the asked range.
pub fn schedule_windows(data: &[u8]) {
    use crate::schedule::windows::{bounds_at, change_times, parse_dated, parse_recurring};
    let text = String::from_utf8_lossy(data);
    let zone = load_location("Europe/Berlin").unwrap_or(Zone::Local);
    let dated = parse_dated(&text, zone).unwrap_or_default();
    let recurring = parse_recurring(&text).unwrap_or_default();
    if dated.len() + recurring.len() > MAX_EVALUATED {
        return;
    }
    let lead = Duration::from_secs(3600);
    let from = instant("2026-03-29T00:30:00Z");
    let to = instant("2026-03-29T01:30:00Z");
    let b = bounds_at(&dated, &recurring, zone, lead, from);
    assert!(b.floor >= 0, "{text:?}: floor {}", b.floor);
    assert!(
        b.ceiling.is_none_or(|c| c > 0),
        "{text:?}: cap {:?}",
        b.ceiling
    );
    let times = change_times(&dated, &recurring, zone, lead, from, to);
    assert!(
        times.windows(2).all(|w| w[0] < w[1]) && times.iter().all(|t| from <= *t && *t <= to),
        "{text:?}: change times {times:?}"
    );
}

/// `mysql_dsn`: [`crate::mysql::dsn::Dsn::parse`] on the input, then the mysql_async options
/// of a DSN that parses.
pub fn mysql_dsn(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(dsn) = crate::mysql::dsn::Dsn::parse(&text) {
        assert!(dsn.net == "tcp" || dsn.net == "unix", "{dsn:?}");
        let _ = dsn.opts();
    }
}

/// `prometheus_response`: the input as an HTTP body answering an instant query
/// ([`crate::prometheus::query::value_of`], with and without `ignoreNullValues`) and a range
/// query ([`crate::prometheus_forecast::fetch::points_of`]). A value read must be finite or
/// the `null` marker; with `ignoreNullValues` never NaN.
pub fn prometheus_response(data: &[u8]) {
    for ignore_null in [false, true] {
        if let Ok(v) = crate::prometheus::query::value_of(200, data, "q", ignore_null) {
            assert!(
                v.is_finite(),
                "value {v} from {:?}",
                String::from_utf8_lossy(data)
            );
        }
    }
    let _ = crate::prometheus::query::value_of(500, data, "q", true);
    for status in [200, 422] {
        let _ = crate::prometheus_forecast::fetch::points_of(status, data, "q");
    }
}

/// `metrics_api_body`: the first line is `<format> <valueLocation>` (`json`, `yaml`, `xml` or
/// `prometheus`), the rest the body a `metrics-api` trigger reads
/// ([`crate::metrics_api::value_of`]). A JSON value read is never NaN.
pub fn metrics_api_body(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once('\n').unwrap_or((&text, ""));
    let (format, location) = head.split_once(' ').unwrap_or((head, ""));
    let input = TriggerInput::new(
        "metrics-api",
        0,
        &[
            ("url", "http://127.0.0.1:1/m"),
            ("format", format),
            ("valueLocation", location),
            ("targetValue", "1"),
        ],
    );
    let Ok(def) = crate::metrics_api::MetricsApiDefinition::parse(&input) else {
        return;
    };
    if let Ok(v) = crate::metrics_api::value_of(&def.meta, body.as_bytes()) {
        assert!(format != "json" || !v.is_nan(), "NaN from {body:?}");
    }
}

/// `encrypted_key`: the first line is a password, the rest a PEM key given to
/// [`crate::tls_key::decrypt_pem`]. What it returns for a non-empty password is a PEM block.
pub fn encrypted_key(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (password, key) = text.split_once('\n').unwrap_or(("", &text));
    let _ = crate::tls_key::is_encrypted(key);
    if let Ok(pem) = crate::tls_key::decrypt_pem(key, password)
        && !password.is_empty()
    {
        assert!(pem.starts_with("-----BEGIN "), "{pem:?}");
    }
}

fn instant(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Runs `body` over every file of `fuzz/corpus/<target>/`; fails when there are none.
    fn smoke(target: &str, body: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap().path();
            body(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n >= 3, "{dir:?} holds only {n} seeds");
    }

    #[test]
    fn trigger_metadata_corpus() {
        smoke("trigger_metadata", super::trigger_metadata);
    }

    #[test]
    fn cron_corpus() {
        smoke("cron", super::cron);
    }

    #[test]
    fn schedule_windows_corpus() {
        smoke("schedule_windows", super::schedule_windows);
    }

    #[test]
    fn mysql_dsn_corpus() {
        smoke("mysql_dsn", super::mysql_dsn);
    }

    #[test]
    fn prometheus_response_corpus() {
        smoke("prometheus_response", super::prometheus_response);
    }

    #[test]
    fn metrics_api_body_corpus() {
        smoke("metrics_api_body", super::metrics_api_body);
    }

    #[test]
    fn encrypted_key_corpus() {
        smoke("encrypted_key", super::encrypted_key);
    }
}
