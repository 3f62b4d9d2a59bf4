//! The ScaledJob loop: a watch keeps every ScaledJob in a local cache; each one is polled
//! every `pollingInterval` (a spec change is picked up at once). Jobs are owned by their
//! ScaledJob, so deleting the ScaledJob deletes its Jobs through garbage collection.

use super::poll::{Deps, State, poll};
use crate::api::ScaledJob;
use crate::shutdown::Shutdown;
use futures::StreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How often the loop looks for ScaledJobs that are due.
const TICK: Duration = Duration::from_millis(250);

/// How long the loop waits for the caches trigger resolution reads before its first poll.
const RESOLVE_SYNC_WAIT: Duration = Duration::from_secs(30);

struct Entry {
    state: State,
    next: Instant,
    generation: Option<i64>,
}

/// Polls every ScaledJob in `api` until `shutdown`.
pub async fn run(api: Api<ScaledJob>, deps: Deps, shutdown: Shutdown) {
    let (store, writer) = reflector::store::<ScaledJob>();
    let watch = tokio::spawn(
        reflector::reflector(
            writer,
            watcher::watcher(api, watcher::Config::default()).default_backoff(),
        )
        .for_each(|_| async {}),
    );
    let stop = shutdown.clone();
    tokio::select! {
        _ = stop.wait() => {}
        _ = poll_forever(store, &deps) => {}
    }
    watch.abort();
}

/// Every tick, the ScaledJobs that are due (interval passed or spec changed) are polled, all
/// at once: a slow source of one ScaledJob does not hold up the others.
async fn poll_forever(store: Store<ScaledJob>, deps: &Deps) {
    let _ = store.wait_until_ready().await;
    if let Some(c) = &deps.caches {
        // the first check reads Secrets and TriggerAuthentications from the caches, not by GETs;
        // a cache that cannot sync (e.g. no RBAC) only delays the start: lookups then fall back
        if !c.wait_resolve_synced(RESOLVE_SYNC_WAIT).await {
            tracing::warn!(
                "ScaledJobs start before the Secret/ConfigMap/TriggerAuthentication caches synced: their triggers are resolved by GETs until then"
            );
        }
    }
    let mut entries: HashMap<ObjectRef<ScaledJob>, Entry> = HashMap::new();
    loop {
        let all = store.state();
        entries.retain(|k, _| all.iter().any(|sj| ObjectRef::from_obj(&**sj) == *k));
        let mut due = HashMap::new();
        for sj in all {
            if sj.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let key = ObjectRef::from_obj(&*sj);
            let e = entries.entry(key.clone()).or_insert_with(|| Entry {
                state: State::default(),
                next: Instant::now(),
                generation: None,
            });
            let changed = e.generation != sj.metadata.generation;
            if !changed && Instant::now() < e.next {
                continue;
            }
            e.generation = sj.metadata.generation;
            let interval = sj.spec.polling_interval().max(1) as u64;
            e.next = Instant::now() + Duration::from_secs(interval);
            if deps.writer.leads() {
                due.insert(key, sj);
            }
        }
        let polls = entries.iter_mut().filter_map(|(k, e)| {
            let sj = due.get(k)?;
            tracing::debug!(scaledjob = %sj.name_any(), "polling ScaledJob");
            Some(poll(deps, sj, &mut e.state))
        });
        futures::future::join_all(polls).await;
        tokio::time::sleep(TICK).await;
    }
}

/// Starts the ScaledJob loop for the operator (writes and Events only while `writer` leads);
/// triggers are resolved from the operator's `caches` (a miss falls back to a GET).
pub fn start(
    client: kube::Client,
    api: Api<ScaledJob>,
    writer: crate::write::Writer,
    scalers: prescale_scalers::Context,
    caches: crate::cache::Caches,
    cluster_ns: String,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    let deps = Deps {
        writer,
        client,
        scalers,
        caches: Some(caches),
        cluster_ns,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    tokio::spawn(run(api, deps, shutdown))
}
