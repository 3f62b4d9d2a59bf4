//! One ScaledObject's poll loop: every `pollingInterval` (first tick jittered) it reads all
//! triggers, stores the values for the metrics API, applies the activation table and writes
//! status. Only the lease holder polls sources and writes; a follower's loop idles.

use super::evaluate::{Evaluation, LiveTrigger, Modifiers, TargetState, evaluate};
use super::schedule::first_tick_offset;
use super::target::ScaleClient;
use crate::api::conditions::{ACTIVE, FALLBACK, READY};
use crate::api::{HealthStatus, ScaledObject, ScaledObjectStatus, TriggerActivity};
use crate::context::Context;
use crate::controller::events;
use crate::scaling::activation::{Decision, PollState, cooldown_elapsed, decide};
use crate::scaling::fallback::{Fallback, Health};
use crate::scaling::pause::Pause;
use crate::store::MetricRecord;
use crate::telemetry::metrics::{ScalerTypeLabels, TriggerErrorLabels, TriggerLabels};
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Everything a poll loop needs, built by the reconcile from a valid ScaledObject.
#[derive(Clone)]
pub struct PollPlan {
    pub namespace: String,
    pub name: String,
    /// The generation the plan was built from (a new generation replaces the loop).
    pub generation: i64,
    pub interval: Duration,
    pub triggers: Vec<LiveTrigger>,
    pub fallback: Option<Fallback>,
    pub modifiers: Option<Modifiers>,
    pub min: i32,
    pub idle: Option<i32>,
    pub cooldown_period_s: i32,
    pub initial_cooldown_period_s: i32,
    pub created: DateTime<Utc>,
    pub pause: Pause,
    pub target: ScaleClient,
    /// Backend call timeout.
    pub call_timeout: Duration,
    /// The HPA as reconcile applied it; the loop re-applies it when pre-scaling moves its
    /// `minReplicas`/`maxReplicas`.
    pub hpa: k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    /// The pre-scaling plan computed last.
    pub plan_cache: Arc<std::sync::Mutex<crate::prescaling::PlanCache>>,
}

pub(crate) fn chrono_of(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), 0)
}

pub(crate) fn time_of(t: DateTime<Utc>) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).unwrap_or_default())
}

/// Runs the loop until the task is aborted; `poke` asks for an extra poll now. Besides every
/// `pollingInterval`, the loop also wakes when a pre-scaling change is due, so floors move on
/// time whatever the interval.
pub async fn run(plan: PollPlan, ctx: Arc<Context>, poke: Arc<tokio::sync::Notify>) {
    // pre-scaling sources read their events at once (their floors may already be due)
    let offset = if crate::prescaling::any(&plan.triggers) {
        Duration::ZERO
    } else {
        first_tick_offset(&plan.namespace, &plan.name, plan.interval)
    };
    let mut next = tokio::time::Instant::now() + offset;
    let mut change: Option<tokio::time::Instant> = None;
    loop {
        let wake = change.map_or(next, |c| c.min(next));
        let poked = tokio::select! {
            _ = tokio::time::sleep_until(wake) => false,
            _ = poke.notified() => true,
        };
        let on_tick = !poked && wake == next;
        if on_tick {
            let lateness = tokio::time::Instant::now().saturating_duration_since(next);
            ctx.metrics.poll_lateness.observe(lateness.as_secs_f64());
        }
        if ctx.leader.is_leader() {
            let due = poll_once(&plan, &ctx).await;
            change = due.map(|at| {
                let wait = (at - ctx.scalers.clock.now())
                    .to_std()
                    .unwrap_or_default()
                    .saturating_sub(crate::prescaling::LOOKAHEAD)
                    .max(Duration::from_millis(200));
                tokio::time::Instant::now() + wait
            });
        } else {
            change = None;
        }
        if on_tick {
            next += plan.interval;
            // after a long stall, do not fire a burst of catch-up polls
            let now = tokio::time::Instant::now();
            if next < now {
                next = now + plan.interval;
            }
        }
    }
}

