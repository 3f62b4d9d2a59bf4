//! The Kubernetes API misbehaving under the operator (issue 10, item 3-API): watches ended and
//! compacted (410 Gone), 5xx and 429 (with Retry-After) on HPA, `/scale` and status writes,
//! resourceVersion conflicts, a lease lost mid-run and a killed leader. Each case converges
//! without a write storm or a wrong replica count, and prints a row (`-- --nocapture`) for
//! docs/reliability.md.

mod support;

use prescale_kube_standin::ApiServer;
use prescale_kube_standin::faults::Cut;
use prescale_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::*;

fn cron_so(name: &str, max: i64) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": name}, "minReplicaCount": 1, "maxReplicaCount": max, "pollingInterval": 2,
            "triggers": [{"type": "cron", "metadata": {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"}}]}})
}

/// A queue trigger on `redis`, scaling `name` from 0: its activation is the operator's
/// `/scale` write (no HPA controller runs, so nobody else moves the replicas).
fn redis_so(name: &str, redis: &RedisServer) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": name}, "minReplicaCount": 0, "maxReplicaCount": 10,
            "pollingInterval": 1, "cooldownPeriod": 1,
            "triggers": [{"type": "redis", "metadata": {"address": redis.address(), "listName": "q", "listLength": "5"}}]}})
}

fn row(case: &str, fault: &str, took: Duration, writes: String, outcome: &str) {
    println!(
        "| {case} | {fault} | {:.1} s | {writes} | {outcome} |",
        took.as_secs_f64()
    );
}

