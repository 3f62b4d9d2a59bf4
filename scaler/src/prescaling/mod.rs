//! Ready by T: the operator's half of pre-scaling. Pre-scaling triggers (`schedule`,
//! `mysql-calendar`; see `prescale_scalers::prescale`) say which floor and cap they want at any
//! instant given a lead time. Each poll this module
//!
//! 1. resolves every rule's lead (`leadTime: 5m`, or `auto` = p90 of the workload's measured pod
//!    start-ups plus a margin, [`startup`]);
//! 2. combines the rules' bounds now (floors by max, caps by min) and turns them into the HPA's
//!    `minReplicas`/`maxReplicas` (ScaledObject bounds always win);
//! 3. applies them to the HPA (server-side apply, only when they differ), so the HPA enforces
//!    them at its next sync, exactly, with no tolerance band and no stabilisation delay; a floor
//!    that rises above the current replicas also scales the target at once;
//! 4. reports: `status.preScaling` (bounds now, leads, the next changes), the `PreScaling`
//!    condition, Events, and metrics.
//!
//! Scale-back after a window follows the HPA's `behavior` (a `scaleDown` policy makes it
//! gradual). A source that fails keeps its last known events, so a floor in force is not
//! dropped during its window.

pub mod startup;

use crate::api::{LeadTimeStatus, PlannedChange, PreScalingStatus, ScaledObject};
use crate::trigger::LiveTrigger;
use chrono::{DateTime, Utc};
use prescale_scalers::prescale::{self, Bounds, LeadTime, Rule};
use startup::{LeadSettings, PodStartups};
use std::time::Duration;

/// Floors rise this much before their instant, so a poll that lands a moment late still has
/// them in place at `start − lead`.
pub const LOOKAHEAD: Duration = Duration::from_secs(2);
/// How far ahead the plan in status looks, and how many changes it lists.
pub const PLAN_HORIZON_HOURS: i64 = 48;
pub const PLAN_LIMIT: usize = 10;

/// One pre-scaling trigger with its lead resolved.
#[derive(Debug, Clone)]
pub struct ResolvedRule {
    /// Position in the ScaledObject's `triggers`.
    pub trigger_index: usize,
    pub lead: Duration,
    /// How the lead was found (`leadTime 10m`, `leadTime auto = 3m40s from 20 starts ...`).
    pub source: String,
}

/// `namespace/Kind/name` of a target (the key of its measured start-ups).
pub fn workload_key(t: &crate::target::TargetRef) -> String {
    format!("{}/{}/{}", t.namespace, t.resource.kind, t.name)
}

/// Whether any trigger pre-scales.
pub fn any(triggers: &[LiveTrigger]) -> bool {
    triggers.iter().any(|t| t.scaler.lead_time().is_some())
}

/// Whether any trigger pre-scales with `leadTime: auto`.
pub fn needs_startups(triggers: &[LiveTrigger]) -> bool {
    triggers
        .iter()
        .any(|t| t.scaler.lead_time() == Some(LeadTime::Auto))
}

/// Resolves the lead of every pre-scaling trigger, in trigger order.
pub fn resolve(
    triggers: &[LiveTrigger],
    startups: &PodStartups,
    workload: &str,
    settings: &LeadSettings,
) -> Vec<(usize, ResolvedRule)> {
    triggers
        .iter()
        .enumerate()
        .filter_map(|(pos, t)| {
            let lt = t.scaler.lead_time()?;
            let (lead, source) = match lt {
                LeadTime::Fixed(d) => (d, format!("leadTime {}", prescale::format_duration(d))),
                LeadTime::Auto => {
                    let a = startups.lead(workload, settings);
                    (a.lead, a.describe(settings.margin))
                }
            };
            Some((
                pos,
                ResolvedRule {
                    trigger_index: t.index,
                    lead,
                    source,
                },
            ))
        })
        .collect()
}

fn rules<'a>(triggers: &'a [LiveTrigger], resolved: &[(usize, ResolvedRule)]) -> Vec<Rule<'a>> {
    resolved
        .iter()
        .map(|(pos, r)| (triggers[*pos].scaler.as_ref(), r.lead))
        .collect()
}

