//! What feeds each trigger in a simulation.
//!
//! - `cron` and `schedule` need no backend: their real scalers run under the simulation's
//!   manual clock.
//! - Every other trigger needs a recorded series, given as `--series NAME=FILE`, where NAME is
//!   the trigger's `name`, `triggers[i]` (its 0-based position) or its `type` when no other
//!   trigger of the ScaledObject has that type, each optionally led by `SCALEDOBJECT/` (the
//!   ScaledObject's name) to pick one object; a NAME without it applies to every ScaledObject
//!   with such a trigger. Values feed a [`SeriesScaler`] (network triggers) or the HPA's
//!   Resource metric (`cpu`/`memory`: the workload's total usage in cores or bytes); events
//!   (`starts_at,ends_at,load`) feed a `mysql-calendar` trigger's own scaler in replay mode.
//! - With `--live-history`, a trigger without a series reads its own history instead:
//!   `prometheus` (and `prometheus-forecast`) a range query against its own `serverAddress`
//!   over the range, in chunks of at most 10,000 points; `mysql-calendar` its own query with
//!   `:from`/`:to` bound to the range (plus a day, for events starting just after it).

use super::feed::{FeedNote, SeriesScaler};
use super::objects::ResourceFeed;
use super::series::{Recorded, Series};
use crate::api::{ScaledJob, ScaledObject};
use crate::controller::plan::Definition;
use crate::trigger::LiveTrigger;
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use prescale_scalers::replay::History;
use prescale_scalers::{Context, Scaler};
use std::sync::Arc;
use std::time::Duration;

/// Most points one range query asks for (as `prometheus-forecast` reads its history).
const CHUNK_POINTS: i64 = prescale_scalers::prometheus_forecast::CHUNK_POINTS;

/// One `--series NAME=FILE`.
pub struct SeriesArg {
    pub key: String,
    pub recorded: Recorded,
    pub used: bool,
}

/// Pulling history live: the range, the step and the progress shown.
pub struct Live {
    pub bar: indicatif::ProgressBar,
}

/// Hands each trigger its input.
pub struct Binder<'a> {
    pub series: Vec<SeriesArg>,
    pub live: Option<&'a Live>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The poll step, for live range queries.
    pub step: Option<Duration>,
}

/// A trigger with its input, where the input came from, and the assumptions made for it.
pub struct Fed {
    pub trigger: LiveTrigger,
    /// For `cpu`/`memory`: the usage series the HPA model reads.
    pub resource: Option<ResourceFeed>,
    pub note: FeedNote,
    pub assumptions: Vec<String>,
}

/// The object whose triggers are fed (a ScaledObject or a ScaledJob): what `--series` NAMEs
/// and live range queries need of it.
#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    /// `spec.triggers[*].type`, in order.
    pub trigger_types: Vec<String>,
    pub polling_interval: i32,
}

impl Owner {
    pub fn scaled_object(so: &ScaledObject) -> Self {
        Self {
            name: so.metadata.name.clone().unwrap_or_default(),
            trigger_types: so.spec.triggers.iter().map(|t| t.type_.clone()).collect(),
            polling_interval: so.spec.polling_interval(),
        }
    }

    pub fn scaled_job(sj: &ScaledJob) -> Self {
        Self {
            name: sj.metadata.name.clone().unwrap_or_default(),
            trigger_types: sj.spec.triggers.iter().map(|t| t.type_.clone()).collect(),
            polling_interval: sj.spec.polling_interval(),
        }
    }
}

/// The names a `--series` NAME may use for trigger `d` of `owner`.
fn names_for(owner: &Owner, d: &Definition) -> Vec<String> {
    let mut short = vec![format!("triggers[{}]", d.index)];
    if !d.name.is_empty() {
        short.push(d.name.clone());
    }
    if owner
        .trigger_types
        .iter()
        .filter(|t| **t == d.trigger_type)
        .count()
        == 1
    {
        short.push(d.trigger_type.clone());
    }
    let long: Vec<String> = short
        .iter()
        .map(|n| format!("{}/{n}", owner.name))
        .collect();
    long.into_iter().chain(short).collect()
}

