//! Connections shared per backend: triggers that name the same address with the same
//! credentials get the same pool, so 1,000 ScaledObjects on one Redis open one pool, not 1,000.
//!
//! Each source module picks its own key (address + credentials + options, as a string that
//! is never logged) and pool type; this module only stores them.

use crate::error::Result;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Slot = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

/// A process-wide map from (pool type, backend key) to a shared pool.
pub struct Pools {
    slots: Mutex<HashMap<(TypeId, String), Slot>>,
    coalesce_window: std::time::Duration,
}

impl Default for Pools {
    fn default() -> Self {
        Self::with_coalesce_window(crate::coalesce::DEFAULT_WINDOW)
    }
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys hold credentials: show only how many pools exist.
        f.debug_struct("Pools").field("len", &self.len()).finish()
    }
}

impl Pools {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pools whose identical queries share results for `window` after they arrive (see
    /// [`crate::coalesce`]; `Duration::ZERO` shares only calls in flight).
    pub fn with_coalesce_window(window: std::time::Duration) -> Self {
        Self {
            slots: Mutex::default(),
            coalesce_window: window,
        }
    }

    /// How long a result of an upstream call serves identical queries.
    pub fn coalesce_window(&self) -> std::time::Duration {
        self.coalesce_window
    }

    /// The pool for `key`, created by `make` on first use. Concurrent first users wait for the
    /// same creation; a failed creation is not stored, so the next call tries again.
    pub async fn get_or_create<V, F, Fut>(&self, key: &str, make: F) -> Result<Arc<V>>
    where
        V: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots
                .entry((TypeId::of::<V>(), key.to_string()))
                .or_default()
                .clone()
        };
        let any = slot
            .get_or_try_init(|| async {
                let v = make().await?;
                Ok::<_, crate::Error>(Arc::new(v) as Arc<dyn Any + Send + Sync>)
            })
            .await?
            .clone();
        Ok(any
            .downcast::<V>()
            .unwrap_or_else(|_| unreachable!("slot keyed by TypeId holds that type")))
    }

    /// Drops pools nobody uses any more (their last scaler was closed).
    pub fn evict_unused(&self) -> usize {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let before = slots.len();
        slots.retain(|_, slot| match slot.get() {
            // one reference is the map's own
            Some(pool) => Arc::strong_count(pool) > 1,
            None => Arc::strong_count(slot) > 1,
        });
        before - slots.len()
    }

    /// How many pools of type `V` exist (sources also keep their call coalescers here).
    pub fn count<V: Any>(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .keys()
            .filter(|(t, _)| *t == TypeId::of::<V>())
            .count()
    }

    /// How many pools exist.
    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn same_key_shares_one_pool_and_failures_are_retried() {
        let pools = Pools::new();
        let made = AtomicUsize::new(0);
        let make = || async {
            made.fetch_add(1, Ordering::SeqCst);
            Ok(String::from("pool"))
        };
        let a = pools
            .get_or_create::<String, _, _>("k", make)
            .await
            .unwrap();
        let b = pools
            .get_or_create::<String, _, _>("k", make)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        let _c = pools
            .get_or_create::<String, _, _>("other", make)
            .await
            .unwrap();
        assert_eq!(made.load(Ordering::SeqCst), 2);

        let failed = pools
            .get_or_create::<u32, _, _>("x", || async { Err(crate::Error::Connect("down".into())) })
            .await;
        assert!(failed.is_err());
        let ok = pools
            .get_or_create::<u32, _, _>("x", || async { Ok(7) })
            .await
            .unwrap();
        assert_eq!(*ok, 7);

        drop((a, b, ok));
        assert_eq!(pools.evict_unused(), 2);
        assert_eq!(pools.len(), 1);
    }
}
