//! The external metrics API server of `operator::run`: TLS (files, self-signed, or the serving
//! certificate Secret followed by a watch), delegated authentication and authorization, and
//! the provider over the metric store.

use super::MetricsApiOptions;
use crate::context::Context;
use crate::shutdown::Shutdown;
use crate::telemetry::admin::Readiness;
use kube::Client;
use std::sync::Arc;
use std::time::Duration;

pub(super) async fn metrics_api(
    client: Client,
    m: MetricsApiOptions,
    ctx: Arc<Context>,
    readiness: Readiness,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    use prescale_metrics_adapter::{auth, authz, delegation, server, tls};
    let _busy = shutdown.busy("metrics API server (open requests)");
    let tls = tls::TlsState::new(m.cert.clone(), None)?;
    let authorizer: Arc<dyn authz::Authorizer> = if m.authorization {
        Arc::new(authz::SubjectAccessReviewer::new(
            client.clone(),
            Duration::from_secs(10),
        ))
    } else {
        tracing::warn!(
            "AUTHORIZATION DISABLED for the external metrics API: every authenticated caller gets every metric. Use only for local testing."
        );
        Arc::new(authz::AllowAll)
    };
    let auth = Arc::new(auth::Auth {
        request_header: arc_swap::ArcSwap::from_pointee(auth::RequestHeaderConfig::default()),
        authorizer,
    });
    let watcher = m
        .watch_front_proxy_config
        .then(|| tokio::spawn(delegation::watch(client.clone(), tls.clone(), auth.clone())));
    let reloader = matches!(m.cert, tls::CertSource::Files { .. })
        .then(|| tokio::spawn(tls.clone().watch_files(Duration::from_secs(10))));
    // not Ready before the Secret's certificate is served: the aggregator trusts only it
    let follower = ctx.config.serving_cert.clone().map(|c| {
        readiness.set_cert_pending(true);
        tokio::spawn(crate::serving_cert::reload::follow(
            client.clone(),
            c.namespace,
            c.secret,
            tls.clone(),
            move || readiness.set_cert_pending(false),
        ))
    });
    let provider = Arc::new(crate::metrics_api::StoreProvider {
        store: ctx.metric_store.clone(),
        scaled_objects: ctx.scaled_objects.clone(),
        pollers: ctx.pollers.clone(),
        max_age: m.max_age,
        leadership: ctx.leader.clone(),
        forwarder: match ctx.leader.sharded() {
            true => Some(crate::metrics_api::forward::Forwarder::new(
                ctx.config
                    .sharding
                    .forward_identity
                    .as_ref()
                    .map(|p| p.0.as_str()),
                &ctx.config.sharding.forward_user,
                ctx.config.sharding.forward_timeout,
            )?),
            false => None,
        },
    });
    tracing::info!(addr = ?m.listener.local_addr().ok(), "external metrics API listening");
    let res = server::serve(
        m.listener,
        tls,
        prescale_metrics_adapter::app(provider, auth, m.metrics.clone()),
        shutdown.wait(),
    )
    .await;
    for t in [watcher, reloader, follower].into_iter().flatten() {
        t.abort();
    }
    Ok(res?)
}
