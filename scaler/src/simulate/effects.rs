//! A poll step's effects applied to the simulated world, in order, as the operator's executor
//! (`poller::execute`) applies them to the cluster: `ScaleTarget` sets the target's replicas,
//! `SetHpaBounds` the HPA's `minReplicas`/`maxReplicas`, `RecordMetrics` stores the evaluation
//! for the metrics API (what the HPA model reads), Events are listed, status edits land on the
//! status the step returned. Simulated writes never fail, so the `then` follow-ups run and the
//! `otherwise` ones never do.

use super::world::World;
use crate::api::ScaledObjectStatus;
use crate::poller::evaluate::Evaluation;
use crate::poller::step::{Effect, StatusEdit, Step};
use crate::time::time_of;
use chrono::DateTime;
use std::collections::BTreeMap;

/// What a step left behind besides the world's changes.
#[derive(Debug, Default)]
pub struct Applied {
    /// The status after the step, its edits applied.
    pub status: ScaledObjectStatus,
    /// The served value per metric name, when `RecordMetrics` ran.
    pub served: BTreeMap<String, Option<f64>>,
    /// `Reason: text` of every Event published.
    pub events: Vec<String>,
    edits: Vec<StatusEdit>,
}

impl Applied {
    /// Applies `step` at `t` (ms).
    pub fn run(world: &mut World, eval: &Evaluation, t: i64, step: Step) -> Self {
        let mut out = Applied::default();
        out.all(world, eval, t, step.effects);
        let mut status = step.status;
        for edit in std::mem::take(&mut out.edits) {
            match edit {
                StatusEdit::LastActive => {
                    status.last_active_time = DateTime::from_timestamp_millis(t).map(time_of);
                }
                StatusEdit::PreScalingBounds { min, max } => {
                    if let Some(p) = status.pre_scaling.as_mut() {
                        (p.min_replicas, p.max_replicas) = (min, max);
                    }
                }
            }
        }
        out.status = status;
        out
    }

    fn all(&mut self, world: &mut World, eval: &Evaluation, t: i64, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::RecordMetrics => {
                    self.served = eval
                        .metrics
                        .iter()
                        .map(|m| (m.metric_name.clone(), m.value))
                        .collect();
                }
                Effect::RecordPreScaling { .. } | Effect::ForgetPreScaling | Effect::Warn(_) => {}
                Effect::Event(note) => self.events.push(format!("{}: {}", note.reason, note.text)),
                Effect::Status(edit) => self.edits.push(edit),
                Effect::SetHpaBounds { min, max, then, .. } => {
                    world.hpa_bounds = (min, max);
                    self.all(world, eval, t, then);
                }
                Effect::ScaleTarget { to, then, .. } => {
                    world.scale_to(to, t);
                    self.all(world, eval, t, then);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poller::step::Note;
    use crate::scaling::activation::Decision;
    use crate::simulate::startup::Startup;

    #[test]
    fn writes_land_in_the_world_with_their_follow_ups() {
        let mut world = World::new(
            2,
            0,
            Startup::Fixed(std::time::Duration::from_secs(60)),
            (2, 20),
        );
        let note = |reason| Note {
            warning: false,
            reason,
            action: None,
            text: "t".into(),
            with_error: false,
        };
        let step = Step {
            decision: Decision::KeepActive,
            active_seen: None,
            status: ScaledObjectStatus::default(),
            effects: vec![
                Effect::RecordMetrics,
                Effect::SetHpaBounds {
                    min: 8,
                    max: 20,
                    then: vec![Effect::Event(note("PreScalingFloorRaised"))],
                    otherwise: vec![Effect::Event(note("never"))],
                },
                Effect::ScaleTarget {
                    to: 8,
                    then: vec![Effect::Status(StatusEdit::LastActive)],
                    otherwise: vec![],
                },
            ],
        };
        let eval = Evaluation {
            metrics: vec![crate::poller::evaluate::MetricResult {
                metric_name: "s0-x".into(),
                trigger_index: Some(0),
                value: Some(4.0),
                active: true,
                fallback: false,
                error: None,
                latency: std::time::Duration::ZERO,
            }],
            ..Evaluation::default()
        };
        let out = Applied::run(&mut world, &eval, 5000, step);
        assert_eq!(
            (world.hpa_bounds, world.spec_replicas, world.pods.len()),
            ((8, 20), 8, 8)
        );
        assert_eq!(out.events, vec!["PreScalingFloorRaised: t".to_string()]);
        assert_eq!(out.served.get("s0-x"), Some(&Some(4.0)));
        assert_eq!(
            out.status.last_active_time.map(|t| t.0.as_second()),
            Some(5)
        );
    }
}
