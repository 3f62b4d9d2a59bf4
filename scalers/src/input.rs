//! What a scaler is built from: one trigger, with its authentication already resolved.

use std::collections::BTreeMap;

/// One trigger of a ScaledObject, as the scalers crate sees it.
#[derive(Clone, Default)]
pub struct TriggerInput {
    /// `triggers[i].type`.
    pub trigger_type: String,
    /// `triggers[i].name` ("" when unset).
    pub name: String,
    /// Position in `spec.triggers` (0-based, cpu/memory triggers counted too).
    pub index: usize,
    /// `triggers[i].metricType` as written ("" when unset).
    pub metric_type: String,
    /// `triggers[i].metadata`.
    pub metadata: BTreeMap<String, String>,
    /// Parameters resolved from TriggerAuthentication / ClusterTriggerAuthentication.
    pub auth_params: BTreeMap<String, String>,
    /// The scale target container's resolved environment (for `*FromEnv`).
    pub resolved_env: BTreeMap<String, String>,
    /// The TriggerAuthentication's `podIdentity.provider`, when one is set.
    pub pod_identity_provider: Option<String>,
}

impl std::fmt::Debug for TriggerInput {
    // Auth parameters and env values may hold secrets: show only their names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerInput")
            .field("trigger_type", &self.trigger_type)
            .field("name", &self.name)
            .field("index", &self.index)
            .field("metric_type", &self.metric_type)
            .field("metadata", &self.metadata)
            .field("auth_params", &self.auth_params.keys().collect::<Vec<_>>())
            .field(
                "resolved_env",
                &self.resolved_env.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TriggerInput {
    /// A trigger with only metadata (tests, simple call sites).
    pub fn new(trigger_type: &str, index: usize, metadata: &[(&str, &str)]) -> Self {
        Self {
            trigger_type: trigger_type.to_string(),
            index,
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Self::default()
        }
    }

    pub fn with_auth(mut self, params: &[(&str, &str)]) -> Self {
        self.auth_params
            .extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    pub fn with_env(mut self, env: &[(&str, &str)]) -> Self {
        self.resolved_env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    pub fn with_metric_type(mut self, metric_type: &str) -> Self {
        self.metric_type = metric_type.to_string();
        self
    }
}
