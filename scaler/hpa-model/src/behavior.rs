//! `spec.behavior` with the `autoscaling/v2` field names, and the defaults the API server
//! fills in (`pkg/apis/autoscaling/v2/defaults.go`).
//!
//! The defaults are filled **only when `behavior` is present**: an HPA without it takes the
//! legacy path (one 300 s max-window and the "double or +4" clamp), which is not the same as
//! the defaulted behavior. Within a present `behavior`, each unset field of `scaleUp` and
//! `scaleDown` is taken from its default rules, field by field:
//! - scaleUp: window 0 s, selectPolicy Max, policies [Pods 4 per 15 s, Percent 100 per 15 s];
//! - scaleDown: window left unset (the controller then uses its
//!   `--horizontal-pod-autoscaler-downscale-stabilization`, 300 s), selectPolicy Max,
//!   policies [Percent 100 per 15 s].
//!
//! (The API's field comment speaks of 60 s periods; the code has always used 15 s.)

use crate::spec::ControllerConfig;
use crate::tolerance;
use serde::{Deserialize, Serialize};

/// `spec.behavior`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Behavior {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRules>,
}

/// `HPAScalingRules`: one direction's window, policies and tolerance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<Policy>>,
    /// A Kubernetes quantity (`"0.05"`, `"50m"`) or a JSON number, read as the controller
    /// reads it (`Quantity.AsApproximateFloat64`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerance::deserialize_quantity"
    )]
    pub tolerance: Option<f64>,
}

/// `selectPolicy`: which policy's limit wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `HPAScalingPolicy`: at most `value` pods or percent per `period_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(rename = "type")]
    pub kind: PolicyKind,
    pub value: i32,
    pub period_seconds: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl Policy {
    pub fn pods(value: i32, period_seconds: i32) -> Self {
        Self {
            kind: PolicyKind::Pods,
            value,
            period_seconds,
        }
    }

    pub fn percent(value: i32, period_seconds: i32) -> Self {
        Self {
            kind: PolicyKind::Percent,
            value,
            period_seconds,
        }
    }
}

impl ScalingRules {
    /// The API server's scaleUp defaults.
    pub fn scale_up_defaults() -> Self {
        Self {
            stabilization_window_seconds: Some(0),
            select_policy: Some(SelectPolicy::Max),
            policies: Some(vec![Policy::pods(4, 15), Policy::percent(100, 15)]),
            tolerance: None,
        }
    }

    /// The API server's scaleDown defaults (the window stays unset on purpose).
    pub fn scale_down_defaults() -> Self {
        Self {
            stabilization_window_seconds: None,
            select_policy: Some(SelectPolicy::Max),
            policies: Some(vec![Policy::percent(100, 15)]),
            tolerance: None,
        }
    }

    /// These rules over `defaults`, field by field (`copyHPAScalingRules`).
    fn over(rules: Option<&ScalingRules>, defaults: ScalingRules) -> ScalingRules {
        let Some(r) = rules else { return defaults };
        ScalingRules {
            stabilization_window_seconds: r
                .stabilization_window_seconds
                .or(defaults.stabilization_window_seconds),
            select_policy: r.select_policy.or(defaults.select_policy),
            policies: r.policies.clone().or(defaults.policies),
            tolerance: r.tolerance.or(defaults.tolerance),
        }
    }
}

impl Behavior {
    /// The behavior as the API server stores it: both directions present, every field but
    /// scaleDown's window filled.
    pub fn defaulted(&self) -> Behavior {
        Behavior {
            scale_up: Some(ScalingRules::over(
                self.scale_up.as_ref(),
                ScalingRules::scale_up_defaults(),
            )),
            scale_down: Some(ScalingRules::over(
                self.scale_down.as_ref(),
                ScalingRules::scale_down_defaults(),
            )),
        }
    }
}

/// One direction's rules with nothing left unset, as the controller uses them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rules {
    pub window_ms: i64,
    pub select: SelectPolicy,
    pub policies: Vec<Policy>,
}

impl Rules {
    /// The longest policy period in ms: events older than this are reusable slots.
    pub fn longest_period_ms(&self) -> i64 {
        self.policies
            .iter()
            .map(|p| i64::from(p.period_seconds))
            .max()
            .unwrap_or(0)
            .max(0)
            * 1000
    }
}

/// Both directions, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub up: Rules,
    pub down: Rules,
}

impl Resolved {
    /// The API server's defaults, then the controller's downscale window where scaleDown has
    /// none (`maybeInitScaleDownStabilizationWindow`).
    pub fn new(behavior: &Behavior, config: &ControllerConfig) -> Self {
        let b = behavior.defaulted();
        let resolve = |r: Option<ScalingRules>, unset_window_s: i64| {
            let r = r.unwrap_or_default();
            Rules {
                window_ms: r
                    .stabilization_window_seconds
                    .map_or(unset_window_s, i64::from)
                    * 1000,
                select: r.select_policy.unwrap_or(SelectPolicy::Max),
                policies: r.policies.unwrap_or_default(),
            }
        };
        Resolved {
            up: resolve(b.scale_up, 0),
            down: resolve(b.scale_down, config.downscale_stabilization_seconds),
        }
    }
}
