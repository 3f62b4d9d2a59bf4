//! Writes a ScaledObject's HorizontalPodAutoscaler: server-side apply with the operator's one
//! field manager (hand edits of owned fields are put back), and deletion. The only place that
//! does: the reconcile applies the whole desired HPA, the poll loop re-applies it with new
//! pre-scaling bounds.

use super::{Error, Writer};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};

impl Writer {
    /// Applies `desired` (server-side apply, forced).
    pub async fn apply_hpa(&self, desired: &HorizontalPodAutoscaler) -> Result<(), Error> {
        self.check()?;
        let ns = desired.metadata.namespace.as_deref().unwrap_or_default();
        let name = desired.metadata.name.as_deref().unwrap_or_default();
        let api: Api<HorizontalPodAutoscaler> = Api::namespaced(self.client.clone(), ns);
        api.patch(
            name,
            &PatchParams::apply(&self.field_manager).force(),
            &Patch::Apply(desired),
        )
        .await
        .map(|_| ())
        .map_err(Error::Kube)
    }

    /// Applies `desired` with other `minReplicas`/`maxReplicas` (pre-scaling bounds).
    pub async fn apply_hpa_bounds(
        &self,
        desired: &HorizontalPodAutoscaler,
        min: i32,
        max: i32,
    ) -> Result<(), Error> {
        let mut hpa = desired.clone();
        hpa.spec.min_replicas = Some(min);
        hpa.spec.max_replicas = max;
        self.apply_hpa(&hpa).await
    }

    /// Deletes the HPA `name`; one that is gone already counts as deleted.
    pub async fn delete_hpa(&self, namespace: &str, name: &str) -> Result<(), Error> {
        self.check()?;
        let api: Api<HorizontalPodAutoscaler> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(Error::Kube(e)),
        }
    }
}
