//! Trigger inputs: each trigger's metadata with its TriggerAuthentication parameters and the
//! scale target container's environment resolved (spec §2.1–2.2). The same resolution runs
//! against the cluster at reconcile time ([`kube::KubeSource`]) and against manifests in
//! `prescale validate` ([`manifests::ManifestSource`]).
//!
//! Values read here are secrets: they go into `TriggerInput` only, whose Debug hides them, and
//! no error or warning text built here contains one.

pub mod kube;
pub mod manifests;

use crate::api::{ScaledObject, TriggerAuthenticationSpec};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodTemplateSpec, Secret};
use prescale_scalers::TriggerInput;
use std::collections::BTreeMap;

/// Where resolution reads objects. Errors are secret-free texts.
#[async_trait]
pub trait ObjectSource: Send + Sync {
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, String>;
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, String>;
    async fn trigger_authentication(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<TriggerAuthenticationSpec>, String>;
    async fn cluster_trigger_authentication(
        &self,
        name: &str,
    ) -> Result<Option<TriggerAuthenticationSpec>, String>;
    /// The pod template (`spec.template`) of the scale target; `Ok(None)` when the target is
    /// not known.
    async fn pod_template(
        &self,
        namespace: &str,
        api_version: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<PodTemplateSpec>, String>;
}

/// A key of a Secret: `data` first, then `stringData` (as written in manifests).
fn secret_key(s: &Secret, key: &str) -> Option<String> {
    s.data
        .as_ref()
        .and_then(|d| {
            d.get(key)
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        })
        .or_else(|| s.string_data.as_ref().and_then(|d| d.get(key).cloned()))
}

/// One input per trigger, the objects consulted, and notes on references that were missing.
pub struct Resolved {
    pub inputs: Vec<TriggerInput>,
    /// (kind, namespace, name); namespace "" for cluster-scoped objects.
    pub used: Vec<(String, String, String)>,
    pub warnings: Vec<String>,
}

struct Reader<'a> {
    source: &'a dyn ObjectSource,
    used: Vec<(String, String, String)>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    async fn secret(&mut self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        self.used.push(("Secret".into(), ns.into(), name.into()));
        self.source.secret(ns, name).await
    }

    async fn config_map(&mut self, ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        self.used.push(("ConfigMap".into(), ns.into(), name.into()));
        self.source.config_map(ns, name).await
    }

    async fn secret_value(
        &mut self,
        ns: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, String> {
        let Some(s) = self.secret(ns, name).await? else {
            self.warnings.push(format!("Secret {ns}/{name} not found"));
            return Ok(None);
        };
        let v = secret_key(&s, key);
        if v.is_none() {
            self.warnings
                .push(format!("Secret {ns}/{name} has no key {key:?}"));
        }
        Ok(v)
    }

    async fn config_map_value(
        &mut self,
        ns: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, String> {
        let Some(c) = self.config_map(ns, name).await? else {
            self.warnings
                .push(format!("ConfigMap {ns}/{name} not found"));
            return Ok(None);
        };
        let v = c.data.and_then(|d| d.get(key).cloned());
        if v.is_none() {
            self.warnings
                .push(format!("ConfigMap {ns}/{name} has no key {key:?}"));
        }
        Ok(v)
    }
}

/// Resolves every trigger of `so`. TriggerAuthentications, Secrets and ConfigMaps are read in
/// the ScaledObject's namespace only; ClusterTriggerAuthentications read theirs in
/// `cluster_ns` (the only way across namespaces).
pub async fn resolve(
    source: &dyn ObjectSource,
    so: &ScaledObject,
    cluster_ns: &str,
) -> Result<Resolved, String> {
    let ns = so.metadata.namespace.clone().unwrap_or_default();
    let t = &so.spec.scale_target_ref;
    // the target's env feeds `*FromEnv` and TriggerAuthentication `env`
    let used = vec![(t.kind().to_string(), ns.clone(), t.name.clone())];
    let containers = source
        .pod_template(&ns, t.api_version(), t.kind(), &t.name)
        .await?
        .and_then(|tpl| tpl.spec)
        .map(|s| s.containers)
        .unwrap_or_default();
    let env_source = t.env_source_container_name.as_deref();
    resolve_triggers(
        source,
        &ns,
        used,
        &containers,
        env_source,
        &so.spec.triggers,
        cluster_ns,
    )
    .await
}

/// Resolves `triggers` in `ns` against the given containers (a ScaledObject's target's or a
/// ScaledJob's Job template's); `env_source` names the container whose env is used (default:
/// the first). `used` starts the list of consulted objects.
pub async fn resolve_triggers(
    source: &dyn ObjectSource,
    ns: &str,
    used: Vec<(String, String, String)>,
    containers: &[Container],
    env_source: Option<&str>,
    triggers: &[crate::api::ScaleTrigger],
    cluster_ns: &str,
) -> Result<Resolved, String> {
    let ns = ns.to_string();
    let mut reader = Reader {
        source,
        used,
        warnings: Vec::new(),
    };
    let env_container = match env_source {
        Some(n) => containers.iter().find(|c| c.name == n),
        None => containers.first(),
    };
    let resolved_env = match env_container {
        Some(c) => container_env(&mut reader, &ns, c).await?,
        None => BTreeMap::new(),
    };
    let mut inputs = Vec::new();
    for (index, trig) in triggers.iter().enumerate() {
        let mut auth_params = BTreeMap::new();
        let mut pod_identity_provider = None;
        if let Some(r) = &trig.authentication_ref {
            let (spec, secret_ns) = if r.is_cluster() {
                reader.used.push((
                    "ClusterTriggerAuthentication".into(),
                    String::new(),
                    r.name.clone(),
                ));
                (
                    source.cluster_trigger_authentication(&r.name).await?,
                    cluster_ns.to_string(),
                )
            } else {
                reader
                    .used
                    .push(("TriggerAuthentication".into(), ns.clone(), r.name.clone()));
                (
                    source.trigger_authentication(&ns, &r.name).await?,
                    ns.clone(),
                )
            };
            match spec {
                // KEDA logs a missing TriggerAuthentication and goes on without its parameters;
                // the scaler's parser then names the missing parameter.
                None => reader.warnings.push(format!(
                    "trigger {index}: {} {:?} not found, its parameters are absent",
                    r.kind.as_deref().unwrap_or("TriggerAuthentication"),
                    r.name
                )),
                Some(spec) => {
                    pod_identity_provider = spec.pod_identity.as_ref().map(|p| p.provider.clone());
                    auth_params =
                        auth_parameters(&mut reader, &spec, &secret_ns, containers, &resolved_env)
                            .await?;
                }
            }
        }
        inputs.push(TriggerInput {
            trigger_type: trig.type_.clone(),
            name: trig.name().to_string(),
            index,
            metric_type: trig.metric_type.clone().unwrap_or_default(),
            metadata: trig.metadata.clone(),
            auth_params,
            resolved_env: resolved_env.clone(),
            pod_identity_provider,
        });
    }
    Ok(Resolved {
        inputs,
        used: reader.used,
        warnings: reader.warnings,
    })
}

/// env → configMapTargetRef → secretTargetRef; later sources overwrite earlier ones.
async fn auth_parameters(
    reader: &mut Reader<'_>,
    spec: &TriggerAuthenticationSpec,
    ns: &str,
    containers: &[Container],
    default_env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for e in &spec.env {
        let value = match &e.container_name {
            Some(c) => match containers.iter().find(|x| &x.name == c) {
                Some(container) => container_env(reader, ns, container)
                    .await?
                    .get(&e.name)
                    .cloned(),
                None => None,
            },
            None => default_env.get(&e.name).cloned(),
        };
        if let Some(v) = value {
            out.insert(e.parameter.clone(), v);
        }
    }
    for r in &spec.config_map_target_ref {
        if let Some(v) = reader.config_map_value(ns, &r.name, &r.key).await? {
            out.insert(r.parameter.clone(), v);
        }
    }
    for r in &spec.secret_target_ref {
        if let Some(v) = reader.secret_value(ns, &r.name, &r.key).await? {
            out.insert(r.parameter.clone(), v);
        }
    }
    Ok(out)
}

/// A container's environment as KEDA resolves it: envFrom first, then env with `$(VAR)`
/// expansion and secret/config map references; field references are skipped.
async fn container_env(
    reader: &mut Reader<'_>,
    ns: &str,
    c: &Container,
) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(cm) = &from.config_map_ref {
            match reader.config_map(ns, &cm.name).await? {
                Some(m) => env.extend(
                    m.data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (format!("{prefix}{k}"), v)),
                ),
                None if cm.optional == Some(true) => {}
                None => {
                    return Err(format!(
                        "error reading config ref {} on namespace {ns}/: configmap not found",
                        cm.name
                    ));
                }
            }
        }
        if let Some(s) = &from.secret_ref {
            match reader.secret(ns, &s.name).await? {
                Some(sec) => {
                    let data = sec
                        .data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()));
                    let string_data = sec.string_data.unwrap_or_default();
                    env.extend(
                        data.chain(string_data)
                            .map(|(k, v)| (format!("{prefix}{k}"), v)),
                    );
                }
                None if s.optional == Some(true) => {}
                None => {
                    return Err(format!(
                        "error reading secret ref {} on namespace {ns}/: secret not found",
                        s.name
                    ));
                }
            }
        }
    }
    for e in c.env.iter().flatten() {
        if let Some(v) = &e.value {
            let expanded = expand(v, &env);
            env.insert(e.name.clone(), expanded);
            continue;
        }
        let Some(from) = &e.value_from else {
            env.insert(e.name.clone(), String::new());
            continue;
        };
        if let Some(r) = &from.secret_key_ref {
            match reader.secret_value(ns, &r.name, &r.key).await? {
                Some(v) => {
                    env.insert(e.name.clone(), v);
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(format!(
                        "error resolving secret name {:?} for env {} in namespace {ns}",
                        r.name, e.name
                    ));
                }
            }
        } else if let Some(r) = &from.config_map_key_ref {
            match reader.config_map_value(ns, &r.name, &r.key).await? {
                Some(v) => {
                    env.insert(e.name.clone(), v);
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(format!(
                        "error resolving config map name {:?} for env {} in namespace {ns}",
                        r.name, e.name
                    ));
                }
            }
        }
    }
    Ok(env)
}

/// Kubernetes' `$(VAR)` expansion against already-resolved variables; `$$` escapes `$`;
/// unknown references stay as written.
pub fn expand(value: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.get(name) {
                        Some(v) => out.push_str(v),
                        None => out.push_str(&format!("$({name})")),
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
