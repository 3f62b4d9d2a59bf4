//! Issue #5's "done when": for the shipped class-peak and sales-event examples, capacity is in
//! place (HPA floor raised and the workload scaled) `leadTime` before every event start, exactly
//! at the wanted count, and back to normal after, with every step visible in status, Events and
//! metrics. The manifests are loaded from `deploy/examples/` as shipped; the test changes only
//! what cannot be real here (the Secret's DSN points at the test's MariaDB, `pollingInterval`
//! is 1 s) and moves a manual clock through the events.

mod support;

use base64::Engine;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use prescale_kube_standin::ApiServer;
use prescale_scalers::ManualClock;
use prescale_testkit::mariadb::MariaDb;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// Puts every document of a shipped example into the stand-in, after `edit`.
fn load_example(api: &ApiServer, file: &str, edit: impl Fn(&mut Value)) {
    let path = format!("{}/../deploy/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let mut v: Value = serde_json::to_value(
            <serde_yaml::Value as serde::Deserialize>::deserialize(doc).unwrap(),
        )
        .unwrap();
        edit(&mut v);
        if v["kind"] == "Secret"
            && let Some(sd) = v.as_object_mut().unwrap().remove("stringData")
        {
            let data: serde_json::Map<String, Value> = sd
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, s)| {
                    let b = base64::engine::general_purpose::STANDARD.encode(s.as_str().unwrap());
                    (k.clone(), json!(b))
                })
                .collect();
            v["data"] = Value::Object(data);
        }
        if v["kind"] == "ScaledObject" {
            v["spec"]["pollingInterval"] = json!(1);
        }
        api.put(v);
    }
}

fn hpa_bounds(api: &ApiServer, ns: &str, name: &str) -> (i64, i64) {
    hpa(api, ns, name).map_or((-1, -1), |h| {
        (
            h["spec"]["minReplicas"].as_i64().unwrap_or(-1),
            h["spec"]["maxReplicas"].as_i64().unwrap_or(-1),
        )
    })
}

/// One workload of a test and the clock that moves through its events.
struct Scene<'a> {
    clock: &'a ManualClock,
    api: &'a ApiServer,
    ns: &'a str,
    name: &'a str,
}

impl Scene<'_> {
    fn bounds(&self) -> (i64, i64) {
        hpa_bounds(self.api, self.ns, &format!("keda-hpa-{}", self.name))
    }

    /// Sets the clock and waits until the HPA has `(min, max)` and, when `scaled`, the
    /// workload `min` replicas.
    async fn at(&self, t: DateTime<Utc>, want: (i64, i64), scaled: bool) {
        self.clock.set(t);
        let what = format!("{}/{} at {t}: HPA bounds {want:?}", self.ns, self.name);
        eventually(15, &what, || (self.bounds() == want).then_some(())).await;
        if scaled {
            eventually(10, &format!("{what}, workload scaled"), || {
                (replicas(self.api, self.ns, self.name) == want.0).then_some(())
            })
            .await;
        }
    }

    /// Holds `t` for a few polls and checks the bounds did not move.
    async fn still(&self, t: DateTime<Utc>, want: (i64, i64)) {
        self.clock.set(t);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(self.bounds(), want, "{}/{} at {t}", self.ns, self.name);
    }
}

