//! The summary per event window: the pre-scaling windows of a ScaledObject's `schedule` and
//! `mysql-calendar` triggers within the run, each with when its capacity was Ready.
//!
//! A window is a stretch over which the triggers' combined floor, asked for with no lead, is
//! above the ScaledObject's own minimum and constant (overlapping classes make consecutive
//! windows with different counts). The triggers answer this themselves (`change_times` and
//! `bounds_at` with a zero lead), so windows are found the same way for every source. Per
//! window:
//!
//! - `readyAt`: from when the wanted replicas were Ready without a break up to the start (or,
//!   when they were not Ready at the start, the first instant they were, before the end);
//!   `readySecondsBeforeStart` is positive when early, negative when late;
//! - `continuesPrevious`: the window follows one without a gap whose floor was as high or
//!   higher (overlapping classes stepping down), so nothing was raised for it: its
//!   `raisedAt`/`leadSeconds` are absent and `readyAt` is looked for from its own start only;
//! - `maxShortfall`: the most replicas missing (wanted − Ready) between start and end;
//! - `replicaHours`: the replicas that existed (Ready or starting) from when the floor was
//!   raised for the window until they were back to the count before it (or the next window's
//!   raise, or the end of the run); `idealReplicaHours`: exactly the wanted count from start
//!   to end.

use super::objects::SimObject;
use super::record::{Row, Window};
use crate::prescaling::hpa_bounds;
use chrono::{DateTime, Utc};
use prescale_scalers::prescale::{self, Rule};
use serde::Serialize;
use std::time::Duration;

/// One window's summary (the JSON `events` entries).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowSummary {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub wanted: i32,
    /// When the HPA minimum went up for the window (`start − lead`).
    pub raised_at: Option<DateTime<Utc>>,
    pub lead_seconds: Option<i64>,
    pub ready_at: Option<DateTime<Utc>>,
    pub ready_seconds_before_start: Option<i64>,
    pub max_shortfall: i32,
    pub replica_hours: f64,
    pub ideal_replica_hours: f64,
    pub continues_previous: bool,
}

/// The windows of `obj` that overlap `[from, to]` (ms).
pub fn windows(obj: &SimObject, from: i64, to: i64) -> Vec<Window> {
    let rules: Vec<Rule<'_>> = obj
        .triggers
        .iter()
        .filter(|t| t.scaler.lead_time().is_some())
        .map(|t| (t.scaler.as_ref(), Duration::ZERO))
        .collect();
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let day = 86_400_000;
    let mut times: Vec<DateTime<Utc>> = rules
        .iter()
        .flat_map(|(s, lead)| s.change_times(at(from - day), at(to + day), *lead))
        .collect();
    times.push(at(from - day));
    let times = prescale::sorted_unique(times);
    let base = hpa_bounds(&obj.so, &prescale::Bounds::default()).0;
    let mut out: Vec<Window> = Vec::new();
    for (i, t) in times.iter().enumerate() {
        let wanted = hpa_bounds(&obj.so, &prescale::combined_at(&rules, *t)).0;
        let end = times.get(i + 1).map_or(to + day, |n| n.timestamp_millis());
        let start = t.timestamp_millis();
        if wanted <= base || end <= from || start >= to {
            continue;
        }
        match out.last_mut() {
            Some(w) if w.end == start && w.wanted == wanted => w.end = end,
            _ => out.push(Window {
                start,
                end,
                wanted,
                raised_at: None,
            }),
        }
    }
    out
}

/// The state in force at `t`: the last row at or before it.
fn at(rows: &[Row], t: i64) -> Option<&Row> {
    let i = rows.partition_point(|r| r.time.timestamp_millis() <= t);
    i.checked_sub(1).map(|i| &rows[i])
}

