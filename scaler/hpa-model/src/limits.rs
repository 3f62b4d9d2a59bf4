//! Limits after stabilisation: the HPA's bounds and how fast it may move.
//!
//! **Legacy path** (`convertDesiredReplicasWithRules`): below `minReplicas` → min
//! (TooFewReplicas); above `min(maxReplicas, max(2 × current, 4))` → that (ScaleUpLimit when
//! the doubling rule is the tighter one, TooManyReplicas when `maxReplicas` is). There is no
//! rate limit on the way down.
//!
//! **Behavior path** (`convertDesiredReplicasWithBehaviorRate`): each policy allows a change
//! relative to the replicas at the start of its period, `periodStart = current − (scale-ups
//! within periodSeconds) + (scale-downs within periodSeconds)`. Up: Pods → periodStart + value,
//! Percent → ceil(periodStart × (1 + value/100)); down: Pods → periodStart − value, Percent →
//! trunc(periodStart × (1 − value/100)). `selectPolicy` Max takes the policy allowing the
//! largest change, Min the smallest, Disabled none. A limit that would move against the
//! direction is replaced by the current count; the result is then bounded by `maxReplicas`
//! (up) or `minReplicas` (down) with TooManyReplicas/TooFewReplicas when the bound is tighter.
//!
//! Arithmetic is `int32` with Go's wrapping and float conversions where the controller has
//! them, so extreme policies land where the controller lands.

use crate::behavior::{PolicyKind, Resolved, Rules, SelectPolicy};
use crate::history::{History, change_within};
use crate::outcome::Reason;

/// The legacy clamp: the limited count and the ScalingLimited reason.
pub(crate) fn legacy(current: i32, desired: i32, min: i32, max: i32) -> (i32, Reason) {
    let doubling = (2.0 * f64::from(current)).max(4.0) as i32;
    let (upper, upper_reason) = if max > doubling {
        (doubling, Reason::ScaleUpLimit)
    } else {
        (max, Reason::TooManyReplicas)
    };
    if desired < min {
        (min, Reason::TooFewReplicas)
    } else if desired > upper {
        (upper, upper_reason)
    } else {
        (desired, Reason::DesiredWithinRange)
    }
}

/// The behavior path's rate limits and bounds: the limited count and the reason.
pub(crate) fn with_behavior(
    rules: &Resolved,
    history: &History,
    current: i32,
    desired: i32,
    (min, max): (i32, i32),
    now_ms: i64,
) -> (i32, Reason) {
    if desired > current {
        let limit = up_limit(&rules.up, history, current, now_ms).max(current);
        let (allowed, reason) = if max > limit {
            (limit, Reason::ScaleUpLimit)
        } else {
            (max, Reason::TooManyReplicas)
        };
        if desired > allowed {
            return (allowed, reason);
        }
    } else if desired < current {
        let limit = down_limit(&rules.down, history, current, now_ms).min(current);
        let (allowed, reason) = if min < limit {
            (limit, Reason::ScaleDownLimit)
        } else {
            (min, Reason::TooFewReplicas)
        };
        if desired < allowed {
            return (allowed, reason);
        }
    }
    (desired, Reason::DesiredWithinRange)
}

/// The replicas at the start of a policy's period.
fn period_start(history: &History, current: i32, period_seconds: i32, now_ms: i64) -> i32 {
    let added = change_within(&history.scale_up_events, period_seconds, now_ms);
    let removed = change_within(&history.scale_down_events, period_seconds, now_ms);
    current.wrapping_sub(added).wrapping_add(removed)
}

/// `calculateScaleUpLimitWithScalingRules`.
fn up_limit(rules: &Rules, history: &History, current: i32, now_ms: i64) -> i32 {
    let pick: fn(i32, i32) -> i32 = match rules.select {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => i32::min,
        SelectPolicy::Max => i32::max,
    };
    let mut result = if rules.select == SelectPolicy::Min {
        i32::MAX
    } else {
        i32::MIN
    };
    for p in &rules.policies {
        let start = period_start(history, current, p.period_seconds, now_ms);
        let proposed = match p.kind {
            PolicyKind::Pods => start.wrapping_add(p.value),
            PolicyKind::Percent => {
                (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`.
fn down_limit(rules: &Rules, history: &History, current: i32, now_ms: i64) -> i32 {
    let pick: fn(i32, i32) -> i32 = match rules.select {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => i32::max,
        SelectPolicy::Max => i32::min,
    };
    let mut result = if rules.select == SelectPolicy::Min {
        i32::MIN
    } else {
        i32::MAX
    };
    for p in &rules.policies {
        let start = period_start(history, current, p.period_seconds, now_ms);
        let proposed = match p.kind {
            PolicyKind::Pods => start.wrapping_sub(p.value),
            PolicyKind::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
        };
        result = pick(result, proposed);
    }
    result
}
