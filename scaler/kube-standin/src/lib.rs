//! A small, stateful, in-process stand-in of the Kubernetes API for Prescale's operator tests.
//! The real `kube::Client` talks to it through `kube::Client::new(service, ns)`, so every
//! request goes through kube's real request building, serialisation and watch handling.
//!
//! What it honours: objects per resource/namespace/name; a global resourceVersion with 409
//! Conflict on stale updates; generation bumps on spec changes; list with label and field
//! selectors; watch from a resourceVersion (410 Gone when too old, so watchers relist), with
//! bookmarks; status and scale subresources; merge, JSON and server-side-apply patches;
//! finalizers and deletionTimestamp; owner-reference garbage collection; discovery for
//! registered kinds; SubjectAccessReview answers from a test-set rule; APIServices whose
//! requests are proxied to a backend (the aggregation layer, `aggregator`); an HPA controller
//! (`hpa_controller`, started by the test) running `prescale-hpa-model` over every
//! `autoscaling/v2` HorizontalPodAutoscaler: External metrics (Value, AverageValue) from a
//! test-supplied source, ready pods counted from the Pods in the store, the target's
//! `spec.replicas` written through `/scale` semantics (resourceVersion checked), and the HPA's
//! status (`currentReplicas`, `desiredReplicas`, `lastScaleTime`, `currentMetrics`,
//! AbleToScale / ScalingActive / ScalingLimited with the controller's reasons and messages),
//! with per-HPA-uid memory of recommendations and scale events.
//!
//! batch/v1 Jobs are stored like any object; a test-driven Job runner (`job_runner`) starts a
//! Job's Pod and finishes Jobs (Complete/Failed conditions, counts, completionTime) as the Job
//! controller and kubelet would, only when a test asks.
//!
//! `listen` serves the same state on a loopback TCP port (plain HTTP/1.1 and h2c, request
//! bodies read whole) for tests that run `prescale run` as a process with a kubeconfig; the
//! `kube-standin-http` bin does the same as a process, for `scripts/image.sh`, which runs
//! `prescale run` inside the container image's root file system. APIService objects
//! (`apiregistration.k8s.io/v1`) are stored like any other object; which backend serves a
//! group is still the test's `register_api_service`, not the object's `spec.service`.
//!
//! Faults for tests (`faults`): writes failed with 429 + Retry-After, 409 or 5xx
//! (`fail_writes`), every open watch ended at once (`break_watches`; with `compact` the resume
//! gets 410 Gone), and per-replica clients that can be cut off and that record the path of
//! every write they made (`replica_client`).
//!
//! What it simplifies (documented so no test relies on it unknowingly): strategic merge patch
//! is treated as a JSON merge patch; server-side apply replaces lists whole and tracks
//! ownership per manager as "the last applied configuration"; no admission, defaulting or
//! validation beyond names (but see `admission`: registered ValidatingWebhookConfigurations
//! are called over HTTPS on writes, as the apiserver calls them; and an HPA's `spec.behavior`
//! gets the apiserver's defaults, so a client comparing its desired HPA sees what a cluster
//! stores); set-based label selectors support `in`/`notin`/exists only.
//! The HPA controller's simplifications: no Events (`SuccessfulRescale`,
//! `FailedGetExternalMetric`, …); Resource and ContainerResource metrics always fail (no
//! metrics-server), Pods and Object metrics are reported as unusable; the target's selector is
//! `spec.selector.matchLabels` only, and a target without one stops the sync before the guard
//! rails (the controller checks it after them); a `behavior` or quantity the API server would
//! reject stops the sync with ScalingActive=False/FailedConvertHPA; condition timestamps and
//! `lastScaleTime` are wall-clock times whatever instant `sync_once` is given; the sync runs
//! every period from the controller's start (first after one period), not per-HPA queue delays.

pub mod admission;
pub mod aggregator;
pub mod faults;
pub mod hpa_controller;
pub mod http_api;
pub mod job_runner;
pub mod listen;
pub mod patch;
pub mod resources;
pub mod store;

use resources::Resource;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use store::State;

/// The stand-in API server. Clone handles share one state.
#[derive(Clone)]
pub struct ApiServer {
    state: Arc<Mutex<State>>,
}

