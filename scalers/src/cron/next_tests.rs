//! The next-occurrence search: minute resolution, day rules, DST days (robfig's behaviour), and
//! a randomised comparison with a plain scan in zones without DST.

use super::schedule::Schedule;
use super::window::{Zone, load_location};
use chrono::{DateTime, Utc};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn zone(name: &str) -> Zone {
    load_location(name).unwrap()
}

/// `(spec, zone, now, expected next)`, all instants in UTC.
fn check_next(cases: &[(&str, &str, &str, Option<&str>)]) {
    for (spec, zone_name, now, want) in cases {
        let s = Schedule::parse(spec).unwrap();
        let got = s.next_after(utc(now), zone(zone_name));
        assert_eq!(got, want.map(utc), "{spec} in {zone_name} after {now}");
    }
}

#[test]
fn next_is_strictly_after_now_at_minute_resolution() {
    check_next(&[
        (
            "0 9 * * *",
            "Etc/UTC",
            "2026-06-01T08:59:59.900Z",
            Some("2026-06-01T09:00:00Z"),
        ),
        (
            "0 9 * * *",
            "Etc/UTC",
            "2026-06-01T09:00:00Z",
            Some("2026-06-02T09:00:00Z"),
        ),
        (
            "0 9 * * *",
            "Etc/UTC",
            "2026-06-01T09:00:00.5Z",
            Some("2026-06-02T09:00:00Z"),
        ),
        (
            "* * * * *",
            "Etc/UTC",
            "2026-06-01T09:00:00Z",
            Some("2026-06-01T09:01:00Z"),
        ),
        (
            "* * * * *",
            "Etc/UTC",
            "2026-06-01T09:00:59Z",
            Some("2026-06-01T09:01:00Z"),
        ),
        (
            "59 23 31 12 *",
            "Etc/UTC",
            "2026-06-01T00:00:00Z",
            Some("2026-12-31T23:59:00Z"),
        ),
        (
            "0 0 29 2 *",
            "Etc/UTC",
            "2026-06-01T00:00:00Z",
            Some("2028-02-29T00:00:00Z"),
        ),
        // Never fires: robfig gives up after five years.
        ("0 0 30 2 *", "Etc/UTC", "2026-06-01T00:00:00Z", None),
        ("0 0 31 4 *", "Etc/UTC", "2026-06-01T00:00:00Z", None),
        // Asia/Kolkata is +05:30: 09:30 IST is 04:00Z.
        (
            "30 9 * * *",
            "Asia/Kolkata",
            "2026-06-01T00:00:00Z",
            Some("2026-06-01T04:00:00Z"),
        ),
        // A TZ= prefix beats the trigger's zone.
        (
            "CRON_TZ=Asia/Kolkata 30 9 * * *",
            "Europe/Berlin",
            "2026-06-01T00:00:00Z",
            Some("2026-06-01T04:00:00Z"),
        ),
    ]);
}

#[test]
fn day_of_month_and_day_of_week() {
    // 2026-06-01 is a Monday; 2026-06-05 a Friday.
    check_next(&[
        // Both restricted: either matches (OR).
        (
            "0 9 13 * 5",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-05T09:00:00Z"),
        ),
        (
            "0 9 1-31 * 5",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-02T09:00:00Z"),
        ),
        (
            "0 9 13 * */2",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-02T09:00:00Z"),
        ),
        // One is a star (`*`, `?`, `*/1`): both must match (AND).
        (
            "0 9 13 * *",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-13T09:00:00Z"),
        ),
        (
            "0 9 13 * ?",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-13T09:00:00Z"),
        ),
        (
            "0 9 13 * */1",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-13T09:00:00Z"),
        ),
        (
            "0 9 * * FRI",
            "Etc/UTC",
            "2026-06-01T10:00:00Z",
            Some("2026-06-05T09:00:00Z"),
        ),
        // With the star, only the 13th counts: after June's, July's.
        (
            "0 9 13 * */1",
            "Etc/UTC",
            "2026-06-14T00:00:00Z",
            Some("2026-07-13T09:00:00Z"),
        ),
    ]);
}

