//! The stand-in through the real kube::Client: CRUD with resourceVersion conflicts, status and
//! scale subresources, patches (merge, JSON, apply), finalizers, garbage collection, watches
//! that resume and relist, discovery, fault injection.

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use prescale_kube_standin::ApiServer;
use serde_json::json;
use std::time::Duration;

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    }))
    .unwrap()
}

#[tokio::test]
async fn crud_conflicts_generation_and_selectors() {
    let api = ApiServer::new();
    let deps: Api<Deployment> = Api::namespaced(api.client(), "default");
    let created = deps
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    let e = deps
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap_err();
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 409), "{e}");

    let mut stale = created.clone();
    let mut fresh = deps.get("web").await.unwrap();
    fresh.spec.replicas = Some(3);
    let updated = deps
        .replace("web", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(
        updated.metadata.generation,
        Some(2),
        "spec change bumps generation"
    );
    stale.spec.replicas = Some(9);
    let e = deps
        .replace("web", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{e}"
    );

    let labels = json!({"metadata": {"labels": {"tier": "front"}}});
    let patched = deps
        .patch("web", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap();
    assert_eq!(
        patched.metadata.generation,
        Some(2),
        "metadata change keeps generation"
    );
    deps.create(&PostParams::default(), &deployment("api", 1))
        .await
        .unwrap();
    let front = deps
        .list(&ListParams::default().labels("tier=front"))
        .await
        .unwrap();
    assert_eq!(front.items.len(), 1);
    let not_front = deps
        .list(&ListParams::default().labels("tier!=front"))
        .await
        .unwrap();
    assert_eq!(not_front.items[0].metadata.name.as_deref(), Some("api"));
    let by_name = deps
        .list(&ListParams::default().fields("metadata.name=api"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    assert!(
        matches!(deps.get("nope").await.unwrap_err(), kube::Error::Api(ref s) if s.code == 404)
    );
}

#[tokio::test]
async fn status_and_scale_subresources() {
    let api = ApiServer::new();
    let deps: Api<Deployment> = Api::namespaced(api.client(), "default");
    deps.create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    let scale = deps.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    deps.patch_scale(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap();
    let d = deps.get("web").await.unwrap();
    assert_eq!(d.spec.replicas, Some(5));
    assert_eq!(
        d.status.unwrap().ready_replicas,
        Some(5),
        "the workload controller stand-in follows spec"
    );
    // status writes touch status only; main writes ignore status
    deps.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"observedGeneration": 7}, "spec": {"replicas": 1}})),
    )
    .await
    .unwrap();
    let d = deps.get("web").await.unwrap();
    assert_eq!(
        (
            d.spec.replicas,
            d.status.as_ref().unwrap().observed_generation
        ),
        (Some(5), Some(7))
    );
    deps.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"observedGeneration": 1}})),
    )
    .await
    .unwrap();
    assert_eq!(
        deps.get("web")
            .await
            .unwrap()
            .status
            .unwrap()
            .observed_generation,
        Some(7)
    );
}

#[tokio::test]
async fn server_side_apply_removes_fields_the_manager_dropped() {
    let api = ApiServer::new();
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "default");
    let pp = PatchParams::apply("prescale").force();
    let v1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    cms.patch("c", &pp, &Patch::Apply(&v1)).await.unwrap();
    // someone else adds a key; the manager's next apply drops "b" but keeps the foreign key
    cms.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"other": "x"}})),
    )
    .await
    .unwrap();
    let v2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "3"}});
    let c = cms.patch("c", &pp, &Patch::Apply(&v2)).await.unwrap();
    let data = c.data.unwrap();
    assert_eq!(data.get("a").map(String::as_str), Some("3"));
    assert!(!data.contains_key("b"));
    assert_eq!(data.get("other").map(String::as_str), Some("x"));
    let rv = c.metadata.resource_version.clone();
    let again = cms.patch("c", &pp, &Patch::Apply(&v2)).await.unwrap();
    assert_eq!(
        again.metadata.resource_version, rv,
        "an unchanged apply writes nothing"
    );
}

