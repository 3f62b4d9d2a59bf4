//! What one sync decided, with every intermediate step, and the condition reasons the
//! controller would write for it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::spec::Milli;
use crate::stabilize::{READY_FOR_NEW_SCALE, SCALE_DOWN_STABILIZED, SCALE_UP_STABILIZED};

/// The reason of the sync's ScalingLimited condition when the metrics were used, or of
/// ScalingActive=False when they could not be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// ScalingLimited=False: nothing bounded the stabilised recommendation.
    DesiredWithinRange,
    /// Raised to `minReplicas` (also: the spec was below it and was moved there directly).
    TooFewReplicas,
    /// Lowered to `maxReplicas` (also: the spec was above it and was moved there directly).
    TooManyReplicas,
    /// Held by the scale-up rate (legacy: at most double or +4 per sync; behavior: policies).
    ScaleUpLimit,
    /// Held by the scale-down policies.
    ScaleDownLimit,
    /// ScalingActive=False: the target has 0 replicas and `minReplicas` is not 0.
    ScalingDisabled,
    /// ScalingActive=False: an External metric could not be used (all failed, or some failed
    /// and the rest want fewer replicas).
    FailedGetExternalMetric,
    /// ScalingActive=False: a Resource metric could not be used.
    FailedGetResourceMetric,
}

impl Reason {
    /// The reason as the condition carries it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::DesiredWithinRange => "DesiredWithinRange",
            Reason::TooFewReplicas => "TooFewReplicas",
            Reason::TooManyReplicas => "TooManyReplicas",
            Reason::ScaleUpLimit => "ScaleUpLimit",
            Reason::ScaleDownLimit => "ScaleDownLimit",
            Reason::ScalingDisabled => "ScalingDisabled",
            Reason::FailedGetExternalMetric => "FailedGetExternalMetric",
            Reason::FailedGetResourceMetric => "FailedGetResourceMetric",
        }
    }

    /// The controller's message for a ScalingLimited reason.
    pub(crate) fn limited_message(&self) -> &'static str {
        match self {
            Reason::TooFewReplicas => {
                "the desired replica count is less than the minimum replica count"
            }
            Reason::TooManyReplicas => {
                "the desired replica count is more than the maximum replica count"
            }
            Reason::ScaleUpLimit => {
                "the desired replica count is increasing faster than the maximum scale rate"
            }
            Reason::ScaleDownLimit => {
                "the desired replica count is decreasing faster than the maximum scale rate"
            }
            _ => "the desired count is within the acceptable range",
        }
    }
}

/// AbleToScale reasons besides the stabilisation ones.
pub const SUCCEEDED_GET_SCALE: &str = "SucceededGetScale";
pub const SUCCEEDED_RESCALE: &str = "SucceededRescale";

/// Every AbleToScale reason the model reports.
pub const ABLE_TO_SCALE_REASONS: [&str; 5] = [
    SUCCEEDED_GET_SCALE,
    SUCCEEDED_RESCALE,
    READY_FOR_NEW_SCALE,
    SCALE_UP_STABILIZED,
    SCALE_DOWN_STABILIZED,
];

/// One metric's proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub metric: String,
    /// The value the controller reports in `status.currentMetrics`: the sum (Value), the
    /// per-pod average rounded up (AverageValue), the average utilisation in percent
    /// (Utilization).
    pub usage: Milli,
    /// The usage ratio the tolerance is tested on.
    pub ratio: f64,
    /// The replicas this metric asks for.
    pub replicas: i32,
    /// The ratio was inside the tolerance, so the metric proposed the current count.
    pub within_tolerance: bool,
}

/// The result of one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// What the HPA writes to `/scale` (== spec replicas when it does not rescale).
    pub desired_replicas: i32,
    /// The ScalingLimited reason when the metrics were used (`scaling_active`), else the
    /// ScalingActive=False reason. When the spec was outside the bounds it is
    /// TooFewReplicas/TooManyReplicas (the controller itself leaves both conditions as they
    /// were on that path).
    pub reason: Reason,
    /// The condition message for `reason`, worded as the controller words it.
    pub message: String,
    /// One entry per metric: its proposal, or why there is none.
    pub proposals: Vec<Result<Proposal, String>>,
    /// The combined recommendation before normalisation; `None` when the metrics were not
    /// combined (scaling disabled, spec outside the bounds, or metrics unusable).
    pub raw: Option<i32>,
    /// After stabilisation.
    pub stabilized: i32,
    /// After rate limits and bounds.
    pub limited: i32,
    /// ScalingActive: the metrics gave a recommendation (or were not needed).
    pub scaling_active: bool,
    /// ScalingLimited's status: the limits changed the stabilised count.
    pub scaling_limited: bool,
    /// The AbleToScale reason after the sync: `SucceededRescale` when it rescaled, else the
    /// stabilisation's (`ReadyForNewScale`, `ScaleUpStabilized`, `ScaleDownStabilized`), or
    /// `SucceededGetScale` when no normalisation ran.
    #[serde(deserialize_with = "able_to_scale")]
    pub able_to_scale_reason: StaticStr,
    /// `desired_replicas != spec_replicas`.
    pub rescale: bool,
}

/// `&'static str` under another name, so serde's derive does not tie the whole `Outcome` to
/// `'de: 'static` (it does for a literal `&'static str` field); [`able_to_scale`] maps the
/// text back to the constant.
pub type StaticStr = &'static str;

fn able_to_scale<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    ABLE_TO_SCALE_REASONS
        .iter()
        .find(|r| **r == s)
        .copied()
        .ok_or_else(|| serde::de::Error::custom(format!("unknown AbleToScale reason {s:?}")))
}
