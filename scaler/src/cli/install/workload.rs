//! The operator Deployment, its Services and its PodDisruptionBudget.
//!
//! Sizing (`docs/deploy.md` has the figures): 1,000 ScaledObjects took 176 MiB peak RSS for
//! the operator and the API stand-in together, the metrics API at 4,000 requests/s 25 MiB; so
//! 128 MiB requested and a 384 MiB limit. No CPU limit: throttling would delay polls and the
//! metrics API, while the request reserves what a steady operator uses.

use super::certs::{SECRET, SERVICE};
use super::rbac::NAME;
use super::{CertMode, Options};
use serde_json::{Value, json};

/// The numeric user and group of the image (`scripts/image.sh`, `Dockerfile`).
pub const UID: u32 = 65532;

fn labels() -> Value {
    json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "prescale"})
}

fn env(o: &Options) -> Value {
    let mut env = vec![
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
        json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}),
        json!({"name": "PRESCALE_LOG_LEVEL", "value": "info"}),
        json!({"name": "PRESCALE_LOG_FORMAT", "value": "json"}),
        json!({"name": "PRESCALE_SERVING_CERT_SECRET", "value": SECRET}),
    ];
    if o.cert_mode == CertMode::Operator {
        env.push(json!({"name": "PRESCALE_MANAGE_SERVING_CERT", "value": "true"}));
    }
    if o.shards > 1 {
        // the other replicas forward metric requests to this pod's IP (advertised in the
        // shard Leases it holds)
        env.push(json!({"name": "PRESCALE_SHARDS", "value": o.shards.to_string()}));
        env.push(
            json!({"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}),
        );
    }
    if o.forward_client_secret.is_some() {
        env.push(json!({"name": "PRESCALE_FORWARD_CERT_FILE", "value": format!("{FORWARD_DIR}/tls.crt")}));
        env.push(
            json!({"name": "PRESCALE_FORWARD_KEY_FILE", "value": format!("{FORWARD_DIR}/tls.key")}),
        );
    }
    Value::Array(env)
}

/// Where the forwarding client certificate Secret is mounted.
const FORWARD_DIR: &str = "/etc/prescale/forward";

fn container(o: &Options) -> Value {
    let mut c = json!({
        "name": "prescale", "image": o.image, "args": ["run"],
        "env": env(o),
        "ports": [{"name": "https", "containerPort": 6443}, {"name": "admin", "containerPort": 8080}],
        "livenessProbe": {"httpGet": {"path": "/livez", "port": "admin"}, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
        // Ready = this replica can answer the metrics API (every replica polls and serves)
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "admin"}, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "384Mi"}},
        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}}
    });
    if o.forward_client_secret.is_some() {
        c["volumeMounts"] =
            json!([{"name": "forward-client", "mountPath": FORWARD_DIR, "readOnly": true}]);
    }
    c
}

/// The Deployment.
pub fn deployment(o: &Options) -> Value {
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": o.namespace, "labels": labels()},
    "spec": {"replicas": o.replicas, "selector": {"matchLabels": labels()}, "template": {"metadata": {"labels": labels()}, "spec": {
        "serviceAccountName": NAME,
        "securityContext": {"runAsNonRoot": true, "runAsUser": UID, "runAsGroup": UID, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container(o)],
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels()}}]
    }}}});
    if let Some(secret) = &o.forward_client_secret {
        d["spec"]["template"]["spec"]["volumes"] =
            json!([{"name": "forward-client", "secret": {"secretName": secret}}]);
    }
    d
}

/// Deployment, Services and (with more than one replica) the PodDisruptionBudget.
pub fn objects(o: &Options) -> Vec<Value> {
    let ns = &o.namespace;
    let mut out = vec![
        deployment(o),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE, "namespace": ns, "labels": labels()},
            "spec": {"selector": labels(), "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("{NAME}-metrics"), "namespace": ns, "labels": labels()},
            "spec": {"selector": labels(), "ports": [{"name": "admin", "port": 8080, "targetPort": "admin"}]}}),
    ];
    if o.replicas > 1 {
        out.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels()}}}));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardened_and_spread() {
        let d = deployment(&Options::new("ops"));
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(pod["securityContext"]["runAsUser"], UID);
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
        assert_eq!(
            pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
            d["spec"]["selector"]["matchLabels"]
        );
        let one = Options {
            replicas: 1,
            ..Options::new("ops")
        };
        assert!(
            objects(&one)
                .iter()
                .all(|o| o["kind"] != "PodDisruptionBudget")
        );
        assert!(
            objects(&Options::new("ops"))
                .iter()
                .any(|o| o["kind"] == "PodDisruptionBudget")
        );
    }
}
