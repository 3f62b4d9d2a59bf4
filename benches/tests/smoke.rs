//! Short runs of the benches, so `scripts/test.sh` keeps them working: each bench's own code
//! with a small size (the figures themselves come from `cargo bench`, see README.md).

#[allow(dead_code)]
#[path = "../adapter_load.rs"]
mod adapter_load;

#[allow(dead_code)]
#[path = "../adapter_latency.rs"]
mod adapter_latency;

#[allow(dead_code)]
#[path = "../simulate.rs"]
mod simulate;

#[allow(dead_code)]
#[path = "../validate.rs"]
mod validate;

#[allow(dead_code)]
#[path = "../bad_input.rs"]
mod bad_input;

#[allow(dead_code)]
#[path = "../metrics_api.rs"]
mod metrics_api;

#[tokio::test]
async fn metrics_api_bench_reads_both_bodies() {
    let p = prescale_testkit::prometheus::PrometheusServer::start();
    let rows = metrics_api::run(&p, 3).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].value, 1.0,
        "prometheus_config_last_reload_successful"
    );
    assert_eq!(rows[1].value, 42.0, "the instant query's value");
    assert!(rows[0].body_bytes > 1000 && rows[1].body_bytes > 20);
}

#[allow(dead_code)]
#[path = "../operator_scale.rs"]
mod operator_scale;

#[allow(dead_code)]
#[path = "../operator_churn.rs"]
mod operator_churn;
use operator_churn::operator_steady;

// it loads operator_steady.rs for itself, as operator_churn does
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../operator_sharded.rs"]
mod operator_sharded;

#[allow(dead_code)]
#[path = "../webhook.rs"]
mod webhook;

#[test]
fn webhook_bench_reviews_each_way_and_denies_the_conflicts() {
    let r = webhook::run(20, 10);
    assert_eq!((r.allowed, r.denied), (18, 2));
    for w in &r.ways {
        assert_eq!(w.latencies.len(), 20, "{}", w.name);
    }
}

#[test]
fn simulate_bench_runs_two_objects_for_a_day() {
    let r = simulate::run(2, 1);
    assert_eq!((r.objects, r.steps as i64), (2, 2 * 5760));
    // weekday evening floors: one window per object that Monday
    assert_eq!(r.windows, 2);
    assert!(r.rows > 10, "{} rows", r.rows);
}

#[test]
fn validate_bench_checks_every_generated_object() {
    let r = validate::run(60);
    assert_eq!((r.objects, r.valid), (60, 60));
    assert!(r.bytes > 60 * 300, "{} bytes", r.bytes);
}

#[test]
fn bad_input_bench_reports_every_kind_of_bad_object_precisely() {
    let r = bad_input::run(40);
    assert_eq!((r.objects, r.bad), (40, 12));
    assert_eq!(
        r.scaled, 3,
        "the good Redis-queue objects went to zero and back"
    );
    assert!(r.imprecise.is_empty(), "{:#?}", r.imprecise);
}

#[test]
fn adapter_load_bench_answers_every_kind_of_request() {
    let r = adapter_load::run(200, 1);
    assert!(r.requests >= 100, "{} requests", r.requests);
    // good reads, unknown metric, bad selector, no certificate
    for code in ["200", "404", "400", "401"] {
        assert!(
            r.codes.get(code).is_some_and(|n| *n > 0),
            "{code}: {:?}",
            r.codes
        );
    }
    // the 40 KiB header: 431 or a closed connection
    assert!(
        r.codes.contains_key("431") || r.codes.contains_key("err"),
        "{:?}",
        r.codes
    );
    assert_eq!(r.heads_served, 0);
    assert!(r.rss_after_kib >= r.rss_before_kib && r.rss_before_kib > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_scale_bench_creates_every_hpa_and_restarts_without_writes() {
    let r = operator_scale::run(20, std::time::Duration::from_secs(3), 200.0, 400).await;
    assert_eq!(r.objects, 20);
    assert!(r.new[1] >= 20, "an HPA write per object: {:?}", r.new);
    // issue 11: per new object one patch (finalizer + name label) and ONE status write (Ready
    // with the first poll's Active), once every object is Ready and after every loop polled
    assert_eq!(r.new[0], 2 * 20, "ScaledObject writes: {:?}", r.new);
    assert_eq!(r.settled[0], 2 * 20, "ScaledObject writes: {:?}", r.settled);
    assert_eq!(
        r.restart, [0; 4],
        "a restart with everything right writes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_steady_bench_measures_memory_and_cpu_from_proc() {
    use std::time::Duration;
    // the `prescale` binary of this profile (built for the workspace's own tests)
    let r = operator_steady::run(8, false, Duration::from_secs(3), Duration::ZERO, 200.0).await;
    assert_eq!(r.objects, 8);
    assert!(
        r.operator_mib > 1.0 && r.operator_peak_mib >= r.operator_mib,
        "the operator's RSS read from /proc/<pid>: {} (peak {})",
        r.operator_mib,
        r.operator_peak_mib
    );
    assert!(
        r.cpu_total > Duration::ZERO,
        "CPU read from /proc/<pid>: {:?}",
        r.cpu_total
    );
    assert!(r.metric_samples > 0, "its admin /metrics scraped");
    assert!(r.setup < Duration::from_secs(60), "{:?}", r.setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_churn_bench_replaces_objects_and_settles_back() {
    // 8 objects, 2 replaced and 2 updated a second for 6 s
    let r = operator_churn::run(8, false, 0.1, 2, 200.0).await;
    assert_eq!(r.objects, 8);
    assert!(
        r.created >= 10 && r.created == r.deleted,
        "{} / {}",
        r.created,
        r.deleted
    );
    assert!(r.updated >= 10, "{}", r.updated);
    assert!(r.rss_before_mib > 1.0 && r.rss_after_mib > 1.0 && r.peak_mib >= r.rss_after_mib);
}

#[test]
fn adapter_latency_bench_measures_a_fixed_rate_and_saturation() {
    let r = adapter_latency::run(200, 1);
    assert_eq!(r.fixed.requests, 200);
    assert_eq!(r.fixed.errors, 0);
    assert!(r.fixed.p50_us > 0 && r.fixed.p50_us <= r.fixed.p99_us);
    assert!(r.fixed.p99_us <= r.fixed.p999_us && r.fixed.p999_us <= r.fixed.max_us);
    assert!(r.saturation.requests > 0 && r.saturation.errors == 0);
    assert!(r.rss_kib > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_sharded_bench_spreads_the_objects_and_measures_each_replica() {
    use std::time::Duration;
    // 2 replicas of the `prescale` binary of this profile, 4 shards, 8 cron objects
    let r = operator_sharded::run(
        8,
        false,
        2,
        4,
        Duration::from_secs(3),
        Duration::ZERO,
        200.0,
    )
    .await;
    assert_eq!(r.replicas.len(), 2);
    let held: Vec<u64> = r.replicas.iter().map(|x| x.shards_held).collect();
    assert_eq!(held, [2, 2], "each replica holds its fair share");
    for x in &r.replicas {
        assert!(x.rss_mib > 1.0, "RSS read from /proc/<pid>: {x:?}");
    }
}
