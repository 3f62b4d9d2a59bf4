//! The Active, Ready and Fallback conditions a poll outcome sets (spec §1.3, §3.5).

use crate::api::ScaledObjectStatus;
use crate::api::conditions::{ACTIVE, Cond, FALLBACK, READY, READY_OK};
use crate::poller::evaluate::Evaluation;
use crate::scaling::activation::Decision;

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
const ACTIVE_TRIGGERS: Cond = (
    "True",
    "ScalerActive",
    "Scaling is performed because triggers are active",
);
const ACTIVE_FORCED: Cond = (
    "True",
    "ScalerActive",
    "Scaling is performed because activation is being forced by annotation",
);

/// The (Active, Ready) conditions of a decision; `None` leaves Ready as it was.
pub fn of(decision: Decision, eval: &Evaluation, forced: bool) -> (Cond, Option<Cond>) {
    let active = if forced && !eval.active {
        ACTIVE_FORCED
    } else {
        ACTIVE_TRIGGERS
    };
    match decision {
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
    }
}

/// Sets Active and Ready for a decision.
pub fn apply(status: &mut ScaledObjectStatus, decision: Decision, eval: &Evaluation, forced: bool) {
    let (active, ready) = of(decision, eval, forced);
    status.set_condition(ACTIVE, active.0, active.1, active.2);
    if let Some((s, r, m)) = ready {
        status.set_condition(READY, s, r, m);
    }
}

/// Sets Fallback for whether any metric is falling back now.
pub fn fallback(status: &mut ScaledObjectStatus, falling_back: bool) {
    let (s, r, m) = if falling_back {
        (
            "True",
            "FallbackExists",
            "At least one trigger is falling back on this scaled object",
        )
    } else {
        (
            "False",
            "NoFallbackFound",
            "No fallbacks are active on this scaled object",
        )
    };
    status.set_condition(FALLBACK, s, r, m);
}
