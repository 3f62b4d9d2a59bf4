//! `prometheus-forecast` (Prescale's own trigger; KEDA manifests are unaffected): the
//! `prometheus` trigger's query, served as `max(actual, forecast(now + horizon))` so the HPA
//! scales out before a peak that repeats every day or week arrives. The forecast is learned
//! from the query's own history in Prometheus; no other service is involved.
//!
//! Every parameter of `prometheus` (spec §5.1) applies with the same meaning, defaults and
//! errors (`serverAddress`, `query`, `threshold`, `activationThreshold`, `namespace`,
//! `queryParameters`, `customHeaders`, `ignoreNullValues`, `unsafeSsl`, `timeout`, `authModes`
//! and the auth parameters), plus:
//!
//! | parameter | | |
//! |---|---|---|
//! | `history` | default `7d` | how much history the model learns from; at least `1d` |
//! | `step` | default `1m` | resolution of the history; `10s` to `1h`, whole seconds |
//! | `horizon` | default `15m` | the forecast is for `now + horizon`; `0s` to `12h` |
//! | `quantile` | default `0.9` | quantile of the seasonal profiles, in `(0, 1]` |
//! | `seasonality` | default `daily,weekly` | `daily`, `weekly` or both; `weekly` alone needs `history` ≥ `7d` |
//! | `refreshInterval` | default = `step` | how often new history points are fetched; at least `step` |
//!
//! Durations are Go durations (`90m`, `1h30m`, `10s`) optionally led by whole days, which Go
//! durations lack: `7d`, `1d12h`. `history / step` may not exceed 50,000 points (the extra day
//! read for the weights, below, comes on top).
//!
//! The history is read with `/api/v1/query_range` on a grid of `step`: the first poll reads
//! `[now − history − 1d − window, now]` (the extra day weighs the profiles against each other,
//! see [`crate::forecast`]; the window is `max(2·step, 150s)`) in requests of at most 10,000
//! points (Prometheus refuses more than 11,000 per query); later polls, once `refreshInterval`
//! has passed, read only the points after the last one held, and older points are dropped.
//! A range answer larger than 32 MiB ([`crate::prometheus::MAX_RANGE_BODY`]) is refused
//! without reading the rest; the instant query's cap is 10 MiB.
//! Each scaler holds its own history (8 bytes a point). The model is [`crate::forecast`]:
//! seasonal quantile profiles weighed by their recent loss, times a trend ratio.
//!
//! The metric `s<i>-prometheus-forecast` has the `prometheus` target (`threshold`, AverageValue
//! unless `metricType: Value`); `active` ⇔ served value > `activationThreshold`. When the
//! instant query fails, the poll fails (the ScaledObject's fallback rules apply). When the
//! history cannot be read, the history already held keeps forecasting (the actual value alone
//! is served while none is held, or while it does not reach back a day yet), a log line
//! without credentials says so, and the read is retried after `refreshInterval`.

pub mod fetch;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::forecast::{self, Forecast, Model, Seasonality, Series};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, Sample, external_metric_name};
use crate::params::{META, Need, Params, parse_go_duration};
use crate::prometheus::PrometheusDefinition;
use crate::prometheus::config::PrometheusMetadata;
use crate::{Clock, Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Most points a trigger's history may hold.
pub const MAX_POINTS: u64 = 50_000;
/// Most points asked for in one range query.
pub const CHUNK_POINTS: i64 = 10_000;

/// The forecast settings of a `prometheus-forecast` trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSettings {
    pub history: Duration,
    pub step: Duration,
    pub horizon: Duration,
    pub quantile: f64,
    pub seasonality: Seasonality,
    pub refresh_interval: Duration,
}

impl ForecastSettings {
    /// The model these settings describe.
    pub fn model(&self) -> Model {
        Model::new(
            self.quantile,
            self.seasonality,
            self.step.as_secs() as i64,
            self.history.as_secs() as i64,
        )
    }
}

