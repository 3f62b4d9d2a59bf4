//! Bodies of the fuzz targets in `fuzz/` (see `scripts/fuzz.sh`), public only so that the
//! fuzz package can call them; not an API. Each takes the raw fuzzer input, must not panic on
//! any input, and checks a few properties (a failed check panics, which the fuzzer reports as
//! a crash). The crate's tests run each body over its seed corpus (`fuzz/corpus/<target>/`),
//! so every harness also gets a short smoke run on stable Rust.

use crate::auth::{Auth, RequestHeaderConfig, User};
use crate::authz::{Attributes, Authorizer};
use crate::provider::{ExternalMetricValue, MetricProvider, ProviderError};
use crate::selector::{Requirement, Selector};
use crate::server::PeerIdentity;
use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use tower::ServiceExt;

/// `label_selector`: [`Selector::parse`] on the input; a selector that parses is matched
/// against a few label sets, and every key it pins with `k=v` must be found by
/// [`Selector::exact_value`].
pub fn label_selector(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(sel) = Selector::parse(&text) else {
        return;
    };
    let mut labels = BTreeMap::new();
    let _ = sel.matches(&labels);
    for r in &sel.0 {
        match r {
            Requirement::Equals(k, v) => {
                assert!(sel.exact_value(k).is_some(), "{text:?}: {k}={v} not exact");
                labels.insert(k.clone(), v.clone());
            }
            Requirement::In(k, vs) => {
                labels.insert(k.clone(), vs.first().cloned().unwrap_or_default());
            }
            Requirement::NotEquals(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k) => {
                let _ = sel.exact_value(k);
            }
        }
    }
    let _ = sel.matches(&labels);
}

/// The provider and authorizer of [`metrics_path`]: remember what they were asked.
#[derive(Default)]
struct Recorder {
    served: Mutex<Vec<(String, String)>>,
    authorized: Mutex<Vec<Attributes>>,
}

#[async_trait]
impl MetricProvider for Arc<Recorder> {
    async fn get_external_metric(
        &self,
        namespace: &str,
        metric_name: &str,
        _selector: &Selector,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        self.served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((namespace.to_string(), metric_name.to_string()));
        Ok(vec![ExternalMetricValue {
            metric_name: metric_name.to_string(),
            labels: BTreeMap::new(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            value: 1.5,
        }])
    }

    async fn list_external_metrics(&self) -> Vec<String> {
        vec!["s0-metric".into()]
    }
}

#[async_trait]
impl Authorizer for Recorder {
    async fn allowed(&self, _: &User, attrs: &Attributes) -> Result<bool, String> {
        self.authorized
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(attrs.clone());
        Ok(true)
    }
}

/// `metrics_path`: the input as the path and query of a GET through the whole app
/// (authentication middleware with a trusted front proxy, authorization that allows and
/// records, routing, path and query extraction, the label selector) to a provider that records
/// what it serves. The app must not answer 5xx, and a served metric must be the one that was
/// authorized: the same namespace and name, both percent-decoded once.
pub fn metrics_path(data: &[u8]) {
    let Some((status, served, authorized)) = serve(data) else {
        return;
    };
    let path = String::from_utf8_lossy(data);
    assert!(!status.is_server_error(), "{path:?}: {status}");
    for (namespace, metric) in served {
        assert!(
            authorized.iter().any(|a| matches!(a,
                Attributes::Resource { namespace: n, resource: r }
                    if *n == namespace && *r == metric)),
            "{path:?}: served {namespace}/{metric}, authorized {authorized:?}"
        );
    }
}

/// What the app answered to a GET of `path`, the (namespace, metric) pairs it served and the
/// attributes it authorized; `None` when `path` is not a URI.
type Served = (
    axum::http::StatusCode,
    Vec<(String, String)>,
    Vec<Attributes>,
);

fn serve(path: &[u8]) -> Option<Served> {
    let uri = axum::http::Uri::try_from(path).ok()?;
    let req = Request::get(uri)
        .header("X-Remote-User", "fuzz")
        .extension(PeerIdentity {
            common_name: Some("front-proxy".into()),
        })
        .body(Body::empty())
        .ok()?;
    let rec = Arc::new(Recorder::default());
    let auth = Arc::new(Auth {
        request_header: arc_swap::ArcSwap::from_pointee(RequestHeaderConfig::default()),
        authorizer: rec.clone(),
    });
    let app = crate::app(Arc::new(rec.clone()), auth, None);
    let status = runtime()
        .block_on(app.oneshot(req))
        .map(|res| res.status())
        .unwrap_or_else(|e| match e {});
    let served = rec.served.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let authorized = rec
        .authorized
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Some((status, served, authorized))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Runs `body` over every file of `fuzz/corpus/<target>/`; fails when there are fewer
    /// than three.
    fn smoke(target: &str, body: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap().path();
            body(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n >= 3, "{dir:?} holds only {n} seeds");
    }

    #[test]
    fn label_selector_corpus() {
        smoke("label_selector", super::label_selector);
    }

    #[test]
    fn metrics_path_corpus() {
        smoke("metrics_path", super::metrics_path);
    }

    /// The property `metrics_path` checks is not vacuous: a metric read reaches the provider,
    /// and authorization and routing see the same decoded segments.
    #[test]
    fn metrics_path_serves_what_it_authorized() {
        let (status, served, authorized) = super::serve(
            b"/apis/external.metrics.k8s.io/v1beta1/namespaces/sh%6Fp/s0%2Dcron?labelSelector=a%3Db",
        )
        .unwrap();
        assert_eq!(status, axum::http::StatusCode::OK);
        assert_eq!(served, [("shop".to_string(), "s0-cron".to_string())]);
        assert_eq!(
            authorized,
            [super::Attributes::Resource {
                namespace: "shop".into(),
                resource: "s0-cron".into()
            }]
        );
    }
}
