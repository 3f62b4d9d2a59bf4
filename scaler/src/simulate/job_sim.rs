//! ScaledJobs in `prescale simulate`: each poll samples the triggers from their inputs (as for
//! ScaledObjects: series, calendars, live history), then decides with the operator's own pure
//! ScaledJob code — `jobs::check` (spec and triggers), `jobs::strategy::decide` (KEDA's trigger
//! combination and `default`/`custom`/`accurate`/`eager` strategies), `jobs::plan` (the Job
//! created, running and pending counts, history pruning) — and the Jobs live in a
//! [`JobWorld`].
//!
//! The trigger's series is replayed as recorded: the simulated Jobs do not drain it (a recorded
//! queue length already shows what the real consumers took; as for ScaledObjects, whose
//! simulated replicas do not change the series either). A poll records the triggers' values,
//! the strategy's inputs (queue length = `scaleTo`, `maxScale`, running and pending Jobs as the
//! poll saw them) and the Jobs it created.

use super::engine::Settings;
use super::feed::FeedNote;
use super::inputs::{Binder, Owner, feed};
use super::job_world::JobWorld;
use crate::api::ScaledJob;
use crate::controller::plan::Definition;
use crate::jobs::strategy::{self, ScalerMetrics};
use crate::jobs::{check, plan, poll, reasons};
use crate::trigger::LiveTrigger;
use crate::validate::load::{Loaded, LocatedJob};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use prescale_scalers::{Context, ManualClock};
use serde::Serialize;
use std::time::Duration;

/// One ScaledJob ready to simulate.
pub struct SimJob {
    pub file: String,
    pub sj: ScaledJob,
    pub triggers: Vec<LiveTrigger>,
    pub feeds: Vec<FeedNote>,
    pub assumptions: Vec<String>,
    pub clock: ManualClock,
}

impl SimJob {
    pub fn name(&self) -> String {
        format!(
            "{}/{}",
            self.sj.metadata.namespace.as_deref().unwrap_or_default(),
            self.sj.metadata.name.as_deref().unwrap_or_default()
        )
    }

    /// The poll step: `--step`, else `pollingInterval`.
    pub fn step(&self, settings: &Settings) -> Duration {
        settings.step.unwrap_or(Duration::from_secs(
            self.sj.spec.polling_interval().max(1) as u64
        ))
    }
}

/// Checks a ScaledJob as the operator does and connects its triggers to their inputs.
pub async fn build(
    loaded: &Loaded,
    located: &LocatedJob,
    binder: &mut Binder<'_>,
    ctx: &Context,
    clock: ManualClock,
    cluster_ns: &str,
) -> Result<SimJob, String> {
    let sj = located.object.clone();
    let label = format!(
        "{}: ScaledJob {}/{}",
        located.file,
        sj.metadata.namespace.as_deref().unwrap_or_default(),
        sj.metadata.name.as_deref().unwrap_or_default()
    );
    let fail = |e: String| format!("{label}: {e}");
    let checked = check::check(&loaded.source, &sj, cluster_ns)
        .await
        .map_err(fail)?;
    let owner = Owner::scaled_job(&sj);
    let template = sj.spec.job_target_ref.template.clone();
    let mut out = SimJob {
        file: located.file.clone(),
        sj,
        triggers: Vec::new(),
        feeds: Vec::new(),
        assumptions: Vec::new(),
        clock,
    };
    for (definition, id) in checked.definitions.into_iter().zip(checked.triggers) {
        if definition.metric_spec().external_name().is_none() {
            // KEDA's ScaledJob loop reads no queue length from cpu/memory
            out.assumptions.push(format!(
                "trigger {} ({}) is left out: a ScaledJob reads only external metrics",
                id.index, id.trigger_type
            ));
            continue;
        }
        let d = Definition {
            index: id.index,
            name: id.name,
            trigger_type: id.trigger_type,
            definition,
        };
        let fed = feed(binder, &owner, d, ctx, Some(&template))
            .await
            .map_err(fail)?;
        out.feeds.push(fed.note);
        out.assumptions.extend(fed.assumptions);
        out.triggers.push(fed.trigger);
    }
    Ok(out)
}

/// One poll of a simulated ScaledJob (the JSON `timeline` entries).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    pub time: DateTime<Utc>,
    /// Each external trigger's value (in trigger order; `None` = no value).
    pub values: Vec<Option<f64>>,
    pub active: bool,
    /// The combined queue length (KEDA's `scaleTo` before the strategy).
    pub queue_length: i64,
    /// The combined `maxScale` (queue length / target, capped at `MaxReplicaCount()`).
    pub max_scale: i64,
    /// Unfinished Jobs when the poll decided.
    pub running: i64,
    /// Of those, the pending ones.
    pub pending: i64,
    /// Jobs created by this poll.
    pub created: i64,
    /// Events at this poll (`Reason: text`).
    pub events: Vec<String>,
}

