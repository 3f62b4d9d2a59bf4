//! [`Lookups`] reads what the webhook's checks need through the kube client, and records
//! every lookup that failed (so the decision can follow `failurePolicy`) and every referenced
//! object that does not exist, instead of turning either into a problem.

use crate::resolve::ObjectSource;
use crate::resolve::kube::KubeSource;
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, LimitRange, PodTemplateSpec, Secret};
use std::sync::Mutex;

/// Reads through the kube client; every failed lookup is noted (secret-free text) and
/// answered as "not found", so the caller can tell a missing object from an unanswered read.
pub struct Lookups {
    pub source: KubeSource,
    failed: Mutex<Vec<String>>,
    /// Referenced objects that do not exist (yet): "Kind namespace/name".
    missing: Mutex<Vec<String>>,
}

impl Lookups {
    pub fn new(client: kube::Client) -> Self {
        Self {
            source: KubeSource {
                client,
                caches: None,
            },
            failed: Mutex::new(Vec::new()),
            missing: Mutex::new(Vec::new()),
        }
    }

    /// Notes a lookup's answer: its failure, or that the object does not exist.
    fn found<T>(&self, what: &str, r: Result<Option<T>, String>) -> Option<T> {
        let found = self.note(r);
        if found.is_none() {
            self.missing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(what.to_string());
        }
        found
    }

    /// The referenced objects that were not found.
    pub fn missing(&self) -> Vec<String> {
        self.missing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn note<T: Default>(&self, r: Result<T, String>) -> T {
        r.unwrap_or_else(|e| {
            self.failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e);
            T::default()
        })
    }

    /// The lookups that failed so far.
    pub fn failed(&self) -> Vec<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn client(&self) -> kube::Client {
        self.source.client.clone()
    }

    /// The objects of one kind in a namespace (empty, noted, when the list fails).
    pub async fn list<K>(&self, ns: &str, what: &str) -> Vec<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let res = kube::Api::<K>::namespaced(self.client(), ns)
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .map_err(|e| {
                format!(
                    "listing {what} in namespace {ns}: {}",
                    crate::kube_client::kube_error_text(&e)
                )
            });
        self.note(res)
    }

    pub async fn limit_ranges(&self, ns: &str) -> Vec<LimitRange> {
        self.list(ns, "LimitRanges").await
    }
}

#[async_trait]
impl ObjectSource for Lookups {
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        Ok(self.found(
            &format!("Secret {ns}/{name}"),
            self.source.secret(ns, name).await,
        ))
    }

    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        Ok(self.found(
            &format!("ConfigMap {ns}/{name}"),
            self.source.config_map(ns, name).await,
        ))
    }

    async fn trigger_authentication(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<crate::api::TriggerAuthenticationSpec>, String> {
        Ok(self.found(
            &format!("TriggerAuthentication {ns}/{name}"),
            self.source.trigger_authentication(ns, name).await,
        ))
    }

    async fn cluster_trigger_authentication(
        &self,
        name: &str,
    ) -> Result<Option<crate::api::TriggerAuthenticationSpec>, String> {
        Ok(self.found(
            &format!("ClusterTriggerAuthentication {name}"),
            self.source.cluster_trigger_authentication(name).await,
        ))
    }

    async fn pod_template(
        &self,
        ns: &str,
        api_version: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<PodTemplateSpec>, String> {
        Ok(self.note(self.source.pod_template(ns, api_version, kind, name).await))
    }
}
