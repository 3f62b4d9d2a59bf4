//! Kubernetes Events (events.k8s.io/v1) on ScaledObjects, with KEDA's reasons (spec §8.2).
//! Notes are built from secret-free texts and cut to the API's 1 kB limit.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
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

/// How long an Event is remembered to continue its series (client-go's and kube-runtime's
/// 6 minutes): the same Event again within that time counts up the first one's `series`
/// instead of making a new Event.
const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

/// The controller Events are reported as (`reportingController`).
const CONTROLLER: &str = "prescale-operator";

/// How often series older than [`SERIES_TTL`] are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Publishes Events (events.k8s.io/v1) as the `prescale-operator` controller, folding a
/// repeat into the first Event's `series` as client-go's recorder does: an Event is the same
/// as an earlier one when its regarding object, type, reason and action are (the note is not
/// compared: the series keeps the first note, so callers give differing texts their own
/// action).
///
/// Written here rather than with kube-runtime's `Recorder` for memory (issue 11): that
/// recorder remembers every Event of the last 6 minutes as a whole `Event` struct with its
/// key (~1.4 KB each, ~5.8 KB per object in a hash table sized for four), which at 10,000
/// new ScaledObjects held ~58 MB. What a series needs is the Event's name, namespace and
/// count: ~100 bytes.
#[derive(Clone)]
pub struct Events {
    recorder: Arc<Mutex<Series>>,
    client: Client,
    /// `reportingInstance` (default: the controller's name).
    instance: String,
    leader: Option<crate::leader::Leadership>,
}

/// An Event to publish.
struct Draft<'a> {
    type_: EventType,
    reason: &'a str,
    action: String,
    note: String,
}

/// The Events of the last [`SERIES_TTL`], by key.
struct Series {
    by_key: HashMap<String, Seen>,
    swept: Instant,
}

/// An Event published earlier: enough to count up its series (its namespace is its regarding
/// object's, see [`events_namespace`]).
#[derive(Clone)]
struct Seen {
    name: String,
    count: i32,
    last: Instant,
}

impl Series {
    /// The Event `key` names, if it was published within [`SERIES_TTL`] of `now`; series
    /// older than that are forgotten now and then.
    fn lookup(&mut self, key: &str, now: Instant) -> Option<Seen> {
        if now.duration_since(self.swept) > SWEEP_EVERY {
            self.by_key
                .retain(|_, s| now.duration_since(s.last) < SERIES_TTL);
            self.by_key.shrink_to_fit();
            self.swept = now;
        }
        self.by_key
            .get(key)
            .filter(|s| now.duration_since(s.last) < SERIES_TTL)
            .cloned()
    }
}

/// The series key of an Event: its regarding object, type, reason and action.
fn series_key(regarding: &ObjectReference, type_: EventType, reason: &str, action: &str) -> String {
    format!(
        "{}{}\n{reason}\n{action}",
        object_key(regarding),
        type_.as_str()
    )
}

/// The part of a series key that names the regarding object (ends with a line break).
fn object_key(r: &ObjectReference) -> String {
    format!(
        "{}/{}/{}/{}/{}\n",
        r.api_version.as_deref().unwrap_or_default(),
        r.kind.as_deref().unwrap_or_default(),
        r.namespace.as_deref().unwrap_or_default(),
        r.name.as_deref().unwrap_or_default(),
        r.uid.as_deref().unwrap_or_default(),
    )
}

impl Events {
    pub fn new(client: Client, instance: Option<String>) -> Self {
        Self {
            recorder: Arc::new(Mutex::new(Series {
                by_key: HashMap::new(),
                swept: Instant::now(),
            })),
            client,
            instance: instance.unwrap_or_else(|| CONTROLLER.to_string()),
            leader: None,
        }
    }

    /// Event series remembered now (one per distinct Event of the last minutes).
    pub fn remembered(&self) -> usize {
        self.recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .len()
    }

