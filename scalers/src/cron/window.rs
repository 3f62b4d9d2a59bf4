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
    // robfig's "no next time" is Go's zero time, far in the past.
    let never = DateTime::<Utc>::MIN_UTC;
    let next_start = start.next_after(now, zone).unwrap_or(never);
    let next_end = end.next_after(now, zone).unwrap_or(never);
    if next_start < next_end {
        now > next_start && now < next_end
    } else {
        now > next_start || now < next_end
    }
}
