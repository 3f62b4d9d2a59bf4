//! The poll loop's I/O for pre-scaling: measures the target's pod start-ups when a
//! `leadTime: auto` rule needs them (and exports the p90), then asks the pure
//! `prescaling::now` for the bounds in force. Writing them is the step's business.

use super::env::Env;
use super::plan::PollPlan;
use crate::api::ScaledObject;
use crate::kube_client::kube_error_text;
use crate::prescaling::{self, PreScaleNow};
use crate::telemetry::metrics::WorkloadLabels;

/// Pre-scaling at this poll, `None` when no trigger pre-scales.
pub async fn now(env: &Env, plan: &PollPlan, so: &ScaledObject) -> Option<PreScaleNow> {
    if !prescaling::any(&plan.triggers) {
        return None;
    }
    measure_startups(env, plan).await;
    prescaling::now(
        so,
        &plan.triggers,
        plan.target.target(),
        &env.startups,
        &env.lead,
        env.clock.now(),
        &plan.plan_cache,
    )
}

/// Lists the target's pods to record their start-ups, at most once per refresh period.
async fn measure_startups(env: &Env, plan: &PollPlan) {
    let workload = prescaling::workload_key(plan.target.target());
    if !prescaling::needs_startups(&plan.triggers) || !env.startups.due(&workload, env.lead.refresh)
    {
        return;
    }
    match plan.target.pods().await {
        Ok(pods) => env.startups.observe(&workload, &pods, env.lead.history),
        Err(e) => {
            tracing::warn!(scaledobject = %plan.spec.name, error = %kube_error_text(&e), "could not list the target's pods to measure start-up")
        }
    }
    if let Some((p90, n)) = env.startups.p90(&workload) {
        let t = plan.target.target();
        let labels = WorkloadLabels {
            namespace: t.namespace.clone(),
            workload: format!("{}/{}", t.resource.kind, t.name),
        };
        env.metrics
            .pod_startup_p90
            .get_or_create(&labels)
            .set(p90.as_secs_f64());
        env.metrics
            .pod_startup_samples
            .get_or_create(&labels)
            .set(n as i64);
    }
}
