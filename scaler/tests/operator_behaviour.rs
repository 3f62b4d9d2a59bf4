//! The operator's behaviours end to end on the API stand-in with real backends: fallback with
//! Redis killed and restarted, bad ScaledObjects isolated, pause and resume, restore on delete,
//! HPA drift repaired, Secret rotation picked up, leader hand-over.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_testkit::redis::{RedisOptions, RedisServer};
use serde_json::{Value, json};
use std::time::Duration;
use support::*;

fn redis_so(ns: &str, name: &str, address: &str, extra: Value) -> Value {
    let mut so = json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "scaleTargetRef": {"name": name},
            "pollingInterval": 1, "cooldownPeriod": 1, "maxReplicaCount": 10,
            "triggers": [{"type": "redis", "metadata": {"address": address, "listName": "q", "listLength": "5"}}]
        }
    });
    prescale_kube_standin::patch::merge(&mut so, &extra);
    so
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_lands_on_the_fallback_count_and_never_scales_to_zero() {
    let mut redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 4, json!([])));
    api.put(redis_so(
        "shop",
        "web",
        &redis.address(),
        json!({"spec": {"minReplicaCount": 0, "fallback": {"failureThreshold": 2, "replicas": 3}}}),
    ));
    redis.cli(&[
        "RPUSH", "q", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
    ]);
    let op = Operator::start(&api, None);
    eventually(20, "value 10 stored", || {
        op.handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .filter(|(r, _)| r.value == Some(10.0))
    })
    .await;

    redis.kill();
    let (record, _) = eventually(20, "fallback value", || {
        op.handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .filter(|(r, _)| r.fallback)
    })
    .await;
    // AverageValue target 5 × fallback replicas 3: the HPA computes ceil(15 / 5) = 3
    assert_eq!(record.value, Some(15.0));
    let so = eventually(10, "Fallback=True", || {
        scaled_object(&api, "shop", "web")
            .filter(|so| condition(so, "Fallback").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert_eq!(condition(&so, "Fallback").unwrap().1, "FallbackExists");
    assert_eq!(so["status"]["health"]["s0-redis-q"]["status"], "Failing");
    assert!(
        so["status"]["health"]["s0-redis-q"]["numberOfFailures"]
            .as_i64()
            .unwrap()
            > 2
    );
    assert!(!events(&api, "web", "ScaledObjectFallbackActivated").is_empty());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        replicas(&api, "shop", "web"),
        4,
        "a failing source never scales the target down or to zero"
    );

    redis.restart();
    redis.cli(&["RPUSH", "q", "1"]);
    let so = eventually(20, "Fallback=False again", || {
        scaled_object(&api, "shop", "web")
            .filter(|so| condition(so, "Fallback").is_some_and(|c| c.0 == "False"))
    })
    .await;
    assert_eq!(so["status"]["health"]["s0-redis-q"]["status"], "Happy");
    // a poll between the restart and the RPUSH may read 0 first: the next one reads 1
    eventually(5, "the list's value, not the fallback, is stored", || {
        let (record, _) = op.handles.metric_store.get("shop", "web", "s0-redis-q")?;
        ((record.value, record.fallback) == (Some(1.0), false)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fallback_means_trigger_error_and_nothing_scaled() {
    let mut redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("shop", "api", 2, json!([])));
    api.put(redis_so(
        "shop",
        "api",
        &redis.address(),
        json!({"spec": {"minReplicaCount": 0}}),
    ));
    // active at the first poll (a new object's runs at once): with the 1 s cooldown, an error
    // taken for inactivity would scale the target to zero
    redis.cli(&["RPUSH", "q", "1"]);
    let op = Operator::start(&api, None);
    eventually(20, "HPA", || hpa(&api, "shop", "keda-hpa-api")).await;
    eventually(20, "Active=True", || {
        scaled_object(&api, "shop", "api")
            .filter(|so| condition(so, "Active").is_some_and(|c| c.0 == "True"))
    })
    .await;
    redis.kill();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let so = loop {
        if let Some(so) = scaled_object(&api, "shop", "api")
            .filter(|so| condition(so, "Ready").is_some_and(|c| c.1 == "TriggerError"))
        {
            break so;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: Ready=False TriggerError"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        condition(&so, "Ready").unwrap().2,
        "Triggers defined in ScaledObject are not working correctly"
    );
    // the loop's verdict stands: the reconcile its status write triggers does not turn Ready
    // back to True (it did: Ready flapped and ScaledObjectReady was published at every poll)
    for _ in 0..60 {
        let so = scaled_object(&api, "shop", "api").unwrap();
        assert_eq!(
            condition(&so, "Ready").map(|c| c.1),
            Some("TriggerError".to_string()),
            "Ready stays False while the trigger fails"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_events: u64 = api
        .list("events.k8s.io/v1", "Event")
        .iter()
        .filter(|e| e["reason"] == "ScaledObjectReady")
        .map(|e| e["series"]["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(ready_events, 1, "ScaledObjectReady published once");
    assert_eq!(
        replicas(&api, "shop", "api"),
        2,
        "no scale to zero on errors"
    );
    let (record, _) = op
        .handles
        .metric_store
        .get("shop", "api", "s0-redis-q")
        .unwrap();
    assert_eq!(record.value, None);
    let err = record.error.unwrap();
    assert!(err.contains("connection to redis failed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_scaled_object_is_reported_and_others_keep_working() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("shop", "good", 1, json!([])));
    api.put(deployment("shop", "bad", 1, json!([])));
    api.put(redis_so("shop", "good", &redis.address(), json!({})));
    let mut bad = redis_so("shop", "bad", &redis.address(), json!({}));
    bad["spec"]["triggers"][0]["metadata"]["listLength"] = json!("lots");
    api.put(bad);
    let _op = Operator::start(&api, None);
    eventually(20, "good HPA", || hpa(&api, "shop", "keda-hpa-good")).await;
    let so = eventually(20, "bad Ready=False", || {
        scaled_object(&api, "shop", "bad")
            .filter(|so| condition(so, "Ready").is_some_and(|c| c.0 == "False"))
    })
    .await;
    let (_, reason, message) = condition(&so, "Ready").unwrap();
    assert_eq!(reason, "ScaledObjectCheckFailed");
    assert!(message.contains("trigger 0 (redis): error parsing redis metadata: unable to set param \"listLength\" value \"lots\""), "{message}");
    assert!(
        hpa(&api, "shop", "keda-hpa-bad").is_none(),
        "no HPA for a wrong ScaledObject"
    );
    let notes = events(&api, "bad", "ScaledObjectCheckFailed");
    assert!(notes.iter().any(|n| n.contains("listLength")), "{notes:?}");
    // fixing it brings its HPA
    let mut fixed = scaled_object(&api, "shop", "bad").unwrap();
    fixed["spec"]["triggers"][0]["metadata"]["listLength"] = json!("5");
    api.put(fixed);
    eventually(20, "bad HPA after fix", || {
        hpa(&api, "shop", "keda-hpa-bad")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_drift_and_restore_on_delete() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 2, json!([])));
    api.put(redis_so("shop", "web", &redis.address(), json!({"spec": {"minReplicaCount": 1, "advanced": {"restoreToOriginalReplicaCount": true}}})));
    let _op = Operator::start(&api, None);
    let h = eventually(20, "HPA", || hpa(&api, "shop", "keda-hpa-web")).await;
    assert_eq!(h["spec"]["maxReplicas"], 10);

    // an HPA edited by hand is put back
    let mut edited = h.clone();
    edited["spec"]["maxReplicas"] = json!(99);
    api.put(edited);
    eventually(20, "HPA repaired", || {
        hpa(&api, "shop", "keda-hpa-web").filter(|h| h["spec"]["maxReplicas"] == 10)
    })
    .await;

    // paused-replicas: HPA deleted, target set, Paused condition
    let mut so = scaled_object(&api, "shop", "web").unwrap();
    so["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused-replicas": "5"});
    api.put(so);
    eventually(20, "paused at 5", || {
        (replicas(&api, "shop", "web") == 5 && hpa(&api, "shop", "keda-hpa-web").is_none())
            .then_some(())
    })
    .await;
    let so = eventually(10, "Paused=True", || {
        scaled_object(&api, "shop", "web")
            .filter(|so| condition(so, "Paused").is_some_and(|c| c.0 == "True"))
    })
    .await;
    assert_eq!(so["status"]["pausedReplicaCount"], 5);
    assert!(!events(&api, "web", "ScaledObjectPaused").is_empty());

    // unpause: HPA back, Paused=False
    let mut so = scaled_object(&api, "shop", "web").unwrap();
    so["metadata"]["annotations"] = json!({});
    api.put(so);
    eventually(20, "HPA back", || hpa(&api, "shop", "keda-hpa-web")).await;
    let so = eventually(10, "Paused=False", || {
        scaled_object(&api, "shop", "web")
            .filter(|so| condition(so, "Paused").is_some_and(|c| c.0 == "False"))
    })
    .await;
    assert_eq!(condition(&so, "Paused").unwrap().1, "ScaledObjectUnpaused");

    // a new HPA name: the new HPA is created and the old one deleted
    let mut so = scaled_object(&api, "shop", "web").unwrap();
    so["spec"]["advanced"]["horizontalPodAutoscalerConfig"] = json!({"name": "web-hpa"});
    api.put(so);
    eventually(20, "renamed HPA", || {
        (hpa(&api, "shop", "web-hpa").is_some() && hpa(&api, "shop", "keda-hpa-web").is_none())
            .then_some(())
    })
    .await;

    // delete: original count restored, HPA removed, finalizer released
    api.delete("keda.sh/v1alpha1", "ScaledObject", "shop", "web");
    eventually(20, "ScaledObject gone", || {
        scaled_object(&api, "shop", "web").is_none().then_some(())
    })
    .await;
    assert_eq!(
        replicas(&api, "shop", "web"),
        2,
        "restored to originalReplicaCount"
    );
    assert!(hpa(&api, "shop", "web-hpa").is_none());
    assert!(!events(&api, "web", "ScaledObjectDeleted").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_is_picked_up() {
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("old-pass".into()),
        ..Default::default()
    });
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 1, json!([])));
    api.put(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "shop"}, "stringData": {"password": "old-pass"}}));
    api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": "auth", "namespace": "shop"},
        "spec": {"secretTargetRef": [{"parameter": "password", "name": "pw", "key": "password"}]}}));
    let mut so = redis_so("shop", "web", &redis.address(), json!({}));
    so["spec"]["triggers"][0]["authenticationRef"] = json!({"name": "auth"});
    api.put(so);
    redis.cli(&["RPUSH", "q", "a", "b"]);
    let op = Operator::start(&api, None);
    eventually(20, "value with the old password", || {
        op.handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .filter(|(r, _)| r.value == Some(2.0))
    })
    .await;

    // rotate: the server's password changes, then the Secret
    redis.cli(&["CONFIG", "SET", "requirepass", "new-pass"]);
    let mut options = redis.options.clone();
    options.password = Some("new-pass".into());
    prescale_testkit::redis::redis_cli(redis.port, Some("new-pass"), None, &["RPUSH", "q", "c"]);
    api.put(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "shop"}, "stringData": {"password": "new-pass"}}));
    eventually(30, "value with the new password", || {
        op.handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .filter(|(r, _)| r.value == Some(3.0))
    })
    .await;
    let so = scaled_object(&api, "shop", "web").unwrap();
    assert!(
        !so.to_string().contains("new-pass") && !so.to_string().contains("old-pass"),
        "no secret in status"
    );
    let all_events: String = api
        .list("events.k8s.io/v1", "Event")
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        !all_events.contains("new-pass") && !all_events.contains("old-pass"),
        "no secret in Events"
    );
    assert!(!op.metrics_text().contains("pass"), "no secret in metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_hand_over_without_double_writes() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 0, json!([])));
    api.put(redis_so(
        "shop",
        "web",
        &redis.address(),
        json!({"spec": {"minReplicaCount": 0}}),
    ));
    let lease = Duration::from_secs(2);
    let mut a = Operator::start(&api, Some(("replica-a", lease)));
    let mut b = Operator::start(&api, Some(("replica-b", lease)));
    eventually(20, "HPA", || hpa(&api, "shop", "keda-hpa-web")).await;
    let holder = || {
        api.get(
            "coordination.k8s.io/v1",
            "Lease",
            "prescale",
            "prescale-operator",
        )
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
    };
    let first = eventually(10, "a lease holder", holder).await;
    // every replica polls (each serves the metrics API from its own readings); only the
    // leader writes
    redis.cli(&["RPUSH", "q", "x"]);
    eventually(10, "activation", || {
        (replicas(&api, "shop", "web") == 1).then_some(())
    })
    .await;
    let (leader, follower) = if first == "replica-a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(
        leader
            .handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .is_some()
    );
    eventually(10, "the follower's own reading", || {
        let (r, _) = follower
            .handles
            .metric_store
            .get("shop", "web", "s0-redis-q")?;
        (r.value == Some(1.0)).then_some(())
    })
    .await;
    let writes = api.writes("deployments");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        api.writes("deployments"),
        writes,
        "no write while nothing changes"
    );
    assert_eq!(
        events(&api, "web", "KEDAScaleTargetActivated").len(),
        1,
        "one activation Event, from the leader only"
    );

    // the leader stops: it releases the lease and the follower takes over the writing
    eventually(5, "both replicas ready (warm caches)", || {
        (leader.handles.readiness.is_ready() && follower.handles.readiness.is_ready()).then_some(())
    })
    .await;
    leader.stop().await;
    assert!(
        !leader.handles.readiness.is_ready(),
        "readiness drops at shutdown"
    );
    let second = eventually(15, "the other replica holds the lease", || {
        holder().filter(|h| *h != first)
    })
    .await;
    assert_ne!(second, first);
    redis.cli(&["DEL", "q"]);
    eventually(20, "deactivation by the new leader", || {
        (replicas(&api, "shop", "web") == 0).then_some(())
    })
    .await;
    assert!(
        follower
            .handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .is_some(),
        "the new leader polls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_target_env_is_picked_up() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    a.cli(&["RPUSH", "q", "1"]);
    b.cli(&["RPUSH", "q", "1", "2", "3", "4", "5"]);
    let api = ApiServer::new();
    api.put(deployment(
        "shop",
        "web",
        1,
        json!([{"name": "REDIS", "value": a.address()}]),
    ));
    let mut so = redis_so("shop", "web", "unused:1", json!({}));
    so["spec"]["triggers"][0]["metadata"] = json!({"addressFromEnv": "REDIS", "listName": "q"});
    api.put(so);
    let op = Operator::start(&api, None);
    eventually(20, "value from server a", || {
        op.handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .filter(|(r, _)| r.value == Some(1.0))
    })
    .await;
    // a new rollout points the workers (and so the trigger) at server b
    api.put(deployment(
        "shop",
        "web",
        1,
        json!([{"name": "REDIS", "value": b.address()}]),
    ));
    eventually(20, "value from server b", || {
        op.handles
            .metric_store
            .get("shop", "web", "s0-redis-q")
            .filter(|(r, _)| r.value == Some(5.0))
    })
    .await;
}
