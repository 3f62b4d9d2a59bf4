//! The next time a schedule fires, found the way robfig/cron v3's `SpecSchedule.Next` finds it,
//! so that daylight-saving days behave as in KEDA.
//!
//! The search starts at the next whole second after `now` and walks forward field by field
//! (month, day, hour, minute, second): when a field does not match, the time is first truncated
//! (once) to the start of that field's unit in wall-clock terms, then advanced — months and days
//! by calendar arithmetic on wall-clock fields, hours and minutes by adding absolute durations —
//! and each step is judged by the wall clock of the resulting instant. No match within five
//! years → no next time.
//!
//! Consequences on DST days (tested in `tests.rs`):
//! - **Spring forward** (Berlin 02:00 CET → 03:00 CEST, New York 02:00 EST → 03:00 EDT): adding
//!   an hour to 01:00 lands on 03:00, so wall-clock times in the skipped hour **never fire that
//!   day**; the next occurrence is the following day's. `0 3 * * *` fires normally.
//! - **Fall back** (Berlin 03:00 CEST → 02:00 CET, New York 02:00 EDT → 01:00 EST): the repeated
//!   hour is walked through twice, so a time in it **fires twice**, once per offset.
//!
//! Go's `time.Date` resolves a wall-clock time that does not exist or exists twice by looking
//! the offset up at the wall-clock value read as UTC and correcting once; `go_date` does the
//! same, because the truncation steps rely on it.

use super::schedule::Schedule;
use super::window::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// robfig gives up after this many years.
const YEAR_LIMIT: i32 = 5;
/// A guard against endless walking; far above the steps a five-year search needs.
const MAX_STEPS: u32 = 2_000_000;

impl Schedule {
    /// The first instant strictly after `now` at which this schedule fires, evaluated in the
    /// schedule's own `TZ=` zone if it has one, else in `zone`.
    pub fn next_after(&self, now: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        let tz = match self.location {
            Some(Zone::Named(tz)) => tz,
            Some(Zone::Local) | None => zone.tz(),
        };
        let secs = self.next_secs(now.timestamp() + 1, tz)?;
        DateTime::from_timestamp(secs, 0)
    }

