//! The scale target read through its `/scale` subresource, so any kind that has one works
//! (Deployment, StatefulSet, custom resources), plus its pods (the ready-pod count fallback
//! needs, the start-ups `leadTime: auto` measures).

use crate::cache::Caches;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::{Api, Client};

/// Which workload a ScaledObject scales, resolved to its REST resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    pub namespace: String,
    pub name: String,
    pub resource: ApiResource,
}

impl TargetRef {
    /// `apps/v1.Deployment` style GVK string (status.scaleTargetKind).
    pub fn kind_string(&self) -> String {
        format!("{}.{}", self.resource.api_version, self.resource.kind)
    }
}

/// Resolves `apiVersion` + `kind` to a resource: Deployment and StatefulSet without discovery
/// (as KEDA does), anything else through API discovery.
pub async fn resolve(
    client: &Client,
    namespace: &str,
    api_version: &str,
    kind: &str,
    name: &str,
) -> Result<TargetRef, kube::Error> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, kind);
    let resource = match (group.as_str(), kind) {
        ("apps", "Deployment") => ApiResource::from_gvk_with_plural(&gvk, "deployments"),
        ("apps", "StatefulSet") => ApiResource::from_gvk_with_plural(&gvk, "statefulsets"),
        _ => {
            let (ar, _caps) = kube::discovery::pinned_kind(client, &gvk).await?;
            ar
        }
    };
    Ok(TargetRef {
        namespace: namespace.to_string(),
        name: name.to_string(),
        resource,
    })
}

/// Reads the target's `/scale` and pods (writes go through `crate::write`). With caches, the
/// replica count of a Deployment or StatefulSet comes from the informer cache and costs no
/// request; other kinds (and a cache miss) read `/scale`.
#[derive(Clone)]
pub struct TargetReader {
    /// The `Api`s are made per call (a read only happens when the cache cannot answer): kept,
    /// they were ~0.6 KB in every poll loop.
    client: Client,
    target: TargetRef,
    caches: Option<Caches>,
}

impl TargetReader {
    pub fn new(client: Client, target: TargetRef) -> Self {
        Self {
            client,
            target,
            caches: None,
        }
    }

    /// Reads replica counts from `caches` where they hold the target.
    pub fn cached(mut self, caches: Caches) -> Self {
        self.caches = Some(caches);
        self
    }

    pub fn target(&self) -> &TargetRef {
        &self.target
    }

    /// The current `/scale`.
    pub async fn get(&self) -> Result<Scale, kube::Error> {
        let t = &self.target;
        Api::<DynamicObject>::namespaced_with(self.client.clone(), &t.namespace, &t.resource)
            .get_scale(&t.name)
            .await
    }

    /// `spec.replicas` of the target.
    pub async fn current_replicas(&self) -> Result<i32, kube::Error> {
        let t = &self.target;
        if let Some(n) = self
            .caches
            .as_ref()
            .and_then(|c| c.replicas(&t.resource.group, &t.resource.kind, &t.namespace, &t.name))
        {
            return Ok(n);
        }
        Ok(self.get().await?.spec.and_then(|s| s.replicas).unwrap_or(0))
    }

    /// The pods the scale selector matches (none when the target has no selector).
    pub async fn pods(&self) -> Result<Vec<Pod>, kube::Error> {
        let selector = self
            .get()
            .await?
            .status
            .and_then(|s| s.selector)
            .unwrap_or_default();
        if selector.is_empty() {
            return Ok(Vec::new());
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.target.namespace);
        Ok(pods
            .list(&ListParams::default().labels(&selector))
            .await?
            .items)
    }

    /// Running pods with condition Ready=True among those the scale selector matches.
    pub async fn ready_pods(&self) -> Result<i32, kube::Error> {
        Ok(self.pods().await?.iter().filter(|p| is_ready(p)).count() as i32)
    }
}

fn is_ready(p: &Pod) -> bool {
    let Some(status) = &p.status else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}
