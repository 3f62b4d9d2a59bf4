//! `prescale install`: everything a cluster needs, as YAML for `kubectl apply -f -` (or, with
//! `--output-dir`, a directory for `kubectl apply -k`): the CRDs, the namespace, service
//! account and least-privilege RBAC, the operator Deployment (which also serves the metrics
//! API and the admission webhook), its Services, a PodDisruptionBudget, the APIService
//! `v1beta1.external.metrics.k8s.io` and the ValidatingWebhookConfiguration
//! `prescale-validating-webhook` (unless `--no-webhook`). This is the one source of the objects: `deploy/` is its
//! output and the Helm chart renders the same objects (both drift-tested).
//!
//! The serving certificate is never inline: with `--cert-mode operator` (default) the leader
//! makes it at run time in a Secret and keeps the APIService's `caBundle` in step
//! (`crate::serving_cert`); with `--cert-mode cert-manager` cert-manager issues it and injects
//! the CA into the APIService.

mod certs;
mod rbac;
mod workload;

use crate::api::crds;
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;

/// The image `scripts/image.sh` builds (and the chart's default).
pub const DEFAULT_IMAGE: &str = concat!("ghcr.io/prescale/prescale:", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CertMode {
    /// The operator makes and renews the serving certificate and the APIService's caBundle.
    Operator,
    /// cert-manager issues it (a self-signed Issuer and a Certificate) and injects the CA.
    CertManager,
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Namespace of the operator.
    #[arg(long, default_value = "prescale")]
    namespace: String,

    /// Container image of the operator.
    #[arg(long, default_value = DEFAULT_IMAGE)]
    image: String,

    /// Operator replicas (all poll and serve the metrics API; the Lease holder writes).
    #[arg(long, default_value_t = 2)]
    replicas: u32,

    /// Who makes the metrics API's serving certificate.
    #[arg(long, value_enum, default_value = "operator")]
    cert_mode: CertMode,

    /// Spread ScaledObjects over this many shard Leases (`prescale run --shards`); with more
    /// than one, each replica works on its shards only and forwards metric requests for the
    /// others to their holder (pod IP from the downward API).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    shards: u32,

    /// With `--shards`: a `kubernetes.io/tls` Secret in the operator's namespace holding the
    /// client certificate metric requests are forwarded between replicas with; it must be
    /// signed by the cluster's front-proxy CA (the metrics API trusts only that), e.g.
    /// kubeadm's `front-proxy-client`. Without it forwarded requests are refused (401).
    #[arg(long, value_name = "SECRET")]
    forward_client_secret: Option<String>,

    /// Scale targets besides Deployments and StatefulSets, as RESOURCE.GROUP (e.g.
    /// `rollouts.argoproj.io`): the operator gets get/list/watch and /scale on them.
    #[arg(long = "scale-target", value_name = "RESOURCE.GROUP")]
    scale_targets: Vec<String>,

    /// Write `crds/`, `prescale.yaml` and `kustomization.yaml` into this directory (created if
    /// missing; `kubectl apply -k DIR`) instead of printing one stream.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<std::path::PathBuf>,

    #[command(flatten)]
    webhook: super::install_webhook::WebhookArgs,
}

/// What the objects depend on.
#[derive(Debug, Clone)]
pub struct Options {
    pub namespace: String,
    pub image: String,
    pub replicas: u32,
    pub cert_mode: CertMode,
    /// `--shards`.
    pub shards: u32,
    /// `--forward-client-secret`.
    pub forward_client_secret: Option<String>,
    /// `(group, resource)` of extra scale targets.
    pub scale_targets: Vec<(String, String)>,
    /// The admission webhook (included unless `--no-webhook`).
    pub webhook: super::install_webhook::WebhookArgs,
}

impl Options {
    /// The defaults of `prescale install` for this namespace.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.into(),
            image: DEFAULT_IMAGE.into(),
            replicas: 2,
            cert_mode: CertMode::Operator,
            shards: 1,
            forward_client_secret: None,
            scale_targets: Vec::new(),
            webhook: Default::default(),
        }
    }
}

fn dns_label(s: &str) -> bool {
    s.len() <= 63
        && !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The inputs an apiserver would refuse later, refused now with what is wrong.
fn check(a: &InstallArgs) -> anyhow::Result<Vec<(String, String)>> {
    let namespace = &a.namespace;
    if !dns_label(namespace) {
        anyhow::bail!(
            "--namespace {namespace:?} is not a valid namespace name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)"
        );
    }
    if a.image.trim().is_empty() || a.image.chars().any(char::is_whitespace) {
        anyhow::bail!("--image {:?} is not an image reference", a.image);
    }
    if a.replicas == 0 {
        anyhow::bail!("--replicas must be at least 1 (the operator and its metrics API run in it)");
    }
    super::install_webhook::label_selector(&a.webhook.webhook_namespace_selector)
        .map_err(anyhow::Error::msg)?;
    a.scale_targets
        .iter()
        .map(|t| match t.split_once('.') {
            Some((r, g)) if dns_label(r) && !g.is_empty() && g.split('.').all(dns_label) => {
                Ok((g.to_string(), r.to_string()))
            }
            _ => anyhow::bail!(
                "--scale-target {t:?} is not RESOURCE.GROUP (a plural resource and its API group, e.g. rollouts.argoproj.io)"
            ),
        })
        .collect()
}

/// The install documents (without the CRDs), in apply order.
pub fn documents(o: &Options) -> Vec<Value> {
    let mut docs = vec![
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": o.namespace}}),
    ];
    docs.extend(rbac::objects(o));
    docs.extend(certs::issuer_objects(o));
    docs.extend(workload::objects(o));
    docs.push(certs::api_service(o));
    let cert_manager = o.cert_mode == CertMode::CertManager;
    super::install_webhook::add(
        &mut docs,
        &o.namespace,
        certs::SERVICE,
        cert_manager,
        &o.webhook,
    )
    .expect("the webhook's namespace selector is checked before (`check`)");
    docs
}

pub fn yaml_docs(docs: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str(&format!("---\n{}", serde_yaml::to_string(doc)?));
    }
    Ok(out)
}

