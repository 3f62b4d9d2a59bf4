//! The aggregator's front-proxy settings from `kube-system/extension-apiserver-authentication`
//! (client CA, allowed names, header names), watched so a rotated CA applies without restart.

use crate::auth::{Auth, RequestHeaderConfig};
use crate::tls::TlsState;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "extension-apiserver-authentication";

fn json_list(data: &BTreeMap<String, String>, key: &str) -> Option<Vec<String>> {
    data.get(key)
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
}

/// Reads the request-header settings and the front-proxy CA out of the ConfigMap's data.
pub fn parse(data: &BTreeMap<String, String>) -> (RequestHeaderConfig, Option<Vec<u8>>) {
    let defaults = RequestHeaderConfig::default();
    let cfg = RequestHeaderConfig {
        allowed_names: json_list(data, "requestheader-allowed-names").unwrap_or_default(),
        username_headers: json_list(data, "requestheader-username-headers")
            .filter(|v| !v.is_empty())
            .unwrap_or(defaults.username_headers),
        group_headers: json_list(data, "requestheader-group-headers")
            .filter(|v| !v.is_empty())
            .unwrap_or(defaults.group_headers),
        extra_header_prefixes: json_list(data, "requestheader-extra-headers-prefix")
            .filter(|v| !v.is_empty())
            .unwrap_or(defaults.extra_header_prefixes),
    };
    let ca = data
        .get("requestheader-client-ca-file")
        .map(|s| s.clone().into_bytes());
    (cfg, ca)
}

/// Applies one version of the ConfigMap. A bad CA bundle is refused (the old one stays).
pub fn apply(data: &BTreeMap<String, String>, tls: &TlsState, auth: &Auth) {
    let (cfg, ca) = parse(data);
    match tls.set_client_ca(ca) {
        Ok(()) => auth.request_header.store(Arc::new(cfg)),
        Err(e) => {
            tracing::error!(error = %e, "front-proxy client CA in {NAMESPACE}/{NAME} rejected; keeping the previous one")
        }
    }
}

/// Whether the API server answered the failed call (a refusal, not an unreachable server).
fn api_answered(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => matches!(e, kube::Error::Api(_)),
        _ => true,
    }
}

/// Watches the ConfigMap until the task is dropped, retrying with kube's default backoff. A
/// failure is logged once until the watch works again (the client reports an API that does not
/// answer on its own).
pub async fn watch(client: Client, tls: Arc<TlsState>, auth: Arc<Auth>) {
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let cfg = watcher::Config::default().fields(&format!("metadata.name={NAME}"));
    let mut stream = watcher::watcher(api, cfg).default_backoff().boxed();
    let mut failing = false;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(Event::Apply(cm) | Event::InitApply(cm)) => {
                failing = false;
                apply(&cm.data.unwrap_or_default(), &tls, &auth)
            }
            Ok(_) => failing = false,
            Err(e) if failing || !api_answered(&e) => {
                tracing::debug!(error = %e, "watching {NAMESPACE}/{NAME} failed")
            }
            Err(e) => {
                failing = true;
                tracing::warn!(error = %e, "watching {NAMESPACE}/{NAME} failed; retrying with backoff");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_apiserver_format() {
        let data = BTreeMap::from([
            (
                "requestheader-allowed-names".to_string(),
                "[\"front-proxy-client\"]".to_string(),
            ),
            (
                "requestheader-username-headers".to_string(),
                "[\"X-Remote-User\"]".to_string(),
            ),
            (
                "requestheader-group-headers".to_string(),
                "[\"X-Remote-Group\"]".to_string(),
            ),
            (
                "requestheader-extra-headers-prefix".to_string(),
                "[\"X-Remote-Extra-\"]".to_string(),
            ),
            (
                "requestheader-client-ca-file".to_string(),
                "-----BEGIN CERTIFICATE-----\n...".to_string(),
            ),
        ]);
        let (cfg, ca) = parse(&data);
        assert_eq!(cfg.allowed_names, ["front-proxy-client"]);
        assert_eq!(cfg.username_headers, ["X-Remote-User"]);
        assert!(ca.unwrap().starts_with(b"-----BEGIN"));
        let (cfg, ca) = parse(&BTreeMap::new());
        assert_eq!(cfg, RequestHeaderConfig::default());
        assert!(ca.is_none());
    }
}
