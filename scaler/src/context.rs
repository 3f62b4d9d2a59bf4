//! What the controller shares: the client, the writer, caches, metrics, the MetricStore, the
//! election result and the running poll loops. Poll loops get the narrower
//! [`Env`](crate::poller::Env) made from it.

use crate::api::ScaledObject;
use crate::dependencies::Dependencies;
use crate::leader::Leadership;
use crate::metric_store::MetricStore;
use crate::poller::{Env, Pollers};
use crate::telemetry::metrics::OperatorMetrics;
use crate::write::Writer;
use kube::runtime::reflector::Store;
use std::sync::Arc;

/// Operator settings that are not per ScaledObject.
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// Where ClusterTriggerAuthentication Secrets and ConfigMaps are read.
    pub cluster_object_namespace: String,
    /// The server-side apply field manager for every write.
    pub field_manager: String,
    /// `leadTime: auto` settings.
    pub lead: crate::prescaling::startup::LeadSettings,
    /// The metrics API's certificate from a Secret (None: files or self-signed, as
    /// `MetricsApiOptions::cert` says).
    pub serving_cert: Option<crate::serving_cert::ServingCertConfig>,
    /// How sharding is set up (`--shards`; one shard is one leader Lease).
    pub sharding: Sharding,
}

/// `--shards N`: ScaledObjects spread over N shard Leases (see `crate::leader`).
#[derive(Debug, Clone)]
pub struct Sharding {
    /// How many shards (1: the single leader Lease, as without sharding).
    pub shards: u32,
    /// Where the other replicas reach this one's metrics API (`host:port`), written into the
    /// shard Leases it holds.
    pub advertise_address: Option<String>,
    /// The client certificate and key (PEM) metric requests for other replicas' shards are
    /// forwarded with; it must be one the metrics API trusts (its request-header client CA).
    pub forward_identity: Option<Pem>,
    /// The user forwarded requests are made as (the operator's service account).
    pub forward_user: String,
    /// How long a forwarded request may take.
    pub forward_timeout: std::time::Duration,
}

/// PEM text holding a private key: never shown by `Debug`.
#[derive(Clone)]
pub struct Pem(pub String);

impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pem(<redacted>)")
    }
}

impl From<String> for Pem {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl Default for Sharding {
    fn default() -> Self {
        Self {
            shards: 1,
            advertise_address: None,
            forward_identity: None,
            forward_user: "system:serviceaccount:prescale:prescale-operator".into(),
            forward_timeout: std::time::Duration::from_secs(3),
        }
    }
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            cluster_object_namespace: "prescale".into(),
            field_manager: "prescale-operator".into(),
            lead: Default::default(),
            serving_cert: None,
            sharding: Sharding::default(),
        }
    }
}

/// Shared by the controller and every poll loop (cheap to clone: every part is shared).
#[derive(Clone)]
pub struct Context {
    pub client: kube::Client,
    /// Every write goes through it (leader only).
    pub writer: Writer,
    pub metrics: OperatorMetrics,
    pub scalers: prescale_scalers::Context,
    pub metric_store: Arc<MetricStore>,
    pub leader: Leadership,
    pub pollers: Pollers,
    pub scaled_objects: Store<ScaledObject>,
    /// Which ScaledObjects claim which workload (from the ScaledObject watch).
    pub targets: crate::cache::target_index::TargetIndex,
    /// Cache of the HPAs (so an unchanged HPA is not written again).
    pub hpas: Store<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>,
    /// The informer caches (targets, HPAs, Secrets, ConfigMaps, TriggerAuthentications).
    pub caches: crate::cache::Caches,
    pub dependencies: Arc<Dependencies>,
    pub config: OperatorConfig,
    /// Measured pod start-ups per workload (`leadTime: auto`).
    pub startups: Arc<crate::prescaling::startup::PodStartups>,
    /// Failed reconciles per object, for the retry backoff.
    pub retries: crate::retry::Retries,
    /// The poll loops' environment, made once and shared by every loop (~0.6 KB each when
    /// every loop held its own copy: 6 MB at 10,000 objects).
    pub poll_env: std::sync::OnceLock<Arc<Env>>,
}

impl Context {
    /// The context of one ScaledObject's reconcile and poll loop: with `--shards`, its writes
    /// and Events are gated by the Lease of the object's shard. Its poll loop gets an
    /// environment of its own (the shared one writes through the unscoped writer).
    pub fn scoped(&self, namespace: &str, name: &str) -> Self {
        Self {
            writer: self.writer.scoped(namespace, name),
            leader: self.leader.scoped(namespace, name),
            poll_env: std::sync::OnceLock::new(),
            ..self.clone()
        }
    }

    /// Stops the object's poll loop and drops what it served (its stored values and exported
    /// series); returns whether a loop was running.
    pub fn stop_serving(&self, namespace: &str, name: &str) -> bool {
        let ran = self.pollers.stop(namespace, name);
        self.forget_served(namespace, name);
        ran
    }

    /// Drops the object's stored values and exported series (its loop is stopped already).
    pub fn forget_served(&self, namespace: &str, name: &str) {
        self.metric_store.remove_object(namespace, name);
        self.metrics.forget_scaled_object(namespace, name);
    }

    /// The environment of the poll loops.
    pub fn env(&self) -> Arc<Env> {
        self.poll_env
            .get_or_init(|| Arc::new(self.make_env()))
            .clone()
    }

    fn make_env(&self) -> Env {
        Env {
            writer: self.writer.clone(),
            leader: self.leader.clone(),
            metrics: self.metrics.clone(),
            metric_store: self.metric_store.clone(),
            scaled_objects: self.scaled_objects.clone(),
            hpas: self.hpas.clone(),
            clock: self.scalers.clock.clone(),
            startups: self.startups.clone(),
            lead: self.config.lead,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_forwarding_key_is_not_in_debug_output() {
        let s = super::Sharding {
            forward_identity: Some("-----BEGIN PRIVATE KEY-----\nsecret".to_string().into()),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("secret") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
