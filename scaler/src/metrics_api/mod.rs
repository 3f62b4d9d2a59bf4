//! The operator's side of the external metrics API: a `MetricProvider` over the MetricStore.
//! Every replica polls (followers run the same poll loops and write nothing), so every replica
//! answers for every ScaledObject from what it read itself; the cost is that each source is
//! asked once per replica per polling interval. A value older than the max age (default
//! 2 × pollingInterval) makes the object's loop poll at once; if no fresh value arrives in
//! time the request fails instead of being answered with a stale value.
//!
//! With `--shards`, a replica polls only the objects of the shards it holds: it answers
//! those from its MetricStore and forwards the others to their holder ([`forward`]).

pub mod forward;

use crate::api::ScaledObject;
use crate::leader::Leadership;
use crate::metric_store::{MetricRecord, MetricStore};
use crate::poller::Pollers;
use async_trait::async_trait;
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prescale_metrics_adapter::{ExternalMetricValue, MetricProvider, ProviderError, Selector};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::api::SCALED_OBJECT_NAME_LABEL as SCALED_OBJECT_LABEL;

pub struct StoreProvider {
    pub store: Arc<MetricStore>,
    pub scaled_objects: Store<ScaledObject>,
    pub pollers: Pollers,
    /// A fixed max age; None means 2 × the object's pollingInterval.
    pub max_age: Option<Duration>,
    /// Which shards this replica holds, and who holds the others.
    pub leadership: Leadership,
    /// How requests for other replicas' shards are forwarded (`--shards`).
    pub forwarder: Option<forward::Forwarder>,
}

fn age(r: &MetricRecord) -> Duration {
    (chrono::Utc::now() - r.timestamp)
        .to_std()
        .unwrap_or_default()
}

impl StoreProvider {
    /// Asks the object's loop to poll now and waits up to `within` for a record newer than
    /// `after` (any record when `after` is None).
    async fn evaluate_now(
        &self,
        namespace: &str,
        name: &str,
        metric_name: &str,
        after: Option<chrono::DateTime<chrono::Utc>>,
        within: Duration,
    ) -> Option<MetricRecord> {
        if !self.pollers.poke(namespace, name) {
            return None;
        }
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some((r, _)) = self.store.get(namespace, name, metric_name)
                && after.is_none_or(|t| r.timestamp > t)
            {
                return Some(r);
            }
        }
        None
    }

    /// The record, evaluated now when missing (the first tick is jittered) or older than the
    /// max age.
    async fn fresh(
        &self,
        namespace: &str,
        name: &str,
        metric_name: &str,
    ) -> Result<Option<MetricRecord>, ProviderError> {
        let Some((record, interval)) = self.store.get(namespace, name, metric_name) else {
            return Ok(self
                .evaluate_now(namespace, name, metric_name, None, Duration::from_secs(5))
                .await);
        };
        let max_age = self
            .max_age
            .unwrap_or(Duration::from_secs(2 * u64::from(interval.max(1))));
        if age(&record) <= max_age {
            return Ok(Some(record));
        }
        if let Some(r) = self
            .evaluate_now(
                namespace,
                name,
                metric_name,
                Some(record.timestamp),
                max_age.min(Duration::from_secs(5)),
            )
            .await
        {
            return Ok(Some(r));
        }
        Err(ProviderError::Internal(format!(
            "metric:{} the last value is {}s old (max {}s) and a fresh evaluation did not finish in time",
            record.metric_name,
            age(&record).as_secs(),
            max_age.as_secs()
        )))
    }
}

impl StoreProvider {
    /// The values of an object of another replica's shard, from that replica.
    async fn elsewhere(
        &self,
        namespace: &str,
        metric_name: &str,
        name: &str,
        forwarded: bool,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        let shard = self.leadership.shard_of(namespace, name);
        let unavailable = |why: &str| {
            Err(ProviderError::Unavailable(format!(
                "metric:{metric_name} of {namespace}/{name}: shard {shard} {why}"
            )))
        };
        if forwarded {
            // forwarded to us as its holder, but the shard moved: no second hop
            return unavailable("is not held by this replica (it moved)");
        }
        let Some(holder) = self.leadership.holder(shard) else {
            return unavailable("has no live holder right now");
        };
        let (Some(address), Some(f)) = (holder.address.as_deref(), self.forwarder.as_ref()) else {
            return unavailable(&format!(
                "is held by {} which advertises no metrics API address",
                holder.identity
            ));
        };
        f.get(address, shard, namespace, metric_name, name).await
    }
}

#[async_trait]
impl MetricProvider for StoreProvider {
    async fn get_external_metric(
        &self,
        namespace: &str,
        metric_name: &str,
        selector: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        // the ScaledObjects of this namespace the selector matches (KEDA requires the name label)
        let names: Vec<String> = match selector.exact_value(SCALED_OBJECT_LABEL) {
            Some(name) => vec![name.to_string()],
            None => self
                .scaled_objects
                .state()
                .iter()
                .filter(|so| {
                    so.namespace().as_deref() == Some(namespace) && selector.matches(so.labels())
                })
                .map(|so| so.name_any())
                .collect(),
        };
        let forwarded = selector.exact_value(forward::FORWARDED_LABEL).is_some();
        let mut out = Vec::new();
        for name in names {
            if !self.leadership.holds_object(namespace, &name) && self.leadership.sharded() {
                out.extend(
                    self.elsewhere(namespace, metric_name, &name, forwarded)
                        .await?,
                );
                continue;
            }
            let Some(record) = self.fresh(namespace, &name, metric_name).await? else {
                continue;
            };
            match record.value {
                Some(v) => out.push(ExternalMetricValue {
                    metric_name: record.metric_name.clone(),
                    labels: BTreeMap::new(),
                    timestamp: record.timestamp,
                    value: v,
                }),
                None => {
                    return Err(ProviderError::Internal(format!(
                        "metric:{} encountered error: {}",
                        record.metric_name,
                        record.error.unwrap_or_else(|| "no value".into())
                    )));
                }
            }
        }
        if out.is_empty() {
            return Err(ProviderError::NotFound(format!(
                "no matching metrics found for {metric_name}"
            )));
        }
        Ok(out)
    }

    async fn list_external_metrics(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .scaled_objects
            .state()
            .iter()
            .filter_map(|so| so.status.clone())
            .flat_map(|s| {
                s.external_metric_names
                    .into_iter()
                    .chain(s.composite_scaler_name)
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Any replica can answer (readiness also waits for the caches and the API, see
    /// `telemetry::admin`).
    fn ready(&self) -> bool {
        true
    }
}
