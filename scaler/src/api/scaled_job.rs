//! `ScaledJob` (`keda.sh/v1alpha1`), field for field as KEDA defines it: a Job template
//! (`jobTargetRef`) run once per batch of queued work. Optional numbers stay `Option` so a
//! manifest round-trips unchanged; accessors apply KEDA's defaults.
// kube's `printcolumn(...)` lists repeat `type_ = ...`, which clippy reads as duplicates
#![allow(clippy::duplicated_attributes)]

use super::conditions::Condition;
use super::scaled_object::ScaleTrigger;
use k8s_openapi::api::batch::v1::JobSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// KEDA's defaults (`scale_jobs.go`, `scaledjob_types.go`).
pub const DEFAULT_JOB_POLLING_INTERVAL: i32 = 30;
pub const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT: i32 = 100;
pub const DEFAULT_FAILED_JOBS_HISTORY_LIMIT: i32 = 100;
pub const DEFAULT_JOB_MAX_REPLICA_COUNT: i64 = 100;

/// The label KEDA puts on every Job (and its pod template) of a ScaledJob.
pub const SCALED_JOB_NAME_LABEL: &str = "scaledjob.keda.sh/name";
/// The annotation with the ScaledJob generation a Job was made from.
pub const SCALED_JOB_GENERATION_ANNOTATION: &str = "scaledjob.keda.sh/generation";
/// Comma-separated labels of the ScaledJob not to copy onto its Jobs.
pub const SCALED_JOB_EXCLUDED_LABELS_ANNOTATION: &str = "scaledjob.keda.sh/job-excluded-labels";

/// The specification of a ScaledJob.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "keda.sh",
    version = "v1alpha1",
    kind = "ScaledJob",
    plural = "scaledjobs",
    namespaced,
    status = "ScaledJobStatus",
    shortname = "sj",
    printcolumn(name = "Min", type_ = "integer", json_path = ".spec.minReplicaCount"),
    printcolumn(name = "Max", type_ = "integer", json_path = ".spec.maxReplicaCount"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Active",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Active\")].status"
    ),
    printcolumn(
        name = "Paused",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Paused\")].status"
    ),
    printcolumn(
        name = "Triggers",
        type_ = "string",
        json_path = ".status.triggersTypes"
    ),
    printcolumn(
        name = "Authentications",
        type_ = "string",
        json_path = ".status.authenticationsTypes"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[kube(derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct ScaledJobSpec {
    /// The Job template (a `batch/v1` JobSpec).
    pub job_target_ref: JobSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub polling_interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub successful_jobs_history_limit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub failed_jobs_history_limit: Option<i32>,
    /// Deprecated alias of `rollout.strategy` (wins when set, as in KEDA).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rollout_strategy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub env_source_container_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_strategy: Option<JobScalingStrategy>,
    #[schemars(length(min = 1))]
    pub triggers: Vec<ScaleTrigger>,
}

/// `spec.scalingStrategy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobScalingStrategy {
    /// `default`, `custom`, `accurate` or `eager`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_scaling_queue_length_deduction: Option<i32>,
    /// A float as a string (`"0.5"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub custom_scaling_running_job_percentage: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_pod_conditions: Vec<String>,
    /// `max` (default), `min`, `avg` or `sum`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub multiple_scalers_calculation: String,
}

/// `spec.rollout`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// `default` (delete the Jobs of older generations) or `gradual` (leave them running).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    /// `background` (default) or `foreground`, for those deletions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub propagation_policy: String,
}

/// `status` of a ScaledJob.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaledJobStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers_types: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentications_types: Option<String>,
    #[serde(default, rename = "isPaused", skip_serializing_if = "String::is_empty")]
    pub paused: String,
}

impl ScaledJobSpec {
    /// Where the triggers' `*FromEnv` values come from: the Job template's containers and
    /// `envSourceContainerName` (None: the first container, as KEDA reads it).
    pub fn env_sources(&self) -> (Vec<k8s_openapi::api::core::v1::Container>, Option<&str>) {
        let containers = self
            .job_target_ref
            .template
            .spec
            .as_ref()
            .map(|p| p.containers.clone())
            .unwrap_or_default();
        let env = Some(self.env_source_container_name.as_str()).filter(|s| !s.is_empty());
        (containers, env)
    }

    pub fn polling_interval(&self) -> i32 {
        self.polling_interval
            .unwrap_or(DEFAULT_JOB_POLLING_INTERVAL)
    }