/// `kustomization.yaml` listing the files `--output-dir` writes.
pub fn kustomization(crd_files: &[&str]) -> String {
    let mut s = String::from(
        "# Generated by `prescale install --output-dir`: kubectl apply -k .\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for f in crd_files {
        s.push_str(&format!("  - crds/{f}\n"));
    }
    s.push_str("  - prescale.yaml\n");
    s
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

impl InstallArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let scale_targets = check(&self)?;
        let opts = Options {
            namespace: self.namespace.clone(),
            image: self.image.clone(),
            replicas: self.replicas,
            cert_mode: self.cert_mode,
            shards: self.shards,
            forward_client_secret: self.forward_client_secret.clone(),
            scale_targets,
            webhook: self.webhook.clone(),
        };
        let rest = yaml_docs(&documents(&opts))?;
        let Some(dir) = &self.output_dir else {
            super::print(&format!("{}{rest}", crds::yaml_stream()?));
            return Ok(ExitCode::SUCCESS);
        };
        let crd_dir = dir.join("crds");
        std::fs::create_dir_all(&crd_dir)
            .map_err(|e| anyhow::anyhow!("--output-dir {}: {e}", crd_dir.display()))?;
        let all = crds::all()?;
        for (name, text) in &all {
            write(&crd_dir.join(name), text)?;
        }
        write(&dir.join("prescale.yaml"), &rest)?;
        let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
        write(&dir.join("kustomization.yaml"), &kustomization(&names))?;
        super::print(&format!(
            "wrote {0}/crds/, {0}/prescale.yaml and {0}/kustomization.yaml: kubectl apply -k {0}\n",
            dir.display()
        ));
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
    }

    #[test]
    fn rbac_has_no_wildcards_and_binds_delegation() {
        let mut o = Options::new("prescale");
        o.scale_targets = vec![("argoproj.io".into(), "rollouts".into())];
        let docs = documents(&o);
        for d in docs
            .iter()
            .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
        {
            for rule in d["rules"].as_array().unwrap() {
                for field in ["apiGroups", "resources", "verbs"] {
                    for v in rule[field].as_array().unwrap() {
                        assert!(!v.as_str().unwrap().contains('*'), "{rule}");
                    }
                }
            }
        }
        let rules = &find(&docs, "ClusterRole", "prescale-operator")["rules"];
        assert!(
            rules
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["resources"][0] == "rollouts/scale")
        );
        assert!(
            rules
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["resourceNames"][0] == certs::API_SERVICE)
        );
        let rb = find(&docs, "RoleBinding", "prescale-operator-auth-reader");
        assert_eq!(
            (
                rb["metadata"]["namespace"].as_str(),
                rb["roleRef"]["name"].as_str()
            ),
            (
                Some("kube-system"),
                Some("extension-apiserver-authentication-reader")
            )
        );
        assert_eq!(
            find(
                &docs,
                "ClusterRoleBinding",
                "prescale-operator:system:auth-delegator"
            )["roleRef"]["name"],
            "system:auth-delegator"
        );
    }

    #[test]
    fn certificate_modes() {
        let docs = documents(&Options::new("prescale"));
        let api = find(&docs, "APIService", certs::API_SERVICE);
        assert!(
            api["spec"]["caBundle"].is_null() && api["spec"]["insecureSkipTLSVerify"].is_null()
        );
        assert!(
            docs.iter().all(|d| d["kind"] != "Secret"),
            "no key material in manifests"
        );
        let env = &find(&docs, "Deployment", "prescale-operator")["spec"]["template"]["spec"]["containers"]
            [0]["env"];
        assert!(
            env.as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "PRESCALE_MANAGE_SERVING_CERT")
        );

        let cm = documents(&Options {
            cert_mode: CertMode::CertManager,
            ..Options::new("ops")
        });
        let api = find(&cm, "APIService", certs::API_SERVICE);
        assert_eq!(
            api["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "ops/prescale-metrics-apiserver"
        );
        let cert = find(&cm, "Certificate", "prescale-metrics-apiserver");
        assert_eq!(cert["spec"]["secretName"], certs::SECRET);
        assert_eq!(
            cert["spec"]["dnsNames"][2],
            "prescale-metrics-apiserver.ops.svc"
        );
        let env = &find(&cm, "Deployment", "prescale-operator")["spec"]["template"]["spec"]["containers"]
            [0]["env"];
        assert!(
            env.as_array()
                .unwrap()
                .iter()
                .all(|e| e["name"] != "PRESCALE_MANAGE_SERVING_CERT")
        );
        let role = &find(&cm, "Role", "prescale-operator")["rules"];
        assert!(
            role.as_array()
                .unwrap()
                .iter()
                .all(|r| r["resources"][0] != "secrets")
        );
    }
}