/// Summarises each window that starts within the run `[from, to]` (ms) from its rows (one
/// that started before cannot say when its capacity was Ready); every window gets the
/// instant its floor was raised, for the chart.
pub fn summarize(windows: &mut [Window], rows: &[Row], from: i64, to: i64) -> Vec<WindowSummary> {
    let ms = |r: &Row| r.time.timestamp_millis();
    let continues: Vec<bool> = (0..windows.len())
        .map(|i| {
            i > 0
                && windows[i - 1].end == windows[i].start
                && windows[i - 1].wanted >= windows[i].wanted
        })
        .collect();
    let raises: Vec<Option<i64>> = windows
        .iter()
        .zip(&continues)
        .map(|(w, c)| if *c { None } else { raised_at(rows, w) })
        .collect();
    // the replicas before a chain of windows began: a continuation gives back to that level
    let mut befores: Vec<i32> = Vec::with_capacity(windows.len());
    for (i, w) in windows.iter().enumerate() {
        let own = at(rows, raises[i].unwrap_or(w.start) - 1).map_or(0, |r| r.replicas);
        befores.push(if continues[i] { befores[i - 1] } else { own });
    }
    windows
        .iter_mut()
        .enumerate()
        .filter_map(|(i, w)| {
            w.raised_at = raises[i];
            if w.start < from {
                return None;
            }
            let ready_at = ready_at(rows, w, if continues[i] { w.start } else { i64::MIN });
            let in_window = rows.iter().filter(|r| ms(r) > w.start && ms(r) < w.end);
            let max_shortfall = at(rows, w.start)
                .into_iter()
                .chain(in_window)
                .map(|r| (w.wanted - r.ready).max(0))
                .max()
                .unwrap_or(w.wanted);
            let from = raises[i].unwrap_or(w.start);
            let before = befores[i];
            // the next window's raise (or its start, when it continues this one) ends this
            // one's account, never before it began
            let next = match (raises.get(i + 1).copied().flatten(), continues.get(i + 1)) {
                (Some(r), _) => r,
                (None, Some(true)) => w.end,
                _ => i64::MAX,
            }
            .max(from);
            let back = rows
                .iter()
                .find(|r| ms(r) >= w.end && r.replicas <= before)
                .map_or(to, ms)
                .min(next)
                .min(to);
            let time = |t: i64| DateTime::from_timestamp_millis(t).unwrap_or_default();
            Some(WindowSummary {
                start: time(w.start),
                end: time(w.end),
                wanted: w.wanted,
                raised_at: raises[i].map(time),
                lead_seconds: raises[i].map(|r| (w.start - r) / 1000),
                ready_at: ready_at.map(time),
                ready_seconds_before_start: ready_at.map(|r| (w.start - r) / 1000),
                max_shortfall,
                replica_hours: replica_ms(rows, from, back) / 3_600_000.0,
                ideal_replica_hours: f64::from(w.wanted) * (w.end - w.start) as f64 / 3_600_000.0,
                continues_previous: continues[i],
            })
        })
        .collect()
}

/// Since when the HPA minimum held the window's count without a break up to its start.
fn raised_at(rows: &[Row], w: &Window) -> Option<i64> {
    let upto = rows.partition_point(|r| r.time.timestamp_millis() <= w.start);
    let mut since = None;
    for r in rows[..upto].iter().rev() {
        if r.min_replicas < w.wanted {
            break;
        }
        since = Some(r.time.timestamp_millis());
    }
    since
}

/// When the wanted replicas were Ready (see the module doc), looking back no further than
/// `not_before`.
fn ready_at(rows: &[Row], w: &Window, not_before: i64) -> Option<i64> {
    let upto = rows.partition_point(|r| r.time.timestamp_millis() <= w.start);
    let mut since = None;
    for r in rows[..upto].iter().rev() {
        if r.ready < w.wanted {
            break;
        }
        since = Some(r.time.timestamp_millis().max(not_before));
        if r.time.timestamp_millis() <= not_before {
            break;
        }
    }
    since.or_else(|| {
        rows[upto..]
            .iter()
            .find(|r| r.ready >= w.wanted)
            .map(|r| r.time.timestamp_millis())
            .filter(|t| *t < w.end)
    })
}

