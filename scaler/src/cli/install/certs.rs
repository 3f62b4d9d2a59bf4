//! The APIService and, with `--cert-mode cert-manager`, cert-manager's Issuer and Certificate.
//! In operator mode nothing about the certificate is installed: the leader makes the Secret
//! and fills `caBundle` at run time (`crate::serving_cert`), so no key is ever in a manifest.

use super::{CertMode, Options};
use serde_json::{Value, json};

pub const SERVICE: &str = "prescale-metrics-apiserver";
pub const SECRET: &str = "prescale-metrics-apiserver-certs";
pub const API_SERVICE: &str = "v1beta1.external.metrics.k8s.io";

/// cert-manager's objects (none in operator mode): a self-signed Issuer and a Certificate for
/// the Service's names, written to the Secret the replicas follow.
pub fn issuer_objects(o: &Options) -> Vec<Value> {
    if o.cert_mode != CertMode::CertManager {
        return Vec::new();
    }
    let ns = &o.namespace;
    vec![
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "prescale-selfsigned", "namespace": ns},
            "spec": {"selfSigned": {}}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": SERVICE, "namespace": ns},
            "spec": {"secretName": SECRET, "dnsNames": crate::serving_cert::service_names(SERVICE, ns),
                     "issuerRef": {"name": "prescale-selfsigned", "kind": "Issuer"}}}),
    ]
}

/// `v1beta1.external.metrics.k8s.io`, verified through `caBundle` (filled by the operator, or
/// injected by cert-manager's cainjector), never `insecureSkipTLSVerify`.
pub fn api_service(o: &Options) -> Value {
    let mut meta = json!({"name": API_SERVICE});
    if o.cert_mode == CertMode::CertManager {
        meta["annotations"] =
            json!({"cert-manager.io/inject-ca-from": format!("{}/{SERVICE}", o.namespace)});
    }
    json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": meta,
        "spec": {"group": "external.metrics.k8s.io", "version": "v1beta1", "service": {"name": SERVICE, "namespace": o.namespace, "port": 443},
                 "groupPriorityMinimum": 100, "versionPriority": 100}})
}
