//! `cron`: a fixed number of replicas between a start and an end schedule (spec §5.4).
//!
//! | parameter | source | |
//! |---|---|---|
//! | `timezone` | metadata | required; IANA name, checked only when sampling |
//! | `start`, `end` | metadata | required; 5-field cron ([`schedule`]) |
//! | `desiredReplicas` | metadata | required int64; `0` rejected, negative accepted (KEDA quirk) |
//!
//! The metric is `s<i>-cron-<timezone>-<start>-<end>` (see [`metric_part`]) with a target of 1,
//! so the HPA asks for exactly `desiredReplicas` pods inside the window; outside it the value is
//! 0 and the trigger is inactive. Activity is decided by [`window::is_active`] on `ctx.clock`.
//! Nothing is cached between samples: a window that opened while Prescale was down is seen at
//! the next sample.
//!
//! Daylight saving time follows robfig/cron v3, which KEDA uses ([`next`]): a start or end whose
//! wall-clock time falls in the hour skipped in spring does not happen that day, and one in the
//! hour repeated in autumn happens twice. With the memoryless window rule this means, e.g. in
//! Europe/Berlin, that a `30 2 * * *` → `30 3 * * *` window stays active for 24 hours instead of
//! one before the spring-forward night's end (no start comes before the next end), and a window
//! ending in the repeated hour but starting before it lasts until the second occurrence of its
//! end. Prescale reproduces this rather than "fixing" it, so that a ScaledObject scales as it
//! did under KEDA.

pub mod next;
pub mod schedule;
pub mod window;

#[cfg(test)]
mod next_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, MetricType, Sample, external_metric_name};
use crate::params::{META, Need, Params};
use crate::{Clock, Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use schedule::Schedule;
use std::sync::Arc;
use window::{Zone, load_location};

/// A validated `cron` trigger.
#[derive(Debug, Clone)]
pub struct CronDefinition {
    /// The `timezone` as written (it is part of the metric name).
    pub timezone: String,
    pub start: Schedule,
    pub end: Schedule,
    pub desired_replicas: i64,
    spec: MetricSpec,
}

/// Parses a `cron` trigger (no time zone lookup yet; see [`CronScaler::sample`]).
///
/// As in KEDA's typed config, every field problem is reported, then the cross-field checks run
/// on whatever was read (a missing schedule is checked as the empty string), and the first of
/// those that fails is reported too: start schedule, end schedule, `start == end` (as strings),
/// `desiredReplicas == 0`.
///
/// Deviation: an invalid trigger `metricType` is reported inside
/// `error parsing cron metadata: …`, where KEDA says `error getting scaler metric type: …`.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(parse_definition(input)?))
}

/// [`parse`], keeping the concrete type (tests, simulations).
pub fn parse_definition(input: &TriggerInput) -> Result<CronDefinition> {
    let mut p = Params::new(input);
    let metric_type = match MetricType::for_external(&input.metric_type) {
        Ok(t) => t,
        Err(e) => {
            p.error(e);
            MetricType::AverageValue
        }
    };
    let timezone = p.string(&["timezone"], META, Need::Required);
    let start_raw = p.string(&["start"], META, Need::Required);
    let end_raw = p.string(&["end"], META, Need::Required);
    let desired_replicas = p
        .get::<i64>(&["desiredReplicas"], META, Need::Required)
        .unwrap_or(0);

    let start = Schedule::parse(&start_raw);
    let end = Schedule::parse(&end_raw);
    let invalid = match (&start, &end) {
        (Err(e), _) => Some(format!("error parsing start schedule: {e}")),
        (_, Err(e)) => Some(format!("error parsing end schedule: {e}")),
        _ if start_raw == end_raw => {
            Some("start and end can not have exactly same time input".to_string())
        }
        _ if desired_replicas == 0 => Some("no desiredReplicas specified".to_string()),
        _ => None,
    };
    if let Some(message) = invalid {
        p.error(message);
    }
    p.finish("cron")?;
    let (Ok(start), Ok(end)) = (start, end) else {
        // Unreachable: a schedule error was recorded and `finish` returned it.
        return Err(Error::Parse {
            scaler: "cron",
            message: "invalid schedule".to_string(),
        });
    };
    let name = external_metric_name(
        input.index,
        &format!(
            "cron-{timezone}-{}-{}",
            metric_part(&start_raw),
            metric_part(&end_raw)
        ),
    );
    Ok(CronDefinition {
        spec: MetricSpec::External {
            name,
            target: MetricTarget::from_int(metric_type, 1),
        },
        timezone,
        start,
        end,
        desired_replicas,
    })
}

/// A schedule as it appears in the metric name: spaces removed, then `*`→`x`, `/`→`Sl`,
/// `?`→`Qm`, `,`→`Cm` (the comma rule is kedacore/keda#7448). Only ASCII spaces are removed,
/// as Go's `strings.ReplaceAll(s, " ", "")` does.
pub fn metric_part(schedule: &str) -> String {
    schedule
        .replace(' ', "")
        .replace('*', "x")
        .replace('/', "Sl")
        .replace('?', "Qm")
        .replace(',', "Cm")
}

#[async_trait]
impl TriggerDefinition for CronDefinition {
    fn trigger_type(&self) -> &str {
        "cron"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    /// Nothing to connect to; the scaler reads time from `ctx.clock`.
    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        Ok(Arc::new(CronScaler {
            zone: load_location(&self.timezone),
            def: self.clone(),
            clock: ctx.clock.clone(),
        }))
    }

    /// The value is `desiredReplicas` inside the window and 0 outside it.
    fn is_active(&self, value: f64) -> bool {
        value != 0.0
    }
}

/// A live `cron` trigger.
pub struct CronScaler {
    def: CronDefinition,
    /// The trigger zone, or the error every sample reports (tzdata does not change at runtime).
    zone: std::result::Result<Zone, String>,
    clock: Arc<dyn Clock>,
}

#[async_trait]
impl Scaler for CronScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.def.spec
    }

    /// `desiredReplicas` while active, else 0. An unknown `timezone` fails here, with
    /// `unable to load timezone: unknown time zone <name>` (category `bad_value`), as KEDA fails
    /// at metric time.
    async fn sample(&self) -> Result<Sample> {
        let zone = self
            .zone
            .clone()
            .map_err(|e| Error::Value(format!("unable to load timezone: {e}")))?;
        let active = window::is_active(&self.def.start, &self.def.end, self.clock.now(), zone);
        let value = if active {
            self.def.desired_replicas as f64
        } else {
            0.0
        };
        Ok(Sample { value, active })
    }
}
