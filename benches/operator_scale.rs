//! How long 1,000 ScaledObjects take to get their HPAs, through `prescale run`'s wiring with the
//! production rate limit (200 QPS, burst 400) in front of the in-process API stand-in. KEDA's
//! default of 20 QPS / burst 30 took hours at this size (kedacore/keda#2240, #3730); the same run
//! with 200 objects at 20 QPS is printed for comparison.
//!
//! Run: `cargo bench -p prescale-benches --bench operator_scale`

use prescale::kube_client::RateLimitLayer;
use prescale::leader::Leadership;
use prescale::metric_store::MetricStore;
use prescale::operator::{self, Handles, OperatorOptions};
use prescale::telemetry::admin::Readiness;
use prescale::telemetry::metrics::operator_registry;
use prescale_kube_standin::ApiServer;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn run(n: usize, qps: f64, burst: u32) -> (Duration, u64) {
    let api = ApiServer::new();
    for i in 0..n {
        let name = format!("app-{i}");
        api.put(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}));
        api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": name, "namespace": "bench"},
            "spec": {"scaleTargetRef": {"name": name}, "minReplicaCount": 1, "pollingInterval": 30,
                     "triggers": [{"type": "cron", "metadata": {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"}}]}}));
    }
    let client = kube::client::ClientBuilder::new(api.service(), "default")
        .with_layer(&RateLimitLayer::new(qps, burst))
        .build();
    let (_registry, metrics) = operator_registry();
    let handles = Handles {
        metric_store: Arc::new(MetricStore::new()),
        readiness: Readiness::default(),
        leadership: Leadership::always(),
    };
    let (trigger, sd) = prescale::shutdown::channel();
    let opts = OperatorOptions {
        config: Default::default(),
        watch_namespace: None,
        lease: None,
        max_concurrent_reconciles: 20,
        default_timeout: Duration::from_secs(3),
        instance: None,
        metrics_api: None,
        clock: Arc::new(prescale_scalers::SystemClock),
    };
    let before = api.writes("horizontalpodautoscalers");
    let started = Instant::now();
    let task = tokio::spawn(operator::run(client, opts, metrics, handles, sd));
    loop {
        if api.list("autoscaling/v2", "HorizontalPodAutoscaler").len() >= n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    trigger.fire();
    let _ = task.await;
    let requests: u64 = [
        "scaledobjects",
        "horizontalpodautoscalers",
        "deployments",
        "events",
    ]
    .iter()
    .map(|p| api.writes(p))
    .sum::<u64>()
        - before;
    (took, requests)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("| ScaledObjects | client QPS / burst | time until every HPA exists | writes |");
    println!("|---|---|---|---|");
    for (n, qps, burst) in [(1000, 200.0, 400), (200, 20.0, 30)] {
        let (took, writes) = run(n, qps, burst).await;
        println!(
            "| {n} | {qps} / {burst} | {:.1} s | {writes} |",
            took.as_secs_f64()
        );
    }
}
