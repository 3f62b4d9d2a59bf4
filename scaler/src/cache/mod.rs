//! Informer caches (kube-runtime reflectors), one per kind and shared by the controller, the
//! trigger resolution and every poll loop: scale targets (Deployments, StatefulSets), HPAs,
//! Secrets, ConfigMaps and (Cluster)TriggerAuthentications. Each cache is fed by the same watch
//! that re-reconciles the ScaledObjects using its objects (`operator.rs` hands the reflected
//! stream to the controller), so there is one watch per kind and no read per reconcile or poll.
//!
//! A lookup that misses (the cache has not synced yet, or the object is not in it) falls back
//! to a GET by the caller: a cache only ever saves requests, it never turns a present object
//! into a missing one.
//!
//! Memory: a reflector holds every object of its kind in the watched namespaces. Secrets are
//! the large ones: Helm release Secrets (often 100 kB and more each) and service account tokens
//! are left out by a field selector on `type` (a ScaledObject referencing one is read by a GET),
//! and `managedFields` and the last-applied annotation are dropped from every cached object. The
//! alternative, a watch per referenced Secret, costs one watch connection per Secret, which
//! at 10,000 ScaledObjects is worse for the apiserver than the memory; `--watch-namespace`
//! narrows every cache to one namespace.

pub mod target_index;
pub mod workload;

pub use workload::Workload;

use crate::api::{ClusterTriggerAuthentication, TriggerAuthentication};
use futures::{FutureExt, Stream, TryStreamExt};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// Secret types never cached (large, and never the credentials of a trigger).
pub const SECRET_FIELD_SELECTOR: &str =
    "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token";

/// The annotation `kubectl apply` keeps a whole copy of the object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Whether a cache has listed its objects once (a non-blocking check).
pub fn synced<K>(store: &Store<K>) -> bool
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    matches!(store.wait_until_ready().now_or_never(), Some(Ok(())))
}

/// `namespace/name` of kind `K` from the cache, when it has synced and holds it.
pub fn get<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    if !synced(store) {
        return None;
    }
    let key = if namespace.is_empty() {
        ObjectRef::new(name)
    } else {
        ObjectRef::new(name).within(namespace)
    };
    store.get(&key)
}

/// Drops what no reader needs from a cached object.
pub fn slim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

/// What the readers of a cached kind need of it: [`slim`] for every kind, and per kind the
/// fields no reader looks at are dropped before the object is stored.
pub trait Cached: Resource + Sized {
    /// Drops from `self` what no reader needs (default: [`slim`] only).
    fn keep_needed(&mut self) {
        slim(self);
    }
}

impl Cached for Secret {}
impl Cached for ConfigMap {}
impl Cached for TriggerAuthentication {}
impl Cached for ClusterTriggerAuthentication {}

/// HPAs: compared by spec, labels, annotations and owners before a write (`hpa::matches`),
/// their bounds read by the poll loops, their resourceVersion by the write record; the status
/// (current metrics and conditions, rewritten by the HPA controller every 15 s) is not read.
impl Cached for HorizontalPodAutoscaler {
    fn keep_needed(&mut self) {
        slim(self);
        self.status = None;
    }
}

/// The watch of `api` feeding `writer`'s cache; yields every object it changed or deleted (the
/// controller maps them to the ScaledObjects to reconcile).
pub fn reflect<K>(
    writer: reflector::store::Writer<K>,
    api: Api<K>,
    config: watcher::Config,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Cached + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    reflect_with(writer, api, config, |mut o: K| {
        o.keep_needed();
        o
    })
}

/// The watch of `api` feeding a cache of the compact form `C` of its objects (targets are
/// cached as [`Workload`]s); yields every compact object it changed or deleted.
pub fn reflect_as<K, C>(
    writer: reflector::store::Writer<C>,
    api: Api<K>,
    config: watcher::Config,
) -> impl Stream<Item = Result<C, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
    C: Resource + From<K> + Clone + Debug + Send + Sync + 'static,
    C::DynamicType: Eq + Hash + Clone + Default,
{
    reflect_with(writer, api, config, C::from)
}

