//! The Helm chart `deploy/helm/prescale`, rendered and linted with real Helm (Helm's Go library
//! through PyPI's `helm-python-sdk`, `scripts/helm.py`; `scripts/setup.sh` installs it): its
//! default rendering is `prescale install`'s output object for object (less the Namespace,
//! which Helm owns: `--create-namespace`), its CRDs are `deploy/crds`, and each value changes
//! what it says.

use prescale::api::crds;
use prescale::cli::install::{CertMode, Options, documents};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn helm(args: &[&str], values: &Value) -> (bool, String, String) {
    let out = Command::new("python3")
        .arg(root().join("scripts/helm.py"))
        .args(args)
        .arg(root().join("deploy/helm/prescale"))
        .args(["--values-json", &values.to_string()])
        .output()
        .expect("python3 runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !err.contains("No module named 'helm_python'"),
        "the Helm SDK for Python is missing: run scripts/setup.sh (pip install helm-python-sdk)"
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        err,
    )
}

fn parse(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|o| o.to_string());
    v
}

fn render(namespace: &str, values: Value) -> Vec<Value> {
    let (ok, out, err) = helm(&["template", "--namespace", namespace], &values);
    assert!(ok, "helm template failed: {err}");
    sorted(parse(&out))
}

fn installed(o: &Options) -> Vec<Value> {
    let mut all = parse(&crds::yaml_stream().unwrap());
    all.extend(
        documents(o)
            .into_iter()
            .filter(|d| d["kind"] != "Namespace"),
    );
    sorted(all)
}

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("{kind}"))
}

#[test]
fn default_rendering_is_installs_output_and_deploy() {
    let chart = render("prescale", json!({}));
    let install = installed(&Options::new("prescale"));
    assert_eq!(chart.len(), install.len());
    for (c, i) in chart.iter().zip(&install) {
        assert_eq!(c, i, "chart and install differ");
    }
    // deploy/ holds the same (its own drift test ties it to install)
    let mut deploy = parse(&std::fs::read_to_string(root().join("deploy/prescale.yaml")).unwrap());
    deploy.retain(|d| d["kind"] != "Namespace");
    let chart_rest: Vec<Value> = chart
        .iter()
        .filter(|o| o["kind"] != "CustomResourceDefinition")
        .cloned()
        .collect();
    assert_eq!(chart_rest, sorted(deploy));
    for (name, text) in crds::all().unwrap() {
        let in_chart = std::fs::read_to_string(root().join("deploy/helm/prescale/crds").join(name))
            .unwrap_or_default();
        assert!(
            in_chart == text,
            "deploy/helm/prescale/crds/{name} is out of date: cp deploy/crds/*.yaml deploy/helm/prescale/crds/"
        );
    }
}

#[test]
fn lint_is_clean() {
    let (ok, out, err) = helm(&["lint"], &json!({}));
    assert!(ok, "helm lint: {out}{err}");
    let (ok, out, err) = helm(
        &["lint"],
        &json!({"certificates": {"mode": "cert-manager"}, "serviceMonitor": {"enabled": true}}),
    );
    assert!(ok, "helm lint: {out}{err}");
    let (ok, out, err) = helm(&["lint"], &json!({"webhook": {"enabled": false}}));
    assert!(ok, "helm lint: {out}{err}");
}

#[test]
fn cert_manager_mode_and_scale_targets_match_install() {
    let values = json!({"certificates": {"mode": "cert-manager"}, "scaleTargets": [{"group": "argoproj.io", "resource": "rollouts"}]});
    let o = Options {
        cert_mode: CertMode::CertManager,
        scale_targets: vec![("argoproj.io".into(), "rollouts".into())],
        ..Options::new("ops")
    };
    assert_eq!(render("ops", values), installed(&o));
}

#[test]
fn webhook_values_match_installs_flags() {
    use prescale::cli::install_webhook::WebhookArgs;
    use prescale::webhook::FailurePolicy;
    // in by default, as install's default (see default_rendering_is_installs_output_and_deploy)
    let default = render("prescale", json!({}));
    let config = find(&default, "ValidatingWebhookConfiguration");
    let resources: Vec<&Value> = config["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["rules"][0]["resources"][0])
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
    // webhook.enabled=false is `--no-webhook`: no configuration, port, env or RBAC for it
    let off = render("prescale", json!({"webhook": {"enabled": false}}));
    let mut o = Options::new("prescale");
    o.webhook = WebhookArgs {
        no_webhook: true,
        ..WebhookArgs::default()
    };
    assert_eq!(off, installed(&o));
    let text = serde_json::to_string(&off).unwrap();
    assert!(
        !text.contains("ValidatingWebhookConfiguration")
            && !text.contains("9443")
            && !text.contains("limitranges"),
        "{text}"
    );
    // failurePolicy and namespaceSelector are install's --webhook-failure-policy and
    // --webhook-namespace-selector (kubectl syntax there, a LabelSelector here)
    let values = json!({"webhook": {"failurePolicy": "Fail", "namespaceSelector": {
        "matchLabels": {"env": "prod"},
        "matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]},
                             {"key": "skip-prescale", "operator": "DoesNotExist"}]}}});
    let mut o = Options::new("ops");
    o.webhook = WebhookArgs {
        webhook_failure_policy: FailurePolicy::Fail,
        webhook_namespace_selector: "env=prod,team in (a,b),!skip-prescale".into(),
        ..WebhookArgs::default()
    };
    let chart = render("ops", values.clone());
    assert_eq!(chart, installed(&o));
    let config = find(&chart, "ValidatingWebhookConfiguration");
    assert_eq!(config["webhooks"][1]["failurePolicy"], "Fail");
    assert_eq!(
        config["webhooks"][1]["namespaceSelector"],
        values["webhook"]["namespaceSelector"]
    );
    // with cert-manager, the configuration carries the cainjector's annotation and the
    // operator gets no write on it
    let mut cm = values;
    cm["certificates"] = json!({"mode": "cert-manager"});
    o.cert_mode = CertMode::CertManager;
    let chart = render("ops", cm);
    assert_eq!(chart, installed(&o));
    assert_eq!(
        find(&chart, "ValidatingWebhookConfiguration")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "ops/prescale-metrics-apiserver"
    );
    assert!(
        !serde_json::to_string(&chart)
            .unwrap()
            .contains("\"validatingwebhookconfigurations\"")
    );
}

