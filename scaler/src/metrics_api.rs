//! The operator's side of the external metrics API: a `MetricProvider` over the MetricStore.
//! Only the leader polls, so only the leader answers; a follower says 503 rather than serve
//! values it never read (the Service then needs readiness tied to leadership, see DESIGN).

use crate::api::ScaledObject;
use crate::leader::Leadership;
use crate::store::MetricStore;
use async_trait::async_trait;
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prescale_metrics_adapter::{ExternalMetricValue, MetricProvider, ProviderError, Selector};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const SCALED_OBJECT_LABEL: &str = "scaledobject.keda.sh/name";

pub struct StoreProvider {
    pub store: Arc<MetricStore>,
    pub scaled_objects: Store<ScaledObject>,
    pub leader: Leadership,
}

#[async_trait]
impl MetricProvider for StoreProvider {
    async fn get_external_metric(
        &self,
        namespace: &str,
        metric_name: &str,
        selector: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        if !self.leader.is_leader() {
            return Err(ProviderError::Unavailable(
                "this replica is not the leader; it does not poll sources".into(),
            ));
        }
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
        let mut out = Vec::new();
        for name in names {
            let Some((record, _interval)) = self.store.get(namespace, &name, metric_name) else {
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

    fn ready(&self) -> bool {
        self.leader.is_leader()
    }
}
