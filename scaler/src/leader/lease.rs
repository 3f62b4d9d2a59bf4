//! One Lease's take / renew / expire / release, shared by the single leader Lease
//! ([`Elector`]) and the shard and presence Leases of [`super::shards`].

use super::{Directory, Held, Leadership};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use std::collections::{BTreeMap, HashMap};
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

/// Why a lease round failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease {0}: {1}")]
    Api(String, #[source] kube::Error),
}

impl LeaseError {
    /// Logs a failed round: an API that does not answer is logged once by `api_health`.
    pub fn log(&self) {
        match self {
            LeaseError::Api(_, e) if !matches!(e, kube::Error::Api(_)) => {
                tracing::debug!(error = %self, "lease round failed")
            }
            _ => tracing::warn!(error = %self, "lease round failed"),
        }
    }
}

/// A Lease as one observer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub holder: Option<String>,
    /// Unchanged (as observed) for longer than its duration, or held by nobody.
    pub expired: bool,
}

/// What an observer saw of each Lease, and since when, to judge expiry without comparing
/// clocks.
#[derive(Debug, Default)]
pub struct Observed(HashMap<String, (Option<String>, Option<MicroTime>, Instant)>);

impl Observed {
    /// How long the record of `name` has stayed unchanged as observed (None: never seen).
    pub fn unchanged_for(&self, name: &str) -> Option<Duration> {
        self.0.get(name).map(|(_, _, since)| since.elapsed())
    }

    /// Forgets `name` (deleted).
    pub fn forget(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// Records `lease` (None: it does not exist) and says who holds it.
    pub fn see(&mut self, name: &str, lease: Option<&Lease>, default: Duration) -> Seen {
        let spec = lease.and_then(|l| l.spec.clone()).unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let record = (holder.clone(), spec.renew_time.clone());
        let since = match self.0.get(name) {
            Some((h, r, at)) if (h, r) == (&record.0, &record.1) => *at,
            _ => Instant::now(),
        };
        self.0.insert(name.to_string(), (record.0, record.1, since));
        let duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(1) as u64))
            .unwrap_or(default);
        Seen {
            expired: holder.is_none() || since.elapsed() >= duration,
            holder,
        }
    }
}

/// Writes Leases as one identity.
#[derive(Clone)]
pub struct Claimant {
    pub api: Api<Lease>,
    pub identity: String,
    pub lease_duration: Duration,
    /// Written on every claim (e.g. the metrics API address).
    pub annotations: BTreeMap<String, String>,
}

