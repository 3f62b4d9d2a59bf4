//! What a poll loop runs from: the pure [`PollSpec`] the step decides with, and the
//! [`PollPlan`] that adds the live parts (connected triggers, the target reader).

use crate::api::ScaledObjectStatus;
use crate::scaling::fallback::Fallback;
use crate::scaling::pause::Pause;
use crate::target::{TargetReader, TargetRef};
use crate::trigger::LiveTrigger;
use chrono::{DateTime, Utc};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use super::evaluate::Modifiers;

/// A ScaledObject's scaling settings as the reconcile planned them: plain data, so the pure
/// step (and the simulator) can use it without a cluster.
#[derive(Debug, Clone)]
pub struct PollSpec {
    pub namespace: String,
    pub name: String,
    pub interval: Duration,
    pub fallback: Option<Fallback>,
    pub modifiers: Option<Modifiers>,
    /// `minReplicaCount` (0 when unset).
    pub min: i32,
    /// `maxReplicaCount`.
    pub max: i32,
    pub idle: Option<i32>,
    pub cooldown_period_s: i32,
    pub initial_cooldown_period_s: i32,
    /// The ScaledObject's creation (the initial cooldown counts from it).
    pub created: DateTime<Utc>,
    pub pause: Pause,
    pub target: TargetRef,
    /// Backend call timeout.
    pub call_timeout: Duration,
    /// The HPA as reconcile applied it; the loop re-applies it when pre-scaling moves its
    /// `minReplicas`/`maxReplicas`.
    pub hpa: HorizontalPodAutoscaler,
}

/// Everything a poll loop needs, built by the reconcile from a valid ScaledObject.
#[derive(Clone)]
pub struct PollPlan {
    pub spec: PollSpec,
    /// What the loop was built from (generation, auth parameters, resolved env): a different
    /// fingerprint replaces the loop.
    pub fingerprint: u64,
    pub triggers: Vec<LiveTrigger>,
    pub target: TargetReader,
    /// The pre-scaling plan computed last.
    pub plan_cache: Arc<Mutex<crate::prescaling::PlanCache>>,
    /// The last poll that kept the target active (the step's `last_active_seen`).
    pub last_active: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// The status a reconcile handed to this new loop instead of writing it (see [`Handover`]).
    pub handover: Handover,
}

/// The status (Ready=True and the reconcile's summary) the reconcile of an object becoming
/// Ready hands to the object's new poll loop instead of writing it: the loop's first poll runs
/// at once, starts from it instead of the cached object's status, and writes the two in one
/// status write (issue 11: one write fewer per new ScaledObject). It stays here until a write
/// of it went through (a failed write is retried by the next poll, and a poll that changes
/// nothing still writes it); while it does, the reconcile leaves the object alone (the write's
/// watch event reconciles it again).
#[derive(Clone, Default)]
pub struct Handover(Arc<Mutex<Option<ScaledObjectStatus>>>);

impl Handover {
    /// A hand-over of `status`.
    pub fn of(status: ScaledObjectStatus) -> Self {
        Self(Arc::new(Mutex::new(Some(status))))
    }

    /// The status handed over and not written yet.
    pub fn pending(&self) -> Option<ScaledObjectStatus> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether a handed-over status waits for its write.
    pub fn is_pending(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// A write that included the handed-over status went through.
    pub fn written(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
