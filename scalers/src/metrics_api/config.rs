//! `metrics-api` metadata and authentication parameters, with KEDA's names, defaults and
//! validation texts (`pkg/scalers/metrics_api_scaler.go`, `pkg/scalers/authentication`).

use super::exposition::Selector;
use super::path::JsonPath;
use crate::error::Result;
use crate::input::TriggerInput;
use crate::metric::MetricType;
use crate::params::{AUTH, META, Need, Params, Source};
use std::time::Duration;

/// `format`: how the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Yaml,
    Xml,
    Prometheus,
}

/// Where the API key goes (`method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyMethod {
    Header,
    Query,
}

/// How requests authenticate. Debug hides the secrets.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Auth {
    /// `(method, header or query parameter name, key)`.
    pub api_key: Option<(KeyMethod, String, String)>,
    pub basic: Option<(String, String)>,
    pub bearer_token: Option<String>,
    pub custom: Option<(String, String)>,
    /// Client certificate and key (PEM) for `tls` mode.
    pub client_cert: Option<(String, String)>,
    /// Extra CA (PEM) for `tls` mode.
    pub ca: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("api_key", &self.api_key.as_ref().map(|(m, n, _)| (m, n)))
            .field("basic", &self.basic.is_some())
            .field("bearer", &self.bearer_token.is_some())
            .field("custom", &self.custom.as_ref().map(|c| &c.0))
            .field("tls", &self.client_cert.is_some())
            .field("ca", &self.ca.is_some())
            .finish()
    }
}

/// A parsed `metrics-api` trigger. Debug shows the URL without user info or query (either
/// may carry a credential) and hides the auth secrets.
#[derive(Clone, PartialEq)]
pub struct MetricsApiMetadata {
    pub url: String,
    pub format: Format,
    pub value_location: String,
    pub target_value: f64,
    pub activation_target_value: f64,
    pub unsafe_ssl: bool,
    pub timeout: Option<Duration>,
    pub auth: Auth,
    pub metric_type: MetricType,
    /// The checked form of `valueLocation` for `json` (other formats are checked below).
    pub json_path: Option<JsonPath>,
    /// The checked form of `valueLocation` for `prometheus`.
    pub selector: Option<Selector>,
}

impl std::fmt::Debug for MetricsApiMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = url::Url::parse(&self.url).map_or_else(
            |_| "<invalid>".to_string(),
            |u| {
                format!(
                    "{}://{}{}",
                    u.scheme(),
                    u.host_str().unwrap_or(""),
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                ) + u.path()
            },
        );
        f.debug_struct("MetricsApiMetadata")
            .field("url", &url)
            .field("format", &self.format)
            .field("value_location", &self.value_location)
            .field("target_value", &self.target_value)
            .field("activation_target_value", &self.activation_target_value)
            .field("unsafe_ssl", &self.unsafe_ssl)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

const MODES: &[&str] = &["apiKey", "basic", "tls", "bearer", "custom", "oauth"];
const META_AUTH: &[Source] = &[Source::Metadata, Source::Auth];

fn present(v: &str) -> &'static str {
    if v.is_empty() { "" } else { "<present>" }
}

