//! The committed CRDs under deploy/crds must be exactly what the types generate.

use prescale::api::crds;
use std::path::Path;

#[test]
fn committed_crds_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    for (name, generated) in crds::all().unwrap() {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == generated,
            "deploy/crds/{name} is out of date with the Rust types; regenerate with\n  \
             cargo run -p prescale -- crds --out-dir deploy/crds"
        );
    }
}

#[test]
fn crds_have_names_scopes_and_columns() {
    let stream = crds::yaml_stream().unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&stream)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 3);
    let find = |name: &str| docs.iter().find(|d| d["metadata"]["name"] == name).unwrap();
    let so = find("scaledobjects.keda.sh");
    assert_eq!(so["spec"]["scope"], "Namespaced");
    assert_eq!(so["spec"]["names"]["shortNames"][0], "so");
    let v = &so["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha1");
    assert!(v["subresources"]["status"].is_mapping());
    let cols: Vec<&str> = v["additionalPrinterColumns"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        [
            "ScaleTargetKind",
            "ScaleTargetName",
            "Min",
            "Max",
            "Ready",
            "Active",
            "Fallback",
            "Paused",
            "Triggers",
            "Authentications",
            "Age"
        ]
    );
    let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["properties"]["triggers"]["minItems"], 1);
    assert_eq!(
        spec["properties"]["scaleTargetRef"]["properties"]["name"]["minLength"],
        1
    );
    let rules =
        serde_yaml::to_string(&v["schema"]["openAPIV3Schema"]["x-kubernetes-validations"]).unwrap();
    assert!(
        rules.contains("minReplicaCount must be less than or equal to maxReplicaCount"),
        "{rules}"
    );

    let ta = find("triggerauthentications.keda.sh");
    assert_eq!(ta["spec"]["scope"], "Namespaced");
    assert_eq!(
        ta["spec"]["names"]["shortNames"],
        serde_yaml::from_str::<serde_yaml::Value>("[ta, triggerauth]").unwrap()
    );
    let cta = find("clustertriggerauthentications.keda.sh");
    assert_eq!(cta["spec"]["scope"], "Cluster");
    assert_eq!(
        cta["spec"]["names"]["shortNames"],
        serde_yaml::from_str::<serde_yaml::Value>("[cta, clustertriggerauth]").unwrap()
    );
    let cta_spec = &cta["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert!(
        cta_spec["secretTargetRef"].is_mapping(),
        "flattened spec keeps its fields"
    );
    assert_eq!(
        cta_spec["hashiCorpVault"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
}
