//! Per-ScaledObject poll loops: evaluate triggers every `pollingInterval`, store the values
//! for the metrics API, and drive activation, scale to/from zero and pre-scaling.
//!
//! One poll is a one-way pipeline: [`evaluate::sample`] (I/O) → [`evaluate::combine`] (pure:
//! fallback, modifiers) → [`step::decide`] (pure: what to write) → [`execute`] (the writes, through
//! `crate::write`). [`task`] only decides when to poll.

pub mod env;
pub mod evaluate;
pub mod execute;
pub mod jitter;
pub mod plan;
pub mod prescale;
pub mod step;
pub mod task;

pub use env::Env;
pub use plan::{DesiredHpa, Handover, PollPlan, PollSpec};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// A running loop.
struct Running {
    /// The plan's fingerprint (a different one replaces the loop).
    fingerprint: u64,
    handle: JoinHandle<()>,
    /// Wakes the loop for an extra poll.
    poke: Arc<tokio::sync::Notify>,
    /// The loop's connected triggers and what they were built from (a rebuilt loop whose
    /// triggers did not change keeps them).
    triggers: (u64, Vec<crate::trigger::LiveTrigger>),
    /// The status the reconcile handed to the loop, until the loop wrote it.
    handover: Handover,
}

/// The running loops.
#[derive(Default, Clone)]
pub struct Pollers {
    running: Arc<Mutex<HashMap<(String, String), Running>>>,
}

impl Pollers {
    /// Whether a loop built from this fingerprint runs.
    pub fn runs(&self, namespace: &str, name: &str, fingerprint: u64) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .get(&(namespace.to_string(), name.to_string()))
            .is_some_and(|r| r.fingerprint == fingerprint && !r.handle.is_finished())
    }

    /// Whether a loop (of any fingerprint) is known for the object.
    pub fn has(&self, namespace: &str, name: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.contains_key(&(namespace.to_string(), name.to_string()))
    }

    /// Whether the object's loop runs and still has to write the status a reconcile handed
    /// to it (see [`Handover`]).
    pub fn handing_over(&self, namespace: &str, name: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .get(&(namespace.to_string(), name.to_string()))
            .is_some_and(|r| !r.handle.is_finished() && r.handover.is_pending())
    }

    /// The connected triggers of the object's loop, when they were built from
    /// `trigger_fingerprint`.
    pub fn connected(
        &self,
        namespace: &str,
        name: &str,
        trigger_fingerprint: u64,
    ) -> Option<Vec<crate::trigger::LiveTrigger>> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .get(&(namespace.to_string(), name.to_string()))
            .filter(|r| r.triggers.0 == trigger_fingerprint)
            .map(|r| r.triggers.1.clone())
    }

    /// Starts a loop, replacing (aborting) any previous one for the object; its triggers were
    /// built from `trigger_fingerprint`.
    pub fn start(&self, plan: PollPlan, env: Arc<Env>, trigger_fingerprint: u64) {
        let triggers = (trigger_fingerprint, plan.triggers.clone());
        let key = (plan.spec.namespace.clone(), plan.spec.name.clone());
        let fingerprint = plan.fingerprint;
        let handover = plan.handover.clone();
        let span = tracing::info_span!("poll", scaledobject = %format!("{}/{}", key.0, key.1));
        let poke = Arc::new(tokio::sync::Notify::new());
        let handle = tokio::spawn(tracing::Instrument::instrument(
            task::run(plan, env, poke.clone()),
            span,
        ));
        let running = Running {
            fingerprint,
            handle,
            poke,
            triggers,
            handover,
        };
        if let Some(old) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, running)
        {
            old.handle.abort();
        }
    }

    /// Stops the loop of an object (deleted, paused, or invalid now).
    pub fn stop(&self, namespace: &str, name: &str) -> bool {
        let removed = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(namespace.to_string(), name.to_string()));
        match removed {
            Some(r) => {
                r.handle.abort();
                true
            }
            None => false,
        }
    }

    /// Stops the loops of the objects `keep(namespace, name)` rejects (a shard given up);
    /// returns their keys.
    pub fn stop_unless(&self, keep: impl Fn(&str, &str) -> bool) -> Vec<(String, String)> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<(String, String)> = running
            .keys()
            .filter(|(ns, name)| !keep(ns, name))
            .cloned()
            .collect();
        for key in &gone {
            if let Some(r) = running.remove(key) {
                r.handle.abort();
            }
        }
        gone
    }

    /// Stops every loop (shutdown).
    pub fn stop_all(&self) {
        for (_, r) in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            r.handle.abort();
        }
    }

    /// Asks the loop of an object to poll now (a stale value was requested).
    pub fn poke(&self, namespace: &str, name: &str) -> bool {
        match self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(namespace.to_string(), name.to_string()))
        {
            Some(r) => {
                r.poke.notify_one();
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
