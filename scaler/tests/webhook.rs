//! The admission webhook over real HTTPS, as the apiserver calls it: the certificate and
//! caBundle of `prescale install`'s output, the path and service of its
//! ValidatingWebhookConfiguration, AdmissionReview v1 in and out; cluster lookups through the
//! real kube client against the stand-in. Accepted and denied objects, with KEDA's messages;
//! and install's configuration itself.

mod support;

use prescale::webhook::FailurePolicy;
use prescale_kube_standin::ApiServer;
use serde_json::{Value, json};
use support::webhook::{cluster, denied, redis, sj, so, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_objects_accepted_and_denied_with_kedas_messages() {
    let api = ApiServer::new();
    cluster(&api);
    let hook = start(&api, FailurePolicy::Ignore).await;

    let ok = hook.review(&so("web", "web", redis()), None).await;
    assert_eq!(ok["allowed"], true, "{ok}");

    let msg = denied(&hook.review(&so("second", "api", redis()), None).await);
    assert!(msg.contains("the workload 'api' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'"), "{msg}");

    let msg = denied(&hook.review(&so("takeover", "legacy", redis()), None).await);
    assert!(msg.contains("the workload 'legacy' of type 'apps/v1.Deployment' is already managed by the hpa 'legacy-hpa'"), "{msg}");

    let cpu = so(
        "web",
        "web",
        json!([{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]),
    );
    let msg = denied(&hook.review(&cpu, None).await);
    assert!(msg.contains("the scaledobject has a cpu trigger but the container worker doesn't have the cpu request defined"), "{msg}");
    // a LimitRange default for cpu in the namespace satisfies it
    api.put(json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "shop"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}));
    let r = hook.review(&cpu, None).await;
    assert_eq!(r["allowed"], true, "{r}");

    let mut modifiers = so(
        "web",
        "web",
        json!([{"type": "redis", "name": "queue", "metadata": {"address": "redis.shop:6379", "listName": "jobs", "listLength": "5"}}]),
    );
    modifiers["spec"]["advanced"] =
        json!({"scalingModifiers": {"formula": "queue + missing", "target": "5"}});
    let msg = denied(&hook.review(&modifiers, None).await);
    assert!(
        msg.starts_with("spec.advanced.scalingModifiers.formula: "),
        "{msg}"
    );
    modifiers["spec"]["advanced"] =
        json!({"scalingModifiers": {"formula": "queue * 2", "target": "5"}});
    assert_eq!(hook.review(&modifiers, None).await["allowed"], true);
    modifiers["spec"]["advanced"] = json!({"scalingModifiers": {"formula": "queue * 2"}});
    let msg = denied(&hook.review(&modifiers, None).await);
    assert!(
        msg.contains("formula is given but target is empty"),
        "{msg}"
    );

    // validate's own checks: trigger metadata as the scaler reads it, bounds, names
    let bad_redis = so(
        "web",
        "web",
        json!([{"type": "redis", "metadata": {"address": "redis.shop:6379", "listLength": "5"}}]),
    );
    let msg = denied(&hook.review(&bad_redis, None).await);
    assert!(msg.starts_with("spec.triggers[0].metadata: "), "{msg}");
    assert!(msg.contains("listName"), "{msg}");
    let mut bounds = so("web", "web", redis());
    bounds["spec"]["minReplicaCount"] = json!(5);
    bounds["spec"]["maxReplicaCount"] = json!(2);
    let msg = denied(&hook.review(&bounds, None).await);
    assert!(
        msg.contains("MinReplicaCount=5 must be less than MaxReplicaCount=2"),
        "{msg}"
    );
    let long = so(&"x".repeat(64), "web", redis());
    let msg = denied(&hook.review(&long, None).await);
    assert!(msg.contains("longer than 63 characters"), "{msg}");

    // a TriggerAuthentication applied after the ScaledObject (one `kubectl apply -f dir/`)
    // does not get the ScaledObject refused: the problem it causes is a warning naming it
    let db = so(
        "web",
        "web",
        json!([{"type": "prometheus", "metadata": {"serverAddress": "http://prometheus:9090",
        "query": "sum(jobs)", "threshold": "5", "authModes": "bearer"}, "authenticationRef": {"name": "db"}}]),
    );
    let r = hook.review(&db, None).await;
    assert_eq!(r["allowed"], true, "{r}");
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("TriggerAuthentication shop/db not found, it may be created later"),
        "{warnings}"
    );
    assert!(warnings.contains("spec.triggers[0].metadata"), "{warnings}");
    // once it exists, the same problem refuses the object
    api.put(
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": {"name": "db", "namespace": "shop"}, "spec": {"env": []}}),
    );
    let msg = denied(&hook.review(&db, None).await);
    assert!(msg.starts_with("spec.triggers[0].metadata: "), "{msg}");

    // an update that only drops the finalizer is let through, even of an object that fails
    let mut old = so("second", "api", redis());
    old["metadata"]["finalizers"] = json!(["finalizer.keda.sh"]);
    let new = so("second", "api", redis());
    assert_eq!(hook.review(&new, Some(&old)).await["allowed"], true);
    // an update that changes the spec is checked
    let mut changed = new.clone();
    changed["spec"]["maxReplicaCount"] = json!(7);
    denied(&hook.review(&changed, Some(&old)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_jobs_accepted_and_denied_with_kedas_messages() {
    let api = ApiServer::new();
    cluster(&api);
    let hook = start(&api, FailurePolicy::Ignore).await;

    let ok = hook.review(&sj("work", redis()), None).await;
    assert_eq!(ok["allowed"], true, "{ok}");
    assert!(ok["warnings"].is_null(), "{ok}");

    // KEDA's ScaledJob webhook checks (its ValidateTriggers), with its messages
    let msg = denied(&hook.review(&sj("work", json!([])), None).await);
    assert_eq!(
        msg,
        "spec.triggers: no triggers defined in the ScaledObject/ScaledJob"
    );
    let q = |name: &str| json!({"type": "redis", "name": name, "metadata": {"address": "redis.shop:6379", "listName": "jobs", "listLength": "5"}});
    let msg = denied(
        &hook
            .review(&sj("work", json!([q("a"), q("a")])), None)
            .await,
    );
    assert_eq!(
        msg,
        "spec.triggers[1].name: triggerName \"a\" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique"
    );
    let cron = json!([{"type": "cron", "useCachedMetrics": true, "metadata": {"timezone": "UTC",
        "start": "0 6 * * *", "end": "0 20 * * *", "desiredReplicas": "3"}}]);
    let msg = denied(&hook.review(&sj("work", cron), None).await);
    assert_eq!(
        msg,
        "spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not supported for \"cron\" scaler"
    );
    // and the controller's, which `prescale validate` shares: every problem, joined
    let mut bad = sj(
        "work",
        json!([{"type": "redis", "metricType": "Value", "metadata": {"address": "redis.shop:6379", "listName": "jobs"}}]),
    );
    bad["spec"]["minReplicaCount"] = json!(5);
    bad["spec"]["maxReplicaCount"] = json!(2);
    let msg = denied(&hook.review(&bad, None).await);
    assert_eq!(
        msg,
        "spec.minReplicaCount: MinReplicaCount=5 must be less than MaxReplicaCount=2; spec.triggers[0].metricType: Cannot set metricType in ScaledJob triggers"
    );
    let mut no_containers = sj("work", redis());
    no_containers["spec"]["jobTargetRef"]["template"]["spec"]["containers"] = json!([]);
    let msg = denied(&hook.review(&no_containers, None).await);
    assert_eq!(
        msg,
        "spec.jobTargetRef.template.spec.containers: ScaledJob.spec.jobTargetRef.template has no containers"
    );
    // trigger metadata as the scaler reads it
    let bad_redis = sj(
        "work",
        json!([{"type": "redis", "metadata": {"address": "redis.shop:6379", "listLength": "5"}}]),
    );
    let msg = denied(&hook.review(&bad_redis, None).await);
    assert!(msg.starts_with("spec.triggers[0].metadata: "), "{msg}");
    assert!(msg.contains("listName"), "{msg}");
    // settings KEDA ignores are warnings, not denials
    let mut ignored = sj("work", redis());
    ignored["spec"]["scalingStrategy"] = json!({"strategy": "sideways"});
    let r = hook.review(&ignored, None).await;
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(
        r["warnings"],
        json!([
            "spec.scalingStrategy.strategy \"sideways\" is not default, custom, accurate or eager: KEDA uses default"
        ])
    );

    // a TriggerAuthentication applied after the ScaledJob is a warning naming it, then, once
    // it exists, the same problem refuses the ScaledJob
    let db = sj(
        "work",
        json!([{"type": "prometheus", "metadata": {"serverAddress": "http://prometheus:9090",
        "query": "sum(jobs)", "threshold": "5", "authModes": "bearer"}, "authenticationRef": {"name": "jobs-db"}}]),
    );
    let r = hook.review(&db, None).await;
    assert_eq!(r["allowed"], true, "{r}");
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("TriggerAuthentication shop/jobs-db not found, it may be created later"),
        "{warnings}"
    );
    api.put(
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": {"name": "jobs-db", "namespace": "shop"}, "spec": {"env": []}}),
    );
    let msg = denied(&hook.review(&db, None).await);
    assert!(msg.starts_with("spec.triggers[0].metadata: "), "{msg}");

    // an update that only drops the finalizer passes, even of a ScaledJob that fails
    let mut old = sj("work", json!([]));
    old["metadata"]["finalizers"] = json!(["finalizer.keda.sh"]);
    let new = sj("work", json!([]));
    assert_eq!(hook.review(&new, Some(&old)).await["allowed"], true);
    let mut changed = new.clone();
    changed["spec"]["maxReplicaCount"] = json!(7);
    denied(&hook.review(&changed, Some(&old)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_scaled_job_lookup_follows_the_failure_policy() {
    let api = ApiServer::new();
    let object = sj(
        "work",
        json!([{"type": "redis", "metadata": {"address": "redis.shop:6379", "listName": "jobs"},
            "authenticationRef": {"name": "redis-auth"}}]),
    );
    for (policy, allowed) in [(FailurePolicy::Ignore, true), (FailurePolicy::Fail, false)] {
        let hook = start(&api, policy).await;
        api.fail_next("triggerauthentications", 1);
        let r = hook.review(&object, None).await;
        assert_eq!(r["allowed"], allowed, "{policy:?}: {r}");
        let said = if allowed {
            r["warnings"].to_string()
        } else {
            r["status"]["message"].to_string()
        };
        assert!(said.contains("not checked (failurePolicy"), "{said}");
        assert!(said.contains("redis-auth"), "{said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_authentications_accepted_and_denied_with_kedas_messages() {
    let api = ApiServer::new();
    let hook = start(&api, FailurePolicy::Ignore).await;
    let ta = |spec: Value| {
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
            "metadata": {"name": "auth", "namespace": "shop"}, "spec": spec})
    };
    let ok = hook
        .review(&ta(json!({"secretTargetRef": [{"parameter": "password", "name": "redis", "key": "password"}]})), None)
        .await;
    assert_eq!(ok["allowed"], true, "{ok}");
    let msg = denied(
        &hook
            .review(
                &ta(json!({"podIdentity": {"provider": "azure-workload", "identityId": ""}})),
                None,
            )
            .await,
    );
    assert!(msg.contains("identityId of PodIdentity should not be empty. If it's set, identityId has to be different than \"\""), "{msg}");
    let msg = denied(&hook.review(&ta(json!({"oauth2": {"type": "clientCredentials", "clientId": "c", "tokenUrl": "ftp://x/token"}})), None).await);
    assert!(
        msg.contains("oauth2.tokenUrl must be a valid http or https URL"),
        "{msg}"
    );
    let cta = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ClusterTriggerAuthentication",
        "metadata": {"name": "shared"}, "spec": {"podIdentity": {"provider": "aws", "awsExternalID": "x"}}});
    let msg = denied(&hook.review(&cta, None).await);
    assert!(
        msg.contains("externalID of PodIdentity requires roleArn to be set"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_lookup_follows_the_failure_policy_and_says_so() {
    let api = ApiServer::new();
    cluster(&api);
    let object = so("web", "web", redis());
    for (policy, allowed) in [(FailurePolicy::Ignore, true), (FailurePolicy::Fail, false)] {
        let hook = start(&api, policy).await;
        api.fail_next("horizontalpodautoscalers", 1);
        let r = hook.review(&object, None).await;
        assert_eq!(r["allowed"], allowed, "{policy:?}: {r}");
        let said = if allowed {
            r["warnings"].to_string()
        } else {
            r["status"]["message"].to_string()
        };
        assert!(said.contains("not checked (failurePolicy"), "{said}");
        assert!(
            said.contains("listing HorizontalPodAutoscalers in namespace shop"),
            "{said}"
        );
        // the next review, with the apiserver answering, is decided on the object alone
        let r = hook.review(&object, None).await;
        assert_eq!(r["allowed"], true, "{r}");
        assert!(r["warnings"].is_null(), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_no_admission_review_gets_400() {
    let api = ApiServer::new();
    let hook = start(&api, FailurePolicy::Ignore).await;
    let res = hook
        .client
        .post(format!(
            "{}/validate-keda-sh-v1alpha1-scaledobject",
            hook.base
        ))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("AdmissionReview"));
}

fn install(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("install")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn docs(stream: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[test]
fn install_outputs_a_valid_configuration_with_the_chosen_policy_and_selector() {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    let (ok, out, err) = install(&[
        "--namespace",
        "ops",
        "--webhook-failure-policy",
        "Fail",
        "--webhook-namespace-selector",
        "team in (a, b),!skip-prescale",
    ]);
    assert!(ok, "{err}");
    let all = docs(&out);
    let raw = all
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    // it decodes as the apiserver's type, field for field
    let config: ValidatingWebhookConfiguration = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(serde_json::to_value(&config).unwrap(), *raw);
    let api_service = all.iter().find(|d| d["kind"] == "APIService").unwrap();
    let webhooks = config.webhooks.unwrap();
    let resources: Vec<String> = webhooks
        .iter()
        .flat_map(|w| w.rules.clone().unwrap()[0].resources.clone().unwrap())
        .collect();
    assert_eq!(
        resources,
        [
            "scaledobjects",
            "scaledjobs",
            "triggerauthentications",
            "clustertriggerauthentications"
        ]
    );
    for w in &webhooks {
        assert_eq!(w.failure_policy.as_deref(), Some("Fail"));
        assert_eq!(w.side_effects, "None");
        assert_eq!(w.admission_review_versions, ["v1"]);
        let svc = w.client_config.service.as_ref().unwrap();
        assert_eq!(
            (svc.name.as_str(), svc.namespace.as_str(), svc.port),
            ("prescale-metrics-apiserver", "ops", Some(9443))
        );
        // no key material in manifests: the operator fills both from one Secret
        assert!(w.client_config.ca_bundle.is_none());
        assert!(api_service["spec"].get("caBundle").is_none());
        let rule = &w.rules.as_ref().unwrap()[0];
        assert_eq!(
            rule.operations.as_deref(),
            Some(&["CREATE".to_string(), "UPDATE".to_string()][..])
        );
    }
    let selector = serde_json::to_value(webhooks[0].namespace_selector.as_ref().unwrap()).unwrap();
    assert_eq!(
        selector,
        json!({"matchExpressions": [
            {"key": "team", "operator": "In", "values": ["a", "b"]},
            {"key": "skip-prescale", "operator": "DoesNotExist"}]})
    );
    assert_eq!(
        serde_json::to_value(webhooks[1].namespace_selector.as_ref().unwrap()).unwrap(),
        selector
    );
    assert!(webhooks[3].namespace_selector.is_none(), "cluster-scoped");
    // the operator serves it, with the same policy, behind the Service
    let dep = all.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let env = dep["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains("\"PRESCALE_WEBHOOK_ADDR\",\"value\":\"0.0.0.0:9443\""),
        "{env}"
    );
    assert!(
        env.contains("\"PRESCALE_WEBHOOK_FAILURE_POLICY\",\"value\":\"Fail\""),
        "{env}"
    );
    let svc = all
        .iter()
        .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "prescale-metrics-apiserver")
        .unwrap();
    assert!(
        svc["spec"]["ports"].to_string().contains("\"port\":9443"),
        "{svc}"
    );
    let role = all
        .iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == "prescale-operator")
        .unwrap();
    assert!(role["rules"].to_string().contains("limitranges"), "{role}");
    assert!(
        role["rules"]
            .to_string()
            .contains("\"resourceNames\":[\"prescale-validating-webhook\"]"),
        "the operator keeps the configuration's caBundle in step: {role}"
    );
    // with cert-manager, its cainjector fills the caBundle
    let (ok, out, err) = install(&["--cert-mode", "cert-manager"]);
    assert!(ok, "{err}");
    let all = docs(&out);
    let raw = all
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    assert_eq!(
        raw["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "prescale/prescale-metrics-apiserver"
    );

    // by default: in, with `failurePolicy: Ignore` (KEDA's chart default) and every namespace
    let (ok, default, err) = install(&[]);
    assert!(ok, "{err}");
    let all = docs(&default);
    let raw = all
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .expect("the webhook is in by default");
    for w in raw["webhooks"].as_array().unwrap() {
        assert_eq!(w["failurePolicy"], "Ignore", "{w}");
    }
    assert_eq!(raw["webhooks"][0]["namespaceSelector"], json!({}));
    // `--webhook` is still accepted and changes nothing
    let (ok, out, err) = install(&["--webhook"]);
    assert!(ok, "{err}");
    assert_eq!(out, default);
    // `--no-webhook`: no configuration, no port, no RBAC for it
    let (ok, out, err) = install(&["--no-webhook"]);
    assert!(ok, "{err}");
    assert!(
        !out.contains("ValidatingWebhookConfiguration")
            && !out.contains("9443")
            && !out.contains("PRESCALE_WEBHOOK")
            && !out.contains("limitranges")
            && !out.contains("validatingwebhookconfigurations"),
        "{out}"
    );
    let (ok, out, err) = install(&["--no-webhook", "--webhook"]);
    assert!(!ok && out.is_empty(), "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
    // a selector that is none is refused before anything is printed
    let (ok, out, err) = install(&["--webhook-namespace-selector", "team in a"]);
    assert!(!ok && out.is_empty());
    assert!(err.contains("is not a label selector requirement"), "{err}");
}
