//! Writes a target's `spec.replicas` through its `/scale` subresource (a merge patch of the
//! Scale object), so any kind with a scale subresource works. The only place that does.

use super::{Error, Writer};
use crate::target::TargetRef;
use k8s_openapi::api::autoscaling::v1::{Scale, ScaleSpec};
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};

impl Writer {
    /// Sets the target's `spec.replicas`.
    pub async fn scale(&self, target: &TargetRef, replicas: i32) -> Result<(), Error> {
        self.check()?;
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &target.namespace, &target.resource);
        let patch = Scale {
            spec: Some(ScaleSpec {
                replicas: Some(replicas),
            }),
            ..Scale::default()
        };
        api.patch_scale(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(Error::Kube)
    }
}
