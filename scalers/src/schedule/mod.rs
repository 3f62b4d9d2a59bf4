//! `schedule` (Prescale's own trigger; KEDA manifests are unaffected): capacity for known
//! events. Dated windows for one-off events (`2026-11-11T00:00/2026-11-11T02:00=50`, local time
//! in `timezone`) and recurring windows in cron form (`0 18 * * 1-5 / 0 20 * * 1-5 = 10`), each
//! held from `start − leadTime` until its end so pods are Ready when it starts.
//!
//! | parameter | | |
//! |---|---|---|
//! | `timezone` | required | IANA name, checked at parse time |
//! | `windows` | one per line | `START/END=N` (floor) or `START/END=max:N` (cap); overlaps of the same kind are errors |
//! | `recurring` | one per line | `CRON_START / CRON_END = N` or `= max:N` |
//! | `leadTime` | default `0s` | Go duration, milliseconds, or `auto` (measured pod start-up) |
//!
//! The operator raises the HPA's `minReplicas` to the floor (and lowers `maxReplicas` to a cap)
//! for each window and restores them after ([`crate::prescale`]). The metric `s<i>-schedule`
//! also carries the floor, with target 1, like KEDA's cron trigger.

pub mod windows;

#[cfg(test)]
mod tests;

use crate::cron::window::{Zone, load_location};
use crate::error::Result;
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, MetricType, Sample, external_metric_name};
use crate::params::{META, Need, Params};
use crate::prescale::{Bounds, LeadTime};
use crate::{Clock, Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use windows::{Dated, Recurring};

/// A validated `schedule` trigger.
#[derive(Debug, Clone)]
pub struct ScheduleDefinition {
    pub zone: Zone,
    pub dated: Vec<Dated>,
    pub recurring: Vec<Recurring>,
    pub lead_time: LeadTime,
    spec: MetricSpec,
}

/// Parses a `schedule` trigger.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(ScheduleDefinition::parse(input)?))
}

impl ScheduleDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut p = Params::new(input);
        let timezone = p.string(&["timezone"], META, Need::Required);
        let windows_text = p.string(&["windows"], META, Need::Optional);
        let recurring_text = p.string(&["recurring"], META, Need::Optional);
        let lead_raw = p.string(&["leadTime"], META, Need::Default("0s"));
        let lead_time = LeadTime::parse(&lead_raw).unwrap_or_else(|e| {
            p.error(format!("unable to set param \"leadTime\": {e}"));
            LeadTime::Fixed(Duration::ZERO)
        });
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });
        let zone = match load_location(&timezone) {
            Ok(z) => Some(z),
            Err(e) if !timezone.is_empty() => {
                p.error(format!("timezone: {e}"));
                None
            }
            Err(_) => None,
        };
        if windows_text.is_empty() && recurring_text.is_empty() {
            p.error("at least one of \"windows\" or \"recurring\" must list a window");
        }
        let mut dated = Vec::new();
        let mut recurring = Vec::new();
        if let Some(z) = zone {
            match windows::parse_dated(&windows_text, z) {
                Ok(d) => dated = d,
                Err(es) => es.into_iter().for_each(|e| p.error(e)),
            }
        }
        match windows::parse_recurring(&recurring_text) {
            Ok(r) => recurring = r,
            Err(es) => es.into_iter().for_each(|e| p.error(e)),
        }
        p.finish("schedule")?;
        let spec = MetricSpec::External {
            name: external_metric_name(input.index, "schedule"),
            target: MetricTarget::from_int(metric_type, 1),
        };
        Ok(Self {
            zone: zone.unwrap_or(Zone::Local),
            dated,
            recurring,
            lead_time,
            spec,
        })
    }

    /// The lead used when `auto` has not been resolved (offline checks): a fixed lead, else 0.
    fn offline_lead(&self) -> Duration {
        self.lead_time.resolve(Duration::ZERO)
    }

    /// The floor at `now` with the fixed lead (see [`windows::floor_at`]).
    pub fn floor_at(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        self.bounds_at(now, self.offline_lead()).floor
    }

    /// The bounds at `now` with `lead` (see [`windows::bounds_at`]).
    pub fn bounds_at(&self, now: chrono::DateTime<chrono::Utc>, lead: Duration) -> Bounds {
        windows::bounds_at(&self.dated, &self.recurring, self.zone, lead, now)
    }
}

#[async_trait]
impl TriggerDefinition for ScheduleDefinition {
    fn trigger_type(&self) -> &str {
        "schedule"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        Ok(Arc::new(ScheduleScaler {
            lead_ms: AtomicU64::new(self.offline_lead().as_millis() as u64),
            def: self.clone(),
            clock: ctx.clock.clone(),
        }))
    }

    /// The value is the floor: active while one holds.
    fn is_active(&self, value: f64) -> bool {
        value > 0.0
    }
}

/// A live `schedule` trigger: the floor now, no backend.
pub struct ScheduleScaler {
    def: ScheduleDefinition,
    clock: Arc<dyn Clock>,
    /// The lead the operator last resolved (for `auto`), used for the served metric.
    lead_ms: AtomicU64,
}

#[async_trait]
impl Scaler for ScheduleScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.def.spec
    }

    fn lead_time(&self) -> Option<LeadTime> {
        Some(self.def.lead_time)
    }

    fn bounds_at(&self, at: chrono::DateTime<chrono::Utc>, lead: Duration) -> Bounds {
        self.lead_ms
            .store(lead.as_millis() as u64, Ordering::Relaxed);
        self.def.bounds_at(at, lead)
    }

    fn change_times(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        lead: Duration,
    ) -> Vec<chrono::DateTime<chrono::Utc>> {
        windows::change_times(
            &self.def.dated,
            &self.def.recurring,
            self.def.zone,
            lead,
            from,
            to,
        )
    }

    async fn sample(&self) -> Result<Sample> {
        let lead = Duration::from_millis(self.lead_ms.load(Ordering::Relaxed));
        let floor = self.def.bounds_at(self.clock.now(), lead).floor;
        Ok(Sample {
            value: floor as f64,
            active: floor > 0,
        })
    }
}
