//! [`ObjectSource`] over the Kubernetes API (reconcile time): from the informer caches
//! (`crate::cache`) when they hold the object, else by a GET.

use super::ObjectSource;
use crate::api::{ClusterTriggerAuthentication, TriggerAuthentication, TriggerAuthenticationSpec};
use crate::cache::{self, Caches};
use crate::kube_client::kube_error_text;
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use kube::api::DynamicObject;
use kube::{Api, Client};

pub struct KubeSource {
    pub client: Client,
    /// Looked up first; None reads everything from the API.
    pub caches: Option<Caches>,
}

fn err(what: String) -> impl FnOnce(kube::Error) -> String {
    move |e| format!("reading {what}: {}", kube_error_text(&e))
}

#[async_trait]
impl ObjectSource for KubeSource {
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        if let Some(s) = self
            .caches
            .as_ref()
            .and_then(|c| cache::get(&c.secrets, ns, name))
        {
            return Ok(Some((*s).clone()));
        }
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(err(format!("Secret {ns}/{name}")))
    }

    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        if let Some(c) = self
            .caches
            .as_ref()
            .and_then(|c| cache::get(&c.config_maps, ns, name))
        {
            return Ok(Some((*c).clone()));
        }
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
        if let Some(t) = self
            .caches
            .as_ref()
            .and_then(|c| cache::get(&c.trigger_authentications, ns, name))
        {
            return Ok(Some(t.spec.clone()));
        }
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
        if let Some(c) = self
            .caches
            .as_ref()
            .and_then(|c| cache::get(&c.cluster_trigger_authentications, "", name))
        {
            return Ok(Some(c.spec.spec.clone()));
        }
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
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        if let Some(t) = self
            .caches
            .as_ref()
            .and_then(|c| c.pod_template(group, kind, ns, name))
        {
            return Ok(Some(t));
        }
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
