//! Reconcile one ScaledObject (spec §3.1): finalizer, pause, target, triggers, HPA, status,
//! poll loop. A wrong ScaledObject gets Ready=False with the reason and an Event, and its HPA
//! and running loop are left as they were; nothing it does affects other ScaledObjects.

use super::events;
use super::hpa::{self, SCALED_OBJECT_NAME_LABEL};
use crate::api::conditions::{ACTIVE, PAUSED, READY};
use crate::api::{FallbackBehavior, GroupVersionKindResource, ScaledObject, ScaledObjectStatus};
use crate::context::Context;
use crate::poller::evaluate::{LiveTrigger, Modifiers};
use crate::poller::target::{self, ScaleClient};
use crate::poller::task::{PollPlan, kube_error_text, write_status};
use crate::scaling::fallback::{Behavior, Fallback};
use crate::scaling::formula::Formula;
use crate::scaling::pause::Pause;
use crate::telemetry::metrics::{ReconcileLabels, ReconcileResult};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Api, Resource, ResourceExt};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const FINALIZER: &str = "finalizer.keda.sh";

/// Why a reconcile failed (the categories are metric labels and never carry error text).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube_api",
            Error::Finalizer(_) => "finalizer",
        }
    }
}

/// The controller's reconcile function.
pub async fn reconcile(so: Arc<ScaledObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    if !ctx.leader.is_leader() {
        // followers keep caches warm and write nothing; leadership change re-triggers all
        return Ok(Action::requeue(Duration::from_secs(15)));
    }
    let ns = so.namespace().unwrap_or_default();
    let api: Api<ScaledObject> = Api::namespaced(ctx.client.clone(), &ns);
    let res = finalizer(&api, FINALIZER, so, |event| async {
        match event {
            FinalizerEvent::Apply(so) => apply(so, ctx.clone()).await,
            FinalizerEvent::Cleanup(so) => cleanup(so, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(e.to_string()));
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    res
}

fn count(ctx: &Context, result: ReconcileResult, category: &'static str) {
    ctx.metrics
        .reconciles
        .get_or_create(&ReconcileLabels { result, category })
        .inc();
}

/// Requeue after a failed reconcile.
pub fn error_policy(_so: Arc<ScaledObject>, err: &Error, ctx: Arc<Context>) -> Action {
    count(&ctx, ReconcileResult::Error, err.category());
    tracing::warn!(error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(30))
}

/// A check failure: Ready=False, Active=Unknown, a Warning Event, nothing else touched.
async fn check_failed(
    ctx: &Context,
    so: &ScaledObject,
    mut status: ScaledObjectStatus,
    short: &str,
    detail: &str,
) -> Result<Action, Error> {
    let msg = format!("{short}: {detail}");
    let changed = status.set_condition(READY, "False", "ScaledObjectCheckFailed", &msg);
    status.set_condition(
        ACTIVE,
        "Unknown",
        "UnknownState",
        "ScaledObject check failed",
    );
    if changed {
        ctx.events
            .warning(&so.object_ref(&()), events::SCALED_OBJECT_CHECK_FAILED, msg)
            .await;
    }
    write_status(ctx, so, status).await;
    count(ctx, ReconcileResult::Error, "invalid_spec");
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn apply(so: Arc<ScaledObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = so.namespace().unwrap_or_default();
    let name = so.name_any();
    let reference = so.object_ref(&());
    let mut status = so.status.clone().unwrap_or_default();
    status.ensure_conditions();

    let pause = match Pause::from_annotations(so.annotations()) {
        Ok(p) => p,
        Err(e) => {
            return check_failed(&ctx, &so, status, "failed to read pause annotations", &e).await;
        }
    };

    // scaledobject.keda.sh/name label on the ScaledObject itself
    if so.labels().get(SCALED_OBJECT_NAME_LABEL) != Some(&name) {
        let api: Api<ScaledObject> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({"metadata": {"labels": {SCALED_OBJECT_NAME_LABEL: name}}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::Kube)?;
    }

    let t = &so.spec.scale_target_ref;
    if t.name.is_empty() {
        return check_failed(
            &ctx,
            &so,
            status,
            "ScaledObject doesn't have correct scaleTargetRef specification",
            "ScaledObject.spec.scaleTargetRef.name is missing",
        )
        .await;
    }
    let target = match target::resolve(&ctx.client, &ns, t.api_version(), t.kind(), &t.name).await {
        Ok(target) => target,
        Err(e) => {
            return check_failed(
                &ctx,
                &so,
                status,
                "ScaledObject doesn't have correct scaleTargetRef specification",
                &kube_error_text(&e),
            )
            .await;
        }
    };
    let scale = ScaleClient::new(ctx.client.clone(), target.clone());
    let current = match scale.current_replicas().await {
        Ok(c) => c,
        Err(e) => {
            let detail = match &e {
                kube::Error::Api(s) if s.code == 404 => "Target resource doesn't exist".to_string(),
                other => kube_error_text(other),
            };
            return check_failed(
                &ctx,
                &so,
                status,
                "ScaledObject doesn't have correct scaleTargetRef specification",
                &detail,
            )
            .await;
        }
    };
    status.scale_target_kind = Some(target.kind_string());
    status.scale_target_gvkr = Some(GroupVersionKindResource {
        group: target.resource.group.clone(),
        version: target.resource.version.clone(),
        kind: target.resource.kind.clone(),
        resource: target.resource.plural.clone(),
    });
    if status.original_replica_count.is_none() {
        status.original_replica_count = Some(current);
    }

    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
    if pause.paused {
        ctx.pollers.stop(&ns, &name);
        ctx.metric_store.remove_object(&ns, &name);
        let _ = hpas
            .delete(&hpa::hpa_name(&so), &DeleteParams::default())
            .await;
        if let Some(n) = pause.replicas
            && n != current
            && let Err(e) = scale.set_replicas(n).await
        {
            return check_failed(
                &ctx,
                &so,
                status,
                "failed to scale target to paused replica count",
                &kube_error_text(&e),
            )
            .await;
        }
        status.paused_replica_count = pause.replicas;
        if status.set_condition(
            PAUSED,
            "True",
            "ScaledObjectPaused",
            "ScaledObject is paused",
        ) {
            ctx.events
                .normal(
                    &reference,
                    events::SCALED_OBJECT_PAUSED,
                    "ScaledObject is paused",
                )
                .await;
            ctx.events
                .normal(&reference, events::SCALERS_STOPPED, "Stopped scalers watch")
                .await;
        }
        status.set_condition(READY, "True", "ScaledObjectReady", "ScaledObject is paused");
        write_status(&ctx, &so, status).await;
        return Ok(Action::await_change());
    }
    if status.condition(PAUSED).is_some_and(|c| c.is_true()) && !pause.any() {
        status.set_condition(
            PAUSED,
            "False",
            "ScaledObjectUnpaused",
            "pause annotation removed for ScaledObject",
        );
        status.paused_replica_count = None;
        ctx.events
            .normal(
                &reference,
                events::SCALED_OBJECT_UNPAUSED,
                "pause annotation removed for ScaledObject",
            )
            .await;
    } else if pause.any() {
        status.set_condition(
            PAUSED,
            "True",
            "ScaledObjectPaused",
            "ScaledObject is paused",
        );
    }

    // the spec checks `prescale validate` makes too (spec §1.5)
    let min = so.spec.min_replica_count();
    if let Some(p) = crate::validate::check_spec(&so).into_iter().next() {
        let short = if p.field.starts_with("spec.triggers") {
            "ScaledObject doesn't have correct triggers specification"
        } else if p.field.contains("ReplicaCount") {
            "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification"
        } else {
            "ScaledObject doesn't have a correct specification"
        };
        return check_failed(
            &ctx,
            &so,
            status,
            short,
            &format!("{}: {}", p.field, p.message),
        )
        .await;
    }

    // triggers: resolve, parse, connect
    let source = crate::resolve::kube::KubeSource {
        client: ctx.client.clone(),
    };
    let resolved =
        match crate::resolve::resolve(&source, &so, &ctx.config.cluster_object_namespace).await {
            Ok(r) => r,
            Err(e) => {
                return check_failed(
                    &ctx,
                    &so,
                    status,
                    "ScaledObject doesn't have correct triggers specification",
                    &e,
                )
                .await;
            }
        };
    ctx.dependencies.record(
        &kube::runtime::reflector::ObjectRef::from_obj(&*so),
        &resolved.used,
    );
    let mut specs = Vec::new();
    let mut live = Vec::new();
    let mut fingerprint = std::collections::hash_map::DefaultHasher::new();
    so.metadata.generation.hash(&mut fingerprint);
    for input in &resolved.inputs {
        // the auth values enter only a hash, so a rotated Secret rebuilds the loop
        input.auth_params.hash(&mut fingerprint);
        input.resolved_env.hash(&mut fingerprint);
        let def = match prescale_scalers::registry::parse(input) {
            Ok(d) => d,
            Err(e) => {
                return check_failed(
                    &ctx,
                    &so,
                    status,
                    "ScaledObject doesn't have correct triggers specification",
                    &format!("trigger {} ({}): {e}", input.index, input.trigger_type),
                )
                .await;
            }
        };
        specs.push(def.metric_spec());
        let scaler = match def.connect(&ctx.scalers).await {
            Ok(s) => s,
            Err(e) => {
                ctx.events
                    .warning(
                        &reference,
                        events::SCALER_FAILED,
                        format!("trigger {} ({}): {e}", input.index, input.trigger_type),
                    )
                    .await;
                return check_failed(
                    &ctx,
                    &so,
                    status,
                    "failed to ensure HPA is correctly created for ScaledObject",
                    &format!("trigger {} ({}): {e}", input.index, input.trigger_type),
                )
                .await;
            }
        };
        live.push(LiveTrigger {
            index: input.index,
            name: input.name.clone(),
            trigger_type: input.trigger_type.clone(),
            spec: def.metric_spec(),
            scaler,
        });
    }
    let external_names: Vec<String> = specs
        .iter()
        .filter_map(|s| s.external_name().map(str::to_string))
        .collect();
    if let Some(dup) = external_names
        .iter()
        .enumerate()
        .find_map(|(i, n)| external_names[..i].contains(n).then_some(n))
    {
        return check_failed(
            &ctx,
            &so,
            status,
            "ScaledObject doesn't have correct triggers specification",
            &format!("metricName {dup} defined multiple times in ScaledObject {name}"),
        )
        .await;
    }
    let composite = match hpa::composite_target(&so) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            return check_failed(
                &ctx,
                &so,
                status,
                "ScaledObject doesn't have correct scalingModifiers specification",
                &e,
            )
            .await;
        }
        None => None,
    };
    let modifiers = match (&composite, so.spec.scaling_modifiers()) {
        (Some(c), Some(m)) => {
            let names: Vec<&str> = so
                .spec
                .triggers
                .iter()
                .filter_map(|t| t.name.as_deref())
                .collect();
            match Formula::compile(&m.formula, &names) {
                Ok(formula) => Some(Modifiers {
                    formula,
                    target: c.target.clone(),
                    activation_target: m
                        .activation_target
                        .as_deref()
                        .and_then(|a| a.trim().parse().ok())
                        .unwrap_or(0.0),
                }),
                Err(e) => {
                    return check_failed(
                        &ctx,
                        &so,
                        status,
                        "ScaledObject doesn't have correct scalingModifiers specification",
                        &e.0,
                    )
                    .await;
                }
            }
        }
        _ => None,
    };
    let fallback = match &so.spec.fallback {
        Some(f) => {
            let fb = Fallback {
                failure_threshold: f.failure_threshold,
                replicas: f.replicas,
                behavior: match f.behavior {
                    None | Some(FallbackBehavior::Static) => Behavior::Static,
                    Some(FallbackBehavior::CurrentReplicas) => Behavior::CurrentReplicas,
                    Some(FallbackBehavior::CurrentReplicasIfHigher) => {
                        Behavior::CurrentReplicasIfHigher
                    }
                    Some(FallbackBehavior::CurrentReplicasIfLower) => {
                        Behavior::CurrentReplicasIfLower
                    }
                    Some(FallbackBehavior::ScalingModifiers) => Behavior::ScalingModifiers,
                },
            };
            fb.validate(so.spec.scaling_modifiers().map(|m| m.target.as_str()))
                .ok()
                .map(|()| fb)
        }
        None => None,
    };

    // the HPA, applied server-side with one field manager (hand edits are put back)
    let mut desired = hpa::build(&so, &specs, composite.as_ref(), &pause);
    // pre-scaling bounds in force now (the poll loop keeps them current)
    if crate::prescaling::any(&live) {
        // A running poll loop of this generation owns the bounds it put on the HPA (its sources
        // hold the events read so far; these freshly connected ones have read nothing yet).
        let running = ctx
            .pollers
            .runs(&ns, &name, fingerprint.clone().finish() as i64);
        let held = crate::prescaling::held_bounds(
            &ctx.hpas,
            &ns,
            desired.metadata.name.as_deref().unwrap_or_default(),
        );
        let (min, max) = match held {
            Some(bounds) if running => bounds,
            _ => {
                let (_, b) = crate::prescaling::evaluate(
                    &live,
                    &target,
                    &ctx.startups,
                    &ctx.config.lead,
                    ctx.scalers.clock.now(),
                );
                crate::prescaling::hpa_bounds(&so, &b)
            }
        };
        desired.spec.min_replicas = Some(min);
        desired.spec.max_replicas = max;
    }
    let hpa_name = desired.metadata.name.clone().unwrap_or_default();
    if let Some(old) = status.hpa_name.clone().filter(|old| *old != hpa_name) {
        let _ = hpas.delete(&old, &DeleteParams::default()).await;
    }
    let cached = ctx
        .hpas
        .get(&kube::runtime::reflector::ObjectRef::new(&hpa_name).within(&ns));
    let up_to_date = cached.is_some_and(|existing| hpa::matches(&existing, &desired));
    if !up_to_date
        && let Err(e) = hpas
            .patch(
                &hpa_name,
                &PatchParams::apply(&ctx.config.field_manager).force(),
                &Patch::Apply(&desired),
            )
            .await
    {
        return check_failed(
            &ctx,
            &so,
            status,
            "failed to ensure HPA is correctly created for ScaledObject",
            &kube_error_text(&e),
        )
        .await;
    }

    let mut types: Vec<String> = Vec::new();
    for t in &so.spec.triggers {
        if !types.contains(&t.type_) {
            types.push(t.type_.clone());
        }
    }
    let mut auths: Vec<String> = Vec::new();
    for a in so
        .spec
        .triggers
        .iter()
        .filter_map(|t| t.authentication_ref.as_ref())
    {
        if !auths.contains(&a.name) {
            auths.push(a.name.clone());
        }
    }
    status.triggers_types = Some(types.join(","));
    status.authentications_types = (!auths.is_empty()).then(|| auths.join(","));
    status.external_metric_names = if composite.is_some() {
        Vec::new()
    } else {
        external_names.clone()
    };
    status.resource_metric_names = specs
        .iter()
        .filter_map(|s| match s {
            prescale_scalers::MetricSpec::Resource { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    status.composite_scaler_name = composite
        .as_ref()
        .map(|_| crate::poller::evaluate::COMPOSITE_METRIC.to_string());
    status.hpa_name = Some(hpa_name);
    status.health.retain(|k, _| {
        external_names.contains(k) || k == crate::poller::evaluate::COMPOSITE_METRIC
    });
    let (ok, reason, message) = crate::poller::task::READY_OK;
    if status.set_condition(READY, ok, reason, message) {
        ctx.events
            .normal(
                &reference,
                events::SCALED_OBJECT_READY,
                "ScaledObject is ready for scaling",
            )
            .await;
    }
    write_status(&ctx, &so, status).await;

    let generation = fingerprint.finish() as i64;
    if !ctx.pollers.runs(&ns, &name, generation) {
        let mut stored: Vec<String> = external_names.clone();
        if composite.is_some() {
            stored.push(crate::poller::evaluate::COMPOSITE_METRIC.into());
        }
        ctx.metric_store.retain(&ns, &name, &stored);
        let plan = PollPlan {
            namespace: ns.clone(),
            name: name.clone(),
            generation,
            interval: Duration::from_secs(so.spec.polling_interval().max(1) as u64),
            triggers: live,
            fallback,
            modifiers,
            min,
            idle: so.spec.idle_replica_count,
            cooldown_period_s: so.spec.cooldown_period(),
            initial_cooldown_period_s: so.spec.initial_cooldown_period(),
            created: so
                .metadata
                .creation_timestamp
                .as_ref()
                .and_then(crate::poller::task::chrono_of)
                .unwrap_or_else(chrono::Utc::now),
            pause,
            target: scale,
            call_timeout: ctx.scalers.default_timeout * 2,
            hpa: desired.clone(),
            plan_cache: Default::default(),
        };
        ctx.pollers.start(plan, ctx.clone());
        ctx.events
            .normal(&reference, events::SCALERS_STARTED, "Started scalers watch")
            .await;
    }
    count(&ctx, ReconcileResult::Ok, "");
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn cleanup(so: Arc<ScaledObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = so.namespace().unwrap_or_default();
    let name = so.name_any();
    ctx.pollers.stop(&ns, &name);
    ctx.metric_store.remove_object(&ns, &name);
    ctx.metrics.forget_scaled_object(&ns, &name);
    ctx.dependencies
        .forget(&kube::runtime::reflector::ObjectRef::from_obj(&*so));
    let status = so.status.clone().unwrap_or_default();
    let restore = so
        .spec
        .advanced
        .as_ref()
        .is_some_and(|a| a.restore_to_original_replica_count);
    if restore
        && let (Some(original), Some(gvkr)) =
            (status.original_replica_count, &status.scale_target_gvkr)
    {
        let api_version = if gvkr.group.is_empty() {
            gvkr.version.clone()
        } else {
            format!("{}/{}", gvkr.group, gvkr.version)
        };
        let t = &so.spec.scale_target_ref;
        match target::resolve(&ctx.client, &ns, &api_version, &gvkr.kind, &t.name).await {
            Ok(target) => {
                if let Err(e) = ScaleClient::new(ctx.client.clone(), target)
                    .set_replicas(original)
                    .await
                {
                    tracing::warn!(scaledobject = %name, error = %kube_error_text(&e), "could not restore original replica count");
                }
            }
            Err(e) => {
                tracing::warn!(scaledobject = %name, error = %kube_error_text(&e), "could not resolve target to restore")
            }
        }
    }
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
    let hpa_name = status
        .hpa_name
        .clone()
        .unwrap_or_else(|| hpa::hpa_name(&so));
    match hpas.delete(&hpa_name, &DeleteParams::default()).await {
        Ok(_) | Err(kube::Error::Api(_)) => {}
        Err(e) => return Err(Error::Kube(e)),
    }
    ctx.events
        .normal(
            &so.object_ref(&()),
            events::SCALED_OBJECT_DELETED,
            "ScaledObject was deleted",
        )
        .await;
    Ok(Action::await_change())
}
