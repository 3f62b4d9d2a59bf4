//! Data for tests of time-series code.

/// Deterministic noise in [-1, 1] for time `t` (a SplitMix64-style hash of `t`), so generated
/// series are the same on every run.
pub fn noise(t: i64) -> f64 {
    let mut x = (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x % 20_001) as f64 / 10_000.0 - 1.0
}
