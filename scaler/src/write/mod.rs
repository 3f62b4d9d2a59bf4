//! The one writer per kind of object. Everything the operator changes in the cluster goes
//! through a [`Writer`]: a ScaledObject's status and label ([`status`]), its HPA ([`hpa`]), its
//! target's `/scale` ([`scale`]) and its Events ([`events`]). Each write checks the lease right
//! before it goes out, so a replica that lost leadership mid-step writes nothing more.
//!
//! The reconcile and the poll loop decide what to write with pure functions
//! (`controller::plan`, `poller::step`) and hand the result to this module.

pub mod admission;
pub mod events;
pub mod finalizer;
pub mod hpa;
pub mod scale;
pub mod status;

use crate::leader::Leadership;
use events::Events;

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
        }
    }

    /// Whether writes go out now.
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
