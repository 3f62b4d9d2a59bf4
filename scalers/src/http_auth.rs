//! KEDA's HTTP authentication (`pkg/scalers/authentication`) as the HTTP sources read it
//! (`prometheus`, `metrics-api`): `authModes`/`authMode` (`apiKey`, `basic`, `tls`, `bearer`,
//! `custom`, `oauth`; at most one of bearer, basic, oauth) and each mode's parameters, checked
//! with KEDA's texts. No message and no Debug output carries a secret.
//!
//! Reading ([`read`]) and checking ([`check`]) are apart so each source keeps its own order of
//! messages around them (e.g. `prometheus` reports its `metricType` between the two).

use crate::input::TriggerInput;
use crate::params::{AUTH, Need, Params, Source};

/// Where the API key goes (`method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyMethod {
    Header,
    Query,
}

/// How requests authenticate. Debug hides the secrets.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Auth {
    /// `(method, header or query parameter name, key)` (sources that send it).
    pub api_key: Option<(KeyMethod, String, String)>,
    pub basic: Option<(String, String)>,
    pub bearer_token: Option<String>,
    pub custom: Option<(String, String)>,
    /// Client certificate and key (PEM) for `tls` mode.
    pub client_cert: Option<(String, String)>,
    /// Extra CA (PEM).
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

/// What differs between the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// `apiKey` is sent with the requests, by `method` under `keyParamName` (`metrics-api`);
    /// otherwise it is only checked (`prometheus`, as in KEDA).
    pub sends_api_key: bool,
    /// `ca` is trusted with any auth mode (`prometheus`), not with `tls` only (`metrics-api`).
    pub ca_with_any_mode: bool,
}

pub const PROMETHEUS: Flavor = Flavor {
    sends_api_key: false,
    ca_with_any_mode: true,
};

pub const METRICS_API: Flavor = Flavor {
    sends_api_key: true,
    ca_with_any_mode: false,
};

const MODES: &[&str] = &["apiKey", "basic", "tls", "bearer", "custom", "oauth"];
const META_AUTH: &[Source] = &[Source::Metadata, Source::Auth];

fn present(v: &str) -> &'static str {
    if v.is_empty() { "" } else { "<present>" }
}

/// The auth parameters as read, not yet checked.
pub struct Read {
    flavor: Flavor,
    modes: Vec<String>,
    bearer: String,
    username: String,
    password: String,
    cert: String,
    key: String,
    ca: String,
    custom_header: String,
    custom_value: String,
    oauth_uri: String,
    client_id: String,
    api_key: String,
    query: bool,
    key_param: String,
}

/// Reads the modes (and checks that at most one of bearer, basic, oauth is asked for) and
/// every mode's parameters.
pub fn read(p: &mut Params<'_>, flavor: Flavor) -> Read {
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
    let mut r = Read {
        flavor,
        bearer: p.string(&["bearerToken", "token"], AUTH, Need::Optional),
        username: p.string(&["username"], AUTH, Need::Optional),
        password: p.string(&["password"], AUTH, Need::Optional),
        cert: p.string(&["cert"], AUTH, Need::Optional),
        key: p.string(&["key"], AUTH, Need::Optional),
        ca: p.string(&["ca"], AUTH, Need::Optional),
        custom_header: p.string(&["customAuthHeader"], AUTH, Need::Optional),
        custom_value: p.string(&["customAuthValue"], AUTH, Need::Optional),
        oauth_uri: p.string(&["oauthTokenURI"], AUTH, Need::Optional),
        client_id: p.string(&["clientID"], AUTH, Need::Optional),
        api_key: p.string(&["apiKey"], META_AUTH, Need::Optional),
        modes,
        query: false,
        key_param: String::new(),
    };
    // `method` is parsed and checked by both (applied only where the key is sent, as in KEDA)
    let method = p.enum_list(
        &["method"],
        META_AUTH,
        Need::Default("header"),
        &["header", "query"],
    );
    if flavor.sends_api_key {
        r.query = method.first().is_some_and(|m| m == "query");
        r.key_param = p.string(&["keyParamName"], META_AUTH, Need::Optional);
    }
    r
}

