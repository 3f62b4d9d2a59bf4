//! `prescale run`'s wiring, callable with any `kube::Client` (the CLI passes a real one, tests
//! pass one over the API stand-in): leader election, the ScaledObject controller with its
//! watches, poll loops, and readiness; everything stops on the shutdown signal.

mod serve;
mod shards;
mod watches;

use crate::api::ScaledObject;
use crate::cache::{self, Caches};
use crate::context::{Context, OperatorConfig};
use crate::controller::reconcile::{error_policy, reconcile};
use crate::leader::{Leadership, LeaseConfig};
use crate::metric_store::MetricStore;
use crate::poller::Pollers;
use crate::shutdown::Shutdown;
use crate::telemetry::admin::Readiness;
use crate::telemetry::metrics::OperatorMetrics;
use crate::write::events::Events;
use futures::{StreamExt, TryStreamExt};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use std::sync::Arc;
use std::time::Duration;

/// Everything `run` needs besides the client.
pub struct OperatorOptions {
    pub config: OperatorConfig,
    /// Only this namespace (None: all namespaces).
    pub watch_namespace: Option<String>,
    /// Leader election; None runs as the only writer.
    pub lease: Option<LeaseConfig>,
    pub max_concurrent_reconciles: u16,
    /// Backend call timeout when a trigger sets none.
    pub default_timeout: Duration,
    /// This replica's name, for Events.
    pub instance: Option<String>,
    /// The client Events are published with, with its own rate limit (as client-go's and
    /// controller-runtime's event recorders have), so Events never take the budget of HPA and
    /// status writes; None publishes them with the main client.
    pub events_client: Option<Client>,
    /// The external metrics API server, when it runs in this process.
    pub metrics_api: Option<MetricsApiOptions>,
    /// What "now" is for triggers and pre-scaling (tests move it; `prescale run` uses the
    /// system clock).
    pub clock: std::sync::Arc<dyn prescale_scalers::Clock>,
}

/// Where and how the `external.metrics.k8s.io` server listens.
pub struct MetricsApiOptions {
    pub listener: tokio::net::TcpListener,
    pub cert: prescale_metrics_adapter::tls::CertSource,
    /// Delegated authorization with SubjectAccessReview; `false` allows every authenticated
    /// caller (local testing only).
    pub authorization: bool,
    /// Trust the front-proxy settings of `kube-system/extension-apiserver-authentication`.
    pub watch_front_proxy_config: bool,
    /// Values older than this are refreshed before they are served (None: 2 × pollingInterval).
    pub max_age: Option<Duration>,
    /// The server's own request metrics.
    pub metrics: Option<prescale_metrics_adapter::metrics::AdapterMetrics>,
}

