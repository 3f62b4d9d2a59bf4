//! One upstream call per distinct query: scalers whose triggers ask the same backend the same
//! question (same address, credentials, query and the parameters that change the answer) share
//! one call.
//!
//! - **Single flight.** While a call for a query key is running, other callers with that key
//!   wait for it and get its result (its value or its error) instead of sending their own.
//! - **Freshness window.** A result stays usable for [`DEFAULT_WINDOW`] after it arrived, for
//!   callers that come a moment late (polls of identical queries tick together, see the
//!   poller's jitter, but timers fire a few milliseconds apart). A caller never gets the same
//!   result twice: a scaler that already consumed a result gets a new call, so one object
//!   polling again (or a test sampling in a loop) always sees a new answer; and a scaler's
//!   first sample takes no result that was finished before it asked (a new or rebuilt
//!   object reads the backend as it is now; it still joins a call in flight).
//! - **Bounded concurrency per backend.** At most [`MAX_IN_FLIGHT`] calls per backend run at
//!   once; the others queue behind them, and only behind them: a slow backend fills its own
//!   slots, never another backend's.
//!
//! Each caller still applies its own target and activation threshold to the shared value, so
//! objects sharing a query keep their own metric, activity and status. A caller whose wait is
//! cancelled (its timeout) leaves the call to the others; when the caller running the call is
//! cancelled, the next waiter runs it.
//!
//! Keys hold credentials (hashed or not): they are never logged, and [`Coalescer`]'s `Debug`
//! shows only how many keys it holds.

use crate::error::Result;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a result serves callers that come after it arrived (1 s: far below any polling
/// interval, well above the spread of timers that fire together).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(1);

/// Most calls in flight per backend at once (Prometheus, MySQL; a Redis server gets one
/// pipeline at a time instead, see `redis::batch`).
pub const MAX_IN_FLIGHT: usize = 16;

/// A unique identity for one live scaler, so it never consumes the same result twice.
pub fn consumer_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

struct Done<T> {
    at: Instant,
    value: Result<T>,
    /// The consumers that already got this result.
    seen: Vec<u64>,
}

type Slot<T> = Arc<tokio::sync::Mutex<Option<Done<T>>>>;

/// The calls of one backend: a single-flight slot per query key and the backend's concurrency
/// limit. Kept in [`crate::Pools`] under the backend's pool key (see [`for_backend`]).
pub struct Coalescer<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
    prune_at: Mutex<usize>,
    limit: Semaphore,
    window: Duration,
    calls: AtomicU64,
}

impl<T> std::fmt::Debug for Coalescer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.slots.lock().unwrap_or_else(|e| e.into_inner()).len();
        f.debug_struct("Coalescer").field("keys", &keys).finish()
    }
}

impl<T: Clone + Send + 'static> Coalescer<T> {
    pub fn new(window: Duration, max_in_flight: usize) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            prune_at: Mutex::new(64),
            limit: Semaphore::new(max_in_flight.max(1)),
            window,
            calls: AtomicU64::new(0),
        }
    }

    /// The result of `call` for `key`: shared with the other callers of `key` that come while
    /// it runs or (when `late_ok`, which a scaler sets from its second sample on) within the
    /// window after it, else run now (within the backend's limit).
    pub async fn call<F, Fut>(&self, key: &str, consumer: u64, late_ok: bool, call: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let slot = self.slot(key);
        let arrived = Instant::now();
        let mut state = slot.lock().await;
        if let Some(done) = state.as_mut()
            && (done.at >= arrived || (late_ok && done.at.elapsed() <= self.window))
            && !done.seen.contains(&consumer)
        {
            done.seen.push(consumer);
            return done.value.clone();
        }
        let value = {
            let _permit = self.limit.acquire().await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            call().await
        };
        *state = Some(Done {
            at: Instant::now(),
            value: value.clone(),
            seen: vec![consumer],
        });
        value
    }

    /// How many upstream calls ran (for benches and tests).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn slot(&self, key: &str) -> Slot<T> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slots.get(key) {
            return s.clone();
        }
        let mut prune_at = self.prune_at.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= *prune_at {
            // drop keys nobody is calling whose result is past the window
            let window = self.window;
            slots.retain(|_, s| {
                Arc::strong_count(s) > 1
                    || s.try_lock().map_or(true, |d| {
                        d.as_ref().is_some_and(|d| d.at.elapsed() <= window)
                    })
            });
            *prune_at = (slots.len() * 2).max(64);
        }
        slots.entry(key.to_string()).or_default().clone()
    }

    /// How many query keys are held.
    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The coalescer of the backend `backend_key` (a source's pool key) from the shared pools,
/// letting `max_in_flight` calls run at once ([`MAX_IN_FLIGHT`] unless the source bounds its
/// calls itself, as Redis pipelining does).
pub async fn for_backend<T: Clone + Send + Sync + 'static>(
    pools: &crate::Pools,
    backend_key: &str,
    max_in_flight: usize,
) -> Arc<Coalescer<T>> {
    let window = pools.coalesce_window();
    pools
        .get_or_create::<Coalescer<T>, _, _>(&format!("coalesce|{backend_key}"), || async move {
            Ok(Coalescer::new(window, max_in_flight))
        })
        .await
        .unwrap_or_else(|_| unreachable!("creating a coalescer cannot fail"))
}

