//! `schedule` windows with a controllable clock: edges, lead time across midnight, DST, overlaps,
//! windows in the past, recurring windows, plans, errors.

use super::ScheduleDefinition;
use crate::input::TriggerInput;
use crate::{Context, ManualClock, TriggerDefinition};
use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;

fn def(meta: &[(&str, &str)]) -> Result<ScheduleDefinition, String> {
    ScheduleDefinition::parse(&TriggerInput::new("schedule", 0, meta)).map_err(|e| e.to_string())
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

#[test]
fn dated_window_with_lead_time_across_midnight() {
    // a midnight sale in Shanghai (UTC+8): 2026-11-11T00:00 local = 2026-11-10T16:00Z
    let d = def(&[
        ("timezone", "Asia/Shanghai"),
        ("leadTime", "10m"),
        ("windows", "2026-11-11T00:00/2026-11-11T02:00=50"),
    ])
    .unwrap();
    assert_eq!(
        d.floor_at(utc(2026, 11, 10, 15, 49)),
        0,
        "before start − lead"
    );
    assert_eq!(
        d.floor_at(utc(2026, 11, 10, 15, 50)),
        50,
        "exactly at start − lead (23:50 the day before, local)"
    );
    assert_eq!(d.floor_at(utc(2026, 11, 10, 16, 0)), 50);
    assert_eq!(d.floor_at(utc(2026, 11, 10, 17, 59)), 50);
    assert_eq!(d.floor_at(utc(2026, 11, 10, 18, 0)), 0, "end is exclusive");
    assert_eq!(
        d.floor_at(utc(2027, 1, 1, 0, 0)),
        0,
        "a window in the past holds nothing"
    );
}

#[tokio::test]
async fn overlapping_rules_combine_by_max_and_recurring_windows_repeat() {
    let d = def(&[
        ("timezone", "Etc/UTC"),
        ("leadTime", "5m"),
        ("windows", "# the sale\n2026-11-22T19:00/2026-11-22T21:00=40\n\n2026-11-23T19:00/2026-11-23T20:00=20"),
        ("recurring", "0 18 * * * / 0 22 * * * = 10"),
    ])
    .unwrap();
    assert_eq!(d.floor_at(utc(2026, 11, 22, 17, 54)), 0);
    assert_eq!(
        d.floor_at(utc(2026, 11, 22, 17, 55)),
        10,
        "recurring window with lead"
    );
    assert_eq!(
        d.floor_at(utc(2026, 11, 22, 18, 55)),
        40,
        "max of the dated 40 and the recurring 10"
    );
    assert_eq!(d.floor_at(utc(2026, 11, 22, 21, 30)), 10);
    assert_eq!(d.floor_at(utc(2026, 11, 23, 19, 30)), 20);
    assert_eq!(
        d.floor_at(utc(2026, 11, 24, 18, 30)),
        10,
        "the recurring window comes back every day"
    );
    // the live scaler: no backend, so it connects offline
    let rule = d.connect(&Context::default()).await.unwrap();
    let rules: Vec<crate::prescale::Rule<'_>> = vec![(rule.as_ref(), Duration::from_secs(300))];
    let plan: Vec<_> = crate::prescale::plan(
        &rules,
        utc(2026, 11, 22, 17, 0),
        utc(2026, 11, 22, 23, 0),
        10,
    )
    .into_iter()
    .map(|c| (c.at, c.bounds.floor))
    .collect();
    assert_eq!(
        plan,
        vec![
            (utc(2026, 11, 22, 17, 55), 10),
            (utc(2026, 11, 22, 18, 55), 40),
            (utc(2026, 11, 22, 21, 0), 10),
            (utc(2026, 11, 22, 22, 0), 0)
        ]
    );
    let limited = crate::prescale::plan(
        &rules,
        utc(2026, 11, 22, 17, 0),
        utc(2026, 11, 22, 23, 0),
        2,
    );
    assert_eq!(limited.len(), 2);
    assert_eq!(
        limited[1].bounds.floor_rule.as_deref(),
        Some("2026-11-22T19:00/2026-11-22T21:00=40")
    );
}

#[test]
fn caps_hold_without_lead_and_floors_beat_them_in_the_operator() {
    let d = def(&[
        ("timezone", "Europe/Berlin"),
        ("leadTime", "10m"),
        ("recurring", "0 1 * * * / 0 6 * * * = max:2"),
        (
            "windows",
            "2026-11-27T00:00/2026-11-27T02:00=50\n2026-11-26T22:00/2026-11-27T01:30=max:30",
        ),
    ])
    .unwrap();
    // 2026-11-27T00:50 Berlin = 23:50Z the day before: floor 50 (lead 10 m), cap 30
    let b = d.bounds_at(utc(2026, 11, 26, 23, 50), Duration::from_secs(600));
    assert_eq!((b.floor, b.ceiling), (50, Some(30)));
    // the nightly cap starts at 01:00 local exactly, not 10 minutes early
    let b = d.bounds_at(utc(2026, 11, 26, 23, 59), Duration::from_secs(600));
    assert_eq!(b.ceiling, Some(30));
    let b = d.bounds_at(utc(2026, 11, 27, 0, 0), Duration::from_secs(600));
    assert_eq!(b.ceiling, Some(2), "min of the caps in force");
    assert_eq!(
        b.ceiling_rule.as_deref(),
        Some("0 1 * * * / 0 6 * * * = max:2")
    );
    let b = d.bounds_at(utc(2026, 11, 27, 5, 0), Duration::from_secs(600));
    assert_eq!((b.floor, b.ceiling), (0, None));
    // a floor and a cap may overlap in one trigger; two caps may not
    let e = def(&[
        ("timezone", "Etc/UTC"),
        (
            "windows",
            "2026-11-27T00:00/2026-11-27T02:00=max:5\n2026-11-27T01:00/2026-11-27T03:00=max:7",
        ),
    ])
    .unwrap_err();
    assert!(
        e.contains("windows line 2") && e.contains("overlaps line 1"),
        "{e}"
    );
    let e = def(&[
        ("timezone", "Etc/UTC"),
        ("windows", "2026-11-27T00:00/2026-11-27T02:00=max:0"),
    ])
    .unwrap_err();
    assert!(e.contains("max:N for a cap"), "{e}");
}

#[test]
fn seconds_and_auto_lead() {
    let d = def(&[
        ("timezone", "Etc/UTC"),
        ("leadTime", "auto"),
        ("windows", "2026-11-22T19:00:30/2026-11-22T19:10=4"),
    ])
    .unwrap();
    assert_eq!(d.lead_time, crate::prescale::LeadTime::Auto);
    let lead = Duration::from_secs(95);
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 18, 58, 55).unwrap();
    assert_eq!(
        d.bounds_at(at - chrono::Duration::seconds(1), lead).floor,
        0
    );
    assert_eq!(d.bounds_at(at, lead).floor, 4, "19:00:30 − 1m35s");
}

