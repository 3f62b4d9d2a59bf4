//! The admission webhook's part of `prescale install`: the ValidatingWebhookConfiguration
//! (one webhook per kind of [`crate::webhook::KINDS`], trusting the same generated CA as the
//! APIService) and what the operator's Deployment, Service and ClusterRole need for it.
//! [`add`] is the only entry point; it edits the other install documents in place.

use crate::webhook::{FailurePolicy, KINDS};
use serde_json::{Value, json};

/// The container and Service port of the webhook (KEDA's webhook port).
pub const PORT: u16 = 9443;
/// The ValidatingWebhookConfiguration's name.
pub const CONFIGURATION: &str = "prescale-validating-webhook";

/// The webhook settings `install` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Leave the admission webhook out. By default install includes it, as KEDA's chart does:
    /// a ValidatingWebhookConfiguration for ScaledObjects, ScaledJobs and
    /// (Cluster)TriggerAuthentications, served by the operator on port 9443, its `caBundle`
    /// kept in step with the serving certificate by the operator (or injected by cert-manager).
    #[arg(long, conflicts_with = "webhook")]
    pub no_webhook: bool,

    /// Accepted for compatibility and does nothing: the webhook is included by default.
    #[arg(long, hide = true)]
    pub webhook: bool,

    /// `failurePolicy` of the webhooks, also what the webhook does when one of its own cluster
    /// lookups fails: `Ignore` (default, KEDA's chart default: the cluster never waits on the
    /// webhook) admits, `Fail` denies.
    #[arg(long, value_enum, default_value_t = FailurePolicy::Ignore)]
    pub webhook_failure_policy: FailurePolicy,

    /// Only objects in namespaces whose labels match this selector are checked (kubectl
    /// syntax: `a=b,c!=d,e in (f,g),h notin (i),j,!k`; empty: every namespace).
    #[arg(long, default_value = "")]
    pub webhook_namespace_selector: String,
}

impl WebhookArgs {
    /// Whether install includes the webhook (unless `--no-webhook`).
    pub fn enabled(&self) -> bool {
        !self.no_webhook
    }
}

impl Default for WebhookArgs {
    fn default() -> Self {
        Self {
            no_webhook: false,
            webhook: false,
            webhook_failure_policy: FailurePolicy::Ignore,
            webhook_namespace_selector: String::new(),
        }
    }
}

/// A kubectl-syntax label selector as a `LabelSelector` (`matchLabels` for `=`/`==`,
/// `matchExpressions` for the rest).
pub fn label_selector(raw: &str) -> Result<Value, String> {
    let mut labels = serde_json::Map::new();
    let mut exprs = Vec::new();
    for part in split_top(raw) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "--webhook-namespace-selector: {part:?} is not a label selector requirement (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)"
            )
        };
        let words: Vec<&str> = part.split_whitespace().collect();
        let set = |op: &str, rest: &str| -> Result<Value, String> {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(bad)?;
            let values: Vec<&str> = inner
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(bad());
            }
            Ok(json!({"key": words[0], "operator": op, "values": values}))
        };
        if words.len() >= 2 && words[1] == "in" {
            let rest = part[part.find(" in").ok_or_else(bad)? + 3..].to_string();
            exprs.push(set("In", &rest)?);
        } else if words.len() >= 2 && words[1] == "notin" {
            let rest = part[part.find(" notin").ok_or_else(bad)? + 6..].to_string();
            exprs.push(set("NotIn", &rest)?);
        } else if let Some((k, v)) = part.split_once("!=") {
            exprs.push(json!({"key": valid_key(k.trim()).ok_or_else(bad)?, "operator": "NotIn", "values": [v.trim()]}));
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            labels.insert(valid_key(k.trim()).ok_or_else(bad)?.into(), json!(v.trim()));
        } else if let Some(k) = part.strip_prefix('!') {
            exprs.push(
                json!({"key": valid_key(k.trim()).ok_or_else(bad)?, "operator": "DoesNotExist"}),
            );
        } else {
            exprs.push(json!({"key": valid_key(part).ok_or_else(bad)?, "operator": "Exists"}));
        }
    }
    let mut out = serde_json::Map::new();
    if !labels.is_empty() {
        out.insert("matchLabels".into(), Value::Object(labels));
    }
    if !exprs.is_empty() {
        out.insert("matchExpressions".into(), Value::Array(exprs));
    }
    Ok(Value::Object(out))
}

fn valid_key(k: &str) -> Option<&str> {
    let ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    ok.then_some(k)
}

/// Splits at commas outside parentheses.
fn split_top(raw: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in raw.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&raw[start..]);
    out
}

