//! The HTTP side: routing of Kubernetes REST paths to the state, watch streams, `Status`
//! errors. Served as a `tower::Service` so `kube::Client` can use it in process.

use crate::patch;
use crate::resources::Resource;
use crate::store::{ApiError, ApiResult, Change, State};
use bytes::Bytes;
use futures::StreamExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Clone)]
pub struct Service {
    pub state: Arc<Mutex<State>>,
}

impl tower::Service<Request<kube::client::Body>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move { Ok(handle(state, req).await) })
    }
}

fn full(code: StatusCode, v: &Value) -> Response<Body> {
    let body = Full::new(Bytes::from(v.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(body)
        .unwrap_or_default()
}

fn status_error(e: &ApiError) -> Response<Body> {
    let v = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": e.2, "reason": e.1, "code": e.0});
    full(
        StatusCode::from_u16(e.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &v,
    )
}

/// Sends a request to an APIService's backend (the aggregator's proxy).
async fn proxy(
    service: &crate::aggregator::ApiService,
    parts: http::request::Parts,
    body: kube::client::Body,
) -> Response<Body> {
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return status_error(&ApiError(400, "BadRequest", "unreadable body".into())),
    };
    let answer = service.backend.call(Request::from_parts(parts, body)).await;
    let (parts, body) = answer.into_parts();
    let body = Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync();
    Response::from_parts(parts, body)
}

/// A parsed REST path.
struct Target {
    resource: Resource,
    namespace: Option<String>,
    name: Option<String>,
    sub: String,
}

fn lock(state: &Arc<Mutex<State>>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(state: Arc<Mutex<State>>, req: Request<kube::client::Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let service = crate::aggregator::find(&lock(&state).api_services, parts.uri.path()).cloned();
    if let Some(service) = service {
        return proxy(&service, parts, body).await;
    }
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let segs: Vec<String> = parts
        .uri
        .path()
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    if let Some(doc) = discovery(&lock(&state), &segs) {
        return full(StatusCode::OK, &doc);
    }
    let target = match route(&lock(&state), &segs) {
        Some(t) => t,
        None => {
            return status_error(&ApiError(
                404,
                "NotFound",
                format!(
                    "the server could not find the requested resource ({})",
                    parts.uri.path()
                ),
            ));
        }
    };
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return status_error(&ApiError(400, "BadRequest", "unreadable body".into())),
    };
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match (&parts.method, &target.name, watch) {
        (&Method::GET, _, true) => "watch",
        (&Method::GET, Some(_), _) => "get",
        (&Method::GET, None, _) => "list",
        (&Method::POST, _, _) => "create",
        (&Method::PUT, _, _) => "update",
        (&Method::PATCH, _, _) => "patch",
        (&Method::DELETE, _, _) => "delete",
        _ => {
            return status_error(&ApiError(
                405,
                "MethodNotAllowed",
                "method not allowed".into(),
            ));
        }
    };
    {
        let mut s = lock(&state);
        *s.requests
            .entry((
                verb.to_string(),
                target.resource.plural.clone(),
                target.sub.clone(),
            ))
            .or_default() += 1;
        if let Some(n) = s.fail_next.get_mut(&target.resource.plural)
            && *n > 0
        {
            *n -= 1;
            return status_error(&ApiError(500, "InternalError", "injected failure".into()));
        }
        if ["create", "update", "patch", "delete"].contains(&verb)
            && let Some((code, n)) = s.write_faults.get_mut(&target.resource.plural)
            && *n > 0
        {
            *n -= 1;
            return crate::faults::write_failure(*code);
        }
    }
    if verb == "watch" {
        return watch_stream(state, &target, &query);
    }
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    if let Err(e) = admit(&state, &target, verb, &content_type, &query, &body).await {
        return status_error(&e);
    }
    let res = {
        let mut s = lock(&state);
        serve(&mut s, verb, &target, &query, &content_type, &body)
    };
    match res {
        Ok((code, v)) => full(code, &v),
        Err(e) => status_error(&e),
    }
}

/// Runs the validating webhooks a write needs (`admission`); the lock is not held while they
/// are called.
async fn admit(
    state: &Arc<Mutex<State>>,
    t: &Target,
    verb: &str,
    content_type: &str,
    q: &HashMap<String, String>,
    body: &Bytes,
) -> ApiResult<()> {
    let write = crate::admission::Write {
        resource: &t.resource,
        namespace: t.namespace.as_deref().unwrap_or_default(),
        name: t.name.as_deref().unwrap_or_default(),
        sub: &t.sub,
        verb,
        content_type,
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        body,
    };
    let calls = crate::admission::plan(&lock(state), &write)?;
    crate::admission::run(calls).await
}

fn discovery(s: &State, segs: &[String]) -> Option<Value> {
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version) = match seg.as_slice() {
        ["api"] => return Some(json!({"kind": "APIVersions", "versions": ["v1"]})),
        ["apis"] => {
            let mut groups: Vec<(String, String)> = s
                .resources
                .iter()
                .filter(|r| !r.group.is_empty())
                .map(|r| (r.group.clone(), r.version.clone()))
                .collect();
            groups.sort();
            groups.dedup();
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            return Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}));
        }
        ["api", "v1"] => ("", "v1"),
        ["apis", g, v] => (*g, *v),
        _ => return None,
    };
    let mut resources = Vec::new();
    for r in s
        .resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resources.push(json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced, "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}));
        if r.status {
            resources.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
        }
        if r.scale.is_some() {
            resources.push(json!({"name": format!("{}/scale", r.plural), "singularName": "", "namespaced": r.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn route(s: &State, segs: &[String]) -> Option<Target> {
    let (group, rest) = match segs.first().map(String::as_str) {
        Some("api") if segs.get(1).map(String::as_str) == Some("v1") => (String::new(), &segs[2..]),
        Some("apis") if segs.len() >= 3 => (segs[1].clone(), &segs[3..]),
        _ => return None,
    };
    let (namespace, rest) = if rest.len() >= 3 && rest[0] == "namespaces" {
        (Some(rest[1].clone()), &rest[2..])
    } else {
        (None, rest)
    };
    let plural = rest.first()?;
    let resource = s.resource(&group, plural)?;
    Some(Target {
        resource,
        namespace,
        name: rest.get(1).cloned(),
        sub: rest.get(2).cloned().unwrap_or_default(),
    })
}

fn label_match(selector: &str, labels: &Value) -> bool {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&selector[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .all(|p| {
            if let Some((k, v)) = p.split_once("!=") {
                get(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                get(k.trim()) == Some(v.trim())
            } else if let Some(k) = p.strip_prefix('!') {
                get(k.trim()).is_none()
            } else if let Some((k, list)) = p.split_once(" notin ") {
                let vals: Vec<&str> = list
                    .trim()
                    .trim_matches(|c| c == '(' || c == ')')
                    .split(',')
                    .map(str::trim)
                    .collect();
                get(k.trim()).is_none_or(|v| !vals.contains(&v))
            } else if let Some((k, list)) = p.split_once(" in ") {
                let vals: Vec<&str> = list
                    .trim()
                    .trim_matches(|c| c == '(' || c == ')')
                    .split(',')
                    .map(str::trim)
                    .collect();
                get(k.trim()).is_some_and(|v| vals.contains(&v))
            } else {
                get(p).is_some()
            }
        })
}

fn field_match(selector: &str, obj: &Value) -> bool {
    selector
        .split(',')
        .filter(|p| !p.is_empty())
        .all(|p| match p.split_once('=') {
            Some(("metadata.name", v)) => obj["metadata"]["name"] == v.trim_start_matches('='),
            Some(("metadata.namespace", v)) => {
                obj["metadata"]["namespace"] == v.trim_start_matches('=')
            }
            _ => true,
        })
}

fn selected(q: &HashMap<String, String>, obj: &Value) -> bool {
    q.get("labelSelector")
        .is_none_or(|s| label_match(s, &obj["metadata"]["labels"]))
        && q.get("fieldSelector").is_none_or(|s| field_match(s, obj))
}

fn scale_of(r: &Resource, obj: &Value) -> Value {
    let paths = r.scale.as_ref().expect("scalable");
    let selector: Vec<String> = obj
        .pointer(paths.selector_match_labels)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "resourceVersion": obj["metadata"]["resourceVersion"], "uid": obj["metadata"]["uid"]},
        "spec": {"replicas": obj.pointer(paths.spec_replicas).cloned().unwrap_or(json!(1))},
        "status": {"replicas": obj.pointer(paths.status_replicas).cloned().unwrap_or(json!(0)), "selector": selector.join(",")}
    })
}

fn set_pointer(obj: &mut Value, pointer: &str, v: Value) {
    let mut cur = obj;
    for part in pointer.split('/').skip(1) {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(part.to_string())
            .or_insert(Value::Null);
    }
    *cur = v;
}

fn parse_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError(400, "BadRequest", format!("body is not JSON: {e}")))
}

fn serve(
    s: &mut State,
    verb: &str,
    t: &Target,
    q: &HashMap<String, String>,
    content_type: &str,
    body: &Bytes,
) -> ApiResult<(StatusCode, Value)> {
    let r = &t.resource;
    let ns = t.namespace.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let ok = |v: Value| Ok((StatusCode::OK, v));
    match (verb, t.sub.as_str()) {
        ("list", _) => {
            let items: Vec<Value> = s
                .list(r, t.namespace.as_deref())
                .into_iter()
                .filter(|o| selected(q, o))
                .collect();
            ok(
                json!({"apiVersion": r.api_version(), "kind": format!("{}List", r.kind), "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
            )
        }
        ("get", "scale") if r.scale.is_some() => ok(scale_of(r, &s.get(r, &ns, &name)?)),
        ("get", _) => ok(s.get(r, &ns, &name)?),
        ("create", _) => Ok((StatusCode::CREATED, s.create(r, &ns, parse_body(body)?)?)),
        ("delete", _) => ok(s.delete(r, &ns, &name)?),
        (_, "scale") if r.scale.is_some() => {
            let paths = r.scale.clone().expect("scalable");
            let mut obj = s.get(r, &ns, &name)?;
            let mut scale = scale_of(r, &obj);
            let input = parse_body(body)?;
            if verb == "update" {
                scale = input;
            } else if content_type.contains("json-patch") {
                patch::json_patch(&mut scale, &input).map_err(|e| ApiError(422, "Invalid", e))?;
            } else {
                patch::merge(&mut scale, &input);
            }
            let replicas = scale["spec"]["replicas"].clone();
            set_pointer(&mut obj, paths.spec_replicas, replicas);
            obj["metadata"]["resourceVersion"] = Value::Null;
            let updated = s.update(r, &ns, &name, obj, false)?;
            ok(scale_of(r, &updated))
        }
        ("update", sub) => {
            let mut obj = parse_body(body)?;
            obj["metadata"]["name"] = json!(name);
            ok(s.update(r, &ns, &name, obj, sub == "status")?)
        }
        ("patch", sub) => {
            let input = parse_body(body)?;
            let status_write = sub == "status";
            if content_type.contains("apply-patch") {
                let manager = q.get("fieldManager").cloned().unwrap_or_default();
                if manager.is_empty() {
                    return Err(ApiError(
                        422,
                        "Invalid",
                        "fieldManager is required for apply requests".into(),
                    ));
                }
                return ok(s.apply(r, &ns, &name, input, &manager, status_write)?);
            }
            let mut obj = s.get(r, &ns, &name)?;
            if content_type.contains("json-patch") {
                patch::json_patch(&mut obj, &input).map_err(|e| ApiError(422, "Invalid", e))?;
            } else {
                patch::merge(&mut obj, &input);
            }
            if input["metadata"]["resourceVersion"].is_null() {
                obj["metadata"]["resourceVersion"] = Value::Null;
            }
            ok(s.update(r, &ns, &name, obj, status_write)?)
        }
        _ => Err(ApiError(
            405,
            "MethodNotAllowed",
            format!("{verb} is not supported on {}/{}", r.plural, t.sub),
        )),
    }
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    Bytes::from(format!("{}\n", json!({"type": kind, "object": object})))
}

fn watch_stream(
    state: Arc<Mutex<State>>,
    t: &Target,
    q: &HashMap<String, String>,
) -> Response<Body> {
    let r = t.resource.clone();
    let ns = t.namespace.clone();
    let q = q.clone();
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(290u64);
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let (backlog, mut live, current_rv, mut breaks) = {
        let s = lock(&state);
        let from = q.get("resourceVersion").cloned().unwrap_or_default();
        let mut backlog = Vec::new();
        if from.is_empty() || from == "0" {
            backlog.extend(
                s.list(&r, ns.as_deref())
                    .into_iter()
                    .filter(|o| selected(&q, o))
                    .map(|o| event_line("ADDED", &o)),
            );
        } else {
            let from: u64 = from.parse().unwrap_or(0);
            if from < s.oldest_resumable() {
                let gone = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410, "message": format!("too old resource version: {from} ({})", s.oldest_resumable())});
                let body = Full::new(event_line("ERROR", &gone))
                    .map_err(|never| match never {})
                    .boxed_unsync();
                return Response::builder()
                    .status(StatusCode::OK)
                    .body(body)
                    .unwrap_or_default();
            }
            backlog.extend(
                s.log
                    .iter()
                    .filter(|c| {
                        c.rv > from && matches(c, &r, ns.as_deref()) && selected(&q, &c.object)
                    })
                    .map(|c| event_line(c.kind, &c.object)),
            );
        }
        (
            backlog,
            s.events.subscribe(),
            s.rv,
            s.watch_breaks.subscribe(),
        )
    };
    let (tx, rx) =
        tokio::sync::mpsc::channel::<Result<http_body::Frame<Bytes>, std::io::Error>>(1024);
    tokio::spawn(async move {
        for line in backlog {
            if tx.send(Ok(http_body::Frame::data(line))).await.is_err() {
                return;
            }
        }
        if bookmarks {
            let bm = json!({"kind": r.kind, "apiVersion": r.api_version(), "metadata": {"resourceVersion": current_rv.to_string()}});
            let _ = tx
                .send(Ok(http_body::Frame::data(event_line("BOOKMARK", &bm))))
                .await;
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                _ = breaks.changed() => return,
                change = live.recv() => match change {
                    Ok(c) if matches(&c, &r, ns.as_deref()) && selected(&q, &c.object) => {
                        if tx.send(Ok(http_body::Frame::data(event_line(c.kind, &c.object)))).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // lagging behind: end the watch, the client resumes or relists
                    Err(_) => return,
                },
            }
        }
    });
    let stream = tokio_stream(rx);
    let body = BodyExt::boxed_unsync(StreamBody::new(stream));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(body)
        .unwrap_or_default()
}

fn matches(c: &Change, r: &Resource, ns: Option<&str>) -> bool {
    c.group == r.group && c.plural == r.plural && ns.is_none_or(|ns| ns == c.namespace)
}

fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}
