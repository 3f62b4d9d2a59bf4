//! The poll step as a pure function: from what one poll saw (the target's replicas, the
//! triggers' evaluation, the pre-scaling bounds in force) and the ScaledObject's status before
//! it, [`decide`] returns the new status and the [`Effect`]s to apply, in order. The executor
//! (`execute.rs`) applies them against the cluster; the simulator applies them to its
//! simulated world. Nothing here reads a clock or the network.
//!
//! What it decides: KEDA's activation table (`scaling::activation`), adjusted by a
//! pre-scaling floor (activation goes straight to the floor; a floor in force is never
//! deactivated; a rising floor scales a running target at once); the HPA bounds; the Active,
//! Ready, Fallback and PreScaling conditions; `status.health`, `triggersActivity`,
//! `lastActiveTime` and `preScaling`; and the Events KEDA and Prescale publish.

use super::evaluate::Evaluation;
use super::plan::PollSpec;
use crate::api::conditions::PRE_SCALING;
use crate::api::{HealthStatus, ScaledObjectStatus, TriggerActivity};
use crate::prescaling::PreScaleNow;
use crate::scaling::activation::{Decision, PollState, cooldown_elapsed, decide as activation};
use crate::scaling::fallback::Health;
use crate::time::{chrono_of, time_of};
use crate::write::events;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

mod conditions;
#[cfg(test)]
mod tests;

/// What one poll saw.
#[derive(Debug, Clone)]
pub struct StepInput<'a> {
    pub now: DateTime<Utc>,
    pub spec: &'a PollSpec,
    /// The target's `spec.replicas` now.
    pub current: i32,
    pub eval: &'a Evaluation,
    /// `status.health` after this evaluation (see `evaluate::combine`).
    pub health: &'a BTreeMap<String, Health>,
    /// Pre-scaling now, `None` when no trigger pre-scales.
    pub prescale: Option<&'a PreScaleNow>,
    /// The HPA's `(minReplicas, maxReplicas)` as it holds them now.
    pub held_bounds: (i32, i32),
    /// The status before this poll.
    pub status: &'a ScaledObjectStatus,
    /// The last poll that kept the target active, as the loop remembers it (exact, while
    /// `status.lastActiveTime` is refreshed only every [`LAST_ACTIVE_REFRESH`]).
    pub last_active_seen: Option<DateTime<Utc>>,
}

/// How stale `status.lastActiveTime` may get while the target stays active. KEDA writes it on
/// every active poll; Prescale writes it on activation, when the target stops being active
/// (the exact last active instant), and otherwise at most this often, so an active object
/// costs one write per 5 minutes instead of one per poll (10,000 active objects: 33 writes/s
/// instead of 333 at 30 s polling). The cooldown is computed from the exact instant the loop
/// keeps (a restarted loop counts an Active object as active at its start).
pub const LAST_ACTIVE_REFRESH: chrono::Duration = chrono::Duration::seconds(300);

/// An Event to publish on the ScaledObject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    /// An `action` of its own, so Events of one reason with other counts are not folded.
    pub action: Option<String>,
    pub text: String,
    /// Whether the executor appends `: <the failed write's error>` to the text.
    pub with_error: bool,
}

impl Note {
    fn normal(reason: &'static str, text: String) -> Self {
        Self {
            warning: false,
            reason,
            action: None,
            text,
            with_error: false,
        }
    }

    fn counted(reason: &'static str, count: i32, text: String) -> Self {
        Self {
            action: Some(format!("{reason}-{count}")),
            ..Self::normal(reason, text)
        }
    }

    fn warning(reason: &'static str, text: String) -> Self {
        Self {
            warning: true,
            ..Self::normal(reason, text)
        }
    }

    fn failed(reason: &'static str, text: String) -> Self {
        Self {
            with_error: true,
            ..Self::warning(reason, text)
        }
    }
}

/// A change of the status that holds only once an earlier write went through (or failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEdit {
    /// `lastActiveTime` = the poll's instant.
    LastActive,
    /// Report these HPA bounds in `status.preScaling` (the HPA did not take the new ones).
    PreScalingBounds { min: i32, max: i32 },
}

