//! Removing Prescale cleanly: `prescale uninstall` stops the operator, restores the targets
//! that ask for it and takes the finalizer off every ScaledObject, so deleting them (or their
//! namespace) never waits for an operator that is gone; and while the operator runs, a
//! ScaledObject whose target was deleted first (as a namespace deletion does) is still let go.

mod support;

use prescale_kube_standin::ApiServer;
use serde_json::json;
use support::*;

fn scaled_object(name: &str, restore: bool) -> serde_json::Value {
    json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "shop", "finalizers": ["finalizer.keda.sh"]},
        "spec": {"scaleTargetRef": {"name": name}, "advanced": {"restoreToOriginalReplicaCount": restore},
                 "triggers": [{"type": "cron", "metadata": {"timezone": "UTC", "start": "0 8 * * *", "end": "0 9 * * *", "desiredReplicas": "4"}}]},
        "status": {"originalReplicaCount": 3, "scaleTargetGVKR": {"group": "apps", "version": "v1", "kind": "Deployment", "resource": "deployments"}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_stops_the_operator_restores_targets_and_lets_go_of_every_scaled_object() {
    let api = ApiServer::new();
    api.put(deployment("prescale", "prescale-operator", 2, json!([])));
    api.put(deployment("shop", "web", 9, json!([])));
    api.put(deployment("shop", "worker", 7, json!([])));
    api.put(scaled_object("web", true));
    api.put(scaled_object("worker", false));

    let report = prescale::cli::uninstall::uninstall(&api.client(), "prescale")
        .await
        .unwrap();
    assert!(report.operator_stopped);
    assert_eq!(replicas(&api, "prescale", "prescale-operator"), 0);
    assert_eq!(report.restored, vec![("shop/web".to_string(), 3)]);
    assert_eq!(
        replicas(&api, "shop", "web"),
        3,
        "restored to the original count"
    );
    assert_eq!(replicas(&api, "shop", "worker"), 7, "left as it is");
    assert_eq!(
        report.released,
        vec!["shop/web".to_string(), "shop/worker".to_string()]
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    for name in ["web", "worker"] {
        let so = scaled_object_of(&api, name);
        assert!(
            so["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty()),
            "{so}"
        );
        // deleting it now does not wait for anyone
        api.delete("keda.sh/v1alpha1", "ScaledObject", "shop", name);
        assert!(scaled_object_of_opt(&api, name).is_none(), "{name} is gone");
    }
    // a second run finds nothing to do and says the operator is already stopped
    let again = prescale::cli::uninstall::uninstall(&api.client(), "prescale")
        .await
        .unwrap();
    assert!(again.released.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaled_object_whose_target_is_gone_is_still_let_go_while_the_operator_runs() {
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 2, json!([])));
    let mut so = scaled_object("web", true);
    so["metadata"].as_object_mut().unwrap().remove("finalizers");
    so.as_object_mut().unwrap().remove("status");
    api.put(so);
    let _op = Operator::start(&api, None);
    eventually(
        20,
        "the operator took the ScaledObject (finalizer, HPA)",
        || {
            let so = scaled_object_of_opt(&api, "web")?;
            let has = so["metadata"]["finalizers"]
                .to_string()
                .contains("finalizer.keda.sh");
            (has && hpa(&api, "shop", "keda-hpa-web").is_some()).then_some(())
        },
    )
    .await;
    // as in a namespace deletion: the workload goes first, then the ScaledObject
    api.delete("apps/v1", "Deployment", "shop", "web");
    api.delete("keda.sh/v1alpha1", "ScaledObject", "shop", "web");
    eventually(20, "the ScaledObject is gone", || {
        scaled_object_of_opt(&api, "web").is_none().then_some(())
    })
    .await;
}

fn scaled_object_of_opt(api: &ApiServer, name: &str) -> Option<serde_json::Value> {
    api.get("keda.sh/v1alpha1", "ScaledObject", "shop", name)
}

fn scaled_object_of(api: &ApiServer, name: &str) -> serde_json::Value {
    scaled_object_of_opt(api, name).unwrap()
}