/// One poll: evaluate, store, decide, act, report. Returns when the pre-scaling bounds change
/// next, if a change is planned.
pub async fn poll_once(plan: &PollPlan, ctx: &Context) -> Option<DateTime<Utc>> {
    let so = ctx
        .scaled_objects
        .get(&kube::runtime::reflector::ObjectRef::new(&plan.name).within(&plan.namespace))?;
    let mut status = so.status.clone().unwrap_or_default();
    let reference = so.object_ref(&());
    let now = ctx.scalers.clock.now();

    let current = match plan.target.current_replicas().await {
        Ok(c) => c,
        Err(e) => {
            let msg = format!(
                "Error getting current replicas count for ScaleTarget: {}",
                kube_error_text(&e)
            );
            status.set_condition(READY, "False", "ErrorGettingCurrentReplicas", &msg);
            write_status(ctx, &so, status).await;
            return None;
        }
    };
    let needs_ready_pods = plan.fallback.is_some()
        && plan
            .triggers
            .iter()
            .any(|t| t.spec.target().metric_type == prescale_scalers::MetricType::Value);
    let ready_pods = if needs_ready_pods {
        plan.target.ready_pods().await.unwrap_or(0)
    } else {
        current
    };

    let mut health: BTreeMap<String, Health> = status
        .health
        .iter()
        .map(|(k, h)| {
            (
                k.clone(),
                Health {
                    number_of_failures: h.number_of_failures.unwrap_or(0),
                    failing: h.status.as_deref() == Some("Failing"),
                },
            )
        })
        .collect();
    let eval = evaluate(
        &plan.triggers,
        plan.fallback.as_ref(),
        plan.modifiers.as_ref(),
        TargetState {
            current_replicas: current,
            ready_pods,
        },
        &mut health,
        plan.call_timeout,
    )
    .await;
    record(plan, ctx, &eval, now);
    let floor = crate::prescaling::enforce::enforce(plan, ctx, &so, &mut status, current).await;

    let last_active = status.last_active_time.as_ref().and_then(chrono_of);
    let state = PollState {
        active: eval.active,
        force_activation: plan.pause.force_activation,
        errored: eval.errored,
        fallback_nonzero: plan.fallback.is_some_and(|f| f.replicas != 0),
        current,
        min: plan.min,
        idle: plan.idle,
        paused_scale_in: plan.pause.scale_in,
        paused_scale_out: plan.pause.scale_out,
        cooldown_elapsed: cooldown_elapsed(
            now,
            last_active,
            plan.created,
            plan.cooldown_period_s,
            plan.initial_cooldown_period_s,
        ),
    };
    let mut decision = decide(&state);
    if let Some(floor) = floor {
        match &mut decision {
            // activating with a floor in force goes straight to the floor
            Decision::Activate { to } => *to = (*to).max(floor),
            // a floor in force is never scaled away (a failing calendar keeps its events)
            Decision::Deactivate { .. } => decision = Decision::KeepActive,
            _ => {}
        }
    }
    let kind = plan.target.target().kind_string();
    let target_name = format!("{}/{}", plan.namespace, plan.target.target().name);
    match decision {
        Decision::Activate { to } => match plan.target.set_replicas(to).await {
            Ok(()) => {
                let why = if plan.pause.force_activation && !eval.active {
                    "caused by forced activation annotation".to_string()
                } else {
                    format!("triggered by {}", eval.active_metrics.join(";"))
                };
                ctx.events
                    .normal(
                        &reference,
                        events::TARGET_ACTIVATED,
                        format!("Scaled {kind} {target_name} from {current} to {to}, {why}"),
                    )
                    .await;
                status.last_active_time = Some(time_of(now));
            }
            Err(e) => {
                ctx.events
                    .warning(
                        &reference,
                        events::TARGET_ACTIVATION_FAILED,
                        format!(
                            "Failed to scale {kind} {target_name} from {current} to {to}: {}",
                            kube_error_text(&e)
                        ),
                    )
                    .await
            }
        },
        Decision::ActiveScaleOutPaused | Decision::KeepActive => {
            status.last_active_time = Some(time_of(now))
        }
        Decision::Deactivate { to } => match plan.target.set_replicas(to).await {
            Ok(()) => {
                ctx.events
                    .normal(
                        &reference,
                        events::TARGET_DEACTIVATED,
                        format!("Deactivated {kind} {target_name} from {current} to {to}"),
                    )
                    .await
            }
            Err(e) => {
                ctx.events
                    .warning(
                        &reference,
                        events::TARGET_DEACTIVATION_FAILED,
                        format!(
                            "Failed to deactivate {kind} {target_name} from {current} to {to}: {}",
                            kube_error_text(&e)
                        ),
                    )
                    .await
            }
        },
        Decision::RaiseToMin { to } => {
            if let Err(e) = plan.target.set_replicas(to).await {
                tracing::warn!(scaledobject = %plan.name, error = %kube_error_text(&e), "could not raise target to minReplicaCount");
            }
        }
        Decision::PartialError
        | Decision::HoldForFallback
        | Decision::TriggerError
        | Decision::Cooldown
        | Decision::Nothing => {}
    }
    apply_conditions(&mut status, decision, &eval, plan.pause.force_activation);
    let fallback_was = status.condition(FALLBACK).is_some_and(|c| c.is_true());
    let fallback_now = eval.metrics.iter().any(|m| m.fallback);
    if plan.fallback.is_some() {
        status.set_condition(
            FALLBACK,
            if fallback_now { "True" } else { "False" },
            if fallback_now {
                "FallbackExists"
            } else {
                "NoFallbackFound"
            },
            if fallback_now {
                "At least one trigger is falling back on this scaled object"
            } else {
                "No fallbacks are active on this scaled object"
            },
        );
        status.health = health
            .into_iter()
            .map(|(k, h)| {
                (
                    k,
                    HealthStatus {
                        number_of_failures: Some(h.number_of_failures),
                        status: Some(h.status().to_string()),
                    },
                )
            })
            .collect();
        if fallback_now && !fallback_was {
            ctx.events
                .warning(
                    &reference,
                    events::FALLBACK_ACTIVATED,
                    "ScaledObject fallback is active",
                )
                .await;
        } else if !fallback_now && fallback_was {
            ctx.events
                .normal(
                    &reference,
                    events::FALLBACK_DEACTIVATED,
                    "ScaledObject fallback is no longer active",
                )
                .await;
        }
    }
    status.triggers_activity = eval
        .metrics
        .iter()
        .map(|m| {
            (
                m.metric_name.clone(),
                TriggerActivity {
                    is_active: m.active,
                },
            )
        })
        .collect();
    let next_change = status
        .pre_scaling
        .as_ref()
        .and_then(|p| p.next_changes.first())
        .and_then(|c| chrono_of(&c.time));
    write_status(ctx, &so, status).await;
    next_change
}

