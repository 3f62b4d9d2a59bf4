//! `prescale install`: everything a cluster needs, as YAML for `kubectl apply -f -`: the CRDs,
//! the namespace, service account and RBAC, the operator Deployment (which also serves the
//! metrics API), its Service, a serving certificate made now (Secret), and the APIService
//! `v1beta1.external.metrics.k8s.io` trusting that certificate's CA through `caBundle`.

use crate::api::crds;
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Namespace of the operator.
    #[arg(long, default_value = "prescale")]
    namespace: String,

    /// Container image of the operator.
    #[arg(long, default_value = "ghcr.io/prescale/prescale:0.1.0")]
    image: String,

    /// Operator replicas (all poll and serve the metrics API; the Lease holder writes).
    #[arg(long, default_value_t = 2)]
    replicas: u32,

    /// Write `crds.yaml` and `prescale.yaml` into this directory (created if missing) instead
    /// of printing one stream.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<std::path::PathBuf>,

    #[command(flatten)]
    webhook: super::install_webhook::WebhookArgs,
}

/// The inputs an apiserver would refuse later, refused now with what is wrong.
fn check(namespace: &str, image: &str, replicas: u32) -> anyhow::Result<()> {
    let dns_label = namespace.len() <= 63
        && !namespace.is_empty()
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if !dns_label {
        anyhow::bail!(
            "--namespace {namespace:?} is not a valid namespace name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)"
        );
    }
    if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
        anyhow::bail!("--image {image:?} is not an image reference");
    }
    if replicas == 0 {
        anyhow::bail!("--replicas must be at least 1 (the operator and its metrics API run in it)");
    }
    Ok(())
}

const SERVICE: &str = "prescale-metrics-apiserver";
const NAME: &str = "prescale-operator";

/// A CA and a serving certificate for the metrics API Service's DNS names, as PEM.
pub fn serving_certificate(namespace: &str) -> anyhow::Result<(String, String, String)> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "prescale-metrics-apiserver-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let ca_key = KeyPair::generate()?;
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let names = vec![
        SERVICE.to_string(),
        format!("{SERVICE}.{namespace}"),
        format!("{SERVICE}.{namespace}.svc"),
        format!("{SERVICE}.{namespace}.svc.cluster.local"),
    ];
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{SERVICE}.{namespace}.svc"));
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &Issuer::from_params(&ca, &ca_key))?;
    Ok((ca_pem, cert.pem(), key.serialize_pem()))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The install documents (without the CRDs), with the admission webhook as by default.
pub fn documents(namespace: &str, image: &str, replicas: u32) -> anyhow::Result<Vec<Value>> {
    documents_with(namespace, image, replicas, &Default::default())
}

/// The install documents (without the CRDs) with these webhook settings.
pub fn documents_with(
    namespace: &str,
    image: &str,
    replicas: u32,
    webhook: &super::install_webhook::WebhookArgs,
) -> anyhow::Result<Vec<Value>> {
    let (ca, cert, key) = serving_certificate(namespace)?;
    let mut docs = base_documents(namespace, image, replicas, &ca, &cert, &key);
    super::install_webhook::add(&mut docs, namespace, SERVICE, &b64(&ca), webhook)
        .map_err(anyhow::Error::msg)?;
    Ok(docs)
}

