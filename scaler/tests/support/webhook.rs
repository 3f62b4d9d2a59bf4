//! The admission webhook under test: served over real HTTPS with a serving certificate made as
//! the operator makes it (`serving_cert::apply`) for install's Service, `prescale install`'s
//! ValidatingWebhookConfiguration (in by default) with that CA as its `caBundle` (what the
//! operator's writer puts there), a client trusting only that bundle under the Service's DNS
//! name, and the cluster objects the tests review against.

use base64::Engine;
use prescale::cli::install::{Options, documents};
use prescale::cli::install_webhook::WebhookArgs;
use prescale::webhook::FailurePolicy;
use prescale::webhook::review::Reviewer;
use prescale_kube_standin::ApiServer;
use prescale_metrics_adapter::tls::CertSource;
use serde_json::{Value, json};

use super::deployment;

const HOST: &str = "prescale-metrics-apiserver.prescale.svc";

/// A webhook served with install's certificate, and a client trusting install's caBundle.
pub struct Webhook {
    pub client: reqwest::Client,
    pub base: String,
    /// kind → path, from the ValidatingWebhookConfiguration.
    paths: Vec<(String, String)>,
    /// install's ValidatingWebhookConfiguration.
    pub config: Value,
    pub addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

pub async fn start(api: &ApiServer, policy: FailurePolicy) -> Webhook {
    let args = WebhookArgs {
        webhook_failure_policy: policy,
        ..WebhookArgs::default()
    };
    start_with(api, args).await
}

/// [`start`] with install's webhook flags `args`.
pub async fn start_with(api: &ApiServer, args: WebhookArgs) -> Webhook {
    let policy = args.webhook_failure_policy;
    let mut options = Options::new("prescale");
    options.webhook = args;
    let docs = documents(&options);
    let mut config = docs
        .iter()
        .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
        .expect("install --webhook outputs a ValidatingWebhookConfiguration")
        .clone();
    let material = prescale::serving_cert::apply(
        &prescale::serving_cert::Action::Fresh("test".into()),
        &Default::default(),
        &prescale::serving_cert::service_names("prescale-metrics-apiserver", "prescale"),
        &Default::default(),
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&material["ca.crt"]);
    for w in config["webhooks"].as_array_mut().unwrap() {
        assert!(
            w["clientConfig"].get("caBundle").is_none(),
            "install carries no CA: the operator fills it"
        );
        w["clientConfig"]["caBundle"] = json!(b64);
    }
    let d = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), &material["tls.crt"]).unwrap();
    std::fs::write(dir.path().join("tls.key"), &material["tls.key"]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let reviewer = Reviewer {
        client: api.client(),
        policy,
        cluster_object_namespace: "prescale".into(),
    };
    let cert = CertSource::Files {
        cert: dir.path().join("tls.crt"),
        key: dir.path().join("tls.key"),
    };
    tokio::spawn(prescale::webhook::server::serve(
        listener,
        cert,
        reviewer,
        None,
        std::future::pending(),
    ));
    let mut paths = Vec::new();
    let mut ca = None;
    for w in config["webhooks"].as_array().unwrap() {
        let svc = &w["clientConfig"]["service"];
        assert_eq!(
            format!(
                "{}.{}.svc",
                svc["name"].as_str().unwrap(),
                svc["namespace"].as_str().unwrap()
            ),
            HOST
        );
        ca = Some(d(&w["clientConfig"]["caBundle"]));
        let kind = w["rules"][0]["resources"][0].as_str().unwrap().to_string();
        paths.push((kind, svc["path"].as_str().unwrap().to_string()));
    }
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca.unwrap()).unwrap())
        .resolve(HOST, ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    Webhook {
        client,
        base: format!("https://{HOST}:{port}"),
        paths,
        config: config.clone(),
        addr,
        _dir: dir,
    }
}

impl Webhook {
    /// Posts a review of `object` (CREATE, or UPDATE from `old`) and returns the response.
    pub async fn review(&self, object: &Value, old: Option<&Value>) -> Value {
        let kind = object["kind"].as_str().unwrap();
        let plural = format!("{}s", kind.to_ascii_lowercase());
        let path = &self.paths.iter().find(|(p, _)| *p == plural).unwrap().1;
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "0d4b7a2e-1", "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": kind},
                "resource": {"group": "keda.sh", "version": "v1alpha1", "resource": plural},
                "name": object["metadata"]["name"], "namespace": object["metadata"]["namespace"],
                "operation": if old.is_some() { "UPDATE" } else { "CREATE" },
                "userInfo": {"username": "alice"}, "object": object, "oldObject": old, "dryRun": false
            }
        });
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&review)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        assert_eq!(body["response"]["uid"], "0d4b7a2e-1");
        body["response"].clone()
    }
}

pub fn so(name: &str, target: &str, triggers: Value) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": 1, "triggers": triggers}})
}

/// A ScaledJob in namespace `shop` whose Job template has one container `worker`.
pub fn sj(name: &str, triggers: Value) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"jobTargetRef": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "worker", "image": "registry.local/worker:1"}]}}},
            "maxReplicaCount": 10, "triggers": triggers}})
}

pub fn redis() -> Value {
    json!([{"type": "redis", "metadata": {"address": "redis.shop:6379", "listName": "jobs", "listLength": "5"}}])
}

pub fn cluster(api: &ApiServer) {
    api.put(deployment("shop", "web", 2, json!([])));
    api.put(deployment("shop", "api", 2, json!([])));
    api.put(deployment("shop", "legacy", 2, json!([])));
    api.put(so("first", "api", redis()));
    api.put(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "legacy-hpa", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"},
                 "minReplicas": 1, "maxReplicas": 4}}));
}

pub fn denied(r: &Value) -> String {
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403, "{r}");
    r["status"]["message"].as_str().unwrap().to_string()
}
