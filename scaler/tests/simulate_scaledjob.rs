//! `prescale simulate` through the real binary on one file holding a ScaledObject and a
//! ScaledJob (the shipped examples side by side): both are replayed from the same kind of
//! series, the ScaledJob's Jobs follow KEDA's `default` strategy poll by poll, and the text
//! report shows both.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn simulate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .current_dir(root())
        .arg("simulate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Redis queue ScaledObject and the Redis job-queue ScaledJob in one file.
fn both(dir: &Path) -> String {
    let read = |f: &str| std::fs::read_to_string(root().join("deploy/examples").join(f)).unwrap();
    let text = format!(
        "{}\n---\n{}",
        read("redis-queue-with-floor.yaml"),
        read("redis-job-queue-scaledjob.yaml")
    );
    let p = dir.join("both.yaml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn args<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        file,
        "--from",
        "2026-12-07T07:00:00Z",
        "--to",
        "2026-12-07T10:00:00Z",
        "--series",
        "reports=deploy/examples/data/report-queue.csv",
        "--series",
        "job-importer/redis=deploy/examples/data/report-queue.csv",
        "--startup",
        "30s",
        "--job-duration",
        "2m",
    ];
    a.insert(0, "-f");
    a.extend(extra);
    a
}

#[test]
fn a_scaledobject_and_a_scaledjob_in_one_file_are_both_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let file = both(dir.path());
    let (ok, out, err) = simulate(&args(&file, &["-o", "json"]));
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["scaledObjects"][0]["name"], "report-worker");
    assert!(
        !v["scaledObjects"][0]["timeline"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let sj = &v["scaledJobs"][0];
    assert_eq!(sj["name"], "job-importer");
    assert_eq!(sj["strategy"], "default");
    assert_eq!(sj["pollSeconds"], 10.0);
    assert_eq!(sj["jobDurationSeconds"], 120.0);
    let rows = sj["timeline"].as_array().unwrap();
    let n = |r: &Value, k: &str| r[k].as_i64().unwrap();
    let mut created = 0;
    let mut saw_queue = false;
    for r in rows {
        let queue = r["values"][0].as_f64().unwrap();
        // KEDA: maxScale = ceil(min(queue / listLength 5, maxReplicaCount 20))
        assert_eq!(
            n(r, "maxScale"),
            (queue / 5.0).min(20.0).ceil() as i64,
            "{r}"
        );
        assert_eq!(r["active"], queue > 0.0, "{r}");
        // default strategy: min(scaleTo, maxScale - running), never below 0
        let want = if queue > 0.0 {
            (n(r, "maxScale") - n(r, "running"))
                .min(n(r, "queueLength"))
                .max(0)
        } else {
            0
        };
        assert_eq!(n(r, "created"), want, "{r}");
        assert!(n(r, "running") + n(r, "created") <= 20, "{r}");
        saw_queue |= queue > 20.0;
        created += n(r, "created");
    }
    assert!(saw_queue, "the queue grows past 20 items in the range");
    let totals = &sj["totals"];
    assert_eq!(totals["jobsCreated"].as_i64().unwrap(), created);
    assert!(
        created > 20,
        "Jobs are made again as earlier ones finish: {created}"
    );
    assert!(totals["peakRunning"].as_i64().unwrap() <= 20);

    let (ok, text, err) = simulate(&args(&file, &[]));
    assert!(ok, "{err}");
    assert!(text.contains("ScaledObject school/report-worker"), "{text}");
    assert!(
        text.contains("ScaledJob jobs/job-importer") && text.contains("strategy default"),
        "{text}"
    );
    assert!(text.contains("event KEDAJobsCreated: Created"), "{text}");
    assert!(text.contains("Jobs created"), "{text}");
}

#[test]
fn a_scaledjob_trigger_without_a_series_is_named() {
    let (ok, _, err) = simulate(&[
        "-f",
        "deploy/examples/redis-job-queue-scaledjob.yaml",
        "--from",
        "2026-12-07T07:00:00Z",
        "--to",
        "2026-12-07T08:00:00Z",
    ]);
    assert!(!ok);
    assert!(
        err.contains("ScaledJob jobs/job-importer") && err.contains("job-importer/redis"),
        "{err}"
    );
}

#[test]
fn the_chart_draws_the_scaledobject_then_the_scaledjob() {
    let dir = tempfile::tempdir().unwrap();
    let file = both(dir.path());
    let svg = dir.path().join("both.svg");
    let (ok, out, err) = simulate(&args(&file, &["--plot", svg.to_str().unwrap()]));
    assert!(ok, "{err}");
    assert!(out.contains("chart written to"), "{out}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the chart is well-formed XML");
    let labels: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect();
    for want in [
        "ScaledObject school/report-worker: replicas",
        "ScaledJob jobs/job-importer: queue length",
        "ScaledJob jobs/job-importer: Jobs",
        "queue length (scaleTo)",
        "Jobs unfinished",
        "Jobs pending",
        "Jobs created at the poll",
        "maxReplicaCount",
    ] {
        assert!(
            labels.iter().any(|l| l.contains(want)),
            "no {want:?} in {labels:?}"
        );
    }
}
