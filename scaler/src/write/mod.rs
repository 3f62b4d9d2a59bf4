//! The one writer per kind of object. Everything the operator changes in the cluster goes
//! through a [`Writer`]: a ScaledObject's status and label ([`status`]), its HPA ([`hpa`]), its
//! target's `/scale` ([`scale`]) and its Events ([`events`]); a ScaledJob's Jobs and status
//! ([`jobs`]). Each write checks the lease right
//! before it goes out, so a replica that lost leadership mid-step writes nothing more. With
//! `--shards` the reconcile and poll loop of a ScaledObject write through
//! [`Writer::scoped`], which checks the Lease of that object's shard; the unscoped writer
//! (cluster-wide writes, ScaledJobs) checks shard 0's.
//!
//! The reconcile and the poll loop decide what to write with pure functions
//! (`controller::plan`, `poller::step`) and hand the result to this module.

pub mod admission;
pub mod events;
pub mod finalizer;
pub mod hpa;
pub mod jobs;
pub mod scale;
pub mod serving_cert;
pub mod status;

use crate::api::ScaledObject;
use crate::leader::Leadership;
use events::Events;
use std::collections::HashMap;

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// This replica does not hold the lease (any more): nothing was sent.
    #[error("not the leader")]
    NotLeader,
    #[error("{}", crate::kube_client::kube_error_text(.0))]
    Kube(#[source] kube::Error),
}

impl Error {
    /// The API's answer, for conditions, Events and logs (API errors carry no credentials).
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// Whether the API said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Kube(kube::Error::Api(s)) if s.code == 404)
    }
}

/// Writes for the operator, as one field manager, only while this replica leads.
#[derive(Clone)]
pub struct Writer {
    client: kube::Client,
    leader: Leadership,
    field_manager: String,
    pub events: Events,
    /// The resourceVersion each ScaledObject got from this writer's last write to it.
    written: Written,
    /// Per HPA (namespace, name): the resourceVersion and spec hash of this writer's last
    /// apply (see [`Writer::hpa_applied_after`]).
    hpas_written: HpasWritten,
}

/// (namespace, HPA name) → (resourceVersion, spec hash) of the last apply.
type HpasWritten = std::sync::Arc<std::sync::Mutex<HashMap<(String, String), (u64, u64)>>>;

/// The resourceVersion of the last write per ScaledObject, so that a read older than it (the
/// cache has not seen the write yet) is not acted on twice: its newer version is on its way
/// through the watch. Versions are compared as the integers every apiserver hands out (etcd
/// revisions); one that does not parse is never called stale.
#[derive(Clone, Default)]
pub struct Written(std::sync::Arc<std::sync::Mutex<HashMap<(String, String), u64>>>);

/// An object's resourceVersion as the integer every apiserver hands out (etcd revisions).
fn resource_version<K: kube::Resource>(obj: &K) -> Option<u64> {
    obj.meta().resource_version.as_deref()?.parse().ok()
}

impl Written {
    fn key(so: &ScaledObject) -> (String, String) {
        (
            so.metadata.namespace.clone().unwrap_or_default(),
            so.metadata.name.clone().unwrap_or_default(),
        )
    }

    /// Records what a write returned.
    pub fn record(&self, so: &ScaledObject) {
        if let Some(v) = resource_version(so) {
            let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let e = m.entry(Self::key(so)).or_default();
            *e = (*e).max(v);
        }
    }

    /// Whether `so` is older than this writer's last write to it.
    pub fn stale(&self, so: &ScaledObject) -> bool {
        let Some(v) = resource_version(so) else {
            return false;
        };
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&Self::key(so)).is_some_and(|w| v < *w)
    }

    /// Forgets a deleted ScaledObject.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(namespace.to_string(), name.to_string()));
    }
}

impl Writer {
    pub fn new(
        client: kube::Client,
        leader: Leadership,
        field_manager: String,
        events: Events,
    ) -> Self {
        Self {
            client,
            leader,
            field_manager,
            events,
            written: Written::default(),
            hpas_written: Default::default(),
        }
    }

    /// Whether `so` was read before this writer's last write to it (see [`Written`]).
    pub fn stale(&self, so: &ScaledObject) -> bool {
        self.written.stale(so)
    }

    /// Forgets a deleted ScaledObject's last write.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.written.forget(namespace, name);
    }

    /// This writer gated by the shard of the ScaledObject `namespace/name`: two replicas
    /// never write the same object.
    pub fn scoped(&self, namespace: &str, name: &str) -> Self {
        Self {
            leader: self.leader.scoped(namespace, name),
            events: self.events.scoped(namespace, name),
            ..self.clone()
        }
    }

    /// Whether writes go out now (for a scoped writer: its object's shard is held).
    pub fn leads(&self) -> bool {
        self.leader.is_leader()
    }

    fn check(&self) -> Result<(), Error> {
        if self.leads() {
            Ok(())
        } else {
            Err(Error::NotLeader)
        }
    }
}
