//! `prescale run`: the operator (and its admin server) against the cluster of the kubeconfig
//! or the in-cluster service account.

use crate::api_health::{ApiHealth, ApiMetrics};
use crate::context::OperatorConfig;
use crate::kube_client::ClientArgs;
use crate::leader::{Leadership, LeaseConfig};
use crate::metric_store::MetricStore;
use crate::operator::{self, Handles, MetricsApiOptions, OperatorOptions};
use crate::prescaling::startup::LeadSettings;
use crate::serving_cert::{ManagedCert, Policy, ServingCertConfig};
use crate::shutdown;
use crate::telemetry::admin::{self, Readiness};
use crate::telemetry::log::LogArgs;
use crate::telemetry::metrics::operator_registry;
use crate::webhook::FailurePolicy;
use prescale_metrics_adapter::tls::CertSource;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    client: ClientArgs,

    #[command(flatten)]
    log: LogArgs,

    /// Plain-HTTP admin server (/livez, /readyz, /metrics); port 0 picks a free one (logged).
    #[arg(long, env = "PRESCALE_ADMIN_ADDR", default_value = "0.0.0.0:8080")]
    admin_addr: SocketAddr,

    /// The operator's own namespace (the Lease lives here).
    #[arg(long, env = "POD_NAMESPACE", default_value = "prescale")]
    namespace: String,

    /// Where ClusterTriggerAuthentication Secrets and ConfigMaps are read (default: the
    /// operator's namespace), as KEDA's KEDA_CLUSTER_OBJECT_NAMESPACE.
    #[arg(long, env = "PRESCALE_CLUSTER_OBJECT_NAMESPACE")]
    cluster_object_namespace: Option<String>,

    /// Watch only this namespace (default: all).
    #[arg(long, env = "WATCH_NAMESPACE")]
    watch_namespace: Option<String>,

    /// This replica's identity for leader election and Events (default: the host name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(long, env = "PRESCALE_LEASE_NAME", default_value = "prescale-operator")]
    lease_name: String,

    /// Seconds a leader's claim lasts without renewal.
    #[arg(long, env = "PRESCALE_LEASE_DURATION_SECONDS", default_value_t = 15)]
    lease_duration_seconds: u64,

    #[command(flatten)]
    sharding: super::sharding::ShardingArgs,

    /// Run as the only writer without a Lease (single replica, local testing).
    #[arg(long, env = "PRESCALE_NO_LEADER_ELECTION")]
    no_leader_election: bool,

    /// `leadTime: auto` while a workload has no measured pod start-up (Go duration).
    #[arg(long, env = "PRESCALE_LEAD_TIME_DEFAULT", default_value = "2m", value_parser = parse_duration)]
    lead_time_default: Duration,

    /// Added to the measured p90 pod start-up for `leadTime: auto` (Go duration).
    #[arg(long, env = "PRESCALE_LEAD_TIME_MARGIN", default_value = "30s", value_parser = parse_duration)]
    lead_time_margin: Duration,

    /// How many of a workload's most recent pod starts the p90 is taken over.
    #[arg(long, env = "PRESCALE_LEAD_TIME_HISTORY", default_value_t = 20)]
    lead_time_history: usize,

    /// Parallel reconciles.
    #[arg(long, env = "PRESCALE_MAX_CONCURRENT_RECONCILES", default_value_t = 20)]
    max_concurrent_reconciles: u16,

    /// HTTPS address of the external metrics API (`external.metrics.k8s.io`); empty disables it.
    #[arg(
        long,
        env = "PRESCALE_METRICS_API_ADDR",
        default_value = "0.0.0.0:6443"
    )]
    metrics_api_addr: String,

    /// Serving certificate (PEM) of the metrics API; reloaded when it changes. Without it a
    /// self-signed certificate is made at start.
    #[arg(
        long,
        env = "PRESCALE_TLS_CERT_FILE",
        requires = "tls_private_key_file"
    )]
    tls_cert_file: Option<std::path::PathBuf>,

    /// Private key (PEM) of the serving certificate.
    #[arg(
        long,
        env = "PRESCALE_TLS_PRIVATE_KEY_FILE",
        requires = "tls_cert_file"
    )]
    tls_private_key_file: Option<std::path::PathBuf>,

    /// Serve the metrics API with the certificate in this Secret of the operator's namespace
    /// (`tls.crt`, `tls.key`), followed by a watch: every replica swaps to a renewed one.
    #[arg(long, env = "PRESCALE_SERVING_CERT_SECRET")]
    serving_cert_secret: Option<String>,

    /// The leader makes and renews that Secret (a CA and a serving certificate for the
    /// metrics API Service) and keeps the APIService's `caBundle` in step with it.
    #[arg(
        long,
        env = "PRESCALE_MANAGE_SERVING_CERT",
        requires = "serving_cert_secret"
    )]
    manage_serving_cert: bool,

    /// Lifetime of a serving certificate the operator makes (renewed at two thirds).
    #[arg(long, env = "PRESCALE_SERVING_CERT_VALIDITY", default_value = "2160h", value_parser = parse_duration)]
    serving_cert_validity: Duration,

    /// Lifetime of the CA the operator makes (renewed at two thirds, with an overlap).
    #[arg(long, env = "PRESCALE_SERVING_CA_VALIDITY", default_value = "87600h", value_parser = parse_duration)]
    serving_ca_validity: Duration,

    /// The metrics API's Service (the certificate names it).
    #[arg(
        long,
        env = "PRESCALE_METRICS_API_SERVICE",
        default_value = "prescale-metrics-apiserver"
    )]
    metrics_api_service: String,

    /// The APIService whose `caBundle` the operator keeps in step.
    #[arg(
        long,
        env = "PRESCALE_API_SERVICE",
        default_value = "v1beta1.external.metrics.k8s.io"
    )]
    api_service: String,

    /// HTTPS address of the validating admission webhook (KEDA's paths, e.g.
    /// `/validate-keda-sh-v1alpha1-scaledobject`), served with the metrics API's certificate;
    /// empty (the default) disables it. `prescale install` sets `0.0.0.0:9443`.
    #[arg(long, env = "PRESCALE_WEBHOOK_ADDR", default_value = "")]
    webhook_addr: String,

    /// What the webhook does when one of its cluster lookups fails: `Ignore` admits with a
    /// warning naming the check not made, `Fail` denies saying so. Keep it equal to the
    /// ValidatingWebhookConfiguration's `failurePolicy` (install sets both).
    #[arg(long, env = "PRESCALE_WEBHOOK_FAILURE_POLICY", value_enum, default_value_t = FailurePolicy::Ignore)]
    webhook_failure_policy: FailurePolicy,

    /// Skip SubjectAccessReview for metrics API callers (local testing only; logged loudly).
    #[arg(long, env = "PRESCALE_DISABLE_METRICS_API_AUTHORIZATION")]
    disable_metrics_api_authorization: bool,

    /// Serve no value older than this many seconds without re-evaluating it first
    /// (default: 2 × the ScaledObject's pollingInterval).
    #[arg(long, env = "PRESCALE_METRICS_MAX_AGE_SECONDS")]
    metrics_max_age_seconds: Option<u64>,

    /// Timeout of one backend call when a trigger sets none, in milliseconds
    /// (KEDA_HTTP_DEFAULT_TIMEOUT).
    #[arg(long, env = "PRESCALE_DEFAULT_TIMEOUT_MS", default_value_t = 3000)]
    default_timeout_ms: u64,

    /// After the first SIGTERM/SIGINT: how long in-flight reconciles and writes, the metrics
    /// API's open requests and the lease release may take before the process exits anyway
    /// (Go duration).
    #[arg(long, env = "PRESCALE_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    shutdown_grace: Duration,
}

