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
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            cluster_object_namespace: "prescale".into(),
            field_manager: "prescale-operator".into(),
            lead: Default::default(),
            serving_cert: None,
        }
    }
}

/// Shared by the controller and every poll loop.
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
    pub dependencies: Dependencies,
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
