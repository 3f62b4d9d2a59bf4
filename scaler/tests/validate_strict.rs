//! `prescale validate` is strict and fast: it fails when it checked nothing or met a keda.sh
//! document it does not know, rejects numbers the apiserver or the HPA would reject, warns
//! (or with `--strict` fails) on metadata keys a trigger does not read, never prints a
//! secret, ends quietly when its reader goes away, and refuses oversized or deeply nested
//! input before parsing it. Runs the real binary.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/validate-strict",
        name,
    ]
    .iter()
    .collect();
    p.display().to_string()
}

/// Runs `prescale` and kills it if it takes longer than `limit`.
fn prescale_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("prescale {args:?} ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn prescale(args: &[&str]) -> Output {
    prescale_within(args, Duration::from_secs(120))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn nothing_checked_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    let o = prescale(&["validate", "-f", &empty]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{empty}: error: no ScaledObject (apiVersion keda.sh/v1alpha1) found; nothing was checked"
        )),
        "{}",
        text(&o)
    );

    let no_yaml = tempfile::tempdir().unwrap();
    std::fs::write(no_yaml.path().join("notes.txt"), "kind: ScaledObject").unwrap();
    let o = prescale(&["validate", "-f", &no_yaml.path().display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no ScaledObject"), "{}", text(&o));

    let kinds = fixture("kinds.yaml");
    let o = prescale(&["validate", "-f", &kinds]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    for want in [
        "error: document 0: unknown kind \"ScaledObject\" of apiVersion \"keda.sh/v1beta1\" (known: keda.sh/v1alpha1 ScaledObject, ScaledJob, TriggerAuthentication, ClusterTriggerAuthentication)",
        "error: document 1: unknown kind \"ScaledObjekt\" of apiVersion \"keda.sh/v1alpha1\"",
    ] {
        assert!(out.contains(&format!("{kinds}: {want}")), "{want}\n{out}");
    }
}

#[test]
fn numbers_the_apiserver_or_the_hpa_would_reject() {
    let file = fixture("bounds.yaml");
    let o = prescale(&["validate", "-f", &file]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    for want in [
        "ScaledObject shop/negative-max: spec.maxReplicaCount: must be at least 1 (got -1)",
        "ScaledObject shop/negatives: spec.pollingInterval: must be at least 1 (got 0)",
        "ScaledObject shop/negatives: spec.cooldownPeriod: must be at least 0 (got -30)",
        "ScaledObject shop/negatives: spec.initialCooldownPeriod: must be at least 0 (got -1)",
        "ScaledObject shop/negatives: spec.minReplicaCount: must be at least 0 (got -1)",
        "ScaledObject shop/polling-minus-one: spec.pollingInterval: must be at least 1 (got -1)",
        "ScaledObject shop/polling-minus-one: spec.idleReplicaCount: IdleReplicaCount=2 must be less than MinReplicaCount=2",
        "ScaledObject shop/bad-behavior: spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds: must be between 0 and 3600 (got 7200)",
        "ScaledObject shop/bad-behavior: spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].value: must be at least 1 (got 0)",
    ] {
        assert!(
            out.contains(&format!("{file}: {want}")),
            "missing:\n  {want}\nin:\n{out}"
        );
    }
    assert!(
        out.contains("4 ScaledObject(s) checked, 4 problem source(s)"),
        "{out}"
    );
}

#[test]
fn unknown_keys_warn_and_fail_with_strict_and_secrets_stay_hidden() {
    let file = fixture("metadata.yaml");
    let o = prescale(&["validate", "-f", &file]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "warnings only:\n{out}");
    let obj = format!("{file}: ScaledObject shop/typos: warning: ");
    for want in [
        "spec.triggers[0].metadata.listLenght: unknown metadata key for redis (not read by this trigger type); did you mean \"listLength\"?",
        "spec.triggers[1].metadata.treshold: unknown metadata key for prometheus (not read by this trigger type); did you mean \"threshold\"?",
        "spec.triggers[2].metadata.connectionString: unknown metadata key for mysql (not read by this trigger type)",
        "spec.triggers[0].metadata.password: a credential is written inline in the trigger metadata",
        "spec.triggers[0].metadata.address: the value carries a password inline",
        "spec.triggers[1].metadata.serverAddress: scheme \"file\" is not http or https",
        "spec.triggers[2].metadata.connectionString: the value carries a password inline",
    ] {
        assert!(
            out.contains(&format!("{obj}{want}")),
            "missing:\n  {want}\nin:\n{out}"
        );
    }
    assert!(!out.contains("hunter2"), "a secret value leaked:\n{out}");

    let o = prescale(&["validate", "--strict", "-f", &file]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("{file}: ScaledObject shop/typos: trigger 0: spec.triggers[0].metadata.listLenght: unknown metadata key for redis")),
        "{out}"
    );
    let o = prescale(&["validate", "--strict", "-o", "json", "-f", &file]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("hunter2"));
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let examples: PathBuf = [env!("CARGO_MANIFEST_DIR"), "../deploy/examples"]
        .iter()
        .collect();
    for output in ["text", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args(["validate", "-o", output, "-f"])
            .arg(&examples)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // like `| head -0`: the reader is gone before the first line is written
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{output}: {stderr}");
        assert!(stderr.is_empty(), "{output}: {stderr}");
    }
}

#[test]
fn oversized_and_deeply_nested_input_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.yaml");
    std::fs::write(&deep, "a: ".to_string() + &"[".repeat(200_000)).unwrap();
    let deep = deep.display().to_string();
    let o = prescale_within(&["validate", "-f", &deep], Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{deep}: error: line 1: nested deeper than 64 levels; not parsed"
        )),
        "{}",
        text(&o)
    );
    let four = dir.path().join("four.yaml");
    std::fs::write(&four, "a: [[[[1]]]]\n").unwrap();
    let o = prescale(&[
        "validate",
        "--max-depth",
        "3",
        "-f",
        &four.display().to_string(),
    ]);
    assert!(
        text(&o).contains("line 1: nested deeper than 3 levels"),
        "{}",
        text(&o)
    );

    let bounds = fixture("bounds.yaml");
    let o = prescale(&["validate", "--max-file-size", "1Ki", "-f", &bounds]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{bounds}: error: larger than the limit of 1024 bytes (--max-file-size)"
        )),
        "{}",
        text(&o)
    );
}
