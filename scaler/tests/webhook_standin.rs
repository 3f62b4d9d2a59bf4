//! The admission webhook through the API stand-in, as a cluster runs it: install's
//! ValidatingWebhookConfiguration stored in the stand-in, which calls the webhook over HTTPS on
//! writes made with the real kube client (ScaledObjects, ScaledJobs, TriggerAuthentications);
//! install's namespace selector; an unreachable webhook under `failurePolicy: Fail`;
//! `prescale uninstall` removing the configuration so finalizers still come off.

mod support;

use prescale::webhook::FailurePolicy;
use prescale_kube_standin::ApiServer;
use serde_json::json;
use support::deployment;
use support::webhook::{cluster, redis, sj, so, start, start_with};

/// The API error of a write the apiserver refused.
fn refused<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(e)) => *e,
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apiserver_calls_the_webhook_of_installs_configuration_on_writes() {
    use kube::api::{Api, Patch, PatchParams, PostParams};
    use prescale::api::{ScaledJob, ScaledObject, TriggerAuthentication};
    let api = ApiServer::new();
    cluster(&api);
    let hook = start(&api, FailurePolicy::Fail).await;
    api.put(hook.config.clone());
    api.register_endpoint("prescale", "prescale-metrics-apiserver", 9443, hook.addr);
    let sos: Api<ScaledObject> = Api::namespaced(api.client(), "shop");
    let pp = PostParams::default();

    let web: ScaledObject = serde_json::from_value(so("web", "web", redis())).unwrap();
    sos.create(&pp, &web).await.unwrap();

    let second: ScaledObject = serde_json::from_value(so("second", "api", redis())).unwrap();
    let e = refused(sos.create(&pp, &second).await);
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "admission webhook \"vscaledobject.prescale.keda.sh\" denied the request: spec.scaleTargetRef: the workload 'api' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'"
    );
    assert!(
        support::scaled_object(&api, "shop", "second").is_none(),
        "not stored"
    );

    // a patch is checked as the object it would make; the status subresource is not admitted
    let bad = json!({"spec": {"minReplicaCount": 9, "maxReplicaCount": 3}});
    let e = refused(
        sos.patch("web", &PatchParams::default(), &Patch::Merge(&bad))
            .await,
    );
    assert!(
        e.message
            .contains("MinReplicaCount=9 must be less than MaxReplicaCount=3"),
        "{}",
        e.message
    );
    let status = json!({"status": {"originalReplicaCount": 2}});
    sos.patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let fine = json!({"spec": {"maxReplicaCount": 30}});
    sos.patch("web", &PatchParams::default(), &Patch::Merge(&fine))
        .await
        .unwrap();

    let tas: Api<TriggerAuthentication> = Api::namespaced(api.client(), "shop");
    let ta: TriggerAuthentication = serde_json::from_value(
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": {"name": "auth", "namespace": "shop"},
        "spec": {"oauth2": {"type": "clientCredentials", "tokenUrl": "https://auth/token"}}}),
    )
    .unwrap();
    let e = refused(tas.create(&pp, &ta).await);
    assert!(
        e.message
            .contains("oauth2.clientId is required when oauth2 is configured"),
        "{}",
        e.message
    );

    // ScaledJobs: install's configuration sends them to the webhook too
    let sjs: Api<ScaledJob> = Api::namespaced(api.client(), "shop");
    let work: ScaledJob = serde_json::from_value(sj("work", redis())).unwrap();
    sjs.create(&pp, &work).await.unwrap();
    let empty: ScaledJob = serde_json::from_value(sj("empty", json!([]))).unwrap();
    let e = refused(sjs.create(&pp, &empty).await);
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "admission webhook \"vscaledjob.prescale.keda.sh\" denied the request: spec.triggers: no triggers defined in the ScaledObject/ScaledJob"
    );
    assert!(
        api.get("keda.sh/v1alpha1", "ScaledJob", "shop", "empty")
            .is_none(),
        "not stored"
    );
    let cached = json!({"spec": {"triggers": [{"type": "cron", "useCachedMetrics": true,
        "metadata": {"timezone": "UTC", "start": "0 6 * * *", "end": "0 20 * * *", "desiredReplicas": "3"}}]}});
    let e = refused(
        sjs.patch("work", &PatchParams::default(), &Patch::Merge(&cached))
            .await,
    );
    assert_eq!(
        e.message,
        "admission webhook \"vscaledjob.prescale.keda.sh\" denied the request: spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not supported for \"cron\" scaler"
    );
    let fine = json!({"spec": {"maxReplicaCount": 20}});
    let patched = sjs
        .patch("work", &PatchParams::default(), &Patch::Merge(&fine))
        .await
        .unwrap();
    assert_eq!(patched.spec.max_replica_count, Some(20));

    // the webhook unreachable: failurePolicy Fail refuses the write, saying why
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    api.register_endpoint("prescale", "prescale-metrics-apiserver", 9443, closed);
    let other: ScaledObject = serde_json::from_value(so("legacy-free", "web-2", redis())).unwrap();
    let e = refused(sos.create(&pp, &other).await);
    assert_eq!(e.code, 500);
    assert!(
        e.message
            .contains("failed calling webhook \"vscaledobject.prescale.keda.sh\""),
        "{}",
        e.message
    );

    // and uninstall takes the configuration away first, so finalizers still come off
    let mut with_finalizer = so("held", "held", redis());
    with_finalizer["metadata"]["finalizers"] = json!(["finalizer.keda.sh"]);
    api.put(with_finalizer);
    api.put(deployment("prescale", "prescale-operator", 2, json!([])));
    let report = prescale::cli::uninstall::uninstall(&api.client(), "prescale")
        .await
        .unwrap();
    assert!(report.webhook_removed);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        report.released.contains(&"shop/held".to_string()),
        "{:?}",
        report.released
    );
    assert!(
        api.list(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration"
        )
        .is_empty()
    );
    sos.create(&pp, &other).await.unwrap();
}

/// install's `--webhook-namespace-selector` (the chart's `webhook.namespaceSelector`) as the
/// apiserver applies it: objects in a namespace it excludes are not sent to the webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespace_selector_decides_which_namespaces_are_reviewed() {
    use kube::api::{Api, PostParams};
    use prescale::api::ScaledJob;
    use prescale::cli::install_webhook::WebhookArgs;
    let api = ApiServer::new();
    api.put(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"team": "shop"}}}));
    api.put(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "lab", "labels": {"team": "lab", "skip-prescale": "true"}}}));
    let hook = start_with(
        &api,
        WebhookArgs {
            webhook_failure_policy: FailurePolicy::Fail,
            webhook_namespace_selector: "!skip-prescale".into(),
            ..WebhookArgs::default()
        },
    )
    .await;
    api.put(hook.config.clone());
    api.register_endpoint("prescale", "prescale-metrics-apiserver", 9443, hook.addr);
    let pp = PostParams::default();
    let empty = |ns: &str| -> ScaledJob {
        let mut v = sj("empty", json!([]));
        v["metadata"]["namespace"] = json!(ns);
        serde_json::from_value(v).unwrap()
    };
    let shop: Api<ScaledJob> = Api::namespaced(api.client(), "shop");
    let e = refused(shop.create(&pp, &empty("shop")).await);
    assert!(
        e.message
            .ends_with("spec.triggers: no triggers defined in the ScaledObject/ScaledJob"),
        "{}",
        e.message
    );
    // the excluded namespace is not reviewed: the operator reports the ScaledJob instead
    let lab: Api<ScaledJob> = Api::namespaced(api.client(), "lab");
    lab.create(&pp, &empty("lab")).await.unwrap();
}
