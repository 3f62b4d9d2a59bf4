//! `--shards`: three replicas share six shard Leases, each reconciles, polls and writes only
//! its shards' ScaledObjects, and every replica's metrics API answers for every object
//! (forwarding to the holder). A killed replica's shards are taken by the others once its
//! Leases expire; a replica joining makes the others release their surplus.

mod support;

use prescale::context::{OperatorConfig, Sharding};
use prescale::leader::shard::shard_of;
use prescale_kube_standin::ApiServer;
use prescale_kube_standin::faults::Replica;
use prescale_testkit::redis::RedisServer;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::aggregation::{HPA_USER, front_proxy, https_client};
use support::*;

const NS: &str = "shard";
const SHARDS: u32 = 6;
const OBJECTS: usize = 12;
const LEASE: Duration = Duration::from_secs(2);

fn name(i: usize) -> String {
    format!("so-{i}")
}

fn shard(i: usize) -> u32 {
    shard_of(NS, &name(i), SHARDS)
}

/// Who holds each shard Lease (by the Lease objects on the API server).
fn holders(api: &ApiServer) -> Vec<Option<String>> {
    (0..SHARDS)
        .map(|i| {
            api.get(
                "coordination.k8s.io/v1",
                "Lease",
                "prescale",
                &format!("prescale-shard-{i}"),
            )
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
        })
        .collect()
}

/// Shards held per replica, when every shard is held.
fn counts(api: &ApiServer) -> Option<BTreeMap<String, usize>> {
    let mut out = BTreeMap::new();
    for h in holders(api) {
        *out.entry(h?).or_default() += 1;
    }
    Some(out)
}

/// Waits until the shards are held by exactly `want` (replica → count).
async fn balanced(api: &ApiServer, secs: u64, want: &[(&str, usize)]) {
    let want: BTreeMap<String, usize> = want.iter().map(|(r, n)| (r.to_string(), *n)).collect();
    eventually(secs, &format!("shards held as {want:?}"), || {
        (counts(api).as_ref() == Some(&want)).then_some(())
    })
    .await;
}

/// One running replica: its operator, its API access, its metrics API port.
struct Running {
    id: &'static str,
    op: Operator,
    replica: Replica,
    port: u16,
}

async fn start(api: &ApiServer, id: &'static str, identity: &str) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = prescale::operator::MetricsApiOptions {
        listener,
        cert: prescale_metrics_adapter::tls::CertSource::SelfSigned {
            names: vec!["localhost".into()],
        },
        authorization: false,
        watch_front_proxy_config: true,
        max_age: None,
        metrics: None,
    };
    let config = OperatorConfig {
        sharding: Sharding {
            shards: SHARDS,
            advertise_address: Some(format!("127.0.0.1:{port}")),
            forward_identity: Some(identity.to_string().into()),
            forward_timeout: Duration::from_secs(2),
            ..Sharding::default()
        },
        ..OperatorConfig::default()
    };
    let (op, replica) = Operator::start_sharded(api, id, LEASE, Some(options), config);
    Running {
        id,
        op,
        replica,
        port,
    }
}

/// The metric of object `i` read from the metrics API of the replica on `port` (as the
/// aggregator calls it: front-proxy client certificate, HPA user).
async fn read(client: &reqwest::Client, port: u16, i: usize) -> Result<f64, String> {
    let url = format!(
        "https://127.0.0.1:{port}/apis/external.metrics.k8s.io/v1beta1/namespaces/{NS}/s0-redis-q-{i}?labelSelector=scaledobject.keda.sh%2Fname%3D{}",
        name(i)
    );
    let res = client
        .get(url)
        .header("X-Remote-User", HPA_USER)
        .header("X-Remote-Group", "system:serviceaccounts")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let code = res.status();
    let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
    if !code.is_success() {
        return Err(format!("{code}: {}", body["message"]));
    }
    prescale::explain::state::milli(&body["items"][0]["value"], "value").map(|m| m as f64 / 1000.0)
}