/// The ValidatingWebhookConfiguration for `service` in `namespace`. Its `caBundle` is not in
/// the manifest: the operator fills it from its serving certificate Secret, or cert-manager's
/// cainjector from the Certificate (`cert_manager`).
pub fn configuration(
    namespace: &str,
    service: &str,
    cert_manager: bool,
    args: &WebhookArgs,
) -> Result<Value, String> {
    let selector = label_selector(&args.webhook_namespace_selector)?;
    let webhooks: Vec<Value> = KINDS
        .iter()
        .map(|k| {
            let mut w = json!({
                "name": k.webhook_name(),
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": args.webhook_failure_policy.as_str(),
                "matchPolicy": "Equivalent",
                "timeoutSeconds": 10,
                "clientConfig": {
                    "service": {"name": service, "namespace": namespace, "path": k.path(), "port": PORT},
                },
                "rules": [{
                    "apiGroups": ["keda.sh"], "apiVersions": ["v1alpha1"],
                    "operations": ["CREATE", "UPDATE"], "resources": [k.plural],
                    "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
                }],
            });
            // a namespace selector means nothing to cluster-scoped objects
            if k.namespaced {
                w["namespaceSelector"] = selector.clone();
            }
            w
        })
        .collect();
    let mut meta = json!({"name": CONFIGURATION});
    if cert_manager {
        meta["annotations"] =
            json!({"cert-manager.io/inject-ca-from": format!("{namespace}/{service}")});
    }
    Ok(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": meta,
        "webhooks": webhooks,
    }))
}

/// Adds the webhook to the install documents: the configuration, the webhook's port and
/// settings on the operator container, its Service port, and the LimitRange reads of its
/// cpu/memory check (and, when the operator makes the certificate, the configuration's
/// `caBundle` writes) in the ClusterRole. Nothing changes with `--no-webhook`.
pub fn add(
    docs: &mut Vec<Value>,
    namespace: &str,
    service: &str,
    cert_manager: bool,
    args: &WebhookArgs,
) -> Result<(), String> {
    if !args.enabled() {
        return Ok(());
    }
    for doc in docs.iter_mut() {
        match doc["kind"].as_str() {
            Some("Deployment") => {
                let c = &mut doc["spec"]["template"]["spec"]["containers"][0];
                push(
                    &mut c["env"],
                    json!({"name": "PRESCALE_WEBHOOK_ADDR", "value": format!("0.0.0.0:{PORT}")}),
                );
                push(
                    &mut c["env"],
                    json!({"name": "PRESCALE_WEBHOOK_FAILURE_POLICY", "value": args.webhook_failure_policy.as_str()}),
                );
                push(
                    &mut c["ports"],
                    json!({"name": "webhook", "containerPort": PORT}),
                );
            }
            Some("Service") if doc["metadata"]["name"] == service => {
                push(
                    &mut doc["spec"]["ports"],
                    json!({"name": "webhook", "port": PORT, "targetPort": "webhook"}),
                );
            }
            Some("ClusterRole") if doc["rules"].to_string().contains("keda.sh") => {
                push(
                    &mut doc["rules"],
                    json!({"apiGroups": [""], "resources": ["limitranges"], "verbs": ["get", "list", "watch"]}),
                );
                if !cert_manager {
                    push(
                        &mut doc["rules"],
                        json!({"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"], "resourceNames": [CONFIGURATION], "verbs": ["get", "update", "patch"]}),
                    );
                }
            }
            _ => {}
        }
    }
    docs.push(configuration(namespace, service, cert_manager, args)?);
    Ok(())
}

fn push(list: &mut Value, item: Value) {
    if let Some(a) = list.as_array_mut() {
        a.push(item);
    } else {
        *list = json!([item]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let ok = [
            ("", json!({})),
            ("env=prod", json!({"matchLabels": {"env": "prod"}})),
            (
                "env==prod, team=a",
                json!({"matchLabels": {"env": "prod", "team": "a"}}),
            ),
            (
                "env!=dev",
                json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}),
            ),
            (
                "tier in (a, b),x notin (c)",
                json!({"matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "x", "operator": "NotIn", "values": ["c"]}]}),
            ),
            (
                "prescale.io/checked,!skip",
                json!({"matchExpressions": [
                {"key": "prescale.io/checked", "operator": "Exists"},
                {"key": "skip", "operator": "DoesNotExist"}]}),
            ),
        ];
        for (raw, want) in ok {
            assert_eq!(label_selector(raw).unwrap(), want, "{raw}");
        }
        for bad in ["a in b", "a in ()", "=x", "a b", "!"] {
            assert!(label_selector(bad).is_err(), "{bad}");
        }
    }
}
