//! Validating admission, as the apiserver runs it: on a create, update or patch of a main
//! resource (not a subresource), every ValidatingWebhookConfiguration in the store whose
//! rules match (apiGroups, apiVersions, resources, operations, scope; `*` honoured) and whose
//! `namespaceSelector` matches the labels of the object's Namespace gets an
//! `admission.k8s.io/v1` AdmissionReview POSTed over HTTPS to its `clientConfig.service`:
//! the TLS server name is `{service}.{namespace}.svc` and the certificate must verify against
//! the webhook's `caBundle`; the call is bounded by `timeoutSeconds` (default 10). A denial
//! fails the write with the webhook's status code (400 if none) and the apiserver's message
//! `admission webhook "NAME" denied the request: MESSAGE`; a call that fails is a 500
//! `failed calling webhook "NAME": …` under `failurePolicy: Fail` and is passed over under
//! `Ignore`.
//!
//! Simplifications: a Service resolves to the address a test registers with
//! [`crate::ApiServer::register_endpoint`] (no Endpoints or kube-proxy); `url` client configs,
//! `objectSelector`, `matchConditions`, reinvocation and mutating webhooks are not supported;
//! server-side-apply patches are not sent to webhooks; the review's `userInfo` is a fixed
//! test user; the webhook's `warnings` are dropped (a real apiserver returns them as
//! `Warning` headers).

use crate::patch;
use crate::resources::Resource;
use crate::store::{ApiError, ApiResult, State};
use bytes::Bytes;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

/// One webhook call a write needs.
pub struct Call {
    name: String,
    host: String,
    addr: Option<SocketAddr>,
    path: String,
    ca: Vec<u8>,
    fail: bool,
    timeout: Duration,
    review: Value,
}

/// What is being written.
pub struct Write<'a> {
    pub resource: &'a Resource,
    pub namespace: &'a str,
    pub name: &'a str,
    pub sub: &'a str,
    pub verb: &'a str,
    pub content_type: &'a str,
    pub dry_run: bool,
    pub body: &'a Bytes,
}

fn listed(list: &Value, want: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|v| v == "*" || v == want))
}

fn rule_matches(rule: &Value, r: &Resource, operation: &str) -> bool {
    let scope = rule["scope"].as_str().unwrap_or("*");
    let scope_ok = scope == "*"
        || (scope == "Namespaced" && r.namespaced)
        || (scope == "Cluster" && !r.namespaced);
    listed(&rule["apiGroups"], &r.group)
        && listed(&rule["apiVersions"], &r.version)
        && listed(&rule["resources"], &r.plural)
        && listed(&rule["operations"], operation)
        && scope_ok
}

/// A `LabelSelector` (matchLabels and matchExpressions) against `labels`.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    let labels_ok = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| get(k) == v.as_str()));
    let exprs_ok = selector["matchExpressions"].as_array().is_none_or(|list| {
        list.iter().all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str().unwrap_or_default() {
                "In" => get(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => get(key).is_some(),
                "DoesNotExist" => get(key).is_none(),
                _ => false,
            }
        })
    });
    labels_ok && exprs_ok
}

fn parse(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError(400, "BadRequest", format!("body is not JSON: {e}")))
}

/// The object as it would be after the write, and the one before (None on create); None
/// when the write is not admitted (subresources, deletes, server-side apply).
fn objects(s: &State, w: &Write<'_>) -> ApiResult<Option<(Value, Option<Value>)>> {
    if !w.sub.is_empty() {
        return Ok(None);
    }
    match w.verb {
        "create" => {
            let mut obj = parse(w.body)?;
            if w.resource.namespaced && obj["metadata"]["namespace"].is_null() {
                obj["metadata"]["namespace"] = json!(w.namespace);
            }
            Ok(Some((obj, None)))
        }
        "update" => {
            let mut obj = parse(w.body)?;
            obj["metadata"]["name"] = json!(w.name);
            let old = s.get(w.resource, w.namespace, w.name).ok();
            Ok(Some((obj, old)))
        }
        "patch" if !w.content_type.contains("apply-patch") => {
            let old = s.get(w.resource, w.namespace, w.name)?;
            let mut obj = old.clone();
            let input = parse(w.body)?;
            if w.content_type.contains("json-patch") {
                patch::json_patch(&mut obj, &input).map_err(|e| ApiError(422, "Invalid", e))?;
            } else {
                patch::merge(&mut obj, &input);
            }
            Ok(Some((obj, Some(old))))
        }
        _ => Ok(None),
    }
}