/// A validated `prometheus-forecast` trigger.
#[derive(Debug, Clone)]
pub struct PrometheusForecastDefinition {
    pub meta: PrometheusMetadata,
    pub settings: ForecastSettings,
    prometheus: PrometheusDefinition,
    spec: MetricSpec,
}

/// Parses a `prometheus-forecast` trigger.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(PrometheusForecastDefinition::parse(input)?))
}

/// A Go duration optionally led by whole days (`7d`, `1d12h`, `36h`).
pub fn parse_span(raw: &str) -> std::result::Result<Duration, String> {
    match raw.split_once('d') {
        Some((days, rest)) => {
            let days: u64 = days.parse().map_err(|_| {
                format!("invalid duration {raw:?}: expected whole days before \"d\"")
            })?;
            let rest = if rest.is_empty() {
                Duration::ZERO
            } else {
                parse_go_duration(rest)?
            };
            Ok(Duration::from_secs(days * 86_400) + rest)
        }
        None => parse_go_duration(raw),
    }
}

fn span(p: &mut Params<'_>, name: &str, default: &str) -> Option<Duration> {
    let raw = p.string(&[name], META, Need::Default(default));
    match parse_span(&raw) {
        Ok(d) => Some(d),
        Err(e) => {
            p.error(format!("{name} {raw:?}: {e}"));
            None
        }
    }
}

fn settings(p: &mut Params<'_>) -> ForecastSettings {
    let history = span(p, "history", "7d");
    let step = span(p, "step", "1m");
    let horizon = span(p, "horizon", "15m");
    // absent: the step (whose own error, if any, is reported once)
    let refresh = match p.lookup(&["refreshInterval"], META) {
        Some(_) => span(p, "refreshInterval", ""),
        None => step,
    };
    let quantile = p.get::<f64>(&["quantile"], META, Need::Default("0.9"));
    let kinds = p.enum_list(
        &["seasonality"],
        META,
        Need::Default("daily,weekly"),
        &["daily", "weekly"],
    );
    let seasonality = Seasonality {
        daily: kinds.iter().any(|k| k == "daily"),
        weekly: kinds.iter().any(|k| k == "weekly"),
    };

    let day = Duration::from_secs(86_400);
    if let Some(h) = history
        && h < day
    {
        p.error(format!("history must be at least 1d, got {h:?}"));
    }
    if let Some(s) = step {
        if s < Duration::from_secs(10) || s > Duration::from_secs(3600) {
            p.error(format!("step must be between 10s and 1h, got {s:?}"));
        } else if s.subsec_nanos() != 0 {
            p.error(format!("step must be whole seconds, got {s:?}"));
        }
    }
    if let (Some(h), Some(s)) = (history, step)
        && !s.is_zero()
        && h.as_secs() / s.as_secs().max(1) > MAX_POINTS
    {
        p.error(format!(
            "history / step must not exceed {MAX_POINTS} points, got {} ({h:?} / {s:?}): raise step or shorten history",
            h.as_secs() / s.as_secs().max(1)
        ));
    }
    if let Some(h) = horizon
        && h > Duration::from_secs(12 * 3600)
    {
        p.error(format!("horizon must be at most 12h, got {h:?}"));
    }
    if let Some(q) = quantile
        && !(q > 0.0 && q <= 1.0)
    {
        p.error(format!("quantile must be in (0, 1], got {q}"));
    }
    if let (Some(r), Some(s)) = (refresh, step)
        && r < s
    {
        p.error(format!(
            "refreshInterval must be at least step ({s:?}), got {r:?}"
        ));
    }
    if seasonality.weekly && !seasonality.daily && history.is_some_and(|h| h < 7 * day) {
        p.error("seasonality \"weekly\" alone needs a history of at least 7d");
    }
    let step = step.unwrap_or(Duration::from_secs(60));
    ForecastSettings {
        history: history.unwrap_or(7 * day),
        step,
        horizon: horizon.unwrap_or(Duration::from_secs(900)),
        quantile: quantile.unwrap_or(0.9),
        seasonality,
        refresh_interval: refresh.unwrap_or(step),
    }
}

