//! `--shards N`: one Lease per shard (`prescale-shard-<i>`) and one presence Lease per replica
//! (`prescale-replica-<identity>`) in the operator's namespace. Each round the manager lists
//! the Leases once, renews its presence, decides with [`super::plan::decide`] which shards to
//! hold, releases its surplus (writes stop first: the held set drops the shard, its poll
//! loops are stopped by the operator, and the Lease is cleared only after a short drain), then
//! renews and takes. Shard Leases carry the holder's metrics API address (annotation
//! [`ADDRESS_ANNOTATION`]) so other replicas can forward metric requests to it. A replica
//! deletes its presence Lease when it stops, and the presence Leases of crashed replicas once
//! they have stayed unchanged for [`PRESENCE_GONE_AFTER`] lease durations.

use super::lease::{Claimant, LeaseError, Observed};
use super::plan::{self, ShardView};
use super::{Directory, Held, Holder, Leadership};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The annotation on a shard Lease with its holder's metrics API `host:port`.
pub const ADDRESS_ANNOTATION: &str = "prescale.sh/metrics-api-address";
const SHARD_PREFIX: &str = "prescale-shard-";
const PRESENCE_PREFIX: &str = "prescale-replica-";
/// A presence Lease unchanged for this many lease durations is deleted.
const PRESENCE_GONE_AFTER: u32 = 5;

/// The name of shard `i`'s Lease.
pub fn shard_lease(i: u32) -> String {
    format!("{SHARD_PREFIX}{i}")
}

/// The name of a replica's presence Lease.
pub fn presence_lease(identity: &str) -> String {
    format!("{PRESENCE_PREFIX}{identity}")
}

/// How the shards are held.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    pub namespace: String,
    pub identity: String,
    pub shards: u32,
    pub lease_duration: Duration,
    pub renew_interval: Duration,
    /// This replica's metrics API `host:port`, written into the shard Leases it holds.
    pub address: Option<String>,
}

/// The shard Leases' loop.
pub struct ShardManager {
    cfg: ShardConfig,
    claimant: Claimant,
    tx: watch::Sender<Held>,
    directory: Directory,
    observed: Observed,
    /// When each held shard's last renewal was confirmed.
    renewed: HashMap<u32, Instant>,
}

impl ShardManager {
    pub fn new(client: Client, cfg: ShardConfig) -> (Self, Leadership) {
        let (tx, rx) = watch::channel(Held::none(cfg.shards));
        let directory = Directory::default();
        let annotations = cfg
            .address
            .iter()
            .map(|a| (ADDRESS_ANNOTATION.to_string(), a.clone()))
            .collect::<BTreeMap<_, _>>();
        let claimant = Claimant {
            api: Api::namespaced(client, &cfg.namespace),
            identity: cfg.identity.clone(),
            lease_duration: cfg.lease_duration,
            annotations,
        };
        let leadership = Leadership::new(rx, directory.clone());
        let manager = Self {
            cfg,
            claimant,
            tx,
            directory,
            observed: Observed::default(),
            renewed: HashMap::new(),
        };
        (manager, leadership)
    }

    fn set(&self, shard: u32, held: bool) {
        if self.tx.borrow().holds(shard) == held {
            return;
        }
        self.tx.send_modify(|h| h.set(shard, held));
        let total = self.tx.borrow().count();
        if held {
            tracing::info!(identity = %self.cfg.identity, shard, held = total, "shard gained");
        } else {
            tracing::info!(identity = %self.cfg.identity, shard, held = total, "shard lost");
        }
    }

