//! Trigger inputs from the cluster: each trigger's metadata with its TriggerAuthentication
//! parameters and the scale target container's environment resolved (spec §2.1–2.2), read
//! through the API at reconcile time (so a rotated Secret is seen at the next reconcile).
//!
//! Values read here are secrets: they go into `TriggerInput` only, whose Debug hides them, and
//! no error text built here contains one.

use crate::api::{
    ClusterTriggerAuthentication, ScaledObject, TriggerAuthentication, TriggerAuthenticationSpec,
};
use crate::poller::target::TargetRef;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodTemplateSpec, Secret};
use kube::api::DynamicObject;
use kube::{Api, Client};
use prescale_scalers::TriggerInput;
use std::collections::BTreeMap;

/// Reads Secrets and ConfigMaps of one namespace, remembering what was read.
struct Reader {
    client: Client,
    /// (kind, namespace, name) of every Secret/ConfigMap/auth object consulted.
    pub used: Vec<(String, String, String)>,
}

impl Reader {
    async fn secret_value(
        &mut self,
        ns: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, String> {
        self.used.push(("Secret".into(), ns.into(), name.into()));
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = api.get_opt(name).await.map_err(|e| {
            format!(
                "reading Secret {ns}/{name}: {}",
                crate::poller::task::kube_error_text(&e)
            )
        })?;
        Ok(secret.and_then(|s| {
            s.data
                .and_then(|d| {
                    d.get(key)
                        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                })
                .or_else(|| s.string_data.and_then(|d| d.get(key).cloned()))
        }))
    }

    async fn config_map_value(
        &mut self,
        ns: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, String> {
        self.used.push(("ConfigMap".into(), ns.into(), name.into()));
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
        let cm = api.get_opt(name).await.map_err(|e| {
            format!(
                "reading ConfigMap {ns}/{name}: {}",
                crate::poller::task::kube_error_text(&e)
            )
        })?;
        Ok(cm.and_then(|c| c.data.and_then(|d| d.get(key).cloned())))
    }
}

/// What the reconcile needs: one input per trigger and the objects consulted.
pub struct Resolved {
    pub inputs: Vec<TriggerInput>,
    pub used: Vec<(String, String, String)>,
}

/// Resolves every trigger of `so`. `cluster_ns` is where ClusterTriggerAuthentication
/// Secrets/ConfigMaps live.
pub async fn resolve(
    client: &Client,
    so: &ScaledObject,
    target: &TargetRef,
    cluster_ns: &str,
) -> Result<Resolved, String> {
    let ns = so.metadata.namespace.clone().unwrap_or_default();
    let mut reader = Reader {
        client: client.clone(),
        used: Vec::new(),
    };
    let containers = target_containers(client, target).await?;
    let env_container = match &so.spec.scale_target_ref.env_source_container_name {
        Some(n) => containers.iter().find(|c| &c.name == n),
        None => containers.first(),
    };
    let resolved_env = match env_container {
        Some(c) => container_env(&mut reader, &ns, c).await?,
        None => BTreeMap::new(),
    };
    let mut inputs = Vec::new();
    for (index, t) in so.spec.triggers.iter().enumerate() {
        let mut auth_params = BTreeMap::new();
        let mut pod_identity_provider = None;
        if let Some(r) = &t.authentication_ref {
            let (spec, secret_ns) = if r.is_cluster() {
                reader.used.push((
                    "ClusterTriggerAuthentication".into(),
                    String::new(),
                    r.name.clone(),
                ));
                let api: Api<ClusterTriggerAuthentication> = Api::all(client.clone());
                let cta = api.get_opt(&r.name).await.map_err(|e| {
                    format!(
                        "reading ClusterTriggerAuthentication {}: {}",
                        r.name,
                        crate::poller::task::kube_error_text(&e)
                    )
                })?;
                (cta.map(|c| c.spec.spec), cluster_ns.to_string())
            } else {
                reader
                    .used
                    .push(("TriggerAuthentication".into(), ns.clone(), r.name.clone()));
                let api: Api<TriggerAuthentication> = Api::namespaced(client.clone(), &ns);
                let ta = api.get_opt(&r.name).await.map_err(|e| {
                    format!(
                        "reading TriggerAuthentication {ns}/{}: {}",
                        r.name,
                        crate::poller::task::kube_error_text(&e)
                    )
                })?;
                (ta.map(|t| t.spec), ns.clone())
            };
            // A missing TriggerAuthentication leaves its parameters absent (KEDA logs it); the
            // scaler's parser then names the missing parameter.
            if let Some(spec) = spec {
                pod_identity_provider = spec.pod_identity.as_ref().map(|p| p.provider.clone());
                auth_params =
                    auth_parameters(&mut reader, &spec, &secret_ns, &containers, &resolved_env)
                        .await?;
            }
        }
        inputs.push(TriggerInput {
            trigger_type: t.type_.clone(),
            name: t.name().to_string(),
            index,
            metric_type: t.metric_type.clone().unwrap_or_default(),
            metadata: t.metadata.clone(),
            auth_params,
            resolved_env: resolved_env.clone(),
            pod_identity_provider,
        });
    }
    Ok(Resolved {
        inputs,
        used: reader.used,
    })
}

/// env → configMapTargetRef → secretTargetRef; later sources overwrite earlier ones.
async fn auth_parameters(
    reader: &mut Reader,
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

/// The containers of the target's pod template (`spec.template`, any kind).
async fn target_containers(client: &Client, target: &TargetRef) -> Result<Vec<Container>, String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &target.namespace, &target.resource);
    let obj = api.get(&target.name).await.map_err(|e| {
        format!(
            "reading {} {}/{}: {}",
            target.resource.kind,
            target.namespace,
            target.name,
            crate::poller::task::kube_error_text(&e)
        )
    })?;
    let template = obj
        .data
        .get("spec")
        .and_then(|s| s.get("template"))
        .cloned();
    Ok(template
        .and_then(|t| serde_json::from_value::<PodTemplateSpec>(t).ok())
        .and_then(|t| t.spec)
        .map(|s| s.containers)
        .unwrap_or_default())
}

/// A container's environment as KEDA resolves it: envFrom first, then env with `$(VAR)`
/// expansion and secret/config map references; field references are skipped.
async fn container_env(
    reader: &mut Reader,
    ns: &str,
    c: &Container,
) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(cm) = &from.config_map_ref {
            let api: Api<ConfigMap> = Api::namespaced(reader.client.clone(), ns);
            reader
                .used
                .push(("ConfigMap".into(), ns.into(), cm.name.clone()));
            match api
                .get_opt(&cm.name)
                .await
                .map_err(|e| crate::poller::task::kube_error_text(&e))?
            {
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
            let api: Api<Secret> = Api::namespaced(reader.client.clone(), ns);
            reader
                .used
                .push(("Secret".into(), ns.into(), s.name.clone()));
            match api
                .get_opt(&s.name)
                .await
                .map_err(|e| crate::poller::task::kube_error_text(&e))?
            {
                Some(sec) => env.extend(sec.data.unwrap_or_default().into_iter().map(|(k, v)| {
                    (
                        format!("{prefix}{k}"),
                        String::from_utf8_lossy(&v.0).into_owned(),
                    )
                })),
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
mod tests {
    use super::*;

    #[test]
    fn dollar_expansion() {
        let env = BTreeMap::from([
            ("HOST".to_string(), "redis".to_string()),
            ("PORT".to_string(), "6379".to_string()),
        ]);
        assert_eq!(expand("$(HOST):$(PORT)", &env), "redis:6379");
        assert_eq!(expand("$$(HOST)", &env), "$(HOST)");
        assert_eq!(expand("$(MISSING)-x", &env), "$(MISSING)-x");
        assert_eq!(expand("cost $5 $(", &env), "cost $5 $(");
    }
}