    /// Forgets the series of `regarding`'s Events: called once the object is gone (a new
    /// object of the same name has another uid, so they could never count up again), instead
    /// of keeping them for 6 minutes.
    pub fn forget(&self, regarding: &ObjectReference) {
        let prefix = object_key(regarding);
        let mut series = self.recorder.lock().unwrap_or_else(|e| e.into_inner());
        series.by_key.retain(|k, _| !k.starts_with(&prefix));
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
            leader: self.leader.as_ref().map(|l| l.scoped(namespace, name)),
            ..self.clone()
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
        let draft = Draft {
            type_: EventType::Normal,
            reason,
            action,
            note: note.into(),
        };
        self.publish_as(regarding, draft).await;
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
        let action = reason.to_string();
        let draft = Draft {
            type_,
            reason,
            action,
            note,
        };
        self.publish_as(regarding, draft).await
    }

    async fn publish_as(&self, regarding: &ObjectReference, mut draft: Draft<'_>) {
        if self.leader.as_ref().is_some_and(|l| !l.is_leader()) {
            return;
        }
        draft.action = truncate(draft.action, 128);
        let reason = draft.reason;
        let key = series_key(regarding, draft.type_, reason, &draft.action);
        let now = Instant::now();
        let seen = self
            .recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lookup(&key, now);
        let api: Api<Event> = Api::namespaced(self.client.clone(), events_namespace(regarding));
        // An Event that cannot be written must not fail the reconcile; say so in the log.
        let written = match seen {
            Some(s) => count_up(&api, s).await,
            None => create(&api, &self.event(regarding, draft)).await,
        };
        match written {
            Ok(seen) => {
                let mut series = self.recorder.lock().unwrap_or_else(|e| e.into_inner());
                series.by_key.insert(key, seen);
            }
            Err(e) => tracing::warn!(reason, error = %e, "could not publish event"),
        }
    }

