//! The watches besides the ScaledObjects': each feeds its informer cache and re-reconciles the
//! ScaledObjects that use the changed TriggerAuthentication, Secret, ConfigMap or target.

use super::{OperatorOptions, api};
use crate::api::{ClusterTriggerAuthentication, ScaledObject, TriggerAuthentication};
use crate::cache;
use crate::context::Context;
use crate::dependencies::SpecChanges;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use std::sync::Arc;

/// The watches (each feeding its cache) that re-reconcile the users of a changed
/// TriggerAuthentication, Secret, ConfigMap or target.
pub(super) fn watch_dependencies(
    controller: Controller<ScaledObject>,
    client: &Client,
    opts: &OperatorOptions,
    ctx: &Arc<Context>,
    writers: cache::Writers,
) -> Controller<ScaledObject> {
    let ns = &opts.watch_namespace;
    let (c1, c2, c3, c4) = (ctx.clone(), ctx.clone(), ctx.clone(), ctx.clone());
    let users = |ctx: &Context,
                 kind: &str,
                 ns: Option<String>,
                 name: String|
     -> Vec<ObjectRef<ScaledObject>> {
        ctx.dependencies
            .users_of(kind, &ns.unwrap_or_default(), &name)
    };
    let all = watcher::Config::default;
    let secrets = all().fields(cache::SECRET_FIELD_SELECTOR);
    let controller = controller
        .watches_stream(
            cache::reflect(writers.trigger_authentications, api(client, ns), all()),
            move |o: TriggerAuthentication| {
                users(&c1, "TriggerAuthentication", o.namespace(), o.name_any())
            },
        )
        .watches_stream(
            cache::reflect(
                writers.cluster_trigger_authentications,
                Api::all(client.clone()),
                all(),
            ),
            move |o: ClusterTriggerAuthentication| {
                users(&c2, "ClusterTriggerAuthentication", None, o.name_any())
            },
        )
        .watches_stream(
            cache::reflect(writers.secrets, api(client, ns), secrets),
            move |o: Secret| users(&c3, "Secret", o.namespace(), o.name_any()),
        )
        .watches_stream(
            cache::reflect(writers.config_maps, api(client, ns), all()),
            move |o: ConfigMap| users(&c4, "ConfigMap", o.namespace(), o.name_any()),
        );
    controller
        .watches_stream(
            cache::reflect_as(writers.deployments, api::<Deployment>(client, ns), all()),
            target_users(ctx.clone(), "Deployment", ctx.caches.deployments.clone()),
        )
        .watches_stream(
            cache::reflect_as(writers.statefulsets, api::<StatefulSet>(client, ns), all()),
            target_users(ctx.clone(), "StatefulSet", ctx.caches.statefulsets.clone()),
        )
}

/// The ScaledObjects to reconcile for a watch event of a `kind` target: those using it when
/// its spec (env, replicas) changed; status-only updates are filtered out by generation, and a
/// deleted target is forgotten.
fn target_users(
    ctx: Arc<Context>,
    kind: &'static str,
    store: Store<cache::Workload>,
) -> impl Fn(cache::Workload) -> Vec<ObjectRef<ScaledObject>> {
    let seen = SpecChanges::default();
    move |o: cache::Workload| {
        if deleted(&store, &o) {
            seen.forget(&o);
            Vec::new()
        } else if seen.changed(&o) {
            ctx.dependencies
                .users_of(kind, &o.namespace().unwrap_or_default(), &o.name_any())
        } else {
            Vec::new()
        }
    }
}

/// Whether the watch event that yielded `o` deleted it: its cache (which the reflector
/// updates before the event is passed on) has synced and no longer holds it.
fn deleted(store: &Store<cache::Workload>, o: &cache::Workload) -> bool {
    cache::synced(store) && store.get(&ObjectRef::from_obj(o)).is_none()
}