/// Checks the modes' parameters (pod identity excluded with any mode) and builds the
/// [`Auth`] of the enabled modes.
pub fn check(p: &mut Params<'_>, input: &TriggerInput, r: Read) -> Auth {
    let has = |m: &str| r.modes.iter().any(|x| x == m);
    if !r.modes.is_empty()
        && input
            .pod_identity_provider
            .as_deref()
            .is_some_and(|pi| !pi.is_empty() && pi != "none")
    {
        p.error("pod identity cannot be enabled with other auth types");
    }
    if has("oauth") && (r.oauth_uri.is_empty() || r.client_id.is_empty()) {
        p.error(format!(
            "oauthTokenURI={} and clientID={} are required when oauth is enabled",
            r.oauth_uri, r.client_id
        ));
    }
    let mut auth = Auth::default();
    if has("bearer") {
        if r.bearer.is_empty() {
            p.error("bearer token=<empty> is required when bearer auth is enabled");
        }
        auth.bearer_token = Some(r.bearer.clone());
    }
    if has("basic") {
        if r.username.is_empty() {
            p.error("username=<empty> is required when basic auth is enabled");
        }
        auth.basic = Some((r.username.clone(), r.password.clone()));
    }
    if has("tls") {
        if r.cert.is_empty() || r.key.is_empty() {
            p.error(format!(
                "cert={} and key={} are required when tls auth is enabled",
                present(&r.cert),
                present(&r.key)
            ));
        }
        auth.client_cert = Some((r.cert.clone(), r.key.clone()));
    }
    if has("custom") {
        if r.custom_header.is_empty() || r.custom_value.is_empty() {
            p.error(format!(
                "customAuthHeader={} and customAuthValue={} are required when custom auth is enabled",
                r.custom_header,
                present(&r.custom_value)
            ));
        }
        auth.custom = Some((r.custom_header.clone(), r.custom_value.clone()));
    }
    if has("apiKey") {
        if r.api_key.is_empty() {
            p.error("apiKey is required when apiKey auth is enabled");
        }
        if r.flavor.sends_api_key {
            auth.api_key = Some(api_key(&r));
        }
    }
    let ca_applies = if r.flavor.ca_with_any_mode {
        !r.modes.is_empty()
    } else {
        has("tls")
    };
    if ca_applies && !r.ca.is_empty() {
        auth.ca = Some(r.ca);
    }
    auth
}

/// The key with where it goes: `keyParamName`, else `X-API-KEY` (header) or `api_key` (query).
fn api_key(r: &Read) -> (KeyMethod, String, String) {
    let (method, default_name) = if r.query {
        (KeyMethod::Query, "api_key")
    } else {
        (KeyMethod::Header, "X-API-KEY")
    };
    let name = if r.key_param.is_empty() {
        default_name.to_string()
    } else {
        r.key_param.clone()
    };
    (method, name, r.api_key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flavor: Flavor, meta: &[(&str, &str)], auth: &[(&str, &str)]) -> (Auth, Vec<String>) {
        let input = TriggerInput::new("metrics-api", 0, meta).with_auth(auth);
        let mut p = Params::new(&input);
        let r = read(&mut p, flavor);
        let a = check(&mut p, &input, r);
        let errors = match p.finish("metrics-api") {
            Ok(()) => Vec::new(),
            Err(e) => e.to_string().lines().map(String::from).collect(),
        };
        (a, errors)
    }

    #[test]
    fn ca_and_api_key_follow_the_flavor() {
        let auth = [("ca", "CA"), ("apiKey", "k"), ("username", "u")];
        let meta = [("authModes", "basic,apiKey"), ("method", "query")];
        let (a, e) = parse(PROMETHEUS, &meta, &auth);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(a.ca.as_deref(), Some("CA"));
        assert_eq!(a.api_key, None);
        assert_eq!(a.basic, Some(("u".into(), String::new())));
        let (a, e) = parse(METRICS_API, &meta, &auth);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(a.ca, None, "metrics-api trusts ca with tls only");
        assert_eq!(
            a.api_key,
            Some((KeyMethod::Query, "api_key".into(), "k".into()))
        );
    }

    #[test]
    fn each_missing_parameter_is_named_without_its_secret() {
        let (_, e) = parse(
            METRICS_API,
            &[("authModes", "tls,custom,oauth")],
            &[("key", "s3cr3t"), ("customAuthValue", "v4lue")],
        );
        let text = e.join("\n");
        assert!(
            text.contains("oauthTokenURI= and clientID= are required"),
            "{text}"
        );
        assert!(
            text.contains("cert= and key=<present> are required"),
            "{text}"
        );
        assert!(
            text.contains("customAuthHeader= and customAuthValue=<present>"),
            "{text}"
        );
        assert!(
            !text.contains("s3cr3t") && !text.contains("v4lue"),
            "{text}"
        );
        let debug = format!(
            "{:?}",
            parse(
                METRICS_API,
                &[("authModes", "bearer")],
                &[("bearerToken", "t0k")]
            )
            .0
        );
        assert!(!debug.contains("t0k"), "{debug}");
    }
}