#[tokio::test]
async fn finalizers_and_owner_garbage_collection() {
    let api = ApiServer::new();
    let client = api.client();
    let deps: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut owner = deployment("owner", 1);
    owner.metadata.finalizers = Some(vec!["example.com/cleanup".into()]);
    let owner = deps.create(&PostParams::default(), &owner).await.unwrap();
    let owned = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner", "uid": owner.metadata.uid, "controller": true}]}});
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(owned).unwrap(),
    )
    .await
    .unwrap();
    deps.delete("owner", &DeleteParams::default())
        .await
        .unwrap();
    let d = deps.get("owner").await.unwrap();
    assert!(
        d.metadata.deletion_timestamp.is_some(),
        "kept while a finalizer remains"
    );
    assert!(cms.get("owned").await.is_ok());
    let remove = json!([{"op": "test", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]}, {"op": "remove", "path": "/metadata/finalizers/0"}]);
    deps.patch(
        "owner",
        &PatchParams::default(),
        &Patch::<()>::Json(serde_json::from_value(remove).unwrap()),
    )
    .await
    .unwrap();
    assert!(deps.get_opt("owner").await.unwrap().is_none());
    assert!(
        cms.get_opt("owned").await.unwrap().is_none(),
        "owned objects are collected"
    );
}

#[tokio::test]
async fn watchers_see_changes_resume_and_relist_after_compaction() {
    let api = ApiServer::new();
    let cms: Api<ConfigMap> = Api::namespaced(api.client(), "default");
    let mut events = watcher(cms.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "a"}})).unwrap(),
    )
    .await
    .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("a"));
    api.compact();
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.data.unwrap().get("k").map(String::as_str), Some("v"));
    // a watch from a version older than the log gets 410 and kube's watcher relists
    let mut raw = cms
        .watch(&kube::api::WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    let ev = tokio::time::timeout(Duration::from_secs(5), raw.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(ev, kube::api::WatchEvent::Error(ref e) if e.code == 410),
        "{ev:?}"
    );
}

#[tokio::test]
async fn discovery_custom_scalable_kinds_and_faults() {
    let api = ApiServer::new();
    api.register(prescale_kube_standin::resources::custom_scalable(
        "example.com",
        "v1",
        "Worker",
        "workers",
    ));
    let client = api.client();
    let gvk = kube::core::GroupVersionKind::gvk("example.com", "v1", "Worker");
    let (ar, caps) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
    assert_eq!(ar.plural, "workers");
    assert!(
        caps.subresources
            .iter()
            .any(|(r, _)| r.plural == "workers/scale" || r.plural == "scale"),
        "{:?}",
        caps.subresources
    );
    api.put(json!({"apiVersion": "example.com/v1", "kind": "Worker", "metadata": {"name": "w", "namespace": "default"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}}}}));
    let workers: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &ar);
    assert_eq!(
        workers.get_scale("w").await.unwrap().spec.unwrap().replicas,
        Some(2)
    );
    api.fail_next("workers", 1);
    assert!(workers.get("w").await.is_err());
    assert!(workers.get("w").await.is_ok());
    assert_eq!(api.requests("get", "workers", "scale"), 1);
}

#[tokio::test]
async fn an_api_service_is_proxied_to_its_backend() {
    let api = ApiServer::new();
    let backend = |req: http::Request<bytes::Bytes>| -> futures::future::BoxFuture<'static, http::Response<bytes::Bytes>> {
        let body = format!(
            "{{\"path\": \"{}\", \"query\": \"{}\"}}",
            req.uri().path(),
            req.uri().query().unwrap_or_default()
        );
        Box::pin(async move {
            http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(bytes::Bytes::from(body))
                .unwrap()
        })
    };
    api.register_api_service(
        "external.metrics.k8s.io",
        "v1beta1",
        std::sync::Arc::new(backend),
    );
    let client = api.client();
    let req = http::Request::get(
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/s0-redis-jobs?labelSelector=a%3Db",
    )
    .body(Vec::new())
    .unwrap();
    let answer: serde_json::Value = client.request(req).await.unwrap();
    assert_eq!(
        answer["path"],
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/s0-redis-jobs"
    );
    assert_eq!(answer["query"], "labelSelector=a%3Db");
    // other groups stay with the API server
    let other = http::Request::get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/x/m")
        .body(Vec::new())
        .unwrap();
    let e = client
        .request::<serde_json::Value>(other)
        .await
        .unwrap_err();
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 404), "{e}");
}
