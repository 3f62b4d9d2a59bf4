//! Stabilisation: damping the raw recommendation with the recent ones.
//!
//! **Legacy path** (no `behavior`, `stabilizeRecommendation`): the result is the maximum of
//! the new recommendation and every record not older than the downscale window (a record
//! exactly at the cutoff still counts). Scale-up is immediate; scale-down waits until the
//! higher recommendations age out.
//!
//! **Behavior path** (`stabilizeRecommendationWithBehaviors`): two limits, the minimum of the
//! records strictly newer than `now − upWindow` and the maximum of those strictly newer than
//! `now − downWindow`, each including the new recommendation. Starting from the current
//! replicas, the result moves up to the first limit if below it and down to the second if
//! above it, so within both windows the replicas hold unless every recent recommendation
//! agrees on the direction.
//!
//! Both record the raw recommendation afterwards (see [`History::record`]).

use crate::history::History;

/// AbleToScale reasons of the stabilisation step.
pub const READY_FOR_NEW_SCALE: &str = "ReadyForNewScale";
pub const SCALE_UP_STABILIZED: &str = "ScaleUpStabilized";
pub const SCALE_DOWN_STABILIZED: &str = "ScaleDownStabilized";

/// The legacy stabilisation; returns the stabilised count and the AbleToScale reason.
pub(crate) fn legacy(
    history: &mut History,
    raw: i32,
    now_ms: i64,
    window_s: i64,
) -> (i32, &'static str) {
    let cutoff = now_ms - window_s * 1000;
    let mut stabilized = raw;
    let mut old = None;
    for (i, rec) in history.recommendations.iter().enumerate() {
        if rec.at_ms < cutoff {
            old = Some(i);
        } else {
            stabilized = stabilized.max(rec.replicas);
        }
    }
    history.record(old, raw, now_ms);
    let reason = if stabilized != raw {
        SCALE_DOWN_STABILIZED
    } else {
        READY_FOR_NEW_SCALE
    };
    (stabilized, reason)
}

/// The behavior path's stabilisation with the two windows in ms; returns the stabilised count
/// and the AbleToScale reason.
pub(crate) fn with_behavior(
    history: &mut History,
    raw: i32,
    current: i32,
    now_ms: i64,
    up_window_ms: i64,
    down_window_ms: i64,
) -> (i32, &'static str) {
    let up_cutoff = now_ms - up_window_ms;
    let down_cutoff = now_ms - down_window_ms;
    let mut up_limit = raw;
    let mut down_limit = raw;
    let mut old = None;
    for (i, rec) in history.recommendations.iter().enumerate() {
        if rec.at_ms > up_cutoff {
            up_limit = up_limit.min(rec.replicas);
        }
        if rec.at_ms > down_cutoff {
            down_limit = down_limit.max(rec.replicas);
        }
        if rec.at_ms < up_cutoff && rec.at_ms < down_cutoff {
            old = Some(i);
        }
    }
    let mut stabilized = current;
    if stabilized < up_limit {
        stabilized = up_limit;
    }
    if stabilized > down_limit {
        stabilized = down_limit;
    }
    history.record(old, raw, now_ms);
    let reason = if stabilized == raw {
        READY_FOR_NEW_SCALE
    } else if raw >= current {
        SCALE_UP_STABILIZED
    } else {
        SCALE_DOWN_STABILIZED
    };
    (stabilized, reason)
}