impl PrometheusForecastDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut errors = Vec::new();
        let prometheus = match PrometheusDefinition::parse(input) {
            Ok(d) => Some(d),
            Err(Error::Parse { message, .. }) => {
                errors.push(message);
                None
            }
            Err(e) => return Err(e),
        };
        let mut p = Params::new(input);
        let settings = settings(&mut p);
        if let Err(Error::Parse { message, .. }) = p.finish("prometheus-forecast") {
            errors.push(message);
        }
        match prometheus {
            Some(prometheus) if errors.is_empty() => {
                let meta = prometheus.meta.clone();
                let spec = MetricSpec::External {
                    name: external_metric_name(input.index, "prometheus-forecast"),
                    target: MetricTarget::from_float(meta.metric_type, meta.threshold),
                };
                Ok(Self {
                    meta,
                    settings,
                    prometheus,
                    spec,
                })
            }
            _ => Err(Error::Parse {
                scaler: "prometheus-forecast",
                message: errors.join("\n"),
            }),
        }
    }

    /// Like [`TriggerDefinition::connect`], with the concrete type (for [`PrometheusForecastScaler::stats`]).
    pub async fn connect_forecast(&self, ctx: &Context) -> Result<Arc<PrometheusForecastScaler>> {
        let instant = self.prometheus.connect(ctx).await?;
        let http = fetch::shared_client(ctx, &self.meta).await?;
        let name = self.spec.external_name().unwrap_or_default().to_string();
        Ok(Arc::new(PrometheusForecastScaler {
            spec: self.spec.clone(),
            name,
            meta: self.meta.clone(),
            settings: self.settings.clone(),
            model: self.settings.model(),
            instant,
            http,
            clock: ctx.clock.clone(),
            timeout: self.meta.timeout.unwrap_or(ctx.default_timeout),
            state: tokio::sync::Mutex::new(State::new(self.settings.step.as_secs() as i64)),
            stats: std::sync::Mutex::new(ForecastStats::default()),
        }))
    }
}

#[async_trait]
impl TriggerDefinition for PrometheusForecastDefinition {
    fn trigger_type(&self) -> &str {
        "prometheus-forecast"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    /// Builds (or reuses) the HTTP client shared with `prometheus` triggers of the same TLS
    /// configuration. As for `prometheus`, nothing is sent before the first poll.
    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        Ok(self.connect_forecast(ctx).await?)
    }

    /// Activity of the served value (max of actual and forecast).
    fn is_active(&self, value: f64) -> bool {
        value > self.meta.activation_threshold
    }

    /// The actual values of the query over the range (a range query, as for `prometheus`).
    async fn history(
        &self,
        ctx: &Context,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        step: Duration,
    ) -> Option<Result<crate::replay::History>> {
        Some(crate::prometheus::range_history(ctx, &self.meta, from, to, step).await)
    }
}

/// What a live trigger has done so far (for tests, benches and debugging).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForecastStats {
    /// Range queries sent (one per chunk), and how many of them failed.
    pub range_requests: u64,
    pub failed_range_requests: u64,
    /// `(timestamp, value)` pairs received from range queries.
    pub points_fetched: u64,
    /// Grid slots held now (missing samples included).
    pub points_held: usize,
    /// The last instant value, forecast and served value.
    pub last_actual: Option<f64>,
    pub last_forecast: Option<Forecast>,
    pub last_served: Option<f64>,
    /// The last history error (secret-free), cleared by the next successful refresh.
    pub history_error: Option<String>,
}

struct State {
    series: Series,
    /// Grid time up to which the history has been read.
    fetched_until: Option<i64>,
    last_attempt: Option<i64>,
}

impl State {
    fn new(step: i64) -> Self {
        Self {
            series: Series::new(step),
            fetched_until: None,
            last_attempt: None,
        }
    }
}