/// One thing to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Store the evaluation for the metrics API and export the trigger metrics.
    RecordMetrics,
    /// Export the pre-scaling gauges.
    RecordPreScaling {
        min: i32,
        max: i32,
        next_change_s: i64,
        lead_s: f64,
    },
    /// Drop the pre-scaling gauges (its triggers were removed).
    ForgetPreScaling,
    /// Move the HPA's `minReplicas`/`maxReplicas`; `then` when the HPA took them, `otherwise`
    /// when the write failed.
    SetHpaBounds {
        min: i32,
        max: i32,
        then: Vec<Effect>,
        otherwise: Vec<Effect>,
    },
    /// Set the target's `spec.replicas`.
    ScaleTarget {
        to: i32,
        then: Vec<Effect>,
        otherwise: Vec<Effect>,
    },
    Event(Note),
    /// Log a failed write at warn level with this message and the error.
    Warn(&'static str),
    Status(StatusEdit),
}

/// What [`decide`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub decision: Decision,
    /// The status to write once the effects ran (their `StatusEdit`s applied on top).
    pub status: ScaledObjectStatus,
    pub effects: Vec<Effect>,
    /// The last poll that kept the target active (this one when it did): the loop passes it
    /// back as [`StepInput::last_active_seen`].
    pub active_seen: Option<DateTime<Utc>>,
}

impl Step {
    /// The instant the pre-scaling bounds change next, if a change is planned.
    pub fn next_change(&self) -> Option<DateTime<Utc>> {
        self.status
            .pre_scaling
            .as_ref()
            .and_then(|p| p.next_changes.first())
            .and_then(|c| chrono_of(&c.time))
    }
}

/// The poll step.
pub fn decide(input: &StepInput) -> Step {
    let mut status = input.status.clone();
    let mut effects = vec![Effect::RecordMetrics];
    let floor = prescale(input, &mut status, &mut effects);
    let from_zero = input.current == 0 && !input.spec.pause.scale_out;
    let decision = with_floor(activation(&poll_state(input)), floor, from_zero);
    effects.extend(act(input, decision));
    conditions::apply(
        &mut status,
        decision,
        input.eval,
        input.spec.pause.force_activation,
    );
    status.last_active_time = last_active(input, decision).map(time_of);
    fallback(input, &mut status, &mut effects);
    status.triggers_activity = input
        .eval
        .metrics
        .iter()
        .map(|m| {
            let activity = TriggerActivity {
                is_active: m.active,
            };
            (m.metric_name.clone(), activity)
        })
        .collect();
    let active_now = matches!(
        decision,
        Decision::ActiveScaleOutPaused | Decision::KeepActive
    );
    Step {
        decision,
        status,
        effects,
        active_seen: if active_now {
            Some(input.now)
        } else {
            input.last_active_seen
        },
    }
}

/// `status.lastActiveTime` after this poll: refreshed when an active poll finds it older than
/// [`LAST_ACTIVE_REFRESH`], and set to the exact last active instant once the target is no
/// longer kept active.
fn last_active(input: &StepInput, decision: Decision) -> Option<DateTime<Utc>> {
    let written = input.status.last_active_time.as_ref().and_then(chrono_of);
    let active_now = matches!(
        decision,
        Decision::ActiveScaleOutPaused | Decision::KeepActive
    );
    match (active_now, written, input.last_active_seen) {
        (true, Some(w), _) if input.now - w < LAST_ACTIVE_REFRESH => Some(w),
        (true, _, _) => Some(input.now),
        (false, Some(w), Some(seen)) if seen > w => Some(seen),
        (false, None, Some(seen)) => Some(seen),
        (false, w, _) => w,
    }
}

/// The last active instant the cooldown counts from: the later of the written one and the
/// loop's own memory.
fn last_active_known(input: &StepInput) -> Option<DateTime<Utc>> {
    let written = input.status.last_active_time.as_ref().and_then(chrono_of);
    match (written, input.last_active_seen) {
        (Some(w), Some(s)) => Some(w.max(s)),
        (w, s) => w.or(s),
    }
}

/// KEDA's activation inputs for this poll.
fn poll_state(input: &StepInput) -> PollState {
    let spec = input.spec;
    let last_active = last_active_known(input);
    PollState {
        active: input.eval.active,
        force_activation: spec.pause.force_activation,
        errored: input.eval.errored,
        fallback_nonzero: spec.fallback.is_some_and(|f| f.replicas != 0),
        current: input.current,
        min: spec.min,
        idle: spec.idle,
        paused_scale_in: spec.pause.scale_in,
        paused_scale_out: spec.pause.scale_out,
        cooldown_elapsed: cooldown_elapsed(
            input.now,
            last_active,
            spec.created,
            spec.cooldown_period_s,
            spec.initial_cooldown_period_s,
        ),
    }
}

