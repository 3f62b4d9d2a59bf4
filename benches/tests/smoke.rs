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
