//! The cron grammar (valid forms and robfig's error texts) and the next-occurrence search,
//! DST days included.

use super::schedule::{STAR, Schedule};
use super::window::{Zone, load_location};
use chrono::{DateTime, Utc};

fn bits(values: &[u32]) -> u64 {
    values.iter().fold(0, |b, v| b | (1u64 << v))
}

fn range(from: u32, to: u32) -> u64 {
    (from..=to).fold(0, |b, v| b | (1u64 << v))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn zone(name: &str) -> Zone {
    load_location(name).unwrap()
}

#[test]
fn valid_forms() {
    // (spec, minute, hour, dom, month, dow)
    let all_dom = range(1, 31) | STAR;
    let all_month = range(1, 12) | STAR;
    let all_dow = range(0, 6) | STAR;
    let cases: &[(&str, u64, u64, u64, u64, u64)] = &[
        (
            "0 0 * * Thu",
            bits(&[0]),
            bits(&[0]),
            all_dom,
            all_month,
            bits(&[4]),
        ),
        (
            "*/15 9-17 * * *",
            bits(&[0, 15, 30, 45]),
            range(9, 17),
            all_dom,
            all_month,
            all_dow,
        ),
        (
            "5/20 1-23/2 * * *",
            bits(&[5, 25, 45]),
            bits(&[1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]),
            all_dom,
            all_month,
            all_dow,
        ),
        (
            "10-20/5 0 1,15,,31 * *",
            bits(&[10, 15, 20]),
            bits(&[0]),
            bits(&[1, 15, 31]),
            all_month,
            all_dow,
        ),
        // Go's Atoi: leading zeros and `+` are fine.
        (
            "05 +9 * * *",
            bits(&[5]),
            bits(&[9]),
            all_dom,
            all_month,
            all_dow,
        ),
        // `?` is a star anywhere; robfig ignores what follows `*-`.
        (
            "? *-5 ? * ?",
            range(0, 59) | STAR,
            range(0, 23) | STAR,
            all_dom,
            all_month,
            all_dow,
        ),
        // Names, case-insensitive, in ranges and lists.
        (
            "0 0 * JAN-mar sun,SAT",
            bits(&[0]),
            bits(&[0]),
            all_dom,
            bits(&[1, 2, 3]),
            bits(&[0, 6]),
        ),
        (
            "0 0 * dec MON-fri",
            bits(&[0]),
            bits(&[0]),
            all_dom,
            bits(&[12]),
            range(1, 5),
        ),
        // `*/1` keeps the star mark, `*/2` drops it (matters for the day rule).
        (
            "0 0 * */1 */2",
            bits(&[0]),
            bits(&[0]),
            all_dom,
            all_month,
            bits(&[0, 2, 4, 6]),
        ),
        (
            "  0   0  1-31  *  FRI/2 ",
            bits(&[0]),
            bits(&[0]),
            range(1, 31),
            all_month,
            bits(&[5]),
        ),
    ];
    for (spec, minute, hour, dom, month, dow) in cases {
        let s = Schedule::parse(spec.trim()).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(
            (s.minute, s.hour, s.dom, s.month, s.dow),
            (*minute, *hour, *dom, *month, *dow),
            "{spec}"
        );
        assert_eq!(s.location, None, "{spec}");
    }
    let s = Schedule::parse("CRON_TZ=Asia/Kolkata 30 9 * * *").unwrap();
    assert_eq!(s.location, Some(zone("Asia/Kolkata")));
    let s = Schedule::parse("TZ=UTC 30 9 * * *").unwrap();
    assert_eq!(s.location, Some(zone("UTC")));
}

#[test]
fn invalid_forms_have_robfig_error_texts() {
    let atoi = |s: &str| {
        format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
    };
    let cases: Vec<(&str, String)> = vec![
        ("", "empty spec string".into()),
        (
            "* * * *",
            "expected exactly 5 fields, found 4: [* * * *]".into(),
        ),
        (
            "0 0 6 * * *",
            "expected exactly 5 fields, found 6: [0 0 6 * * *]".into(),
        ),
        (
            "@daily",
            "parser does not accept descriptors: @daily".into(),
        ),
        (
            "@every 1h",
            "parser does not accept descriptors: @every 1h".into(),
        ),
        (
            "60 * * * *",
            "end of range (60) above maximum (59): 60".into(),
        ),
        (
            "* 24 * * *",
            "end of range (24) above maximum (23): 24".into(),
        ),
        (
            "* * 0 * *",
            "beginning of range (0) below minimum (1): 0".into(),
        ),
        (
            "* * 32 * *",
            "end of range (32) above maximum (31): 32".into(),
        ),
        (
            "* * * 0 *",
            "beginning of range (0) below minimum (1): 0".into(),
        ),
        (
            "* * * 13 *",
            "end of range (13) above maximum (12): 13".into(),
        ),
        // robfig v3 has no `7` for Sunday.
        ("* * * * 7", "end of range (7) above maximum (6): 7".into()),
        (
            "* * * * 1-7",
            "end of range (7) above maximum (6): 1-7".into(),
        ),
        (
            "5-3 * * * *",
            "beginning of range (5) beyond end of range (3): 5-3".into(),
        ),
        (
            "0 0 * * mon-SUN",
            "beginning of range (1) beyond end of range (0): mon-SUN".into(),
        ),
        (
            "*/0 * * * *",
            "step of range should be a positive number: */0".into(),
        ),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3".into()),
        ("*/2/3 * * * *", "too many slashes: */2/3".into()),
        (
            "0 0 * * */-1",
            "negative number (-1) not allowed: -1".into(),
        ),
        ("-30 * * * *", atoi("")),
        ("30 * * -3 *", atoi("")),
        ("0 0 L * *", atoi("L")),
        ("0 0 15W * *", atoi("15W")),
        ("0 0 * * 5L", atoi("5L")),
        ("0 0 * * 5#3", atoi("5#3")),
        ("0 0 * * MONDAY", atoi("MONDAY")),
        ("jan * * * *", atoi("jan")),
        ("0 0 * * 1.5", atoi("1.5")),
        (
            "99999999999999999999 * * * *",
            "failed to parse int from 99999999999999999999: strconv.Atoi: parsing \
             \"99999999999999999999\": value out of range"
                .into(),
        ),
        (
            "TZ=UTC",
            "provided bad location UTC: no schedule after the time zone".into(),
        ),
        (
            "CRON_TZ=Nowhere/City 0 * * * *",
            "provided bad location Nowhere/City: unknown time zone Nowhere/City".into(),
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(Schedule::parse(spec), Err(want), "{spec:?}");
    }
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