/// A floor in force changes the activation decision: activating goes straight to the floor,
/// a target at zero is activated to it even when no trigger is active (the floor is raised
/// before its window, when the schedule's own metric is still 0; scale-out not paused), and
/// the target is never deactivated below it (a failing calendar keeps its events).
pub fn with_floor(
    decision: Decision,
    floor: Option<i32>,
    may_activate_from_zero: bool,
) -> Decision {
    match (decision, floor) {
        (Decision::Activate { to }, Some(f)) => Decision::Activate { to: to.max(f) },
        (Decision::Deactivate { .. }, Some(_)) => Decision::KeepActive,
        (Decision::Nothing | Decision::TriggerError | Decision::HoldForFallback, Some(f))
            if may_activate_from_zero =>
        {
            Decision::Activate { to: f }
        }
        (d, _) => d,
    }
}

/// The writes and Events of an activation decision.
fn act(input: &StepInput, decision: Decision) -> Vec<Effect> {
    let current = input.current;
    let t = &input.spec.target;
    let (kind, target) = (t.kind_string(), format!("{}/{}", t.namespace, t.name));
    match decision {
        Decision::Activate { to } => {
            let why = if input.spec.pause.force_activation && !input.eval.active {
                "caused by forced activation annotation".to_string()
            } else if input.eval.active_metrics.is_empty() {
                "for the pre-scaling floor".to_string()
            } else {
                format!("triggered by {}", input.eval.active_metrics.join(";"))
            };
            let ok = format!("Scaled {kind} {target} from {current} to {to}, {why}");
            let failed = format!("Failed to scale {kind} {target} from {current} to {to}");
            vec![Effect::ScaleTarget {
                to,
                then: vec![
                    Effect::Event(Note::normal(events::TARGET_ACTIVATED, ok)),
                    Effect::Status(StatusEdit::LastActive),
                ],
                otherwise: vec![Effect::Event(Note::failed(
                    events::TARGET_ACTIVATION_FAILED,
                    failed,
                ))],
            }]
        }
        Decision::Deactivate { to } => {
            let ok = format!("Deactivated {kind} {target} from {current} to {to}");
            let failed = format!("Failed to deactivate {kind} {target} from {current} to {to}");
            vec![Effect::ScaleTarget {
                to,
                then: vec![Effect::Event(Note::normal(events::TARGET_DEACTIVATED, ok))],
                otherwise: vec![Effect::Event(Note::failed(
                    events::TARGET_DEACTIVATION_FAILED,
                    failed,
                ))],
            }]
        }
        Decision::RaiseToMin { to } => vec![Effect::ScaleTarget {
            to,
            then: vec![],
            otherwise: vec![Effect::Warn("could not raise target to minReplicaCount")],
        }],
        _ => vec![],
    }
}

/// Pre-scaling: the status block, the condition, the gauges, the HPA bounds with their Events,
/// and the scale-up to a rising floor. Returns the HPA minimum when a floor holds.
fn prescale(
    input: &StepInput,
    status: &mut ScaledObjectStatus,
    effects: &mut Vec<Effect>,
) -> Option<i32> {
    let Some(p) = input.prescale else {
        // a pre-scaling trigger was removed: nothing of it is reported any more
        if status.pre_scaling.take().is_some() {
            status.conditions.retain(|c| c.type_ != PRE_SCALING);
            effects.push(Effect::ForgetPreScaling);
        }
        return None;
    };
    let (cs, reason, message) = &p.condition;
    status.set_condition(PRE_SCALING, cs, reason, message);
    let (min, max) = p.want;
    effects.push(Effect::RecordPreScaling {
        min,
        max,
        next_change_s: p
            .status
            .next_changes
            .first()
            .map_or(0, |c| c.time.0.as_second()),
        lead_s: p.lead.as_secs_f64(),
    });
    let base =
        crate::prescaling::bounds_within(input.spec.min, input.spec.max, &Default::default());
    let prev = status
        .pre_scaling
        .as_ref()
        .map_or(base, |s| (s.min_replicas, s.max_replicas));
    status.pre_scaling = Some(p.status.clone());
    // Events follow what the ScaledObject reported before (the reconcile may have written the
    // HPA first), once the HPA holds the new bounds
    let notes = bound_notes(input, p, prev);
    if input.held_bounds != p.want {
        let (have_min, have_max) = input.held_bounds;
        effects.push(Effect::SetHpaBounds {
            min,
            max,
            then: notes,
            otherwise: vec![
                Effect::Warn("could not move the HPA bounds"),
                // report the bounds as they are, so the Events come when the HPA takes them
                Effect::Status(StatusEdit::PreScalingBounds {
                    min: have_min,
                    max: have_max,
                }),
            ],
        });
    } else {
        effects.extend(notes);
    }
    let floor = (p.bounds.floor > 0).then_some(min);
    if floor.is_some() && input.current > 0 && input.current < min && !input.spec.pause.scale_out {
        effects.push(scale_to_floor(input, p, min));
    }
    floor
}