impl Claimant {
    fn spec(&self, acquired: Option<MicroTime>, now: &MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now.clone()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Creates `name` held by us, or writes our claim over `current` (a renewal when ours, a
    /// take-over otherwise; the caller decides that it may). `Ok(false)`: somebody else wrote
    /// first (409), they hold it.
    pub async fn claim(&self, name: &str, current: Option<Lease>) -> Result<bool, LeaseError> {
        let err = |e| LeaseError::Api(name.to_string(), e);
        let now = MicroTime(Timestamp::now());
        let annotations = (!self.annotations.is_empty()).then(|| self.annotations.clone());
        let res = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        annotations,
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.spec(None, &now, 0)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                let spec = lease.spec.clone().unwrap_or_default();
                let mine = spec.holder_identity.as_deref() == Some(self.identity.as_str());
                let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
                let acquired = if mine { spec.acquire_time } else { None };
                lease.spec = Some(self.spec(acquired, &now, transitions));
                if let Some(a) = annotations {
                    lease.metadata.annotations.get_or_insert_default().extend(a);
                }
                self.api.replace(name, &PostParams::default(), &lease).await
            }
        };
        match res {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    /// Clears our hold on `name` so another replica takes it without waiting for expiry.
    pub async fn release(&self, name: &str) {
        if let Ok(Some(mut lease)) = self.api.get_opt(name).await {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() == Some(self.identity.as_str()) {
                spec.holder_identity = None;
                spec.lease_duration_seconds = Some(1);
                let _ = self.api.replace(name, &PostParams::default(), &lease).await;
            }
        }
    }
}

/// The single leader Lease (`--shards 1`).
pub struct Elector {
    cfg: LeaseConfig,
    claimant: Claimant,
    tx: watch::Sender<Held>,
    observed: Observed,
    /// When our own last renewal was confirmed.
    renewed_at: Option<Instant>,
}

impl Elector {
    pub fn new(client: Client, cfg: LeaseConfig) -> (Self, Leadership) {
        let (tx, rx) = watch::channel(Held::single(false));
        let claimant = Claimant {
            api: Api::namespaced(client, &cfg.namespace),
            identity: cfg.identity.clone(),
            lease_duration: cfg.lease_duration,
            annotations: BTreeMap::new(),
        };
        (
            Self {
                cfg,
                claimant,
                tx,
                observed: Observed::default(),
                renewed_at: None,
            },
            Leadership::new(rx, Directory::default()),
        )
    }

    fn set_leader(&self, leader: bool) {
        if self.tx.borrow().holds(0) != leader {
            tracing::info!(identity = %self.cfg.identity, leader, "leadership changed");
            let _ = self.tx.send(Held::single(leader));
        }
    }

    /// Runs until `shutdown` resolves, then releases the lease if held. API errors are logged
    /// and retried; they demote this replica once its claim can no longer be confirmed.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.tick().await {
                e.log();
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
        let current = self
            .claimant
            .api
            .get_opt(&name)
            .await
            .map_err(|e| LeaseError::Api(name.clone(), e))?;
        let seen = self
            .observed
            .see(&name, current.as_ref(), self.cfg.lease_duration);
        let mine = seen.holder.as_deref() == Some(self.cfg.identity.as_str());
        if current.is_some() && !mine && !seen.expired {
            self.renewed_at = None;
            self.set_leader(false);
            return Ok(());
        }
        if self.claimant.claim(&name, current).await? {
            self.renewed_at = Some(Instant::now());
            self.set_leader(true);
        } else if !mine {
            // somebody else wrote first: they hold it (or renewed); observe next round
            self.set_leader(false);
        }
        Ok(())
    }

    /// Gives the lease up (shutdown): stop writing first, then clear the holder so another
    /// replica takes over without waiting for expiry.
    pub async fn release(&mut self) {
        let was_leader = self.tx.borrow().holds(0);
        self.set_leader(false);
        if was_leader {
            self.claimant.release(&self.cfg.name).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed_s: i64) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                lease_duration_seconds: Some(2),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed_s).unwrap())),
                ..LeaseSpec::default()
            }),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_is_judged_by_how_long_the_record_stayed_unchanged_as_observed() {
        let mut o = Observed::default();
        let d = Duration::from_secs(15);
        let seen = |holder: Option<&str>, expired| Seen {
            holder: holder.map(str::to_string),
            expired,
        };
        // a renewal time far in the past does not matter: only what we saw change
        assert_eq!(
            o.see("l", Some(&lease(Some("a"), 0)), d),
            seen(Some("a"), false)
        );
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(
            o.see("l", Some(&lease(Some("a"), 0)), d),
            seen(Some("a"), false)
        );
        // unchanged for the Lease's own duration (2 s, not the default): expired
        tokio::time::advance(Duration::from_millis(600)).await;
        assert_eq!(
            o.see("l", Some(&lease(Some("a"), 0)), d),
            seen(Some("a"), true)
        );
        // renewed: live again
        assert_eq!(
            o.see("l", Some(&lease(Some("a"), 1)), d),
            seen(Some("a"), false)
        );
        // released (no holder) or missing: free at once
        assert_eq!(o.see("l", Some(&lease(None, 2)), d), seen(None, true));
        assert_eq!(o.see("m", None, d), seen(None, true));
        // another Lease is judged on its own
        assert_eq!(
            o.see("n", Some(&lease(Some("b"), 0)), d),
            seen(Some("b"), false)
        );
    }
}