impl MetricsApiMetadata {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut p = Params::new(input);
        let target_value = p.get::<f64>(&["targetValue"], META, Need::Optional);
        let activation_target_value = p
            .get::<f64>(&["activationTargetValue"], META, Need::Default("0"))
            .unwrap_or(0.0);
        let url = p.string(&["url"], META, Need::Required);
        let format = p.enum_list(
            &["format"],
            META,
            Need::Default("json"),
            &["prometheus", "json", "xml", "yaml"],
        );
        let value_location = p.string(&["valueLocation"], META, Need::Required);
        let unsafe_ssl = p
            .get::<bool>(&["unsafeSsl"], META, Need::Default("false"))
            .unwrap_or(false);
        let aggregate = p
            .get::<bool>(
                &["aggregateFromKubeServiceEndpoints"],
                META,
                Need::Default("false"),
            )
            .unwrap_or(false);
        let _ = p.enum_list(
            &["aggregationType"],
            META,
            Need::Default("average"),
            &["average", "sum", "max", "min"],
        );
        let timeout = p.get::<Duration>(&["timeout"], META, Need::Optional);
        let auth = parse_auth(&mut p, input);
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });

        if target_value.unwrap_or(0.0) == 0.0 && !p.has_errors() {
            p.error("no targetValue given in metadata");
        }
        if aggregate {
            p.error(
                "aggregateFromKubeServiceEndpoints is not supported by Prescale: \
                 point url at one endpoint",
            );
        }
        if !url.is_empty() && !url.starts_with("http://") && !url.starts_with("https://") {
            p.error(format!("url {url:?} must be an http:// or https:// URL"));
        } else if !url.is_empty() && url::Url::parse(&url).is_err() {
            p.error(format!("url {url:?} is not a valid URL"));
        }
        let format = match format.first().map(String::as_str) {
            Some("prometheus") => Format::Prometheus,
            Some("xml") => Format::Xml,
            Some("yaml") => Format::Yaml,
            _ => Format::Json,
        };
        let (mut json_path, mut selector) = (None, None);
        if !value_location.is_empty() {
            let checked = match format {
                Format::Json => JsonPath::parse(&value_location).map(|j| json_path = Some(j)),
                Format::Prometheus => Selector::parse(&value_location).map(|s| selector = Some(s)),
                Format::Yaml | Format::Xml => super::path::check_dotted(&value_location),
            };
            if let Err(e) = checked {
                p.error(format!("valueLocation {value_location:?}: {e}"));
            }
        }
        p.finish("metrics-api")?;
        Ok(Self {
            url,
            format,
            value_location,
            target_value: target_value.unwrap_or(0.0),
            activation_target_value,
            unsafe_ssl,
            timeout,
            auth,
            metric_type,
            json_path,
            selector,
        })
    }
}

/// KEDA's `authentication.Config`: `authModes`/`authMode` (at most one of bearer, basic,
/// oauth) and each mode's parameters, checked with KEDA's texts.
fn parse_auth(p: &mut Params<'_>, input: &TriggerInput) -> Auth {
    let modes = p.enum_list(&["authModes", "authMode"], META_AUTH, Need::Optional, MODES);
    let exclusive = modes
        .iter()
        .filter(|m| ["bearer", "basic", "oauth"].contains(&m.as_str()))
        .count();
    if exclusive > 1 {
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
    let method = p.enum_list(
        &["method"],
        META_AUTH,
        Need::Default("header"),
        &["header", "query"],
    );
    let key_param = p.string(&["keyParamName"], META_AUTH, Need::Optional);
    if !modes.is_empty()
        && input
            .pod_identity_provider
            .as_deref()
            .is_some_and(|pi| !pi.is_empty() && pi != "none")
    {
        p.error("pod identity cannot be enabled with other auth types");
    }
    if modes.iter().any(|m| m == "oauth") && (oauth_uri.is_empty() || client_id.is_empty()) {
        p.error(format!(
            "oauthTokenURI={oauth_uri} and clientID={client_id} are required when oauth is enabled"
        ));
    }
    let creds = Creds {
        bearer,
        username,
        password,
        cert,
        key,
        ca,
        custom_header,
        custom_value,
        api_key,
        query: method.first().is_some_and(|m| m == "query"),
        key_param,
    };
    apply_modes(p, &modes, creds)
}

/// The credentials read for the auth modes.
struct Creds {
    bearer: String,
    username: String,
    password: String,
    cert: String,
    key: String,
    ca: String,
    custom_header: String,
    custom_value: String,
    api_key: String,
    query: bool,
    key_param: String,
}

/// The [`Auth`] of the enabled `modes`, each mode's parameters checked with KEDA's texts.
fn apply_modes(p: &mut Params<'_>, modes: &[String], c: Creds) -> Auth {
    let Creds {
        bearer,
        username,
        password,
        cert,
        key,
        ca,
        custom_header,
        custom_value,
        api_key,
        query,
        key_param,
    } = c;
    let has = |m: &str| modes.iter().any(|x| x == m);
    let mut auth = Auth::default();
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
        auth.ca = (!ca.is_empty()).then_some(ca);
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
    if has("apiKey") {
        if api_key.is_empty() {
            p.error("apiKey is required when apiKey auth is enabled");
        }
        let (method, default_name) = if query {
            (KeyMethod::Query, "api_key")
        } else {
            (KeyMethod::Header, "X-API-KEY")
        };
        let name = if key_param.is_empty() {
            default_name.to_string()
        } else {
            key_param
        };
        auth.api_key = Some((method, name, api_key));
    }
    auth
}
