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
    assert_eq!(docs.len(), 4);
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

#[test]
fn scaledjob_crd_has_keda_names_columns_and_a_job_template() {
    let stream = crds::yaml_stream().unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&stream)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let sj = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "scaledjobs.keda.sh")
        .unwrap();
    assert_eq!(sj["spec"]["scope"], "Namespaced");
    assert_eq!(sj["spec"]["names"]["kind"], "ScaledJob");
    assert_eq!(sj["spec"]["names"]["shortNames"][0], "sj");
    let v = &sj["spec"]["versions"][0];
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
            "Min",
            "Max",
            "Ready",
            "Active",
            "Paused",
            "Triggers",
            "Authentications",
            "Age"
        ]
    );
    let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let required: Vec<&str> = spec["required"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(required, ["jobTargetRef", "triggers"]);
    // the Job template is the full batch/v1 JobSpec schema (containers required in a pod spec)
    let job = &spec["properties"]["jobTargetRef"];
    assert_eq!(job["required"][0], "template");
    let pod = &job["properties"]["template"]["properties"]["spec"];
    assert_eq!(pod["required"][0], "containers");
    for k in [
        "pollingInterval",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "rolloutStrategy",
        "rollout",
        "envSourceContainerName",
        "minReplicaCount",
        "maxReplicaCount",
        "scalingStrategy",
    ] {
        assert!(spec["properties"][k].is_mapping(), "{k} missing");
    }
    let strategy = &spec["properties"]["scalingStrategy"]["properties"];
    for k in [
        "strategy",
        "customScalingQueueLengthDeduction",
        "customScalingRunningJobPercentage",
        "pendingPodConditions",
        "multipleScalersCalculation",
    ] {
        assert!(strategy[k].is_mapping(), "scalingStrategy.{k} missing");
    }
    // small enough for a client-side `kubectl apply` (last-applied annotation < 256 kB)
    let json = serde_json::to_string(
        &crds::all()
            .unwrap()
            .iter()
            .find(|(n, _)| *n == "keda.sh_scaledjobs.yaml")
            .map(|(_, y)| serde_yaml::from_str::<serde_json::Value>(y).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(json.len() < 256 * 1024, "{} bytes", json.len());
}
