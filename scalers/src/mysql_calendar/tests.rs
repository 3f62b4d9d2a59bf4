//! `mysql-calendar` offline: parameters and errors, the floor formula at window edges, rows.

use super::*;
use chrono::TimeZone;

fn def(meta: &[(&str, &str)]) -> std::result::Result<CalendarDefinition, String> {
    CalendarDefinition::parse(&TriggerInput::new("mysql-calendar", 1, meta))
        .map_err(|e| e.to_string())
}

fn utc(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, d, h, mi, 0).unwrap()
}

const Q: (&str, &str) = (
    "query",
    "SELECT starts_at, ends_at, students FROM classes WHERE ends_at > :from AND starts_at < :to",
);

#[test]
fn parameters_defaults_and_metric() {
    let d = def(&[
        Q,
        ("host", "db"),
        ("port", "3306"),
        ("username", "u"),
        ("dbName", "school"),
        ("loadPerReplica", "40"),
        ("leadTime", "5m"),
    ])
    .unwrap();
    assert_eq!(d.load_per_replica, 40.0);
    assert_eq!(d.horizon, Duration::from_secs(86_400));
    assert_eq!(d.lead_time, LeadTime::Fixed(Duration::from_secs(300)));
    assert_eq!(
        d.metric_spec().external_name(),
        Some("s1-mysql-calendar-school")
    );
    assert_eq!(d.metric_spec().target().average_value.as_deref(), Some("1"));
    assert!(crate::registry::is_known("mysql-calendar"));
    let auto = def(&[
        Q,
        ("host", "db"),
        ("loadPerReplica", "40"),
        ("leadTime", "auto"),
    ])
    .unwrap();
    assert_eq!(auto.lead_time, LeadTime::Auto);
}

#[test]
fn precise_errors() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("loadPerReplica", "40")],
            "missing required parameter \"query\"",
        ),
        (&[Q], "missing required parameter \"loadPerReplica\""),
        (
            &[Q, ("loadPerReplica", "0")],
            "loadPerReplica must be a number greater than 0, got 0",
        ),
        (&[Q, ("loadPerReplica", "many")], "\"loadPerReplica\""),
        (
            &[Q, ("loadPerReplica", "40"), ("timezone", "Mars/Olympus")],
            "timezone: unknown time zone Mars/Olympus",
        ),
        (
            &[
                Q,
                ("loadPerReplica", "40"),
                ("leadTime", "2h"),
                ("horizon", "1h"),
            ],
            "horizon 1h0m0s must be at least leadTime 2h0m0s",
        ),
        (
            &[Q, ("loadPerReplica", "40"), ("leadTime", "later")],
            "leadTime \"later\" is neither",
        ),
    ];
    for (meta, want) in cases {
        let e = def(meta).unwrap_err();
        assert!(
            e.starts_with("error parsing mysql-calendar metadata: "),
            "{e}"
        );
        assert!(e.contains(want), "{meta:?}:\n{e}");
    }
}

