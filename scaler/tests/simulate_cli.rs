//! `prescale simulate` through the real binary on the shipped examples and their data
//! (`deploy/examples/data/`): the sales event's floor goes up `leadTime` before midnight and the
//! 50 pods are Ready at 00:00 given the start-up delay; every example's JSON equals its golden
//! file (numbers, not pixels: `PRESCALE_BLESS=1` rewrites them after a reviewed change); the
//! chart is SVG that parses and holds every series; bad input is a clear error naming the file
//! and line, or a stated assumption.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `prescale simulate ARGS` from the repository root: (success, stdout, stderr).
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

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let (ok, out, err) = simulate(&all);
    assert!(ok, "simulate {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The README's first command, minus the chart.
const SALE: &[&str] = &[
    "-f",
    "deploy/examples/midnight-sale-ready-by-t.yaml",
    "--from",
    "2026-12-11T23:00:00+08:00",
    "--to",
    "2026-12-12T03:00:00+08:00",
    "--series",
    "cpu=deploy/examples/data/midnight-sale-cpu.csv",
    "--startup",
    "6m",
];

const CLASSES: &[&str] = &[
    "-f",
    "deploy/examples/class-peaks-mysql-calendar.yaml",
    "--from",
    "2026-12-02T18:00:00+08:00",
    "--to",
    "2026-12-02T22:00:00+08:00",
    "--series",
    "classes=deploy/examples/data/class-calendar.csv",
    "--series",
    "cpu=deploy/examples/data/classroom-cpu.csv",
    "--startup",
    "p50=2m,p90=4m",
];

const QUEUE: &[&str] = &[
    "-f",
    "deploy/examples/redis-queue-with-floor.yaml",
    "--from",
    "2026-12-07T07:00:00Z",
    "--to",
    "2026-12-07T10:00:00Z",
    "--series",
    "reports=deploy/examples/data/report-queue.csv",
];

const FORECAST: &[&str] = &[
    "-f",
    "deploy/examples/daily-traffic-forecast.yaml",
    "--from",
    "2026-12-11T22:00:00+08:00",
    "--to",
    "2026-12-12T02:00:00+08:00",
    "--series",
    "requests=deploy/examples/data/shop-requests.csv",
];

fn at(text: &Value) -> chrono::DateTime<chrono::Utc> {
    text.as_str().unwrap().parse().unwrap()
}

#[test]
fn the_sale_floor_rises_lead_time_before_midnight_and_50_pods_are_ready_at_0000() {
    let out = json(SALE);
    let so = &out["scaledObjects"][0];
    let events = so["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "one window (Double 12) in the range: {events:?}"
    );
    let e = &events[0];
    let start = at(&e["start"]);
    assert_eq!(
        start.to_rfc3339(),
        "2026-12-11T16:00:00+00:00",
        "00:00 Asia/Shanghai"
    );
    assert_eq!(e["wanted"], 50);
    // raised 10 minutes before the start (the poll loop wakes up to 2 s ahead of a change)
    let lead = e["leadSeconds"].as_i64().unwrap();
    assert!((600..=602).contains(&lead), "lead {lead}");
    // 6 minutes of start-up after the raise: all 50 Ready before midnight
    let raised = at(&e["raisedAt"]);
    let ready = at(&e["readyAt"]);
    assert_eq!((ready - raised).num_seconds(), 360);
    assert_eq!(e["readySecondsBeforeStart"].as_i64(), Some(lead - 360));
    assert_eq!(e["maxShortfall"], 0);
    assert_eq!(e["idealReplicaHours"], 100.0);
    let used = e["replicaHours"].as_f64().unwrap();
    assert!((100.0..=120.0).contains(&used), "{used}");
    // the timeline shows the raise as the operator makes it, with its Events
    let timeline = so["timeline"].as_array().unwrap();
    let raise = timeline
        .iter()
        .find(|r| r["minReplicas"] == 50)
        .expect("a row with the floor");
    assert_eq!(at(&raise["time"]), raised);
    assert_eq!(
        raise["replicas"], 50,
        "scaled at once, not at the next HPA sync"
    );
    let events_text = raise["events"].to_string();
    assert!(
        events_text.contains("PreScalingFloorRaised"),
        "{events_text}"
    );
    assert!(events_text.contains("PreScaledTarget"), "{events_text}");
    // never above maxReplicaCount, never below the floor while it holds
    for r in timeline {
        assert!(r["replicas"].as_i64().unwrap() <= 80);
        let t = at(&r["time"]);
        if t >= raised && t < at(&e["end"]) {
            assert!(r["replicas"].as_i64().unwrap() >= 50, "{r}");
        }
    }
}

#[test]
fn the_text_report_has_the_table_the_events_and_the_window_summary() {
    let (ok, out, err) = simulate(SALE);
    assert!(ok, "{err}");
    assert!(out.contains("ScaledObject sales/checkout"), "{out}");
    assert!(out.contains("event PreScalingFloorRaised"), "{out}");
    assert!(out.contains("event windows:"), "{out}");
    assert!(
        out.contains("2026-12-12 00:00:00 to 2026-12-12 02:00:00: 50 wanted; floor raised at 2026-12-11 23:49:5"),
        "{out}"
    );
    assert!(
        out.contains("s before the start; largest shortfall 0"),
        "{out}"
    );
}

/// `scaledObjects[*].{name, events, timeline}` against `tests/golden/simulate/NAME.json`.
fn golden(name: &str, args: &[&str]) {
    let out = json(args);
    let got: Vec<Value> = out["scaledObjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|so| serde_json::json!({"name": so["name"], "events": so["events"], "timeline": so["timeline"]}))
        .collect();
    let got = Value::Array(got);
    let path = root().join(format!("scaler/tests/golden/simulate/{name}.json"));
    if std::env::var_os("PRESCALE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (PRESCALE_BLESS=1 writes it)", path.display())),
    )
    .unwrap();
    if got != want {
        let (g, w) = (got.to_string(), want.to_string());
        let at = g.chars().zip(w.chars()).take_while(|(a, b)| a == b).count();
        panic!(
            "{name}: the simulation differs from {} at character {at}:\n got …{}\nwant …{}",
            path.display(),
            g.chars()
                .skip(at.saturating_sub(80))
                .take(240)
                .collect::<String>(),
            w.chars()
                .skip(at.saturating_sub(80))
                .take(240)
                .collect::<String>()
        );
    }
}

