//! The operator's identity and least-privilege RBAC: no wildcard verb, resource or group
//! (one exception with `--shards`: reading external metrics, whose resources are metric names);
//! writes to its own objects are limited by name where Kubernetes allows it (`create` and
//! `list`/`watch` cannot be). Rules are listed one per line so that additions merge cleanly.
//!
//! The HPA controller needs no binding from us to read external metrics: its bootstrap role
//! `system:controller:horizontal-pod-autoscaler` already grants get/list/watch on
//! `external.metrics.k8s.io`.

use super::{CertMode, Options};
use serde_json::{Value, json};

pub const NAME: &str = "prescale-operator";

/// The cluster-wide rules of the operator.
pub fn cluster_rules(o: &Options) -> Vec<Value> {
    let mut rules = vec![
        json!({"apiGroups": ["keda.sh"], "resources": ["scaledobjects", "scaledobjects/status", "scaledobjects/finalizers", "triggerauthentications", "triggerauthentications/status", "clustertriggerauthentications", "clustertriggerauthentications/status"], "verbs": ["get", "list", "watch", "update", "patch"]}),
        json!({"apiGroups": ["keda.sh"], "resources": ["scaledjobs", "scaledjobs/status", "scaledjobs/finalizers"], "verbs": ["get", "list", "watch", "update", "patch"]}),
        json!({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "delete"]}),
        json!({"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}),
        json!({"apiGroups": [""], "resources": ["pods", "secrets", "configmaps"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": ["apps"], "resources": ["deployments/scale", "statefulsets/scale"], "verbs": ["get", "update", "patch"]}),
        json!({"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}),
    ];
    for (group, resource) in &o.scale_targets {
        rules.push(json!({"apiGroups": [group], "resources": [resource], "verbs": ["get", "list", "watch"]}));
        rules.push(json!({"apiGroups": [group], "resources": [format!("{resource}/scale")], "verbs": ["get", "update", "patch"]}));
    }
    if o.cert_mode == CertMode::Operator {
        rules.push(json!({"apiGroups": ["apiregistration.k8s.io"], "resources": ["apiservices"], "resourceNames": [super::certs::API_SERVICE], "verbs": ["get", "update", "patch"]}));
    }
    if o.shards > 1 {
        // replicas forward metric requests to each other as this service account, and the
        // receiving replica authorizes it; the resources are metric names, not known in
        // advance (the HPA controller's own role has the same wildcard)
        rules.push(json!({"apiGroups": ["external.metrics.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]}));
    }
    rules
}

/// The rules in the operator's own namespace.
fn namespace_rules(o: &Options) -> Vec<Value> {
    let mut rules = vec![
        json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}),
    ];
    if o.cert_mode == CertMode::Operator {
        rules.push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}));
        rules.push(json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": [super::certs::SECRET], "verbs": ["update", "patch"]}));
    }
    rules
}

/// ServiceAccount, roles and bindings.
pub fn objects(o: &Options) -> Vec<Value> {
    let ns = &o.namespace;
    let sa = json!({"kind": "ServiceAccount", "name": NAME, "namespace": ns});
    let binding = |kind: &str, name: &str, ns: Option<&str>, role_kind: &str, role: &str| {
        let mut meta = json!({"name": name});
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": [sa]})
    };
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": NAME}, "rules": cluster_rules(o)}),
        binding("ClusterRoleBinding", NAME, None, "ClusterRole", NAME),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": NAME, "namespace": ns}, "rules": namespace_rules(o)}),
        binding("RoleBinding", NAME, Some(ns), "Role", NAME),
        // delegated authentication and authorization of the aggregated API server
        binding(
            "ClusterRoleBinding",
            &format!("{NAME}:system:auth-delegator"),
            None,
            "ClusterRole",
            "system:auth-delegator",
        ),
        binding(
            "RoleBinding",
            &format!("{NAME}-auth-reader"),
            Some("kube-system"),
            "Role",
            "extension-apiserver-authentication-reader",
        ),
    ]
}
