//! Is the trigger inside its `[start, end)` window right now?
//!
//! KEDA evaluates, at every call and with no memory, the next start and the next end strictly
//! after now (robfig `Schedule.Next`, see [`super::next`]) and decides:
//! - next start before next end → active ⇔ now is after next start and before next end, which
//!   is never true for a real next start (it lies in the future): **inactive**;
//! - otherwise → active ⇔ now is after next start or before next end: **active**.
//!
//! So for schedules that fire, active ⇔ nextEnd ≤ nextStart: the next thing to happen is an end.
//! That gives `[start, end)` for every occurrence (exactly at start: the next start is a
//! later one, the next end is this window's → active; exactly at end: the next end is a later
//! one → inactive), handles windows across midnight and windows that began while nobody was
//! looking. When a schedule never fires (e.g. `0 0 30 2 *`), robfig returns Go's zero time
//! (year 1); the same comparison is kept with that far-past instant, so a start that never fires
//! with an end that does reads as active, as in KEDA.

use super::schedule::Schedule;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::Mutex;

/// A time zone as Go's `time.LoadLocation` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// An IANA zone (`"UTC"` and `""` load as `UTC`).
    Named(Tz),
    /// Go's `Local`: the process zone, which is UTC in a container with neither `TZ` nor
    /// `/etc/localtime` (KEDA's image). Prescale always treats it as UTC, whatever the host
    /// says, so that windows do not depend on where the operator runs.
    Local,
}

impl Zone {
    /// The zone arithmetic happens in.
    pub fn tz(self) -> Tz {
        match self {
            Zone::Named(tz) => tz,
            Zone::Local => Tz::UTC,
        }
    }
}

/// Go's `time.LoadLocation`: `""` and `UTC` are UTC, `Local` is the process zone, anything else
/// must be an IANA name (case-sensitive, as on Linux) or fails with `unknown time zone <name>`.
pub fn load_location(name: &str) -> Result<Zone, String> {
    match name {
        "" | "UTC" => Ok(Zone::Named(Tz::UTC)),
        "Local" => Ok(Zone::Local),
        _ => name
            .parse::<Tz>()
            .map(Zone::Named)
            .map_err(|_| format!("unknown time zone {name}")),
    }
}

/// KEDA's activity rule for `now` in `zone` (the trigger's timezone).
pub fn is_active(start: &Schedule, end: &Schedule, now: DateTime<Utc>, zone: Zone) -> bool {
    decide(start.next_after(now, zone), end.next_after(now, zone), now)
}

/// The rule given the next start and end after `now`.
fn decide(
    next_start: Option<DateTime<Utc>>,
    next_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    // robfig's "no next time" is Go's zero time, far in the past.
    let never = DateTime::<Utc>::MIN_UTC;
    let next_start = next_start.unwrap_or(never);
    let next_end = next_end.unwrap_or(never);
    if next_start < next_end {
        now > next_start && now < next_end
    } else {
        now > next_start || now < next_end
    }
}

/// The activity of one `[start, end)` window, remembered per stretch: [`is_active`] depends on
/// `now` only through the next start and the next end after it, so its answer holds from the
/// instant it was computed for until the earlier of the two. A few stretches are kept (callers
/// alternate between now and now + lead), so walking time minute by minute costs one
/// computation per fire instead of one per minute. Answers equal [`is_active`]'s exactly.
#[derive(Default)]
pub struct ActivityMemo(Mutex<MemoSlots>);

/// `(from, until, active)`: `active` holds for `from ≤ t < until`.
type Stretch = (DateTime<Utc>, DateTime<Utc>, bool);

#[derive(Default)]
struct MemoSlots {
    slots: [Option<Stretch>; 4],
    next: usize,
}

impl Clone for ActivityMemo {
    /// A copy starts empty (the memo is a cache, not state).
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for ActivityMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActivityMemo")
    }
}

impl ActivityMemo {
    /// [`is_active`]`(start, end, now, zone)`, remembered.
    pub fn is_active(
        &self,
        start: &Schedule,
        end: &Schedule,
        now: DateTime<Utc>,
        zone: Zone,
    ) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let hit = m
            .slots
            .iter()
            .flatten()
            .find(|(from, until, _)| *from <= now && now < *until);
        if let Some((_, _, active)) = hit {
            return *active;
        }
        let next_start = start.next_after(now, zone);
        let next_end = end.next_after(now, zone);
        let active = decide(next_start, next_end, now);
        let until = [next_start, next_end]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let i = m.next;
        m.slots[i] = Some((now, until, active));
        m.next = (i + 1) % m.slots.len();
        active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memo_answers_as_the_rule_in_any_order() {
        let zone = load_location("Europe/London").unwrap();
        let pairs = [
            ("30 7 * * 1-5", "0 9 * * 1-5"),
            ("0 22 * * *", "0 6 * * *"),
            ("*/7 * * * *", "*/5 * * * *"),
            // DST ends in London on 2026-10-25: 01:30 happens twice
            ("30 1 * * *", "45 1 * * *"),
            ("0 0 30 2 *", "0 9 * * *"),
        ];
        let base: DateTime<Utc> = "2026-10-23T00:00:00Z".parse().unwrap();
        for (a, b) in pairs {
            let (start, end) = (Schedule::parse(a).unwrap(), Schedule::parse(b).unwrap());
            let memo = ActivityMemo::default();
            // forward minute by minute, then back and forth with a lead
            let mut times: Vec<DateTime<Utc>> = (0..4 * 1440)
                .map(|m| base + chrono::Duration::minutes(m))
                .collect();
            let mut mixed = Vec::new();
            for t in times.iter().rev().step_by(13) {
                mixed.extend([
                    *t,
                    *t + chrono::Duration::minutes(10),
                    *t - chrono::Duration::seconds(30),
                ]);
            }
            times.extend(mixed);
            for t in times {
                assert_eq!(
                    memo.is_active(&start, &end, t, zone),
                    is_active(&start, &end, t, zone),
                    "{a} / {b} at {t}"
                );
            }
        }
    }
}