    pub fn successful_jobs_history_limit(&self) -> i32 {
        self.successful_jobs_history_limit
            .unwrap_or(DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT)
    }

    pub fn failed_jobs_history_limit(&self) -> i32 {
        self.failed_jobs_history_limit
            .unwrap_or(DEFAULT_FAILED_JOBS_HISTORY_LIMIT)
    }

    /// KEDA's `MinReplicaCount()`: the minimum, never above the maximum.
    pub fn min_replica_count(&self) -> i64 {
        match (self.min_replica_count, self.max_replica_count) {
            (Some(min), Some(max)) if min > max => max as i64,
            (Some(min), _) => min as i64,
            (None, _) => 0,
        }
    }

    /// KEDA's `MaxReplicaCount()`: `maxReplicaCount - MinReplicaCount()`, or 100 when unset
    /// (the room left for Jobs above the always-running minimum).
    pub fn max_replica_count(&self) -> i64 {
        match self.max_replica_count {
            Some(max) => max as i64 - self.min_replica_count(),
            None => DEFAULT_JOB_MAX_REPLICA_COUNT,
        }
    }

    pub fn scaling_strategy(&self) -> JobScalingStrategy {
        self.scaling_strategy.clone().unwrap_or_default()
    }

    /// The rollout strategy: the deprecated `rolloutStrategy` when set, else `rollout.strategy`.
    pub fn rollout_strategy(&self) -> &str {
        if !self.rollout_strategy.is_empty() {
            &self.rollout_strategy
        } else {
            self.rollout
                .as_ref()
                .map(|r| r.strategy.as_str())
                .unwrap_or("")
        }
    }

    /// Whether old-generation Jobs are deleted in the foreground.
    pub fn foreground_deletion(&self) -> bool {
        self.rollout
            .as_ref()
            .is_some_and(|r| r.propagation_policy == "foreground")
    }
}

impl ScaledJobStatus {
    /// The conditions KEDA starts with: Ready and Active Unknown, Paused False.
    pub fn initial_conditions() -> Vec<Condition> {
        use super::conditions::{ACTIVE, PAUSED, READY};
        vec![
            Condition::new(READY, "Unknown", "", ""),
            Condition::new(ACTIVE, "Unknown", "", ""),
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
        if self.conditions.is_empty() {
            self.conditions = Self::initial_conditions();
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> ScaledJobSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_and_keda_min_max() {
        let s = spec("jobTargetRef: {template: {}}\ntriggers: [{type: redis, metadata: {}}]");
        assert_eq!(s.polling_interval(), 30);
        assert_eq!(s.successful_jobs_history_limit(), 100);
        assert_eq!(s.failed_jobs_history_limit(), 100);
        assert_eq!(s.min_replica_count(), 0);
        assert_eq!(s.max_replica_count(), 100);
        assert_eq!(s.rollout_strategy(), "");
        // KEDA: max - min, min never above max
        let s = spec(
            "jobTargetRef: {template: {}}\nminReplicaCount: 2\nmaxReplicaCount: 10\ntriggers: []",
        );
        assert_eq!((s.min_replica_count(), s.max_replica_count()), (2, 8));
        let s = spec(
            "jobTargetRef: {template: {}}\nminReplicaCount: 12\nmaxReplicaCount: 10\ntriggers: []",
        );
        assert_eq!((s.min_replica_count(), s.max_replica_count()), (10, 0));
    }

    #[test]
    fn deprecated_rollout_strategy_wins() {
        let s = spec(
            "jobTargetRef: {template: {}}\nrolloutStrategy: gradual\nrollout: {strategy: default, propagationPolicy: foreground}\ntriggers: []",
        );
        assert_eq!(s.rollout_strategy(), "gradual");
        assert!(s.foreground_deletion());
    }

    #[test]
    fn round_trips_a_keda_manifest() {
        let yaml = "jobTargetRef:\n  parallelism: 1\n  template:\n    spec:\n      containers:\n      - name: w\n        image: busybox\npollingInterval: 10\nscalingStrategy:\n  strategy: custom\n  customScalingQueueLengthDeduction: 1\n  customScalingRunningJobPercentage: '0.5'\n  pendingPodConditions: [Ready]\n  multipleScalersCalculation: sum\ntriggers:\n- type: redis\n  metadata:\n    listName: q\n";
        let s = spec(yaml);
        let back: ScaledJobSpec =
            serde_yaml::from_str(&serde_yaml::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, back);
        assert_eq!(s.scaling_strategy().multiple_scalers_calculation, "sum");
    }
}