/// Under the state lock: the webhook calls this write needs, in configuration order.
pub fn plan(s: &State, w: &Write<'_>) -> ApiResult<Vec<Call>> {
    let Some(config_kind) = s.resource_by_kind(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ) else {
        return Ok(Vec::new());
    };
    let configs = s.list(&config_kind, None);
    if configs.is_empty() {
        return Ok(Vec::new());
    }
    let Some((object, old)) = objects(s, w)? else {
        return Ok(Vec::new());
    };
    let operation = if old.is_some() { "UPDATE" } else { "CREATE" };
    let ns_labels = s
        .resource_by_kind("v1", "Namespace")
        .and_then(|r| s.get(&r, "", w.namespace).ok())
        .map(|n| n["metadata"]["labels"].clone())
        .unwrap_or(Value::Null);
    let mut calls = Vec::new();
    for webhook in configs
        .iter()
        .flat_map(|c| c["webhooks"].as_array().cloned().unwrap_or_default())
    {
        let rules_match = webhook["rules"]
            .as_array()
            .is_some_and(|rules| rules.iter().any(|r| rule_matches(r, w.resource, operation)));
        let selector = &webhook["namespaceSelector"];
        let ns_match =
            !w.resource.namespaced || selector.is_null() || selector_matches(selector, &ns_labels);
        if !rules_match || !ns_match {
            continue;
        }
        calls.push(call(s, &webhook, w, operation, &object, old.as_ref()));
    }
    Ok(calls)
}

fn call(
    s: &State,
    webhook: &Value,
    w: &Write<'_>,
    operation: &str,
    object: &Value,
    old: Option<&Value>,
) -> Call {
    let svc = &webhook["clientConfig"]["service"];
    let (svc_ns, svc_name) = (
        svc["namespace"].as_str().unwrap_or_default(),
        svc["name"].as_str().unwrap_or_default(),
    );
    let port = svc["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(443);
    let ca = webhook["clientConfig"]["caBundle"]
        .as_str()
        .and_then(base64_decode)
        .unwrap_or_default();
    let r = w.resource;
    let name = object["metadata"]["name"].as_str().unwrap_or(w.name);
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("standin-{}", s.rv),
            "kind": {"group": r.group, "version": r.version, "kind": r.kind},
            "resource": {"group": r.group, "version": r.version, "resource": r.plural},
            "requestKind": {"group": r.group, "version": r.version, "kind": r.kind},
            "requestResource": {"group": r.group, "version": r.version, "resource": r.plural},
            "name": name,
            "namespace": if r.namespaced { json!(w.namespace) } else { Value::Null },
            "operation": operation,
            "userInfo": {"username": "standin-test-user", "groups": ["system:authenticated"]},
            "object": object, "oldObject": old, "dryRun": w.dry_run,
        }
    });
    Call {
        name: webhook["name"].as_str().unwrap_or_default().to_string(),
        host: format!("{svc_name}.{svc_ns}.svc"),
        addr: s
            .endpoints
            .get(&(svc_ns.to_string(), svc_name.to_string(), port))
            .copied(),
        path: svc["path"].as_str().unwrap_or("/").to_string(),
        ca,
        fail: webhook["failurePolicy"].as_str().unwrap_or("Fail") == "Fail",
        timeout: Duration::from_secs(webhook["timeoutSeconds"].as_u64().unwrap_or(10)),
        review,
    }
}

fn base64_decode(b: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(b).ok()
}

/// The webhook's answer: Ok(allowed, code, message) or why it could not be had.
async fn post(c: &Call) -> Result<(bool, u16, String), String> {
    let addr = c
        .addr
        .ok_or_else(|| format!("service \"{}\" has no endpoint", c.host))?;
    let cert = reqwest::Certificate::from_pem(&c.ca).map_err(|e| format!("caBundle: {e}"))?;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(cert)
        .resolve(&c.host, addr)
        .timeout(c.timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("https://{}:{}{}", c.host, addr.port(), c.path);
    let res = client
        .post(url)
        .json(&c.review)
        .send()
        .await
        .map_err(|e| format!("failed to call webhook: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("webhook answered {}", res.status()));
    }
    let body: Value = res
        .json()
        .await
        .map_err(|e| format!("the response is not an AdmissionReview: {e}"))?;
    let response = &body["response"];
    if response["uid"] != c.review["request"]["uid"] {
        return Err("the response's uid is not the request's".into());
    }
    let allowed = response["allowed"]
        .as_bool()
        .ok_or("the response says neither allowed nor denied")?;
    let code = response["status"]["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(400);
    let message = response["status"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((allowed, code, message))
}

/// Outside the lock: makes the calls in order; the first denial (or failed call under
/// `Fail`) fails the write.
pub async fn run(calls: Vec<Call>) -> ApiResult<()> {
    for c in calls {
        match post(&c).await {
            Ok((true, _, _)) => {}
            Ok((false, code, message)) => {
                let reason = if code == 403 {
                    "Forbidden"
                } else {
                    "BadRequest"
                };
                return Err(ApiError(
                    code,
                    reason,
                    format!(
                        "admission webhook \"{}\" denied the request: {message}",
                        c.name
                    ),
                ));
            }
            Err(e) if c.fail => {
                return Err(ApiError(
                    500,
                    "InternalError",
                    format!(
                        "Internal error occurred: failed calling webhook \"{}\": {e}",
                        c.name
                    ),
                ));
            }
            Err(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_as_the_apiserver_does() {
        let labels = json!({"team": "a", "env": "prod"});
        let cases = [
            (json!({}), true),
            (json!({"matchLabels": {"team": "a"}}), true),
            (json!({"matchLabels": {"team": "b"}}), false),
            (
                json!({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "skip", "operator": "Exists"}]}),
                false,
            ),
        ];
        for (i, (sel, want)) in cases.into_iter().enumerate() {
            assert_eq!(selector_matches(&sel, &labels), want, "case {i}");
        }
    }
}