#[test]
fn floor_is_ceil_of_overlapping_load_over_load_per_replica() {
    // two classes at 19:00 (100 + 30 students) and one at 20:00 (45), 40 students per pod
    let events = vec![
        Event {
            start: utc(2, 19, 0),
            end: utc(2, 20, 0),
            load: 100.0,
        },
        Event {
            start: utc(2, 19, 0),
            end: utc(2, 19, 45),
            load: 30.0,
        },
        Event {
            start: utc(2, 20, 0),
            end: utc(2, 21, 0),
            load: 45.0,
        },
    ];
    let lead = Duration::from_secs(600);
    assert_eq!(
        floor_at(&events, 40.0, utc(2, 18, 49), lead).0,
        0,
        "before start − lead"
    );
    assert_eq!(
        floor_at(&events, 40.0, utc(2, 18, 50), lead),
        (4, 2, 130.0),
        "ceil(130/40) at start − lead"
    );
    assert_eq!(floor_at(&events, 40.0, utc(2, 19, 44), lead).0, 4);
    assert_eq!(
        floor_at(&events, 40.0, utc(2, 19, 45), lead).0,
        3,
        "the short class ended; ceil(100/40)"
    );
    // from 19:50 the 20:00 class is inside [t, t + lead] as well: ceil(145/40) = 4
    assert_eq!(floor_at(&events, 40.0, utc(2, 19, 50), lead).0, 4);
    assert_eq!(
        floor_at(&events, 40.0, utc(2, 20, 0), lead).0,
        2,
        "ceil(45/40)"
    );
    assert_eq!(
        floor_at(&events, 40.0, utc(2, 21, 0), lead).0,
        0,
        "end is exclusive"
    );
    // lead time crossing midnight
    let late = vec![Event {
        start: utc(3, 0, 5),
        end: utc(3, 1, 0),
        load: 400.0,
    }];
    assert_eq!(floor_at(&late, 40.0, utc(2, 23, 54), lead).0, 0);
    assert_eq!(floor_at(&late, 40.0, utc(2, 23, 55), lead).0, 10);
    assert_eq!(floor_at(&[], 40.0, utc(2, 23, 55), lead).0, 0);
}

#[test]
fn rows_become_events_in_the_zone_with_precise_errors() {
    use mysql_async::Value;
    let zone = load_location("Europe/Berlin").unwrap();
    let row = |cells: Vec<Value>| cells;
    let rows = vec![
        row(vec![
            Value::Date(2026, 12, 2, 19, 0, 0, 0),
            Value::Date(2026, 12, 2, 20, 0, 0, 0),
            Value::Int(120),
        ]),
        row(vec![
            Value::from("2026-12-02 21:00:00"),
            Value::from("2026-12-02 22:30"),
            Value::from("80.5"),
        ]),
    ];
    let ev = events_of(&rows, zone).unwrap();
    assert_eq!(
        ev[0].start,
        utc(2, 18, 0),
        "19:00 in Berlin (CET) is 18:00Z"
    );
    assert_eq!(
        ev[1].end,
        Utc.with_ymd_and_hms(2026, 12, 2, 21, 30, 0).unwrap()
    );
    assert_eq!(ev[1].load, 80.5);
    let bad = |cells: Vec<Value>| events_of(&[row(cells)], zone).unwrap_err();
    assert_eq!(
        bad(vec![
            Value::NULL,
            Value::from("2026-12-02 22:30"),
            Value::Int(1)
        ]),
        "row 1: starts_at is NULL"
    );
    assert!(
        bad(vec![
            Value::from("2026-12-02 22:30"),
            Value::from("2026-12-02 22:00"),
            Value::Int(1)
        ])
        .starts_with("row 1: ends_at 2026-12-02 21:00:00 UTC is not after starts_at")
    );
    assert!(
        bad(vec![
            Value::from("tomorrow"),
            Value::from("2026-12-02 22:00"),
            Value::Int(1)
        ])
        .contains("\"tomorrow\" is not a date-time")
    );
    assert!(
        bad(vec![
            Value::from("2026-12-02 21:00"),
            Value::from("2026-12-02 22:00"),
            Value::NULL
        ])
        .starts_with("row 1: load: ")
    );
    assert!(
        bad(vec![
            Value::from("2026-12-02 21:00"),
            Value::from("2026-12-02 22:00")
        ])
        .contains("row 1 has 2 columns")
    );
    // a local time in the spring-forward gap
    let gap = events_of(
        &[row(vec![
            Value::from("2026-03-29 02:30:00"),
            Value::from("2026-03-29 04:00:00"),
            Value::Int(1),
        ])],
        zone,
    )
    .unwrap_err();
    assert!(
        gap.contains("row 1: starts_at does not exist in Europe/Berlin"),
        "{gap}"
    );
}
