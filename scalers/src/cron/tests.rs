//! The `cron` trigger: parameters and errors, metric name and target, and window behaviour
//! driven by a `ManualClock` through the live scaler.

use super::parse_definition;
use crate::input::TriggerInput;
use crate::metric::MetricType;
use crate::{Context, ManualClock, MetricSpec, registry};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

fn cron(meta: &[(&str, &str)]) -> TriggerInput {
    TriggerInput::new("cron", 0, meta)
}

fn valid(start: &str, end: &str, tz: &str) -> Vec<(&'static str, String)> {
    vec![
        ("timezone", tz.to_string()),
        ("start", start.to_string()),
        ("end", end.to_string()),
        ("desiredReplicas", "10".to_string()),
    ]
}

fn input(meta: &[(&'static str, String)]) -> TriggerInput {
    let pairs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cron(&pairs)
}

#[test]
fn parameters_and_errors() {
    let base = [
        ("timezone", "Etc/UTC"),
        ("start", "0 9 * * *"),
        ("end", "0 17 * * *"),
        ("desiredReplicas", "10"),
    ];
    let with = |key: &str, value: Option<&'static str>| -> Vec<(&'static str, &'static str)> {
        base.iter()
            .filter(|(k, _)| *k != key)
            .copied()
            .chain(value.map(|v| (base.iter().find(|(k, _)| *k == key).unwrap().0, v)))
            .collect()
    };
    let missing = |p: &str| format!("missing required parameter \"{p}\" in [triggerMetadata]");
    // (metadata, Ok(desiredReplicas) or Err(exact message after the prefix))
    type Case<'a> = (Vec<(&'a str, &'a str)>, Result<i64, String>);
    let cases: Vec<Case> =
        vec![
        (with("", None), Ok(10)),
        (with("desiredReplicas", Some("-3")), Ok(-3)),
        (with("desiredReplicas", Some(" 7 ")), Ok(7)),
        // Same time written differently is not "the same input" (string comparison).
        (with("end", Some("00 9 * * *")), Ok(10)),
        (with("start", Some("30-33 * * * *")), Ok(10)),
        (with("timezone", Some("Mars/Olympus")), Ok(10)),
        (with("timezone", None), Err(missing("timezone"))),
        (with("timezone", Some("   ")), Err(missing("timezone"))),
        (
            with("start", None),
            Err(format!(
                "{}\nerror parsing start schedule: empty spec string",
                missing("start")
            )),
        ),
        (
            with("end", None),
            Err(format!(
                "{}\nerror parsing end schedule: empty spec string",
                missing("end")
            )),
        ),
        (
            with("desiredReplicas", None),
            Err(format!(
                "{}\nno desiredReplicas specified",
                missing("desiredReplicas")
            )),
        ),
        (
            with("desiredReplicas", Some("0")),
            Err("no desiredReplicas specified".into()),
        ),
        (
            with("desiredReplicas", Some("1.5")),
            Err("unable to set param \"desiredReplicas\" value \"1.5\": cannot decode as i64: \
                 invalid type: floating point `1.5`, expected i64 at line 1 column 3\n\
                 no desiredReplicas specified"
                .into()),
        ),
        (
            with("end", Some("0 9 * * *")),
            Err("start and end can not have exactly same time input".into()),
        ),
        (
            with("start", Some("-30 * * * *")),
            Err("error parsing start schedule: failed to parse int from : strconv.Atoi: \
                 parsing \"\": invalid syntax"
                .into()),
        ),
        (
            with("end", Some("50 * * -3 *")),
            Err("error parsing end schedule: failed to parse int from : strconv.Atoi: \
                 parsing \"\": invalid syntax"
                .into()),
        ),
        (
            with("start", Some("@daily")),
            Err("error parsing start schedule: parser does not accept descriptors: @daily".into()),
        ),
        (
            with("end", Some("0 0 17 * * *")),
            Err("error parsing end schedule: expected exactly 5 fields, found 6: [0 0 17 * * *]"
                .into()),
        ),
    ];
    for (meta, want) in cases {
        let got = parse_definition(&cron(&meta));
        match want {
            Ok(replicas) => {
                let def = got.unwrap_or_else(|e| panic!("{meta:?}: {e}"));
                assert_eq!(def.desired_replicas, replicas, "{meta:?}");
            }
            Err(message) => {
                let err = got.unwrap_err();
                assert_eq!(err.category(), "invalid_metadata");
                assert_eq!(
                    err.to_string(),
                    format!("error parsing cron metadata: {message}"),
                    "{meta:?}"
                );
            }
        }
    }
    // Only the first cross-field problem is reported, as KEDA's Validate does.
    let err = parse_definition(&cron(&[
        ("timezone", "Etc/UTC"),
        ("start", "61 * * * *"),
        ("end", "62 * * * *"),
        ("desiredReplicas", "0"),
    ]))
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "error parsing cron metadata: error parsing start schedule: end of range (61) above \
         maximum (59): 61"
    );
}

