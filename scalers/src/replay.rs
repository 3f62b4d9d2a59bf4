//! What a replay of the operator (`prescale simulate`) asks of a trigger instead of its live
//! backend: whether a recorded value is active ([`crate::TriggerDefinition::is_active`]), the
//! trigger's own record of a past or coming range ([`History`], read by
//! [`crate::TriggerDefinition::history`]), and, for calendars, a scaler that answers from
//! recorded events ([`crate::TriggerDefinition::replay`]). Each source answers with its own rules
//! (its activation parameter, its query), so a replay sees what the live scaler would.

use chrono::{DateTime, Utc};

pub use crate::mysql_calendar::Event;

/// A trigger's record of a range.
#[derive(Debug, Clone, PartialEq)]
pub enum History {
    /// The raw value at instants, oldest first (NaN where the backend had no value).
    Points(Vec<(DateTime<Utc>, f64)>),
    /// Events `(starts_at, ends_at, load)` overlapping the range.
    Events(Vec<Event>),
}

#[cfg(test)]
mod tests {
    use crate::registry::parse;
    use crate::{Context, ManualClock, TriggerInput};
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;
    use std::time::Duration;

    fn def(t: &str, meta: &[(&str, &str)]) -> Box<dyn crate::TriggerDefinition> {
        parse(&TriggerInput::new(t, 0, meta)).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn each_source_decides_activity_with_its_own_threshold() {
        let prom = [
            ("serverAddress", "http://p:9090"),
            ("query", "up"),
            ("threshold", "10"),
        ];
        let redis = [("address", "r:6379"), ("listName", "jobs")];
        let mysql = [
            ("host", "db"),
            ("username", "u"),
            ("dbName", "d"),
            ("query", "SELECT 1"),
            ("queryValue", "5"),
        ];
        let calendar = [
            ("host", "db"),
            ("username", "u"),
            ("dbName", "d"),
            ("query", "SELECT a, b, c FROM t"),
            ("loadPerReplica", "40"),
        ];
        let cron = [
            ("timezone", "Etc/UTC"),
            ("start", "0 8 * * *"),
            ("end", "0 9 * * *"),
            ("desiredReplicas", "3"),
        ];
        let windows = [
            ("timezone", "Asia/Shanghai"),
            ("windows", "2026-12-12T00:00/2026-12-12T02:00=50"),
        ];
        let with = |base: &[(&'static str, &'static str)], extra: (&'static str, &'static str)| {
            let mut m = base.to_vec();
            m.push(extra);
            m
        };
        // (type, metadata, value, active)
        type Case = (&'static str, Vec<(&'static str, &'static str)>, f64, bool);
        let cases: Vec<Case> = vec![
            ("prometheus", prom.to_vec(), 0.0, false),
            ("prometheus", prom.to_vec(), 0.5, true),
            (
                "prometheus",
                with(&prom, ("activationThreshold", "5")),
                5.0,
                false,
            ),
            (
                "prometheus",
                with(&prom, ("activationThreshold", "5")),
                5.1,
                true,
            ),
            (
                "prometheus-forecast",
                with(&prom, ("activationThreshold", "2")),
                2.0,
                false,
            ),
            (
                "prometheus-forecast",
                with(&prom, ("activationThreshold", "2")),
                3.0,
                true,
            ),
            ("redis", redis.to_vec(), 0.0, false),
            ("redis", redis.to_vec(), 1.0, true),
            (
                "redis",
                with(&redis, ("activationListLength", "10")),
                10.0,
                false,
            ),
            (
                "redis",
                with(&redis, ("activationListLength", "10")),
                11.0,
                true,
            ),
            ("mysql", mysql.to_vec(), 0.0, false),
            (
                "mysql",
                with(&mysql, ("activationQueryValue", "3.5")),
                3.5,
                false,
            ),
            (
                "mysql",
                with(&mysql, ("activationQueryValue", "3.5")),
                3.6,
                true,
            ),
            ("mysql-calendar", calendar.to_vec(), 0.0, false),
            ("mysql-calendar", calendar.to_vec(), 2.0, true),
            ("schedule", windows.to_vec(), 0.0, false),
            ("schedule", windows.to_vec(), 50.0, true),
            ("cron", cron.to_vec(), 0.0, false),
            ("cron", cron.to_vec(), 3.0, true),
            ("cpu", vec![("value", "50")], 0.0, true),
        ];
        for (t, meta, value, active) in cases {
            let d = parse(
                &TriggerInput::new(t, 0, &meta).with_metric_type(if t == "cpu" {
                    "Utilization"
                } else {
                    ""
                }),
            )
            .unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(d.is_active(value), active, "{t} {meta:?} value {value}");
        }
    }

    #[tokio::test]
    async fn a_replayed_calendar_serves_its_events_without_a_database() {
        let d = def(
            "mysql-calendar",
            &[
                ("host", "db.invalid"),
                ("username", "u"),
                ("dbName", "d"),
                ("query", "SELECT a, b, c FROM t"),
                ("loadPerReplica", "40"),
                ("leadTime", "10m"),
            ],
        );
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap();
        let events = vec![super::Event {
            start: at(19, 0),
            end: at(20, 0),
            load: 130.0,
        }];
        let clock = ManualClock::new(at(18, 0));
        let ctx = Context {
            clock: Arc::new(clock.clone()),
            ..Context::default()
        };
        let s = d.replay(events, &ctx).expect("calendars replay");
        let lead = Duration::from_secs(600);
        assert_eq!(s.bounds_at(at(18, 49), lead).floor, 0);
        assert_eq!(s.bounds_at(at(18, 50), lead).floor, 4, "ceil(130 / 40)");
        assert_eq!(
            s.change_times(at(18, 0), at(21, 0), lead),
            vec![at(18, 50), at(20, 0)]
        );
        let _ = s.bounds_at(at(18, 0), lead);
        clock.set(at(19, 30));
        let sample = s.sample().await.unwrap();
        assert_eq!((sample.value, sample.active), (4.0, true));
        clock.set(at(20, 0));
        assert_eq!(s.sample().await.unwrap().value, 0.0);
        assert!(
            def("redis", &[("address", "r:1"), ("listName", "q")])
                .replay(Vec::new(), &ctx)
                .is_none()
        );
    }
}