impl JobRow {
    /// Whether `self` says something `prev` did not (values and queue length alone do not).
    fn differs(&self, prev: &JobRow) -> bool {
        self.created != 0
            || !self.events.is_empty()
            || (self.active, self.running, self.pending, self.max_scale)
                != (prev.active, prev.running, prev.pending, prev.max_scale)
    }
}

/// What a run adds up to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTotals {
    pub jobs_created: u64,
    pub peak_running: i64,
    pub peak_pending: i64,
    /// Hours spent Running by the Jobs, up to the end of the run.
    pub job_hours: f64,
}

/// One poll for the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobPoint {
    pub t: i64,
    /// The combined queue length.
    pub queue_length: i64,
    /// Unfinished Jobs after the poll (those it created included).
    pub running: i64,
    pub pending: i64,
    pub created: i64,
}

/// One ScaledJob's result.
pub struct JobOutcome {
    pub object: SimJob,
    /// The polls at which something changed (and the first).
    pub rows: Vec<JobRow>,
    /// Every poll, for the chart (only when `Settings::keep_points`).
    pub points: Vec<JobPoint>,
    pub totals: JobTotals,
}

/// Runs one ScaledJob from `settings.from` to `settings.to`, a poll every step.
pub fn run(object: SimJob, settings: &Settings) -> JobOutcome {
    let sj = &object.sj;
    let spec = &sj.spec;
    let pending_conditions = spec.scaling_strategy().pending_pod_conditions;
    let template = plan::new_job(sj, env!("CARGO_PKG_VERSION"));
    let mut world = JobWorld::new(settings.startup, settings.job_duration);
    let step = object.step(settings).as_millis().max(1) as i64;
    let (from, to) = (
        settings.from.timestamp_millis(),
        settings.to.timestamp_millis(),
    );
    let (mut rows, mut totals) = (Vec::<JobRow>::new(), JobTotals::default());
    let mut points = Vec::new();
    let mut was_active: Option<bool> = None;
    let mut t = from;
    while t <= to {
        let now = DateTime::from_timestamp_millis(t).unwrap_or(settings.from);
        object.clock.set(now);
        world.advance(t);
        let mut events = Vec::new();
        let (metrics, values) = sample(&object, &mut events);
        let (running, pending) = (world.running(), world.pending(&pending_conditions));
        let paused = poll::paused(sj);
        let d = strategy::decide(spec, &metrics, running, pending);
        let active = d.inputs.combined.is_active && !paused;
        let created = if active { d.create } else { 0 };
        if created > 0 {
            world.create(&template, created, t);
            events.push(format!("{}: Created {created} jobs", reasons::JOBS_CREATED));
        }
        if !paused && was_active != Some(active) {
            let reason = if active {
                reasons::ACTIVE
            } else {
                reasons::INACTIVE
            };
            events.push(reason.to_string());
            was_active = Some(active);
        }
        world.prune(
            spec.successful_jobs_history_limit(),
            spec.failed_jobs_history_limit(),
        );
        let after = (world.running(), world.pending(&pending_conditions));
        totals.peak_running = totals.peak_running.max(after.0);
        totals.peak_pending = totals.peak_pending.max(after.1);
        if settings.keep_points {
            points.push(JobPoint {
                t,
                queue_length: d.inputs.combined.queue_length,
                running: after.0,
                pending: after.1,
                created,
            });
        }
        let row = JobRow {
            time: now,
            values,
            active,
            queue_length: d.inputs.combined.queue_length,
            max_scale: d.inputs.combined.max_value,
            running,
            pending,
            created,
            events,
        };
        if rows.last().is_none_or(|prev| row.differs(prev)) {
            rows.push(row);
        }
        t += step;
    }
    totals.jobs_created = world.created();
    totals.job_hours = world.job_hours(to);
    JobOutcome {
        object,
        rows,
        points,
        totals,
    }
}

/// Every trigger's read as the ScaledJob poll makes it; a failed read is an Event and no
/// metric (KEDA's `KEDAScalerFailed`), as in the operator.
fn sample(object: &SimJob, events: &mut Vec<String>) -> (Vec<ScalerMetrics>, Vec<Option<f64>>) {
    let max = object.sj.spec.max_replica_count();
    let (mut metrics, mut values) = (Vec::new(), Vec::new());
    for trig in &object.triggers {
        let read = trig.scaler.sample().now_or_never().unwrap_or_else(|| {
            Err(prescale_scalers::Error::Query(format!(
                "trigger {} did not answer at once",
                trig.index
            )))
        });
        match read {
            Ok(r) => {
                metrics.push(ScalerMetrics::from_sample(
                    &trig.spec, r.value, r.active, max,
                ));
                values.push(Some(r.value));
            }
            Err(e) => {
                events.push(format!("{}: {e}", reasons::SCALER_FAILED));
                values.push(None);
            }
        }
    }
    (metrics, values)
}

#[cfg(test)]
mod tests;