/// Waits until every object reads `want(i)` through the replica on `port`.
async fn all_read(client: &reqwest::Client, port: u16, secs: u64, want: impl Fn(usize) -> f64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    for i in 0..OBJECTS {
        loop {
            let got = read(client, port, i).await;
            if got == Ok(want(i)) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} through port {port}: {got:?}, want {}",
                name(i),
                want(i)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Which objects each replica wrote (status, label, finalizer, HPA) since `from[replica]`.
fn writers(replicas: &[&Running], from: &BTreeMap<&str, usize>) -> Vec<BTreeSet<&'static str>> {
    let mut out = vec![BTreeSet::new(); OBJECTS];
    for r in replicas {
        let paths = r.replica.written();
        for p in &paths[from.get(r.id).copied().unwrap_or(0).min(paths.len())..] {
            for (i, w) in out.iter_mut().enumerate() {
                let n = name(i);
                if p.ends_with(&format!("/scaledobjects/{n}"))
                    || p.ends_with(&format!("/scaledobjects/{n}/status"))
                    || p.ends_with(&format!("/horizontalpodautoscalers/keda-hpa-{n}"))
                {
                    w.insert(r.id);
                }
            }
        }
    }
    out
}

fn marks(replicas: &[&Running]) -> BTreeMap<&'static str, usize> {
    replicas
        .iter()
        .map(|r| (r.id, r.replica.written().len()))
        .collect()
}