#[test]
fn metric_names_targets_and_types() {
    let cases: &[(usize, &str, &str, &str, &str)] = &[
        (
            0,
            "Etc/UTC",
            "0 0 * * Thu",
            "59 23 * * Thu",
            "s0-cron-Etc-UTC-00xxThu-5923xxThu",
        ),
        (
            1,
            "Etc/UTC",
            "0 */2 * * *",
            "0 1-23/2 * * *",
            "s1-cron-Etc-UTC-0xSl2xxx-01-23Sl2xxx",
        ),
        (
            2,
            "Asia/Kolkata",
            "0,30 * * * *",
            "15,45 * * * *",
            "s2-cron-Asia-Kolkata-0Cm30xxxx-15Cm45xxxx",
        ),
        (
            3,
            "America/New_York",
            "0 9 ? * MON",
            "0 17 ? * FRI",
            "s3-cron-America-New_York-09QmxMON-017QmxFRI",
        ),
    ];
    for (index, tz, start, end, want) in cases {
        let mut input = input(&valid(start, end, tz));
        input.index = *index;
        let def = registry::parse(&input).unwrap();
        assert_eq!(def.trigger_type(), "cron");
        let spec = def.metric_spec();
        assert_eq!(spec.external_name(), Some(*want));
        assert_eq!(spec.hpa_type(), "External");
        let t = spec.target();
        assert_eq!(
            (
                t.metric_type,
                t.average_value.as_deref(),
                t.value.as_deref()
            ),
            (MetricType::AverageValue, Some("1"), None)
        );
    }
    let with_type = |mt: &str| {
        parse_definition(&input(&valid("0 9 * * *", "0 17 * * *", "Etc/UTC")).with_metric_type(mt))
    };
    let t = with_type("Value").unwrap().spec.target().clone();
    assert_eq!(
        (t.metric_type, t.value.as_deref()),
        (MetricType::Value, Some("1"))
    );
    assert_eq!(
        with_type("Utilization").unwrap_err().to_string(),
        "error parsing cron metadata: 'Utilization' metric type is unsupported for external \
         metrics, allowed values are 'Value' or 'AverageValue'"
    );
    assert!(
        with_type("Bogus")
            .unwrap_err()
            .to_string()
            .contains("unknown metric type: Bogus")
    );
}

/// Wall-clock `YYYY-MM-DD HH:MM:SS` in `tz` (must exist exactly once) → UTC.
fn local(tz: &str, at: &str) -> DateTime<Utc> {
    let tz: Tz = tz.parse().unwrap();
    let naive = NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").unwrap();
    tz.from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn utc(at: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Utc)
}

/// Drives one live scaler through `steps` (instant, expected activity) with a manual clock and
/// checks value = desiredReplicas (10) when active, else 0.
async fn walk(start: &str, end: &str, tz: &str, steps: &[(DateTime<Utc>, bool)]) {
    let clock = ManualClock::new(steps[0].0);
    let ctx = Context {
        clock: Arc::new(clock.clone()),
        ..Context::default()
    };
    let scaler = registry::parse(&input(&valid(start, end, tz)))
        .unwrap()
        .connect(&ctx)
        .await
        .unwrap();
    assert!(matches!(scaler.metric_spec(), MetricSpec::External { .. }));
    for (at, active) in steps {
        clock.set(*at);
        let s = scaler.sample().await.unwrap();
        let want = if *active { 10.0 } else { 0.0 };
        assert_eq!(
            (s.active, s.value),
            (*active, want),
            "{start} .. {end} in {tz} at {at}"
        );
    }
}

#[tokio::test]
async fn inside_outside_and_edges() {
    let at = |s: &str| local("Etc/UTC", s);
    walk(
        "0 9 * * *",
        "0 17 * * *",
        "Etc/UTC",
        &[
            (at("2026-06-01 08:59:59"), false),
            (at("2026-06-01 09:00:00"), true),
            (at("2026-06-01 09:00:30"), true),
            (at("2026-06-01 12:00:00"), true),
            (at("2026-06-01 16:59:59"), true),
            (at("2026-06-01 17:00:00"), false),
            (at("2026-06-01 23:00:00"), false),
            (at("2026-06-02 09:00:00"), true),
        ],
    )
    .await;
}

