//! Windows of a `schedule` trigger: dated one-off windows (`START/END=REPLICAS` in local time of
//! an IANA zone) and recurring ones (`CRON_START / CRON_END = REPLICAS`, cron form as KEDA's
//! cron trigger). The floor at instant t is the largest replica count of the windows whose
//! capacity must be in place at t: a window `[start, end)` holds from `start − leadTime` until
//! `end`, so that pods are Ready when the window starts.

use crate::cron::schedule::Schedule;
use crate::cron::window::{Zone, is_active};
use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use std::time::Duration;

/// A one-off window, as UTC instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub replicas: i64,
    /// The line as written (for messages and plans).
    pub text: String,
}

/// A window that repeats by cron schedules.
#[derive(Debug, Clone)]
pub struct Recurring {
    pub start: Schedule,
    pub end: Schedule,
    pub replicas: i64,
    pub text: String,
}

/// A local date-time in `zone` as a UTC instant. A time that does not exist (the hour skipped
/// when daylight saving time starts) is an error; one that exists twice (the hour repeated when
/// it ends) means its first occurrence.
pub fn local_instant(text: &str, zone: Zone) -> Result<DateTime<Utc>, String> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{text:?} is not a local date-time like 2026-11-11T00:00"))?;
    let tz = zone.tz();
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{text} does not exist in {tz} (it falls in a daylight saving time gap)"
        )),
    }
}

fn replicas(text: &str) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "replicas {:?} must be a whole number greater than 0",
            text.trim()
        )),
    }
}

/// Parses the `windows` lines (blank lines and `#` comments skipped). Errors name the line.
pub fn parse_dated(text: &str, zone: Zone) -> Result<Vec<Dated>, Vec<String>> {
    let mut out: Vec<(usize, Dated)> = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let parsed = (|| {
            let (span, count) = line.rsplit_once('=').ok_or("expected START/END=REPLICAS")?;
            let (start, end) = span.split_once('/').ok_or("expected START/END=REPLICAS")?;
            let (start, end) = (
                local_instant(start.trim(), zone)?,
                local_instant(end.trim(), zone)?,
            );
            if end <= start {
                return Err(format!(
                    "end {} is not after start {}",
                    span.split_once('/').map_or("", |s| s.1.trim()),
                    span.split_once('/').map_or("", |s| s.0.trim())
                ));
            }
            Ok::<_, String>(Dated {
                start,
                end,
                replicas: replicas(count)?,
                text: line.to_string(),
            })
        })();
        match parsed {
            Ok(d) => {
                if let Some((m, other)) =
                    out.iter().find(|(_, o)| d.start < o.end && o.start < d.end)
                {
                    errors.push(format!(
                        "windows line {n}: {} overlaps line {m} ({})",
                        d.text, other.text
                    ));
                }
                out.push((n, d));
            }
            Err(e) => errors.push(format!("windows line {n}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out.into_iter().map(|(_, d)| d).collect())
    } else {
        Err(errors)
    }
}

/// Parses the `recurring` lines: `CRON_START / CRON_END = REPLICAS`.
pub fn parse_recurring(text: &str) -> Result<Vec<Recurring>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let parsed = (|| {
            let (span, count) = line
                .rsplit_once('=')
                .ok_or("expected CRON_START / CRON_END = REPLICAS")?;
            let (start, end) = span
                .split_once('/')
                .ok_or("expected CRON_START / CRON_END = REPLICAS")?;
            let (start_text, end_text) = (start.trim(), end.trim());
            if start_text == end_text {
                return Err("start and end can not have exactly same time input".to_string());
            }
            let start = Schedule::parse(start_text)
                .map_err(|e| format!("error parsing start schedule: {e}"))?;
            let end = Schedule::parse(end_text)
                .map_err(|e| format!("error parsing end schedule: {e}"))?;
            Ok::<_, String>(Recurring {
                start,
                end,
                replicas: replicas(count)?,
                text: line.to_string(),
            })
        })();
        match parsed {
            Ok(r) => out.push(r),
            Err(e) => errors.push(format!("recurring line {n}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The floor at `now`: the largest count of the windows that must hold at `now`.
pub fn floor_at(
    dated: &[Dated],
    recurring: &[Recurring],
    zone: Zone,
    lead: Duration,
    now: DateTime<Utc>,
) -> i64 {
    let lead = chrono::Duration::from_std(lead).unwrap_or_default();
    let from_dated = dated
        .iter()
        .filter(|d| d.start - lead <= now && now < d.end)
        .map(|d| d.replicas);
    // a recurring window holds at `now` when it is active at `now` or at `now + lead`
    let from_recurring = recurring
        .iter()
        .filter(|r| {
            is_active(&r.start, &r.end, now, zone) || is_active(&r.start, &r.end, now + lead, zone)
        })
        .map(|r| r.replicas);
    from_dated.chain(from_recurring).max().unwrap_or(0)
}

/// When the floor changes between `from` and `to` (minute resolution), with the new floor:
/// the plan shown in status.
pub fn plan(
    dated: &[Dated],
    recurring: &[Recurring],
    zone: Zone,
    lead: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i64)> {
    let mut out = Vec::new();
    let mut last = floor_at(dated, recurring, zone, lead, from);
    let step = chrono::Duration::minutes(1);
    // whole minutes after `from` (schedules and local date-times have minute resolution)
    let mut t = chrono::DurationRound::duration_trunc(from, step).unwrap_or(from) + step;
    while t <= to {
        let f = floor_at(dated, recurring, zone, lead, t);
        if f != last {
            out.push((t, f));
            last = f;
        }
        t += step;
    }
    out
}
