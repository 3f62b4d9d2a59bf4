//! Criterion benches of the per-object hot paths: trigger metadata parsing (what every
//! reconcile does per trigger), metric-name normalisation, quantity formatting (every served
//! value), the poll's decision step (`poller::step::decide`, every poll), label selector
//! parsing and matching, and one metrics API request through the adapter's routes (routing,
//! selector, provider, JSON; TLS and authentication are in `adapter_latency`). After the run
//! it prints the process's CPU time and RSS from /proc.
//!
//! Run: `cargo bench -p prescale-benches --bench hot_paths` (criterion's own flags after `--`,
//! e.g. `-- --quick`).

use criterion::{Criterion, black_box, criterion_group};
use prescale::api::ScaledObjectStatus;
use prescale::poller::evaluate::{Evaluation, MetricResult};
use prescale::poller::plan::PollSpec;
use prescale::poller::step::{StepInput, decide};
use prescale::scaling::pause::Pause;
use prescale::target::TargetRef;
use prescale_metrics_adapter::selector::Selector;
use prescale_scalers::{TriggerInput, registry};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn parsing(c: &mut Criterion) {
    let inputs = [
        TriggerInput::new(
            "prometheus",
            0,
            &[
                ("serverAddress", "http://prometheus.monitoring:9090"),
                ("query", "sum(rate(http_requests_total{app=\"shop\"}[2m]))"),
                ("threshold", "100"),
                ("activationThreshold", "5"),
            ],
        ),
        TriggerInput::new(
            "redis",
            0,
            &[
                ("address", "redis.shop:6379"),
                ("listName", "jobs"),
                ("listLength", "10"),
            ],
        ),
        TriggerInput::new(
            "mysql",
            0,
            &[("query", "SELECT COUNT(*) FROM jobs"), ("queryValue", "4")],
        )
        .with_auth(&[("connectionString", "user:pw@tcp(mysql:3306)/app")]),
    ];
    let mut g = c.benchmark_group("metadata parsing");
    for input in &inputs {
        g.bench_function(&input.trigger_type, |b| {
            b.iter(|| registry::parse(black_box(input)).expect("valid"))
        });
    }
    g.finish();
    c.bench_function("metric-name normalisation", |b| {
        b.iter(|| {
            prescale_scalers::metric::external_metric_name(
                black_box(3),
                black_box("redis-orders/EU.high-priority:queue"),
            )
        })
    });
    c.bench_function("quantity formatting", |b| {
        b.iter(|| prescale_quantity::milli_quantity(black_box(1234.5678)))
    });
}

fn spec() -> PollSpec {
    let gvk = kube::core::GroupVersionKind::gvk("apps", "v1", "Deployment");
    PollSpec {
        namespace: "ns".into(),
        name: "app".into(),
        interval: Duration::from_secs(30),
        fallback: None,
        modifiers: None,
        min: 0,
        max: 20,
        idle: None,
        cooldown_period_s: 300,
        initial_cooldown_period_s: 0,
        created: chrono::DateTime::UNIX_EPOCH,
        pause: Pause::default(),
        target: TargetRef {
            namespace: "ns".into(),
            name: "app".into(),
            resource: kube::api::ApiResource::from_gvk_with_plural(&gvk, "deployments"),
        },
        call_timeout: Duration::from_secs(6),
        hpa: Default::default(),
    }
}

fn decision(c: &mut Criterion) {
    let spec = spec();
    let eval = Evaluation {
        metrics: vec![MetricResult {
            metric_name: "s0-redis-jobs".into(),
            trigger_index: Some(0),
            value: Some(12.0),
            active: true,
            fallback: false,
            error: None,
            latency: Duration::ZERO,
        }],
        active: true,
        errored: false,
        active_metrics: vec!["s0-redis-jobs".into()],
    };
    let status = ScaledObjectStatus::default();
    let health = BTreeMap::new();
    let now = chrono::Utc::now();
    c.bench_function("decision step (active, steady)", |b| {
        b.iter(|| {
            decide(black_box(&StepInput {
                now,
                spec: &spec,
                current: 3,
                eval: &eval,
                health: &health,
                prescale: None,
                held_bounds: (1, 20),
                status: &status,
                last_active_seen: Some(now),
            }))
        })
    });
}

fn selectors(c: &mut Criterion) {
    let raw = "app=worker,tier in (backend,batch),!canary,scaledobject.keda.sh/name=orders";
    let labels: BTreeMap<String, String> = [
        ("app", "worker"),
        ("tier", "batch"),
        ("scaledobject.keda.sh/name", "orders"),
        ("pod-template-hash", "7c9f8d"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let parsed = Selector::parse(raw).expect("valid");
    c.bench_function("label selector parse", |b| {
        b.iter(|| Selector::parse(black_box(raw)))
    });
    c.bench_function("label selector match", |b| {
        b.iter(|| black_box(&parsed).matches(black_box(&labels)))
    });
}

fn adapter_request(c: &mut Criterion) {
    use tower::ServiceExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let router =
        prescale_metrics_adapter::routes::api_router(Arc::new(prescale_benches::adapter::Provider));
    let uri = format!(
        "{}/queue?labelSelector=app%3Dworker",
        prescale_benches::adapter::READ
    );
    c.bench_function("adapter request (routes, no TLS)", |b| {
        b.to_async(&rt).iter(|| {
            let req = axum::http::Request::get(&uri)
                .body(axum::body::Body::empty())
                .unwrap();
            let router = router.clone();
            async move {
                let res = router.oneshot(req).await.unwrap();
                assert!(res.status().is_success());
                axum::body::to_bytes(res.into_body(), 1 << 20)
                    .await
                    .unwrap()
            }
        })
    });
}

criterion_group!(benches, parsing, decision, selectors, adapter_request);

fn main() {
    let cpu0 = prescale_benches::proc::process_cpu();
    let wall = std::time::Instant::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    let cpu = prescale_benches::proc::process_cpu().saturating_sub(cpu0);
    println!(
        "process: {:.1} s CPU over {:.1} s, RSS {} MiB, peak {} MiB",
        cpu.as_secs_f64(),
        wall.elapsed().as_secs_f64(),
        prescale_benches::proc::rss_kib() / 1024,
        prescale_benches::peak_rss_kib() / 1024
    );
}