#[test]
fn dst_spring_forward_skips_the_missing_hour() {
    check_next(&[
        // Berlin, 2026-03-29: 02:00 CET → 03:00 CEST at 01:00Z. 02:30 does not exist that day.
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-29T00:00:00Z",
            Some("2026-03-30T00:30:00Z"),
        ),
        (
            "0 2 * * *",
            "Europe/Berlin",
            "2026-03-28T23:00:00Z",
            Some("2026-03-30T00:00:00Z"),
        ),
        // The hours around the gap fire normally.
        (
            "30 1 * * *",
            "Europe/Berlin",
            "2026-03-28T23:00:00Z",
            Some("2026-03-29T00:30:00Z"),
        ),
        (
            "0 3 * * *",
            "Europe/Berlin",
            "2026-03-29T00:00:00Z",
            Some("2026-03-29T01:00:00Z"),
        ),
        // New York, 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z.
        (
            "30 2 * * *",
            "America/New_York",
            "2026-03-08T06:00:00Z",
            Some("2026-03-09T06:30:00Z"),
        ),
        (
            "0 3 * * *",
            "America/New_York",
            "2026-03-08T06:00:00Z",
            Some("2026-03-08T07:00:00Z"),
        ),
        // Hourly schedules just have one run fewer.
        (
            "15 * * * *",
            "Europe/Berlin",
            "2026-03-29T00:20:00Z",
            Some("2026-03-29T01:15:00Z"),
        ),
        // São Paulo, 2018-11-04: midnight itself was skipped (00:00 BRT → 01:00 BRST). Walking
        // days lands on 23:00 of the day before; robfig pushes on to the next midnight.
        (
            "0 9 4 11 *",
            "America/Sao_Paulo",
            "2018-11-02T15:00:00Z",
            Some("2018-11-04T11:00:00Z"),
        ),
        (
            "0 0 * * *",
            "America/Sao_Paulo",
            "2018-11-03T12:00:00Z",
            Some("2018-11-05T02:00:00Z"),
        ),
    ]);
}

#[test]
fn dst_cases_of_robfig_own_test_table() {
    // robfig/cron v3 spec_test.go "Daylight savings time" rows, in New York.
    check_next(&[
        (
            "30 2 11 Mar ?",
            "America/New_York",
            "2012-03-11T05:00:00Z",
            Some("2013-03-11T06:30:00Z"),
        ),
        (
            "30 2 04 Nov ?",
            "America/New_York",
            "2012-11-04T04:00:00Z",
            Some("2012-11-04T07:30:00Z"),
        ),
        (
            "30 1 04 Nov ?",
            "America/New_York",
            "2012-11-04T05:45:00Z",
            Some("2012-11-04T06:30:00Z"),
        ),
    ]);
}

#[test]
fn dst_fall_back_fires_twice_in_the_repeated_hour() {
    check_next(&[
        // Berlin, 2026-10-25: 03:00 CEST → 02:00 CET at 01:00Z. 02:30 happens twice.
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-24T23:00:00Z",
            Some("2026-10-25T00:30:00Z"),
        ),
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-25T00:30:00Z",
            Some("2026-10-25T01:30:00Z"),
        ),
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-25T01:30:00Z",
            Some("2026-10-26T01:30:00Z"),
        ),
        // New York, 2026-11-01: 02:00 EDT → 01:00 EST at 06:00Z. 01:30 happens twice.
        (
            "30 1 * * *",
            "America/New_York",
            "2026-11-01T04:00:00Z",
            Some("2026-11-01T05:30:00Z"),
        ),
        (
            "30 1 * * *",
            "America/New_York",
            "2026-11-01T05:30:00Z",
            Some("2026-11-01T06:30:00Z"),
        ),
        (
            "30 1 * * *",
            "America/New_York",
            "2026-11-01T06:30:00Z",
            Some("2026-11-02T06:30:00Z"),
        ),
        // From inside the second 01:xx, a later hour is found without going back in time.
        (
            "0 2 * * *",
            "America/New_York",
            "2026-11-01T06:10:00Z",
            Some("2026-11-01T07:00:00Z"),
        ),
        (
            "15 1 * * *",
            "America/New_York",
            "2026-11-01T06:20:00Z",
            Some("2026-11-02T06:15:00Z"),
        ),
    ]);
}

