//! `prometheus` metadata and authentication parameters (spec §5.1), with KEDA's defaults; the
//! auth modes are `crate::http_auth`'s (shared with `metrics-api`).

use crate::error::Result;
use crate::http_auth;
use crate::input::TriggerInput;
use crate::metric::MetricType;
use crate::params::{META, Need, Params};
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::http_auth::Auth;

/// A parsed `prometheus` trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusMetadata {
    pub server_address: String,
    pub query: String,
    pub threshold: f64,
    pub activation_threshold: f64,
    pub namespace: String,
    pub query_parameters: BTreeMap<String, String>,
    pub custom_headers: BTreeMap<String, String>,
    pub ignore_null_values: bool,
    pub unsafe_ssl: bool,
    pub timeout: Option<Duration>,
    pub auth: Auth,
    pub metric_type: MetricType,
}

impl PrometheusMetadata {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut p = Params::new(input);
        let server_address = p.string(&["serverAddress"], META, Need::Required);
        let query = p.string(&["query"], META, Need::Required);
        let threshold = p
            .get::<f64>(&["threshold"], META, Need::Required)
            .unwrap_or(0.0);
        let activation_threshold = p
            .get::<f64>(&["activationThreshold"], META, Need::Default("0"))
            .unwrap_or(0.0);
        let namespace = p.string(&["namespace"], META, Need::Optional);
        let query_parameters = p
            .get::<BTreeMap<String, String>>(&["queryParameters"], META, Need::Optional)
            .unwrap_or_default();
        let custom_headers = p
            .get::<BTreeMap<String, String>>(&["customHeaders"], META, Need::Optional)
            .unwrap_or_default();
        let ignore_null_values = p
            .get::<bool>(&["ignoreNullValues"], META, Need::Default("true"))
            .unwrap_or(true);
        let unsafe_ssl = p
            .get::<bool>(&["unsafeSsl"], META, Need::Default("false"))
            .unwrap_or(false);
        let timeout = p.get::<Duration>(&["timeout"], META, Need::Optional);
        let auth = http_auth::read(&mut p, http_auth::PROMETHEUS);
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });

        let auth = http_auth::check(&mut p, input, auth);
        p.finish("prometheus")?;
        Ok(Self {
            server_address,
            query,
            threshold,
            activation_threshold,
            namespace,
            query_parameters,
            custom_headers,
            ignore_null_values,
            unsafe_ssl,
            timeout,
            auth,
            metric_type,
        })
    }
}