fn ready(api: &ApiServer, name: &str) -> bool {
    scaled_object(api, "shop", name)
        .is_some_and(|so| condition(&so, "Ready").is_some_and(|c| c.0 == "True"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_ended_and_compacted_relist_and_miss_nothing() {
    let api = ApiServer::new();
    for i in 0..5 {
        api.put(deployment("shop", &format!("w{i}"), 1, json!([])));
        api.put(cron_so(&format!("w{i}"), 5));
    }
    let _op = Operator::start(&api, None);
    eventually(20, "5 HPAs", || {
        (0..5)
            .all(|i| hpa(&api, "shop", &format!("keda-hpa-w{i}")).is_some())
            .then_some(())
    })
    .await;
    // every object polled once (the first tick is placed somewhere in the polling interval):
    // no first-poll status write can land between the unrelated write and the compaction below
    eventually(20, "every object polled once", || {
        api.list("keda.sh/v1alpha1", "ScaledObject")
            .iter()
            .all(|so| condition(so, "Active").is_some_and(|c| c.0 == "True" || c.0 == "False"))
            .then_some(())
    })
    .await;
    let lists = api.requests("list", "scaledobjects", "");
    // every watch ends and the log is gone: resuming gets 410 Gone; meanwhile objects change.
    // A write no ScaledObject watch sees comes first, so their last version is older than the
    // compaction (a watch from the very latest version may resume, as on a real apiserver).
    api.put(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": "shop"}}));
    api.compact();
    api.break_watches();
    let started = Instant::now();
    for i in 5..10 {
        api.put(deployment("shop", &format!("w{i}"), 1, json!([])));
        api.put(cron_so(&format!("w{i}"), 5));
    }
    api.put(cron_so("w0", 7));
    api.delete("keda.sh/v1alpha1", "ScaledObject", "shop", "w1");
    eventually(20, "the new objects' HPAs", || {
        (5..10)
            .all(|i| hpa(&api, "shop", &format!("keda-hpa-w{i}")).is_some())
            .then_some(())
    })
    .await;
    eventually(20, "the changed object's HPA", || {
        hpa(&api, "shop", "keda-hpa-w0").filter(|h| h["spec"]["maxReplicas"] == 7)
    })
    .await;
    eventually(20, "the deleted object let go", || {
        scaled_object(&api, "shop", "w1").is_none().then_some(())
    })
    .await;
    let relists = api.requests("list", "scaledobjects", "") - lists;
    assert!(relists >= 1, "the operator relisted after 410 Gone");
    row(
        "watch ended + compacted",
        "410 Gone on resume",
        started.elapsed(),
        format!("{relists} relists"),
        "5 new, 1 changed, 1 deleted: all seen",
    );
}

/// One write fault: `n` writes to `plural` fail with `code`; the object converges (HPA,
/// Ready=True, activated to exactly 1 replica) with a bounded number of writes.
async fn write_fault_converges(plural: &str, code: u16, n: u32) {
    let redis = RedisServer::start();
    redis.cli(&["RPUSH", "q", "a", "b"]);
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 0, json!([])));
    api.put(redis_so("web", &redis));
    api.fail_writes(plural, n, code);
    let started = Instant::now();
    let _op = Operator::start(&api, None);
    let mut seen = std::collections::BTreeSet::new();
    eventually(40, &format!("{plural} {code}: converged"), || {
        seen.insert(replicas(&api, "shop", "web"));
        (hpa(&api, "shop", "keda-hpa-web").is_some()
            && ready(&api, "web")
            && replicas(&api, "shop", "web") == 1)
            .then_some(())
    })
    .await;
    let took = started.elapsed();
    assert_eq!(api.pending_write_faults(plural), 0, "every fault was hit");
    tokio::time::sleep(Duration::from_secs(1)).await;
    seen.insert(replicas(&api, "shop", "web"));
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![0, 1],
        "never a wrong count"
    );
    let writes = api.writes(plural);
    // the faults, then the writes a clean run makes (finalizer, label, status updates…)
    assert!(
        writes <= u64::from(n) + 8,
        "{plural} {code}: {writes} writes for {n} faults"
    );
    row(
        "write fault",
        &format!("{n} × {code} on {plural}"),
        took,
        format!("{writes} {plural}"),
        "HPA, Ready=True, 0→1 only",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_throttling_on_writes_converge_without_a_storm() {
    for (plural, code, n) in [
        ("horizontalpodautoscalers", 500, 3),
        ("horizontalpodautoscalers", 429, 3),
        ("deployments", 503, 3),
        ("deployments", 429, 3),
        ("scaledobjects", 500, 3),
        ("scaledobjects", 429, 3),
    ] {
        write_fault_converges(plural, code, n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_on_status_hpa_and_scale_writes_converge() {
    for plural in ["scaledobjects", "horizontalpodautoscalers", "deployments"] {
        write_fault_converges(plural, 409, 2).await;
    }
}

/// Two replicas; the leader is cut off (`cut`): the other takes over after the lease expires,
/// the old one writes nothing more, and the new leader scales exactly once.
async fn leader_lost(cut: Cut, case: &str) {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    api.put(deployment("shop", "web", 0, json!([])));
    api.put(redis_so("web", &redis));
    let lease = Duration::from_secs(2);
    let (a, ra) = Operator::start_replica(&api, Some(("replica-a", lease)));
    let (b, rb) = Operator::start_replica(&api, Some(("replica-b", lease)));
    let holder = || {
        api.get(
            "coordination.k8s.io/v1",
            "Lease",
            "prescale",
            "prescale-operator",
        )
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
    };
    eventually(20, "HPA", || hpa(&api, "shop", "keda-hpa-web")).await;
    let first = eventually(10, "a holder", holder).await;
    let ((old, old_w), (new, new_w)) = if first == "replica-a" {
        ((&a, &ra), (&b, &rb))
    } else {
        ((&b, &rb), (&a, &ra))
    };
    eventually(10, "ready replicas", || {
        (old.handles.readiness.is_ready() && new.handles.readiness.is_ready()).then_some(())
    })
    .await;
    old_w.cut(cut);
    let cut_at = Instant::now();
    eventually(15, "the other replica holds the lease", || {
        holder().filter(|h| *h != first)
    })
    .await;
    let took_over = cut_at.elapsed();
    let old_writes = old_w.writes();
    let scale_before = api.requests("patch", "deployments", "scale");
    // work after the take-over: the queue fills, the target must go 0 → 1 once
    redis.cli(&["RPUSH", "q", "x"]);
    eventually(15, "activation by the new leader", || {
        (replicas(&api, "shop", "web") == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        old_w.writes(),
        old_writes,
        "the old leader wrote nothing more"
    );
    assert_eq!(replicas(&api, "shop", "web"), 1);
    let scales = api.requests("patch", "deployments", "scale") - scale_before;
    assert_eq!(scales, 1, "one /scale write, not two");
    assert!(
        took_over <= lease + lease / 2 + Duration::from_millis(500),
        "take-over in {took_over:?}"
    );
    row(
        case,
        &format!("lease {} s", lease.as_secs()),
        took_over,
        format!("old leader +0, new leader {}", new_w.writes()),
        "one /scale write",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_lost_the_lease_writes_nothing_more() {
    leader_lost(Cut::Plural("leases".into()), "lease lost (renewals fail)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_within_the_lease() {
    leader_lost(Cut::All, "leader killed").await;
}
