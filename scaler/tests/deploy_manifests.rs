//! `deploy/` is `prescale install --output-dir deploy`'s output: the committed files equal what
//! install generates now, and `deploy/kustomization.yaml` lists exactly those files, so
//! `kubectl apply -k deploy/` applies the same objects as `prescale install | kubectl apply -f -`.

use prescale::api::crds;
use prescale::cli::install::{Options, documents, kustomization, yaml_docs};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "regenerate with\n  cargo run -p prescale -- install --output-dir deploy";

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn parse(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[test]
fn committed_manifests_are_installs_output() {
    let committed = std::fs::read_to_string(deploy().join("prescale.yaml")).unwrap_or_default();
    let generated = yaml_docs(&documents(&Options::new("prescale"))).unwrap();
    assert!(
        committed == generated,
        "deploy/prescale.yaml is out of date; {REGENERATE}"
    );
    let names: Vec<&str> = crds::all().unwrap().iter().map(|(n, _)| *n).collect();
    let k = std::fs::read_to_string(deploy().join("kustomization.yaml")).unwrap_or_default();
    assert!(
        k == kustomization(&names),
        "deploy/kustomization.yaml is out of date; {REGENERATE}"
    );
}

#[test]
fn kustomization_lists_exactly_the_generated_files_and_objects() {
    let k: Value = serde_yaml::from_str(
        &std::fs::read_to_string(deploy().join("kustomization.yaml")).unwrap(),
    )
    .unwrap();
    let listed: BTreeSet<String> = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let mut on_disk: BTreeSet<String> = std::fs::read_dir(deploy().join("crds"))
        .unwrap()
        .map(|e| format!("crds/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    on_disk.insert("prescale.yaml".into());
    assert_eq!(listed, on_disk);

    let mut applied: Vec<Value> = Vec::new();
    for f in &listed {
        applied.extend(parse(&std::fs::read_to_string(deploy().join(f)).unwrap()));
    }
    let mut installed = parse(&crds::yaml_stream().unwrap());
    installed.extend(documents(&Options::new("prescale")));
    let key = |v: &Value| v.to_string();
    applied.sort_by_key(key);
    installed.sort_by_key(key);
    assert_eq!(applied.len(), installed.len());
    assert!(
        applied == installed,
        "the kustomization's objects differ from install's"
    );
    let kinds: BTreeSet<&str> = applied.iter().filter_map(|v| v["kind"].as_str()).collect();
    for kind in [
        "Deployment",
        "Service",
        "APIService",
        "PodDisruptionBudget",
        "ClusterRole",
        "Role",
        "CustomResourceDefinition",
        "ValidatingWebhookConfiguration",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from deploy/");
    }
}