/// A stable, secret-free digest of the parts of a query key (they may hold credentials).
pub fn digest(parts: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn concurrent_identical_calls_share_one_and_distinct_keys_do_not() {
        let c = Arc::new(Coalescer::<f64>::new(Duration::from_secs(1), 4));
        let ran = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (c, ran) = (c.clone(), ran.clone());
            tasks.push(tokio::spawn(async move {
                let key = if i < 10 { "q1" } else { "q2" };
                c.call(key, consumer_id(), true, || async {
                    ran.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(if key == "q1" { 1.0 } else { 2.0 })
                })
                .await
            }));
        }
        let mut got = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            got.push((i, t.await.unwrap().unwrap()));
        }
        assert!(
            got.iter()
                .all(|(i, v)| *v == if *i < 10 { 1.0 } else { 2.0 })
        );
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert_eq!(c.calls(), 2);
    }

    #[tokio::test]
    async fn errors_are_shared_and_the_same_consumer_never_gets_a_result_twice() {
        let c = Coalescer::<f64>::new(Duration::from_secs(60), 4);
        let (a, b) = (consumer_id(), consumer_id());
        let fail = || async { Err(Error::Query("bad query".into())) };
        assert_eq!(
            c.call("k", a, true, fail).await,
            Err(Error::Query("bad query".into()))
        );
        // another consumer within the window: the same error, no call
        let r = c.call("k", b, true, || async { Ok(5.0) }).await;
        assert_eq!(r, Err(Error::Query("bad query".into())));
        assert_eq!(c.calls(), 1);
        // the first consumer again: a new call
        assert_eq!(c.call("k", a, true, || async { Ok(5.0) }).await, Ok(5.0));
        assert_eq!(c.calls(), 2);
        // a first sample takes no finished result
        let first = c
            .call("k", consumer_id(), false, || async { Ok(6.0) })
            .await;
        assert_eq!(first, Ok(6.0));
        assert_eq!(c.calls(), 3);
    }

    #[tokio::test]
    async fn results_expire_after_the_window() {
        let c = Coalescer::<f64>::new(Duration::from_millis(20), 4);
        c.call("k", consumer_id(), true, || async { Ok(1.0) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        let v = c.call("k", consumer_id(), true, || async { Ok(2.0) }).await;
        assert_eq!(v, Ok(2.0));
        assert_eq!(c.calls(), 2);
    }

    #[tokio::test]
    async fn a_cancelled_caller_leaves_the_call_to_the_next_waiter() {
        let c = Arc::new(Coalescer::<f64>::new(Duration::from_secs(1), 4));
        let slow = {
            let c = c.clone();
            tokio::spawn(async move {
                c.call("k", consumer_id(), true, || async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(1.0)
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        slow.abort();
        let v = tokio::time::timeout(
            Duration::from_secs(5),
            c.call("k", consumer_id(), true, || async { Ok(2.0) }),
        )
        .await
        .unwrap();
        assert_eq!(v, Ok(2.0));
    }

    #[tokio::test]
    async fn in_flight_calls_per_backend_are_bounded() {
        let c = Arc::new(Coalescer::<f64>::new(Duration::ZERO, 3));
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let (c, now, peak) = (c.clone(), now.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                c.call(&format!("q{i}"), consumer_id(), true, || async {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(1.0)
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(c.calls(), 12);
    }

    #[tokio::test]
    async fn idle_keys_past_the_window_are_pruned() {
        let c = Coalescer::<f64>::new(Duration::from_millis(1), 4);
        for i in 0..200 {
            c.call(&format!("q{i}"), consumer_id(), true, || async { Ok(1.0) })
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_micros(50)).await;
        }
        assert!(c.len() < 200, "{}", c.len());
    }
}
