//! Pre-scaling: triggers that know ahead of time how many replicas must be Ready (`schedule`,
//! `mysql-calendar`). Such a trigger answers, for any instant, the [`Bounds`] it wants then —
//! a floor (the HPA's `minReplicas`) and optionally a ceiling (`maxReplicas`, for night caps) —
//! given the lead time the operator resolved for it ([`LeadTime`]: fixed, or `auto` from the
//! workload's measured pod start-up). The operator combines the bounds of all triggers (floors by
//! max, ceilings by min), writes them to the HPA, and shows the coming changes in status.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The trigger types that pre-scale (their live scalers answer [`crate::Scaler::lead_time`]),
/// for checks that only see a manifest.
pub const TRIGGER_TYPES: &[&str] = &["schedule", "mysql-calendar"];

/// A trigger's `leadTime`: how long before a window starts its capacity must be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadTime {
    Fixed(Duration),
    /// Measured pod start-up (p90 of recent starts) plus a margin, resolved by the operator.
    Auto,
}

impl LeadTime {
    /// Parses `leadTime`: `auto` or a Go duration (`90s`, `5m`, `1h30m`) or milliseconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        <Duration as crate::params::FromParam>::from_param(t)
            .map(Self::Fixed)
            .map_err(|_| format!("leadTime {t:?} is neither \"auto\" nor a duration such as 5m"))
    }

    /// The lead this rule uses, given what `auto` resolves to now.
    pub fn resolve(self, auto: Duration) -> Duration {
        match self {
            Self::Fixed(d) => d,
            Self::Auto => auto,
        }
    }
}

/// What a pre-scaling trigger wants at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounds {
    /// Replicas that must be in place (0 = no floor).
    pub floor: i64,
    /// The rule that sets the floor (a window line, a calendar's events).
    pub floor_rule: Option<String>,
    /// At most this many replicas (a night cap), or no cap.
    pub ceiling: Option<i64>,
    pub ceiling_rule: Option<String>,
    /// Which rule (index into the rules given to [`combined_at`]) sets the floor / the cap.
    pub floor_from: Option<usize>,
    pub ceiling_from: Option<usize>,
}

impl Bounds {
    /// Combines two triggers' bounds: floors by max, ceilings by min (the first rule named wins
    /// ties).
    pub fn combine(mut self, other: &Bounds) -> Bounds {
        if other.floor > self.floor {
            self.floor = other.floor;
            self.floor_rule = other.floor_rule.clone();
            self.floor_from = other.floor_from;
        }
        match (self.ceiling, other.ceiling) {
            (None, Some(_)) => {
                self.ceiling = other.ceiling;
                self.ceiling_rule = other.ceiling_rule.clone();
                self.ceiling_from = other.ceiling_from;
            }
            (Some(a), Some(b)) if b < a => {
                self.ceiling = Some(b);
                self.ceiling_rule = other.ceiling_rule.clone();
                self.ceiling_from = other.ceiling_from;
            }
            _ => {}
        }
        self
    }

    /// Whether the two want the same replica counts (rules aside).
    pub fn same_counts(&self, other: &Bounds) -> bool {
        self.floor == other.floor && self.ceiling == other.ceiling
    }
}

/// The instants in `[from, to]` at which a rule's bounds may change, sorted and deduplicated.
pub fn sorted_unique(mut times: Vec<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
    times.sort();
    times.dedup();
    times
}

/// A pre-scaling rule with the lead the operator resolved for it.
pub type Rule<'a> = (&'a dyn crate::Scaler, Duration);

/// The bounds of several rules combined at `at`.
pub fn combined_at(rules: &[Rule<'_>], at: DateTime<Utc>) -> Bounds {
    rules
        .iter()
        .enumerate()
        .fold(Bounds::default(), |acc, (i, (s, lead))| {
            let mut b = s.bounds_at(at, *lead);
            b.floor_from = (b.floor > 0).then_some(i);
            b.ceiling_from = b.ceiling.map(|_| i);
            acc.combine(&b)
        })
}

/// A coming change of the combined bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub bounds: Bounds,
}

/// The changes of the combined bounds after `from` up to `to`, at most `limit` of them.
pub fn plan(
    rules: &[Rule<'_>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
) -> Vec<Change> {
    let times = sorted_unique(
        rules
            .iter()
            .flat_map(|(s, lead)| s.change_times(from, to, *lead))
            .filter(|t| *t > from)
            .collect(),
    );
    let mut last = combined_at(rules, from);
    let mut out = Vec::new();
    for at in times {
        let b = combined_at(rules, at);
        if !b.same_counts(&last) {
            out.push(Change {
                at,
                bounds: b.clone(),
            });
            if out.len() >= limit {
                break;
            }
        }
        last = b;
    }
    out
}

/// `d` the way Go prints durations (`3m40s`, `1h0m0s`, `500ms`), for messages and status.
pub fn format_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".into();
    }
    if total_ms < 1000 {
        return format!("{total_ms}ms");
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let frac = d.subsec_millis();
    let s_text = if frac == 0 {
        format!("{s}s")
    } else {
        let digits = format!("{frac:03}");
        format!("{s}.{}s", digits.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => s_text,
        (0, m) => format!("{m}m{s_text}"),
        (h, m) => format!("{h}h{m}m{s_text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_scaling_types_are_registered() {
        for t in TRIGGER_TYPES {
            assert!(crate::registry::is_known(t), "{t}");
        }
    }

    #[test]
    fn lead_time_parses_auto_and_durations() {
        assert_eq!(LeadTime::parse("auto"), Ok(LeadTime::Auto));
        assert_eq!(
            LeadTime::parse("5m"),
            Ok(LeadTime::Fixed(Duration::from_secs(300)))
        );
        assert_eq!(
            LeadTime::parse("1h30m"),
            Ok(LeadTime::Fixed(Duration::from_secs(5400)))
        );
        assert!(LeadTime::parse("soon").unwrap_err().contains("\"soon\""));
        assert_eq!(
            LeadTime::Auto.resolve(Duration::from_secs(7)),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn floors_combine_by_max_and_ceilings_by_min() {
        let a = Bounds {
            floor: 5,
            floor_rule: Some("a".into()),
            ceiling: Some(8),
            ceiling_rule: Some("cap a".into()),
            ..Bounds::default()
        };
        let b = Bounds {
            floor: 9,
            floor_rule: Some("b".into()),
            ceiling: Some(3),
            ceiling_rule: Some("cap b".into()),
            ..Bounds::default()
        };
        let c = a.clone().combine(&b);
        assert_eq!((c.floor, c.floor_rule.as_deref()), (9, Some("b")));
        assert_eq!(
            (c.ceiling, c.ceiling_rule.as_deref()),
            (Some(3), Some("cap b"))
        );
        let d = Bounds::default().combine(&a);
        assert_eq!(d, a);
        assert!(a.clone().combine(&Bounds::default()).same_counts(&a));
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(format_duration(Duration::from_secs(220)), "3m40s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
