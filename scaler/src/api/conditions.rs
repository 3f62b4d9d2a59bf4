//! Status conditions with KEDA's types, reasons and messages (spec §1.3). KEDA's conditions
//! carry no timestamps; neither do these.

use super::scaled_object::ScaledObjectStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const READY: &str = "Ready";
pub const ACTIVE: &str = "Active";
pub const FALLBACK: &str = "Fallback";
pub const PAUSED: &str = "Paused";
/// Prescale's own: whether a pre-scaling trigger holds a floor (or cap) now.
pub const PRE_SCALING: &str = "PreScaling";

/// (status, reason, message) of a condition.
pub type Cond = (&'static str, &'static str, &'static str);

/// Ready=True: the ScaledObject checked out and its loop runs.
pub const READY_OK: Cond = (
    "True",
    "ScaledObjectReady",
    "ScaledObject is defined correctly and is ready for scaling",
);

/// One entry of `status.conditions`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Condition {
    pub fn new(type_: &str, status: &str, reason: &str, message: &str) -> Self {
        Self {
            type_: type_.into(),
            status: status.into(),
            reason: (!reason.is_empty()).then(|| reason.into()),
            message: (!message.is_empty()).then(|| message.into()),
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

impl ScaledObjectStatus {
    /// The four conditions KEDA starts with: Ready, Active, Fallback Unknown; Paused False.
    pub fn initial_conditions() -> Vec<Condition> {
        vec![
            Condition::new(READY, "Unknown", "", ""),
            Condition::new(ACTIVE, "Unknown", "", ""),
            Condition::new(FALLBACK, "Unknown", "", ""),
            Condition::new(PAUSED, "False", "", ""),
        ]
    }

    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Sets a condition (adding it if missing); returns whether anything changed.
    pub fn set_condition(
        &mut self,
        type_: &str,
        status: &str,
        reason: &str,
        message: &str,
    ) -> bool {
        let new = Condition::new(type_, status, reason, message);
        match self.conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if *c == new => false,
            Some(c) => {
                *c = new;
                true
            }
            None => {
                self.conditions.push(new);
                true
            }
        }
    }

    /// Adds the initial conditions when there are none.
    pub fn ensure_conditions(&mut self) -> bool {
        if self.conditions.is_empty() {
            self.conditions = Self::initial_conditions();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_and_set() {
        let mut s = ScaledObjectStatus::default();
        assert!(s.ensure_conditions());
        assert!(!s.ensure_conditions());
        assert_eq!(s.condition(READY).unwrap().status, "Unknown");
        assert_eq!(s.condition(PAUSED).unwrap().status, "False");
        assert!(s.set_condition(
            READY,
            "True",
            "ScaledObjectReady",
            "ScaledObject is defined correctly and is ready for scaling"
        ));
        assert!(!s.set_condition(
            READY,
            "True",
            "ScaledObjectReady",
            "ScaledObject is defined correctly and is ready for scaling"
        ));
        assert!(s.condition(READY).unwrap().is_true());
        assert!(s.set_condition("HPAActive", "True", "HPAActive", "HPA is actively scaling"));
        assert_eq!(s.conditions.len(), 5);
        let json = serde_json::to_value(&s.conditions[0]).unwrap();
        assert_eq!(json["type"], "Ready");
        assert_eq!(json["reason"], "ScaledObjectReady");
    }
}
