//! The one writer of the serving certificate Secret and of the APIService's `caBundle` (when
//! the operator manages the certificate): each tick reads both, asks
//! [`crate::serving_cert::decide`] and writes what it says while this replica leads.
//!
//! One exception, bootstrap: a replica that does not lead may *create* a missing Secret (the
//! create is atomic: one replica wins, the others get 409 and use the winner's) and fill an
//! APIService that has no `caBundle` at all from that one Secret (the same value whoever
//! writes it). So the metrics API becomes Available while no replica leads, as during a
//! hand-over from KEDA (`docs/migrating-from-keda.md`), and every renewal and every change
//! of an existing `caBundle` stays with the leader.

use super::{Error, Writer};
use crate::serving_cert::{self, Action, ManagedCert, ServingCertConfig};
use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use std::collections::BTreeMap;
use std::time::Duration;

fn api_services(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("apiregistration.k8s.io", "v1", "APIService");
    Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "apiservices"),
    )
}

fn pem_data(s: &Secret) -> BTreeMap<String, String> {
    s.data
        .iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
        .collect()
}

/// What one tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Why the Secret was written (None: it was fine).
    pub secret_written: Option<String>,
    pub bundle_written: bool,
}

impl Writer {
    /// Brings the Secret and the APIService's `caBundle` in step at `now` (unix seconds).
    pub async fn serving_cert_tick(
        &self,
        cfg: &ServingCertConfig,
        m: &ManagedCert,
        now: i64,
    ) -> Result<Tick, Error> {
        let leads = self.leads();
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &cfg.namespace);
        let current = secrets.get_opt(&cfg.secret).await.map_err(Error::Kube)?;
        let apis = api_services(&self.client);
        let api_service = apis.get_opt(&m.api_service).await.map_err(Error::Kube)?;
        let bundle = |data: &BTreeMap<String, String>| {
            base64::engine::general_purpose::STANDARD
                .encode(data.get(serving_cert::CA_CRT).map_or("", String::as_str))
        };
        let published = api_service
            .as_ref()
            .and_then(|a| a.data["spec"]["caBundle"].as_str().map(String::from));
        let old = current.as_ref().map(pem_data).unwrap_or_default();
        let names = serving_cert::service_names(&m.service, &cfg.namespace);
        let material = current.as_ref().map(|_| serving_cert::inspect(&old));
        let mut action = serving_cert::decide(
            material.as_ref(),
            published.as_deref() == Some(bundle(&old).as_str()),
            &names,
            now,
        );
        if !leads && current.is_some() {
            action = Action::Keep;
        }
        let mut tick = Tick {
            secret_written: None,
            bundle_written: false,
        };
        let data = if action == Action::Keep {
            old
        } else {
            let data = serving_cert::apply(&action, &old, &names, &m.policy, now)
                .map_err(|e| Error::Kube(kube::Error::Service(e.into())))?;
            match self.put_secret(&secrets, cfg, current, &data).await {
                // another replica created it first: use theirs at the next tick
                Err(Error::Kube(kube::Error::Api(s))) if s.code == 409 && !leads => {
                    return Ok(tick);
                }
                res => res?,
            }
            tick.secret_written = Some(match &action {
                Action::Fresh(why) | Action::NewCa(why) | Action::NewCert(why) => why.clone(),
                Action::Keep => String::new(),
            });
            data
        };
        let missing = published.as_deref().is_none_or(str::is_empty);
        if api_service.is_some()
            && published.as_deref() != Some(bundle(&data).as_str())
            && (missing || self.leads())
        {
            let patch = serde_json::json!({"spec": {"caBundle": bundle(&data)}});
            apis.patch(
                &m.api_service,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(Error::Kube)?;
            tick.bundle_written = true;
        }
        if let Some(name) = &m.webhook_configuration {
            tick.bundle_written |= self.webhook_bundle(name, &bundle(&data)).await?;
        }
        Ok(tick)
    }

    /// Puts `ca` into every webhook of the ValidatingWebhookConfiguration `name` that lacks
    /// it: a missing `caBundle` by any replica (the same value whoever writes it), a different
    /// one only by the leader. Whether it wrote.
    async fn webhook_bundle(&self, name: &str, ca: &str) -> Result<bool, Error> {
        let gvk = GroupVersionKind::gvk(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
        );
        let api: Api<DynamicObject> = Api::all_with(
            self.client.clone(),
            &ApiResource::from_gvk_with_plural(&gvk, "validatingwebhookconfigurations"),
        );
        let Some(mut vwc) = api.get_opt(name).await.map_err(Error::Kube)? else {
            return Ok(false);
        };
        let mut changed = false;
        for w in vwc.data["webhooks"].as_array_mut().into_iter().flatten() {
            let have = w["clientConfig"]["caBundle"].as_str().unwrap_or("");
            if have != ca && (have.is_empty() || self.leads()) {
                w["clientConfig"]["caBundle"] = serde_json::Value::String(ca.to_string());
                changed = true;
            }
        }
        if changed {
            // a replace carries the resourceVersion read: a concurrent change gets 409 and the
            // next tick reads again
            api.replace(name, &PostParams::default(), &vwc)
                .await
                .map_err(Error::Kube)?;
            tracing::info!(configuration = %name, "ValidatingWebhookConfiguration caBundle updated");
        }
        Ok(changed)
    }

    async fn put_secret(
        &self,
        secrets: &Api<Secret>,
        cfg: &ServingCertConfig,
        current: Option<Secret>,
        data: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let mut s = current.unwrap_or_else(|| Secret {
            type_: Some("kubernetes.io/tls".into()),
            ..Default::default()
        });
        s.metadata.name = Some(cfg.secret.clone());
        s.metadata.namespace = Some(cfg.namespace.clone());
        s.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(
                "app.kubernetes.io/managed-by".into(),
                self.field_manager.clone(),
            );
        s.data = Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                .collect(),
        );
        if s.metadata.resource_version.is_some() {
            self.check()?;
        }
        let pp = PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..Default::default()
        };
        // a replace carries the resourceVersion read: a concurrent change is a 409, retried
        // at the next tick from what is there then
        let res = if s.metadata.resource_version.is_some() {
            secrets.replace(&cfg.secret, &pp, &s).await
        } else {
            secrets.create(&pp, &s).await
        };
        res.map(|_| ()).map_err(Error::Kube)
    }
}

/// Ticks every `every` until the task is dropped (followers only bootstrap, see above).
pub async fn run(writer: Writer, cfg: ServingCertConfig, m: ManagedCert, every: Duration) {
    loop {
        {
            let now = chrono::Utc::now().timestamp();
            match writer.serving_cert_tick(&cfg, &m, now).await {
                Ok(Tick {
                    secret_written: Some(why),
                    bundle_written,
                }) => tracing::info!(
                    secret = %cfg.secret, reason = %why, ca_bundle_updated = bundle_written,
                    "serving certificate renewed"
                ),
                Ok(Tick {
                    bundle_written: true,
                    ..
                }) => {
                    tracing::info!(api_service = %m.api_service, "APIService caBundle updated")
                }
                Ok(_) | Err(Error::NotLeader) => {}
                Err(e) => {
                    tracing::warn!(error = %e.text(), secret = %cfg.secret, "serving certificate not renewed; retrying")
                }
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// How often the leader looks: a tenth of the serving certificate's lifetime, 1 s to 1 min.
pub fn check_interval(m: &ManagedCert) -> Duration {
    (m.policy.cert_validity / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}
