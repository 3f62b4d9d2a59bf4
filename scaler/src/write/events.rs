//! Kubernetes Events (events.k8s.io/v1) on ScaledObjects, with KEDA's reasons (spec §8.2).
//! Notes are built from secret-free texts and cut to the API's 1 kB limit.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// How long a recorder's series cache remembers an Event (kube-runtime's `CACHE_TTL`): an
/// object's recorder idle for longer holds nothing worth keeping.
const RECORDER_IDLE: Duration = Duration::from_secs(6 * 60);

/// How often idle recorders are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Publishes Events as the `prescale-operator` controller.
///
/// One kube-runtime [`Recorder`] per regarding object, dropped once idle: a single shared
/// recorder keeps every Event of the last 6 minutes in one map that it scans on every publish
/// and that never gives its capacity back (10,000 new ScaledObjects left ~60 MB and made each
/// publish walk 20,000 entries). Series are per object anyway (the recorder's key holds the
/// regarding object), so Events come out the same.
#[derive(Clone)]
pub struct Events {
    recorders: Arc<Mutex<Recorders>>,
    leader: Option<crate::leader::Leadership>,
}

struct Recorders {
    client: Client,
    reporter: Reporter,
    by_object: HashMap<String, (Recorder, Instant)>,
    swept: Instant,
}

impl Recorders {
    /// The recorder of `regarding`, made if new; idle ones are dropped now and then.
    fn of(&mut self, regarding: &ObjectReference) -> Recorder {
        let now = Instant::now();
        if now.duration_since(self.swept) > SWEEP_EVERY {
            self.by_object
                .retain(|_, (_, used)| now.duration_since(*used) < RECORDER_IDLE);
            self.by_object.shrink_to_fit();
            self.swept = now;
        }
        let key = regarding.uid.clone().unwrap_or_else(|| {
            format!(
                "{}/{}/{}",
                regarding.kind.as_deref().unwrap_or_default(),
                regarding.namespace.as_deref().unwrap_or_default(),
                regarding.name.as_deref().unwrap_or_default()
            )
        });
        let (client, reporter) = (&self.client, &self.reporter);
        let entry = self
            .by_object
            .entry(key)
            .or_insert_with(|| (Recorder::new(client.clone(), reporter.clone()), now));
        entry.1 = now;
        entry.0.clone()
    }
}

impl Events {
    pub fn new(client: Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: "prescale-operator".into(),
            instance,
        };
        Self {
            recorders: Arc::new(Mutex::new(Recorders {
                client,
                reporter,
                by_object: HashMap::new(),
                swept: Instant::now(),
            })),
            leader: None,
        }
    }

    /// Recorders held now (one per object with an Event in the last minutes).
    pub fn recorders(&self) -> usize {
        self.recorders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_object
            .len()
    }

    /// Events published only while `leader` holds the lease (followers run the same stages
    /// and must not publish them twice).
    pub fn led_by(mut self, leader: crate::leader::Leadership) -> Self {
        self.leader = Some(leader);
        self
    }

    /// The same publisher gated by the shard of the ScaledObject `namespace/name` (see
    /// [`crate::leader::Leadership::scoped`]).
    pub fn scoped(&self, namespace: &str, name: &str) -> Self {
        Self {
            recorders: self.recorders.clone(),
            leader: self.leader.as_ref().map(|l| l.scoped(namespace, name)),
        }
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
        let recorder = self
            .recorders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .of(regarding);
        if let Err(e) = recorder.publish(&ev, regarding).await {
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

    fn reference(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("ScaledObject".into()),
            namespace: Some("ns".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn one_recorder_per_object_dropped_once_idle() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let events = Events::new(Client::try_from(config).unwrap(), None);
        let mut r = events.recorders.lock().unwrap();
        r.of(&reference("a"));
        r.of(&reference("a"));
        r.of(&reference("b"));
        assert_eq!(r.by_object.len(), 2, "one recorder per object");
        // "a" idle for longer than the series cache remembers, the last sweep long ago
        let long_ago = Instant::now() - RECORDER_IDLE - Duration::from_secs(1);
        r.by_object.get_mut("uid-a").unwrap().1 = long_ago;
        r.of(&reference("c"));
        assert_eq!(r.by_object.len(), 3, "no sweep within a minute of the last");
        r.swept = Instant::now() - SWEEP_EVERY - Duration::from_secs(1);
        r.of(&reference("c"));
        let mut kept: Vec<_> = r.by_object.keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, ["uid-b", "uid-c"]);
    }

    #[test]
    fn notes_are_cut_on_char_boundaries() {
        assert_eq!(truncate("short".into(), 10), "short");
        let long = "é".repeat(600); // 1200 bytes
        let cut = truncate(long, MAX_NOTE);
        assert!(cut.len() <= MAX_NOTE && cut.ends_with("..."));
    }
}