impl Binder<'_> {
    /// The recorded input for trigger `d`, the most specific NAME first.
    fn find(&mut self, owner: &Owner, d: &Definition) -> Option<&mut SeriesArg> {
        let names = names_for(owner, d);
        let best = names
            .iter()
            .find_map(|n| self.series.iter().position(|s| s.key == *n))?;
        let arg = &mut self.series[best];
        arg.used = true;
        Some(arg)
    }

    /// NAMEs that matched no trigger (likely typos).
    pub fn unused(&self) -> Vec<&str> {
        self.series
            .iter()
            .filter(|s| !s.used)
            .map(|s| s.key.as_str())
            .collect()
    }

    /// The trigger's own history over the range, read from its backend.
    async fn history(
        &self,
        d: &Definition,
        ctx: &Context,
        step: Duration,
    ) -> Option<Result<Recorded, String>> {
        let live = self.live?;
        live.bar.inc_length(self.live_steps(&d.trigger_type, step));
        let what = format!("{} history of trigger {}", d.trigger_type, d.index);
        if d.trigger_type == "mysql-calendar" {
            let to = self.to + chrono::Duration::days(1);
            let got = d.definition.history(ctx, self.from, to, step).await?;
            live.bar.inc(1);
            return Some(match got {
                Ok(History::Events(e)) => Ok(Recorded::Events(e)),
                Ok(History::Points(_)) => Err(format!("{what}: points where events were expected")),
                Err(e) => Err(format!("{what}: {e}")),
            });
        }
        let step_s = step.as_secs().max(1) as i64;
        let mut points = Vec::new();
        let mut start = self.from.timestamp();
        while start <= self.to.timestamp() {
            let end = self.to.timestamp().min(start + (CHUNK_POINTS - 1) * step_s);
            let (a, b) = (
                DateTime::from_timestamp(start, 0)?,
                DateTime::from_timestamp(end, 0)?,
            );
            match d.definition.history(ctx, a, b, step).await? {
                Ok(History::Points(p)) => {
                    points.extend(p.into_iter().map(|(t, v)| (t.timestamp_millis(), v)))
                }
                Ok(History::Events(_)) => {
                    return Some(Err(format!("{what}: events where values were expected")));
                }
                Err(e) => return Some(Err(format!("{what}: {e}"))),
            }
            live.bar.inc(1);
            start = end + step_s;
        }
        if points.is_empty() {
            return Some(Err(format!(
                "{what}: the range query returned no data for the range"
            )));
        }
        Some(Ok(Recorded::Values(Series {
            source: format!("{} range query", d.trigger_type),
            points,
        })))
    }

    /// How many progress steps live history needs for a trigger of `trigger_type`.
    pub fn live_steps(&self, trigger_type: &str, step: Duration) -> u64 {
        if trigger_type == "mysql-calendar" {
            return 1;
        }
        let points = (self.to - self.from).num_seconds() / step.as_secs().max(1) as i64 + 1;
        ((points + CHUNK_POINTS - 1) / CHUNK_POINTS).max(1) as u64
    }
}

