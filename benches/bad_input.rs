//! Bad input at scale (issue 10, item 4): N ScaledObjects of which 30 % are wrong, each in one
//! of the ways the operator checks (counts, periods, behavior limits, a missing target, a target
//! two objects claim, an unknown trigger type, bad metadata, a missing TriggerAuthentication, a
//! bad scalingModifiers formula, a bad fallback, a Redis at a closed port), through
//! `prescale run`'s wiring on the API stand-in. The good ones (cron triggers, and a Redis queue
//! on one real Redis) must get HPAs; every bad one a precise Ready=False condition and an Event.
//! Prints the time until all that holds, the writes and the peak memory (VmHWM).
//!
//! Run: `cargo bench -p prescale-benches --bench bad_input` (`-- --objects N`;
//! `benches/tests/smoke.rs` runs 40 objects).

use prescale::leader::Leadership;
use prescale::metric_store::MetricStore;
use prescale::operator::{self, Handles, OperatorOptions};
use prescale::telemetry::admin::Readiness;
use prescale::telemetry::metrics::operator_registry;
use prescale_kube_standin::ApiServer;
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Each kind of bad object: its spec changes, and what its Ready=False message must say.
pub const BAD: [(&str, &str); 12] = [
    (
        "counts",
        "MinReplicaCount=5 must be less than MaxReplicaCount=2",
    ),
    (
        "idle",
        "IdleReplicaCount=3 must be less than MinReplicaCount=3",
    ),
    ("period", "spec.pollingInterval: must be at least 1 (got 0)"),
    (
        "behavior",
        "stabilizationWindowSeconds: must be between 0 and 3600 (got 4000)",
    ),
    ("no-target", "Target resource doesn't exist"),
    ("duplicate", "is already managed by the ScaledObject"),
    ("unknown-type", "no-such-scaler"),
    ("metadata", "desiredReplicas"),
    ("no-auth", "no addresses or hosts given"),
    ("formula", "scalingModifiers"),
    ("fallback", "FailureThreshold=-1 & Replicas=2"),
    ("redis-down", "trigger 0 (redis)"),
];

fn cron() -> Value {
    json!({"type": "cron", "name": "day", "metadata": {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"}})
}

fn so(name: &str, target: &str, extra: Value) -> Value {
    let mut so = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": 1, "maxReplicaCount": 10,
                 "pollingInterval": 30, "triggers": [cron()]}});
    prescale_kube_standin::patch::merge(&mut so, &extra);
    so
}