#[test]
fn values_reach_the_deployment() {
    let objs = render(
        "prescale",
        json!({"image": {"repository": "registry.local/prescale", "tag": "dev", "pullPolicy": "Never"},
               "replicas": 3, "log": {"level": "debug", "format": "plain"}, "ports": {"metricsApi": 7443, "admin": 9090},
               "resources": {"requests": {"cpu": "50m"}}, "extraEnv": [{"name": "X", "value": "1"}], "extraArgs": ["--lead-time-default=3m"],
               "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [{"key": "k", "operator": "Exists"}],
               "affinity": {"nodeAffinity": {}}, "serviceMonitor": {"enabled": true, "interval": "15s", "labels": {"release": "kps"}}}),
    );
    let d = find(&objs, "Deployment");
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(c["image"], "registry.local/prescale:dev");
    assert_eq!(c["imagePullPolicy"], "Never");
    assert_eq!(c["args"], json!(["run", "--lead-time-default=3m"]));
    // Helm merges values deeply: the default memory request stays
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "384Mi"}})
    );
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    for want in [
        ("PRESCALE_LOG_LEVEL", "debug"),
        ("PRESCALE_LOG_FORMAT", "plain"),
        ("PRESCALE_METRICS_API_ADDR", "0.0.0.0:7443"),
        ("PRESCALE_ADMIN_ADDR", "0.0.0.0:9090"),
        ("X", "1"),
    ] {
        assert!(
            env.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {env:?}"
        );
    }
    assert_eq!(
        c["ports"],
        json!([{"name": "https", "containerPort": 7443}, {"name": "admin", "containerPort": 9090},
               {"name": "webhook", "containerPort": 9443}])
    );
    assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert_eq!(pod["tolerations"][0]["key"], "k");
    assert!(pod["affinity"]["nodeAffinity"].is_object());
    let sm = find(&objs, "ServiceMonitor");
    assert_eq!(
        sm["spec"]["endpoints"][0],
        json!({"port": "admin", "path": "/metrics", "interval": "15s"})
    );
    assert_eq!(sm["metadata"]["labels"]["release"], "kps");
    assert!(
        render("prescale", json!({"replicas": 1}))
            .iter()
            .all(|o| o["kind"] != "PodDisruptionBudget")
    );
}

#[test]
fn the_schema_refuses_bad_values() {
    for bad in [
        json!({"replicas": 0}),
        json!({"certificates": {"mode": "manual"}}),
        json!({"image": {"repository": ""}}),
        json!({"replicaCount": 2}),
        json!({"webhook": {"failurePolicy": "Maybe"}}),
        json!({"webhook": {"enabled": "yes"}}),
        json!({"webhook": {"namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "Like"}]}}}),
        json!({"webhook": {"namespaceSelector": "team=a"}}),
    ] {
        let (ok, _, err) = helm(&["template", "--namespace", "prescale"], &bad);
        assert!(!ok, "{bad} was accepted");
        assert!(
            err.contains("schema") || err.contains("values"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn sharding_values_match_installs_flags() {
    let o = Options {
        shards: 4,
        forward_client_secret: Some("front-proxy-client".into()),
        ..Options::new("ops")
    };
    let chart = render(
        "ops",
        json!({"sharding": {"shards": 4, "forwardClientSecret": "front-proxy-client"}}),
    );
    assert_eq!(chart, installed(&o));
    let pod = &find(&chart, "Deployment")["spec"]["template"]["spec"];
    let env = pod["containers"][0]["env"].as_array().unwrap();
    let var = |n: &str| env.iter().find(|e| e["name"] == n).cloned();
    assert_eq!(var("PRESCALE_SHARDS").unwrap()["value"], "4");
    assert_eq!(
        var("POD_IP").unwrap()["valueFrom"]["fieldRef"]["fieldPath"],
        "status.podIP"
    );
    assert_eq!(
        var("PRESCALE_FORWARD_CERT_FILE").unwrap()["value"],
        "/etc/prescale/forward/tls.crt"
    );
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "front-proxy-client"
    );
    // forwarded requests are authorized as the operator's service account
    let rules = find(&chart, "ClusterRole")["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["apiGroups"][0] == "external.metrics.k8s.io" && r["verbs"][0] == "get"),
        "{rules:?}"
    );
    // one shard (the default) sets none of it
    let default = render("ops", json!({}));
    let text = serde_json::to_string(find(&default, "Deployment")).unwrap();
    assert!(
        !text.contains("PRESCALE_SHARDS") && !text.contains("POD_IP") && !text.contains("volumes"),
        "{text}"
    );
    let default_rules = find(&default, "ClusterRole")["rules"].as_array().unwrap();
    assert!(
        default_rules
            .iter()
            .all(|r| r["apiGroups"][0] != "external.metrics.k8s.io"),
        "{default_rules:?}"
    );
    // the schema refuses zero shards
    let (ok, _, err) = helm(
        &["template", "--namespace", "ops"],
        &json!({"sharding": {"shards": 0}}),
    );
    assert!(!ok, "zero shards rendered");
    assert!(err.contains("shards"), "{err}");
}
