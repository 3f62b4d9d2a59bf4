//! The admission webhook: one ScaledObject review at a time, in a namespace of `--objects`
//! ScaledObjects and as many HPAs (the lists the cluster checks read), three ways in the same
//! run against the same in-process API stand-in:
//! - `lookups`: the cluster reads a review makes, alone, through the kube client (the raw
//!   backend: ScaledObjects, HPAs, the workload, LimitRanges);
//! - `in process`: `Reviewer::review` (decode, every check, the lookups, the decision);
//! - `https`: the same review POSTed to the webhook over HTTPS (keep-alive, rustls both ends),
//!   as the apiserver calls it.
//!
//! Ratios are against `lookups`. Latencies are client side, sequential requests.
//!
//! Run: `cargo bench -p prescale-benches --bench webhook -- --reviews N --objects M`.

use kube::api::DynamicObject;
use prescale::webhook::FailurePolicy;
use prescale::webhook::review::Reviewer;
use prescale_kube_standin::ApiServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Latencies of one way, sorted.
pub struct Way {
    pub name: &'static str,
    pub latencies: Vec<Duration>,
}

impl Way {
    fn pct(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    pub fn mean(&self) -> Duration {
        self.latencies.iter().sum::<Duration>() / self.latencies.len().max(1) as u32
    }
}

/// What a run measured; `allowed`/`denied` count the https answers.
pub struct Run {
    pub ways: Vec<Way>,
    pub allowed: usize,
    pub denied: usize,
}

fn scaled_object(name: &str, target: &str) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": 1, "maxReplicaCount": 10,
                 "triggers": [{"type": "redis", "metadata": {"address": "redis:6379", "listName": "jobs", "listLength": "5"}}]}})
}

fn cluster(objects: usize) -> ApiServer {
    let api = ApiServer::new();
    for i in 0..objects {
        api.put(scaled_object(&format!("so-{i}"), &format!("app-{i}")));
        api.put(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": format!("keda-hpa-so-{i}"), "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("app-{i}")}, "maxReplicas": 10}}));
    }
    api.put(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}));
    api
}

fn review(i: usize) -> Value {
    // every tenth review conflicts with an existing ScaledObject (denied)
    let target = if i.is_multiple_of(10) { "app-0" } else { "web" };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("u{i}"), "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": "ScaledObject"},
        "resource": {"group": "keda.sh", "version": "v1alpha1", "resource": "scaledobjects"},
        "name": "new", "namespace": "shop", "operation": "CREATE", "userInfo": {},
        "object": scaled_object("new", target), "oldObject": null}})
}

async fn lookups(client: &kube::Client) {
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::core::v1::LimitRange;
    let ns = "shop";
    let lp = Default::default();
    kube::Api::<prescale::api::ScaledObject>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .unwrap();
    kube::Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .unwrap();
    kube::Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), ns)
        .get_opt("web")
        .await
        .unwrap();
    kube::Api::<LimitRange>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .unwrap();
}

/// `reviews` reviews each way in a namespace of `objects` ScaledObjects and HPAs.
pub fn run(reviews: usize, objects: usize) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let api = cluster(objects);
        let reviewer = Reviewer {
            client: api.client(),
            policy: FailurePolicy::Fail,
            cluster_object_namespace: "prescale".into(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cert = prescale_metrics_adapter::tls::CertSource::SelfSigned {
            names: vec!["localhost".into()],
        };
        tokio::spawn(prescale::webhook::server::serve(
            listener,
            cert,
            reviewer.clone(),
            None,
            std::future::pending(),
        ));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let url = format!(
            "https://localhost:{}/validate-keda-sh-v1alpha1-scaledobject",
            addr.port()
        );
        let mut ways = vec![
            Way {
                name: "lookups",
                latencies: Vec::new(),
            },
            Way {
                name: "in process",
                latencies: Vec::new(),
            },
            Way {
                name: "https",
                latencies: Vec::new(),
            },
        ];
        let (mut allowed, mut denied) = (0, 0);
        let client = api.client();
        for i in 0..reviews {
            let t = Instant::now();
            lookups(&client).await;
            ways[0].latencies.push(t.elapsed());

            let body = review(i);
            let parsed: kube::core::admission::AdmissionReview<DynamicObject> =
                serde_json::from_value(body.clone()).unwrap();
            let t = Instant::now();
            let answer = reviewer.review(parsed).await;
            ways[1].latencies.push(t.elapsed());
            assert!(answer.response.is_some());

            let t = Instant::now();
            let res: Value = http
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            ways[2].latencies.push(t.elapsed());
            if res["response"]["allowed"] == true {
                allowed += 1
            } else {
                denied += 1
            }
        }
        for w in &mut ways {
            w.latencies.sort();
        }
        Run {
            ways,
            allowed,
            denied,
        }
    })
}

fn main() {
    let reviews = prescale_benches::arg("--reviews", 2000usize);
    let objects = prescale_benches::arg("--objects", 200usize);
    let r = run(reviews, objects);
    println!(
        "{reviews} reviews, {objects} ScaledObjects and HPAs in the namespace; https: {} allowed, {} denied",
        r.allowed, r.denied
    );
    println!("| way | mean µs | p50 µs | p99 µs | × lookups (mean) |");
    println!("|---|---|---|---|---|");
    let base = r.ways[0].mean().as_secs_f64();
    for w in &r.ways {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.2} |",
            w.name,
            w.mean().as_secs_f64() * 1e6,
            w.pct(0.5).as_secs_f64() * 1e6,
            w.pct(0.99).as_secs_f64() * 1e6,
            w.mean().as_secs_f64() / base
        );
    }
}
