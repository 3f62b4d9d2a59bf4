//! `prescale simulate --live-history`: triggers without a series read their own history from
//! their own backends — a real Prometheus (range queries over the simulated range, backfilled
//! with `promtool`) and a real MariaDB (the calendar's query with `:from`/`:to` bound to the
//! range) — and the simulation runs on it. A backend that cannot be reached is a clear error.

use prescale_testkit::mariadb::MariaDb;
use prescale_testkit::prometheus::PrometheusServer;
use serde_json::Value;
use std::process::Command;

fn simulate(dir: &std::path::Path, manifest: &str, from: &str, to: &str) -> (bool, Value, String) {
    let file = dir.join("so.yaml");
    std::fs::write(&file, manifest).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["simulate", "-f"])
        .arg(&file)
        .args([
            "--from",
            from,
            "--to",
            to,
            "--live-history",
            "--startup",
            "30s",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:1}]
"#;

#[test]
fn prometheus_history_drives_the_simulation() {
    // the last two hours, one point a minute: 100 requests/s, 900 in the last hour
    let now = chrono::Utc::now().timestamp();
    let start = now - 2 * 3600;
    let points: Vec<(i64, f64)> = (0..=120)
        .map(|m| {
            let t = start + m * 60;
            (t, if m >= 60 { 900.0 } else { 100.0 })
        })
        .collect();
    let prom = PrometheusServer::start_with_backfill("shop_requests", &points, &[]);
    prom.instant_query("shop_requests");
    let manifest = format!(
        "{DEPLOYMENT}---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: web, namespace: shop}}
spec:
  scaleTargetRef: {{name: web}}
  pollingInterval: 30
  minReplicaCount: 1
  maxReplicaCount: 20
  triggers:
    - type: prometheus
      name: requests
      metadata: {{serverAddress: '{}', query: shop_requests, threshold: '100'}}
",
        prom.address()
    );
    let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339();
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = simulate(dir.path(), &manifest, &at(start + 300), &at(now - 300));
    assert!(ok, "{err}");
    let so = &out["scaledObjects"][0];
    assert!(
        so["inputs"].to_string().contains("range query"),
        "{}",
        so["inputs"]
    );
    let timeline = so["timeline"].as_array().unwrap();
    let first = &timeline[0];
    assert_eq!(first["values"][0], 100.0, "{first}");
    // 900 / 100 per replica: the HPA model reaches 9 in the second hour
    let last = timeline.last().unwrap();
    assert_eq!(last["values"][0], 900.0, "{last}");
    assert_eq!(last["replicas"], 9, "{last}");

    // a Prometheus that is gone is a clear error naming the trigger
    drop(prom);
    let (ok, _, err) = simulate(dir.path(), &manifest, &at(start + 300), &at(now - 300));
    assert!(!ok);
    assert!(err.contains("prometheus history of trigger 0"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_reads_its_events_from_mariadb() {
    let db = MariaDb::start();
    db.sql(&[
        "CREATE TABLE classes (starts_at DATETIME NOT NULL, ends_at DATETIME NOT NULL, enrolled INT NOT NULL)",
        "INSERT INTO classes VALUES ('2026-12-02 19:00:00', '2026-12-02 20:00:00', 200), ('2026-12-03 19:00:00', '2026-12-03 20:00:00', 80)",
    ])
    .await;
    let manifest = format!(
        "{DEPLOYMENT}---
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
stringData: {{dsn: '{}'}}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {{name: db, namespace: shop}}
spec:
  secretTargetRef: [{{parameter: connectionString, name: db, key: dsn}}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: web, namespace: shop}}
spec:
  scaleTargetRef: {{name: web}}
  pollingInterval: 30
  minReplicaCount: 1
  maxReplicaCount: 20
  triggers:
    - type: mysql-calendar
      name: classes
      metadata:
        query: SELECT starts_at, ends_at, enrolled FROM classes WHERE ends_at > :from AND starts_at < :to
        loadPerReplica: '40'
        timezone: Asia/Shanghai
        leadTime: 5m
      authenticationRef: {{name: db}}
",
        db.go_dsn("")
    );
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        simulate(
            dir.path(),
            &manifest,
            "2026-12-02T18:30:00+08:00",
            "2026-12-02T20:30:00+08:00",
        )
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    let so = &out["scaledObjects"][0];
    assert!(
        so["inputs"]
            .to_string()
            .contains("event(s) from live history"),
        "{}",
        so["inputs"]
    );
    let events = so["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "only the class within the range: {events:?}"
    );
    // 200 students / 40 per replica, raised 5 minutes ahead, 30 s start-up
    assert_eq!(events[0]["wanted"], 5);
    assert_eq!(events[0]["start"], "2026-12-02T11:00:00Z");
    let lead = events[0]["leadSeconds"].as_i64().unwrap();
    assert!((300..=302).contains(&lead), "{lead}");
    assert_eq!(events[0]["maxShortfall"], 0);
}
