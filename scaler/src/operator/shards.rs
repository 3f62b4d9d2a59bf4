//! `--shards` in the running operator: which election runs, the objects a gained shard
//! re-queues, and the gauges
//! and poll loops that follow the held shards.

use super::{Handles, OperatorOptions};
use crate::api::ScaledObject;
use crate::context::Context;
use crate::leader::{Elector, Leadership, ShardConfig, ShardManager};
use crate::shutdown::Shutdown;
use futures::StreamExt;
use kube::Client;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use std::sync::Arc;

/// The ScaledObjects of each shard this replica gains, as it gains it.
pub(super) fn gained_objects(
    leadership: Leadership,
    store: kube::runtime::reflector::Store<ScaledObject>,
) -> impl futures::Stream<Item = ObjectRef<ScaledObject>> + Send + 'static {
    let before = crate::leader::Held::none(leadership.held().shards());
    futures::stream::unfold((leadership, before), move |(mut l, before)| {
        let store = store.clone();
        async move {
            if !l.changed().await {
                return None;
            }
            let now = l.held();
            let gained: Vec<u32> = now.iter().filter(|s| !before.holds(*s)).collect();
            let objects: Vec<ObjectRef<ScaledObject>> = if gained.is_empty() {
                Vec::new()
            } else {
                store
                    .state()
                    .iter()
                    .filter(|so| {
                        let ns = so.namespace().unwrap_or_default();
                        gained.contains(&l.shard_of(&ns, &so.name_any()))
                    })
                    .map(|so| ObjectRef::from_obj(&**so))
                    .collect()
            };
            Some((futures::stream::iter(objects), (l, now)))
        }
    })
    .flatten()
}

/// Keeps the leader and shard gauges, and stops the poll loops (and drops the values) of
/// objects whose shard this replica no longer holds.
pub(super) async fn follow(mut leadership: Leadership, ctx: Arc<Context>) {
    loop {
        let held = leadership.held();
        ctx.metrics.leader.set(i64::from(leadership.is_leader()));
        ctx.metrics.shards_held.set(held.count() as i64);
        if leadership.sharded() {
            let l = leadership.clone();
            for (ns, name) in ctx.pollers.stop_unless(|ns, name| l.holds_object(ns, name)) {
                ctx.forget_served(&ns, &name);
            }
        }
        if !leadership.changed().await {
            ctx.metrics.leader.set(i64::from(leadership.is_leader()));
            ctx.metrics
                .shards_held
                .set(leadership.held().count() as i64);
            break;
        }
    }
}

/// The election this replica runs: shard Leases (`--shards` > 1), the leader Lease, or none
/// (`handles.leadership`, always leader); with the task that runs it.
pub(super) fn elect(
    client: &Client,
    opts: &OperatorOptions,
    handles: &Handles,
    shutdown: &Shutdown,
) -> anyhow::Result<(Leadership, Option<tokio::task::JoinHandle<()>>)> {
    let sharding = &opts.config.sharding;
    Ok(match opts.lease.clone() {
        Some(lease) if sharding.shards > 1 => {
            let (manager, leadership) = ShardManager::new(
                client.clone(),
                ShardConfig {
                    namespace: lease.namespace,
                    identity: lease.identity,
                    shards: sharding.shards,
                    lease_duration: lease.lease_duration,
                    renew_interval: lease.renew_interval,
                    address: sharding.advertise_address.clone(),
                },
            );
            let task = tokio::spawn(manager.run(shutdown.clone().wait()));
            (leadership, Some(task))
        }
        Some(lease) => {
            let (elector, leadership) = Elector::new(client.clone(), lease);
            let task = tokio::spawn(elector.run(shutdown.clone().wait()));
            (leadership, Some(task))
        }
        None if sharding.shards > 1 => {
            anyhow::bail!(
                "--shards {} needs leader election (the shard Leases)",
                sharding.shards
            )
        }
        None => (handles.leadership.clone(), None),
    })
}
