//! `prometheus` metadata and authentication parameters (spec §5.1), with KEDA's defaults and
//! auth validation texts.

use crate::error::Result;
use crate::input::TriggerInput;
use crate::metric::MetricType;
use crate::params::{AUTH, META, Need, Params, Source};
use std::collections::BTreeMap;
use std::time::Duration;

/// How requests authenticate. Debug hides the secrets.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Auth {
    pub bearer_token: Option<String>,
    pub basic: Option<(String, String)>,
    pub custom: Option<(String, String)>,
    /// Client certificate and key (PEM) for `tls` mode.
    pub client_cert: Option<(String, String)>,
    /// Extra CA (PEM), used when any auth mode is set.
    pub ca: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("bearer", &self.bearer_token.is_some())
            .field("basic", &self.basic.is_some())
            .field("custom", &self.custom.as_ref().map(|c| &c.0))
            .field("tls", &self.client_cert.is_some())
            .field("ca", &self.ca.is_some())
            .finish()
    }
}

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

const MODES: &[&str] = &["apiKey", "basic", "tls", "bearer", "custom", "oauth"];
const META_AUTH: &[Source] = &[Source::Metadata, Source::Auth];

fn present(v: &str) -> &'static str {
    if v.is_empty() { "" } else { "<present>" }
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
        let modes = p.enum_list(&["authModes", "authMode"], META_AUTH, Need::Optional, MODES);
        let exclusive: Vec<&String> = modes
            .iter()
            .filter(|m| ["bearer", "basic", "oauth"].contains(&m.as_str()))
            .collect();
        if exclusive.len() > 1 {
            p.error(format!(
                "parameter \"authModes\" value {:?} must contain only one of [bearer basic oauth]",
                modes.join(",")
            ));
        }
        let bearer = p.string(&["bearerToken", "token"], AUTH, Need::Optional);
        let username = p.string(&["username"], AUTH, Need::Optional);
        let password = p.string(&["password"], AUTH, Need::Optional);
        let cert = p.string(&["cert"], AUTH, Need::Optional);
        let key = p.string(&["key"], AUTH, Need::Optional);
        let ca = p.string(&["ca"], AUTH, Need::Optional);
        let custom_header = p.string(&["customAuthHeader"], AUTH, Need::Optional);
        let custom_value = p.string(&["customAuthValue"], AUTH, Need::Optional);
        let oauth_uri = p.string(&["oauthTokenURI"], AUTH, Need::Optional);
        let client_id = p.string(&["clientID"], AUTH, Need::Optional);
        let api_key = p.string(&["apiKey"], META_AUTH, Need::Optional);
        // parsed and checked, not applied (as in KEDA)
        let _ = p.enum_list(
            &["method"],
            META_AUTH,
            Need::Default("header"),
            &["header", "query"],
        );
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });

        let has = |m: &str| modes.iter().any(|x| x == m);
        let mut auth = Auth::default();
        if !modes.is_empty()
            && input
                .pod_identity_provider
                .as_deref()
                .is_some_and(|pi| !pi.is_empty() && pi != "none")
        {
            p.error("pod identity cannot be enabled with other auth types");
        }
        if has("bearer") {
            if bearer.is_empty() {
                p.error("bearer token=<empty> is required when bearer auth is enabled");
            }
            auth.bearer_token = Some(bearer);
        }
        if has("basic") {
            if username.is_empty() {
                p.error("username=<empty> is required when basic auth is enabled");
            }
            auth.basic = Some((username, password));
        }
        if has("tls") {
            if cert.is_empty() || key.is_empty() {
                p.error(format!(
                    "cert={} and key={} are required when tls auth is enabled",
                    present(&cert),
                    present(&key)
                ));
            }
            auth.client_cert = Some((cert, key));
        }
        if has("custom") {
            if custom_header.is_empty() || custom_value.is_empty() {
                p.error(format!(
                    "customAuthHeader={custom_header} and customAuthValue={} are required when custom auth is enabled",
                    present(&custom_value)
                ));
            }
            auth.custom = Some((custom_header, custom_value));
        }
        if has("oauth") && (oauth_uri.is_empty() || client_id.is_empty()) {
            p.error(format!("oauthTokenURI={oauth_uri} and clientID={client_id} are required when oauth is enabled"));
        }
        if has("apiKey") && api_key.is_empty() {
            p.error("apiKey is required when apiKey auth is enabled");
        }
        if !modes.is_empty() && !ca.is_empty() {
            auth.ca = Some(ca);
        }
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