/// Every object was written only by the holder of its shard (and, with `all`, by it at all).
fn written_by_holders(api: &ApiServer, seen: &[BTreeSet<&'static str>], all: bool) {
    let holders = holders(api);
    for (i, w) in seen.iter().enumerate() {
        let holder = holders[shard(i) as usize].clone().unwrap_or_default();
        assert!(
            w.iter().all(|r| *r == holder),
            "{} (shard {}) was written by {w:?}, its shard is held by {holder}",
            name(i),
            shard(i)
        );
        assert!(
            !all || w.contains(holder.as_str()),
            "{} never written",
            name(i)
        );
    }
}

fn active(api: &ApiServer, i: usize) -> Option<String> {
    scaled_object(api, NS, &name(i)).and_then(|so| condition(&so, "Active").map(|c| c.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_shards_serve_every_object_and_survive_a_crash() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    let identity = front_proxy(&api);
    let client = https_client(&identity);
    let (host, port) = redis
        .address()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    // the objects spread over every shard
    let spread: BTreeSet<u32> = (0..OBJECTS).map(shard).collect();
    assert_eq!(spread.len(), SHARDS as usize, "objects in every shard");

    // (a) three replicas, two shards each, before any object exists
    let a = start(&api, "replica-a", &identity).await;
    balanced(&api, 10, &[("replica-a", 6)]).await;
    let b = start(&api, "replica-b", &identity).await;
    let c = start(&api, "replica-c", &identity).await;
    balanced(
        &api,
        15,
        &[("replica-a", 2), ("replica-b", 2), ("replica-c", 2)],
    )
    .await;
    for r in [&a, &b, &c] {
        eventually(5, "shards_held gauge", || {
            r.op.metrics_text()
                .contains("prescale_shards_held 2\n")
                .then_some(())
        })
        .await;
    }
    let start_marks = marks(&[&a, &b, &c]);
    put_objects(&api, &redis, &host, &port);
    for i in 0..OBJECTS {
        eventually(20, &format!("{} HPA and Ready", name(i)), || {
            let so = scaled_object(&api, NS, &name(i))?;
            hpa(&api, NS, &format!("keda-hpa-{}", name(i)))?;
            (condition(&so, "Ready")?.0 == "True" && active(&api, i)? == "True").then_some(())
        })
        .await;
    }
    written_by_holders(&api, &writers(&[&a, &b, &c], &start_marks), true);

    // (b) every replica answers for every object: its own, and the others' by forwarding
    for i in 1..OBJECTS {
        redis.cli(&["RPUSH", &format!("q-{i}"), "y"]);
    }
    let want = |i: usize| if i == 0 { 1.0 } else { 2.0 };
    for r in [&a, &b, &c] {
        all_read(&client, r.port, 15, want).await;
    }
    // a request forwarded to a replica that does not hold the shard is not forwarded again
    let stray = (0..OBJECTS)
        .find(|i| holders(&api)[shard(*i) as usize].as_deref() != Some("replica-a"))
        .unwrap();
    let url = format!(
        "https://127.0.0.1:{}/apis/external.metrics.k8s.io/v1beta1/namespaces/{NS}/s0-redis-q-{stray}?labelSelector=scaledobject.keda.sh%2Fname%3D{},prescale.sh%2Fforwarded%3Dtrue",
        a.port,
        name(stray)
    );
    let res = client
        .get(url)
        .header("X-Remote-User", HPA_USER)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains("not held by this replica"), "{body}");

    // (c) a crash: replica-c's shards are taken by the others once their Leases expire
    let c_shards: Vec<u32> = holders(&api)
        .iter()
        .enumerate()
        .filter(|(_, h)| h.as_deref() == Some("replica-c"))
        .map(|(s, _)| s as u32)
        .collect();
    let moved = (0..OBJECTS)
        .find(|i| c_shards.contains(&shard(*i)))
        .expect("an object in a killed shard");
    let Running {
        op: c_op,
        replica: c_replica,
        ..
    } = c;
    c_op.kill(&c_replica);
    let after_kill = marks(&[&a, &b]);
    // until the Leases expire, reads of its objects through the others fail (their holder
    // does not answer): an error, never another value
    let survivors = BTreeMap::from([("replica-a".to_string(), 3), ("replica-b".to_string(), 3)]);
    let (mut failed, mut served) = (0, 0);
    while counts(&api).as_ref() != Some(&survivors) {
        match read(&client, a.port, moved).await {
            Ok(v) => {
                assert_eq!(v, want(moved), "a value for {} mid-takeover", name(moved));
                served += 1;
            }
            Err(e) => {
                assert!(e.starts_with("503"), "{e}");
                failed += 1;
            }
        }
        assert!(
            failed + served < 60,
            "replica-c's shards were not taken over"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        failed > 0,
        "reads of a crashed holder's object never failed"
    );
    // a change for an object of a killed shard reaches its status (written by the new
    // holder) and the metrics API of both survivors
    redis.cli(&["DEL", &format!("q-{moved}")]);
    eventually(15, "the moved object deactivates", || {
        (active(&api, moved)? == "False" && replicas(&api, NS, &format!("w-{moved}")) == 0)
            .then_some(())
    })
    .await;
    let want_after = |i: usize| if i == moved { 0.0 } else { want(i) };
    for r in [&a, &b] {
        all_read(&client, r.port, 15, want_after).await;
    }
    written_by_holders(&api, &writers(&[&a, &b], &after_kill), false);

    // (d) a replica joins: the others release their surplus, it takes a fair share
    let d = start(&api, "replica-d", &identity).await;
    balanced(
        &api,
        15,
        &[("replica-a", 2), ("replica-b", 2), ("replica-d", 2)],
    )
    .await;
    let after_join = marks(&[&a, &b, &d]);
    let d_object = (0..OBJECTS)
        .find(|i| *i != moved && holders(&api)[shard(*i) as usize].as_deref() == Some("replica-d"))
        .expect("an object of replica-d");
    // the newcomer polls and writes its objects: a change reaches the status
    redis.cli(&["DEL", &format!("q-{d_object}")]);
    eventually(15, "replica-d's object deactivates", || {
        (active(&api, d_object)? == "False").then_some(())
    })
    .await;
    let want_joined = |i: usize| {
        if i == moved || i == d_object {
            0.0
        } else {
            want(i)
        }
    };
    for r in [&a, &b, &d] {
        all_read(&client, r.port, 15, want_joined).await;
    }
    let seen = writers(&[&a, &b, &d], &after_join);
    written_by_holders(&api, &seen, false);
    assert!(
        seen[d_object].contains("replica-d"),
        "{seen:?} {d_object} {:?} {:?}",
        &d.replica.written()[after_join["replica-d"]..],
        scaled_object(&api, NS, &name(d_object))
    );
    assert!(
        d.op.metrics_text().contains("prescale_shards_held 2\n"),
        "{}",
        d.op.metrics_text()
    );

    // presence Leases: the crashed replica's is deleted once it has been gone a while, a
    // replica that stops deletes its own (and releases its shards to the others)
    let presence = |id: &str| {
        api.get(
            "coordination.k8s.io/v1",
            "Lease",
            "prescale",
            &format!("prescale-replica-{id}"),
        )
    };
    eventually(15, "replica-c's presence Lease deleted", || {
        presence("replica-c").is_none().then_some(())
    })
    .await;
    let Running { op: mut d_op, .. } = d;
    d_op.stop().await;
    assert!(presence("replica-d").is_none());
    balanced(&api, 10, &[("replica-a", 3), ("replica-b", 3)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_from_its_leases_stops_writing_before_its_shards_are_taken() {
    let redis = RedisServer::start();
    let api = ApiServer::new();
    let identity = front_proxy(&api);
    let (host, port) = redis
        .address()
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let a = start(&api, "replica-a", &identity).await;
    balanced(&api, 10, &[("replica-a", 6)]).await;
    let b = start(&api, "replica-b", &identity).await;
    balanced(&api, 15, &[("replica-a", 3), ("replica-b", 3)]).await;
    put_objects(&api, &redis, &host, &port);
    for i in 0..OBJECTS {
        eventually(20, &format!("{} Active", name(i)), || {
            (active(&api, i)? == "True").then_some(())
        })
        .await;
    }
    // replica-b can reach everything but the Leases: it cannot renew, so it must stop writing
    // by the time replica-a may take its shards
    b.replica
        .cut(prescale_kube_standin::faults::Cut::Plural("leases".into()));
    balanced(&api, 15, &[("replica-a", 6)]).await;
    let taken_over = b.replica.written().len();
    eventually(5, "replica-b holds no shard", || {
        b.op.metrics_text()
            .contains("prescale_shards_held 0\n")
            .then_some(())
    })
    .await;
    // every object changes now: replica-a writes them all, replica-b none
    let before_a = marks(&[&a]);
    for i in 0..OBJECTS {
        redis.cli(&["DEL", &format!("q-{i}")]);
    }
    for i in 0..OBJECTS {
        eventually(15, &format!("{} deactivated", name(i)), || {
            (active(&api, i)? == "False").then_some(())
        })
        .await;
    }
    assert_eq!(
        &b.replica.written()[taken_over..],
        &[] as &[String],
        "replica-b wrote after its shards were taken"
    );
    let seen = writers(&[&a], &before_a);
    assert!(seen.iter().all(|w| w.contains("replica-a")), "{seen:?}");
}

/// The test's ScaledObjects: each a redis list `q-<i>` (one item) on its own Deployment
/// `w-<i>` whose env names the server.
fn put_objects(api: &ApiServer, redis: &RedisServer, host: &str, port: &str) {
    for i in 0..OBJECTS {
        api.put(deployment(
            NS,
            &format!("w-{i}"),
            1,
            json!([{"name": "REDIS_HOST", "value": host}, {"name": "REDIS_PORT", "value": port}]),
        ));
        redis.cli(&["RPUSH", &format!("q-{i}"), "x"]);
        api.put(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": name(i), "namespace": NS},
            "spec": {"scaleTargetRef": {"name": format!("w-{i}")}, "pollingInterval": 1, "cooldownPeriod": 1,
                     "minReplicaCount": 0, "maxReplicaCount": 5,
                     "triggers": [{"type": "redis", "metadata": {"hostFromEnv": "REDIS_HOST", "portFromEnv": "REDIS_PORT",
                                   "listName": format!("q-{i}"), "listLength": "5"}}]}}));
    }
}
