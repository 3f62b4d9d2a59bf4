//! Each poll: resolve leads, put the bounds in force on the HPA, scale up to a rising floor at
//! once, and report (status, condition, Events, metrics).

use super::{condition, hpa_bounds, needs_startups};
use crate::api::conditions::PRE_SCALING;
use crate::api::{ScaledObject, ScaledObjectStatus};
use crate::context::Context;
use crate::controller::events;
use crate::poller::task::{PollPlan, kube_error_text};
use crate::telemetry::metrics::{ScaledObjectLabels, WorkloadLabels};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};

/// Applies the pre-scaling bounds in force now. Returns the HPA minimum when a floor holds
/// (activation goes straight to it and deactivation is held off), else `None`.
pub async fn enforce(
    plan: &PollPlan,
    ctx: &Context,
    so: &ScaledObject,
    status: &mut ScaledObjectStatus,
    current: i32,
) -> Option<i32> {
    if !super::any(&plan.triggers) {
        // a pre-scaling trigger was removed: nothing of it is reported any more
        if status.pre_scaling.take().is_some() {
            status.conditions.retain(|c| c.type_ != PRE_SCALING);
            ctx.metrics
                .forget_scaled_object(&plan.namespace, &plan.name);
        }
        return None;
    }
    let settings = ctx.config.lead;
    let workload = super::workload_key(plan.target.target());
    if needs_startups(&plan.triggers) && ctx.startups.due(&workload, settings.refresh) {
        match plan.target.pods().await {
            Ok(pods) => ctx.startups.observe(&workload, &pods, settings.history),
            Err(e) => {
                tracing::warn!(scaledobject = %plan.name, error = %kube_error_text(&e), "could not list the target's pods to measure start-up")
            }
        }
        if let Some((p90, n)) = ctx.startups.p90(&workload) {
            let t = plan.target.target();
            let labels = WorkloadLabels {
                namespace: t.namespace.clone(),
                workload: format!("{}/{}", t.resource.kind, t.name),
            };
            ctx.metrics
                .pod_startup_p90
                .get_or_create(&labels)
                .set(p90.as_secs_f64());
            ctx.metrics
                .pod_startup_samples
                .get_or_create(&labels)
                .set(n as i64);
        }
    }
    let now = ctx.scalers.clock.now();
    let (resolved, b) = super::evaluate(
        &plan.triggers,
        plan.target.target(),
        &ctx.startups,
        &settings,
        now,
    );
    let (want_min, want_max) = hpa_bounds(so, &b);
    let changes = super::next_changes(so, &plan.triggers, &resolved, now, &plan.plan_cache);
    let st = super::status(so, &resolved, &b, changes);
    let (cs, reason, message) = condition(so, &b, &resolved);
    status.set_condition(PRE_SCALING, cs, reason, &message);

    let labels = ScaledObjectLabels {
        namespace: plan.namespace.clone(),
        scaled_object: plan.name.clone(),
    };
    ctx.metrics
        .prescale_min_replicas
        .get_or_create(&labels)
        .set(i64::from(want_min));
    ctx.metrics
        .prescale_max_replicas
        .get_or_create(&labels)
        .set(i64::from(want_max));
    ctx.metrics
        .prescale_next_change
        .get_or_create(&labels)
        .set(st.next_changes.first().map_or(0, |c| c.time.0.as_second()));
    ctx.metrics.prescale_lead_time.get_or_create(&labels).set(
        b.floor_from
            .and_then(|i| resolved.get(i))
            .or(resolved.first())
            .map_or(0.0, |(_, r)| r.lead.as_secs_f64()),
    );
    let (base_min, so_max) = hpa_bounds(so, &Default::default());
    let (prev_min, prev_max) = status
        .pre_scaling
        .as_ref()
        .map_or((base_min, so_max), |p| (p.min_replicas, p.max_replicas));
    status.pre_scaling = Some(st);

    if !ctx.leader.is_leader() {
        return (b.floor > 0).then_some(want_min);
    }
    let name = plan.hpa.metadata.name.clone().unwrap_or_default();
    let (have_min, have_max) = super::held_bounds(&ctx.hpas, &plan.namespace, &name).unwrap_or((
        plan.hpa.spec.min_replicas.unwrap_or(1),
        plan.hpa.spec.max_replicas,
    ));
    let reference = so.object_ref(&());
    let lead_note = b
        .floor_from
        .and_then(|i| resolved.get(i))
        .map(|(_, r)| r.source.clone())
        .unwrap_or_default();
    let mut in_place = true;
    if (have_min, have_max) != (want_min, want_max) {
        let mut hpa = plan.hpa.clone();
        hpa.spec.min_replicas = Some(want_min);
        hpa.spec.max_replicas = want_max;
        let api: Api<HorizontalPodAutoscaler> =
            Api::namespaced(ctx.client.clone(), &plan.namespace);
        if let Err(e) = api
            .patch(
                &name,
                &PatchParams::apply(&ctx.config.field_manager).force(),
                &Patch::Apply(&hpa),
            )
            .await
        {
            in_place = false;
            tracing::warn!(scaledobject = %plan.name, error = %kube_error_text(&e), "could not move the HPA bounds");
        }
    }
    // Events follow what the ScaledObject reported before (the reconcile may have written the
    // HPA first), once the HPA holds the new bounds
    if in_place && (prev_min, prev_max) != (want_min, want_max) {
        if want_min > prev_min {
            let rule = b.floor_rule.as_deref().unwrap_or("a pre-scaling rule");
            ctx.events
                .normal_with_action(
                    &reference,
                    events::PRE_SCALING_FLOOR_RAISED,
                    format!("{}-{want_min}", events::PRE_SCALING_FLOOR_RAISED),
                    format!("HPA {name} minReplicas raised from {prev_min} to {want_min} by {rule}; {lead_note}"),
                )
                .await;
        } else if want_min < prev_min {
            ctx.events
                .normal_with_action(
                    &reference,
                    events::PRE_SCALING_FLOOR_RESTORED,
                    format!("{}-{want_min}", events::PRE_SCALING_FLOOR_RESTORED),
                    format!("HPA {name} minReplicas restored from {prev_min} to {want_min}; scale-down follows the HPA behavior"),
                )
                .await;
        }
        if want_max != prev_max {
            let why = match &b.ceiling_rule {
                Some(r) if want_max < so.spec.max_replica_count() => format!("capped by {r}"),
                _ => "cap lifted".to_string(),
            };
            ctx.events
                .normal_with_action(
                    &reference,
                    events::PRE_SCALING_CAP_CHANGED,
                    format!("{}-{want_max}", events::PRE_SCALING_CAP_CHANGED),
                    format!("HPA {name} maxReplicas changed from {prev_max} to {want_max}, {why}"),
                )
                .await;
        }
    }
    if !in_place {
        // report the bounds as they are, so the Events come when the HPA takes them
        if let Some(ps) = status.pre_scaling.as_mut() {
            ps.min_replicas = have_min;
            ps.max_replicas = have_max;
        }
    }
    // a rising floor scales a running target at once, rather than at the HPA's next sync
    if b.floor > 0 && current > 0 && current < want_min && !plan.pause.scale_out {
        let t = plan.target.target();
        match plan.target.set_replicas(want_min).await {
            Ok(()) => {
                ctx.events
                    .normal_with_action(
                        &reference,
                        events::PRE_SCALED_TARGET,
                        format!("{}-{want_min}", events::PRE_SCALED_TARGET),
                        format!(
                            "Scaled {} {}/{} from {current} to {want_min} for {}",
                            t.kind_string(),
                            t.namespace,
                            t.name,
                            b.floor_rule.as_deref().unwrap_or("a pre-scaling rule")
                        ),
                    )
                    .await
            }
            Err(e) => {
                tracing::warn!(scaledobject = %plan.name, error = %kube_error_text(&e), "could not scale the target up to the floor")
            }
        }
    }
    (b.floor > 0).then_some(want_min)
}