#[test]
fn daylight_saving_time() {
    // Europe/Berlin springs forward at 2026-03-29 02:00 → 03:00, falls back 2026-10-25 03:00 → 02:00
    let e = def(&[
        ("timezone", "Europe/Berlin"),
        ("windows", "2026-03-29T02:30/2026-03-29T04:00=5"),
    ])
    .unwrap_err();
    assert!(
        e.contains("windows line 1: 2026-03-29T02:30 does not exist in Europe/Berlin"),
        "{e}"
    );
    let d = def(&[
        ("timezone", "Europe/Berlin"),
        ("windows", "2026-03-29T01:00/2026-03-29T04:00=5"),
    ])
    .unwrap();
    // 01:00 CET = 00:00Z; 04:00 CEST = 02:00Z: two real hours
    assert_eq!(
        d.dated[0].end - d.dated[0].start,
        chrono::Duration::hours(2)
    );
    // the repeated hour: 02:30 means its first occurrence (CEST, 00:30Z)
    let d = def(&[
        ("timezone", "Europe/Berlin"),
        ("windows", "2026-10-25T02:30/2026-10-25T05:00=5"),
    ])
    .unwrap();
    assert_eq!(d.dated[0].start, utc(2026, 10, 25, 0, 30));
    assert_eq!(d.floor_at(utc(2026, 10, 25, 0, 29)), 0);
    assert_eq!(d.floor_at(utc(2026, 10, 25, 0, 30)), 5);
}

