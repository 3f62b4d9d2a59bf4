//! The compact form a scale target (Deployment, StatefulSet) is cached in: what its readers
//! use and nothing else. A `k8s-openapi` Deployment is ~2.5 KB before any content (its pod
//! spec is inline) and a real one carries its whole pod template and status besides; the
//! readers only ever look at `spec.replicas` (what `/scale` says), `metadata.generation` (a
//! spec change re-resolves the target's users) and the env of the template's containers
//! (`*FromEnv`, TriggerAuthentication `env`, `envSourceContainerName`). Issue 11: ~5 KB per
//! target in the 10,000-object bench, a few hundred bytes now.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, EnvFromSource, EnvVar, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use std::borrow::Cow;

/// A cached Deployment or StatefulSet (each kind has its own cache). `Deserialize` only because
/// kube's controller asks it of watched kinds; it is made from the API object, never parsed.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
pub struct Workload {
    /// name, namespace, uid, resourceVersion, generation, labels (no annotations, no
    /// managedFields).
    pub metadata: ObjectMeta,
    /// `spec.replicas` as the API holds it (unset means 1).
    pub replicas: Option<i32>,
    /// The pod template's containers, by name, with their env.
    pub containers: Vec<EnvOf>,
}

/// One container of the pod template: its name and env only.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
pub struct EnvOf {
    pub name: String,
    pub env: Option<Vec<EnvVar>>,
    pub env_from: Option<Vec<EnvFromSource>>,
}

impl Workload {
    fn new(mut metadata: ObjectMeta, replicas: Option<i32>, template: PodTemplateSpec) -> Self {
        metadata.managed_fields = None;
        metadata.annotations = None;
        let containers = template
            .spec
            .map(|s| s.containers)
            .unwrap_or_default()
            .into_iter()
            .map(|c| EnvOf {
                name: c.name,
                env: c.env,
                env_from: c.env_from,
            })
            .collect();
        Self {
            metadata,
            replicas,
            containers,
        }
    }

    /// `spec.replicas`, defaulted as the API does (what the target's `/scale` says).
    pub fn replicas(&self) -> i32 {
        self.replicas.unwrap_or(1)
    }

    /// A pod template with the containers' names and env (what trigger resolution reads).
    pub fn pod_template(&self) -> PodTemplateSpec {
        let containers = self
            .containers
            .iter()
            .map(|c| Container {
                name: c.name.clone(),
                env: c.env.clone(),
                env_from: c.env_from.clone(),
                ..Default::default()
            })
            .collect();
        PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers,
                ..Default::default()
            }),
        }
    }
}

impl From<Deployment> for Workload {
    fn from(d: Deployment) -> Self {
        Self::new(d.metadata, d.spec.replicas, d.spec.template)
    }
}

impl From<StatefulSet> for Workload {
    fn from(s: StatefulSet) -> Self {
        Self::new(s.metadata, s.spec.replicas, s.spec.template)
    }
}

impl Resource for Workload {
    type DynamicType = ();
    type Scope = kube::core::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Workload".into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        "apps".into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        "workloads".into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn keeps_what_readers_use_and_drops_the_rest() {
        let d = deployment(json!({
            "metadata": {"name": "web", "namespace": "shop", "generation": 4, "resourceVersion": "17",
                "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "big": "x"},
                "managedFields": [{"manager": "kubectl"}]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                    "initContainers": [{"name": "init", "image": "busybox"}],
                    "containers": [
                        {"name": "app", "image": "shop:1", "env": [{"name": "REDIS_HOST", "value": "redis"}],
                         "envFrom": [{"secretRef": {"name": "creds"}}],
                         "resources": {"limits": {"cpu": "1"}}, "readinessProbe": {"httpGet": {"port": 80}}},
                        {"name": "sidecar", "image": "proxy:2"}],
                    "volumes": [{"name": "v", "emptyDir": {}}]}}},
            "status": {"replicas": 3, "readyReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]}
        }));
        let w = Workload::from(d);
        assert_eq!(w.replicas(), 3);
        assert_eq!(w.metadata.generation, Some(4));
        assert_eq!(w.metadata.resource_version.as_deref(), Some("17"));
        assert_eq!(w.metadata.labels.as_ref().unwrap()["app"], "web");
        assert!(w.metadata.annotations.is_none() && w.metadata.managed_fields.is_none());
        let tpl = w.pod_template();
        let spec = tpl.spec.unwrap();
        assert!(spec.init_containers.is_none() && spec.volumes.is_none());
        let names: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "sidecar"]);
        let app = &spec.containers[0];
        assert_eq!(app.env.as_ref().unwrap()[0].value.as_deref(), Some("redis"));
        assert_eq!(
            app.env_from.as_ref().unwrap()[0]
                .secret_ref
                .as_ref()
                .unwrap()
                .name,
            "creds"
        );
        assert!(app.image.is_none() && app.resources.is_none() && app.readiness_probe.is_none());
    }

    #[test]
    fn unset_replicas_read_as_one_like_the_scale_subresource() {
        let s: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "shop"},
            "spec": {"selector": {}, "serviceName": "db", "template": {}}
        }))
        .unwrap();
        let w = Workload::from(s);
        assert_eq!(w.replicas(), 1);
        assert!(w.pod_template().spec.unwrap().containers.is_empty());
    }
}