/// A plain forward scan in wall-clock time (month → day → hour → minute), valid only in zones
/// without DST, as an independent reference for the robfig-style walk.
fn scan_next(s: &Schedule, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike};
    let first = DateTime::from_timestamp(now.timestamp() + 1, 0)?.with_timezone(&tz);
    let mut t = first.naive_local();
    if t.second() != 0 {
        t = t.with_second(0)? + Duration::minutes(1);
    }
    let stop = NaiveDate::from_ymd_opt(first.year() + 6, 1, 1)?.and_hms_opt(0, 0, 0)?;
    while t < stop {
        let midnight = t.date().and_hms_opt(0, 0, 0)?;
        if !Schedule::has(s.month, t.month()) {
            let (y, m) = if t.month() == 12 {
                (t.year() + 1, 1)
            } else {
                (t.year(), t.month() + 1)
            };
            t = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
        } else if !s.day_matches(t.day(), t.weekday().num_days_from_sunday()) {
            t = midnight + Duration::days(1);
        } else if !Schedule::has(s.hour, t.hour()) {
            t = t.with_minute(0)? + Duration::hours(1);
        } else if !Schedule::has(s.minute, t.minute()) {
            t += Duration::minutes(1);
        } else {
            return Some(tz.from_local_datetime(&t).single()?.with_timezone(&Utc));
        }
    }
    None
}

/// xorshift64: deterministic pseudo-random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// One random, valid field expression for values `lo..=hi`.
    fn field(&mut self, lo: u64, hi: u64, names: &[&str]) -> String {
        let value = |r: &mut Rng, v: u64| -> String {
            if !names.is_empty() && r.below(3) == 0 {
                let name = names[(v - lo) as usize];
                if r.below(2) == 0 {
                    name.to_uppercase()
                } else {
                    name.to_string()
                }
            } else {
                v.to_string()
            }
        };
        let one = |r: &mut Rng| -> String {
            let a = r.between(lo, hi);
            let b = r.between(a, hi);
            let step = r.between(1, (hi - lo).max(1));
            match r.below(5) {
                0 => value(r, a),
                1 => format!("{}-{}", value(r, a), value(r, b)),
                2 => format!("*/{step}"),
                3 => format!("{}/{step}", value(r, a)),
                _ => format!("{}-{}/{step}", value(r, a), value(r, b)),
            }
        };
        match self.below(6) {
            0 => "*".to_string(),
            1 => "?".to_string(),
            2 => format!("{},{}", one(self), one(self)),
            _ => one(self),
        }
    }
}

#[test]
fn walk_matches_a_plain_scan_without_dst() {
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let zones = ["Etc/UTC", "Asia/Kolkata", "Asia/Kathmandu", "Etc/GMT+11"];
    let nows = [
        "2026-06-01T08:59:59.500Z",
        "2026-12-31T23:59:30Z",
        "2028-02-28T18:29:00Z",
        "2026-03-29T01:00:00Z",
    ];
    let mut checked = 0;
    for _ in 0..400 {
        let spec = format!(
            "{} {} {} {} {}",
            rng.field(0, 59, &[]),
            rng.field(0, 23, &[]),
            rng.field(1, 31, &[]),
            rng.field(1, 12, &months),
            rng.field(0, 6, &days),
        );
        let s = Schedule::parse(&spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let zone_name = zones[rng.below(zones.len() as u64) as usize];
        let now = utc(nows[rng.below(nows.len() as u64) as usize]);
        let tz: chrono_tz::Tz = zone_name.parse().unwrap();
        let walked = s.next_after(now, zone(zone_name));
        assert_eq!(
            walked,
            scan_next(&s, now, tz),
            "{spec} in {zone_name} after {now}"
        );
        if let Some(next) = walked {
            assert!(next > now);
            // And the occurrence after that, from exactly this one.
            let second = s.next_after(next, zone(zone_name));
            assert_eq!(second, scan_next(&s, next, tz), "{spec} after {next}");
        }
        checked += 1;
    }
    assert_eq!(checked, 400);
}