impl Default for ApiServer {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiServer {
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(resources::builtin()))),
        }
    }

    /// A real kube client whose requests this server answers.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.service(), "default")
    }

    /// The tower service itself, to build a client with extra layers (e.g. rate limits).
    pub fn service(&self) -> http_api::Service {
        http_api::Service {
            state: self.state.clone(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Registers a custom kind with a `/scale` subresource.
    pub fn register(&self, r: Resource) {
        self.with(|s| s.resources.push(r));
    }

    /// Creates or replaces an object directly (test set-up), bypassing HTTP.
    pub fn put(&self, obj: Value) -> Value {
        self.with(|s| {
            let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
            let kind = obj["kind"].as_str().unwrap_or_default().to_string();
            let r = s
                .resource_by_kind(&api_version, &kind)
                .unwrap_or_else(|| panic!("unknown kind {api_version} {kind}"));
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if s.get(&r, &ns, &name).is_ok() {
                let mut o = obj.clone();
                o["metadata"]["resourceVersion"] = Value::Null;
                let with_status = o.clone();
                let res = s.update(&r, &ns, &name, o, false).expect("update");
                if r.status && !with_status["status"].is_null() {
                    return s
                        .update(&r, &ns, &name, with_status, true)
                        .expect("status update");
                }
                res
            } else {
                s.create(&r, &ns, obj).expect("create")
            }
        })
    }

    /// How many objects of a kind match `pred`, counted under the lock without copying them
    /// (a bench's readiness check over 100,000 objects would otherwise hold the API for the
    /// time of a deep copy of each).
    pub fn count(&self, api_version: &str, kind: &str, pred: impl Fn(&Value) -> bool) -> usize {
        self.with(|s| match s.resource_by_kind(api_version, kind) {
            Some(r) => s.count(&r, pred),
            None => 0,
        })
    }

    /// An object by apiVersion, kind, namespace and name.
    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        self.with(|s| {
            let r = s.resource_by_kind(api_version, kind)?;
            s.get(&r, ns, name).ok()
        })
    }

    /// All objects of a kind.
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        self.with(|s| {
            s.resource_by_kind(api_version, kind)
                .map(|r| s.list(&r, None))
                .unwrap_or_default()
        })
    }

    /// Deletes an object (finalizers honoured).
    pub fn delete(&self, api_version: &str, kind: &str, ns: &str, name: &str) {
        self.with(|s| {
            if let Some(r) = s.resource_by_kind(api_version, kind) {
                let _ = s.delete(&r, ns, name);
            }
        });
    }

    /// How many requests with this verb (`get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`) reached this plural (and subresource, "" for the main resource).
    pub fn requests(&self, verb: &str, plural: &str, sub: &str) -> u64 {
        self.with(|s| {
            s.requests
                .get(&(verb.to_string(), plural.to_string(), sub.to_string()))
                .copied()
                .unwrap_or(0)
        })
    }

    /// Writes (create/update/patch/delete) to a plural, any subresource.
    pub fn writes(&self, plural: &str) -> u64 {
        self.with(|s| {
            s.requests
                .iter()
                .filter(|((v, p, _), _)| {
                    p == plural && ["create", "update", "patch", "delete"].contains(&v.as_str())
                })
                .map(|(_, n)| n)
                .sum()
        })
    }

    /// Fails the next `n` requests to `plural` with 500.
    pub fn fail_next(&self, plural: &str, n: u32) {
        self.with(|s| {
            s.fail_next.insert(plural.to_string(), n);
        });
    }

    /// Fails the next `n` writes (create/update/patch/delete, any subresource) to `plural` with
    /// `code` as the apiserver answers it (`faults::write_failure`): 429 TooManyRequests with
    /// `Retry-After` and `details.retryAfterSeconds` (priority-and-fairness), 409 Conflict, or
    /// a 5xx. Reads and watches are served.
    pub fn fail_writes(&self, plural: &str, n: u32, code: u16) {
        self.with(|s| {
            s.write_faults.insert(plural.to_string(), (code, n));
        });
    }

    /// Writes to `plural` still to be failed by [`Self::fail_writes`].
    pub fn pending_write_faults(&self, plural: &str) -> u32 {
        self.with(|s| s.write_faults.get(plural).map_or(0, |f| f.1))
    }

    /// Ends every open watch (as an apiserver restart or a watch timeout does); clients resume
    /// from their last resourceVersion, and after [`Self::compact`] get 410 Gone and relist.
    pub fn break_watches(&self) {
        self.with(|s| s.watch_breaks.send_modify(|n| *n += 1));
    }

    /// A client of one replica, with its own write count and a switch that cuts it off (a
    /// killed or partitioned process).
    pub fn replica_client(&self) -> (kube::Client, faults::Replica) {
        let replica = faults::Replica::default();
        let service = faults::ReplicaService {
            inner: self.service(),
            replica: replica.clone(),
        };
        (kube::Client::new(service, "default"), replica)
    }

    /// Whether workloads' status replicas follow their spec (default on).
    pub fn set_workload_controller(&self, on: bool) {
        self.with(|s| s.workload_controller = on);
    }

    /// The rule SubjectAccessReviews are answered with (given the review's spec).
    pub fn set_access(&self, rule: impl Fn(&Value) -> bool + Send + 'static) {
        self.with(|s| s.access = Box::new(rule));
    }

    /// Registers an APIService: requests under `/apis/{group}/{version}` go to `backend`.
    pub fn register_api_service(
        &self,
        group: &str,
        version: &str,
        backend: std::sync::Arc<dyn aggregator::Backend>,
    ) {
        let service = aggregator::ApiService {
            group: group.into(),
            version: version.into(),
            backend,
        };
        self.with(|s| s.api_services.push(service));
    }

    /// Makes Service `namespace/name` port `port` reach `addr` (what Endpoints and kube-proxy
    /// do), for the admission webhooks of ValidatingWebhookConfigurations.
    pub fn register_endpoint(
        &self,
        namespace: &str,
        name: &str,
        port: u16,
        addr: std::net::SocketAddr,
    ) {
        self.with(|s| {
            s.endpoints
                .insert((namespace.into(), name.into(), port), addr);
        });
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.with(|s| s.rv)
    }

    /// Forgets the watch log up to now, so a watch from an older version gets 410 Gone.
    pub fn compact(&self) {
        self.with(|s| s.log.clear());
    }
}
