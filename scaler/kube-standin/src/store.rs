//! The state: objects by (group, plural, namespace, name) as JSON, a global resourceVersion,
//! an event log for watches (trimmed, so old versions get 410 Gone), owner-reference garbage
//! collection, finalizers, and hooks for tests.

use crate::patch;
use crate::resources::Resource;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::broadcast;

pub type Key = (String, String, String, String);

/// A change, as a watch sees it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub kind: &'static str,
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub object: Value,
}

/// An API error: HTTP code, Kubernetes reason, message.
#[derive(Debug, Clone)]
pub struct ApiError(pub u16, pub &'static str, pub String);

pub type ApiResult<T> = Result<T, ApiError>;

fn not_found(r: &Resource, name: &str) -> ApiError {
    ApiError(
        404,
        "NotFound",
        format!("{}.{} \"{name}\" not found", r.plural, r.group),
    )
}

/// How many changes watches can resume from.
const LOG_LIMIT: usize = 10_000;

pub struct State {
    pub resources: Vec<Resource>,
    pub objects: BTreeMap<Key, Value>,
    pub rv: u64,
    pub log: Vec<Change>,
    pub events: broadcast::Sender<Change>,
    /// (key, field manager) → the last applied configuration.
    pub applied: HashMap<(Key, String), Value>,
    /// Requests served: (verb, plural, subresource) → count.
    pub requests: BTreeMap<(String, String, String), u64>,
    /// plural → number of coming requests to fail with 500.
    pub fail_next: HashMap<String, u32>,
    /// plural → (HTTP code, number of coming writes to fail with it).
    pub write_faults: HashMap<String, (u16, u32)>,
    /// Bumped to end every open watch (`ApiServer::break_watches`).
    pub watch_breaks: tokio::sync::watch::Sender<u64>,
    /// Copy `spec.replicas` into `status.replicas`/`readyReplicas` of workloads.
    pub workload_controller: bool,
    /// SubjectAccessReview answers: (user, namespace, resource) → allowed; default deny.
    pub access: Box<dyn Fn(&Value) -> bool + Send>,
    /// Registered APIServices (the aggregation layer).
    pub api_services: Vec<crate::aggregator::ApiService>,
    /// Where a Service port is reached: (namespace, name, port) → address (admission).
    pub endpoints: HashMap<(String, String, u16), std::net::SocketAddr>,
    uid: u64,
}

impl State {
    pub fn new(resources: Vec<Resource>) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            resources,
            objects: BTreeMap::new(),
            rv: 1,
            log: Vec::new(),
            events,
            applied: HashMap::new(),
            requests: BTreeMap::new(),
            fail_next: HashMap::new(),
            write_faults: HashMap::new(),
            watch_breaks: tokio::sync::watch::channel(0).0,
            workload_controller: true,
            access: Box::new(|_| false),
            api_services: Vec::new(),
            endpoints: HashMap::new(),
            uid: 0,
        }
    }

    pub fn resource(&self, group: &str, plural: &str) -> Option<Resource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.plural == plural)
            .cloned()
    }

    pub fn resource_by_kind(&self, api_version: &str, kind: &str) -> Option<Resource> {
        self.resources
            .iter()
            .find(|r| r.api_version() == api_version && r.kind == kind)
            .cloned()
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, kind: &'static str, r: &Resource, ns: &str, object: &Value) {
        let change = Change {
            rv: self.rv,
            kind,
            group: r.group.clone(),
            plural: r.plural.clone(),
            namespace: ns.into(),
            object: object.clone(),
        };
        self.log.push(change.clone());
        if self.log.len() > LOG_LIMIT {
            self.log.drain(..self.log.len() - LOG_LIMIT);
        }
        let _ = self.events.send(change);
    }

    /// The oldest resourceVersion a watch can resume after.
    pub fn oldest_resumable(&self) -> u64 {
        self.log.first().map_or(self.rv, |c| c.rv - 1)
    }

    pub fn get(&self, r: &Resource, ns: &str, name: &str) -> ApiResult<Value> {
        self.objects
            .get(&key(r, ns, name))
            .cloned()
            .ok_or_else(|| not_found(r, name))
    }

    /// The objects of one resource (in one namespace): a range of the ordered map, as the
    /// apiserver's watch cache answers a LIST without scanning other resources.
    pub fn list(&self, r: &Resource, ns: Option<&str>) -> Vec<Value> {
        let from = (
            r.group.clone(),
            r.plural.clone(),
            ns.unwrap_or_default().to_string(),
            String::new(),
        );
        self.objects
            .range(from..)
            .take_while(|((g, p, n, _), _)| {
                *g == r.group && *p == r.plural && ns.is_none_or(|ns| ns == n)
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// How many objects of one resource match `pred` (no copies).
    pub fn count(&self, r: &Resource, pred: impl Fn(&Value) -> bool) -> usize {
        let from = (
            r.group.clone(),
            r.plural.clone(),
            String::new(),
            String::new(),
        );
        self.objects
            .range(from..)
            .take_while(|((g, p, _, _), _)| *g == r.group && *p == r.plural)
            .filter(|(_, v)| pred(v))
            .count()
    }

    fn stamp(&mut self, r: &Resource, obj: &mut Value) {
        obj["apiVersion"] = json!(r.api_version());
        obj["kind"] = json!(r.kind);
        let rv = self.rv.to_string();
        obj["metadata"]["resourceVersion"] = json!(rv);
    }

    pub fn create(&mut self, r: &Resource, ns: &str, mut obj: Value) -> ApiResult<Value> {
        default_hpa(r, &mut obj);
        // reviews are answered, not stored
        if r.plural == "subjectaccessreviews" {
            let allowed = (self.access)(&obj["spec"]);
            obj["status"] = json!({"allowed": allowed});
            return Ok(obj);
        }
        if obj["metadata"]["name"].as_str().is_none_or(str::is_empty) {
            match obj["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    self.uid += 1;
                    obj["metadata"]["name"] = json!(format!("{prefix}{:05x}", self.uid));
                }
                None => {
                    return Err(ApiError(
                        422,
                        "Invalid",
                        "metadata.name: Required value".into(),
                    ));
                }
            }
        }
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let k = key(r, ns, &name);
        if self.objects.contains_key(&k) {
            return Err(ApiError(
                409,
                "AlreadyExists",
                format!("{}.{} \"{name}\" already exists", r.plural, r.group),
            ));
        }
        self.uid += 1;
        let rv = self.bump();
        if r.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        }
        obj["metadata"]["uid"] = json!(format!("uid-{:08}", self.uid));
        obj["metadata"]["creationTimestamp"] = json!(now());
        obj["metadata"]["generation"] = json!(1);
        let _ = rv;
        self.stamp(r, &mut obj);
        self.sync_workload(r, &mut obj);
        self.objects.insert(k, obj.clone());
        self.record("ADDED", r, ns, &obj);
        Ok(obj)
    }

    /// Stores a new version of an existing object: generation bump on spec change, status
    /// kept or replaced by `status_write`, deletion when the last finalizer goes.
    pub fn update(
        &mut self,
        r: &Resource,
        ns: &str,
        name: &str,
        mut new: Value,
        status_write: bool,
    ) -> ApiResult<Value> {
        default_hpa(r, &mut new);
        let k = key(r, ns, name);
        let old = self
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| not_found(r, name))?;
        if let Some(want) = new["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            && want
                != old["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
        {
            return Err(ApiError(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {}.{} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    r.plural, r.group
                ),
            ));
        }
        if r.status {
            if status_write {
                let status = new["status"].clone();
                new = old.clone();
                new["status"] = status;
            } else {
                new["status"] = old["status"].clone();
            }
        }
        for f in [
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
        ] {
            if !old["metadata"][f].is_null() {
                new["metadata"][f] = old["metadata"][f].clone();
            }
        }
        let spec_changed = strip(&old) != strip(&new);
        let generation =
            old["metadata"]["generation"].as_i64().unwrap_or(1) + i64::from(spec_changed);
        new["metadata"]["generation"] = json!(generation);
        if without_rv(&new) == without_rv(&old) {
            return Ok(old);
        }
        self.bump();
        self.stamp(r, &mut new);
        self.sync_workload(r, &mut new);
        let finalizers_empty = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if !new["metadata"]["deletionTimestamp"].is_null() && finalizers_empty {
            self.objects.remove(&k);
            self.record("DELETED", r, ns, &new);
            self.collect_garbage(&new);
            return Ok(new);
        }
        self.objects.insert(k, new.clone());
        self.record("MODIFIED", r, ns, &new);
        Ok(new)
    }

    pub fn delete(&mut self, r: &Resource, ns: &str, name: &str) -> ApiResult<Value> {
        let k = key(r, ns, name);
        let mut obj = self
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| not_found(r, name))?;
        if obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            if obj["metadata"]["deletionTimestamp"].is_null() {
                self.bump();
                obj["metadata"]["deletionTimestamp"] = json!(now());
                self.stamp(r, &mut obj);
                self.objects.insert(k, obj.clone());
                self.record("MODIFIED", r, ns, &obj);
            }
            return Ok(obj);
        }
        self.bump();
        self.objects.remove(&k);
        self.stamp(r, &mut obj);
        self.record("DELETED", r, ns, &obj);
        self.collect_garbage(&obj);
        Ok(obj)
    }

    /// Background garbage collection: objects owned by a deleted uid are deleted too.
    fn collect_garbage(&mut self, owner: &Value) {
        let Some(uid) = owner["metadata"]["uid"].as_str().map(str::to_string) else {
            return;
        };
        let owned: Vec<(Resource, String, String)> = self
            .objects
            .iter()
            .filter(|(_, v)| {
                v["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|r| r["uid"] == uid.as_str()))
            })
            .filter_map(|((g, p, ns, name), _)| {
                self.resource(g, p).map(|r| (r, ns.clone(), name.clone()))
            })
            .collect();
        for (r, ns, name) in owned {
            let _ = self.delete(&r, &ns, &name);
        }
    }

    /// Server-side apply by `manager`.
    pub fn apply(
        &mut self,
        r: &Resource,
        ns: &str,
        name: &str,
        applied: Value,
        manager: &str,
        status_write: bool,
    ) -> ApiResult<Value> {
        let k = key(r, ns, name);
        let previous = self.applied.get(&(k.clone(), manager.to_string())).cloned();
        self.applied
            .insert((k.clone(), manager.to_string()), applied.clone());
        match self.objects.get(&k).cloned() {
            None => {
                let mut obj = applied;
                obj["metadata"]["name"] = json!(name);
                self.create(r, ns, obj)
            }
            Some(mut existing) => {
                let mut a = applied;
                if let Some(m) = a["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                existing["metadata"]["resourceVersion"] = Value::Null;
                patch::apply(&mut existing, previous.as_ref(), &a);
                self.update(r, ns, name, existing, status_write)
            }
        }
    }

    /// Keeps a workload's status replicas equal to its spec (a stand-in for the controllers
    /// that would start pods), when enabled.
    fn sync_workload(&self, r: &Resource, obj: &mut Value) {
        if !self.workload_controller {
            return;
        }
        if let Some(scale) = &r.scale {
            let want = obj
                .pointer(scale.spec_replicas)
                .cloned()
                .unwrap_or(json!(1));
            obj["status"]["replicas"] = want.clone();
            obj["status"]["readyReplicas"] = want;
        }
    }
}

pub fn key(r: &Resource, ns: &str, name: &str) -> Key {
    (
        r.group.clone(),
        r.plural.clone(),
        if r.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name.to_string(),
    )
}

fn strip(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    v
}

fn without_rv(v: &Value) -> Value {
    let mut v = v.clone();
    v["metadata"]["resourceVersion"] = Value::Null;
    v
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The apiserver's defaulting of `autoscaling/v2` HPAs (`SetDefaults_HorizontalPodAutoscalerBehavior`
/// in `pkg/apis/autoscaling/v2/defaults.go`), done before an object is compared or stored: when
/// `spec.behavior` is present, a missing `scaleUp`/`scaleDown`, `selectPolicy` or `policies`
/// is filled in (scaleUp: window 0 s, Max, Pods 4 and Percent 100 per 15 s; scaleDown: no
/// window, Max, Percent 100 per 15 s).
fn default_hpa(r: &Resource, obj: &mut Value) {
    if r.group != "autoscaling" || r.plural != "horizontalpodautoscalers" {
        return;
    }
    let Some(behavior) = obj["spec"].get_mut("behavior").filter(|b| b.is_object()) else {
        return;
    };
    let up = json!([
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}
    ]);
    let down = json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]);
    for (dir, window, policies) in [("scaleUp", Some(0), up), ("scaleDown", None, down)] {
        if !behavior[dir].is_object() {
            behavior[dir] = json!({});
        }
        let rules = &mut behavior[dir];
        if rules["selectPolicy"].is_null() {
            rules["selectPolicy"] = json!("Max");
        }
        if let Some(w) = window
            && rules["stabilizationWindowSeconds"].is_null()
        {
            rules["stabilizationWindowSeconds"] = json!(w);
        }
        if rules["policies"].is_null() {
            rules["policies"] = policies;
        }
    }
}
