//! ScaledJob end to end: `prescale run`'s wiring on the API stand-in with a real redis-server.
//! 23 items with `listLength: 5` give the strategy's number of Jobs (with KEDA's labels, owner
//! and generateName), finished Jobs are pruned to the history limits, a template change is
//! rolled out per `rollout`, a paused ScaledJob creates nothing, and a bad ScaledJob gets a
//! clear condition and Event while the good ones keep working. Triggers are resolved from the
//! operator's informer caches: no Secret or TriggerAuthentication GET however many polls.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_kube_standin::job_runner::Outcome;
use prescale_testkit::redis::{RedisOptions, RedisServer};
use serde_json::{Value, json};
use std::time::Duration;
use support::*;

const NS: &str = "q";

fn redis() -> RedisServer {
    RedisServer::start_with(RedisOptions {
        password: Some("queue-pass".into()),
        ..Default::default()
    })
}

fn auth(api: &ApiServer) {
    api.put(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "redis-auth", "namespace": NS}, "stringData": {"password": "queue-pass"}}));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": "redis-auth", "namespace": NS},
        "spec": {"secretTargetRef": [{"parameter": "password", "name": "redis-auth", "key": "password"}]}}));
}

/// A ScaledJob reading `list` with `listLength: 5`; `extra` is merged into the spec.
fn scaled_job(redis: &RedisServer, name: &str, list: &str, extra: Value) -> Value {
    let (host, port) = redis
        .address()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let mut spec = json!({
        "jobTargetRef": {"parallelism": 1, "template": {"spec": {"containers": [{"name": "worker", "image": "worker:1",
            "env": [{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]}]}}},
        "pollingInterval": 1,
        "triggers": [{"type": "redis", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT", "listName": list, "listLength": "5"},
                      "authenticationRef": {"name": "redis-auth"}}]
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
        "metadata": {"name": name, "namespace": NS, "labels": {"team": "imports"}}, "spec": spec})
}

fn jobs_of(api: &ApiServer, sj: &str) -> Vec<Value> {
    api.jobs(NS)
        .into_iter()
        .filter(|j| j["metadata"]["labels"]["scaledjob.keda.sh/name"] == sj)
        .collect()
}

fn sj_status(api: &ApiServer, name: &str, t: &str) -> Option<(String, String, String)> {
    condition(&api.get("keda.sh/v1alpha1", "ScaledJob", NS, name)?, t)
}

fn push(redis: &RedisServer, list: &str, n: usize) {
    let items: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    let mut args = vec!["RPUSH", list];
    args.extend(items.iter().map(String::as_str));
    redis.cli(&args);
}

/// Waits until `sj` has exactly `n` Jobs, then checks it stays there for two more polls.
async fn settles_at(api: &ApiServer, sj: &str, n: usize) {
    eventually(20, &format!("{sj} has {n} Jobs"), || {
        (jobs_of(api, sj).len() == n).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        jobs_of(api, sj).len(),
        n,
        "{sj} created more Jobs than the strategy allows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_three_items_make_five_jobs_and_finished_jobs_are_pruned() {
    let redis = redis();
    let api = ApiServer::new();
    auth(&api);
    push(&redis, "imports", 23);
    api.put(scaled_job(&redis, "importer", "imports", json!({"maxReplicaCount": 10, "successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 1})));
    let mut op = Operator::start(&api, None);

    // default strategy: ceil(23 / 5) = 5 Jobs, and no more while they run
    settles_at(&api, "importer", 5).await;
    let sj = api
        .get("keda.sh/v1alpha1", "ScaledJob", NS, "importer")
        .unwrap();
    let j = &jobs_of(&api, "importer")[0];
    let m = &j["metadata"];
    assert!(m["name"].as_str().unwrap().starts_with("importer-"));
    assert_eq!(m["generateName"], "importer-");
    assert_eq!(m["labels"]["app.kubernetes.io/managed-by"], "keda-operator");
    assert_eq!(m["labels"]["app.kubernetes.io/part-of"], "importer");
    assert_eq!(m["labels"]["team"], "imports");
    assert_eq!(
        m["annotations"]["scaledjob.keda.sh/generation"],
        sj["metadata"]["generation"].to_string()
    );
    assert_eq!(m["ownerReferences"][0]["kind"], "ScaledJob");
    assert_eq!(m["ownerReferences"][0]["uid"], sj["metadata"]["uid"]);
    assert_eq!(m["ownerReferences"][0]["controller"], true);
    assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "OnFailure");
    assert_eq!(
        j["spec"]["template"]["metadata"]["labels"]["scaledjob.keda.sh/name"],
        "importer"
    );
    assert_eq!(sj_status(&api, "importer", "Ready").unwrap().0, "True");
    assert_eq!(
        sj_status(&api, "importer", "Active").unwrap(),
        (
            "True".into(),
            "ScalerActive".into(),
            "Scaling is performed because triggers are active".into()
        )
    );
    assert_eq!(sj["status"]["triggersTypes"], "redis");
    assert_eq!(sj["status"]["authenticationsTypes"], "redis-auth");
    assert!(sj["status"]["lastActiveTime"].is_string());
    assert_eq!(
        events(&api, "importer", "KEDAJobsCreated"),
        ["Created 5 jobs"]
    );
    assert_eq!(events(&api, "importer", "ScaledJobReady").len(), 1);

    // the queue drains: four Jobs succeed, one fails; nothing new is created
    redis.cli(&["DEL", "imports"]);
    assert_eq!(api.start_job_pods(NS), 5);
    let names: Vec<String> = jobs_of(&api, "importer")
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let times = [
        "2026-01-01T00:00:03Z",
        "2026-01-01T00:00:01Z",
        "2026-01-01T00:00:04Z",
        "2026-01-01T00:00:02Z",
    ];
    for (name, at) in names.iter().zip(times) {
        api.finish_job(NS, name, Outcome::Succeeded, at);
    }
    api.finish_job(NS, &names[4], Outcome::Failed, "2026-01-01T00:00:05Z");
    // successfulJobsHistoryLimit 2 keeps the two newest successes; the one failure stays
    let left = eventually(20, "history pruned to 2 + 1", || {
        let left: Vec<String> = jobs_of(&api, "importer")
            .iter()
            .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        (left.len() == 3).then_some(left)
    })
    .await;
    let mut want = vec![names[0].clone(), names[2].clone(), names[4].clone()];
    want.sort();
    assert_eq!(left, want);
    eventually(10, "Active=False", || {
        (sj_status(&api, "importer", "Active")?.0 == "False").then_some(())
    })
    .await;
    assert_eq!(events(&api, "importer", "ScaledJobInactive").len(), 1);
    assert_eq!(
        events(&api, "importer", "KEDAJobsCreated"),
        ["Created 5 jobs"]
    );

    // work again: 0 running, 8 items → ceil(8/5) = 2 new Jobs
    push(&redis, "imports", 8);
    settles_at(&api, "importer", 5).await;
    op.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_strategy_makes_its_number_and_a_bad_scaledjob_is_reported() {
    let redis = redis();
    let api = ApiServer::new();
    auth(&api);
    push(&redis, "imports", 23);
    api.put(scaled_job(
        &redis,
        "capped",
        "imports",
        json!({"maxReplicaCount": 3}),
    ));
    api.put(scaled_job(&redis, "custom", "imports", json!({"scalingStrategy": {"strategy": "custom", "customScalingQueueLengthDeduction": 1, "customScalingRunningJobPercentage": "0.5"}})));
    api.put(scaled_job(
        &redis,
        "accurate",
        "imports",
        json!({"maxReplicaCount": 10, "scalingStrategy": {"strategy": "accurate"}}),
    ));
    api.put(scaled_job(
        &redis,
        "eager",
        "imports",
        json!({"maxReplicaCount": 7, "scalingStrategy": {"strategy": "eager"}}),
    ));
    api.put(scaled_job(
        &redis,
        "floor",
        "empty",
        json!({"minReplicaCount": 2, "maxReplicaCount": 4}),
    ));
    let mut paused = scaled_job(&redis, "paused", "imports", json!({}));
    paused["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused": "true"});
    api.put(paused);
    let mut broken = scaled_job(&redis, "broken", "imports", json!({}));
    broken["spec"]["triggers"][0]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("listName");
    api.put(broken);
    let mut op = Operator::start(&api, None);

    // default capped by maxReplicaCount 3; accurate: 5, then 5 - 5 pending = 0
    settles_at(&api, "capped", 3).await;
    settles_at(&api, "accurate", 5).await;
    // eager: min(7 - 0 - 0, 5) = 5, scaleTo = 7 → 5 Jobs; then pending 5 → min(7 - 5 - 5, 5) < 0
    settles_at(&api, "eager", 5).await;
    // minReplicaCount 2 with an empty list: active, two Jobs
    settles_at(&api, "floor", 2).await;
    // custom: 4, then min(5 - 1 - int(4 * 0.5)) = 2 more, then 5 - 1 - int(6 * 0.5) = 1 more,
    // then 5 - 1 - int(7 * 0.5) = 1, then 5 - 1 - 4 = 0: it settles at 8
    settles_at(&api, "custom", 8).await;
    let created = events(&api, "custom", "KEDAJobsCreated");
    assert_eq!(created[0], "Created 4 jobs");

    // paused: nothing, Paused=True
    assert!(jobs_of(&api, "paused").is_empty());
    assert_eq!(
        sj_status(&api, "paused", "Paused").unwrap(),
        (
            "True".into(),
            "ScaledJobPaused".into(),
            "ScaledJob is paused".into()
        )
    );
    // the bad one: Ready=False with the scaler's message, an Event, no Jobs
    let (s, reason, message) = sj_status(&api, "broken", "Ready").unwrap();
    assert_eq!(
        (s.as_str(), reason.as_str()),
        ("False", "ScaledJobCheckFailed")
    );
    assert!(
        message.contains("spec.triggers[0]") && message.contains("listName"),
        "{message}"
    );
    assert!(!message.contains("queue-pass"));
    assert_eq!(
        sj_status(&api, "broken", "Active").unwrap().1,
        "UnknownState"
    );
    let ev = events(&api, "broken", "ScaledJobCheckFailed");
    assert_eq!(ev, [message]);
    assert!(jobs_of(&api, "broken").is_empty());

    // triggers are resolved from the operator's informer caches: seven ScaledJobs using the
    // TriggerAuthentication and its Secret, the broken one re-checked at every poll, and not
    // one GET of either since the start (only the caches' list and watch)
    let polls_before = api.requests("list", "jobs", "");
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert!(
        api.requests("list", "jobs", "") >= polls_before + 2,
        "the ScaledJobs kept polling"
    );
    assert_eq!(api.requests("get", "secrets", ""), 0);
    assert_eq!(api.requests("get", "triggerauthentications", ""), 0);
    assert!(api.requests("list", "secrets", "") >= 1);

    // unpausing starts it
    let mut p = api
        .get("keda.sh/v1alpha1", "ScaledJob", NS, "paused")
        .unwrap();
    p["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused": "false"});
    api.put(p);
    settles_at(&api, "paused", 5).await;
    assert_eq!(
        sj_status(&api, "paused", "Paused").unwrap().1,
        "ScaledJobUnpaused"
    );
    op.stop().await;
}

async fn change_image(api: &ApiServer, name: &str) {
    let mut sj = api.get("keda.sh/v1alpha1", "ScaledJob", NS, name).unwrap();
    sj["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["image"] = json!("worker:2");
    api.put(sj);
}

fn images(api: &ApiServer, name: &str) -> Vec<String> {
    let mut v: Vec<String> = jobs_of(api, name)
        .iter()
        .map(|j| {
            j["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_change_is_rolled_out_per_rollout_strategy() {
    let redis = redis();
    let api = ApiServer::new();
    auth(&api);
    push(&redis, "imports", 23);
    api.put(scaled_job(
        &redis,
        "immediate",
        "imports",
        json!({"maxReplicaCount": 10}),
    ));
    api.put(scaled_job(
        &redis,
        "gradual",
        "imports",
        json!({"maxReplicaCount": 10, "rollout": {"strategy": "gradual"}}),
    ));
    api.put(scaled_job(&redis, "legacy", "imports", json!({"maxReplicaCount": 10, "rolloutStrategy": "gradual", "rollout": {"strategy": "default"}})));
    let mut op = Operator::start(&api, None);
    for n in ["immediate", "gradual", "legacy"] {
        settles_at(&api, n, 5).await;
    }
    for n in ["immediate", "gradual", "legacy"] {
        change_image(&api, n).await;
    }
    // default: the five old Jobs are deleted and five new ones made from the new template
    eventually(20, "immediate rolled out", || {
        (images(&api, "immediate") == vec!["worker:2"; 5]).then_some(())
    })
    .await;
    let generation = api
        .get("keda.sh/v1alpha1", "ScaledJob", NS, "immediate")
        .unwrap()["metadata"]["generation"]
        .to_string();
    assert!(jobs_of(&api, "immediate").iter().all(
        |j| j["metadata"]["annotations"]["scaledjob.keda.sh/generation"] == generation.as_str()
    ));
    assert_eq!(
        events(&api, "immediate", "ScaledJobRolloutCleanupCompleted"),
        [
            "RolloutStrategy: immediate, deleted jobs owned by the previous version of the scaleJob: 5 jobs deleted"
        ]
    );
    // gradual (and the deprecated rolloutStrategy, which wins over rollout.strategy): the old
    // Jobs run on, and as they are still running no new ones are made
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(images(&api, "gradual"), vec!["worker:1"; 5]);
    assert_eq!(images(&api, "legacy"), vec!["worker:1"; 5]);
    // when two old Jobs finish, two come from the new template
    api.start_job_pods(NS);
    let old: Vec<String> = jobs_of(&api, "gradual")
        .iter()
        .take(2)
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    for n in &old {
        api.finish_job(NS, n, Outcome::Succeeded, "2026-01-01T00:00:01Z");
    }
    eventually(20, "gradual makes new Jobs from the new template", || {
        let imgs = images(&api, "gradual");
        (imgs.iter().filter(|i| *i == "worker:2").count() == 2).then_some(())
    })
    .await;
    assert_eq!(images(&api, "gradual").len(), 7);
    op.stop().await;
}

fn example() -> String {
    std::fs::read_to_string(format!(
        "{}/../deploy/examples/redis-job-queue-scaledjob.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn validate(file: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["validate", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_example_validates_and_drains_a_real_queue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/examples/redis-job-queue-scaledjob.yaml");
    let (ok, out) = validate(&path);
    assert!(ok, "{out}");
    assert!(
        out.contains("ScaledJob jobs/job-importer: valid; triggers: redis"),
        "{out}"
    );
    assert!(out.contains("1 ScaledJob(s) checked, 0 invalid"), "{out}");

    // the same manifest broken the ways KEDA rejects: validate names each problem, exits 1
    let dir = std::env::temp_dir().join(format!("prescale-sj-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    let text = example()
        .replace("        listName: jobs:import\n", "")
        .replace(
            "      authenticationRef:",
            "      metricType: Value\n      authenticationRef:",
        )
        .replace(
            "  maxReplicaCount: 20",
            "  maxReplicaCount: 20\n  minReplicaCount: 30",
        );
    std::fs::write(&bad, text).unwrap();
    let (ok, out) = validate(&bad);
    assert!(!ok, "{out}");
    for part in [
        "spec.minReplicaCount: MinReplicaCount=30 must be less than MaxReplicaCount=20",
        "trigger 0: spec.triggers[0].metricType: Cannot set metricType in ScaledJob triggers",
        "listName",
    ] {
        assert!(out.contains(part), "{part:?} missing in\n{out}");
    }
    assert!(!out.contains("change-me"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();

    // run as shipped against a real Redis (only address, password and polling changed)
    let redis = redis();
    let (host, port) = redis
        .address()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let api = ApiServer::new();
    for doc in serde_yaml::Deserializer::from_str(&example()) {
        let mut v: Value = serde_json::to_value(
            <serde_yaml::Value as serde::Deserialize>::deserialize(doc).unwrap(),
        )
        .unwrap();
        if v["kind"] == "Secret" {
            v["stringData"]["password"] = json!("queue-pass");
        }
        if v["kind"] == "ScaledJob" {
            v["spec"]["pollingInterval"] = json!(1);
            let env = &mut v["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["env"];
            env[0]["value"] = json!(host);
            env[1]["value"] = json!(port);
        }
        api.put(v);
    }
    push(&redis, "jobs:import", 23);
    let mut op = Operator::start(&api, None);
    eventually(20, "5 Jobs for 23 items", || {
        (api.jobs("jobs").len() == 5).then_some(())
    })
    .await;
    let j = &api.jobs("jobs")[0];
    assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert_eq!(j["spec"]["backoffLimit"], 2);
    op.stop().await;
}

/// `prescale install`'s operator ClusterRole lets it run ScaledJobs: watch them, write their
/// status, and create, list and delete their Jobs (Pods are read for pending counts).
#[test]
fn install_grants_what_scaledjobs_need() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("install")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let role: Value = serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            serde_json::to_value(<serde_yaml::Value as serde::Deserialize>::deserialize(d).unwrap())
                .unwrap()
        })
        .find(|v| v["kind"] == "ClusterRole" && v["metadata"]["name"] == "prescale-operator")
        .unwrap();
    let allows = |group: &str, resource: &str, verb: &str| {
        role["rules"].as_array().unwrap().iter().any(|r| {
            let has =
                |k: &str, x: &str| r[k].as_array().unwrap().iter().any(|v| v == x || v == "*");
            has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
        })
    };
    for verb in ["get", "list", "watch", "patch"] {
        assert!(allows("keda.sh", "scaledjobs", verb), "scaledjobs {verb}");
    }
    assert!(allows("keda.sh", "scaledjobs/status", "patch"));
    assert!(allows("keda.sh", "scaledjobs/finalizers", "update"));
    for verb in ["list", "watch", "create", "delete"] {
        assert!(allows("batch", "jobs", verb), "jobs {verb}");
    }
    assert!(allows("", "pods", "list"));
    assert!(allows("events.k8s.io", "events", "create"));
}