/// ∫ replicas dt over `[from, to)` (ms × replicas), the rows being a step function.
fn replica_ms(rows: &[Row], from: i64, to: i64) -> f64 {
    let mut total = 0.0;
    let mut t = from;
    let mut level = at(rows, from).map_or(0, |r| r.replicas);
    for r in rows
        .iter()
        .filter(|r| r.time.timestamp_millis() > from && r.time.timestamp_millis() < to)
    {
        let rt = r.time.timestamp_millis();
        total += f64::from(level) * (rt - t) as f64;
        (t, level) = (rt, r.replicas);
    }
    total + f64::from(level) * (to - t).max(0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: i64, replicas: i32, ready: i32, min: i32) -> Row {
        Row {
            time: DateTime::from_timestamp_millis(t * 1000).unwrap(),
            values: vec![],
            desired: None,
            replicas,
            ready,
            min_replicas: min,
            max_replicas: 80,
            decision: String::new(),
            events: vec![],
        }
    }

    #[test]
    fn ready_early_shortfall_and_replica_hours() {
        // floor 10 from t=600 (lead 600 s) for the window [1200, 4800)
        let rows = vec![
            row(0, 3, 3, 3),
            row(600, 10, 3, 10),
            row(900, 10, 10, 10),
            row(4800, 10, 10, 3),
            row(5400, 3, 3, 3),
        ];
        let mut w = [Window {
            start: 1_200_000,
            end: 4_800_000,
            wanted: 10,
            raised_at: None,
        }];
        let s = &summarize(&mut w, &rows, 0, 7_200_000)[0];
        assert_eq!(s.raised_at.map(|t| t.timestamp()), Some(600));
        assert_eq!(s.lead_seconds, Some(600));
        assert_eq!(s.ready_at.map(|t| t.timestamp()), Some(900));
        assert_eq!(s.ready_seconds_before_start, Some(300));
        assert_eq!(s.max_shortfall, 0);
        // 10 replicas from 600 to 5400 s
        assert!(
            (s.replica_hours - 10.0 * 4800.0 / 3600.0).abs() < 1e-9,
            "{}",
            s.replica_hours
        );
        assert!((s.ideal_replica_hours - 10.0).abs() < 1e-9);
    }

    #[test]
    fn late_capacity_is_negative_and_short() {
        let rows = vec![
            row(0, 3, 3, 3),
            row(1200, 10, 3, 10),
            row(1500, 10, 7, 10),
            row(1800, 10, 10, 10),
        ];
        let mut w = [Window {
            start: 1_200_000,
            end: 4_800_000,
            wanted: 10,
            raised_at: None,
        }];
        let s = &summarize(&mut w, &rows, 0, 4_800_000)[0];
        assert_eq!(s.ready_seconds_before_start, Some(-600));
        assert_eq!(s.max_shortfall, 7);
        assert_eq!(s.lead_seconds, Some(0));
        let never = vec![row(0, 3, 3, 3)];
        let s = &summarize(&mut w, &never, 0, 4_800_000)[0];
        assert_eq!((s.ready_at, s.max_shortfall, s.raised_at), (None, 7, None));
        assert!(
            summarize(&mut w, &rows, 1_500_000, 4_800_000).is_empty(),
            "started before the run"
        );
    }

    #[test]
    fn a_window_stepping_down_from_a_higher_one_continues_it() {
        // floor 8 raised at 600 for [1200, 3000), then 6 for [3000, 4800) (a class ends, one
        // goes on); 8 Ready at 900, back to 3 at 5400
        let rows = vec![
            row(0, 3, 3, 3),
            row(600, 8, 3, 8),
            row(900, 8, 8, 8),
            row(3000, 8, 8, 6),
            row(3015, 6, 6, 6),
            row(4800, 6, 6, 3),
            row(5400, 3, 3, 3),
        ];
        let w = |start: i64, end: i64, wanted| Window {
            start: start * 1000,
            end: end * 1000,
            wanted,
            raised_at: None,
        };
        let mut ws = [w(1200, 3000, 8), w(3000, 4800, 6)];
        let s = summarize(&mut ws, &rows, 0, 7_200_000);
        assert_eq!(
            (s[0].continues_previous, s[0].lead_seconds),
            (false, Some(600))
        );
        assert_eq!(
            (s[1].continues_previous, s[1].raised_at, s[1].lead_seconds),
            (true, None, None)
        );
        assert_eq!(
            s[1].ready_seconds_before_start,
            Some(0),
            "Ready at its own start, not since the first raise"
        );
        // the first window's account ends where the second begins; the second's runs to 5400
        assert!(
            (s[0].replica_hours - 8.0 * 2400.0 / 3600.0).abs() < 1e-9,
            "{}",
            s[0].replica_hours
        );
        assert!(
            (s[1].replica_hours - (8.0 * 15.0 + 6.0 * 2385.0) / 3600.0).abs() < 1e-9,
            "{}",
            s[1].replica_hours
        );
    }
}