fn shanghai(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_peaks_from_the_mysql_schedule_are_ready_by_their_start() {
    let db = MariaDb::start();
    let mut conn = mysql_async::Conn::new(db.client_opts()).await.unwrap();
    use mysql_async::prelude::Queryable;
    // the table of the example's comment; 19:00 maths (3,000) and physics (1,200) → 105 pods,
    // above maxReplicaCount 100; 20:00 chemistry (500) → 13 pods
    conn.query_drop(
        "CREATE TABLE classes (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(200), \
         starts_at DATETIME NOT NULL, ends_at DATETIME NOT NULL, enrolled INT NOT NULL, KEY (starts_at))",
    )
    .await
    .unwrap();
    conn.query_drop(
        "INSERT INTO classes (title, starts_at, ends_at, enrolled) VALUES \
         ('maths', '2030-03-04 19:00:00', '2030-03-04 20:00:00', 3000), \
         ('physics', '2030-03-04 19:00:00', '2030-03-04 19:50:00', 1200), \
         ('chemistry', '2030-03-04 20:00:00', '2030-03-04 21:00:00', 500)",
    )
    .await
    .unwrap();
    conn.disconnect().await.unwrap();

    let api = ApiServer::new();
    let dsn = db.go_dsn("");
    load_example(&api, "class-peaks-mysql-calendar.yaml", |v| {
        if v["kind"] == "Secret" {
            v["stringData"]["dsn"] = json!(dsn);
        }
    });
    // 20 measured starts of 10 s … 200 s: p90 180 s, + 30 s margin → lead 3m30s
    for i in 1..=20 {
        started_pod(
            &api,
            "school",
            &format!("classroom-{i}"),
            "classroom",
            i * 10,
        );
    }
    let clock = ManualClock::new(shanghai(2030, 3, 4, 17, 0, 0));
    let op = Operator::start_full(
        &api,
        None,
        None,
        Arc::new(clock.clone()),
        prescale::prescaling::startup::LeadSettings {
            refresh: Duration::from_secs(1),
            ..Default::default()
        },
    );
    let scene = Scene {
        clock: &clock,
        api: &api,
        ns: "school",
        name: "classroom",
    };
    let so = eventually(20, "the plan in status", || {
        scaled_object(&api, "school", "classroom")
            .filter(|s| !s["status"]["preScaling"]["nextChanges"].is_null())
    })
    .await;
    let ps = &so["status"]["preScaling"];
    assert_eq!(
        ps["leadTimes"][0]["source"],
        "leadTime auto = 3m30s from 20 starts (p90 3m0s + 30s margin)",
        "{ps}"
    );
    let lead = Span::seconds(210);
    let first = shanghai(2030, 3, 4, 19, 0, 0);
    let second = shanghai(2030, 3, 4, 20, 0, 0);
    let plan: Vec<(String, i64)> = ps["nextChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["time"].as_str().unwrap().to_string(),
                c["minReplicas"].as_i64().unwrap(),
            )
        })
        .collect();
    let z = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        plan,
        vec![
            (z(first - lead), 100),
            (z(shanghai(2030, 3, 4, 19, 50, 0)), 75),
            (z(second - lead), 88),
            (z(second), 13),
            (z(shanghai(2030, 3, 4, 21, 0, 0)), 2)
        ],
        "{ps}"
    );
    assert_eq!(ps["nextChanges"][0]["leadTime"], "3m30s");
    assert_eq!(hpa_bounds(&api, "school", "keda-hpa-classroom"), (2, 100));

    // nothing before start − lead; then 100 pods (105 wanted, capped by maxReplicaCount)
    scene
        .still(first - lead - Span::seconds(10), (2, 100))
        .await;
    scene.at(first - lead, (100, 100), true).await;
    let so = scaled_object(&api, "school", "classroom").unwrap();
    let c = condition(&so, "PreScaling").unwrap();
    assert_eq!((c.0.as_str(), c.1.as_str()), ("True", "FloorRaised"));
    assert!(c.2.starts_with("minReplicas raised from 2 to 100 (floor 105 capped by maxReplicaCount) by mysql-calendar: 2 event(s) with load 4200 at 40 per replica; leadTime auto = 3m30s"), "{}", c.2);
    assert!(!events(&api, "classroom", "PreScaledTarget").is_empty());
    // physics ends at 19:50: maths alone, 75; from 20:00 − lead chemistry counts too: 3,500 → 88
    scene
        .at(shanghai(2030, 3, 4, 19, 50, 0), (75, 100), false)
        .await;
    scene
        .still(second - lead - Span::seconds(10), (75, 100))
        .await;
    scene.at(second - lead, (88, 100), false).await;
    scene.at(second, (13, 100), false).await;
    // after the last class, back to the ScaledObject's own minimum
    scene
        .at(shanghai(2030, 3, 4, 21, 0, 0), (2, 100), false)
        .await;
    let restored = events(&api, "classroom", "PreScalingFloorRestored");
    assert!(
        restored.iter().any(|e| e.contains("restored from 13 to 2")),
        "{restored:?}"
    );
    let text = op.metrics_text();
    assert!(
        text.contains(
            "prescale_prescaling_min_replicas{namespace=\"school\",scaled_object=\"classroom\"} 2"
        ),
        "{text}"
    );
    assert!(text.contains("prescale_pod_startup_p90_seconds{namespace=\"school\",workload=\"Deployment/classroom\"} 180.0"), "{text}");
    assert!(text.contains("prescale_prescaling_lead_time_seconds{namespace=\"school\",scaled_object=\"classroom\"} 210.0"), "{text}");
    // the workload never went above maxReplicaCount
    assert!(replicas(&api, "school", "classroom") <= 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_midnight_sale_is_ready_ten_minutes_early_and_the_night_cap_follows() {
    let api = ApiServer::new();
    load_example(&api, "midnight-sale-ready-by-t.yaml", |_| {});
    // Friday 2026-12-11, before the weekly flash sale
    let clock = ManualClock::new(shanghai(2026, 12, 11, 19, 40, 0));
    let op = Operator::start_full(
        &api,
        None,
        None,
        Arc::new(clock.clone()),
        Default::default(),
    );
    let (ns, name) = ("sales", "checkout");
    let scene = Scene {
        clock: &clock,
        api: &api,
        ns,
        name,
    };
    eventually(20, "HPA", || hpa(&api, ns, "keda-hpa-checkout")).await;
    assert_eq!(hpa_bounds(&api, ns, "keda-hpa-checkout"), (3, 80));
    // the Friday flash sale 20:00–23:00: 10 pods from 19:50
    scene
        .still(shanghai(2026, 12, 11, 19, 49, 50), (3, 80))
        .await;
    scene
        .at(shanghai(2026, 12, 11, 19, 50, 0), (10, 80), true)
        .await;
    scene
        .at(shanghai(2026, 12, 11, 23, 0, 0), (3, 80), false)
        .await;
    // Double 12 at midnight: 50 pods from 23:50, exactly
    let so = eventually(10, "status after 23:00", || {
        scaled_object(&api, ns, name).filter(|s| s["status"]["preScaling"]["minReplicas"] == 3)
    })
    .await;
    assert_eq!(
        so["status"]["preScaling"]["nextChanges"][0]["time"], "2026-12-11T15:50:00Z",
        "{}",
        so["status"]["preScaling"]
    );
    assert_eq!(
        so["status"]["preScaling"]["nextChanges"][0]["minReplicas"],
        50
    );
    scene
        .still(shanghai(2026, 12, 11, 23, 49, 50), (3, 80))
        .await;
    scene
        .at(shanghai(2026, 12, 11, 23, 50, 0), (50, 80), true)
        .await;
    let raised = events(&api, name, "PreScalingFloorRaised");
    assert!(
        raised.iter().any(|e| e.contains(
            "raised from 3 to 50 by 2026-12-12T00:00/2026-12-12T02:00=50; leadTime 10m0s"
        )),
        "{raised:?}"
    );
    // 02:00: the sale ends and the night cap begins; 07:00 the cap is lifted
    scene
        .at(shanghai(2026, 12, 12, 2, 0, 0), (3, 6), false)
        .await;
    pre_scaling_reason(&api, ns, name, "Capped").await;
    assert!(!events(&api, name, "PreScalingCapChanged").is_empty());
    scene
        .at(shanghai(2026, 12, 12, 7, 0, 0), (3, 80), false)
        .await;
    pre_scaling_reason(&api, ns, name, "NoFloor").await;
    let text = op.metrics_text();
    assert!(
        text.contains(
            "prescale_prescaling_max_replicas{namespace=\"sales\",scaled_object=\"checkout\"} 80"
        ),
        "{text}"
    );
}
