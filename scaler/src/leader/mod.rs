//! Who writes: leader election with `coordination.k8s.io/v1` Leases. Every replica keeps its
//! caches warm; only a holder polls sources and writes. Followers judge expiry by how long the
//! record has been unchanged *as they observed it* (not by comparing clocks), as client-go does.
//!
//! With one shard (the default) there is one Lease (`prescale-operator`, [`Elector`]): its
//! holder writes everything, the others follow. With `--shards N` ([`shards`]) every
//! ScaledObject belongs to shard `fnv1a(namespace/name) mod N` ([`shard`]), each shard has its
//! own Lease, replicas share them out ([`plan`]), and a replica writes only the objects of the
//! shards it holds. Cluster-wide writes (serving certificate, ScaledJobs) follow shard 0.
//!
//! Writers call [`Leadership::is_leader`] right before each write; a shard drops the moment a
//! renewal cannot be confirmed within the lease duration, before another replica may take over.

pub mod lease;
pub mod plan;
pub mod shard;
pub mod shards;

pub use lease::{Elector, LeaseConfig, LeaseError};
pub use shards::{ShardConfig, ShardManager};

use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// The shards this replica holds now, out of how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    held: Vec<bool>,
}

impl Held {
    /// None of `shards` held.
    pub fn none(shards: u32) -> Self {
        Self {
            held: vec![false; shards.max(1) as usize],
        }
    }

    /// One shard (no sharding), held or not.
    pub fn single(held: bool) -> Self {
        Self { held: vec![held] }
    }

    /// How many shards there are.
    pub fn shards(&self) -> u32 {
        self.held.len() as u32
    }

    pub fn holds(&self, shard: u32) -> bool {
        self.held.get(shard as usize).copied().unwrap_or(false)
    }

    pub fn set(&mut self, shard: u32, held: bool) {
        if let Some(h) = self.held.get_mut(shard as usize) {
            *h = held;
        }
    }

    /// How many are held.
    pub fn count(&self) -> usize {
        self.held.iter().filter(|h| **h).count()
    }

    /// The held shards, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.held
            .iter()
            .enumerate()
            .filter(|(_, h)| **h)
            .map(|(i, _)| i as u32)
    }
}

/// Where each shard's holder serves the metrics API (from the shard Leases), for forwarding.
#[derive(Debug, Clone, Default)]
pub struct Directory(Arc<RwLock<Vec<Option<Holder>>>>);

/// A shard's holder as its Lease names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub identity: String,
    /// `host:port` of its metrics API (None when it advertises none).
    pub address: Option<String>,
}

impl Directory {
    pub fn holder(&self, shard: u32) -> Option<Holder> {
        let d = self.0.read().unwrap_or_else(|e| e.into_inner());
        d.get(shard as usize).cloned().flatten()
    }

    pub(crate) fn set(&self, holders: Vec<Option<Holder>>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = holders;
    }
}

/// A read handle on the election result, optionally scoped to one shard (the handle a
/// ScaledObject's reconcile and poll loop write through).
#[derive(Debug, Clone)]
pub struct Leadership {
    rx: watch::Receiver<Held>,
    /// The shard this handle answers for; None: shard 0 (cluster-wide writes).
    scope: Option<u32>,
    directory: Directory,
}

impl Leadership {
    pub(crate) fn new(rx: watch::Receiver<Held>, directory: Directory) -> Self {
        Self {
            rx,
            scope: None,
            directory,
        }
    }

    /// Whether this replica may write now (for a scoped handle: its shard; else shard 0).
    pub fn is_leader(&self) -> bool {
        self.rx.borrow().holds(self.scope.unwrap_or(0))
    }

    /// Whether this replica holds the shard of the object `namespace/name`.
    pub fn holds_object(&self, namespace: &str, name: &str) -> bool {
        let held = self.rx.borrow();
        held.holds(shard::shard_of(namespace, name, held.shards()))
    }

    /// The shard of `namespace/name`.
    pub fn shard_of(&self, namespace: &str, name: &str) -> u32 {
        shard::shard_of(namespace, name, self.rx.borrow().shards())
    }

    /// Whether objects are spread over more than one shard (`--shards` > 1).
    pub fn sharded(&self) -> bool {
        self.rx.borrow().shards() > 1
    }

    /// The shards held now.
    pub fn held(&self) -> Held {
        self.rx.borrow().clone()
    }

    /// This handle answering for the shard of `namespace/name` only.
    pub fn scoped(&self, namespace: &str, name: &str) -> Self {
        Self {
            scope: Some(self.shard_of(namespace, name)),
            ..self.clone()
        }
    }

    /// The holder of `shard` as last seen (sharded mode only).
    pub fn holder(&self, shard: u32) -> Option<Holder> {
        self.directory.holder(shard)
    }

    /// Waits until the held shards change; `false` when the election task is gone.
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }

    /// A handle that is always leader (single-replica mode and tests): the value stays `true`
    /// after its sender is gone, and `changed` reports the end at once (nothing to wait for).
    pub fn always() -> Self {
        let (_tx, rx) = watch::channel(Held::single(true));
        Self::new(rx, Directory::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scoped_handle_answers_for_its_objects_shard_and_an_unscoped_one_for_shard_0() {
        let (tx, rx) = watch::channel(Held::none(4));
        let l = Leadership::new(rx, Directory::default());
        // find two objects in different shards
        let a = ("ns", "a");
        let shard_a = shard::shard_of(a.0, a.1, 4);
        let scoped = l.scoped(a.0, a.1);
        assert!(!scoped.is_leader() && !l.is_leader());
        let mut h = Held::none(4);
        h.set(shard_a, true);
        tx.send(h).unwrap();
        assert!(scoped.is_leader());
        assert!(l.holds_object(a.0, a.1));
        assert_eq!(l.is_leader(), shard_a == 0);
        assert!(l.sharded());
        assert_eq!(l.held().count(), 1);
    }

    #[test]
    fn always_leads_with_one_shard() {
        let l = Leadership::always();
        assert!(l.is_leader() && !l.sharded() && l.holds_object("x", "y"));
    }
}
