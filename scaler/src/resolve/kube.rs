//! [`ObjectSource`] over the Kubernetes API (reconcile time).

use super::ObjectSource;
use crate::api::{ClusterTriggerAuthentication, TriggerAuthentication, TriggerAuthenticationSpec};
use crate::kube_client::kube_error_text;
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use kube::api::DynamicObject;
use kube::{Api, Client};

pub struct KubeSource {
    pub client: Client,
}

fn err(what: String) -> impl FnOnce(kube::Error) -> String {
    move |e| format!("reading {what}: {}", kube_error_text(&e))
}

#[async_trait]
impl ObjectSource for KubeSource {
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(err(format!("Secret {ns}/{name}")))
    }

    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        Api::<ConfigMap>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(err(format!("ConfigMap {ns}/{name}")))
    }

    async fn trigger_authentication(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<TriggerAuthenticationSpec>, String> {
        let ta = Api::<TriggerAuthentication>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(err(format!("TriggerAuthentication {ns}/{name}")))?;
        Ok(ta.map(|t| t.spec))
    }

    async fn cluster_trigger_authentication(
        &self,
        name: &str,
    ) -> Result<Option<TriggerAuthenticationSpec>, String> {
        let cta = Api::<ClusterTriggerAuthentication>::all(self.client.clone())
            .get_opt(name)
            .await
            .map_err(err(format!("ClusterTriggerAuthentication {name}")))?;
        Ok(cta.map(|c| c.spec.spec))
    }

    async fn pod_template(
        &self,
        ns: &str,
        api_version: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<PodTemplateSpec>, String> {
        let target = crate::target::resolve(&self.client, ns, api_version, kind, name)
            .await
            .map_err(err(format!("{kind} {ns}/{name}")))?;
        let obj = Api::<DynamicObject>::namespaced_with(self.client.clone(), ns, &target.resource)
            .get_opt(name)
            .await
            .map_err(err(format!("{kind} {ns}/{name}")))?;
        Ok(obj
            .and_then(|o| o.data.get("spec").and_then(|s| s.get("template")).cloned())
            .and_then(|t| serde_json::from_value(t).ok()))
    }
}
