//! `prescale simulate`: ScaledObjects replayed through the operator's own decision pipeline and
//! a model of the Kubernetes HPA controller under a simulated clock, so a platform engineer can
//! ask before a sale "will 50 pods be Ready at 00:00?" and see the answer the operator will
//! give — not a re-implementation of its rules.
//!
//! The stages are the operator's: manifests read and resolved as `prescale validate` does,
//! the reconcile's pure plan, `evaluate::combine`, `prescaling::now` and the pure poll step
//! `step::decide`, whose effects land on a simulated world ([`effects`], [`world`]); the HPA is
//! `prescale-hpa-model` ([`hpa_sim`]). What the simulation adds: inputs ([`series`],
//! [`inputs`], [`feed`]), a pod start-up model ([`startup`]), the clock and the tick loop
//! ([`engine`]), and the outputs ([`summary`], [`output`], [`chart`]).
//!
//! ScaledJobs in the same manifests are replayed too ([`job_sim`]): the same inputs, the
//! operator's own ScaledJob check, strategies and Job counting, with a model of the Jobs
//! ([`job_world`]); their results print and are drawn after the ScaledObjects' ([`job_output`],
//! [`job_chart`]).

pub mod chart;
pub mod effects;
pub mod engine;
pub mod feed;
pub mod hpa_sim;
pub mod inputs;
pub mod job_chart;
pub mod job_output;
pub mod job_sim;
pub mod job_world;
pub mod objects;
pub mod output;
pub mod record;
pub mod series;
pub mod series_json;
pub mod startup;
pub mod summary;
pub mod world;

use crate::validate::load::Loaded;
use engine::Settings;
use inputs::Binder;
use objects::SimObject;
use prescale_scalers::{Context, ManualClock};
use std::sync::Arc;

/// One ScaledObject's result.
pub struct Outcome {
    pub object: SimObject,
    pub track: record::Track,
    pub events: Vec<summary::WindowSummary>,
}

/// Everything a simulation gives: the ScaledObjects' results, then the ScaledJobs'.
pub struct Report {
    pub scaled_objects: Vec<Outcome>,
    pub scaled_jobs: Vec<job_sim::JobOutcome>,
}

/// The objects of the manifests, ready to run.
pub struct Prepared {
    pub objects: Vec<SimObject>,
    pub jobs: Vec<job_sim::SimJob>,
}

/// A clock of its own and a scalers' context reading it.
fn clock_at(from: chrono::DateTime<chrono::Utc>) -> (ManualClock, Context) {
    let clock = ManualClock::new(from);
    let ctx = Context {
        clock: Arc::new(clock.clone()),
        ..Context::default()
    };
    (clock, ctx)
}

/// Builds every ScaledObject and ScaledJob of the manifests with its inputs, each with a clock
/// of its own. Fails on the first object that cannot be simulated (invalid, or a trigger
/// without input), and on a `--series` NAME that matches no trigger.
pub async fn prepare(
    loaded: &Loaded,
    binder: &mut Binder<'_>,
    cluster_ns: &str,
) -> Result<Prepared, String> {
    if let Some((file, e)) = loaded.errors.first() {
        return Err(format!("{file}: {e}"));
    }
    if loaded.scaled_objects.is_empty() && loaded.scaled_jobs.is_empty() {
        return Err(
            "no ScaledObject or ScaledJob (keda.sh/v1alpha1) in the given manifests".into(),
        );
    }
    let mut out = Vec::new();
    for located in &loaded.scaled_objects {
        let from = binder.from;
        let (clock, ctx) = clock_at(from);
        out.push(objects::build(loaded, located, binder, &ctx, clock, cluster_ns, from).await?);
    }
    let mut jobs = Vec::new();
    for located in &loaded.scaled_jobs {
        let (clock, ctx) = clock_at(binder.from);
        jobs.push(job_sim::build(loaded, located, binder, &ctx, clock, cluster_ns).await?);
    }
    if let Some(key) = binder.unused().first() {
        let object_names = out.iter().flat_map(|o| {
            o.feeds
                .iter()
                .map(|f| format!("{}/{}", o.spec.name, f.trigger))
        });
        let job_names = jobs.iter().flat_map(|j| {
            let name = j.sj.metadata.name.clone().unwrap_or_default();
            j.feeds.iter().map(move |f| format!("{name}/{}", f.trigger))
        });
        let names: Vec<String> = object_names.chain(job_names).collect();
        return Err(format!(
            "--series {key}: no trigger has that name (triggers: {})",
            names.join(", ")
        ));
    }
    Ok(Prepared { objects: out, jobs })
}

/// Reads the inputs, builds every ScaledObject and ScaledJob of `loaded` and runs them: what
/// `prescale simulate` does (live history, when asked, is read on a runtime of its own).
pub fn simulate(
    loaded: &Loaded,
    series: Vec<inputs::SeriesArg>,
    live: Option<&inputs::Live>,
    settings: &Settings,
    cluster_ns: &str,
) -> Result<Report, String> {
    let mut binder = Binder {
        series,
        live,
        from: settings.from,
        to: settings.to,
        step: settings.step,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let prepared = rt.block_on(prepare(loaded, &mut binder, cluster_ns))?;
    if let Some(l) = live {
        l.bar.finish_and_clear();
    }
    let scaled_objects = run(prepared.objects, settings)?;
    let scaled_jobs = prepared
        .jobs
        .into_iter()
        .map(|j| job_sim::run(j, settings))
        .collect();
    Ok(Report {
        scaled_objects,
        scaled_jobs,
    })
}

/// Runs every object over the range and summarises its windows. Objects do not interact and
/// each has its own clock, so they run on all cores (results in input order).
pub fn run(objects: Vec<SimObject>, settings: &Settings) -> Result<Vec<Outcome>, String> {
    let (from, to) = (
        settings.from.timestamp_millis(),
        settings.to.timestamp_millis(),
    );
    if to <= from {
        return Err("--to must be after --from".into());
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(objects.len().max(1));
    let per = objects.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<SimObject>> = Vec::new();
    let mut rest = objects.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(per).collect());
    }
    let results: Vec<Result<Vec<Outcome>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|o| one(o, settings, from, to))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a simulation thread panicked".into()))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// One object's run and its window summaries.
fn one(object: SimObject, settings: &Settings, from: i64, to: i64) -> Result<Outcome, String> {
    let mut track =
        engine::run(&object, settings).map_err(|e| format!("{}: {e}", object.name()))?;
    let mut windows = summary::windows(&object, from, to);
    let events = summary::summarize(&mut windows, &track.rows, from, to);
    track.windows = windows;
    Ok(Outcome {
        object,
        track,
        events,
    })
}