#[test]
fn precise_errors() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("windows", "2026-11-11T00:00/2026-11-11T02:00=5")],
            "missing required parameter \"timezone\" in [triggerMetadata]",
        ),
        (
            &[
                ("timezone", "Mars/Olympus"),
                ("windows", "2026-11-11T00:00/2026-11-11T02:00=5"),
            ],
            "timezone: unknown time zone Mars/Olympus",
        ),
        (
            &[("timezone", "Etc/UTC")],
            "at least one of \"windows\" or \"recurring\" must list a window",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("windows", "2026-11-11T02:00/2026-11-11T00:00=5"),
            ],
            "windows line 1: end 2026-11-11T00:00 is not after start 2026-11-11T02:00",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("windows", "2026-11-11T00:00/2026-11-11T02:00=0"),
            ],
            "windows line 1: replicas \"0\" must be a whole number greater than 0",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("windows", "2026-11-11 00:00/2026-11-11T02:00=3"),
            ],
            "is not a local date-time like 2026-11-11T00:00",
        ),
        (
            &[("timezone", "Etc/UTC"), ("windows", "2026-11-11T00:00=3")],
            "windows line 1: expected START/END=REPLICAS",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                (
                    "windows",
                    "2026-11-11T00:00/2026-11-11T02:00=5\n2026-11-11T01:00/2026-11-11T03:00=7",
                ),
            ],
            "windows line 2: 2026-11-11T01:00/2026-11-11T03:00=7 overlaps line 1",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("recurring", "0 18 * * * / 0 18 * * * = 3"),
            ],
            "recurring line 1: start and end can not have exactly same time input",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("recurring", "0 25 * * * / 0 18 * * * = 3"),
            ],
            "recurring line 1: error parsing start schedule",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("recurring", "0 8 * * * / 0 18 * * * = x"),
            ],
            "recurring line 1: replicas \"x\"",
        ),
        (
            &[
                ("timezone", "Etc/UTC"),
                ("recurring", "0 8 * * * / 0 18 * * * = 2"),
                ("leadTime", "soon"),
            ],
            "unable to set param \"leadTime\"",
        ),
    ];
    for (meta, want) in cases {
        let e = def(meta).unwrap_err();
        assert!(e.starts_with("error parsing schedule metadata: "), "{e}");
        assert!(e.contains(want), "{meta:?}:\n{e}");
    }
}

#[tokio::test]
async fn the_scaler_serves_the_floor_now_as_a_target_1_metric() {
    let d = def(&[
        ("timezone", "Etc/UTC"),
        ("leadTime", "2m"),
        ("windows", "2026-11-22T19:00/2026-11-22T20:00=12"),
    ])
    .unwrap();
    assert_eq!(d.metric_spec().external_name(), Some("s0-schedule"));
    assert_eq!(d.metric_spec().target().average_value.as_deref(), Some("1"));
    let clock = ManualClock::new(utc(2026, 11, 22, 18, 57));
    let ctx = Context {
        clock: Arc::new(clock.clone()),
        ..Context::default()
    };
    let s = d.connect(&ctx).await.unwrap();
    let v = s.sample().await.unwrap();
    assert_eq!((v.value, v.active), (0.0, false));
    clock.set(utc(2026, 11, 22, 18, 58));
    let v = s.sample().await.unwrap();
    assert_eq!(
        (v.value, v.active),
        (12.0, true),
        "Ready by 19:00 with a 2-minute lead"
    );
    assert!(crate::registry::is_known("schedule"));
}
