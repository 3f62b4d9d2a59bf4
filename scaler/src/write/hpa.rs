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
        let applied = api
            .patch(
                name,
                &PatchParams::apply(&self.field_manager).force(),
                &Patch::Apply(desired),
            )
            .await
            .map_err(Error::Kube)?;
        if let Some(rv) = super::resource_version(&applied) {
            self.hpas_written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((ns.to_string(), name.to_string()), (rv, spec_hash(desired)));
        }
        Ok(())
    }

    /// Whether this writer applied exactly `desired` after the version `cached` holds: the
    /// cache has not seen that write yet, so applying again would be a needless write (a
    /// reconcile right after the apply, triggered by another write, reads the old HPA).
    pub fn hpa_applied_after(
        &self,
        cached: &HorizontalPodAutoscaler,
        desired: &HorizontalPodAutoscaler,
    ) -> bool {
        let key = (
            desired.metadata.namespace.clone().unwrap_or_default(),
            desired.metadata.name.clone().unwrap_or_default(),
        );
        let written = self.hpas_written.lock().unwrap_or_else(|e| e.into_inner());
        match (written.get(&key), super::resource_version(cached)) {
            (Some((rv, hash)), Some(seen)) => seen < *rv && *hash == spec_hash(desired),
            _ => false,
        }
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
        self.hpas_written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(namespace.to_string(), name.to_string()));
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(Error::Kube(e)),
        }
    }
}

/// A hash of what an apply sends (metadata the writer sets and the spec).
fn spec_hash(desired: &HorizontalPodAutoscaler) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(desired)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}
