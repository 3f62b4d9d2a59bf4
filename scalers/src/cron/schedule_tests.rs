//! The cron grammar: valid forms and robfig's error texts.

use super::schedule::{STAR, Schedule};
use super::window::load_location;

fn bits(values: &[u32]) -> u64 {
    values.iter().fold(0, |b, v| b | (1u64 << v))
}

fn range(from: u32, to: u32) -> u64 {
    (from..=to).fold(0, |b, v| b | (1u64 << v))
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
    assert_eq!(s.location, Some(load_location("Asia/Kolkata").unwrap()));
    let s = Schedule::parse("TZ=UTC 30 9 * * *").unwrap();
    assert_eq!(s.location, Some(load_location("UTC").unwrap()));
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
