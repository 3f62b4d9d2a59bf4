//! The tick loop: one ScaledObject under a simulated clock, driven through the operator's own
//! poll stages and the HPA model.
//!
//! Time moves from instant to instant — the next poll (every step, plus the extra wake-up the
//! poll loop schedules for a coming pre-scaling change), the next HPA sync (every
//! `--hpa-sync`), the next pod becoming Ready — and at each:
//!
//! 1. a poll, as `poller::task::poll_once` does it: the triggers' reads (`sample()` of the real
//!    scalers under the manual clock, or of series), `evaluate::combine`, `prescaling::now`
//!    (with start-ups measured from the simulated pods for `leadTime: auto`), then the pure
//!    `step::decide`; its effects are applied to the simulated world as the executor applies
//!    them to the cluster ([`super::effects`]);
//! 2. an HPA sync: the HPA model reads the values the metrics API would serve (the last
//!    evaluation's) and the target's replicas, and rescales the target;
//! 3. pods become Ready their start-up delay after creation.
//!
//! Objects do not interact, so each runs alone.

use super::effects::Applied;
use super::hpa_sim::HpaSim;
use super::objects::SimObject;
use super::record::{Point, Row, Track, TriggerTrack};
use super::startup::Startup;
use super::world::World;
use crate::api::ScaledObjectStatus;
use crate::poller::evaluate::{Read, TargetState, combine};
use crate::poller::step::{StepInput, decide};
use crate::prescaling::startup::{LeadSettings, PodStartups};
use crate::prescaling::{self, PlanCache};
use crate::scaling::fallback::Health;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use prescale_scalers::{Clock, Error, ManualClock, MetricType};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The poll step; `None`: each ScaledObject's `pollingInterval`.
    pub step: Option<Duration>,
    pub hpa_sync: Duration,
    pub tolerance: f64,
    /// Starting replicas; `None`: the target's `spec.replicas` in the manifests.
    pub replicas: Option<i32>,
    pub startup: Startup,
    pub lead: LeadSettings,
    /// Keep every instant for the chart (not only the rows that change).
    pub keep_points: bool,
    /// How long a ScaledJob's Job runs once its Pod started (`--job-duration`).
    pub job_duration: Duration,
}

/// One ScaledObject's run in progress.
struct Sim<'a> {
    obj: &'a SimObject,
    clock: &'a ManualClock,
    settings: &'a Settings,
    world: World,
    hpa: HpaSim,
    status: ScaledObjectStatus,
    health: BTreeMap<String, Health>,
    /// The last poll that kept the target active (the poll loop's memory).
    last_active: Option<chrono::DateTime<chrono::Utc>>,
    /// What the metrics API would serve: the last evaluation's value per metric name.
    served: BTreeMap<String, Option<f64>>,
    startups: PodStartups,
    cache: Mutex<PlanCache>,
    last_observed: Option<i64>,
    decision: String,
    desired: Option<i32>,
    values: Vec<Option<f64>>,
    track: Track,
}

/// Runs one ScaledObject from `settings.from` to `settings.to`.
/// The HPA the reconcile would apply for `obj`.
fn hpa_of(
    obj: &SimObject,
) -> Result<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler, String> {
    obj.spec
        .hpa
        .object()
        .map_err(|e| format!("the planned HPA does not read back: {e}"))
}

