//! A deleted ScaledObject (its finalizer): stop the loop, forget its metrics, restore the
//! target's original replica count when asked to, delete the HPA.

use crate::api::ScaledObject;
use crate::context::Context;
use crate::target;
use crate::write::events;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use std::sync::Arc;

pub use crate::api::FINALIZER;

/// Cleans up after a deleted ScaledObject.
pub async fn cleanup(
    so: Arc<ScaledObject>,
    ctx: Arc<Context>,
) -> Result<Action, super::reconcile::Error> {
    let ns = so.namespace().unwrap_or_default();
    let name = so.name_any();
    ctx.stop_serving(&ns, &name);
    ctx.dependencies.forget(&ObjectRef::from_obj(&*so));
    ctx.writer.forget(&ns, &name);
    let status = so.status.clone().unwrap_or_default();
    let restore = so
        .spec
        .advanced
        .as_ref()
        .is_some_and(|a| a.restore_to_original_replica_count);
    if restore && let Some(original) = status.original_replica_count {
        restore_replicas(&ctx, &so, &status, original).await;
    }
    let hpa_name = status
        .hpa_name
        .clone()
        .unwrap_or_else(|| crate::hpa::hpa_name(&so));
    match ctx.writer.delete_hpa(&ns, &hpa_name).await {
        Ok(()) | Err(crate::write::Error::NotLeader) => {}
        Err(crate::write::Error::Kube(kube::Error::Api(_))) => {}
        Err(crate::write::Error::Kube(e)) => return Err(super::reconcile::Error::Kube(e)),
    }
    ctx.writer
        .events
        .normal(
            &so.object_ref(&()),
            events::SCALED_OBJECT_DELETED,
            "ScaledObject was deleted",
        )
        .await;
    // the object is gone: its Event series can never count up again
    ctx.writer.events.forget(&so.object_ref(&()));
    Ok(Action::await_change())
}

/// Puts the target back at `original` replicas (`restoreToOriginalReplicaCount`).
async fn restore_replicas(
    ctx: &Context,
    so: &ScaledObject,
    status: &crate::api::ScaledObjectStatus,
    original: i32,
) {
    let Some(gvkr) = &status.scale_target_gvkr else {
        return;
    };
    let ns = so.namespace().unwrap_or_default();
    let api_version = if gvkr.group.is_empty() {
        gvkr.version.clone()
    } else {
        format!("{}/{}", gvkr.group, gvkr.version)
    };
    let t = &so.spec.scale_target_ref;
    match target::resolve(&ctx.client, &ns, &api_version, &gvkr.kind, &t.name).await {
        Ok(target) => {
            if let Err(e) = ctx.writer.scale(&target, original).await {
                tracing::warn!(scaledobject = %so.name_any(), error = %e.text(), "could not restore original replica count");
            }
        }
        Err(e) => {
            tracing::warn!(scaledobject = %so.name_any(), error = %crate::kube_client::kube_error_text(&e), "could not resolve target to restore")
        }
    }
}
