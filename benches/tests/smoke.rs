//! The bench targets run: each bench's `run` with a small count (the figures themselves come
//! from `cargo bench`, see README.md).

#[allow(dead_code)]
#[path = "../validate.rs"]
mod validate;

#[test]
fn validate_bench_checks_every_generated_object() {
    let r = validate::run(60);
    assert_eq!((r.objects, r.valid), (60, 60));
    assert!(r.bytes > 60 * 300, "{} bytes", r.bytes);
}
