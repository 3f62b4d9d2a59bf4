//! The controller's memory of one HPA: timestamped raw recommendations and the scale-up and
//! scale-down events it made.
//!
//! It lives only in controller memory (`horizontal.go` keeps three maps keyed by the HPA), so
//! it is lost when the controller restarts or the HPA is re-created; the first sync after
//! that seeds one recommendation equal to the current spec replicas, which is why a new HPA
//! does not scale down for its first downscale window.
//!
//! Both lists reuse old slots instead of growing without end: a new recommendation replaces
//! the *last* record that is older than every window in use, a new scale event replaces the
//! last event older than its direction's longest policy period; otherwise they are appended.

use serde::{Deserialize, Serialize};

/// What the controller remembers about one HPA between syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    #[serde(default)]
    pub scale_up_events: Vec<ScaleEvent>,
    #[serde(default)]
    pub scale_down_events: Vec<ScaleEvent>,
}

/// One raw (unstabilised) recommendation and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub at_ms: i64,
    pub replicas: i32,
}

/// One rescale: when, and by how many replicas (always positive, |new − old|).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleEvent {
    pub at_ms: i64,
    pub change: i32,
}

impl History {
    /// The first sync's seed (`recordInitialRecommendation`): the current spec replicas.
    pub(crate) fn seed(&mut self, spec_replicas: i32, now_ms: i64) {
        if self.recommendations.is_empty() {
            self.recommendations.push(Recommendation {
                at_ms: now_ms,
                replicas: spec_replicas,
            });
        }
    }

    /// Stores a recommendation in slot `reuse` (an old record) or at the end.
    pub(crate) fn record(&mut self, reuse: Option<usize>, replicas: i32, now_ms: i64) {
        let rec = Recommendation {
            at_ms: now_ms,
            replicas,
        };
        match reuse {
            Some(i) => self.recommendations[i] = rec,
            None => self.recommendations.push(rec),
        }
    }

    /// Stores the rescale `from → to` (`storeScaleEvent`), reusing the last event older than
    /// `longest_period_ms` of that direction.
    pub(crate) fn store_event(&mut self, from: i32, to: i32, longest_period_ms: i64, now_ms: i64) {
        let (events, change) = if to > from {
            (&mut self.scale_up_events, to.wrapping_sub(from))
        } else {
            (&mut self.scale_down_events, from.wrapping_sub(to))
        };
        let cutoff = now_ms - longest_period_ms;
        let event = ScaleEvent {
            at_ms: now_ms,
            change,
        };
        match events.iter().rposition(|e| e.at_ms < cutoff) {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}

/// The replicas changed by `events` strictly newer than `period_seconds` ago
/// (`getReplicasChangePerPeriod`).
pub(crate) fn change_within(events: &[ScaleEvent], period_seconds: i32, now_ms: i64) -> i32 {
    let cutoff = now_ms - i64::from(period_seconds) * 1000;
    events
        .iter()
        .filter(|e| e.at_ms > cutoff)
        .fold(0i32, |sum, e| sum.wrapping_add(e.change))
}