#[test]
fn every_shipped_example_simulates_as_recorded() {
    golden("midnight-sale", SALE);
    golden("class-peaks", CLASSES);
    golden("redis-queue-with-floor", QUEUE);
    golden("daily-traffic-forecast", FORECAST);
}

#[test]
fn overlapping_classes_make_windows_that_say_what_they_continue() {
    let out = json(CLASSES);
    let events = out["scaledObjects"][0]["events"]
        .as_array()
        .unwrap()
        .clone();
    assert!(events.len() >= 3, "{events:?}");
    for (i, e) in events.iter().enumerate() {
        let hours = e["replicaHours"].as_f64().unwrap();
        assert!(hours > 0.0, "window {i} used no replicas: {e}");
        if e["continuesPrevious"] == true {
            assert!(e["raisedAt"].is_null() && e["leadSeconds"].is_null(), "{e}");
            assert!(
                e["readySecondsBeforeStart"].as_i64().unwrap_or(0) <= 0,
                "{e}"
            );
        } else {
            let lead = e["leadSeconds"]
                .as_i64()
                .expect("a raised window has a lead");
            assert!(lead > 0 && lead < 600, "auto lead within minutes: {e}");
        }
    }
}

#[test]
fn the_chart_is_svg_holding_every_series() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("sale.svg");
    let mut args = SALE.to_vec();
    let svg_arg = svg.to_str().unwrap();
    args.extend(["--plot", svg_arg]);
    let (ok, out, err) = simulate(&args);
    assert!(ok, "{err}");
    assert!(out.contains("chart written to"), "{out}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the chart is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let labels: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect();
    for want in [
        "sales value",
        "cpu value",
        "replicas (spec)",
        "Ready pods",
        "HPA desired",
        "HPA minReplicas (floor)",
        "HPA maxReplicas (cap)",
        "event window",
    ] {
        assert!(
            labels.iter().any(|l| l.contains(want)),
            "no {want:?} in {labels:?}"
        );
    }
    assert!(
        labels
            .iter()
            .any(|l| l.contains("floor 50 raised, lead 10m")),
        "{labels:?}"
    );
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path"))
        .count();
    assert!(lines >= 9, "{lines} lines");
    // PNG by the extension
    let png = dir.path().join("sale.png");
    let mut args = SALE.to_vec();
    args.extend(["--plot", png.to_str().unwrap(), "-o", "json"]);
    let (ok, _, err) = simulate(&args);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn bad_input_names_the_file_and_line_or_states_the_assumption() {
    let dir = tempfile::tempdir().unwrap();
    let base = |series: &str| {
        vec![
            "-f".to_string(),
            "deploy/examples/midnight-sale-ready-by-t.yaml".into(),
            "--from".into(),
            "2026-12-11T23:00:00+08:00".into(),
            "--to".into(),
            "2026-12-11T23:30:00+08:00".into(),
            "--series".into(),
            series.to_string(),
        ]
    };
    let run = |args: Vec<String>| simulate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let not_a_number = write(
        dir.path(),
        "nan.csv",
        "timestamp,value\n2026-12-11T22:00:00+08:00,1\n2026-12-11T23:00:00+08:00,lots\n",
    );
    let unsorted = write(
        dir.path(),
        "unsorted.csv",
        "timestamp,value\n2026-12-11T23:00:00+08:00,1\n2026-12-11T22:00:00+08:00,2\n",
    );
    let late = write(
        dir.path(),
        "late.csv",
        "timestamp,value\n2026-12-11T23:20:00+08:00,1\n",
    );
    let gap = write(
        dir.path(),
        "gap.csv",
        "timestamp,value\n2026-12-11T22:59:00+08:00,40\n2026-12-11T22:59:30+08:00,41\n2026-12-11T23:00:00+08:00,42\n2026-12-11T23:20:00+08:00,43\n2026-12-11T23:20:30+08:00,44\n",
    );
    for (args, want) in [
        (base(&format!("cpu={not_a_number}")), "nan.csv: line 3"),
        (base(&format!("cpu={unsorted}")), "unsorted.csv: line 3"),
        (base(&format!("cpu={late}")), "late.csv"),
        (
            [
                base(&format!("cpu={gap}")),
                vec!["--series".into(), format!("nosuch={gap}")],
            ]
            .concat(),
            "--series nosuch: no trigger has that name",
        ),
        (base("cpu"), "expected NAME=FILE"),
        (
            base(&format!("cpu={}", dir.path().join("missing.csv").display())),
            "missing.csv: cannot read",
        ),
    ] {
        let (ok, _, err) = run(args.clone());
        assert!(!ok, "{args:?} passed");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // a trigger without a series
    let (ok, _, err) = simulate(&SALE[..6]);
    assert!(!ok);
    assert!(err.contains("trigger 1 (cpu) has no series"), "{err}");
    // a gap is held at the last value and said so
    let (ok, out, err) = run(base(&format!("cpu={gap}")));
    assert!(ok, "{err}");
    assert!(out.contains("assumption:") && out.contains("held"), "{out}");
}
