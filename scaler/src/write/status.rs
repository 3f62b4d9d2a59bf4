//! Writes a ScaledObject's status subresource (a merge patch that nulls the fields a new
//! status dropped) and its own `scaledobject.keda.sh/name` label.

use super::{Error, Writer};
use crate::api::{SCALED_OBJECT_NAME_LABEL, ScaledObject, ScaledObjectStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};

impl Writer {
    /// Patches the status subresource when it changed (leader only); a failure is logged and
    /// returned (the reconcile retries it; a poll loop writes again on its next poll).
    pub async fn status(&self, so: &ScaledObject, status: ScaledObjectStatus) -> Result<(), Error> {
        // a read older than our last write: its newer version is reconciled next
        if self.stale(so) {
            return Ok(());
        }
        self.poll_status(so, status).await
    }

    /// The poll loop's status write: made even when its cached ScaledObject is older than this
    /// writer's last write (the status is computed from this poll's values; waiting for the
    /// cache could hold a failing trigger's `Ready=False` back for many polls).
    pub async fn poll_status(
        &self,
        so: &ScaledObject,
        status: ScaledObjectStatus,
    ) -> Result<(), Error> {
        if so.status.as_ref() == Some(&status) || !self.leads() {
            return Ok(());
        }
        let api: Api<ScaledObject> = Api::namespaced(
            self.client.clone(),
            so.metadata.namespace.as_deref().unwrap_or_default(),
        );
        // a merge patch removes a field only when it says null: fields the new status dropped
        let mut new = serde_json::to_value(&status).unwrap_or_default();
        if let (Some(old), Some(new)) = (
            so.status
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok()),
            new.as_object_mut(),
        ) && let Some(old) = old.as_object()
        {
            for key in old.keys() {
                if !new.contains_key(key) {
                    new.insert(key.clone(), serde_json::Value::Null);
                }
            }
        }
        let patch = serde_json::json!({ "status": new });
        let res = api
            .patch_status(
                &so.metadata.name.clone().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await;
        res.map(|new| self.written.record(&new)).map_err(|e| {
            tracing::warn!(scaledobject = ?so.metadata.name, error = %crate::kube_client::kube_error_text(&e), "status update failed");
            Error::Kube(e)
        })
    }

    /// Puts the `scaledobject.keda.sh/name` label on the ScaledObject itself (KEDA does).
    pub async fn label(&self, so: &ScaledObject) -> Result<(), Error> {
        self.check()?;
        let name = so.metadata.name.clone().unwrap_or_default();
        let api: Api<ScaledObject> = Api::namespaced(
            self.client.clone(),
            so.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let patch = serde_json::json!({"metadata": {"labels": {SCALED_OBJECT_NAME_LABEL: name}}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|new| self.written.record(&new))
            .map_err(Error::Kube)
    }
}
