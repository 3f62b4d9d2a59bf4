//! Leader election with a `coordination.k8s.io/v1` Lease: every replica keeps its caches warm,
//! only the holder polls sources and writes. Followers judge expiry by how long the record has
//! been unchanged *as they observed it* (not by comparing clocks), as client-go does.
//!
//! Writers call [`Leadership::is_leader`] right before each write; the flag drops the moment a
//! renewal cannot be confirmed within the lease duration, before another replica may take over.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Where the Lease lives and how it is held.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (pod name).
    pub identity: String,
    /// How long a holder's claim is valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews (and followers retry).
    pub renew_interval: Duration,
}

/// A read handle on the election result.
#[derive(Debug, Clone)]
pub struct Leadership(watch::Receiver<bool>);

impl Leadership {
    /// Whether this replica may write now.
    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until leadership changes; `false` when the election task is gone.
    pub async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }

    /// A handle that is always leader (single-replica mode and tests): the value stays `true`
    /// after its sender is gone, and `changed` reports the end at once (nothing to wait for).
    pub fn always() -> Self {
        let (_tx, rx) = watch::channel(true);
        Self(rx)
    }
}

/// Why the election task stopped.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease {0}: {1}")]
    Api(String, #[source] kube::Error),
}

/// The election loop's state.
pub struct Elector {
    api: Api<Lease>,
    cfg: LeaseConfig,
    tx: watch::Sender<bool>,
    /// The holder/renewTime we last saw, and when we first saw it.
    observed: Option<(Option<String>, Option<MicroTime>, Instant)>,
    /// When our own last renewal was confirmed.
    renewed_at: Option<Instant>,
}

impl Elector {
    pub fn new(client: Client, cfg: LeaseConfig) -> (Self, Leadership) {
        let (tx, rx) = watch::channel(false);
        let api = Api::namespaced(client, &cfg.namespace);
        (
            Self {
                api,
                cfg,
                tx,
                observed: None,
                renewed_at: None,
            },
            Leadership(rx),
        )
    }

    fn set_leader(&self, leader: bool) {
        if *self.tx.borrow() != leader {
            tracing::info!(identity = %self.cfg.identity, leader, "leadership changed");
            let _ = self.tx.send(leader);
        }
    }

    /// Runs until `shutdown` resolves, then releases the lease if held. API errors are logged
    /// and retried; they demote this replica once its claim can no longer be confirmed.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.tick().await {
                // an API that does not answer is logged once by `api_health`
                Err(LeaseError::Api(_, ref e)) if !matches!(e, kube::Error::Api(_)) => {
                    tracing::debug!(error = %e, "lease round failed")
                }
                Err(e) => tracing::warn!(error = %e, "lease round failed"),
                Ok(()) => {}
            }
            // demote as soon as our claim can no longer be confirmed
            if let Some(at) = self.renewed_at
                && at.elapsed() >= self.cfg.lease_duration
            {
                self.renewed_at = None;
                self.set_leader(false);
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.cfg.renew_interval) => {}
            }
        }
        self.release().await;
    }

    /// One round: create, renew, observe or take over.
    pub async fn tick(&mut self) -> Result<(), LeaseError> {
        let name = self.cfg.name.clone();
        let err = |e| LeaseError::Api(name.clone(), e);
        let now = MicroTime(Timestamp::now());
        let Some(mut lease) = self.api.get_opt(&self.cfg.name).await.map_err(err)? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.claim(None, &now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.renewed_at = Some(Instant::now());
                    self.set_leader(true);
                    Ok(())
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                Err(e) => Err(err(e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(self.cfg.identity.as_str());
        let record = (holder.clone(), spec.renew_time.clone());
        let unchanged_since = match &self.observed {
            Some((h, r, at)) if (h, r) == (&record.0, &record.1) => *at,
            _ => Instant::now(),
        };
        self.observed = Some((record.0, record.1, unchanged_since));
        let duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(1) as u64))
            .unwrap_or(self.cfg.lease_duration);
        let expired = holder.is_none() || unchanged_since.elapsed() >= duration;
        if !mine && !expired {
            self.renewed_at = None;
            self.set_leader(false);
            return Ok(());
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        let acquire = if mine {
            spec.acquire_time.clone()
        } else {
            None
        };
        lease.spec = Some(self.claim(acquire, &now, transitions));
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.renewed_at = Some(Instant::now());
                self.set_leader(true);
                Ok(())
            }
            // somebody else wrote first: they hold it (or renewed); observe next round
            Err(kube::Error::Api(s)) if s.code == 409 => {
                if !mine {
                    self.set_leader(false);
                }
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    fn claim(&self, acquired: Option<MicroTime>, now: &MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(self.cfg.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now.clone()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Gives the lease up (shutdown): stop writing first, then clear the holder so another
    /// replica takes over without waiting for expiry.
    pub async fn release(&mut self) {
        let was_leader = *self.tx.borrow();
        self.set_leader(false);
        if !was_leader {
            return;
        }
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.name).await {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() == Some(self.cfg.identity.as_str()) {
                spec.holder_identity = None;
                spec.lease_duration_seconds = Some(1);
                let _ = self
                    .api
                    .replace(&self.cfg.name, &PostParams::default(), &lease)
                    .await;
            }
        }
    }
}
