//! Per-ScaledObject poll loops: evaluate triggers every `pollingInterval`, store the values
//! for the metrics API, and drive activation and scale to/from zero.

pub mod evaluate;
pub mod schedule;
pub mod target;
pub mod task;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// (namespace, name) → (generation the loop was built from, the loop task).
type Running = HashMap<(String, String), (i64, JoinHandle<()>, Arc<tokio::sync::Notify>)>;

/// The running loops.
#[derive(Default, Clone)]
pub struct Pollers {
    running: Arc<Mutex<Running>>,
}

impl Pollers {
    /// Whether a loop for this generation runs.
    pub fn runs(&self, namespace: &str, name: &str, generation: i64) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .get(&(namespace.to_string(), name.to_string()))
            .is_some_and(|(g, h, _)| *g == generation && !h.is_finished())
    }

    /// Starts a loop, replacing (aborting) any previous one for the object.
    pub fn start(&self, plan: task::PollPlan, ctx: Arc<crate::context::Context>) {
        let key = (plan.namespace.clone(), plan.name.clone());
        let generation = plan.generation;
        let span = tracing::info_span!("poll", scaledobject = %format!("{}/{}", key.0, key.1));
        let poke = Arc::new(tokio::sync::Notify::new());
        let handle = tokio::spawn(tracing::Instrument::instrument(
            task::run(plan, ctx, poke.clone()),
            span,
        ));
        if let Some((_, old, _)) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (generation, handle, poke))
        {
            old.abort();
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
            Some((_, h, _)) => {
                h.abort();
                true
            }
            None => false,
        }
    }

    /// Stops every loop (shutdown).
    pub fn stop_all(&self) {
        for (_, (_, h, _)) in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            h.abort();
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
            Some((_, _, poke)) => {
                poke.notify_one();
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