/// (status, reason, message) of a condition.
type Cond = (&'static str, &'static str, &'static str);

pub(crate) const READY_OK: Cond = (
    "True",
    "ScaledObjectReady",
    "ScaledObject is defined correctly and is ready for scaling",
);
const NOT_ACTIVE: Cond = (
    "False",
    "ScalerNotActive",
    "Scaling is not performed because triggers are not active",
);
const COOLDOWN: Cond = (
    "False",
    "ScalerCooldown",
    "Scaler cooling down because triggers are not active",
);
const PARTIAL_ERROR: Cond = (
    "Unknown",
    "PartialTriggerError",
    "Some triggers defined in ScaledObject are not working correctly",
);
const TRIGGER_ERROR: Cond = (
    "False",
    "TriggerError",
    "Triggers defined in ScaledObject are not working correctly",
);

/// Active/Ready conditions for a poll outcome (spec §1.3, §3.5).
fn apply_conditions(
    status: &mut ScaledObjectStatus,
    decision: Decision,
    eval: &Evaluation,
    forced: bool,
) {
    let active: Cond = if forced && !eval.active {
        (
            "True",
            "ScalerActive",
            "Scaling is performed because activation is being forced by annotation",
        )
    } else {
        (
            "True",
            "ScalerActive",
            "Scaling is performed because triggers are active",
        )
    };
    let (active, ready) = match decision {
        Decision::Activate { .. } | Decision::ActiveScaleOutPaused | Decision::KeepActive => {
            (active, Some(READY_OK))
        }
        Decision::PartialError => (active, Some(PARTIAL_ERROR)),
        Decision::TriggerError => (NOT_ACTIVE, Some(TRIGGER_ERROR)),
        Decision::HoldForFallback => (NOT_ACTIVE, None),
        Decision::Cooldown => (COOLDOWN, Some(READY_OK)),
        Decision::Deactivate { .. } | Decision::RaiseToMin { .. } | Decision::Nothing => {
            (NOT_ACTIVE, Some(READY_OK))
        }
    };
    status.set_condition(ACTIVE, active.0, active.1, active.2);
    if let Some((s, r, m)) = ready {
        status.set_condition(READY, s, r, m);
    }
}

/// Stores every metric for the metrics API and exports the trigger metrics.
fn record(plan: &PollPlan, ctx: &Context, eval: &Evaluation, now: DateTime<Utc>) {
    for m in &eval.metrics {
        let trigger = m
            .trigger_index
            .and_then(|i| plan.triggers.iter().find(|t| t.index == i));
        let scaler = trigger.map_or_else(
            || "composite".to_string(),
            |t| {
                if t.name.is_empty() {
                    t.trigger_type.clone()
                } else {
                    t.name.clone()
                }
            },
        );
        let labels = TriggerLabels {
            namespace: plan.namespace.clone(),
            scaled_object: plan.name.clone(),
            scaler: scaler.clone(),
            trigger_index: m
                .trigger_index
                .map_or_else(|| "-".into(), |i| i.to_string()),
            metric: m.metric_name.clone(),
        };
        if let Some(v) = m.value {
            ctx.metrics.trigger_value.get_or_create(&labels).set(v);
        }
        ctx.metrics
            .trigger_active
            .get_or_create(&labels)
            .set(i64::from(m.active));
        if let Some(t) = trigger {
            ctx.metrics
                .query_latency
                .get_or_create(&ScalerTypeLabels {
                    scaler: t.trigger_type.clone(),
                })
                .observe(m.latency.as_secs_f64());
        }
        if let Some((_, category)) = &m.error {
            ctx.metrics
                .trigger_errors
                .get_or_create(&TriggerErrorLabels {
                    namespace: plan.namespace.clone(),
                    scaled_object: plan.name.clone(),
                    scaler,
                    metric: m.metric_name.clone(),
                    category,
                })
                .inc();
        }
        ctx.metric_store.put(
            &plan.namespace,
            &plan.name,
            plan.interval.as_secs() as u32,
            MetricRecord {
                metric_name: m.metric_name.clone(),
                value: m.value,
                active: m.active,
                fallback: m.fallback,
                error: m.error.as_ref().map(|(msg, _)| msg.clone()),
                timestamp: now,
            },
        );
    }
}

/// Patches the status subresource when it changed (leader only).
pub(crate) async fn write_status(ctx: &Context, so: &ScaledObject, status: ScaledObjectStatus) {
    if so.status.as_ref() == Some(&status) || !ctx.leader.is_leader() {
        return;
    }
    let api: Api<ScaledObject> = Api::namespaced(
        ctx.client.clone(),
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
    if let Err(e) = api
        .patch_status(
            &so.metadata.name.clone().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(scaledobject = ?so.metadata.name, error = %kube_error_text(&e), "status update failed");
    }
}

/// A kube error as text for Events and conditions (API errors carry no credentials).
pub fn kube_error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
