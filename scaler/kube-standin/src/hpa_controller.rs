//! The stand-in's HPA controller: `prescale-hpa-model` run against the store, so operator tests
//! see what a cluster's HPA would do with the metrics the operator serves.
//!
//! Every sync period (15 s by default, settable), for every `autoscaling/v2`
//! HorizontalPodAutoscaler: read `spec.scaleTargetRef`'s scale (spec and status replicas, the
//! selector from `spec.selector.matchLabels`), count the ready pods (matching the selector,
//! phase Running, condition Ready=True), fetch each External metric through an
//! [`ExternalMetrics`] source (the operator tests implement it with an HTTPS GET to the
//! operator's `external.metrics.k8s.io` server, as the aggregator does), run
//! [`prescale_hpa_model::sync`] with the HPA's history, write the target's `spec.replicas` when
//! it rescales (with the resourceVersion read, so a concurrent write is a conflict and
//! AbleToScale=False/FailedUpdateScale, as on a cluster), and write the HPA's status
//! (`currentReplicas`, `desiredReplicas`, `lastScaleTime`, `currentMetrics`, conditions
//! AbleToScale / ScalingActive / ScalingLimited) as a status update.
//!
//! The history (recommendations, scale events) lives here, per HPA uid: an HPA re-created
//! under the same name starts afresh, a deleted one is forgotten, as in the real controller.
//! Resource metrics always fail (`unable to get metrics for resource cpu: no metrics returned
//! from resource metrics API`): there is no metrics-server here, as on a cluster without one.

mod read;
mod status;

use crate::ApiServer;
use crate::store::State;
use futures::future::BoxFuture;
use prescale_hpa_model::{ControllerConfig, History, Milli, Observation, Outcome};
use read::{Snapshot, Source};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The controller's default `--horizontal-pod-autoscaler-sync-period`.
pub const DEFAULT_SYNC_PERIOD: Duration = Duration::from_secs(15);

