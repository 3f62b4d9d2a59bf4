//! Every replica follows the serving certificate Secret (a watch on that one object) and swaps
//! the metrics API's certificate when it changes: new connections get the new certificate,
//! open ones keep theirs. Until the Secret exists the server keeps its start-up certificate
//! (and the replica is not Ready: `loaded` is called at the first certificate served).

use super::{TLS_CRT, TLS_KEY};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use prescale_metrics_adapter::tls::TlsState;
use std::sync::Arc;

/// Follows `namespace/secret` until the task is dropped.
pub async fn follow(
    client: Client,
    namespace: String,
    secret: String,
    tls: Arc<TlsState>,
    loaded: impl Fn() + Send + 'static,
) {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let cfg = watcher::Config::default().fields(&format!("metadata.name={secret}"));
    let mut events = watcher::watcher(api, cfg)
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(ev) = events.next().await {
        let s = match ev {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, secret = %secret, "watching the serving certificate Secret");
                continue;
            }
        };
        let data = s.data.unwrap_or_default();
        let (Some(cert), Some(key)) = (data.get(TLS_CRT), data.get(TLS_KEY)) else {
            tracing::warn!(secret = %secret, "serving certificate Secret has no tls.crt and tls.key yet");
            continue;
        };
        match tls.set_serving(cert.0.clone(), key.0.clone()) {
            Ok(true) => {
                tracing::info!(secret = %secret, "serving certificate loaded from the Secret");
                loaded();
            }
            Ok(false) => loaded(),
            Err(e) => {
                tracing::warn!(error = %e, secret = %secret, "serving certificate not loaded; keeping the current one")
            }
        }
    }
}
