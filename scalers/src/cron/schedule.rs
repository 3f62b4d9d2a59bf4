//! The 5-field cron grammar KEDA accepts for `start` and `end`.
//!
//! KEDA parses both schedules with robfig/cron v3's
//! `NewParser(Minute | Hour | Dom | Month | Dow)` (no seconds field, no descriptors). This is a
//! hand-written parser with exactly that grammar and error texts, chosen over a crate (croner,
//! cron, saffron) because those accept syntax robfig rejects (`L`, `W`, `#`, `@daily`, seconds,
//! day-of-week `7`) and differ in day-of-month/day-of-week semantics; filtering their input first
//! would mean writing most of this parser anyway.
//!
//! What robfig v3 accepts, and so what this accepts:
//! - optional `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix: the schedule then runs in that zone
//!   instead of the trigger's `timezone` (an unknown zone fails here, at parse time);
//! - exactly 5 whitespace-separated fields: minute (0–59), hour (0–23), day of month (1–31),
//!   month (1–12 or `jan`–`dec`), day of week (0–6 or `sun`–`sat`; **`7` is rejected**);
//!   names are case-insensitive and allowed in ranges (`MON-FRI`);
//! - each field a `,` list (empty elements ignored) of `*`, `?` (same as `*`), `n`, `a-b`, each
//!   with an optional `/step`; `n/step` means `n-max/step`;
//! - numbers as Go's `strconv.Atoi` reads them: leading zeros and a leading `+` are accepted.
//!
//! Day rule (robfig `dayMatches`): if either day field is unrestricted (`*`/`?`, or `*/1`), a day
//! must match both fields; if both are restricted, a day matching either one is enough (classic
//! cron OR). `*/2` counts as restricted.

use super::window::{Zone, load_location};

/// Bit 63 marks a field written with `*`/`?` (robfig's `starBit`).
pub(crate) const STAR: u64 = 1 << 63;

/// A parsed schedule: one bit per allowed value, per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub(crate) minute: u64,
    pub(crate) hour: u64,
    pub(crate) dom: u64,
    pub(crate) month: u64,
    pub(crate) dow: u64,
    /// The zone from a `TZ=`/`CRON_TZ=` prefix; `None` → the trigger's timezone.
    pub(crate) location: Option<Zone>,
}

struct Bounds {
    min: u64,
    max: u64,
    names: &'static [&'static str],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
/// Month names map to 1..=12 (index + 1).
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// Weekday names map to 0..=6 (index).
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Schedule {
    /// Parses a schedule; the error text is robfig's (KEDA prefixes it with
    /// `error parsing start schedule: ` or `error parsing end schedule: `).
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec.is_empty() {
            return Err("empty spec string".to_string());
        }
        let mut spec = spec;
        let mut location = None;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let eq = spec.find('=').unwrap_or(0);
            // robfig slices up to the first space and panics when there is none; say so instead.
            let Some(space) = spec.find(' ') else {
                return Err(format!(
                    "provided bad location {}: no schedule after the time zone",
                    &spec[eq + 1..]
                ));
            };
            let name = &spec[eq + 1..space];
            let zone =
                load_location(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
            location = Some(zone);
            spec = spec[space..].trim();
        }
        if spec.starts_with('@') {
            return Err(format!("parser does not accept descriptors: {spec}"));
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            ));
        }
        Ok(Schedule {
            minute: field(fields[0], &MINUTES)?,
            hour: field(fields[1], &HOURS)?,
            dom: field(fields[2], &DOM)?,
            month: field(fields[3], &MONTHS)?,
            dow: field(fields[4], &DOW)?,
            location,
        })
    }

    pub(crate) fn has(bits: u64, value: u32) -> bool {
        value < 63 && bits & (1u64 << value) != 0
    }

    /// robfig's `dayMatches`: AND when either day field is a star, OR when both are restricted.
    pub(crate) fn day_matches(&self, day_of_month: u32, weekday_from_sunday: u32) -> bool {
        let dom = Self::has(self.dom, day_of_month);
        let dow = Self::has(self.dow, weekday_from_sunday);
        if self.dom & STAR != 0 || self.dow & STAR != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }
}

/// A `,`-separated list of ranges; empty elements are skipped (Go `strings.FieldsFunc`).
fn field(field: &str, b: &Bounds) -> Result<u64, String> {
    let mut bits = 0;
    for expr in field.split(',').filter(|e| !e.is_empty()) {
        bits |= range(expr, b)?;
    }
    Ok(bits)
}

/// `*` | `?` | `n` | `n-m`, each with an optional `/step`, checked in robfig's order.
fn range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut extra);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        // robfig ignores anything after `*-`, so `*-5` is a plain star.
        (start, end, extra) = (b.min, b.max, STAR);
    } else {
        start = int_or_name(low_and_high[0], b)?;
        end = match low_and_high.len() {
            1 => start,
            2 => int_or_name(low_and_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        extra = 0;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = atoi(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = 0u64;
    let mut i = start;
    while i <= end {
        bits |= 1 << i;
        i += step;
    }
    Ok(bits | extra)
}

fn int_or_name(expr: &str, b: &Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some(i) = b.names.iter().position(|n| *n == lower) {
        // Months are 1-based, weekdays 0-based: the first name is `min`.
        return Ok(i as u64 + b.min);
    }
    atoi(expr)
}

/// Go's `strconv.Atoi` followed by robfig's negative check.
fn atoi(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"
        ));
    }
    let n: i64 = expr.parse().map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"
        )
    })?;
    u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {expr}"))
}