/// The combined bounds now; floors looked up [`LOOKAHEAD`] ahead as well.
pub fn bounds_now(
    triggers: &[LiveTrigger],
    resolved: &[(usize, ResolvedRule)],
    now: DateTime<Utc>,
) -> Bounds {
    let rules = rules(triggers, resolved);
    let mut b = prescale::combined_at(&rules, now);
    let ahead = prescale::combined_at(
        &rules,
        now + chrono::Duration::from_std(LOOKAHEAD).unwrap_or_default(),
    );
    if ahead.floor > b.floor {
        b.floor = ahead.floor;
        b.floor_rule = ahead.floor_rule;
        b.floor_from = ahead.floor_from;
    }
    b
}

/// Every pre-scaling rule's lead resolved for `target`, and the combined bounds at `now`: what
/// the reconcile and each poll start from.
pub fn evaluate(
    triggers: &[LiveTrigger],
    target: &crate::target::TargetRef,
    startups: &PodStartups,
    settings: &LeadSettings,
    now: DateTime<Utc>,
) -> (Vec<(usize, ResolvedRule)>, Bounds) {
    let resolved = resolve(triggers, startups, &workload_key(target), settings);
    let b = bounds_now(triggers, &resolved, now);
    (resolved, b)
}

/// The pre-scaling state of one poll: the bounds in force now and the HPA bounds they mean,
/// the status block (with the coming changes) and the `PreScaling` condition.
#[derive(Debug, Clone)]
pub struct PreScaleNow {
    pub bounds: Bounds,
    /// The HPA's `(minReplicas, maxReplicas)` under `bounds`.
    pub want: (i32, i32),
    pub status: PreScalingStatus,
    /// The `PreScaling` condition: (status, reason, message).
    pub condition: (&'static str, &'static str, String),
    /// The lead of the rule that sets the floor (else the first rule's).
    pub lead: Duration,
    /// How the floor's lead was found, for Event notes ("" without a floor).
    pub lead_note: String,
}

/// Everything pre-scaling says at `now`, or `None` when no trigger pre-scales.
pub fn now(
    so: &ScaledObject,
    triggers: &[LiveTrigger],
    target: &crate::target::TargetRef,
    startups: &PodStartups,
    settings: &LeadSettings,
    now: DateTime<Utc>,
    cache: &std::sync::Mutex<PlanCache>,
) -> Option<PreScaleNow> {
    if !any(triggers) {
        return None;
    }
    let (resolved, b) = evaluate(triggers, target, startups, settings, now);
    let floor_rule = b.floor_from.and_then(|i| resolved.get(i));
    let lead = floor_rule
        .or(resolved.first())
        .map_or(Duration::ZERO, |(_, r)| r.lead);
    let lead_note = floor_rule
        .map(|(_, r)| r.source.clone())
        .unwrap_or_default();
    let changes = next_changes(so, triggers, &resolved, now, cache);
    Some(PreScaleNow {
        want: hpa_bounds(so, &b),
        status: status(so, &resolved, &b, changes),
        condition: condition(so, &b, &resolved),
        bounds: b,
        lead,
        lead_note,
    })
}

/// The HPA's `(minReplicas, maxReplicas)` under `b`: the floor raises the ScaledObject's own
/// minimum (at least 1) but never above `maxReplicaCount`; a cap lowers `maxReplicaCount` but
/// never below the minimum in force (a known event beats a night cap).
pub fn hpa_bounds(so: &ScaledObject, b: &Bounds) -> (i32, i32) {
    bounds_within(so.spec.min_replica_count(), so.spec.max_replica_count(), b)
}

/// [`hpa_bounds`] for a ScaledObject with `minReplicaCount` `min` and `maxReplicaCount` `max`.
pub fn bounds_within(min: i32, max: i32, b: &Bounds) -> (i32, i32) {
    let max = max.max(1);
    let base = min.max(1).min(max);
    let floor = i32::try_from(b.floor).unwrap_or(i32::MAX);
    let min = base.max(floor).min(max);
    let max_eff = match b.ceiling {
        Some(c) => i32::try_from(c).unwrap_or(i32::MAX).min(max).max(min),
        None => max,
    };
    (min, max_eff)
}