pub fn run(obj: &SimObject, settings: &Settings) -> Result<Track, String> {
    let clock = &obj.clock;
    let from = settings.from.timestamp_millis();
    clock.set(settings.from);
    let startups = PodStartups::default();
    let (_, b) = prescaling::evaluate(
        &obj.triggers,
        &obj.spec.target,
        &startups,
        &settings.lead,
        settings.from,
    );
    // the HPA as the reconcile writes it: pre-scaling bounds in force at the start
    let bounds = if prescaling::any(&obj.triggers) {
        prescaling::hpa_bounds(&obj.so, &b)
    } else {
        obj.spec.hpa.bounds()
    };
    let replicas = settings.replicas.unwrap_or(obj.replicas);
    let mut sim = Sim {
        world: World::new(replicas, from, settings.startup, bounds),
        hpa: HpaSim::new(&hpa_of(obj)?, settings.tolerance, &obj.resources)?,
        status: ScaledObjectStatus::default(),
        health: BTreeMap::new(),
        last_active: None,
        served: BTreeMap::new(),
        startups,
        // a plan holds every change of its first day: reusing it that long decides the same
        cache: Mutex::new(PlanCache::with_ttl(
            prescaling::PLAN_HORIZON_HOURS * 3600 / 2,
        )),
        last_observed: None,
        decision: String::new(),
        desired: None,
        values: vec![None; obj.triggers.len()],
        track: Track {
            triggers: tracks(obj),
            ..Track::default()
        },
        obj,
        clock,
        settings,
    };
    sim.go()?;
    Ok(sim.track)
}

/// The triggers as shown, in trigger order.
fn tracks(obj: &SimObject) -> Vec<TriggerTrack> {
    obj.triggers
        .iter()
        .map(|trig| {
            let t = trig.spec.target();
            let target = match t.metric_type {
                MetricType::Utilization => f64::from(t.average_utilization.unwrap_or(0)),
                _ => t.number,
            };
            TriggerTrack {
                index: trig.index,
                name: if trig.name.is_empty() {
                    trig.trigger_type.clone()
                } else {
                    trig.name.clone()
                },
                trigger_type: trig.trigger_type.clone(),
                target,
                target_type: t.metric_type.as_str().to_string(),
                values: Vec::new(),
            }
        })
        .collect()
}

