//! The operator under test: `prescale run`'s wiring (`prescale::operator::run`) against the
//! in-process API stand-in, with real backends from the testkit.

#![allow(dead_code)]

pub mod aggregation;
pub mod webhook;

use prescale::leader::{Leadership, LeaseConfig};
use prescale::metric_store::MetricStore;
use prescale::operator::{self, Handles, OperatorOptions};
use prescale::shutdown;
use prescale::telemetry::admin::Readiness;
use prescale::telemetry::metrics::operator_registry;
use prescale_kube_standin::ApiServer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One running operator.
pub struct Operator {
    pub handles: Handles,
    pub registry: Arc<prometheus_client::registry::Registry>,
    trigger: Option<shutdown::Trigger>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Operator {
    pub fn start(api: &ApiServer, lease: Option<(&str, Duration)>) -> Self {
        Self::start_with(api, lease, None)
    }

    /// Starts with the external metrics API served on `metrics_api`.
    pub fn start_with(
        api: &ApiServer,
        lease: Option<(&str, Duration)>,
        metrics_api: Option<operator::MetricsApiOptions>,
    ) -> Self {
        Self::start_full(
            api,
            lease,
            metrics_api,
            Arc::new(prescale_scalers::SystemClock),
            Default::default(),
        )
    }

    /// Starts with a clock the test moves, and `leadTime: auto` settings.
    pub fn start_full(
        api: &ApiServer,
        lease: Option<(&str, Duration)>,
        metrics_api: Option<operator::MetricsApiOptions>,
        clock: Arc<dyn prescale_scalers::Clock>,
        lead: prescale::prescaling::startup::LeadSettings,
    ) -> Self {
        let config = prescale::context::OperatorConfig {
            lead,
            ..Default::default()
        };
        Self::launch(api.client(), lease, metrics_api, clock, config)
    }

    /// Starts with its own operator settings (e.g. the serving certificate from a Secret).
    pub fn start_configured(
        api: &ApiServer,
        lease: Option<(&str, Duration)>,
        metrics_api: Option<operator::MetricsApiOptions>,
        config: prescale::context::OperatorConfig,
    ) -> Self {
        let clock = Arc::new(prescale_scalers::SystemClock);
        Self::launch(api.client(), lease, metrics_api, clock, config)
    }

    /// Starts one replica with its own client: its writes are counted and it can be cut off
    /// from the API (killed or partitioned).
    pub fn start_replica(
        api: &ApiServer,
        lease: Option<(&str, Duration)>,
    ) -> (Self, prescale_kube_standin::faults::Replica) {
        let (client, replica) = api.replica_client();
        let op = Self::launch(
            client,
            lease,
            None,
            Arc::new(prescale_scalers::SystemClock),
            Default::default(),
        );
        (op, replica)
    }

    /// Starts one replica of a sharded operator (`config.sharding`) with its own client (its
    /// writes are recorded, it can be cut off) and, if given, its own metrics API.
    pub fn start_sharded(
        api: &ApiServer,
        identity: &str,
        lease: Duration,
        metrics_api: Option<operator::MetricsApiOptions>,
        config: prescale::context::OperatorConfig,
    ) -> (Self, prescale_kube_standin::faults::Replica) {
        let (client, replica) = api.replica_client();
        let op = Self::launch(
            client,
            Some((identity, lease)),
            metrics_api,
            Arc::new(prescale_scalers::SystemClock),
            config,
        );
        (op, replica)
    }

    /// A crash: nothing is released (the replica's API access is cut first, then its tasks
    /// are stopped).
    pub fn kill(mut self, replica: &prescale_kube_standin::faults::Replica) {
        replica.cut(prescale_kube_standin::faults::Cut::All);
        if let Some(t) = self.trigger.take() {
            t.fire();
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    fn launch(
        client: kube::Client,
        lease: Option<(&str, Duration)>,
        metrics_api: Option<operator::MetricsApiOptions>,
        clock: Arc<dyn prescale_scalers::Clock>,
        config: prescale::context::OperatorConfig,
    ) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("PRESCALE_TEST_LOG")
                    .unwrap_or_else(|_| "off".into()),
            )
            .with_test_writer()
            .try_init();
        let (registry, metrics) = operator_registry();
        let handles = Handles {
            metric_store: Arc::new(MetricStore::new()),
            readiness: Readiness::default(),
            leadership: Leadership::always(),
        };
        let (trigger, sd) = shutdown::channel();
        let opts = OperatorOptions {
            config,
            watch_namespace: None,
            lease: lease.map(|(identity, d)| LeaseConfig {
                namespace: "prescale".into(),
                name: "prescale-operator".into(),
                identity: identity.into(),
                lease_duration: d,
                renew_interval: d / 4,
            }),
            max_concurrent_reconciles: 8,
            default_timeout: Duration::from_millis(800),
            instance: lease.map(|(i, _)| i.to_string()),
            events_client: None,
            metrics_api,
            clock,
        };
        let task = tokio::spawn(operator::run(client, opts, metrics, handles.clone(), sd));
        Self {
            handles,
            registry: Arc::new(registry),
            trigger: Some(trigger),
            task: Some(task),
        }
    }

    /// Graceful shutdown; waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(t) = self.trigger.take() {
            t.fire();
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("operator stops in time")
                .expect("join")
                .expect("operator result");
        }
    }

    pub fn metrics_text(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry).expect("encode");
        s
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(t) = self.trigger.take() {
            t.fire();
        }
    }
}