/// A live `prometheus-forecast` trigger.
pub struct PrometheusForecastScaler {
    spec: MetricSpec,
    name: String,
    meta: PrometheusMetadata,
    settings: ForecastSettings,
    model: Model,
    /// The `prometheus` trigger's own scaler: the actual value, with its rules and errors.
    instant: Arc<dyn Scaler>,
    http: Arc<reqwest::Client>,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    state: tokio::sync::Mutex<State>,
    stats: std::sync::Mutex<ForecastStats>,
}

impl PrometheusForecastScaler {
    pub fn stats(&self) -> ForecastStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn with_stats<T>(&self, f: impl FnOnce(&mut ForecastStats) -> T) -> T {
        f(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the history points not held yet (when due), then forecasts `now + horizon`.
    async fn refresh_and_forecast(&self, now: i64) -> (Result<()>, Option<Forecast>) {
        let mut st = self.state.lock().await;
        let step = self.settings.step.as_secs() as i64;
        let history = self.model.lookback();
        let end = now.div_euclid(step) * step;
        let due = st
            .last_attempt
            .is_none_or(|t| now - t >= self.settings.refresh_interval.as_secs() as i64);
        let mut result = Ok(());
        if due {
            st.last_attempt = Some(now);
            // on the grid of `step`, like every point read
            let oldest = end - (history + step - 1).div_euclid(step) * step;
            let mut start = st.fetched_until.map_or(oldest, |t| (t + step).max(oldest));
            while start <= end {
                let chunk_end = end.min(start + (CHUNK_POINTS - 1) * step);
                let got =
                    fetch::range(&self.http, &self.meta, self.timeout, start, chunk_end, step)
                        .await;
                self.with_stats(|s| s.range_requests += 1);
                match got {
                    Ok(points) => {
                        self.with_stats(|s| s.points_fetched += points.len() as u64);
                        for (t, v) in points {
                            st.series.insert(t, v);
                        }
                        st.fetched_until = Some(chunk_end);
                        start = chunk_end + step;
                    }
                    Err(e) => {
                        self.with_stats(|s| s.failed_range_requests += 1);
                        result = Err(e);
                        break;
                    }
                }
            }
            st.series.trim_before(oldest);
        }
        let horizon = self.settings.horizon.as_secs() as i64;
        let f = forecast::forecast(&st.series, now, now + horizon, &self.model)
            .filter(|f| f.value.is_finite());
        let held = st.series.len();
        self.with_stats(|s| s.points_held = held);
        (result, f)
    }
}

#[async_trait]
impl Scaler for PrometheusForecastScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    async fn sample(&self) -> Result<Sample> {
        let now = self.clock.now().timestamp();
        let (actual, (history, forecast)) =
            tokio::join!(self.instant.sample(), self.refresh_and_forecast(now));
        match &history {
            Ok(()) => {
                if self.with_stats(|s| s.history_error.take()).is_some() {
                    tracing::info!(metric = %self.name, "prometheus-forecast: history readable again");
                }
            }
            Err(e) => {
                let msg = e.to_string();
                let changed = self.with_stats(|s| {
                    let changed = s.history_error.as_deref() != Some(msg.as_str());
                    s.history_error = Some(msg.clone());
                    changed
                });
                if changed {
                    tracing::warn!(metric = %self.name, error = %msg, "prometheus-forecast: the history could not be read; serving the actual value until it can");
                } else {
                    tracing::debug!(metric = %self.name, error = %msg, "prometheus-forecast: history still unreadable");
                }
            }
        }
        let actual = actual?.value;
        let served = match forecast {
            Some(f) => actual.max(f.value),
            None => {
                if history.is_ok() {
                    tracing::debug!(metric = %self.name, "prometheus-forecast: no history for a forecast yet; serving the actual value");
                }
                actual
            }
        };
        self.with_stats(|s| {
            s.last_actual = Some(actual);
            s.last_forecast = forecast;
            s.last_served = Some(served);
        });
        Ok(Sample {
            value: served,
            active: served > self.meta.activation_threshold,
        })
    }
}