/// The bad object of kind `k` (an index into [`BAD`]), named `name`.
fn bad(k: usize, name: &str, closed: &str) -> Value {
    let extra = match BAD[k].0 {
        "counts" => json!({"spec": {"minReplicaCount": 5, "maxReplicaCount": 2}}),
        "idle" => json!({"spec": {"idleReplicaCount": 3, "minReplicaCount": 3}}),
        "period" => json!({"spec": {"pollingInterval": 0}}),
        "behavior" => {
            json!({"spec": {"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 4000}}}}}})
        }
        "no-target" => json!({"spec": {"scaleTargetRef": {"name": format!("{name}-gone")}}}),
        "duplicate" => json!({"spec": {"scaleTargetRef": {"name": "good-0"}}}),
        "unknown-type" => {
            json!({"spec": {"triggers": [{"type": "no-such-scaler", "metadata": {}}]}})
        }
        "metadata" => {
            let mut t = cron();
            t["metadata"]["desiredReplicas"] = json!("lots");
            json!({"spec": {"triggers": [t]}})
        }
        // the address was to come from a TriggerAuthentication that does not exist
        "no-auth" => json!({"spec": {"triggers": [{"type": "redis", "metadata": {"listName": "q"},
                                                   "authenticationRef": {"name": "missing-auth"}}]}}),
        "formula" => {
            json!({"spec": {"advanced": {"scalingModifiers": {"formula": "day +", "target": "2"}}}})
        }
        "fallback" => json!({"spec": {"fallback": {"failureThreshold": -1, "replicas": 2}}}),
        _ => {
            json!({"spec": {"triggers": [{"type": "redis", "metadata": {"address": closed, "listName": "q", "listLength": "5"}}]}})
        }
    };
    so(name, name, extra)
}

/// What a run measured.
#[derive(Debug)]
pub struct Report {
    pub objects: usize,
    pub bad: usize,
    /// From start until every good object has its HPA and every bad one its condition.
    pub took: Duration,
    /// Good Redis-queue objects that went to zero with their queue empty and back to one
    /// when it filled, among the bad ones (all of them must).
    pub scaled: usize,
    /// create/update/patch/delete requests to ScaledObjects, HPAs, workloads and Events.
    pub writes: u64,
    pub peak_rss_kib: u64,
    /// Bad objects whose condition or Event did not say what [`BAD`] expects (must be empty).
    pub imprecise: Vec<String>,
}

/// Puts `n` objects (30 % bad, every kind at least once when n ≥ 40) on a fresh stand-in.
fn populate(
    api: &ApiServer,
    n: usize,
    redis: &str,
    closed: &str,
) -> (Vec<String>, Vec<(String, usize)>) {
    let n_bad = n * 3 / 10;
    let (mut good, mut bads) = (Vec::new(), Vec::new());
    for i in 0..n - n_bad {
        let name = format!("good-{i}");
        put_deployment(api, &name);
        let mut o = so(&name, &name, json!({}));
        if i % 10 == 1 {
            // a queue that may go to zero and back: these show the good ones keep scaling
            o["spec"]["triggers"] = json!([{"type": "redis", "metadata": {"address": redis, "listName": format!("q{i}"), "listLength": "5"}}]);
            o["spec"]["minReplicaCount"] = json!(0);
            o["spec"]["cooldownPeriod"] = json!(1);
            o["spec"]["pollingInterval"] = json!(1);
        }
        api.put(o);
        good.push(name);
    }
    for i in 0..n_bad {
        let (k, name) = (i % BAD.len(), format!("x-bad-{i}"));
        if BAD[k].0 != "no-target" {
            put_deployment(api, &name);
        }
        api.put(bad(k, &name, closed));
        bads.push((name, k));
    }
    (good, bads)
}

fn put_deployment(api: &ApiServer, name: &str) {
    api.put(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "bench"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}));
}

/// The bad object's Ready=False message and the notes of its Warning Events, once both exist.
fn verdict(api: &ApiServer, name: &str) -> Option<(String, Vec<String>)> {
    let so = api.get("keda.sh/v1alpha1", "ScaledObject", "bench", name)?;
    let ready = so["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "False")?;
    let notes: Vec<String> = api
        .list("events.k8s.io/v1", "Event")
        .into_iter()
        .filter(|e| e["regarding"]["name"] == name && e["type"] == "Warning")
        .map(|e| e["note"].as_str().unwrap_or_default().to_string())
        .collect();
    (!notes.is_empty()).then(|| {
        (
            ready["message"].as_str().unwrap_or_default().to_string(),
            notes,
        )
    })
}

fn options() -> OperatorOptions {
    OperatorOptions {
        config: Default::default(),
        watch_namespace: None,
        lease: None,
        max_concurrent_reconciles: 20,
        default_timeout: Duration::from_secs(2),
        instance: None,
        events_client: None,
        metrics_api: None,
        clock: Arc::new(prescale_scalers::SystemClock),
    }
}

async fn run_async(n: usize, limit_s: u64) -> Report {
    let redis = RedisServer::start();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("addr").to_string()
    };
    let api = ApiServer::new();
    let (good, bads) = populate(&api, n, &redis.address(), &closed);
    let (_registry, metrics) = operator_registry();
    let handles = Handles {
        metric_store: Arc::new(MetricStore::new()),
        readiness: Readiness::default(),
        leadership: Leadership::always(),
    };
    let (trigger, sd) = prescale::shutdown::channel();
    let started = Instant::now();
    let task = tokio::spawn(operator::run(api.client(), options(), metrics, handles, sd));
    let hpa = |n: &str| {
        api.get(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "bench",
            &format!("keda-hpa-{n}"),
        )
    };
    loop {
        let done = good.iter().all(|g| hpa(g).is_some())
            && bads.iter().all(|(b, _)| verdict(&api, b).is_some());
        if done {
            break;
        }
        if started.elapsed() > Duration::from_secs(limit_s) {
            let missing: Vec<String> = good
                .iter()
                .filter(|g| hpa(g).is_none())
                .map(|g| format!("{g}: no HPA"))
                .chain(
                    bads.iter()
                        .filter(|(b, _)| verdict(&api, b).is_none())
                        .map(|(b, k)| {
                            format!("{b} ({}): no Ready=False with a Warning Event", BAD[*k].0)
                        }),
                )
                .collect();
            panic!("not done after {limit_s} s: {missing:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let scaled = keeps_scaling(&api, &redis, &good, limit_s).await;
    let mut imprecise = Vec::new();
    for (b, k) in &bads {
        let (message, notes) = verdict(&api, b).unwrap_or_default();
        let want = BAD[*k].1;
        if !message.contains(want) || !notes.iter().any(|n| n.contains(want)) || hpa(b).is_some() {
            imprecise.push(format!("{b} ({}): {message} / {notes:?}", BAD[*k].0));
        }
    }
    trigger.fire();
    let _ = task.await;
    let writes = [
        "scaledobjects",
        "horizontalpodautoscalers",
        "deployments",
        "events",
    ]
    .iter()
    .map(|p| api.writes(p))
    .sum();
    Report {
        objects: n,
        bad: bads.len(),
        took,
        scaled,
        writes,
        peak_rss_kib: prescale_benches::peak_rss_kib(),
        imprecise,
    }
}

/// The good objects on a Redis queue: with the queue empty they go to zero (cooldown 1 s);
/// filled, back to one. Returns how many did both within `limit_s` (panics otherwise).
async fn keeps_scaling(
    api: &ApiServer,
    redis: &RedisServer,
    good: &[String],
    limit_s: u64,
) -> usize {
    let queues: Vec<(usize, &String)> = good
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 == 1)
        .collect();
    let replicas = |name: &str| {
        api.get("apps/v1", "Deployment", "bench", name)
            .and_then(|d| d["spec"]["replicas"].as_i64())
    };
    let wait = |want: i64, what: &'static str| {
        let queues = &queues;
        async move {
            let started = Instant::now();
            while queues.iter().any(|(_, g)| replicas(g) != Some(want)) {
                assert!(
                    started.elapsed() < Duration::from_secs(limit_s),
                    "good objects did not {what}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait(0, "go to zero with an empty queue").await;
    for (i, _) in &queues {
        redis.cli(&["RPUSH", &format!("q{i}"), "job"]);
    }
    wait(1, "come back when their queue filled").await;
    queues.len()
}

/// One run with `n` objects.
pub fn run(n: usize) -> Report {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run_async(n, if n <= 100 { 60 } else { 600 }))
}

fn main() {
    let r = run(prescale_benches::arg("--objects", 1000));
    println!(
        "| ScaledObjects | bad | time until all HPAs and conditions | good ones that kept scaling | writes | peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.1} s | {} | {} | {:.0} MiB |",
        r.objects,
        r.bad,
        r.took.as_secs_f64(),
        r.scaled,
        r.writes,
        r.peak_rss_kib as f64 / 1024.0
    );
    for i in &r.imprecise {
        println!("imprecise: {i}");
    }
}
