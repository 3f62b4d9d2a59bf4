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
use kube::runtime::reflector::ObjectRef;
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
    // a target whose spec (env, replicas) changed re-resolves its users; status-only updates
    // are filtered out by generation
    let (c5, c6) = (ctx.clone(), ctx.clone());
    let (seen_d, seen_s) = (
        Arc::new(SpecChanges::default()),
        Arc::new(SpecChanges::default()),
    );
    controller
        .watches_stream(
            cache::reflect_as(writers.deployments, api::<Deployment>(client, ns), all()),
            move |o: cache::Workload| {
                if deleted(&c5.caches.deployments, &o) {
                    seen_d.forget("Deployment", &o);
                    Vec::new()
                } else if seen_d.changed("Deployment", &o) {
                    users(&c5, "Deployment", o.namespace(), o.name_any())
                } else {
                    Vec::new()
                }
            },
        )
        .watches_stream(
            cache::reflect_as(writers.statefulsets, api::<StatefulSet>(client, ns), all()),
            move |o: cache::Workload| {
                if deleted(&c6.caches.statefulsets, &o) {
                    seen_s.forget("StatefulSet", &o);
                    Vec::new()
                } else if seen_s.changed("StatefulSet", &o) {
                    users(&c6, "StatefulSet", o.namespace(), o.name_any())
                } else {
                    Vec::new()
                }
            },
        )
}

/// Whether the watch event that yielded `o` deleted it: its cache (which the reflector
/// updates before the event is passed on) has synced and no longer holds it.
fn deleted(store: &kube::runtime::reflector::Store<cache::Workload>, o: &cache::Workload) -> bool {
    cache::synced(store) && store.get(&ObjectRef::from_obj(o)).is_none()
}
