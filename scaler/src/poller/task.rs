//! One ScaledObject's poll loop: when to poll (every `pollingInterval`, the first tick
//! jittered, plus when a pre-scaling change is due or a reader pokes; a loop handed its
//! object's first Ready status also polls right at its start, to write it), and one poll: read,
//! evaluate, decide (the pure [`step`](super::step)), execute. Only the lease holder polls; a
//! follower's loop idles.

use super::env::Env;
use super::evaluate::{TargetState, combine, sample};
use super::execute::execute;
use super::jitter::{first_tick_delay_now, phase_key};
use super::plan::PollPlan;
use super::step::{StepInput, decide};
use crate::api::conditions::READY;
use crate::kube_client::kube_error_text;
use crate::scaling::fallback::Health;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Runs the loop until the task is aborted; `poke` asks for an extra poll now. Besides every
/// `pollingInterval`, the loop also wakes when a pre-scaling change is due, so floors move on
/// time whatever the interval.
pub async fn run(plan: PollPlan, env: Arc<Env>, poke: Arc<tokio::sync::Notify>) {
    let spec = &plan.spec;
    // pre-scaling sources read their events at once (their floors may already be due)
    let offset = if crate::prescaling::any(&plan.triggers) {
        Duration::ZERO
    } else {
        let keys = plan.triggers.iter().map(|t| t.scaler.poll_key());
        first_tick_delay_now(phase_key(&spec.namespace, &spec.name, keys), spec.interval)
    };
    let mut next = tokio::time::Instant::now() + offset;
    let mut change: Option<tokio::time::Instant> = None;
    if plan.handover.is_pending() {
        // the reconcile left the object's Ready to this first poll: it runs at once, not at
        // the phase (later ticks keep the phase)
        change = Box::pin(poll_once(&plan, &env))
            .await
            .map(|at| wake_before(at, &env));
        if offset.is_zero() {
            next += spec.interval;
        }
    }
    loop {
        let wake = change.map_or(next, |c| c.min(next));
        let poked = tokio::select! {
            _ = tokio::time::sleep_until(wake) => false,
            _ = poke.notified() => true,
        };
        let on_tick = !poked && wake == next;
        if on_tick {
            let lateness = tokio::time::Instant::now().saturating_duration_since(next);
            env.metrics.poll_lateness.observe(lateness.as_secs_f64());
        }
        // followers poll too (their metrics API serves what they read); the executor's
        // writes are the leader's only
        // boxed: the poll's state (source calls, API writes: ~12 KB) exists only while it
        // runs, not in every idle loop's task (10,000 loops would hold ~120 MB)
        change = Box::pin(poll_once(&plan, &env))
            .await
            .map(|at| wake_before(at, &env));
        if on_tick {
            next += spec.interval;
            // after a long stall, do not fire a burst of catch-up polls
            let now = tokio::time::Instant::now();
            if next < now {
                next = now + spec.interval;
            }
        }
    }
}

/// When to wake for a pre-scaling change at `at`: a moment early, so it is in force on time.
fn wake_before(at: DateTime<Utc>, env: &Env) -> tokio::time::Instant {
    let wait = (at - env.clock.now())
        .to_std()
        .unwrap_or_default()
        .saturating_sub(crate::prescaling::LOOKAHEAD)
        .max(Duration::from_millis(200));
    tokio::time::Instant::now() + wait
}

/// One poll: read, evaluate, decide, execute. Returns when the pre-scaling bounds change next,
/// if a change is planned.
pub async fn poll_once(plan: &PollPlan, env: &Env) -> Option<DateTime<Utc>> {
    let spec = &plan.spec;
    let so = env.scaled_object(&spec.namespace, &spec.name)?;
    // a status handed over by the reconcile is newer than the cached object's
    let handed = plan.handover.pending();
    let handing_over = handed.is_some();
    let mut status = handed.or_else(|| so.status.clone()).unwrap_or_default();
    let now = env.clock.now();

    let current = match plan.target.current_replicas().await {
        Ok(c) => c,
        Err(e) => {
            let msg = format!(
                "Error getting current replicas count for ScaleTarget: {}",
                kube_error_text(&e)
            );
            status.set_condition(READY, "False", "ErrorGettingCurrentReplicas", &msg);
            if env.writer.poll_status(&so, status).await.is_ok() && handing_over {
                plan.handover.written();
            }
            return None;
        }
    };
    env.metrics
        .target_replicas
        .get_or_create(&crate::telemetry::metrics::ScaledObjectLabels {
            namespace: spec.namespace.clone(),
            scaled_object: spec.name.clone(),
        })
        .set(i64::from(current));
    let needs_ready_pods = spec.fallback.is_some()
        && plan
            .triggers
            .iter()
            .any(|t| t.spec.target().metric_type == prescale_scalers::MetricType::Value);
    let ready_pods = if needs_ready_pods {
        plan.target.ready_pods().await.unwrap_or(0)
    } else {
        current
    };

    let mut health = health_of(&status);
    let reads = sample(&plan.triggers, spec.call_timeout).await;
    let target = TargetState {
        current_replicas: current,
        ready_pods,
    };
    let eval = combine(
        &plan.triggers,
        reads,
        spec.fallback.as_ref(),
        spec.modifiers.as_ref(),
        target,
        &mut health,
    );
    let prescale = super::prescale::now(env, plan, &so).await;
    let held_bounds = env
        .held_bounds(&spec.namespace, spec.hpa.name())
        .unwrap_or(spec.hpa.bounds());
    let step = decide(&StepInput {
        now,
        spec,
        current,
        eval: &eval,
        health: &health,
        prescale: prescale.as_ref(),
        held_bounds,
        status: &status,
        last_active_seen: *plan.last_active.lock().unwrap_or_else(|e| e.into_inner()),
    });
    *plan.last_active.lock().unwrap_or_else(|e| e.into_inner()) = step.active_seen;
    let next_change = step.next_change();
    // the write compares with the cached object, so a handed-over status is written even when
    // this poll changed nothing in it
    if execute(env, plan, &so, &eval, now, step).await && handing_over {
        plan.handover.written();
    }
    next_change
}

/// `status.health` as the fallback bookkeeping counts it.
pub fn health_of(status: &crate::api::ScaledObjectStatus) -> BTreeMap<String, Health> {
    status
        .health
        .iter()
        .map(|(k, h)| {
            let health = Health {
                number_of_failures: h.number_of_failures.unwrap_or(0),
                failing: h.status.as_deref() == Some("Failing"),
            };
            (k.clone(), health)
        })
        .collect()
}