impl Sim<'_> {
    fn go(&mut self) -> Result<(), String> {
        let s = self.settings;
        let (from, to) = (s.from.timestamp_millis(), s.to.timestamp_millis());
        let step = s.step.unwrap_or(self.obj.spec.interval).as_millis().max(1) as i64;
        let sync = s.hpa_sync.as_millis().max(1) as i64;
        let (mut next_poll, mut next_sync, mut wake) = (from, from, None::<i64>);
        let mut t = from;
        while t <= to {
            self.clock
                .set(DateTime::from_timestamp_millis(t).unwrap_or(s.from));
            let mut events = Vec::new();
            if t == next_poll || wake == Some(t) {
                let change = self.poll(t, &mut events);
                if t == next_poll {
                    next_poll += step;
                }
                // the poll loop wakes a moment before a pre-scaling change (task::wake_before)
                let ahead = prescaling::LOOKAHEAD.as_millis() as i64;
                wake = change
                    .map(|c| (c.timestamp_millis() - ahead).max(t + 200))
                    .filter(|w| *w < next_poll);
            }
            if t == next_sync {
                self.sync(t, &mut events);
                next_sync += sync;
            }
            self.record(t, events);
            let ready = self.world.next_ready(t).unwrap_or(i64::MAX);
            t = [next_poll, next_sync, ready, wake.unwrap_or(i64::MAX)]
                .into_iter()
                .min()
                .unwrap_or(i64::MAX);
        }
        Ok(())
    }

    /// One poll, as the operator's poll loop makes it; returns the next planned change.
    fn poll(&mut self, t: i64, events: &mut Vec<String>) -> Option<DateTime<Utc>> {
        let obj = self.obj;
        let spec = &obj.spec;
        let now = self.clock.now();
        let current = self.world.spec_replicas;
        let needs_ready_pods = spec.fallback.is_some()
            && obj
                .triggers
                .iter()
                .any(|t| t.spec.target().metric_type == MetricType::Value);
        let ready_pods = if needs_ready_pods {
            self.world.ready(t)
        } else {
            current
        };
        let reads = self.reads();
        let eval = combine(
            &obj.triggers,
            reads,
            spec.fallback.as_ref(),
            spec.modifiers.as_ref(),
            TargetState {
                current_replicas: current,
                ready_pods,
            },
            &mut self.health,
        );
        self.measure_startups(t);
        let prescale = prescaling::now(
            &obj.so,
            &obj.triggers,
            &spec.target,
            &self.startups,
            &self.settings.lead,
            now,
            &self.cache,
        );
        let step = decide(&StepInput {
            now,
            spec,
            current,
            eval: &eval,
            health: &self.health,
            prescale: prescale.as_ref(),
            held_bounds: self.world.hpa_bounds,
            status: &self.status,
            last_active_seen: self.last_active,
        });
        self.last_active = step.active_seen;
        let next = step.next_change();
        self.decision = format!("{:?}", step.decision);
        self.note_values(t, &eval);
        let applied = Applied::run(&mut self.world, &eval, t, step);
        self.served = applied.served;
        self.status = applied.status;
        events.extend(applied.events);
        next
    }

    /// Every external trigger's read, in trigger order (as `evaluate::sample` returns them).
    /// Simulated scalers answer at once; one that would wait is an error.
    fn reads(&self) -> Vec<Read> {
        self.obj
            .triggers
            .iter()
            .filter(|t| t.spec.external_name().is_some())
            .map(|t| {
                let r = t.scaler.sample().now_or_never().unwrap_or_else(|| {
                    Err(Error::Query(format!(
                        "trigger {} did not answer at once",
                        t.index
                    )))
                });
                (r, Duration::ZERO)
            })
            .collect()
    }

    /// For `leadTime: auto`: the operator lists the pods every refresh period and counts the
    /// start-ups of those that became Ready.
    fn measure_startups(&mut self, t: i64) {
        let refresh = self.settings.lead.refresh.as_millis() as i64;
        if !prescaling::needs_startups(&self.obj.triggers)
            || self.last_observed.is_some_and(|l| t - l < refresh)
        {
            return;
        }
        self.last_observed = Some(t);
        let key = prescaling::workload_key(&self.obj.spec.target);
        self.startups
            .observe(&key, &self.world.ready_pods(t), self.settings.lead.history);
    }

    fn note_values(&mut self, t: i64, eval: &crate::poller::evaluate::Evaluation) {
        for (i, trig) in self.obj.triggers.iter().enumerate() {
            if let Some(m) = eval
                .metrics
                .iter()
                .find(|m| m.trigger_index == Some(trig.index))
            {
                self.note_value(i, t, m.value);
            }
        }
    }

    fn note_value(&mut self, i: usize, t: i64, v: Option<f64>) {
        self.values[i] = v;
        if let (Some(v), true) = (v, self.settings.keep_points) {
            self.track.triggers[i].values.push((t, v));
        }
    }

    /// One HPA sync: the model reads what the metrics API serves and rescales the target.
    fn sync(&mut self, t: i64, events: &mut Vec<String>) {
        let out = self.hpa.sync(t, &self.world, &self.served);
        for (index, v) in out.resource_values {
            if let Some(i) = self
                .obj
                .triggers
                .iter()
                .position(|trig| trig.index == index)
            {
                self.note_value(i, t, v);
            }
        }
        self.desired = Some(out.desired);
        if out.desired != self.world.spec_replicas {
            events.push(format!(
                "SuccessfulRescale: New size: {}; reason: {}",
                out.desired, out.reason
            ));
            self.world.scale_to(out.desired, t);
        }
    }

    fn record(&mut self, t: i64, events: Vec<String>) {
        let w = &self.world;
        let (min, max) = w.hpa_bounds;
        let ready = w.ready(t);
        let point = Point {
            t,
            replicas: w.spec_replicas,
            ready,
            desired: self.desired,
            min,
            max,
        };
        let row = Row {
            time: DateTime::from_timestamp_millis(t).unwrap_or_default(),
            values: self.values.clone(),
            desired: self.desired,
            replicas: w.spec_replicas,
            ready,
            min_replicas: min,
            max_replicas: max,
            decision: self.decision.clone(),
            events,
        };
        self.track.push(row, point, self.settings.keep_points);
    }
}
