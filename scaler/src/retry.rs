//! When to try again after the API failed us. Two policies:
//!
//! - [`Retries`]: a reconcile whose write failed for a passing reason (5xx, 429, 409, no
//!   answer) is retried per object with exponential backoff (1 s doubling to 60 s), never
//!   sooner than a 429's `Retry-After`; a success forgets the count. A check failure of the
//!   object itself is not a passing reason and waits for a change instead.
//! - [`WatchBackoff`]: kube's controller puts one backoff on all its watches merged, so every
//!   watch that gets 410 Gone at once (an apiserver restart after a compaction) compounds
//!   client-go's 0.8 s × 2ⁿ and stalls every watch for minutes. Here a burst of errors is first
//!   retried quickly (each watch relists at once after a 410), and only errors that persist
//!   (an API that is down) back off exponentially to 30 s.

use crate::api::ScaledObject;
use kube::runtime::reflector::ObjectRef;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Whether a failed API call may succeed when simply tried again.
pub fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || s.code == 409 || s.code >= 500,
        // no answer at all: connection refused or reset, timeout
        _ => true,
    }
}

/// The `Retry-After` a 429 (or 503) asked for.
pub fn retry_after(e: &kube::Error) -> Option<Duration> {
    match e {
        kube::Error::Api(s) => s
            .details
            .as_ref()
            .map(|d| d.retry_after_seconds)
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(u64::from(s))),
        _ => None,
    }
}

const FIRST: Duration = Duration::from_secs(1);
const MAX: Duration = Duration::from_secs(60);

/// Failed reconciles per object since its last success.
#[derive(Clone, Default)]
pub struct Retries(Arc<Mutex<HashMap<ObjectRef<ScaledObject>, u32>>>);

impl Retries {
    /// Counts a failure; the delay before the next try.
    pub fn failed(&self, so: &ScaledObject, asked: Option<Duration>) -> Duration {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ObjectRef::from_obj(so)).or_default();
        *n = n.saturating_add(1);
        let backoff = FIRST.saturating_mul(1 << (*n - 1).min(6)).min(MAX);
        backoff.max(asked.unwrap_or_default())
    }

    /// Forgets the failures of an object that reconciled.
    pub fn succeeded(&self, so: &ScaledObject) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(&ObjectRef::from_obj(so));
    }
}

/// The controller's backoff on its merged watch streams (see the module doc).
#[derive(Debug, Default)]
pub struct WatchBackoff {
    errors: u32,
}

/// Errors in a row retried after [`QUICK`]: more than the controller has watches.
const QUICK_TRIES: u32 = 16;
const QUICK: Duration = Duration::from_millis(100);
const WATCH_MAX: Duration = Duration::from_secs(30);

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.errors = self.errors.saturating_add(1);
        if self.errors <= QUICK_TRIES {
            return Some(QUICK);
        }
        let n = (self.errors - QUICK_TRIES - 1).min(6);
        Some((Duration::from_millis(800) * (1 << n)).min(WATCH_MAX))
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.errors = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_410s_is_retried_quickly_and_a_down_api_backs_off() {
        let mut b = WatchBackoff::default();
        let burst: Duration = b.by_ref().take(QUICK_TRIES as usize).sum();
        assert_eq!(burst, Duration::from_millis(1600));
        let later: Vec<u64> = b.by_ref().take(8).map(|d| d.as_millis() as u64).collect();
        assert_eq!(later, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
        kube::runtime::utils::Backoff::reset(&mut b);
        assert_eq!(b.next(), Some(QUICK));
    }

    #[test]
    fn reconcile_retries_double_honour_retry_after_and_reset() {
        let r = Retries::default();
        let so: ScaledObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"name": "web"}, "triggers": []}
        }))
        .expect("a ScaledObject");
        let d: Vec<u64> = (0..8).map(|_| r.failed(&so, None).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 32, 60, 60]);
        r.succeeded(&so);
        assert_eq!(r.failed(&so, Some(Duration::from_secs(5))).as_secs(), 5);
        assert_eq!(r.failed(&so, None).as_secs(), 2);
    }
}
