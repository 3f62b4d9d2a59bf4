//! Delegated authentication and authorization, as an aggregated API server does it:
//! only a client certificate that verified against the front-proxy CA (and whose common name
//! is allowed) may assert a user through the request headers; that user is then authorized
//! with a SubjectAccessReview (see [`crate::authz`]). Everything else gets 401 or 403 as a
//! `metav1.Status`. Probes stay anonymous.

use crate::authz::{Attributes, Authorizer};
use crate::routes::error;
use crate::server::PeerIdentity;
use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The request-header settings of `kube-system/extension-apiserver-authentication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeaderConfig {
    /// Client certificate common names allowed to assert users; empty = any verified cert.
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_header_prefixes: Vec<String>,
}

impl Default for RequestHeaderConfig {
    fn default() -> Self {
        Self {
            allowed_names: Vec::new(),
            username_headers: vec!["X-Remote-User".into()],
            group_headers: vec!["X-Remote-Group".into()],
            extra_header_prefixes: vec!["X-Remote-Extra-".into()],
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Authentication settings plus the authorizer.
pub struct Auth {
    pub request_header: ArcSwap<RequestHeaderConfig>,
    pub authorizer: Arc<dyn Authorizer>,
}

/// The probes: answered without authentication and never counted against the in-flight
/// limit.
pub const ANONYMOUS_PATHS: &[&str] = &["/livez", "/readyz", "/healthz"];

/// Finds the user the front proxy asserts, or says why not.
pub fn authenticate(
    peer: Option<&PeerIdentity>,
    headers: &HeaderMap,
    cfg: &RequestHeaderConfig,
) -> Result<User, String> {
    let Some(cn) = peer.and_then(|p| p.common_name.as_deref()) else {
        return Err("a client certificate signed by the front-proxy CA is required".into());
    };
    if !cfg.allowed_names.is_empty() && !cfg.allowed_names.iter().any(|n| n == cn) {
        return Err(format!(
            "client certificate common name {cn:?} is not an allowed front-proxy name"
        ));
    }
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let name = cfg
        .username_headers
        .iter()
        .flat_map(|h| values(h))
        .find(|v| !v.is_empty())
        .ok_or_else(|| "the front proxy sent no user name header".to_string())?;
    let groups = cfg.group_headers.iter().flat_map(|h| values(h)).collect();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in headers {
        for prefix in &cfg.extra_header_prefixes {
            let key = k.as_str();
            if key.len() > prefix.len() && key[..prefix.len()].eq_ignore_ascii_case(prefix) {
                let extra_key = percent_encoding::percent_decode_str(&key[prefix.len()..])
                    .decode_utf8_lossy()
                    .to_lowercase();
                if let Ok(v) = v.to_str() {
                    extra.entry(extra_key).or_default().push(v.to_string());
                }
            }
        }
    }
    Ok(User {
        name,
        groups,
        extra,
    })
}

/// What a request asks to do, for authorization: the namespace and metric percent-decoded,
/// exactly as routing decodes them, so what is authorized is what is served.
pub fn attributes(path: &str) -> Attributes {
    let decode = |segment: &str| {
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned()
    };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [
            "apis",
            "external.metrics.k8s.io",
            "v1beta1",
            "namespaces",
            ns,
            metric,
        ] => Attributes::Resource {
            namespace: decode(ns),
            resource: decode(metric),
        },
        _ => Attributes::NonResource {
            path: path.to_string(),
        },
    }
}

/// The axum middleware: 401 without a trusted identity, 403 when not allowed.
pub async fn middleware(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if ANONYMOUS_PATHS.contains(&path.as_str()) {
        return next.run(req).await;
    }
    let cfg = auth.request_header.load();
    let user = match authenticate(req.extensions().get::<PeerIdentity>(), req.headers(), &cfg) {
        Ok(u) => u,
        Err(why) => return error(StatusCode::UNAUTHORIZED, "Unauthorized", why),
    };
    let attrs = attributes(&path);
    match auth.authorizer.allowed(&user, &attrs).await {
        Ok(true) => next.run(req).await,
        Ok(false) => error(StatusCode::FORBIDDEN, "Forbidden", attrs.denial(&user.name)),
        Err(e) => {
            tracing::warn!(error = %e, "authorization check failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "authorization check failed",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(cn: &str) -> PeerIdentity {
        PeerIdentity {
            common_name: Some(cn.into()),
        }
    }

    #[test]
    fn only_verified_allowed_certs_assert_users() {
        let mut h = HeaderMap::new();
        h.insert(
            "X-Remote-User",
            HeaderValue::from_static("system:serviceaccount:kube-system:horizontal-pod-autoscaler"),
        );
        h.append(
            "X-Remote-Group",
            HeaderValue::from_static("system:serviceaccounts"),
        );
        h.append(
            "X-Remote-Group",
            HeaderValue::from_static("system:authenticated"),
        );
        h.insert(
            "X-Remote-Extra-Authentication.kubernetes.io%2fpod-name",
            HeaderValue::from_static("hpa-0"),
        );
        let cfg = RequestHeaderConfig {
            allowed_names: vec!["front-proxy-client".into()],
            ..Default::default()
        };
        let u = authenticate(Some(&peer("front-proxy-client")), &h, &cfg).unwrap();
        assert_eq!(
            u.name,
            "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
        );
        assert_eq!(u.groups, ["system:serviceaccounts", "system:authenticated"]);
        assert_eq!(u.extra["authentication.kubernetes.io/pod-name"], ["hpa-0"]);
        assert!(
            authenticate(None, &h, &cfg)
                .unwrap_err()
                .contains("client certificate")
        );
        assert!(authenticate(Some(&PeerIdentity::default()), &h, &cfg).is_err());
        assert!(
            authenticate(Some(&peer("mallory")), &h, &cfg)
                .unwrap_err()
                .contains("mallory")
        );
        assert!(authenticate(Some(&peer("mallory")), &h, &RequestHeaderConfig::default()).is_ok());
        assert!(
            authenticate(Some(&peer("front-proxy-client")), &HeaderMap::new(), &cfg)
                .unwrap_err()
                .contains("user name")
        );
    }

    #[test]
    fn request_attributes() {
        assert_eq!(
            attributes("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-redis-jobs"),
            Attributes::Resource {
                namespace: "shop".into(),
                resource: "s0-redis-jobs".into()
            }
        );
        assert_eq!(
            attributes("/apis"),
            Attributes::NonResource {
                path: "/apis".into()
            }
        );
        // decoded once, as routing decodes them: what is authorized is what is served
        assert_eq!(
            attributes("/apis/external.metrics.k8s.io/v1beta1/namespaces/sh%6Fp/s0%2Dcron%2541"),
            Attributes::Resource {
                namespace: "shop".into(),
                resource: "s0-cron%41".into()
            }
        );
    }
}