#[tokio::test]
async fn window_across_midnight() {
    let at = |s: &str| local("Europe/Berlin", s);
    walk(
        "0 22 * * *",
        "0 6 * * *",
        "Europe/Berlin",
        &[
            (at("2026-06-01 21:59:00"), false),
            (at("2026-06-01 22:00:00"), true),
            (at("2026-06-01 23:59:59"), true),
            (at("2026-06-02 00:00:00"), true),
            (at("2026-06-02 05:59:59"), true),
            (at("2026-06-02 06:00:00"), false),
            (at("2026-06-02 12:00:00"), false),
        ],
    )
    .await;
}

#[tokio::test]
async fn weekday_ranges_and_weekends() {
    // 2026-06-05 is a Friday, 2026-06-06 a Saturday, 2026-06-08 a Monday.
    let at = |s: &str| local("Etc/UTC", s);
    walk(
        "0 8 * * MON-FRI",
        "0 18 * * mon-fri",
        "Etc/UTC",
        &[
            (at("2026-06-05 17:59:00"), true),
            (at("2026-06-05 18:00:00"), false),
            (at("2026-06-06 10:00:00"), false),
            (at("2026-06-07 10:00:00"), false),
            (at("2026-06-08 07:59:00"), false),
            (at("2026-06-08 08:00:00"), true),
        ],
    )
    .await;
    walk(
        "0 0 * * SAT",
        "0 0 * * MON",
        "Etc/UTC",
        &[
            (at("2026-06-05 23:59:00"), false),
            (at("2026-06-06 00:00:00"), true),
            (at("2026-06-07 12:00:00"), true),
            (at("2026-06-08 00:00:00"), false),
            (at("2026-06-10 12:00:00"), false),
        ],
    )
    .await;
}

#[tokio::test]
async fn steps_and_month_names() {
    let at = |s: &str| local("Etc/UTC", s);
    // KEDA's own example: active during even hours.
    walk(
        "0 */2 * * *",
        "0 1-23/2 * * *",
        "Etc/UTC",
        &[
            (at("2026-06-01 00:00:00"), true),
            (at("2026-06-01 04:30:00"), true),
            (at("2026-06-01 05:30:00"), false),
            (at("2026-06-01 23:59:00"), false),
        ],
    )
    .await;
    walk(
        "*/15 * * * *",
        "5-59/15 * * * *",
        "Etc/UTC",
        &[
            (at("2026-06-01 10:16:00"), true),
            (at("2026-06-01 10:21:00"), false),
            (at("2026-06-01 10:45:00"), true),
            (at("2026-06-01 10:50:00"), false),
        ],
    )
    .await;
    walk(
        "0 0 1 DEC *",
        "0 0 1 jan *",
        "Etc/UTC",
        &[
            (at("2026-11-30 23:59:00"), false),
            (at("2026-12-01 00:00:00"), true),
            (at("2026-12-24 12:00:00"), true),
            (at("2027-01-01 00:00:00"), false),
            (at("2027-01-15 00:00:00"), false),
        ],
    )
    .await;
}

#[tokio::test]
async fn kolkata_half_hour_offset() {
    // 09:30 IST = 04:00Z, 18:30 IST = 13:00Z.
    walk(
        "30 9 * * *",
        "30 18 * * *",
        "Asia/Kolkata",
        &[
            (utc("2026-06-01T03:59:00Z"), false),
            (utc("2026-06-01T04:00:00Z"), true),
            (utc("2026-06-01T12:59:59Z"), true),
            (utc("2026-06-01T13:00:00Z"), false),
        ],
    )
    .await;
}

