//! `prescale validate` as users run it in CI: exit codes, messages naming file, object,
//! trigger and field, JSON output with the HPA, stdin and directories, no secret in output.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures", name]
        .iter()
        .collect();
    p.display().to_string()
}

fn prescale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn shipped_examples_are_valid() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "../deploy/examples"]
        .iter()
        .collect();
    let o = prescale(&["validate", "-f", &dir.display().to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !text(&o).contains("problem source(s)") || text(&o).contains(", 0 problem source(s)"),
        "{}",
        text(&o)
    );
}

#[test]
fn keda_manifests_validate_and_yield_keda_metric_names() {
    let o = prescale(&[
        "validate",
        "-o",
        "json",
        "-f",
        &fixture("keda/redis-standalone.yaml"),
        &fixture("keda/mysql-prometheus-cron.yaml"),
        &fixture("validate/keda-targets.yaml"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<(String, String, String)> = v["scaledObjects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|so| {
            so["metrics"].as_array().unwrap().iter().map(|m| {
                (
                    m["name"].as_str().unwrap().to_string(),
                    m["target"]["type"].as_str().unwrap().to_string(),
                    m["target"]["averageValue"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
        })
        .collect();
    assert_eq!(
        names,
        [
            ("s0-redis-queue".into(), "AverageValue".into(), "5".into()),
            ("s0-mysql-test_db".into(), "AverageValue".into(), "4".into()),
            ("s0-prometheus".into(), "AverageValue".into(), "20".into()),
            (
                "s0-cron-Etc-UTC-15xxxx-16xxxx".into(),
                "AverageValue".into(),
                "1".into()
            ),
        ]
    );
    let redis = &v["scaledObjects"][0];
    assert_eq!(
        (redis["name"].as_str(), redis["valid"].as_bool()),
        (Some("redis-scaledobject"), Some(true)),
        "{redis}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("test-password"));
}

#[test]
fn bad_manifests_name_file_object_trigger_field_and_message() {
    let file = fixture("validate/bad.yaml");
    let o = prescale(&["validate", "-f", &file]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    let want = [
        "ScaledObject shop/broken: spec.minReplicaCount: MinReplicaCount=5 must be less than MaxReplicaCount=2",
        "ScaledObject shop/broken: trigger 1: spec.triggers[1].name: triggerName \"q\" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique",
        "ScaledObject shop/broken: trigger 0: spec.triggers[0].metadata: error parsing redis metadata: unable to set param \"listLength\" value \"five\"",
        "ScaledObject shop/broken: trigger 1: spec.triggers[1].metadata: error parsing redis metadata: missing required parameter \"listName\" in [triggerMetadata]",
        "ScaledObject shop/broken: trigger 2: spec.triggers[2].type: no scaler found for type: kafka",
        "ScaledObject shop/broken: trigger 3: spec.triggers[3]: the scaledobject has a cpu trigger but the container w doesn't have the cpu request defined",
        "ScaledObject shop/second-owner: spec.scaleTargetRef: the workload 'worker' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'broken'",
        "ScaledObject shop/second-owner: trigger 0: spec.triggers[0].metadata: error parsing cron metadata: start and end can not have exactly same time input",
        "ScaledObject other/modifiers: spec.idleReplicaCount: IdleReplicaCount=0 must be less than MinReplicaCount=0",
        "ScaledObject other/modifiers: spec.fallback: FailureThreshold=-1 & Replicas=2 must both be greater than or equal to 0",
        "ScaledObject other/modifiers: spec.advanced.scalingModifiers.target: scalingModifiers.target \"0\" must be a number greater than 0",
        "ScaledObject other/modifiers: spec.advanced.scalingModifiers.formula: unknown name missing",
        "ScaledObject other/modifiers: trigger 1: spec.triggers[1].useCachedMetrics: property \"useCachedMetrics\" is not supported for \"cron\" scaler",
    ];
    for w in want {
        assert!(
            out.contains(&format!("{file}: {w}")),
            "missing:\n  {w}\nin:\n{out}"
        );
    }
    assert!(!out.contains("hunter2"), "a secret value leaked:\n{out}");
}

#[test]
fn json_output_shape() {
    let o = prescale(&[
        "validate",
        "-o",
        "json",
        "-f",
        &fixture("../../../deploy/examples/redis-job-queue.yaml"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let so = &v["scaledObjects"][0];
    assert_eq!(
        (
            so["namespace"].as_str(),
            so["name"].as_str(),
            so["valid"].as_bool()
        ),
        (Some("jobs"), Some("job-worker"), Some(true))
    );
    let hpa = &so["hpa"];
    assert_eq!(hpa["metadata"]["name"], "keda-hpa-job-worker");
    assert_eq!(
        hpa["metadata"]["labels"]["scaledobject.keda.sh/name"],
        "job-worker"
    );
    assert_eq!(
        hpa["spec"]["minReplicas"], 1,
        "minReplicaCount 0 → HPA min 1"
    );
    assert_eq!(hpa["spec"]["maxReplicas"], 20);
    let m = &hpa["spec"]["metrics"][0];
    assert_eq!(m["type"], "External");
    assert_eq!(m["external"]["metric"]["name"], "s0-redis-jobs-pending");
    assert_eq!(
        m["external"]["metric"]["selector"]["matchLabels"]["scaledobject.keda.sh/name"],
        "job-worker"
    );
    assert_eq!(m["external"]["target"]["averageValue"], "10");
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("change-me"),
        "secret value in output"
    );
}

#[test]
fn stdin_directories_and_syntax_errors() {
    let yaml = std::fs::read_to_string(fixture(
        "../../../deploy/examples/prometheus-request-rate.yaml",
    ))
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["validate", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("<stdin>: ScaledObject shop/shop-web: valid; HPA keda-hpa-shop-web: s0-prometheus (AverageValue 50), cpu (Utilization 70%)"), "{}", text(&o));

    let o = prescale(&["validate", "-f", &fixture("validate/syntax.yaml")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("syntax.yaml: error: document 0: invalid YAML"),
        "{}",
        text(&o)
    );

    let o = prescale(&["validate", "-f", &fixture("validate")]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "directory input includes bad.yaml"
    );
    let o = prescale(&["validate", "-f", "/no/such/file.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("cannot read"), "{}", text(&o));
}

#[test]
fn schedule_plans_are_listed_as_of_a_given_instant() {
    let sale: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../deploy/examples/midnight-sale-ready-by-t.yaml",
    ]
    .iter()
    .collect();
    let sale = sale.display().to_string();
    // 19:00 in Shanghai on Friday 2026-12-11, before the weekly flash sale and Double 12
    let o = prescale(&[
        "validate",
        "-f",
        &sale,
        "--now",
        "2026-12-11T19:00:00+08:00",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    let obj = format!("{sale}: ScaledObject sales/checkout: pre-scaling at");
    for line in [
        "2026-12-11T11:50:00Z: minReplicas 10, maxReplicas 80 (0 20 * * 5 / 0 23 * * 5 = 10, lead 10m0s)",
        "2026-12-11T15:00:00Z: minReplicas 3, maxReplicas 80",
        "2026-12-11T15:50:00Z: minReplicas 50, maxReplicas 80 (2026-12-12T00:00/2026-12-12T02:00=50, lead 10m0s)",
        "2026-12-11T18:00:00Z: minReplicas 3, maxReplicas 6 (0 2 * * * / 0 7 * * * = max:6)",
    ] {
        assert!(t.contains(&format!("{obj} {line}")), "{line}\n{t}");
    }
    assert!(
        t.contains("more changes within 14 days (--output json lists them)"),
        "{t}"
    );
    let plan_at = |now: &str| {
        let o = prescale(&["validate", "-o", "json", "-f", &sale, "--now", now]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["scaledObjects"][0]["preScaling"]
            .as_array()
            .unwrap()
            .clone()
    };
    let plan = plan_at("2026-12-11T19:00:00+08:00");
    assert_eq!(plan.len(), 20);
    assert_eq!(plan[2]["time"], "2026-12-11T15:50:00Z");
    assert_eq!(plan[2]["minReplicas"], 50);
    assert_eq!(plan[2]["leadTime"], "10m0s");
    // once the sale is over, it is not planned any more
    let plan = plan_at("2026-12-12T03:00:00+08:00");
    assert!(plan.iter().all(|c| c["minReplicas"] != 50), "{plan:?}");
}

/// `kubectl get scaledobjects,deployments -A -o yaml` gives a `v1` List: its items are checked
/// like documents (the migration guide validates a cluster's objects this way).
#[test]
fn a_kubectl_list_is_read_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("list.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: List\nitems:\n\
         - apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: w, namespace: q}\n  \
         spec:\n    selector: {matchLabels: {app: w}}\n    template:\n      metadata: {labels: {app: w}}\n      \
         spec: {containers: [{name: w, image: w}]}\n\
         - apiVersion: keda.sh/v1alpha1\n  kind: ScaledObject\n  metadata: {name: w, namespace: q}\n  \
         spec:\n    scaleTargetRef: {name: w}\n    triggers:\n    \
         - type: redis\n      metadata: {address: 'r:6379', listName: l, listLenght: '5'}\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let o = prescale(&["validate", "-f", &path]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ScaledObject q/w"), "{}", text(&o));
    assert!(
        !text(&o).contains("not among the given manifests"),
        "{}",
        text(&o)
    );
    let o = prescale(&["validate", "--strict", "-f", &path]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("listLenght") && text(&o).contains("did you mean \"listLength\""),
        "{}",
        text(&o)
    );
}

/// `metrics-api` through `validate`: the shipped example's HPA metrics, and a broken trigger
/// whose every problem (a GJSON pipe, a typo'd key, a non-equality matcher) is named.
#[test]
fn metrics_api_triggers_are_validated() {
    let o = prescale(&[
        "validate",
        "-f",
        &fixture("../../../deploy/examples/metrics-api-backlog.yaml"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("s0-metric-api-queues-import-pending (AverageValue 5), s1-metric-api-jobs_waiting{queue=\"export\"} (AverageValue 10)"),
        "{}",
        text(&o)
    );
    let bad = r#"
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {name: web}
  triggers:
    - type: metrics-api
      metadata: {url: "http://app:8080/stats", valueLocation: "queues|@reverse", targetValue: "5"}
    - type: metrics-api
      metadata: {url: "http://app:8080/metrics", format: prometheus, valueLocaton: "up", targetValue: "5"}
    - type: metrics-api
      metadata: {url: "http://app:8080/metrics", format: prometheus, valueLocation: 'up{job=~"a.*"}', targetValue: "5"}
"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["validate", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bad.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    for want in [
        "trigger 0: spec.triggers[0].metadata: error parsing metrics-api metadata: valueLocation \"queues|@reverse\": GJSON queries, modifiers, pipes and multipaths are not supported",
        "trigger 1: spec.triggers[1].metadata: error parsing metrics-api metadata: missing required parameter \"valueLocation\" in [triggerMetadata]",
        "only equality matchers",
    ] {
        assert!(out.contains(want), "missing:\n  {want}\nin:\n{out}");
    }
}

#[test]
fn trigger_authentications_get_the_webhooks_checks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.yaml");
    std::fs::write(
        &file,
        "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: azure, namespace: shop}\n\
         spec:\n  podIdentity: {provider: azure-workload, identityId: \"\"}\n---\n\
         apiVersion: keda.sh/v1alpha1\nkind: ClusterTriggerAuthentication\nmetadata: {name: ok}\n\
         spec:\n  podIdentity: {provider: aws, roleArn: \"arn:aws:iam::1:role/r\"}\n---\n\
         apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web, namespace: shop}\n\
         spec:\n  scaleTargetRef: {name: web}\n  minReplicaCount: 1\n  triggers:\n\
         \x20 - {type: cron, metadata: {timezone: UTC, start: 0 8 * * *, end: 0 9 * * *, desiredReplicas: \"2\"}}\n",
    )
    .unwrap();
    let o = prescale(&["validate", "-f", &file.display().to_string()]);
    assert!(!o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("document 0: TriggerAuthentication shop/azure: spec.podIdentity.identityId: identityId of PodIdentity should not be empty"),
        "{t}"
    );
    assert!(!t.contains("ClusterTriggerAuthentication ok"), "{t}");
}