    /// A new Event (kube-runtime's recorder names and fills it the same way).
    fn event(&self, regarding: &ObjectReference, draft: Draft<'_>) -> Event {
        let Draft {
            type_,
            reason,
            action,
            note,
        } = draft;
        let now = Timestamp::now();
        let owner = regarding.name.as_deref().unwrap_or(CONTROLLER);
        Event {
            metadata: ObjectMeta {
                namespace: Some(events_namespace(regarding).to_string()),
                name: Some(format!("{owner}.{:x}", now.as_nanosecond())),
                ..Default::default()
            },
            action: Some(action),
            reason: Some(reason.to_string()),
            note: Some(truncate(note, MAX_NOTE)),
            type_: Some(type_.as_str().to_string()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(CONTROLLER.to_string()),
            reporting_instance: Some(self.instance.clone()),
            ..Default::default()
        }
    }
}

/// Writes a new Event.
async fn create(api: &Api<Event>, ev: &Event) -> Result<Seen, kube::Error> {
    let created = api.create(&PostParams::default(), ev).await?;
    Ok(Seen {
        name: created.metadata.name.unwrap_or_default(),
        count: 1,
        last: Instant::now(),
    })
}

/// The same Event again: its series counts one more (a first repeat makes the count 2).
async fn count_up(api: &Api<Event>, mut seen: Seen) -> Result<Seen, kube::Error> {
    seen.count += 1;
    let patch = serde_json::json!({"series": {
        "count": seen.count,
        "lastObservedTime": MicroTime(Timestamp::now()),
    }});
    api.patch(&seen.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    seen.last = Instant::now();
    Ok(seen)
}

/// Where an Event about `regarding` is written: its namespace (cluster-scoped objects' Events
/// go to `default`).
fn events_namespace(regarding: &ObjectReference) -> &str {
    regarding
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
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

    #[test]
    fn a_series_is_kept_for_six_minutes_per_object_type_reason_and_action() {
        let now = Instant::now();
        let mut series = Series {
            by_key: HashMap::new(),
            swept: now,
        };
        let seen = |last| Seen {
            name: "a.1".into(),
            count: 1,
            last,
        };
        let key = |name: &str, t, reason: &str, action: &str| {
            series_key(&reference(name), t, reason, action)
        };
        let a = key("a", EventType::Normal, "R", "R");
        series.by_key.insert(a.clone(), seen(now));
        assert!(series.lookup(&a, now).is_some());
        for other in [
            key("b", EventType::Normal, "R", "R"),
            key("a", EventType::Warning, "R", "R"),
            key("a", EventType::Normal, "S", "R"),
            key("a", EventType::Normal, "R", "S"),
        ] {
            assert_ne!(other, a);
            assert!(series.lookup(&other, now).is_none(), "{other}");
        }
        // past the TTL it is a new Event, and the next sweep forgets it
        let later = now + SERIES_TTL + Duration::from_secs(1);
        series.swept = now + SERIES_TTL;
        assert!(series.lookup(&a, later).is_none());
        assert_eq!(
            series.by_key.len(),
            1,
            "no sweep within a minute of the last"
        );
        series.swept = now;
        assert!(series.lookup(&a, later).is_none());
        assert!(series.by_key.is_empty(), "swept");
    }

    /// Through the stand-in API: the same Event again counts up the first one's series, a
    /// different action or reason makes a new Event.
    #[tokio::test]
    async fn repeats_count_up_the_series_of_the_first_event() {
        let api = prescale_kube_standin::ApiServer::new();
        let events = Events::new(api.client(), Some("pod-1".into()));
        let r = reference("a");
        events.normal(&r, "Ready", "first").await;
        events.normal(&r, "Ready", "second").await;
        events.normal(&r, "Ready", "third").await;
        events
            .normal_with_action(&r, "Ready", "Other".into(), "own action")
            .await;
        events.warning(&r, "Failed", "bad").await;
        let list = api.list("events.k8s.io/v1", "Event");
        assert_eq!(list.len(), 3, "{list:#?}");
        let ready = list
            .iter()
            .find(|e| e["action"] == "Ready")
            .expect("the Ready event");
        assert_eq!(ready["note"], "first", "a series keeps its first note");
        assert_eq!(ready["series"]["count"], 3);
        assert!(ready["series"]["lastObservedTime"].is_string());
        assert_eq!(ready["reportingController"], "prescale-operator");
        assert_eq!(ready["reportingInstance"], "pod-1");
        assert_eq!(ready["regarding"]["name"], "a");
        assert_eq!(ready["type"], "Normal");
        let other = list.iter().find(|e| e["action"] == "Other").unwrap();
        assert!(other["series"].is_null());
        let failed = list.iter().find(|e| e["reason"] == "Failed").unwrap();
        assert_eq!(failed["type"], "Warning");
        assert_eq!(events.remembered(), 3);
        // another object's series stay when "a" is gone
        events.normal(&reference("b"), "Ready", "b's").await;
        events.forget(&r);
        assert_eq!(events.remembered(), 1, "only b's series is left");
        events.normal(&r, "Ready", "again").await;
        let list = api.list("events.k8s.io/v1", "Event");
        assert_eq!(list.len(), 5, "a forgotten series starts a new Event");
    }

    #[test]
    fn cluster_scoped_objects_events_go_to_default() {
        let mut r = reference("a");
        assert_eq!(events_namespace(&r), "ns");
        r.namespace = None;
        assert_eq!(events_namespace(&r), "default");
    }

    #[test]
    fn notes_are_cut_on_char_boundaries() {
        assert_eq!(truncate("short".into(), 10), "short");
        let long = "é".repeat(600); // 1200 bytes
        let cut = truncate(long, MAX_NOTE);
        assert!(cut.len() <= MAX_NOTE && cut.ends_with("..."));
    }
}
