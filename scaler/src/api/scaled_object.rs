//! `ScaledObject` (`keda.sh/v1alpha1`), field for field as KEDA defines it (spec §1). Optional
//! numbers stay `Option` so a manifest round-trips unchanged; accessors apply KEDA's defaults.

use super::conditions::Condition;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_POLLING_INTERVAL: i32 = 30;
pub const DEFAULT_COOLDOWN_PERIOD: i32 = 300;
pub const DEFAULT_MAX_REPLICA_COUNT: i32 = 100;

/// The specification of a ScaledObject.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "keda.sh",
    version = "v1alpha1",
    kind = "ScaledObject",
    plural = "scaledobjects",
    namespaced,
    status = "ScaledObjectStatus",
    shortname = "so",
    validation = kube::core::Rule::new("!has(self.spec.minReplicaCount) || self.spec.minReplicaCount <= (has(self.spec.maxReplicaCount) ? self.spec.maxReplicaCount : 100)").message("minReplicaCount must be less than or equal to maxReplicaCount"),
    printcolumn(name = "ScaleTargetKind", type_ = "string", json_path = ".status.scaleTargetKind"),
    printcolumn(name = "ScaleTargetName", type_ = "string", json_path = ".spec.scaleTargetRef.name"),
    printcolumn(name = "Min", type_ = "integer", json_path = ".spec.minReplicaCount"),
    printcolumn(name = "Max", type_ = "integer", json_path = ".spec.maxReplicaCount"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Active", type_ = "string", json_path = ".status.conditions[?(@.type==\"Active\")].status"),
    printcolumn(name = "Fallback", type_ = "string", json_path = ".status.conditions[?(@.type==\"Fallback\")].status"),
    printcolumn(name = "Paused", type_ = "string", json_path = ".status.conditions[?(@.type==\"Paused\")].status"),
    printcolumn(name = "Triggers", type_ = "string", json_path = ".status.triggersTypes"),
    printcolumn(name = "Authentications", type_ = "string", json_path = ".status.authenticationsTypes"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[kube(derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectSpec {
    pub scale_target_ref: ScaleTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub polling_interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub initial_cooldown_period: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cooldown_period: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub idle_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<Advanced>,
    #[schemars(length(min = 1))]
    pub triggers: Vec<ScaleTrigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
}

impl ScaledObjectSpec {
    pub fn polling_interval(&self) -> i32 {
        self.polling_interval.unwrap_or(DEFAULT_POLLING_INTERVAL)
    }

    pub fn cooldown_period(&self) -> i32 {
        self.cooldown_period.unwrap_or(DEFAULT_COOLDOWN_PERIOD)
    }

    pub fn initial_cooldown_period(&self) -> i32 {
        self.initial_cooldown_period.unwrap_or(0)
    }

    pub fn min_replica_count(&self) -> i32 {
        self.min_replica_count.unwrap_or(0)
    }

    pub fn max_replica_count(&self) -> i32 {
        self.max_replica_count.unwrap_or(DEFAULT_MAX_REPLICA_COUNT)
    }

    /// `advanced.horizontalPodAutoscalerConfig`, if any.
    pub fn hpa_config(&self) -> Option<&HpaConfig> {
        self.advanced
            .as_ref()?
            .horizontal_pod_autoscaler_config
            .as_ref()
    }

    /// `advanced.scalingModifiers` when a formula is set.
    pub fn scaling_modifiers(&self) -> Option<&ScalingModifiers> {
        self.advanced
            .as_ref()?
            .scaling_modifiers
            .as_ref()
            .filter(|m| !m.formula.trim().is_empty())
    }
}

/// `spec.scaleTargetRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTarget {
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_source_container_name: Option<String>,
}

impl ScaleTarget {
    /// `apiVersion`, default `apps/v1`.
    pub fn api_version(&self) -> &str {
        self.api_version
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("apps/v1")
    }

    /// `kind`, default `Deployment`.
    pub fn kind(&self) -> &str {
        self.kind
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("Deployment")
    }
}

/// One entry of `spec.triggers`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTrigger {
    #[serde(rename = "type")]
    #[schemars(length(min = 1))]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_cached_metrics: Option<bool>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_ref: Option<AuthenticationRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_type: Option<String>,
}

impl ScaleTrigger {
    /// The trigger's `name`, or "" when unset.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// `triggers[i].authenticationRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationRef {
    pub name: String,
    /// `TriggerAuthentication` (default) or `ClusterTriggerAuthentication`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl AuthenticationRef {
    pub fn is_cluster(&self) -> bool {
        self.kind.as_deref() == Some("ClusterTriggerAuthentication")
    }
}

/// `spec.fallback`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fallback {
    #[schemars(range(min = 0))]
    pub failure_threshold: i32,
    #[schemars(range(min = 0))]
    pub replicas: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<FallbackBehavior>,
}

/// `spec.fallback.behavior`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FallbackBehavior {
    Static,
    CurrentReplicas,
    CurrentReplicasIfHigher,
    CurrentReplicasIfLower,
    ScalingModifiers,
}

/// `spec.advanced`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Advanced {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restore_to_original_replica_count: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal_pod_autoscaler_config: Option<HpaConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_modifiers: Option<ScalingModifiers>,
}

/// `spec.advanced.horizontalPodAutoscalerConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HpaConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HorizontalPodAutoscalerBehavior>,
}

/// `spec.advanced.scalingModifiers`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingModifiers {
    #[serde(default)]
    pub formula: String,
    #[serde(default)]
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_target: Option<String>,
    /// `AverageValue` (default) or `Value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_type: Option<String>,
}

/// `status` of a ScaledObject.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_target_kind: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "scaleTargetGVKR"
    )]
    pub scale_target_gvkr: Option<GroupVersionKindResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_metric_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_metric_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite_scaler_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub health: BTreeMap<String, HealthStatus>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub triggers_activity: BTreeMap<String, TriggerActivity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_replica_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers_types: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentications_types: Option<String>,
    /// Prescale's own (KEDA has no such field): the bounds pre-scaling triggers hold now and
    /// the coming changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_scaling: Option<PreScalingStatus>,
}

/// `status.preScaling`: what `schedule` and `mysql-calendar` triggers hold now and plan next.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreScalingStatus {
    /// The HPA's `minReplicas` now (the ScaledObject's own minimum when no floor holds).
    pub min_replicas: i32,
    /// The HPA's `maxReplicas` now (lowered by a cap).
    pub max_replicas: i32,
    /// The rule that sets the floor now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_rule: Option<String>,
    /// The rule that sets the cap now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_rule: Option<String>,
    /// Each pre-scaling trigger's lead time and how it was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lead_times: Vec<LeadTimeStatus>,
    /// The coming changes of the bounds (at most 10, within 48 hours).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_changes: Vec<PlannedChange>,
}

/// One trigger's lead time.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadTimeStatus {
    pub trigger_index: i32,
    /// Go duration (`3m40s`).
    pub lead_time: String,
    /// `leadTime 10m`, `leadTime auto = 3m40s from 20 starts`, ...
    pub source: String,
}

/// A coming change of the HPA's bounds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    pub time: Time,
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// The rule that sets the floor from then on (none: the floor is restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The lead used for that rule (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time: Option<String>,
}

/// `status.scaleTargetGVKR`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct GroupVersionKindResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub resource: String,
}

/// `status.health[metric]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_failures: Option<i32>,
    /// `Happy` or `Failing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `status.triggersActivity[metric]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerActivity {
    pub is_active: bool,
}
