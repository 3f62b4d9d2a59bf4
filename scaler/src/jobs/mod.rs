//! ScaledJob (`keda.sh/v1alpha1`): Jobs created per batch of queued work, as KEDA does it.
//!
//! - [`strategy`]: KEDA's numbers (trigger combination, the scaling strategies) — pure.
//! - [`plan`]: running/pending counts, history pruning, rollout, the Job to create — pure.
//! - [`check`]: a ScaledJob's triggers resolved and parsed (bad input → a clear message).
//! - [`poll`]: one poll of one ScaledJob: read, decide with the pure parts, write.
//! - [`controller`]: the loop that polls every ScaledJob at its `pollingInterval`.
//!
//! Jobs and ScaledJob status are written by `crate::write` (the one writer).

pub mod check;
pub mod controller;
pub mod plan;
pub mod poll;
pub mod strategy;

/// KEDA's Event reasons for ScaledJobs.
pub mod reasons {
    pub const READY: &str = "ScaledJobReady";
    pub const CHECK_FAILED: &str = "ScaledJobCheckFailed";
    pub const PAUSED: &str = "ScaledJobPaused";
    pub const UNPAUSED: &str = "ScaledJobUnpaused";
    pub const ACTIVE: &str = "ScaledJobActive";
    pub const INACTIVE: &str = "ScaledJobInactive";
    pub const JOBS_CREATED: &str = "KEDAJobsCreated";
    pub const JOB_CREATE_FAILED: &str = "KEDAJobCreateFailed";
    pub const SCALER_FAILED: &str = "KEDAScalerFailed";
    pub const ROLLOUT_CLEANUP_COMPLETED: &str = "ScaledJobRolloutCleanupCompleted";
}

/// KEDA's condition texts for ScaledJobs.
pub mod messages {
    pub const READY: &str = "ScaledJob is defined correctly and is ready to scaling";
    pub const READY_AGAIN: &str = "ScaledJob is defined correctly and is ready for scaling";
    pub const CHECK_FAILED_ACTIVE: &str = "ScaledJob check failed";
    pub const PAUSED: &str = "ScaledJob is paused";
    pub const UNPAUSED: &str = "ScaledJob is unpaused";
    pub const ACTIVE: &str = "Scaling is performed because triggers are active";
    pub const INACTIVE: &str = "Scaling is not performed because triggers are not active";
    pub const PARTIAL_ERROR: &str = "Some triggers defined in ScaledJob are not working correctly";
    pub const ALL_ERROR: &str = "Triggers defined in ScaledJob are not working correctly";
}