/// The parts of a running operator that other components (admin server, metrics API) read.
#[derive(Clone)]
pub struct Handles {
    pub metric_store: Arc<MetricStore>,
    pub readiness: Readiness,
    pub leadership: Leadership,
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the operator until `shutdown`; returns when everything has stopped.
pub async fn run(
    client: Client,
    opts: OperatorOptions,
    metrics: OperatorMetrics,
    handles: Handles,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (leadership, elector_task) = shards::elect(&client, &opts, &handles, &shutdown)?;
    // the election task ends only at shutdown; if it dies earlier, stop the whole operator
    let (elector_died_tx, elector_died) = tokio::sync::oneshot::channel::<String>();
    let elector_task = elector_task.map(|task| {
        let sd = shutdown.clone();
        tokio::spawn(async move {
            let res = task.await;
            if !sd.is_shutting_down() {
                let why = match res {
                    Err(e) => format!("leader election task failed: {e}"),
                    Ok(()) => "leader election task stopped".to_string(),
                };
                let _ = elector_died_tx.send(why);
            }
        })
    });
    let sos: Api<ScaledObject> = api(&client, &opts.watch_namespace);
    let (caches, hpa_writer, writers) = Caches::new();
    // one watch per kind: each feeds its cache and re-reconciles the users of what changed
    let hpas = cache::reflect(
        hpa_writer,
        api(&client, &opts.watch_namespace),
        watcher::Config::default(),
    );
    // the ScaledObject watch feeds a slimmed store (no managedFields), as the other caches
    // and the index of which object claims which workload
    let (so_store, so_writer) = kube::runtime::reflector::store();
    let targets = cache::target_index::TargetIndex::default();
    let index = targets.clone();
    let so_stream = kube::runtime::reflector::reflector(
        so_writer,
        watcher::watcher(sos, watcher::Config::default().any_semantic())
            .backoff(crate::retry::WatchBackoff::default())
            .modify(cache::slim::<ScaledObject>)
            .inspect_ok(move |event| index.apply(event)),
    )
    .touched_objects();
    let controller = Controller::for_stream(so_stream, so_store)
        .owns_stream(hpas)
        .with_config(ControllerConfig::default().concurrency(opts.max_concurrent_reconciles))
        .trigger_backoff(crate::retry::WatchBackoff::default());
    let store = controller.store();
    let ctx = Arc::new(Context {
        client: client.clone(),
        writer: crate::write::Writer::new(
            client.clone(),
            leadership.clone(),
            opts.config.field_manager.clone(),
            Events::new(
                opts.events_client.clone().unwrap_or_else(|| client.clone()),
                opts.instance.clone(),
            )
            .led_by(leadership.clone()),
        ),
        metrics,
        scalers: prescale_scalers::Context {
            default_timeout: opts.default_timeout,
            clock: opts.clock.clone(),
            ..prescale_scalers::Context::default()
        },
        metric_store: handles.metric_store.clone(),
        leader: leadership.clone(),
        pollers: Pollers::default(),
        scaled_objects: store.clone(),
        targets,
        hpas: caches.hpas.clone(),
        caches: caches.clone(),
        dependencies: Default::default(),
        config: opts.config.clone(),
        startups: Default::default(),
        retries: Default::default(),
        poll_env: Default::default(),
    });
    let controller = watches::watch_dependencies(controller, &client, &opts, &ctx, writers);
    let controller = if leadership.sharded() {
        // a gained shard re-queues its own objects (the others skipped them); a lost one
        // needs no reconcile (`follow_shards` stops its loops)
        controller.reconcile_on(shards::gained_objects(leadership.clone(), store.clone()))
    } else {
        // becoming leader reconciles everything again (followers skipped their writes)
        let leader_changes = futures::stream::unfold(leadership.clone(), |mut l| async move {
            l.changed().await.then_some(((), l))
        });
        controller.reconcile_all_on(leader_changes)
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop_on = shutdown.clone();
    tokio::spawn(async move {
        stop_on.wait().await;
        let _ = stop_tx.send(());
    });
    let died = Arc::new(std::sync::Mutex::new(None::<String>));
    let died_w = died.clone();
    let controller = controller.graceful_shutdown_on(async move {
        tokio::select! {
            _ = stop_rx => {}
            // a sender dropped without a message (no election, or it ended at shutdown)
            // is not a death: wait for the shutdown signal then
            Ok(why) = elector_died => {
                *died_w.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
            }
        }
    });

    // whether this replica writes, for the admin /metrics; with --shards, a shard given up
    // stops its objects' poll loops at once (their writes are gated already)
    tokio::spawn(shards::follow(leadership.clone(), ctx.clone()));

    // ScaledObjects by condition, for the admin /metrics
    let gauge_store = store.clone();
    let gauge_metrics = ctx.metrics.clone();
    let gauges = tokio::spawn(async move {
        loop {
            crate::telemetry::metrics::count_conditions(
                &gauge_metrics,
                gauge_store.state().iter().map(|so| so.status.clone()),
            );
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    });

    let cert_writer = opts.config.serving_cert.clone().and_then(|cfg| {
        let m = cfg.manage.clone()?;
        let every = crate::write::serving_cert::check_interval(&m);
        Some(tokio::spawn(crate::write::serving_cert::run(
            ctx.writer.clone(),
            cfg,
            m,
            every,
        )))
    });

    let api_server = opts.metrics_api.map(|m| {
        tokio::spawn(serve::metrics_api(
            client.clone(),
            m,
            ctx.clone(),
            handles.readiness.clone(),
            shutdown.clone(),
        ))
    });

    let scaled_jobs = crate::jobs::controller::start(
        client.clone(),
        api(&client, &opts.watch_namespace),
        ctx.writer.clone(),
        ctx.scalers.clone(),
        ctx.caches.clone(),
        opts.config.cluster_object_namespace.clone(),
        shutdown.clone(),
    );

    let readiness = handles.readiness.clone();
    let ready_store = store.clone();
    let ready_shutdown = shutdown.clone();
    tokio::spawn(async move {
        // asked again every second: a waiter that queued behind the controller's own wait was
        // seen to miss the wake-up, while a fresh call after the sync returns at once
        loop {
            match tokio::time::timeout(Duration::from_secs(1), ready_store.wait_until_ready()).await
            {
                Ok(Ok(())) => {
                    if !ready_shutdown.is_shutting_down() {
                        readiness.set(true);
                        tracing::info!("caches synced: ready");
                    }
                    return;
                }
                Ok(Err(_)) => return,
                Err(_) if ready_shutdown.is_shutting_down() => return,
                Err(_) => {}
            }
        }
    });
    let drop_ready = handles.readiness.clone();
    let stop_shutdown = shutdown.clone();
    tokio::spawn(async move {
        stop_shutdown.wait().await;
        drop_ready.set(false);
    });

    let controller_busy = shutdown.busy("controller (in-flight reconciles and their writes)");
    let drained = controller
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        });
    tokio::select! {
        () = drained => {}
        () = stopped_before_sync(shutdown.clone(), store.clone()) => {}
    }
    drop(controller_busy);

    handles.readiness.set(false);
    ctx.pollers.stop_all();
    gauges.abort();
    if let Some(t) = cert_writer {
        t.abort();
    }
    scaled_jobs.abort();
    if let Some(server) = api_server {
        server.await??;
    }
    if let Some(why) = died.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(anyhow::anyhow!(why));
    }
    if let Some(task) = elector_task {
        // the elector releases the lease on shutdown before it returns
        let _busy = shutdown.busy("lease release");
        let _ = task.await;
    }
    Ok(())
}

/// Resolves when shutdown begins before the ScaledObject cache ever synced. kube's controller
/// starts no reconcile before that sync, and its graceful shutdown then never ends (the runner
/// keeps waiting for the sync), so there is nothing to drain: stop waiting for it.
async fn stopped_before_sync(
    shutdown: Shutdown,
    store: kube::runtime::reflector::Store<ScaledObject>,
) {
    shutdown.wait().await;
    let synced = tokio::time::timeout(Duration::ZERO, store.wait_until_ready()).await;
    if !matches!(synced, Ok(Ok(()))) {
        tracing::debug!("shutdown before the caches synced: no reconcile to drain");
        return;
    }
    std::future::pending().await
}