/// Polls `f` every 100 ms until it returns Some, or panics with `what` after `secs`.
pub async fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn deployment(ns: &str, name: &str, replicas: i64, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "worker", "image": "worker:1", "env": env}]}}}
    })
}

pub fn replicas(api: &ApiServer, ns: &str, name: &str) -> i64 {
    api.get("apps/v1", "Deployment", ns, name)
        .and_then(|d| d["spec"]["replicas"].as_i64())
        .unwrap_or(-1)
}

pub fn scaled_object(api: &ApiServer, ns: &str, name: &str) -> Option<Value> {
    api.get("keda.sh/v1alpha1", "ScaledObject", ns, name)
}

pub fn condition(so: &Value, t: &str) -> Option<(String, String, String)> {
    so["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

pub fn hpa(api: &ApiServer, ns: &str, name: &str) -> Option<Value> {
    api.get("autoscaling/v2", "HorizontalPodAutoscaler", ns, name)
}

/// Events (events.k8s.io/v1) about `so` with `reason`.
pub fn events(api: &ApiServer, so: &str, reason: &str) -> Vec<String> {
    api.list("events.k8s.io/v1", "Event")
        .into_iter()
        .filter(|e| e["regarding"]["name"] == so && e["reason"] == reason)
        .map(|e| e["note"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A Ready pod labelled `app: <app>` that took `startup_s` seconds from creation to Ready (the
/// stand-in stamps the creation time; the Ready transition is set after it).
pub fn started_pod(api: &ApiServer, ns: &str, name: &str, app: &str, startup_s: i64) {
    let created = api.put(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "c:1"}]}}));
    let at = chrono::DateTime::parse_from_rfc3339(
        created["metadata"]["creationTimestamp"].as_str().unwrap(),
    )
    .unwrap()
    .with_timezone(&chrono::Utc)
        + chrono::Duration::seconds(startup_s);
    let mut pod = created.clone();
    pod["status"] = json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": at.format("%Y-%m-%dT%H:%M:%SZ").to_string()}],
        "containerStatuses": [{"name": "c", "image": "c:1", "imageID": "", "ready": true, "restartCount": 0}]});
    api.put(pod);
}

/// Waits until the ScaledObject's `PreScaling` condition has `reason`.
pub async fn pre_scaling_reason(api: &ApiServer, ns: &str, name: &str, reason: &str) -> Value {
    eventually(15, &format!("{ns}/{name} PreScaling {reason}"), || {
        scaled_object(api, ns, name)
            .filter(|s| condition(s, "PreScaling").is_some_and(|c| c.1 == reason))
    })
    .await
}
