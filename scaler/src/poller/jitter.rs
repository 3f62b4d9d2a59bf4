//! When each poll runs: every `pollingInterval`, at wall-clock instants fixed by a phase within
//! the interval, so that
//!
//! - thousands of ScaledObjects created together do not poll in lock-step (KEDA #7676): phases
//!   are spread over the interval by a hash;
//! - objects whose triggers make the same upstream call (same server, credentials and query:
//!   each scaler's [`poll_key`](prescale_scalers::Scaler::poll_key)) get the same phase, so
//!   their polls coincide and share one call (`prescale_scalers::coalesce`); every Redis trigger
//!   on one server shares its phase, so their counts go out as one pipeline;
//! - the phase is a wall-clock one: the same after a restart of the operator, and the same for
//!   objects whose loops started at different times.
//!
//! Objects without such a key (cron, cpu/memory) take their phase from `namespace/name`.

use std::hash::{Hash, Hasher};
use std::time::Duration;

/// The phase key of an object: the hash of its triggers' poll keys, or of its identity when
/// none of its triggers has one.
pub fn phase_key(namespace: &str, name: &str, poll_keys: impl Iterator<Item = Option<u64>>) -> u64 {
    let keys: Vec<u64> = poll_keys.flatten().collect();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    if keys.is_empty() {
        (namespace, name).hash(&mut h);
    } else {
        keys.hash(&mut h);
    }
    h.finish()
}

/// The wait, from `since_epoch` (the wall clock now), until the next instant whose time since
/// the Unix epoch is `phase_key`'s phase modulo `interval`; within `[0, interval)`.
pub fn first_tick_delay(phase_key: u64, interval: Duration, since_epoch: Duration) -> Duration {
    let nanos = interval.as_nanos();
    if nanos == 0 {
        return Duration::ZERO;
    }
    let phase = u128::from(phase_key) % nanos;
    let now = since_epoch.as_nanos() % nanos;
    Duration::from_nanos(((phase + nanos - now) % nanos) as u64)
}

/// [`first_tick_delay`] from the system clock.
pub fn first_tick_delay_now(phase_key: u64, interval: Duration) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    first_tick_delay(phase_key, interval, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase_of(key: u64, i: Duration) -> Duration {
        first_tick_delay(key, i, Duration::ZERO)
    }

    #[test]
    fn phases_are_stable_bounded_and_spread() {
        let i = Duration::from_secs(30);
        let a = phase_key("ns", "a", std::iter::empty());
        assert_eq!(a, phase_key("ns", "a", std::iter::empty()));
        // 1,000 objects (or 1,000 distinct queries) spread over the interval: no tenth of it
        // holds more than a fifth
        let mut buckets = [0usize; 10];
        for n in 0..1000 {
            let o = phase_of(phase_key("shop", &format!("so-{n}"), std::iter::empty()), i);
            assert!(o < i);
            buckets[(o.as_secs_f64() / 3.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| b < 200), "{buckets:?}");
        let mut buckets = [0usize; 10];
        for q in 0..1000u64 {
            let o = phase_of(phase_key("shop", "so", [Some(q * 7919)].into_iter()), i);
            buckets[(o.as_secs_f64() / 3.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| b < 200), "{buckets:?}");
    }

    #[test]
    fn objects_with_the_same_upstream_call_share_a_phase_and_others_do_not() {
        let same = |name: &str, keys: &[Option<u64>]| phase_key("ns", name, keys.iter().copied());
        assert_eq!(same("a", &[Some(42)]), same("b", &[Some(42)]));
        // a trigger without an upstream call (cron) does not move the phase
        assert_eq!(same("a", &[Some(42), None]), same("b", &[Some(42)]));
        assert_ne!(same("a", &[Some(42)]), same("a", &[Some(43)]));
        assert_ne!(same("a", &[None]), same("b", &[None]));
    }

    #[test]
    fn the_first_tick_lands_on_the_phase_whenever_the_loop_starts() {
        let i = Duration::from_secs(30);
        let key = phase_key("ns", "a", [Some(7)].into_iter());
        let phase = phase_of(key, i);
        // two loops started 13.5 s and 1,000,007 s after the epoch tick at the same phase
        for started in [
            Duration::from_millis(13_500),
            Duration::from_secs(1_000_007),
        ] {
            let first = started + first_tick_delay(key, i, started);
            assert!(first - started < i);
            assert_eq!(first.as_nanos() % i.as_nanos(), phase.as_nanos());
        }
        assert_eq!(first_tick_delay(key, Duration::ZERO, i), Duration::ZERO);
    }
}