#[tokio::test]
async fn dst_spring_forward_windows() {
    // Berlin 2026-03-29 01:00Z: 02:00 CET → 03:00 CEST. A 02:30–03:30 window cannot start that
    // day, yet KEDA's rule (the next event is an end) reads it as active from the previous
    // day's start (03-28 02:30 CET) right through to 03-29 03:30 CEST: 24 hours instead of one.
    walk(
        "30 2 * * *",
        "30 3 * * *",
        "Europe/Berlin",
        &[
            (utc("2026-03-28T01:29:00Z"), false), // 02:29 CET
            (utc("2026-03-28T01:45:00Z"), true),  // 02:45 CET, a normal window
            (utc("2026-03-28T02:30:00Z"), true),  // its end, but the next event is again an end
            (utc("2026-03-29T00:59:00Z"), true),  // 01:59 CET
            (utc("2026-03-29T01:15:00Z"), true),  // 03:15 CEST
            (utc("2026-03-29T01:30:00Z"), false), // 03:30 CEST, the end
            (utc("2026-03-30T00:29:00Z"), false), // 03-30 02:29 CEST
            (utc("2026-03-30T00:30:00Z"), true),  // 03-30 02:30 CEST
        ],
    )
    .await;
    // New York 2026-03-08 07:00Z: 02:00 EST → 03:00 EDT. A window ending at 03:00 is 1 h
    // shorter in absolute time; one around the gap behaves as usual.
    walk(
        "0 1 * * *",
        "0 3 * * *",
        "America/New_York",
        &[
            (utc("2026-03-08T05:59:00Z"), false), // 00:59 EST
            (utc("2026-03-08T06:00:00Z"), true),  // 01:00 EST
            (utc("2026-03-08T06:59:00Z"), true),  // 01:59 EST
            (utc("2026-03-08T07:00:00Z"), false), // 03:00 EDT
        ],
    )
    .await;
}

#[tokio::test]
async fn dst_fall_back_windows() {
    // Berlin 2026-10-25 01:00Z: 03:00 CEST → 02:00 CET. 02:30–02:45 happens twice.
    walk(
        "30 2 * * *",
        "45 2 * * *",
        "Europe/Berlin",
        &[
            (utc("2026-10-25T00:29:00Z"), false), // 02:29 CEST
            (utc("2026-10-25T00:35:00Z"), true),  // 02:35 CEST
            (utc("2026-10-25T00:50:00Z"), false), // 02:50 CEST
            (utc("2026-10-25T01:35:00Z"), true),  // 02:35 CET
            (utc("2026-10-25T01:45:00Z"), false), // 02:45 CET
        ],
    )
    .await;
    // New York 2026-11-01 06:00Z: 02:00 EDT → 01:00 EST. An end at 01:30 happens twice and
    // the start does not, so the 00:30–01:30 window lasts until the second 01:30.
    walk(
        "30 0 * * *",
        "30 1 * * *",
        "America/New_York",
        &[
            (utc("2026-11-01T04:29:00Z"), false), // 00:29 EDT
            (utc("2026-11-01T04:30:00Z"), true),  // 00:30 EDT
            (utc("2026-11-01T05:30:00Z"), true),  // 01:30 EDT: the next event is another end
            (utc("2026-11-01T06:10:00Z"), true),  // 01:10 EST
            (utc("2026-11-01T06:30:00Z"), false), // 01:30 EST
        ],
    )
    .await;
}

#[tokio::test]
async fn schedules_that_never_fire() {
    // robfig's "never" is Go's zero time; KEDA compares it like any instant: a start that never
    // fires (February 30th) leaves the trigger always active, an end that never fires leaves it
    // always inactive.
    let at = |s: &str| local("Etc/UTC", s);
    let times = [
        "2026-06-01 08:00:00",
        "2026-06-01 09:00:00",
        "2026-12-31 23:59:00",
    ];
    let always = |active: bool| -> Vec<(DateTime<Utc>, bool)> {
        times.iter().map(|t| (at(t), active)).collect()
    };
    walk("0 0 30 2 *", "0 9 * * *", "Etc/UTC", &always(true)).await;
    walk("0 9 * * *", "0 0 30 2 *", "Etc/UTC", &always(false)).await;
}

#[test]
fn registered_types() {
    for kind in ["cron", "cpu", "memory"] {
        assert!(registry::is_known(kind), "{kind}");
    }
    let err = registry::parse(&TriggerInput::new("crontab", 0, &[]))
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "no scaler found for type: crontab");
}

#[tokio::test]
async fn unknown_timezone_fails_at_sample_time() {
    let def = registry::parse(&input(&valid("0 9 * * *", "0 17 * * *", "Mars/Olympus"))).unwrap();
    let scaler = def.connect(&Context::default()).await.unwrap();
    let err = scaler.sample().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to load timezone: unknown time zone Mars/Olympus"
    );
    assert_eq!(err.category(), "bad_value");
    // Time zone names are case-sensitive, as Go reads them from the zoneinfo tree.
    let def = registry::parse(&input(&valid("0 9 * * *", "0 17 * * *", "etc/utc"))).unwrap();
    let scaler = def.connect(&Context::default()).await.unwrap();
    assert!(scaler.sample().await.is_err());
}
