//! Applies a poll [`Step`] against the cluster: its effects in order through the one
//! [`Writer`](crate::write::Writer), then the status with the edits the writes' outcomes
//! called for. The only code of the poll loop that writes.

use super::env::Env;
use super::evaluate::Evaluation;
use super::plan::PollPlan;
use super::step::{Effect, Note, StatusEdit, Step};
use crate::api::ScaledObject;
use crate::metric_store::MetricRecord;
use crate::telemetry::metrics::{
    ScaledObjectLabels, ScalerTypeLabels, TriggerErrorLabels, TriggerLabels,
};
use crate::time::time_of;
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;

/// One step's execution.
struct Run<'a> {
    env: &'a Env,
    plan: &'a PollPlan,
    eval: &'a Evaluation,
    now: DateTime<Utc>,
    reference: ObjectReference,
    edits: Vec<StatusEdit>,
}

/// Runs the step's effects, then writes its status; returns whether the status write went
/// through (or had nothing to write).
pub async fn execute(
    env: &Env,
    plan: &PollPlan,
    so: &ScaledObject,
    eval: &Evaluation,
    now: DateTime<Utc>,
    step: Step,
) -> bool {
    let mut run = Run {
        env,
        plan,
        eval,
        now,
        reference: so.object_ref(&()),
        edits: Vec::new(),
    };
    run.all(step.effects).await;
    let mut status = step.status;
    for edit in run.edits {
        match edit {
            StatusEdit::LastActive => status.last_active_time = Some(time_of(now)),
            StatusEdit::PreScalingBounds { min, max } => {
                if let Some(p) = status.pre_scaling.as_mut() {
                    p.min_replicas = min;
                    p.max_replicas = max;
                }
            }
        }
    }
    // a failed write is logged; the next poll writes the status again
    env.writer.poll_status(so, status).await.is_ok()
}

impl Run<'_> {
    /// Effects in order; a write's `then`/`otherwise` run right after it (boxed: they nest).
    fn all(&mut self, effects: Vec<Effect>) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move {
            for effect in effects {
                self.one(effect).await;
            }
        })
    }

    async fn one(&mut self, effect: Effect) {
        let spec = &self.plan.spec;
        let outcome = match effect {
            Effect::RecordMetrics => return record(self.env, self.plan, self.eval, self.now),
            Effect::RecordPreScaling {
                min,
                max,
                next_change_s,
                lead_s,
            } => return self.prescale_gauges(min, max, next_change_s, lead_s),
            Effect::ForgetPreScaling => {
                return self
                    .env
                    .metrics
                    .forget_scaled_object(&spec.namespace, &spec.name);
            }
            Effect::Event(note) => return self.publish(note, None).await,
            Effect::Warn(_) => return,
            Effect::Status(edit) => return self.edits.push(edit),
            Effect::SetHpaBounds {
                min,
                max,
                then,
                otherwise,
            } => {
                let res = match spec.hpa.object() {
                    Ok(hpa) => self.env.writer.apply_hpa_bounds(&hpa, min, max).await,
                    Err(e) => Err(crate::write::Error::Kube(kube::Error::SerdeError(e))),
                };
                (res, then, otherwise)
            }
            Effect::ScaleTarget {
                to,
                then,
                otherwise,
            } => (
                self.env.writer.scale(&spec.target, to).await,
                then,
                otherwise,
            ),
        };
        match outcome {
            (Ok(()), then, _) => self.all(then).await,
            // a follower: neither the write nor its follow-ups are its to do
            (Err(crate::write::Error::NotLeader), _, _) => {}
            (Err(e), _, otherwise) => {
                let mut rest = Vec::new();
                for follow in otherwise {
                    match follow {
                        Effect::Warn(what) => {
                            tracing::warn!(scaledobject = %spec.name, error = %e.text(), "{what}")
                        }
                        Effect::Event(note) => self.publish(note, Some(&e.text())).await,
                        other => rest.push(other),
                    }
                }
                self.all(rest).await;
            }
        }
    }

    async fn publish(&self, note: Note, error: Option<&str>) {
        let events = &self.env.writer.events;
        let text = match (note.with_error, error) {
            (true, Some(e)) => format!("{}: {e}", note.text),
            _ => note.text,
        };
        match (note.warning, note.action) {
            (true, _) => events.warning(&self.reference, note.reason, text).await,
            (false, Some(action)) => {
                events
                    .normal_with_action(&self.reference, note.reason, action, text)
                    .await
            }
            (false, None) => events.normal(&self.reference, note.reason, text).await,
        }
    }

    fn prescale_gauges(&self, min: i32, max: i32, next_change_s: i64, lead_s: f64) {
        let m = &self.env.metrics;
        let labels = ScaledObjectLabels {
            namespace: self.plan.spec.namespace.clone(),
            scaled_object: self.plan.spec.name.clone(),
        };
        m.prescale_min_replicas
            .get_or_create(&labels)
            .set(i64::from(min));
        m.prescale_max_replicas
            .get_or_create(&labels)
            .set(i64::from(max));
        m.prescale_next_change
            .get_or_create(&labels)
            .set(next_change_s);
        m.prescale_lead_time.get_or_create(&labels).set(lead_s);
    }
}

/// Stores every metric for the metrics API and exports the trigger metrics.
fn record(env: &Env, plan: &PollPlan, eval: &Evaluation, now: DateTime<Utc>) {
    let spec = &plan.spec;
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
            namespace: spec.namespace.clone(),
            scaled_object: spec.name.clone(),
            scaler: scaler.clone(),
            trigger_index: m
                .trigger_index
                .map_or_else(|| "-".into(), |i| i.to_string()),
            metric: m.metric_name.clone(),
        };
        env.metrics.track_trigger(&labels);
        if let Some(v) = m.value {
            env.metrics.trigger_value.get_or_create(&labels).set(v);
        }
        let target = trigger.map_or_else(
            || spec.modifiers.as_ref().map(|x| x.target.number),
            |t| Some(t.spec.target().number),
        );
        if let Some(target) = target {
            env.metrics
                .trigger_target
                .get_or_create(&labels)
                .set(target);
        }
        env.metrics
            .trigger_fallback
            .get_or_create(&labels)
            .set(i64::from(m.fallback));
        env.metrics
            .trigger_active
            .get_or_create(&labels)
            .set(i64::from(m.active));
        if let Some(t) = trigger {
            env.metrics
                .query_latency
                .get_or_create(&ScalerTypeLabels {
                    scaler: t.trigger_type.clone(),
                })
                .observe(m.latency.as_secs_f64());
        }
        if let Some((_, category)) = &m.error {
            let labels = TriggerErrorLabels {
                namespace: spec.namespace.clone(),
                scaled_object: spec.name.clone(),
                scaler,
                metric: m.metric_name.clone(),
                category,
            };
            env.metrics.track_error(&labels);
            env.metrics.trigger_errors.get_or_create(&labels).inc();
        }
        env.metric_store.put(
            &spec.namespace,
            &spec.name,
            spec.interval.as_secs() as u32,
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
