//! From manifests to simulated ScaledObjects, through the operator's own offline stages: the
//! manifests are read as `prescale validate` reads them (`validate::load`), triggers resolved
//! against the Secrets and TriggerAuthentications in the same files (`resolve`), then the
//! reconcile's pure plan (`controller::plan`: every check, the trigger definitions, the HPA
//! from `hpa::build`, fallback and modifiers). Each trigger then gets what stands in for its
//! backend ([`super::inputs`]), and the poll settings are those the reconcile gives the loop.

use super::feed::FeedNote;
use super::inputs::{Binder, Owner, feed};
use crate::api::ScaledObject;
use crate::controller::plan::{plan, poll_spec, precheck};
use crate::poller::PollSpec;
use crate::target::TargetRef;
use crate::trigger::LiveTrigger;
use crate::validate::load::{Loaded, Located};
use chrono::{DateTime, Utc};
use prescale_scalers::{Context, ManualClock, MetricSpec};
use std::time::Duration;

/// A `cpu`/`memory` trigger fed by a series of the workload's total usage.
#[derive(Debug, Clone)]
pub struct ResourceFeed {
    pub trigger_index: usize,
    pub spec: MetricSpec,
    pub series: std::sync::Arc<super::series::Series>,
    /// The resource request of one pod (the named container's, else all containers'), in
    /// the series' unit (cores, bytes), when the template sets one.
    pub request: Option<f64>,
}

/// One ScaledObject ready to simulate.
pub struct SimObject {
    pub file: String,
    pub so: ScaledObject,
    pub spec: PollSpec,
    pub triggers: Vec<LiveTrigger>,
    pub resources: Vec<ResourceFeed>,
    /// `spec.replicas` of the target in the manifests (1 when unset, as for a Deployment).
    pub replicas: i32,
    pub feeds: Vec<FeedNote>,
    /// Assumptions made for the inputs (gaps held at the last value).
    pub assumptions: Vec<String>,
    /// The clock its scalers read (one per object, so objects run in parallel).
    pub clock: ManualClock,
}

impl SimObject {
    pub fn name(&self) -> String {
        format!("{}/{}", self.spec.namespace, self.spec.name)
    }
}

/// The scale target as a [`TargetRef`], without API discovery (the plural is guessed the way
/// Kubernetes names its own kinds; it only appears in names).
fn target_ref(so: &ScaledObject) -> TargetRef {
    let t = &so.spec.scale_target_ref;
    let (group, version) = match t.api_version().split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", t.api_version()),
    };
    let gvk = kube::core::GroupVersionKind::gvk(group, version, t.kind());
    let plural = format!("{}s", t.kind().to_ascii_lowercase());
    TargetRef {
        namespace: so.metadata.namespace.clone().unwrap_or_default(),
        name: t.name.clone(),
        resource: kube::api::ApiResource::from_gvk_with_plural(&gvk, &plural),
    }
}

/// Builds one ScaledObject: checks, plan, trigger feeds, poll settings.
pub async fn build(
    loaded: &Loaded,
    located: &Located,
    binder: &mut Binder<'_>,
    ctx: &Context,
    clock: ManualClock,
    cluster_ns: &str,
    from: DateTime<Utc>,
) -> Result<SimObject, String> {
    let so = located.object.clone();
    let name = format!(
        "{}: ScaledObject {}/{}",
        located.file,
        so.metadata.namespace.as_deref().unwrap_or_default(),
        so.metadata.name.as_deref().unwrap_or_default()
    );
    let fail = |e: String| format!("{name}: {e}");
    let pause = precheck(&so).map_err(|e| fail(e.to_string()))?;
    let resolved = crate::resolve::resolve(&loaded.source, &so, cluster_ns)
        .await
        .map_err(fail)?;
    let desired = plan(&so, &pause, &resolved.inputs).map_err(|e| fail(e.to_string()))?;
    let target = target_ref(&so);
    let template = loaded
        .source
        .workloads
        .get(&(
            target.namespace.clone(),
            target.resource.kind.clone(),
            target.name.clone(),
        ))
        .and_then(|(_, t)| t.clone());
    let mut out = SimObject {
        file: located.file.clone(),
        // a ScaledObject without creationTimestamp counts as created a day before the
        // simulation (no initial cooldown); calls never wait in a simulation
        spec: poll_spec(
            &so,
            &desired,
            pause,
            target.clone(),
            desired.hpa.clone(),
            from - chrono::Duration::days(1),
            Duration::from_secs(6),
        ),
        replicas: loaded
            .source
            .replicas
            .get(&(
                target.namespace.clone(),
                target.resource.kind.clone(),
                target.name.clone(),
            ))
            .copied()
            .unwrap_or(1),
        so,
        triggers: Vec::new(),
        resources: Vec::new(),
        feeds: Vec::new(),
        assumptions: Vec::new(),
        clock,
    };
    let owner = Owner::scaled_object(&out.so);
    for d in desired.definitions {
        let fed = feed(binder, &owner, d, ctx, template.as_ref())
            .await
            .map_err(fail)?;
        out.feeds.push(fed.note);
        out.assumptions.extend(fed.assumptions);
        out.triggers.push(fed.trigger);
        out.resources.extend(fed.resource);
    }
    Ok(out)
}
