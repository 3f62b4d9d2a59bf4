//! Takes the operator's finalizer off a ScaledObject (`prescale uninstall`), with a JSON patch
//! that first tests the finalizer is still where it was read, so a concurrent change is a
//! conflict rather than a lost update. The only place that removes it by hand; the operator
//! removes it through kube-runtime's finalizer helper while it runs, and adds it together with
//! the `scaledobject.keda.sh/name` label in one patch ([`Writer::adopt`]).

use super::{Error, Writer};
use crate::api::{FINALIZER, SCALED_OBJECT_NAME_LABEL, ScaledObject};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

impl Writer {
    /// Removes [`FINALIZER`] from `so`; `Ok(false)` when it did not carry it.
    pub async fn release(&self, so: &ScaledObject) -> Result<bool, Error> {
        self.check()?;
        let Some(i) = so.finalizers().iter().position(|f| f == FINALIZER) else {
            return Ok(false);
        };
        let api: Api<ScaledObject> =
            Api::namespaced(self.client.clone(), &so.namespace().unwrap_or_default());
        let path = format!("/metadata/finalizers/{i}");
        let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
            {"op": "test", "path": path, "value": FINALIZER},
            {"op": "remove", "path": path},
        ]))
        .map_err(|e| Error::Kube(kube::Error::SerdeError(e)))?;
        api.patch(
            &so.name_any(),
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
        .map(|_| true)
        .map_err(Error::Kube)
    }

    /// Puts the finalizer and the `scaledobject.keda.sh/name` label on a new ScaledObject in one
    /// merge patch (instead of one write each), guarded by its resourceVersion so a concurrent
    /// change is a conflict; returns the object as the API now holds it.
    pub async fn adopt(&self, so: &ScaledObject) -> Result<ScaledObject, Error> {
        self.check()?;
        let name = so.name_any();
        let mut finalizers = so.finalizers().to_vec();
        if !finalizers.iter().any(|f| f == FINALIZER) {
            finalizers.push(FINALIZER.to_string());
        }
        let patch = serde_json::json!({"metadata": {
            "resourceVersion": so.resource_version(),
            "finalizers": finalizers,
            "labels": {SCALED_OBJECT_NAME_LABEL: name},
        }});
        let api: Api<ScaledObject> =
            Api::namespaced(self.client.clone(), &so.namespace().unwrap_or_default());
        let new = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::Kube)?;
        self.written.record(&new);
        Ok(new)
    }
}
