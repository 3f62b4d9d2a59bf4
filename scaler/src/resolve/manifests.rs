//! [`ObjectSource`] over manifests read from files (`prescale validate`): Secrets (with `data`
//! or `stringData`), ConfigMaps, (Cluster)TriggerAuthentications and any workload with
//! `spec.template`.

use super::ObjectSource;
use crate::api::TriggerAuthenticationSpec;
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use std::collections::HashMap;

/// Objects by (kind, namespace, name); namespace "" for cluster-scoped kinds.
#[derive(Default)]
pub struct ManifestSource {
    pub secrets: HashMap<(String, String), Secret>,
    pub config_maps: HashMap<(String, String), ConfigMap>,
    pub trigger_authentications: HashMap<(String, String), TriggerAuthenticationSpec>,
    pub cluster_trigger_authentications: HashMap<String, TriggerAuthenticationSpec>,
    /// (namespace, kind, name) → (apiVersion, pod template).
    pub workloads: HashMap<(String, String, String), (String, Option<PodTemplateSpec>)>,
    /// (namespace, kind, name) → `spec.replicas` of workloads that set it (`prescale simulate`
    /// starts from it).
    pub replicas: HashMap<(String, String, String), i32>,
}

fn key(ns: &str, name: &str) -> (String, String) {
    (ns.to_string(), name.to_string())
}

#[async_trait]
impl ObjectSource for ManifestSource {
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        Ok(self.secrets.get(&key(ns, name)).cloned())
    }

    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        Ok(self.config_maps.get(&key(ns, name)).cloned())
    }

    async fn trigger_authentication(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<TriggerAuthenticationSpec>, String> {
        Ok(self.trigger_authentications.get(&key(ns, name)).cloned())
    }

    async fn cluster_trigger_authentication(
        &self,
        name: &str,
    ) -> Result<Option<TriggerAuthenticationSpec>, String> {
        Ok(self.cluster_trigger_authentications.get(name).cloned())
    }

    async fn pod_template(
        &self,
        ns: &str,
        _api_version: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<PodTemplateSpec>, String> {
        Ok(self
            .workloads
            .get(&(ns.to_string(), kind.to_string(), name.to_string()))
            .and_then(|(_, t)| t.clone()))
    }
}
