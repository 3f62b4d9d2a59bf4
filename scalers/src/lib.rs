//! Where Prescale's numbers come from.
//!
//! This crate knows nothing about Kubernetes. A trigger of a `ScaledObject` arrives as a
//! [`TriggerInput`] (its `type`, string metadata, resolved authentication parameters and the
//! scale target's resolved container environment). [`registry::parse`] turns it into a
//! [`TriggerDefinition`] (typed, validated configuration that already knows its HPA metric
//! spec, without touching the network), and [`TriggerDefinition::connect`] turns that into a
//! live [`Scaler`] that reads values from the backend through the shared [`Context`].

pub mod clock;
pub mod coalesce;
pub mod cron;
pub mod error;
pub mod forecast;
pub mod fuzzing;
pub mod http_auth;
pub mod input;
pub mod known_keys;
pub mod metric;
pub mod metrics_api;
pub mod mysql;
pub mod mysql_calendar;
pub mod params;
pub mod pools;
pub mod prescale;
pub mod prometheus;
pub mod prometheus_forecast;
pub mod redis;
pub mod registry;
pub mod replay;
pub mod resource;
pub mod schedule;
pub mod tls_key;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use input::TriggerInput;
pub use metric::{MetricSpec, MetricTarget, MetricType, Sample};
pub use pools::Pools;

/// What a scaler needs from the process: shared pools, the clock, default timeouts.
#[derive(Clone)]
pub struct Context {
    pub pools: std::sync::Arc<Pools>,
    pub clock: std::sync::Arc<dyn Clock>,
    /// Timeout of a backend call when the trigger sets none (KEDA's `KEDA_HTTP_DEFAULT_TIMEOUT`,
    /// 3 s).
    pub default_timeout: std::time::Duration,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            pools: std::sync::Arc::new(Pools::new()),
            clock: std::sync::Arc::new(SystemClock),
            default_timeout: std::time::Duration::from_secs(3),
        }
    }
}

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// The validated, offline form of one trigger: everything `prescale validate` and the HPA
/// builder need, and the recipe for connecting to the backend.
#[async_trait]
pub trait TriggerDefinition: Send + Sync {
    /// The trigger `type` as written in the manifest (`redis`, `prometheus`, ...).
    fn trigger_type(&self) -> &str;

    /// The metric this trigger contributes to the HPA.
    fn metric_spec(&self) -> MetricSpec;

    /// Opens (or reuses, through `ctx.pools`) the backend connection and checks that it
    /// answers, as KEDA does when it builds a scaler.
    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>>;

    /// Whether the live scaler would call the raw `value` active (`value > activation
    /// threshold`, with each source's own parameter), so a replay of recorded values gets the
    /// activity the live scaler would give.
    fn is_active(&self, value: f64) -> bool;

    /// For replays: this trigger's own record of `[from, to]` every `step`, read from its
    /// backend (`prometheus`: a range query; `mysql-calendar`: its query with `:from`/`:to`
    /// bound to the range); `None` for sources that keep no history.
    async fn history(
        &self,
        _ctx: &Context,
        _from: chrono::DateTime<chrono::Utc>,
        _to: chrono::DateTime<chrono::Utc>,
        _step: Duration,
    ) -> Option<Result<replay::History>> {
        None
    }

    /// For replays of calendar sources: a scaler that answers from recorded `events` instead
    /// of its backend (reading time from `ctx.clock`); `None` for sources without events.
    fn replay(&self, _events: Vec<replay::Event>, _ctx: &Context) -> Option<Arc<dyn Scaler>> {
        None
    }
}

/// A live source of one metric.
#[async_trait]
pub trait Scaler: Send + Sync {
    /// The metric this scaler produces.
    fn metric_spec(&self) -> &MetricSpec;

    /// Reads the current raw value and decides activity (`value > activation threshold`,
    /// on the raw value). Every call is bounded by a timeout.
    async fn sample(&self) -> Result<Sample>;

    /// The identity of the upstream call this scaler makes, for the poller's phase: scalers
    /// with equal keys poll at the same instants, so their identical queries share one call
    /// ([`coalesce`]) or one pipeline (Redis). `None` (the default): no upstream call worth
    /// aligning, the object's own identity places its polls.
    fn poll_key(&self) -> Option<u64> {
        None
    }

    /// For pre-scaling sources ([`prescale`]): the rule's `leadTime`; `None` for ordinary
    /// sources, whose other pre-scaling methods are then never called.
    fn lead_time(&self) -> Option<prescale::LeadTime> {
        None
    }

    /// For pre-scaling sources: the bounds wanted at `at`, the lead already resolved.
    fn bounds_at(&self, _at: chrono::DateTime<chrono::Utc>, _lead: Duration) -> prescale::Bounds {
        prescale::Bounds::default()
    }

    /// For pre-scaling sources: every instant in `[from, to]` at which the bounds may change
    /// (a superset is fine: the operator keeps only real changes).
    fn change_times(
        &self,
        _from: chrono::DateTime<chrono::Utc>,
        _to: chrono::DateTime<chrono::Utc>,
        _lead: Duration,
    ) -> Vec<chrono::DateTime<chrono::Utc>> {
        Vec::new()
    }

    /// Releases what this scaler holds alone. Shared pools stay open for other users.
    async fn close(&self) {}
}