    fn next_secs(&self, mut t: i64, tz: Tz) -> Option<i64> {
        let mut added = false;
        let year_limit = wall(tz, t)?.year() + YEAR_LIMIT;
        let mut steps = 0u32;
        'wrap: loop {
            let w = wall(tz, t)?;
            if w.year() > year_limit {
                return None;
            }
            while !Self::has(self.month, wall(tz, t)?.month()) {
                steps = count(steps)?;
                let w = wall(tz, t)?;
                if !added {
                    added = true;
                    t = go_date(tz, w.year(), w.month() as i64, 1, 0, 0)?;
                }
                let w = wall(tz, t)?;
                t = go_date(
                    tz,
                    w.year(),
                    w.month() as i64 + 1,
                    w.day() as i64,
                    w.hour() as i64,
                    w.minute() as i64,
                )?;
                if wall(tz, t)?.month() == 1 {
                    continue 'wrap;
                }
            }
            loop {
                let w = wall(tz, t)?;
                if self.day_matches(w.day(), w.weekday().num_days_from_sunday()) {
                    break;
                }
                steps = count(steps)?;
                if !added {
                    added = true;
                    t = go_date(tz, w.year(), w.month() as i64, w.day() as i64, 0, 0)?;
                }
                let w = wall(tz, t)?;
                t = go_date(
                    tz,
                    w.year(),
                    w.month() as i64,
                    w.day() as i64 + 1,
                    w.hour() as i64,
                    w.minute() as i64,
                )?;
                // Midnight may have moved by DST: pull back to it, or push on to the next one.
                let hour = wall(tz, t)?.hour() as i64;
                if hour != 0 {
                    t += if hour > 12 {
                        (24 - hour) * 3600
                    } else {
                        -hour * 3600
                    };
                }
                if wall(tz, t)?.day() == 1 {
                    continue 'wrap;
                }
            }
            while !Self::has(self.hour, wall(tz, t)?.hour()) {
                steps = count(steps)?;
                if !added {
                    added = true;
                    let w = wall(tz, t)?;
                    t = go_date(
                        tz,
                        w.year(),
                        w.month() as i64,
                        w.day() as i64,
                        w.hour() as i64,
                        0,
                    )?;
                }
                t += 3600;
                if wall(tz, t)?.hour() == 0 {
                    continue 'wrap;
                }
            }
            while !Self::has(self.minute, wall(tz, t)?.minute()) {
                steps = count(steps)?;
                if !added {
                    added = true;
                    t -= t.rem_euclid(60);
                }
                t += 60;
                if wall(tz, t)?.minute() == 0 {
                    continue 'wrap;
                }
            }
            // The implicit seconds field is `0`.
            while wall(tz, t)?.second() != 0 {
                steps = count(steps)?;
                added = true;
                t += 1;
                if wall(tz, t)?.second() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }
}

fn count(steps: u32) -> Option<u32> {
    (steps < MAX_STEPS).then_some(steps + 1)
}

/// The wall clock of instant `secs` in `tz`.
fn wall(tz: Tz, secs: i64) -> Option<DateTime<Tz>> {
    Some(DateTime::from_timestamp(secs, 0)?.with_timezone(&tz))
}

/// UTC offset (seconds east) of `tz` at instant `secs`.
fn offset_at(tz: Tz, secs: i64) -> Option<i64> {
    let utc = DateTime::from_timestamp(secs, 0)?.naive_utc();
    Some(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() as i64)
}

/// Go's `time.Date(year, month, day, hour, min, 0, 0, loc)` as unix seconds: out-of-range month
/// and day values carry over; a wall-clock time in a DST gap or overlap gets the offset found at
/// the wall-clock value read as UTC, corrected once if that offset does not hold there.
fn go_date(tz: Tz, year: i32, month: i64, day: i64, hour: i64, minute: i64) -> Option<i64> {
    let months = year as i64 * 12 + (month - 1);
    let first = NaiveDate::from_ymd_opt(
        i32::try_from(months.div_euclid(12)).ok()?,
        (months.rem_euclid(12) + 1) as u32,
        1,
    )?;
    let naive = first.and_hms_opt(0, 0, 0)?
        + Duration::days(day - 1)
        + Duration::hours(hour)
        + Duration::minutes(minute);
    let unix = naive.and_utc().timestamp();
    let guess = offset_at(tz, unix)?;
    let at_guess = offset_at(tz, unix - guess)?;
    let offset = if at_guess == guess { guess } else { at_guess };
    Some(unix - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn go_date_resolves_gaps_and_overlaps_like_go() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        // Berlin 2026-03-29 02:30 does not exist: Go answers 03:30 CEST (01:30Z).
        assert_eq!(
            go_date(berlin, 2026, 3, 29, 2, 30),
            Some(utc("2026-03-29T01:30:00Z"))
        );
        // New York 2026-03-08 02:30 does not exist: Go answers 01:30 EST (06:30Z).
        assert_eq!(
            go_date(ny, 2026, 3, 8, 2, 30),
            Some(utc("2026-03-08T06:30:00Z"))
        );
        // Berlin 2026-10-25 02:30 exists twice: Go picks CET (01:30Z), the later one.
        assert_eq!(
            go_date(berlin, 2026, 10, 25, 2, 30),
            Some(utc("2026-10-25T01:30:00Z"))
        );
        // New York 2026-11-01 01:30 exists twice: Go picks EDT (05:30Z), the earlier one.
        assert_eq!(
            go_date(ny, 2026, 11, 1, 1, 30),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        // Carry-over: month 13 is January next year, day 32 of January is February 1st.
        assert_eq!(
            go_date(Tz::UTC, 2026, 13, 1, 0, 0),
            Some(utc("2027-01-01T00:00:00Z"))
        );
        assert_eq!(
            go_date(Tz::UTC, 2026, 1, 32, 0, 0),
            Some(utc("2026-02-01T00:00:00Z"))
        );
    }
}