/// Connects trigger `d` of `owner` to what feeds it in the simulation.
pub async fn feed(
    binder: &mut Binder<'_>,
    owner: &Owner,
    d: Definition,
    ctx: &Context,
    template: Option<&PodTemplateSpec>,
) -> Result<Fed, String> {
    let label = if d.name.is_empty() {
        format!("trigger {} ({})", d.index, d.trigger_type)
    } else {
        format!("trigger {} ({} {:?})", d.index, d.trigger_type, d.name)
    };
    let note = |source: String| FeedNote {
        trigger_index: d.index,
        trigger: if d.name.is_empty() {
            d.trigger_type.clone()
        } else {
            d.name.clone()
        },
        source,
    };
    if ["cron", "schedule"].contains(&d.trigger_type.as_str()) {
        let scaler = d
            .definition
            .connect(ctx)
            .await
            .map_err(|e| format!("{label}: {e}"))?;
        let note = note(format!(
            "its {} scaler under the simulated clock",
            d.trigger_type
        ));
        return Ok(fed(live(&d, scaler), note, None, Vec::new()));
    }
    let step = binder
        .step
        .unwrap_or(Duration::from_secs(owner.polling_interval.max(1) as u64));
    let recorded = match binder.find(owner, &d) {
        Some(arg) => Ok((arg.recorded.clone(), arg.key.clone())),
        None => match binder.history(&d, ctx, step).await {
            Some(r) => r.map(|r| (r, "live history".to_string())),
            None => Err(format!(
                "{label} has no series: give --series NAME=FILE with NAME one of {}{}",
                names_for(owner, &d).join(", "),
                if binder.live.is_some() {
                    ""
                } else {
                    ", or --live-history to read its own history"
                }
            )),
        },
    };
    let (recorded, key) = recorded.map_err(|e| format!("{label}: {e}"))?;
    match recorded {
        Recorded::Events(events) => {
            let source = format!("{} event(s) from {key}", events.len());
            let scaler = d
                .definition
                .replay(events, ctx)
                .ok_or_else(|| format!("{label}: {key} holds events (starts_at,ends_at,load); this trigger needs values (timestamp,value)"))?;
            Ok(fed(live(&d, scaler), note(source), None, Vec::new()))
        }
        Recorded::Values(series) => {
            if prescale_scalers::prescale::TRIGGER_TYPES.contains(&d.trigger_type.as_str()) {
                return Err(format!(
                    "{label}: {key} holds values; a calendar needs events (starts_at,ends_at,load)"
                ));
            }
            let gaps = series
                .gaps(binder.from, binder.to)
                .map_err(|e| format!("{label}: {e}"))?;
            let notes = gaps
                .iter()
                .map(|g| {
                    format!(
                        "{}: no data from {} to {}: held at {}",
                        series.source,
                        g.from.to_rfc3339(),
                        g.to.to_rfc3339(),
                        g.held
                    )
                })
                .collect();
            let n = note(format!("{key}: {}", series.source));
            let series = Arc::new(series);
            if matches!(d.trigger_type.as_str(), "cpu" | "memory") {
                let spec = d.definition.metric_spec();
                let request = request_of(template, &d.trigger_type, &spec);
                let scaler = d
                    .definition
                    .connect(ctx)
                    .await
                    .map_err(|e| format!("{label}: {e}"))?;
                let r = ResourceFeed {
                    trigger_index: d.index,
                    spec,
                    series,
                    request,
                };
                return Ok(fed(live(&d, scaler), n, Some(r), notes));
            }
            let scaler = Arc::new(SeriesScaler::new(d.definition, series, ctx.clock.clone()));
            let t = LiveTrigger {
                index: d.index,
                name: d.name,
                trigger_type: d.trigger_type,
                spec: scaler.metric_spec().clone(),
                scaler,
            };
            Ok(fed(t, n, None, notes))
        }
    }
}

fn fed(
    trigger: LiveTrigger,
    note: FeedNote,
    resource: Option<ResourceFeed>,
    assumptions: Vec<String>,
) -> Fed {
    Fed {
        trigger,
        resource,
        note,
        assumptions,
    }
}

fn live(d: &Definition, scaler: Arc<dyn prescale_scalers::Scaler>) -> LiveTrigger {
    LiveTrigger {
        index: d.index,
        name: d.name.clone(),
        trigger_type: d.trigger_type.clone(),
        spec: d.definition.metric_spec(),
        scaler,
    }
}

/// One pod's request of `resource` (cores or bytes): the named container's, else the sum of
/// all containers' (limits stand in for missing requests, as Kubernetes defaults them).
fn request_of(
    template: Option<&PodTemplateSpec>,
    resource: &str,
    spec: &prescale_scalers::MetricSpec,
) -> Option<f64> {
    let container = match spec {
        prescale_scalers::MetricSpec::Resource { container, .. } => container.clone(),
        _ => None,
    };
    let containers = template?.spec.as_ref()?.containers.iter();
    let mut total = None;
    for c in containers.filter(|c| container.as_ref().is_none_or(|n| *n == c.name)) {
        let r = c.resources.as_ref()?;
        let q = r
            .requests
            .as_ref()
            .and_then(|m| m.get(resource))
            .or_else(|| r.limits.as_ref().and_then(|m| m.get(resource)))?;
        let v = prescale_scalers::resource::quantity::parse_quantity(&q.0)
            .ok()?
            .value;
        *total.get_or_insert(0.0) += v;
    }
    total
}
