//! Kubernetes Events (events.k8s.io/v1) on ScaledObjects, with KEDA's reasons (spec §8.2).
//! Notes are built from secret-free texts and cut to the API's 1 kB limit.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

pub const SCALED_OBJECT_READY: &str = "ScaledObjectReady";
pub const SCALED_OBJECT_CHECK_FAILED: &str = "ScaledObjectCheckFailed";
pub const SCALED_OBJECT_DELETED: &str = "ScaledObjectDeleted";
pub const SCALED_OBJECT_PAUSED: &str = "ScaledObjectPaused";
pub const SCALED_OBJECT_UNPAUSED: &str = "ScaledObjectUnpaused";
pub const FALLBACK_ACTIVATED: &str = "ScaledObjectFallbackActivated";
pub const FALLBACK_DEACTIVATED: &str = "ScaledObjectFallbackDeactivated";
pub const SCALERS_STARTED: &str = "KEDAScalersStarted";
pub const SCALERS_STOPPED: &str = "KEDAScalersStopped";
pub const SCALER_FAILED: &str = "KEDAScalerFailed";
pub const TARGET_ACTIVATED: &str = "KEDAScaleTargetActivated";
pub const TARGET_DEACTIVATED: &str = "KEDAScaleTargetDeactivated";
pub const TARGET_ACTIVATION_FAILED: &str = "KEDAScaleTargetActivationFailed";
pub const TARGET_DEACTIVATION_FAILED: &str = "KEDAScaleTargetDeactivationFailed";
pub const SCALER_INFO: &str = "KEDAScalerInfo";
/// Prescale's own: a pre-scaling floor raised the HPA's minReplicas.
pub const PRE_SCALING_FLOOR_RAISED: &str = "PreScalingFloorRaised";
/// Prescale's own: the floor went back to the ScaledObject's minimum (or a lower floor).
pub const PRE_SCALING_FLOOR_RESTORED: &str = "PreScalingFloorRestored";
/// Prescale's own: a cap lowered (or lifted) the HPA's maxReplicas.
pub const PRE_SCALING_CAP_CHANGED: &str = "PreScalingCapChanged";
/// Prescale's own: the target was scaled up to a floor at once.
pub const PRE_SCALED_TARGET: &str = "PreScaledTarget";

/// The longest note the Events API accepts.
const MAX_NOTE: usize = 1024;

/// Publishes Events as the `prescale-operator` controller.
#[derive(Clone)]
pub struct Events {
    recorder: std::sync::Arc<Recorder>,
    leader: Option<crate::leader::Leadership>,
}

impl Events {
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: "prescale-operator".into(),
            instance,
        };
        Self {
            recorder: std::sync::Arc::new(Recorder::new(client, reporter)),
            leader: None,
        }
    }

    /// Events published only while `leader` holds the lease (followers run the same stages
    /// and must not publish them twice).
    pub fn led_by(mut self, leader: crate::leader::Leadership) -> Self {
        self.leader = Some(leader);
        self
    }

    /// A Normal event.
    pub async fn normal(&self, regarding: &ObjectReference, reason: &str, note: impl Into<String>) {
        self.publish(regarding, EventType::Normal, reason, note.into())
            .await;
    }

    /// A Normal event with its own `action`: Events with the same reason but a different
    /// action are not folded into one series (whose note would keep the first text).
    pub async fn normal_with_action(
        &self,
        regarding: &ObjectReference,
        reason: &str,
        action: String,
        note: impl Into<String>,
    ) {
        self.publish_as(regarding, EventType::Normal, reason, action, note.into())
            .await;
    }

    /// A Warning event.
    pub async fn warning(
        &self,
        regarding: &ObjectReference,
        reason: &str,
        note: impl Into<String>,
    ) {
        self.publish(regarding, EventType::Warning, reason, note.into())
            .await;
    }

    async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        self.publish_as(regarding, type_, reason, reason.to_string(), note)
            .await
    }

    async fn publish_as(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: String,
        note: String,
    ) {
        if self.leader.as_ref().is_some_and(|l| !l.is_leader()) {
            return;
        }
        let ev = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, MAX_NOTE)),
            action: truncate(action, 128),
            secondary: None,
        };
        // An Event that cannot be written must not fail the reconcile; say so in the log.
        if let Err(e) = self.recorder.publish(&ev, regarding).await {
            tracing::warn!(reason, error = %e, "could not publish event");
        }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_on_char_boundaries() {
        assert_eq!(truncate("short".into(), 10), "short");
        let long = "é".repeat(600); // 1200 bytes
        let cut = truncate(long, MAX_NOTE);
        assert!(cut.len() <= MAX_NOTE && cut.ends_with("..."));
    }
}
