//! Exact floors (issue #5, first part): a `schedule` window raises the HPA's `minReplicas` to its
//! count from `start − leadTime` and restores it after, with the PreScaling condition and Events.

mod support;

use chrono::{Duration as Seconds, DurationRound, Utc};
use prescale_kube_standin::ApiServer;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_raises_min_replicas_exactly_and_restores_it() {
    let api = ApiServer::new();
    let now = Utc::now().duration_trunc(Seconds::seconds(1)).unwrap();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    // starts in 20 s, already in force through the 30 s lead time; ends 15 s later
    let start = now + Seconds::seconds(20);
    let end = start + Seconds::seconds(15);
    let window = format!("{}/{}=7", fmt(start), fmt(end));
    api.put(deployment("shop", "checkout", 0, json!([])));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": "checkout"}, "pollingInterval": 1, "minReplicaCount": 0, "maxReplicaCount": 20,
                 "triggers": [{"type": "schedule", "metadata": {"timezone": "Etc/UTC", "leadTime": "30s", "windows": window}}]}}));
    let _op = Operator::start(&api, None);
    // from zero: activation goes straight to the floor, and the HPA holds it as minReplicas
    eventually(20, "target at the floor", || {
        (replicas(&api, "shop", "checkout") == 7).then_some(())
    })
    .await;
    let h = eventually(20, "HPA minReplicas 7", || {
        hpa(&api, "shop", "keda-hpa-checkout").filter(|h| h["spec"]["minReplicas"] == 7)
    })
    .await;
    assert_eq!(h["spec"]["maxReplicas"], 20);
    let so = eventually(10, "PreScaling=True", || {
        scaled_object(&api, "shop", "checkout")
            .filter(|s| condition(s, "PreScaling").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert_eq!(
        condition(&so, "PreScaling").unwrap().2,
        format!("minReplicas raised from 1 to 7 by {window}; leadTime 30s")
    );
    // the plan in status: the floor goes back to 1 at the window's end
    let ps = &so["status"]["preScaling"];
    assert_eq!(ps["minReplicas"], 7, "{ps}");
    assert_eq!(ps["maxReplicas"], 20);
    assert_eq!(ps["leadTimes"][0]["source"], "leadTime 30s");
    assert_eq!(ps["nextChanges"][0]["minReplicas"], 1, "{ps}");
    assert_eq!(
        ps["nextChanges"][0]["time"],
        end.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert!(!events(&api, "checkout", "PreScalingFloorRaised").is_empty());
    // after the window the floor goes back to the ScaledObject's own minimum
    let wait = (end - Utc::now()).num_seconds().max(0) as u64 + 20;
    eventually(wait, "HPA minReplicas restored", || {
        hpa(&api, "shop", "keda-hpa-checkout").filter(|h| h["spec"]["minReplicas"] == 1)
    })
    .await;
    assert!(!events(&api, "checkout", "PreScalingFloorRestored").is_empty());
    let so = pre_scaling_reason(&api, "shop", "checkout", "NoFloor").await;
    assert_eq!(condition(&so, "PreScaling").unwrap().0, "False");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_time_auto_uses_measured_pod_start_up_and_caps_lower_max_replicas() {
    let api = ApiServer::new();
    let now = Utc::now().duration_trunc(Seconds::seconds(1)).unwrap();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    api.put(deployment("school", "classes", 2, json!([])));
    // three measured starts: 60 s, 95 s, 80 s → p90 95 s, + 5 s margin = lead 100 s
    for (i, s) in [60, 95, 80].into_iter().enumerate() {
        started_pod(&api, "school", &format!("classes-{i}"), "classes", s);
    }
    // a pod of another workload does not count
    started_pod(&api, "school", "other-0", "other", 900);
    // the class starts in 90 s: with the measured lead its floor holds now; with the 10 s
    // default it would not
    let start = now + Seconds::seconds(90);
    let window = format!("{}/{}=6", fmt(start), fmt(start + Seconds::seconds(600)));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "classes", "namespace": "school"},
        "spec": {"scaleTargetRef": {"name": "classes"}, "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 20,
                 "triggers": [{"type": "schedule", "metadata": {"timezone": "Etc/UTC", "leadTime": "auto", "windows": window}}]}}));
    // a night cap in force now on another ScaledObject
    api.put(deployment("school", "reports", 9, json!([])));
    let cap = format!(
        "{}/{}=max:3",
        fmt(now - Seconds::seconds(60)),
        fmt(now + Seconds::seconds(3600))
    );
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "reports", "namespace": "school"},
        "spec": {"scaleTargetRef": {"name": "reports"}, "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 10,
                 "triggers": [{"type": "schedule", "metadata": {"timezone": "Etc/UTC", "windows": cap}}]}}));
    let op = Operator::start_full(
        &api,
        None,
        None,
        std::sync::Arc::new(prescale_scalers::SystemClock),
        prescale::prescaling::startup::LeadSettings {
            default: std::time::Duration::from_secs(10),
            margin: std::time::Duration::from_secs(5),
            history: 20,
            refresh: std::time::Duration::from_secs(1),
        },
    );
    eventually(20, "HPA minReplicas 6 from the measured lead", || {
        hpa(&api, "school", "keda-hpa-classes").filter(|h| h["spec"]["minReplicas"] == 6)
    })
    .await;
    eventually(10, "target scaled to the floor at once", || {
        (replicas(&api, "school", "classes") == 6).then_some(())
    })
    .await;
    let so = eventually(10, "status with the measured lead", || {
        scaled_object(&api, "school", "classes")
            .filter(|s| s["status"]["preScaling"]["minReplicas"] == 6)
    })
    .await;
    let source = "leadTime auto = 1m40s from 3 starts (p90 1m35s + 5s margin)";
    assert_eq!(so["status"]["preScaling"]["leadTimes"][0]["source"], source);
    let raised = events(&api, "classes", "PreScalingFloorRaised");
    assert!(raised.iter().any(|e| e.contains(source)), "{raised:?}");
    assert!(!events(&api, "classes", "PreScaledTarget").is_empty());
    let text = op.metrics_text();
    assert!(
        text.contains("prescale_pod_startup_p90_seconds{namespace=\"school\",workload=\"Deployment/classes\"} 95.0"),
        "{text}"
    );
    assert!(
        text.contains(
            "prescale_prescaling_min_replicas{namespace=\"school\",scaled_object=\"classes\"} 6"
        ),
        "{text}"
    );
    // the cap: maxReplicas 3, the Capped condition and an Event; minReplicas untouched
    let h = eventually(20, "HPA maxReplicas 3", || {
        hpa(&api, "school", "keda-hpa-reports").filter(|h| h["spec"]["maxReplicas"] == 3)
    })
    .await;
    assert_eq!(h["spec"]["minReplicas"], 1);
    let so = pre_scaling_reason(&api, "school", "reports", "Capped").await;
    assert_eq!(
        condition(&so, "PreScaling").unwrap().2,
        format!("maxReplicas lowered from 10 to 3 by {cap}")
    );
    assert_eq!(
        so["status"]["preScaling"]["nextChanges"][0]["maxReplicas"],
        10
    );

    // the pre-scaling trigger removed: bounds restored, nothing of it reported any more
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "reports", "namespace": "school"},
        "spec": {"scaleTargetRef": {"name": "reports"}, "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 10,
                 "triggers": [{"type": "cron", "metadata": {"timezone": "Etc/UTC", "start": "0 6 * * *", "end": "0 7 * * *", "desiredReplicas": "2"}}]}}));
    eventually(20, "HPA maxReplicas back to 10", || {
        hpa(&api, "school", "keda-hpa-reports").filter(|h| h["spec"]["maxReplicas"] == 10)
    })
    .await;
    eventually(10, "no PreScaling report", || {
        scaled_object(&api, "school", "reports")
            .filter(|s| condition(s, "PreScaling").is_none() && s["status"]["preScaling"].is_null())
    })
    .await;
    let text = op.metrics_text();
    assert!(
        !text.contains(
            "prescale_prescaling_max_replicas{namespace=\"school\",scaled_object=\"reports\"}"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_calendar_falls_back_and_keeps_the_floor_in_force() {
    use mysql_async::prelude::Queryable;
    use prescale_testkit::mariadb::{MariaDb, PASSWORD};
    let mut db = MariaDb::start();
    let mut conn = mysql_async::Conn::new(db.client_opts()).await.unwrap();
    let now = Utc::now();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    conn.query_drop("CREATE TABLE classes (starts_at DATETIME, ends_at DATETIME, students INT)")
        .await
        .unwrap();
    // a class in 30 s for 10 minutes, 200 students at 40 per pod: 5 pods, in force now (lead 1m)
    conn.exec_drop(
        "INSERT INTO classes VALUES (?, ?, 200)",
        (
            fmt(now + Seconds::seconds(30)),
            fmt(now + Seconds::seconds(630)),
        ),
    )
    .await
    .unwrap();
    conn.disconnect().await.unwrap();

    let api = ApiServer::new();
    api.put(deployment("school", "lessons", 1, json!([])));
    api.put(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "school"},
        "data": {"dsn": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, db.go_dsn(""))}}));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": "db", "namespace": "school"},
        "spec": {"secretTargetRef": [{"parameter": "connectionString", "name": "db", "key": "dsn"}]}}));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "lessons", "namespace": "school"},
        "spec": {"scaleTargetRef": {"name": "lessons"}, "pollingInterval": 1, "minReplicaCount": 1, "maxReplicaCount": 20,
                 "fallback": {"failureThreshold": 2, "replicas": 2},
                 "triggers": [{"type": "mysql-calendar", "authenticationRef": {"name": "db"},
                               "metadata": {"query": "SELECT starts_at, ends_at, students FROM classes WHERE ends_at > :from AND starts_at < :to",
                                            "loadPerReplica": "40", "leadTime": "1m"}}]}}));
    let _op = Operator::start(&api, None);
    eventually(20, "floor 5 from the calendar", || {
        hpa(&api, "school", "keda-hpa-lessons").filter(|h| h["spec"]["minReplicas"] == 5)
    })
    .await;
    eventually(10, "workload at 5", || {
        (replicas(&api, "school", "lessons") == 5).then_some(())
    })
    .await;

    // the database goes away during the class: the metric falls back, the floor stays
    db.kill();
    let so = eventually(20, "Fallback=True", || {
        scaled_object(&api, "school", "lessons")
            .filter(|so| condition(so, "Fallback").is_some_and(|c| c.0 == "True"))
    })
    .await;
    let health = &so["status"]["health"]["s0-mysql-calendar-app"];
    assert_eq!(health["status"], "Failing", "{}", so["status"]);
    assert!(!so.to_string().contains(PASSWORD), "no secret in status");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        hpa(&api, "school", "keda-hpa-lessons").unwrap()["spec"]["minReplicas"],
        5
    );
    assert_eq!(
        replicas(&api, "school", "lessons"),
        5,
        "never scaled to a wrong value"
    );
    let so = scaled_object(&api, "school", "lessons").unwrap();
    assert_eq!(condition(&so, "PreScaling").unwrap().1, "FloorRaised");
}