impl RunArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        self.log.init()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let res = rt.block_on(self.run_async());
        // whatever the grace abandoned must not hold the exit
        rt.shutdown_timeout(Duration::from_secs(1));
        res?;
        Ok(ExitCode::SUCCESS)
    }

    async fn run_async(self) -> anyhow::Result<()> {
        // every listener first: a taken port is fatal before anything else starts
        let admin_listener = admin::bind(self.admin_addr).await?;
        let metrics_api_listener = self.bind_metrics_api().await?;
        let webhook_listener = self.bind_webhook().await?;
        let (mut registry, metrics) = operator_registry();
        let api_metrics = prescale_metrics_adapter::metrics::AdapterMetrics::register(
            registry.sub_registry_with_prefix("metrics_api"),
        );
        let readiness = Readiness::default();
        let health = ApiHealth::new(ApiMetrics::register(&mut registry));
        readiness.watch_api(health.clone());
        let client = self.client.client_reporting_to(health.clone()).await?;
        // Events get a client (and token bucket) of their own, as client-go's recorder does
        let events_client = self.client.client_reporting_to(health).await?;
        let (trigger, shutdown) = shutdown::channel();
        shutdown::on_signals(trigger, self.shutdown_grace);
        let handles = Handles {
            metric_store: Arc::new(MetricStore::new()),
            readiness: readiness.clone(),
            leadership: Leadership::always(),
        };
        let admin_busy = shutdown.busy("admin server");
        let admin_stop = shutdown.clone().wait();
        let admin = tokio::spawn(async move {
            let _busy = admin_busy;
            admin::serve(admin_listener, Arc::new(registry), readiness, admin_stop).await
        });
        let webhook = webhook_listener.map(|listener| {
            let busy = shutdown.busy("admission webhook");
            let stop = shutdown.clone().wait();
            let reviewer = crate::webhook::review::Reviewer {
                client: client.clone(),
                policy: self.webhook_failure_policy,
                cluster_object_namespace: self.cluster_object_namespace(),
            };
            let cert = self.metrics_api_cert();
            let secret = self
                .serving_cert_secret
                .clone()
                .map(|name| (self.namespace.clone(), name));
            tokio::spawn(async move {
                let _busy = busy;
                crate::webhook::server::serve(listener, cert, reviewer, secret, stop).await
            })
        });
        let mut opts =
            self.operator_options(metrics_api_listener.map(|listener| MetricsApiOptions {
                listener,
                cert: self.metrics_api_cert(),
                authorization: !self.disable_metrics_api_authorization,
                watch_front_proxy_config: true,
                max_age: self.metrics_max_age_seconds.map(Duration::from_secs),
                metrics: Some(api_metrics),
            }))?;
        opts.events_client = Some(events_client);
        let work = {
            let shutdown = shutdown.clone();
            async move {
                operator::run(client, opts, metrics, handles, shutdown).await?;
                admin.await??;
                if let Some(webhook) = webhook {
                    webhook.await??;
                }
                Ok(())
            }
        };
        if shutdown::within_grace(work, shutdown, self.shutdown_grace).await?
            == shutdown::Drain::Finished
        {
            tracing::info!("shutdown complete");
        }
        Ok(())
    }

    /// The metrics API's listener (None when disabled); a failure names the address.
    async fn bind_metrics_api(&self) -> anyhow::Result<Option<tokio::net::TcpListener>> {
        if self.metrics_api_addr.is_empty() {
            return Ok(None);
        }
        let addr: SocketAddr = self
            .metrics_api_addr
            .parse()
            .map_err(|e| anyhow::anyhow!("--metrics-api-addr {:?}: {e}", self.metrics_api_addr))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("metrics API: cannot listen on {addr}: {e}"))?;
        Ok(Some(listener))
    }

    /// The webhook's listener (None when disabled); a failure names the address.
    async fn bind_webhook(&self) -> anyhow::Result<Option<tokio::net::TcpListener>> {
        if self.webhook_addr.is_empty() {
            return Ok(None);
        }
        let addr: SocketAddr = self
            .webhook_addr
            .parse()
            .map_err(|e| anyhow::anyhow!("--webhook-addr {:?}: {e}", self.webhook_addr))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("admission webhook: cannot listen on {addr}: {e}"))?;
        Ok(Some(listener))
    }

    fn cluster_object_namespace(&self) -> String {
        self.cluster_object_namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone())
    }

    fn metrics_api_cert(&self) -> CertSource {
        match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => CertSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => CertSource::SelfSigned {
                names: vec![
                    format!("prescale-metrics-apiserver.{}.svc", self.namespace),
                    "localhost".into(),
                ],
            },
        }
    }

    fn serving_cert(&self) -> Option<ServingCertConfig> {
        Some(ServingCertConfig {
            namespace: self.namespace.clone(),
            secret: self.serving_cert_secret.clone()?,
            manage: self.manage_serving_cert.then(|| ManagedCert {
                service: self.metrics_api_service.clone(),
                api_service: self.api_service.clone(),
                webhook_configuration: (!self.webhook_addr.is_empty())
                    .then(|| crate::cli::install_webhook::CONFIGURATION.to_string()),
                policy: Policy {
                    cert_validity: self.serving_cert_validity,
                    ca_validity: self.serving_ca_validity,
                },
            }),
        })
    }

    fn operator_options(
        &self,
        metrics_api: Option<MetricsApiOptions>,
    ) -> anyhow::Result<OperatorOptions> {
        let identity = self
            .identity
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "prescale".into());
        let lease = (!self.no_leader_election).then(|| LeaseConfig {
            namespace: self.namespace.clone(),
            name: self.lease_name.clone(),
            identity: identity.clone(),
            lease_duration: Duration::from_secs(self.lease_duration_seconds.max(2)),
            renew_interval: Duration::from_secs((self.lease_duration_seconds / 3).max(1)),
        });
        Ok(OperatorOptions {
            metrics_api,
            config: OperatorConfig {
                cluster_object_namespace: self.cluster_object_namespace(),
                lead: LeadSettings {
                    default: self.lead_time_default,
                    margin: self.lead_time_margin,
                    history: self.lead_time_history.max(1),
                    ..LeadSettings::default()
                },
                serving_cert: self.serving_cert(),
                sharding: self
                    .sharding
                    .sharding(&self.namespace, &self.metrics_api_addr)?,
                ..OperatorConfig::default()
            },
            watch_namespace: self.watch_namespace.clone(),
            lease,
            max_concurrent_reconciles: self.max_concurrent_reconciles,
            default_timeout: Duration::from_millis(self.default_timeout_ms.max(1)),
            instance: Some(identity),
            events_client: None,
            clock: std::sync::Arc::new(prescale_scalers::SystemClock),
        })
    }
}

/// A Go duration (`2m`, `90s`) or milliseconds, as trigger metadata takes them.
pub(super) fn parse_duration(raw: &str) -> Result<Duration, String> {
    <Duration as prescale_scalers::params::FromParam>::from_param(raw)
}