/// The Events of a change of the HPA bounds from `prev` to what pre-scaling wants.
fn bound_notes(input: &StepInput, p: &PreScaleNow, prev: (i32, i32)) -> Vec<Effect> {
    let hpa = input.spec.hpa.name().to_string();
    let ((want_min, want_max), (prev_min, prev_max)) = (p.want, prev);
    let mut notes = Vec::new();
    if want_min > prev_min {
        let rule = p
            .bounds
            .floor_rule
            .as_deref()
            .unwrap_or("a pre-scaling rule");
        notes.push(Note::counted(
            events::PRE_SCALING_FLOOR_RAISED,
            want_min,
            format!(
                "HPA {hpa} minReplicas raised from {prev_min} to {want_min} by {rule}; {}",
                p.lead_note
            ),
        ));
    } else if want_min < prev_min {
        notes.push(Note::counted(
            events::PRE_SCALING_FLOOR_RESTORED,
            want_min,
            format!(
                "HPA {hpa} minReplicas restored from {prev_min} to {want_min}; scale-down follows the HPA behavior"
            ),
        ));
    }
    if want_max != prev_max {
        let so_max =
            crate::prescaling::bounds_within(input.spec.min, input.spec.max, &Default::default()).1;
        let why = match &p.bounds.ceiling_rule {
            Some(r) if want_max < so_max => format!("capped by {r}"),
            _ => "cap lifted".to_string(),
        };
        notes.push(Note::counted(
            events::PRE_SCALING_CAP_CHANGED,
            want_max,
            format!("HPA {hpa} maxReplicas changed from {prev_max} to {want_max}, {why}"),
        ));
    }
    notes.into_iter().map(Effect::Event).collect()
}

/// A rising floor scales a running target at once, rather than at the HPA's next sync.
fn scale_to_floor(input: &StepInput, p: &PreScaleNow, to: i32) -> Effect {
    let t = &input.spec.target;
    let rule = p
        .bounds
        .floor_rule
        .as_deref()
        .unwrap_or("a pre-scaling rule");
    let text = format!(
        "Scaled {} {}/{} from {} to {to} for {rule}",
        t.kind_string(),
        t.namespace,
        t.name,
        input.current
    );
    Effect::ScaleTarget {
        to,
        then: vec![Effect::Event(Note::counted(
            events::PRE_SCALED_TARGET,
            to,
            text,
        ))],
        otherwise: vec![Effect::Warn("could not scale the target up to the floor")],
    }
}

/// The Fallback condition, `status.health` and the fallback Events (only with a fallback).
fn fallback(input: &StepInput, status: &mut ScaledObjectStatus, effects: &mut Vec<Effect>) {
    if input.spec.fallback.is_none() {
        return;
    }
    let was = status
        .condition(crate::api::conditions::FALLBACK)
        .is_some_and(|c| c.is_true());
    let now = input.eval.metrics.iter().any(|m| m.fallback);
    conditions::fallback(status, now);
    status.health = input
        .health
        .iter()
        .map(|(k, h)| {
            let health = HealthStatus {
                number_of_failures: Some(h.number_of_failures),
                status: Some(h.status().to_string()),
            };
            (k.clone(), health)
        })
        .collect();
    if now && !was {
        effects.push(Effect::Event(Note::warning(
            events::FALLBACK_ACTIVATED,
            "ScaledObject fallback is active".into(),
        )));
    } else if !now && was {
        effects.push(Effect::Event(Note::normal(
            events::FALLBACK_DEACTIVATED,
            "ScaledObject fallback is no longer active".into(),
        )));
    }
}
