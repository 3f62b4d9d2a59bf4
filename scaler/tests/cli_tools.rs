//! `install` and the client flags as tools: bad inputs are refused with what is wrong,
//! `--output-dir` writes the same objects as the stream, and `--kubeconfig`/`--context` pick
//! the cluster.

use prescale::kube_client::ClientArgs;
use std::process::Command;
use std::time::Duration;

fn prescale(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn install_refuses_what_the_cluster_would_refuse() {
    for (args, want) in [
        (
            vec!["--namespace", "Prescale_NS"],
            "is not a valid namespace name",
        ),
        (vec!["--namespace=x-"], "is not a valid namespace name"),
        (
            vec!["--namespace", &"n".repeat(64)],
            "is not a valid namespace name",
        ),
        (vec!["--replicas", "0"], "--replicas must be at least 1"),
        (vec!["--image", ""], "is not an image reference"),
        (vec!["--image", "a b"], "is not an image reference"),
    ] {
        let mut all = vec!["install"];
        all.extend(args.iter().copied());
        let (ok, out, err) = prescale(&all);
        assert!(!ok, "{args:?} passed");
        assert!(out.is_empty(), "{args:?} printed manifests");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// The objects of a YAML stream as (kind, name), sorted.
fn objects(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &serde_json::Value| !v.is_null())
        .map(|v| {
            (
                v["kind"].as_str().unwrap().to_string(),
                v["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn output_dir_holds_the_same_objects_as_the_stream() {
    let (ok, stream, err) = prescale(&[
        "install",
        "--namespace",
        "ops",
        "--image",
        "registry.local/prescale:1",
    ]);
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("deploy");
    let (ok, out, err) = prescale(&[
        "install",
        "--namespace",
        "ops",
        "--image",
        "registry.local/prescale:1",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("kubectl apply -k"), "{out}");
    let mut crds = String::new();
    for entry in std::fs::read_dir(out_dir.join("crds")).unwrap() {
        crds.push_str("---\n");
        crds.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let rest = std::fs::read_to_string(out_dir.join("prescale.yaml")).unwrap();
    assert!(
        objects(&crds)
            .iter()
            .all(|(k, _)| k == "CustomResourceDefinition")
    );
    assert!(out_dir.join("kustomization.yaml").is_file());
    let mut both = objects(&crds);
    both.extend(objects(&rest));
    both.sort();
    assert_eq!(both, objects(&stream));
    assert!(both.len() > 10, "{both:?}");
}

fn args(kubeconfig: Option<&std::path::Path>, context: Option<&str>) -> ClientArgs {
    ClientArgs {
        kube_api_qps: 10.0,
        kube_api_burst: 10,
        kube_api_connect_timeout: Duration::from_secs(1),
        kube_api_request_timeout: Duration::from_secs(1),
        kubeconfig: kubeconfig.map(|p| p.to_path_buf()),
        context: context.map(str::to_string),
    }
}

#[tokio::test]
async fn kubeconfig_and_context_pick_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    std::fs::write(
        &file,
        r#"apiVersion: v1
kind: Config
current-context: staging
clusters:
  - name: staging
    cluster: {server: "https://127.0.0.1:6441", insecure-skip-tls-verify: true}
  - name: production
    cluster: {server: "https://127.0.0.1:6442", insecure-skip-tls-verify: true}
users:
  - name: me
    user: {token: abc}
contexts:
  - name: staging
    context: {cluster: staging, user: me}
  - name: production
    context: {cluster: production, user: me}
"#,
    )
    .unwrap();
    let current = args(Some(&file), None).config().await.unwrap();
    assert_eq!(current.cluster_url.to_string(), "https://127.0.0.1:6441/");
    let chosen = args(Some(&file), Some("production"))
        .config()
        .await
        .unwrap();
    assert_eq!(chosen.cluster_url.to_string(), "https://127.0.0.1:6442/");
    let err = args(Some(&file), Some("nosuch"))
        .config()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("kubeconfig context \"nosuch\""), "{err}");
    let err = args(Some(&dir.path().join("missing")), None)
        .config()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--kubeconfig"), "{err}");
    // the flags reach every command that talks to a cluster
    let (ok, _, err) = prescale(&[
        "explain",
        "x",
        "--kubeconfig",
        file.to_str().unwrap(),
        "--context",
        "nosuch",
    ]);
    assert!(!ok);
    assert!(err.contains("kubeconfig context \"nosuch\""), "{err}");
}
