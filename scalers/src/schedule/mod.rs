//! `schedule` (Prescale's own trigger; KEDA manifests are unaffected): capacity for known
//! events. Dated windows for one-off events (`2026-11-11T00:00/2026-11-11T02:00=50`, local time
//! in `timezone`) and recurring windows in cron form (`0 18 * * 1-5 / 0 20 * * 1-5 = 10`), each
//! held from `start − leadTime` until its end so pods are Ready when it starts.
//!
//! | parameter | | |
//! |---|---|---|
//! | `timezone` | required | IANA name, checked at parse time |
//! | `windows` | one per line | `START/END=REPLICAS`; overlaps are errors |
//! | `recurring` | one per line | `CRON_START / CRON_END = REPLICAS` |
//! | `leadTime` | default `0s` | Go duration or milliseconds |
//!
//! The metric `s<i>-schedule` carries the floor with target 1, like KEDA's cron trigger. Exact
//! floors (the HPA's `minReplicas` raised for the window) and `leadTime: auto` (measured pod
//! start-up) belong to the operator and are not built yet (issue #5).

pub mod windows;

#[cfg(test)]
mod tests;

use crate::cron::window::{Zone, load_location};
use crate::error::Result;
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, MetricType, Sample, external_metric_name};
use crate::params::{META, Need, Params};
use crate::{Clock, Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use windows::{Dated, Recurring};

/// A validated `schedule` trigger.
#[derive(Debug, Clone)]
pub struct ScheduleDefinition {
    pub zone: Zone,
    pub dated: Vec<Dated>,
    pub recurring: Vec<Recurring>,
    pub lead_time: Duration,
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
        let lead_time = if lead_raw == "auto" {
            p.error("leadTime \"auto\" (measured pod start-up) is not supported yet: give a duration such as 5m");
            Duration::ZERO
        } else {
            p.get::<Duration>(&["leadTime"], META, Need::Default("0s"))
                .unwrap_or_default()
        };
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

    /// The floor at `now` (see [`windows::floor_at`]).
    pub fn floor_at(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        windows::floor_at(&self.dated, &self.recurring, self.zone, self.lead_time, now)
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
            def: self.clone(),
            clock: ctx.clock.clone(),
        }))
    }
}

/// A live `schedule` trigger: the floor now, no backend.
pub struct ScheduleScaler {
    def: ScheduleDefinition,
    clock: Arc<dyn Clock>,
}

#[async_trait]
impl Scaler for ScheduleScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.def.spec
    }

    fn floor(&self) -> Option<i64> {
        Some(self.def.floor_at(self.clock.now()))
    }

    async fn sample(&self) -> Result<Sample> {
        let floor = self.def.floor_at(self.clock.now());
        Ok(Sample {
            value: floor as f64,
            active: floor > 0,
        })
    }
}