/// The watch of `api`, each object turned into what the cache keeps by `keep`.
fn reflect_with<K, C>(
    writer: reflector::store::Writer<C>,
    api: Api<K>,
    config: watcher::Config,
    keep: fn(K) -> C,
) -> impl Stream<Item = Result<C, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
    C: Resource + Clone + Debug + Send + Sync + 'static,
    C::DynamicType: Eq + Hash + Clone + Default,
{
    let kept = move |e: watcher::Event<K>| match e {
        watcher::Event::Apply(o) => watcher::Event::Apply(keep(o)),
        watcher::Event::Delete(o) => watcher::Event::Delete(keep(o)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(o) => watcher::Event::InitApply(keep(o)),
        watcher::Event::InitDone => watcher::Event::InitDone,
    };
    let events = watcher::watcher(api, config).default_backoff().map_ok(kept);
    reflector::reflector(writer, events).touched_objects()
}

/// The shared caches (cheap to clone: each is a handle on one reflector store).
#[derive(Clone)]
pub struct Caches {
    pub deployments: Store<Workload>,
    pub statefulsets: Store<Workload>,
    pub hpas: Store<HorizontalPodAutoscaler>,
    pub secrets: Store<Secret>,
    pub config_maps: Store<ConfigMap>,
    pub trigger_authentications: Store<TriggerAuthentication>,
    pub cluster_trigger_authentications: Store<ClusterTriggerAuthentication>,
}

/// The writing ends of [`Caches`] (the HPAs' apart), consumed by [`reflect`] when the watches
/// start.
pub struct Writers {
    pub deployments: reflector::store::Writer<Workload>,
    pub statefulsets: reflector::store::Writer<Workload>,
    pub secrets: reflector::store::Writer<Secret>,
    pub config_maps: reflector::store::Writer<ConfigMap>,
    pub trigger_authentications: reflector::store::Writer<TriggerAuthentication>,
    pub cluster_trigger_authentications: reflector::store::Writer<ClusterTriggerAuthentication>,
}

impl Caches {
    /// Empty caches and their writers.
    pub fn new() -> (
        Self,
        reflector::store::Writer<HorizontalPodAutoscaler>,
        Writers,
    ) {
        let (deployments, wd) = reflector::store();
        let (statefulsets, ws) = reflector::store();
        let (hpas, wh) = reflector::store();
        let (secrets, wsec) = reflector::store();
        let (config_maps, wc) = reflector::store();
        let (trigger_authentications, wt) = reflector::store();
        let (cluster_trigger_authentications, wct) = reflector::store();
        (
            Self {
                deployments,
                statefulsets,
                hpas,
                secrets,
                config_maps,
                trigger_authentications,
                cluster_trigger_authentications,
            },
            wh,
            Writers {
                deployments: wd,
                statefulsets: ws,
                secrets: wsec,
                config_maps: wc,
                trigger_authentications: wt,
                cluster_trigger_authentications: wct,
            },
        )
    }

    /// Waits (at most `limit`) until the caches trigger resolution reads (Secrets, ConfigMaps,
    /// TriggerAuthentications, ClusterTriggerAuthentications) have listed once; false on timeout.
    pub async fn wait_resolve_synced(&self, limit: std::time::Duration) -> bool {
        let all = async {
            let _ = futures::join!(
                self.secrets.wait_until_ready(),
                self.config_maps.wait_until_ready(),
                self.trigger_authentications.wait_until_ready(),
                self.cluster_trigger_authentications.wait_until_ready(),
            );
        };
        tokio::time::timeout(limit, all).await.is_ok()
    }

    /// `spec.replicas` of an `apps/v1` Deployment or StatefulSet from the cache (what its
    /// `/scale` says: the API defaults an unset count to 1); None for other kinds or a miss.
    pub fn replicas(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<i32> {
        match (group, kind) {
            ("apps", "Deployment") => get(&self.deployments, namespace, name).map(|d| d.replicas()),
            ("apps", "StatefulSet") => {
                get(&self.statefulsets, namespace, name).map(|s| s.replicas())
            }
            _ => None,
        }
    }

    /// `spec.template` of an `apps/v1` Deployment or StatefulSet from the cache.
    pub fn pod_template(
        &self,
        group: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<PodTemplateSpec> {
        match (group, kind) {
            ("apps", "Deployment") => {
                get(&self.deployments, namespace, name).map(|d| d.pod_template())
            }
            ("apps", "StatefulSet") => {
                get(&self.statefulsets, namespace, name).map(|s| s.pod_template())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn slim_drops_managed_fields_and_last_applied_only() {
        let mut s = Secret {
            metadata: ObjectMeta {
                name: Some("pw".into()),
                annotations: Some(
                    [
                        (LAST_APPLIED.to_string(), "{...}".to_string()),
                        ("keep".to_string(), "me".to_string()),
                    ]
                    .into(),
                ),
                managed_fields: Some(vec![Default::default()]),
                ..Default::default()
            },
            ..Default::default()
        };
        slim(&mut s);
        assert!(s.metadata.managed_fields.is_none());
        let a = s.metadata.annotations.unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a["keep"], "me");
    }

    #[tokio::test]
    async fn get_misses_before_the_first_list_and_finds_after() {
        let (store, mut writer) = reflector::store::<Secret>();
        let s = Secret {
            metadata: ObjectMeta {
                name: Some("pw".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(!synced(&store));
        assert!(get(&store, "ns", "pw").is_none());
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitApply(s));
        writer.apply_watcher_event(&watcher::Event::InitDone);
        assert!(synced(&store));
        assert!(get(&store, "ns", "pw").is_some());
        assert!(get(&store, "ns", "other").is_none());
        assert!(get(&store, "other", "pw").is_none());
    }
}