/// Where External metric values come from (on a cluster: the aggregated
/// `external.metrics.k8s.io` API).
pub trait ExternalMetrics: Send + Sync {
    /// The items' values in milli-units for `metric` in `namespace` with the HPA's
    /// `metric.selector.matchLabels`, or why they could not be read.
    fn get(
        &self,
        namespace: &str,
        metric: &str,
        selector: &BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<Vec<Milli>, String>>;
}

/// A plain function answers at once (test sources).
impl<F> ExternalMetrics for F
where
    F: Fn(&str, &str, &BTreeMap<String, String>) -> Result<Vec<Milli>, String> + Send + Sync,
{
    fn get(
        &self,
        namespace: &str,
        metric: &str,
        selector: &BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<Vec<Milli>, String>> {
        let answer = self(namespace, metric, selector);
        Box::pin(async move { answer })
    }
}

/// What one sync did for one HPA.
#[derive(Debug, Clone)]
pub struct HpaSync {
    pub namespace: String,
    pub name: String,
    /// The model's outcome; `None` when the sync stopped before it (no target, no selector,
    /// an HPA the API server would have rejected).
    pub outcome: Option<Outcome>,
}

/// The controller: the store, the metric source, the flags, and the HPAs' histories.
pub struct HpaController {
    api: ApiServer,
    metrics: Arc<dyn ExternalMetrics>,
    config: ControllerConfig,
    histories: Mutex<HashMap<String, History>>,
}

impl HpaController {
    pub fn new(api: ApiServer, metrics: Arc<dyn ExternalMetrics>) -> Self {
        Self {
            api,
            metrics,
            config: ControllerConfig::default(),
            histories: Mutex::new(HashMap::new()),
        }
    }

    /// Other controller flags (tolerance, downscale window, tolerance gate).
    pub fn with_config(mut self, config: ControllerConfig) -> Self {
        self.config = config;
        self
    }

    /// One pass over every HPA at `now_ms` (any clock; the model only compares instants).
    pub async fn sync_once(&self, now_ms: i64) -> Vec<HpaSync> {
        let hpas: Vec<Value> = self.api.list("autoscaling/v2", "HorizontalPodAutoscaler");
        let live: Vec<&str> = hpas
            .iter()
            .filter_map(|h| h["metadata"]["uid"].as_str())
            .collect();
        self.lock().retain(|uid, _| live.contains(&uid.as_str()));
        let mut out = Vec::new();
        for hpa in &hpas {
            out.push(self.sync_hpa(hpa, now_ms).await);
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, History>> {
        self.histories.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sync_hpa(&self, hpa: &Value, now_ms: i64) -> HpaSync {
        let mut done = HpaSync {
            namespace: hpa["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .into(),
            name: hpa["metadata"]["name"].as_str().unwrap_or_default().into(),
            outcome: None,
        };
        let snap = match self.api.with(|s| read::snapshot(s, hpa)) {
            Ok(snap) => snap,
            Err(stop) => {
                let c = status::condition(stop.kind, false, stop.reason, stop.message);
                self.api.with(|s| {
                    write_status(s, &done.namespace, &done.name, |old, now| {
                        status::stopped(old, &[c], now)
                    })
                });
                return done;
            }
        };
        let obs = Observation {
            spec_replicas: snap.spec_replicas,
            status_replicas: snap.status_replicas,
            ready_pods: snap.ready_pods,
            metrics: self.fetch(&snap).await,
        };
        let history = self.lock().get(&snap.uid).cloned().unwrap_or_default();
        let (outcome, mut next) =
            prescale_hpa_model::sync(&snap.spec, &self.config, &history, now_ms, &obs);
        let write_error = match outcome.rescale {
            true => self
                .api
                .with(|s| write_scale(s, &snap, outcome.desired_replicas))
                .err(),
            false => None,
        };
        if write_error.is_some() {
            // the controller stores a scale event only after a successful write
            next.scale_up_events = history.scale_up_events;
            next.scale_down_events = history.scale_down_events;
        }
        self.lock().insert(snap.uid.clone(), next);
        self.api.with(|s| {
            write_status(s, &snap.namespace, &snap.name, |old, now| {
                status::after_sync(old, &snap, &outcome, write_error.clone(), now)
            })
        });
        done.outcome = Some(outcome);
        done
    }

    /// Each metric's items or error, worded as the replica calculator words them.
    async fn fetch(&self, snap: &Snapshot) -> Vec<Result<Vec<Milli>, String>> {
        let mut out = Vec::new();
        for (metric, source) in snap.spec.metrics.iter().zip(&snap.sources) {
            out.push(match source {
                Source::Invalid(e) => Err(e.clone()),
                Source::Resource => Err(format!(
                    "unable to get metrics for resource {}: no metrics returned from resource metrics API",
                    metric.name
                )),
                Source::External { selector } => {
                    let labels = match_labels(selector);
                    let prefix = format!(
                        "unable to get external metric {}/{}/{}",
                        snap.namespace,
                        metric.name,
                        status::selector_text(selector)
                    );
                    match self.metrics.get(&snap.namespace, &metric.name, &labels).await {
                        Ok(items) if items.is_empty() => Err(format!(
                            "{prefix}: no metrics returned from external metrics API"
                        )),
                        Ok(items) => Ok(items),
                        Err(e) => Err(format!(
                            "{prefix}: unable to fetch metrics from external metrics API: {e}"
                        )),
                    }
                }
            });
        }
        out
    }

    /// Runs [`HpaController::sync_once`] every `sync_period` (the first after one period, as a
    /// new HPA waits in the controller's queue) until the handle is dropped or stopped.
    pub fn start(self, sync_period: Duration) -> HpaControllerHandle {
        let task = tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + sync_period, sync_period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.sync_once(wall_clock_ms()).await;
            }
        });
        HpaControllerHandle { task }
    }
}

/// A running controller; dropping it stops it.
pub struct HpaControllerHandle {
    task: tokio::task::JoinHandle<()>,
}

impl HpaControllerHandle {
    pub fn stop(self) {}
}

impl Drop for HpaControllerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiServer {
    /// An HPA controller over this server, synced by hand ([`HpaController::sync_once`]).
    pub fn hpa_controller(&self, metrics: Arc<dyn ExternalMetrics>) -> HpaController {
        HpaController::new(self.clone(), metrics)
    }

    /// Starts the HPA controller as a tokio task syncing every `sync_period`
    /// ([`DEFAULT_SYNC_PERIOD`] on a cluster).
    pub fn start_hpa_controller(
        &self,
        sync_period: Duration,
        metrics: Arc<dyn ExternalMetrics>,
    ) -> HpaControllerHandle {
        self.hpa_controller(metrics).start(sync_period)
    }
}

fn wall_clock_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn match_labels(selector: &Option<Value>) -> BTreeMap<String, String> {
    selector
        .as_ref()
        .and_then(|s| s["matchLabels"].as_object())
        .map(|m| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            m.iter().map(|(k, v)| (k.clone(), text(v))).collect()
        })
        .unwrap_or_default()
}

/// Writes the target's `spec.replicas` as the scale read (its resourceVersion must still hold).
fn write_scale(s: &mut State, snap: &Snapshot, replicas: i32) -> Result<(), String> {
    let r = &snap.target;
    let paths = r.scale.clone().expect("scalable");
    let mut obj = s
        .get(r, &snap.namespace, &snap.target_name)
        .map_err(|e| e.2)?;
    let mut cur = &mut obj;
    for part in paths.spec_replicas.split('/').skip(1) {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(part.to_string())
            .or_insert(Value::Null);
    }
    *cur = json!(replicas);
    obj["metadata"]["resourceVersion"] = json!(snap.target_rv);
    s.update(r, &snap.namespace, &snap.target_name, obj, false)
        .map(|_| ())
        .map_err(|e| e.2)
}

/// A status update of the HPA (only when the status changes; the store bumps the
/// resourceVersion and tells watchers).
fn write_status(s: &mut State, ns: &str, name: &str, f: impl FnOnce(&Value, &str) -> Value) {
    let Some(r) = s.resource_by_kind("autoscaling/v2", "HorizontalPodAutoscaler") else {
        return;
    };
    let Ok(mut hpa) = s.get(&r, ns, name) else {
        return;
    };
    let new = f(&hpa["status"], &now_text());
    if new == hpa["status"] {
        return;
    }
    hpa["status"] = new;
    hpa["metadata"]["resourceVersion"] = Value::Null;
    let _ = s.update(&r, ns, name, hpa, true);
}