/// Everything but the webhook.
fn base_documents(
    namespace: &str,
    image: &str,
    replicas: u32,
    ca: &str,
    cert: &str,
    key: &str,
) -> Vec<Value> {
    let labels = json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "prescale"});
    let sa = json!({"kind": "ServiceAccount", "name": NAME, "namespace": namespace});
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": namespace}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": NAME}, "rules": [
            {"apiGroups": ["keda.sh"], "resources": ["scaledobjects", "scaledobjects/status", "scaledobjects/finalizers", "triggerauthentications", "triggerauthentications/status", "clustertriggerauthentications", "clustertriggerauthentications/status"], "verbs": ["get", "list", "watch", "update", "patch"]},
            {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            {"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["get", "update", "patch"]},
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods", "secrets", "configmaps"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME}, "subjects": [sa]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": format!("{NAME}-lease"), "namespace": namespace}, "rules": [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch", "create", "update", "patch"]}
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": format!("{NAME}-lease"), "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("{NAME}-lease")}, "subjects": [sa]}),
        // delegated authentication and authorization of the aggregated API server
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": format!("{NAME}:system:auth-delegator")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"}, "subjects": [sa]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": format!("{NAME}-auth-reader"), "namespace": "kube-system"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "extension-apiserver-authentication-reader"}, "subjects": [sa]}),
        // the HPA controller may read external metrics
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "prescale-external-metrics-reader"}, "rules": [
            {"apiGroups": ["external.metrics.k8s.io"], "resources": ["*"], "verbs": ["get", "list", "watch"]}
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "prescale-hpa-external-metrics"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prescale-external-metrics-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler", "namespace": "kube-system"}]}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": format!("{SERVICE}-certs"), "namespace": namespace},
            "data": {"tls.crt": b64(cert), "tls.key": b64(key), "ca.crt": b64(ca)}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "serviceAccountName": NAME,
            "containers": [{
                "name": "prescale", "image": image, "args": ["run"],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "PRESCALE_TLS_CERT_FILE", "value": "/certs/tls.crt"},
                    {"name": "PRESCALE_TLS_PRIVATE_KEY_FILE", "value": "/certs/tls.key"},
                    {"name": "PRESCALE_LOG_FORMAT", "value": "json"}
                ],
                "ports": [{"name": "https", "containerPort": 6443}, {"name": "admin", "containerPort": 8080}],
                "livenessProbe": {"httpGet": {"path": "/livez", "port": "admin"}},
                // readiness follows leadership: only the replica that polls serves metrics
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"}},
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "certs", "mountPath": "/certs", "readOnly": true}]
            }],
            "volumes": [{"name": "certs", "secret": {"secretName": format!("{SERVICE}-certs")}}]
        }}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": "https"}, {"name": "admin", "port": 8080, "targetPort": "admin"}]}}),
        json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.external.metrics.k8s.io"},
            "spec": {"group": "external.metrics.k8s.io", "version": "v1beta1", "service": {"name": SERVICE, "namespace": namespace, "port": 443},
                     "caBundle": b64(ca), "groupPriorityMinimum": 100, "versionPriority": 100}}),
    ]
}

impl InstallArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        check(&self.namespace, &self.image, self.replicas)?;
        let crds = crds::yaml_stream()?;
        let mut rest = String::new();
        for doc in documents_with(&self.namespace, &self.image, self.replicas, &self.webhook)? {
            rest.push_str(&format!("---\n{}", serde_yaml::to_string(&doc)?));
        }
        match &self.output_dir {
            None => super::print(&format!("{crds}{rest}")),
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("--output-dir {}: {e}", dir.display()))?;
                for (name, text) in [("crds.yaml", &crds), ("prescale.yaml", &rest)] {
                    let path = dir.join(name);
                    std::fs::write(&path, text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                }
                super::print(&format!(
                    "wrote {0}/crds.yaml and {0}/prescale.yaml: kubectl apply -f {0}/crds.yaml && kubectl apply -f {0}/prescale.yaml\n",
                    dir.display()
                ));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_service_trusts_the_generated_serving_certificate() {
        let docs = documents("prescale", "img", 2).unwrap();
        let find = |kind: &str, name: &str| {
            docs.iter()
                .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{kind} {name}"))
        };
        let svc = find("APIService", "v1beta1.external.metrics.k8s.io");
        assert!(svc["spec"]["insecureSkipTLSVerify"].is_null());
        let secret = find("Secret", "prescale-metrics-apiserver-certs");
        assert_eq!(svc["spec"]["caBundle"], secret["data"]["ca.crt"]);
        let crb = find("RoleBinding", "prescale-operator-auth-reader");
        assert_eq!(
            (
                crb["metadata"]["namespace"].as_str(),
                crb["roleRef"]["name"].as_str()
            ),
            (
                Some("kube-system"),
                Some("extension-apiserver-authentication-reader")
            )
        );
        assert_eq!(
            find(
                "ClusterRoleBinding",
                "prescale-operator:system:auth-delegator"
            )["roleRef"]["name"],
            "system:auth-delegator"
        );
        assert_eq!(
            find("ClusterRoleBinding", "prescale-hpa-external-metrics")["subjects"][0]["name"],
            "horizontal-pod-autoscaler"
        );
        let dep = find("Deployment", "prescale-operator");
        assert_eq!(
            dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
            "prescale-metrics-apiserver-certs"
        );
    }
}