    /// Runs until `shutdown` resolves, then releases every shard and the presence Lease.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.tick().await {
                e.log();
            }
            // a shard whose claim can no longer be confirmed is dropped before anyone may
            // take it over
            let lapsed: Vec<u32> = self
                .renewed
                .iter()
                .filter(|(_, at)| at.elapsed() >= self.cfg.lease_duration)
                .map(|(s, _)| *s)
                .collect();
            for s in lapsed {
                self.renewed.remove(&s);
                self.set(s, false);
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.cfg.renew_interval) => {}
            }
        }
        let held: Vec<u32> = self.tx.borrow().iter().collect();
        for s in &held {
            self.set(*s, false);
        }
        for s in held {
            self.claimant.release(&shard_lease(s)).await;
        }
        // gone for good: the presence Lease is deleted (cleared if that is not allowed)
        let presence = presence_lease(&self.cfg.identity);
        if self.delete(&presence, None).await.is_err() {
            self.claimant.release(&presence).await;
        }
    }

    /// Deletes the Lease `name` (only at `resource_version`, when given).
    async fn delete(
        &self,
        name: &str,
        resource_version: Option<String>,
    ) -> Result<(), kube::Error> {
        let dp = DeleteParams {
            preconditions: resource_version.map(|rv| Preconditions {
                resource_version: Some(rv),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        match self.claimant.api.delete(name, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the presence Leases of replicas gone for a while (crashed: a replica that stops
    /// deletes its own), unless renewed meanwhile.
    async fn collect_presence(&mut self, leases: &HashMap<String, Lease>, presence: &str) {
        let gone = self.cfg.lease_duration * PRESENCE_GONE_AFTER;
        for (name, lease) in leases {
            if !name.starts_with(PRESENCE_PREFIX) || name == presence {
                continue;
            }
            if self.observed.unchanged_for(name).is_some_and(|d| d >= gone)
                && self.delete(name, lease.resource_version()).await.is_ok()
            {
                tracing::info!(lease = %name, "deleted the presence Lease of a replica gone");
                self.observed.forget(name);
            }
        }
    }

    /// One round: list, renew presence, decide, release, renew and take.
    pub async fn tick(&mut self) -> Result<(), LeaseError> {
        let ns = &self.cfg.namespace;
        let leases: HashMap<String, Lease> = self
            .claimant
            .api
            .list(&ListParams::default())
            .await
            .map_err(|e| LeaseError::Api(format!("{ns}/*"), e))?
            .items
            .into_iter()
            .map(|l| (l.name_any(), l))
            .collect();
        let presence = presence_lease(&self.cfg.identity);
        self.claimant
            .claim(&presence, leases.get(&presence).cloned())
            .await?;
        let d = self.cfg.lease_duration;
        let others_live = leases
            .iter()
            .filter(|(n, _)| n.starts_with(PRESENCE_PREFIX) && **n != presence)
            .filter(|(n, l)| !self.observed.see(n, Some(l), d).expired)
            .count();
        let views: Vec<ShardView> = (0..self.cfg.shards)
            .map(|i| {
                let name = shard_lease(i);
                let seen = self.observed.see(&name, leases.get(&name), d);
                ShardView {
                    holder: seen.holder,
                    expired: seen.expired,
                }
            })
            .collect();
        self.publish_holders(&views, &leases);
        self.collect_presence(&leases, &presence).await;
        // a shard another replica holds now is no longer ours, whatever we renewed
        let held: Vec<u32> = self.tx.borrow().iter().collect();
        for s in held {
            if views[s as usize].holder.as_deref() != Some(self.cfg.identity.as_str()) {
                self.renewed.remove(&s);
                self.set(s, false);
            }
        }
        let decision = plan::decide(&self.cfg.identity, &views, others_live + 1);
        if !decision.release.is_empty() {
            self.release(&decision.release).await;
        }
        for s in decision.hold {
            let name = shard_lease(s);
            match self.claimant.claim(&name, leases.get(&name).cloned()).await {
                Ok(true) => {
                    self.renewed.insert(s, Instant::now());
                    self.set(s, true);
                }
                // somebody else wrote first: observe next round
                Ok(false) => {}
                Err(e) => e.log(),
            }
        }
        Ok(())
    }

    /// Stops writing `shards` (the held set drops them and the operator stops their poll
    /// loops), waits for writes already under way, then clears their Leases.
    async fn release(&mut self, shards: &[u32]) {
        for s in shards {
            self.renewed.remove(s);
            self.set(*s, false);
        }
        tokio::time::sleep(self.cfg.renew_interval.min(Duration::from_secs(1))).await;
        for s in shards {
            self.claimant.release(&shard_lease(*s)).await;
        }
    }

    fn publish_holders(&self, views: &[ShardView], leases: &HashMap<String, Lease>) {
        let holders = views
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let identity = v.holder.clone().filter(|_| !v.expired)?;
                let address = leases
                    .get(&shard_lease(i as u32))
                    .and_then(|l| l.annotations().get(ADDRESS_ANNOTATION).cloned());
                Some(Holder { identity, address })
            })
            .collect();
        self.directory.set(holders);
    }
}
