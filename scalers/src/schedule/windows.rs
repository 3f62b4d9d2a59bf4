//! Windows of a `schedule` trigger: dated one-off windows (`START/END=REPLICAS` in local time of
//! an IANA zone) and recurring ones (`CRON_START / CRON_END = REPLICAS`, cron form as KEDA's
//! cron trigger). `=N` asks for a floor of N replicas, `=max:N` caps the workload at N (a night
//! cap). The floor at instant t is the largest count of the floor windows whose capacity must be
//! in place at t: a window `[start, end)` holds from `start − leadTime` until `end`, so that pods
//! are Ready when it starts. A cap holds exactly over `[start, end)` (no lead) and the smallest
//! cap wins. Floors overlap floors only across triggers (within one trigger it is an error),
//! likewise caps.

use crate::cron::schedule::Schedule;
use crate::cron::window::{ActivityMemo, Zone};
use crate::prescale::Bounds;
use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use std::time::Duration;

/// What a window asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// At least this many replicas (`=N`).
    Floor(i64),
    /// At most this many replicas (`=max:N`).
    Ceiling(i64),
}

impl Want {
    fn is_floor(self) -> bool {
        matches!(self, Want::Floor(_))
    }
}

/// A one-off window, as UTC instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub want: Want,
    /// The line as written (for messages and plans).
    pub text: String,
}

/// A window that repeats by cron schedules.
#[derive(Debug, Clone)]
pub struct Recurring {
    pub start: Schedule,
    pub end: Schedule,
    pub want: Want,
    pub text: String,
    /// Its activity per stretch between fires (bounds and plans ask minute by minute).
    pub memo: ActivityMemo,
}

impl Recurring {
    /// Whether the window is active at `now` (KEDA's rule, `cron::window::is_active`).
    pub fn active_at(&self, now: DateTime<Utc>, zone: Zone) -> bool {
        self.memo.is_active(&self.start, &self.end, now, zone)
    }
}

/// A local date-time in `zone` as a UTC instant. A time that does not exist (the hour skipped
/// when daylight saving time starts) is an error; one that exists twice (the hour repeated when
/// it ends) means its first occurrence.
pub fn local_instant(text: &str, zone: Zone) -> Result<DateTime<Utc>, String> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{text:?} is not a local date-time like 2026-11-11T00:00"))?;
    local_instant_naive(naive, zone).map_err(|e| format!("{text} {e}"))
}

/// A local date-time in `zone` as a UTC instant, with the same rules as [`local_instant`]; the
/// error reads "does not exist in ZONE (...)".
pub fn local_instant_naive(naive: NaiveDateTime, zone: Zone) -> Result<DateTime<Utc>, String> {
    let tz = zone.tz();
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "does not exist in {tz} (it falls in a daylight saving time gap)"
        )),
    }
}

fn want(text: &str) -> Result<Want, String> {
    let t = text.trim();
    let (cap, n) = match t.strip_prefix("max:") {
        Some(rest) => (true, rest.trim()),
        None => (false, t),
    };
    match n.parse::<i64>() {
        Ok(n) if n > 0 && cap => Ok(Want::Ceiling(n)),
        Ok(n) if n > 0 => Ok(Want::Floor(n)),
        _ => Err(format!(
            "replicas {t:?} must be a whole number greater than 0 (N for a floor, max:N for a cap)"
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
                want: want(count)?,
                text: line.to_string(),
            })
        })();
        match parsed {
            Ok(d) => {
                if let Some((m, other)) = out.iter().find(|(_, o)| {
                    o.want.is_floor() == d.want.is_floor() && d.start < o.end && o.start < d.end
                }) {
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
                want: want(count)?,
                text: line.to_string(),
                memo: ActivityMemo::default(),
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

/// The bounds at `now`: floors of the windows that must hold at `now` (from `start − lead`),
/// by max; caps in force at `now`, by min. Rules are named by their line.
pub fn bounds_at(
    dated: &[Dated],
    recurring: &[Recurring],
    zone: Zone,
    lead: Duration,
    now: DateTime<Utc>,
) -> Bounds {
    let lead = chrono::Duration::from_std(lead).unwrap_or_default();
    let mut b = Bounds::default();
    let mut add = |want: Want, text: &str| {
        let one = match want {
            Want::Floor(n) => Bounds {
                floor: n,
                floor_rule: Some(text.to_string()),
                ..Bounds::default()
            },
            Want::Ceiling(n) => Bounds {
                ceiling: Some(n),
                ceiling_rule: Some(text.to_string()),
                ..Bounds::default()
            },
        };
        b = std::mem::take(&mut b).combine(&one);
    };
    for d in dated {
        let from = if d.want.is_floor() {
            d.start - lead
        } else {
            d.start
        };
        if from <= now && now < d.end {
            add(d.want, &d.text);
        }
    }
    for r in recurring {
        // a recurring floor holds at `now` when its window is active at `now` or at `now + lead`
        let holds = r.active_at(now, zone) || (r.want.is_floor() && r.active_at(now + lead, zone));
        if holds {
            add(r.want, &r.text);
        }
    }
    b
}

/// The floor at `now` (see [`bounds_at`]).
pub fn floor_at(
    dated: &[Dated],
    recurring: &[Recurring],
    zone: Zone,
    lead: Duration,
    now: DateTime<Utc>,
) -> i64 {
    bounds_at(dated, recurring, zone, lead, now).floor
}

/// Every instant in `[from, to]` at which the bounds may change: the edges of dated windows
/// (floors at `start − lead`) and, for recurring windows (minute resolution), each whole minute
/// at which one becomes active or inactive, and that minute minus the lead.
pub fn change_times(
    dated: &[Dated],
    recurring: &[Recurring],
    zone: Zone,
    lead: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let lead = chrono::Duration::from_std(lead).unwrap_or_default();
    let mut out = Vec::new();
    for d in dated {
        let rise = if d.want.is_floor() {
            d.start - lead
        } else {
            d.start
        };
        out.extend([rise, d.end]);
    }
    if !recurring.is_empty() {
        let step = chrono::Duration::minutes(1);
        let first = chrono::DurationRound::duration_trunc(from, step).unwrap_or(from);
        let mut active: Vec<bool> = recurring.iter().map(|r| r.active_at(first, zone)).collect();
        let mut t = first + step;
        while t <= to + lead {
            for (r, was) in recurring.iter().zip(active.iter_mut()) {
                let now = r.active_at(t, zone);
                if now != *was {
                    out.push(t);
                    if r.want.is_floor() {
                        out.push(t - lead);
                    }
                    *was = now;
                }
            }
            t += step;
        }
    }
    out.retain(|t| *t >= from && *t <= to);
    crate::prescale::sorted_unique(out)
}