/// The coming changes of the HPA bounds after `from` up to `to`, at most `limit`; changes the
/// ScaledObject's own bounds absorb are left out. A change names the rule that sets the floor
/// from then on (or the cap, when only a cap holds) and that rule's lead.
pub fn planned_changes(
    so: &ScaledObject,
    rules: &[Rule<'_>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
) -> Vec<PlannedChange> {
    let mut last = hpa_bounds(so, &prescale::combined_at(rules, from));
    // a generous raw limit: some raw changes vanish in the ScaledObject's bounds
    prescale::plan(rules, from, to, limit.saturating_mul(4))
        .into_iter()
        .filter_map(|c| {
            let (min, max) = hpa_bounds(so, &c.bounds);
            let changed = (min, max) != last;
            last = (min, max);
            let rule = c
                .bounds
                .floor_rule
                .clone()
                .or(c.bounds.ceiling_rule.clone());
            let lead = c
                .bounds
                .floor_from
                .and_then(|i| rules.get(i))
                .map(|(_, l)| prescale::format_duration(*l));
            changed.then(|| PlannedChange {
                time: crate::time::time_of(c.at),
                min_replicas: min,
                max_replicas: max,
                rule,
                lead_time: lead,
            })
        })
        .take(limit)
        .collect()
}

/// The plan a poll loop computed last, reused while it is younger than [`PLAN_TTL_SECONDS`],
/// its leads are unchanged and its first change is still ahead (walking recurring windows
/// minute by minute over 48 hours is not free).
#[derive(Debug, Default)]
pub struct PlanCache {
    computed: Option<DateTime<Utc>>,
    leads: Vec<Duration>,
    changes: Vec<PlannedChange>,
    /// How long a plan is reused; `None`: [`PLAN_TTL_SECONDS`].
    ttl_seconds: Option<i64>,
}

pub const PLAN_TTL_SECONDS: i64 = 60;

impl PlanCache {
    /// A cache whose plan is reused for `ttl_seconds` (while its first change is ahead and the
    /// leads hold). A simulation replaying days passes a long one: the bounds never come from
    /// the plan, only the status list and the next wake-up, which the first change decides.
    pub fn with_ttl(ttl_seconds: i64) -> Self {
        Self {
            ttl_seconds: Some(ttl_seconds),
            ..Self::default()
        }
    }
}

/// The next changes from `now` for the status, from `cache` when it still holds.
pub fn next_changes(
    so: &ScaledObject,
    triggers: &[LiveTrigger],
    resolved: &[(usize, ResolvedRule)],
    now: DateTime<Utc>,
    cache: &std::sync::Mutex<PlanCache>,
) -> Vec<PlannedChange> {
    // changes within the lookahead are already in force
    let from = now + chrono::Duration::from_std(LOOKAHEAD).unwrap_or_default();
    let leads: Vec<Duration> = resolved.iter().map(|(_, r)| r.lead).collect();
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    let ttl = c.ttl_seconds.unwrap_or(PLAN_TTL_SECONDS);
    let fresh = c
        .computed
        .is_some_and(|t| t <= now && (now - t).num_seconds() < ttl)
        && c.leads == leads
        && c.changes
            .first()
            .and_then(|f| crate::time::chrono_of(&f.time))
            .is_none_or(|f| f > from);
    if !fresh {
        let rules = rules(triggers, resolved);
        c.changes = planned_changes(
            so,
            &rules,
            from,
            now + chrono::Duration::hours(PLAN_HORIZON_HOURS),
            PLAN_LIMIT,
        );
        c.computed = Some(now);
        c.leads = leads;
    }
    c.changes.clone()
}

/// `status.preScaling` for the bounds now and the coming changes.
pub fn status(
    so: &ScaledObject,
    resolved: &[(usize, ResolvedRule)],
    b: &Bounds,
    next_changes: Vec<PlannedChange>,
) -> PreScalingStatus {
    let (min, max) = hpa_bounds(so, b);
    PreScalingStatus {
        min_replicas: min,
        max_replicas: max,
        floor_rule: b.floor_rule.clone(),
        ceiling_rule: b.ceiling_rule.clone(),
        lead_times: resolved
            .iter()
            .map(|(_, r)| LeadTimeStatus {
                trigger_index: r.trigger_index as i32,
                lead_time: prescale::format_duration(r.lead),
                source: r.source.clone(),
            })
            .collect(),
        next_changes,
    }
}

/// The `PreScaling` condition: (status, reason, message).
pub fn condition(
    so: &ScaledObject,
    b: &Bounds,
    resolved: &[(usize, ResolvedRule)],
) -> (&'static str, &'static str, String) {
    let (min, max) = hpa_bounds(so, b);
    let base = so.spec.min_replica_count().max(1);
    let so_max = so.spec.max_replica_count().max(1);
    let lead = b
        .floor_from
        .and_then(|i| resolved.get(i))
        .map(|(_, r)| r.source.clone())
        .unwrap_or_default();
    if min > base {
        let rule = b.floor_rule.as_deref().unwrap_or("a pre-scaling rule");
        let capped = if i64::from(min) < b.floor {
            format!(" (floor {} capped by maxReplicaCount)", b.floor)
        } else {
            String::new()
        };
        (
            "True",
            "FloorRaised",
            format!("minReplicas raised from {base} to {min}{capped} by {rule}; {lead}"),
        )
    } else if max < so_max {
        let rule = b.ceiling_rule.as_deref().unwrap_or("a pre-scaling rule");
        (
            "True",
            "Capped",
            format!("maxReplicas lowered from {so_max} to {max} by {rule}"),
        )
    } else {
        (
            "False",
            "NoFloor",
            format!("no pre-scaling window holds; minReplicas is {base}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn so(min: i32, max: i32) -> ScaledObject {
        serde_json::from_value(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {"scaleTargetRef": {"name": "a"}, "minReplicaCount": min, "maxReplicaCount": max, "triggers": []}}))
        .unwrap()
    }

    fn b(floor: i64, ceiling: Option<i64>) -> Bounds {
        Bounds {
            floor,
            ceiling,
            ..Bounds::default()
        }
    }

    #[test]
    fn scaled_object_bounds_always_win() {
        assert_eq!(
            hpa_bounds(&so(0, 20), &b(0, None)),
            (1, 20),
            "min 0 maps to HPA min 1"
        );
        assert_eq!(hpa_bounds(&so(2, 20), &b(7, None)), (7, 20));
        assert_eq!(
            hpa_bounds(&so(2, 20), &b(50, None)),
            (20, 20),
            "never above maxReplicaCount"
        );
        assert_eq!(
            hpa_bounds(&so(5, 20), &b(3, None)),
            (5, 20),
            "a lower floor changes nothing"
        );
        assert_eq!(hpa_bounds(&so(1, 20), &b(0, Some(3))), (1, 3), "night cap");
        assert_eq!(
            hpa_bounds(&so(1, 20), &b(8, Some(3))),
            (8, 8),
            "a floor beats a cap"
        );
        assert_eq!(
            hpa_bounds(&so(4, 20), &b(0, Some(2))),
            (4, 4),
            "never below minReplicaCount"
        );
        assert_eq!(hpa_bounds(&so(1, 20), &b(0, Some(90))), (1, 20));
    }

    #[test]
    fn the_condition_says_what_holds() {
        let mut bb = b(50, None);
        bb.floor_rule = Some("2026-11-27T00:00/2026-11-27T02:00=50".into());
        let (s, r, m) = condition(&so(2, 30), &bb, &[]);
        assert_eq!((s, r), ("True", "FloorRaised"));
        assert!(m.starts_with("minReplicas raised from 2 to 30 (floor 50 capped by maxReplicaCount) by 2026-11-27T00:00/2026-11-27T02:00=50"), "{m}");
        let (s, r, _) = condition(&so(2, 30), &b(0, Some(4)), &[]);
        assert_eq!((s, r), ("True", "Capped"));
        let (s, r, m) = condition(&so(2, 30), &b(0, None), &[]);
        assert_eq!(
            (s, r, m.as_str()),
            (
                "False",
                "NoFloor",
                "no pre-scaling window holds; minReplicas is 2"
            )
        );
    }
}
