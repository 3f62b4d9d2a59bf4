//! What stands in for a network trigger's backend in a simulation: a [`SeriesScaler`] answers
//! `sample()` with the recorded value at the simulated clock's instant, and decides activity
//! with the trigger's own rule (`TriggerDefinition::is_active`), so the poll step sees what the
//! live scaler would have returned then.

use super::series::Series;
use async_trait::async_trait;
use prescale_scalers::{Clock, Error, MetricSpec, Result, Sample, Scaler, TriggerDefinition};
use std::sync::{Arc, Mutex};

/// A trigger's scaler fed by a recorded series.
pub struct SeriesScaler {
    spec: MetricSpec,
    definition: Box<dyn TriggerDefinition>,
    series: Arc<Series>,
    clock: Arc<dyn Clock>,
    cursor: Mutex<usize>,
}

impl SeriesScaler {
    pub fn new(
        definition: Box<dyn TriggerDefinition>,
        series: Arc<Series>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            spec: definition.metric_spec(),
            definition,
            series,
            clock,
            cursor: Mutex::new(0),
        }
    }
}

#[async_trait]
impl Scaler for SeriesScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    async fn sample(&self) -> Result<Sample> {
        let t = self.clock.now().timestamp_millis();
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        match self.series.at(t, &mut cursor) {
            Some(value) => Ok(Sample {
                value,
                active: self.definition.is_active(value),
            }),
            None => Err(Error::Value(format!(
                "{} has no value at {}",
                self.series.source,
                self.clock.now().to_rfc3339()
            ))),
        }
    }
}

/// Where a trigger's values come from in a simulation (shown in the output).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedNote {
    pub trigger_index: usize,
    pub trigger: String,
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use futures::FutureExt;
    use prescale_scalers::{ManualClock, TriggerInput};

    #[test]
    fn samples_follow_the_clock_and_the_triggers_threshold() {
        let def = prescale_scalers::registry::parse(&TriggerInput::new(
            "redis",
            0,
            &[
                ("address", "r:1"),
                ("listName", "q"),
                ("activationListLength", "4"),
            ],
        ))
        .unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 11, 16, 0, 0).unwrap();
        let ms = t0.timestamp_millis();
        let series = Series {
            source: "q.csv".into(),
            points: vec![(ms, 3.0), (ms + 15_000, 9.0)],
        };
        let clock = ManualClock::new(t0 - chrono::Duration::seconds(1));
        let s = SeriesScaler::new(def, Arc::new(series), Arc::new(clock.clone()));
        let read = || s.sample().now_or_never().expect("no I/O");
        assert!(
            read()
                .unwrap_err()
                .to_string()
                .starts_with("q.csv has no value at")
        );
        clock.set(t0);
        assert_eq!(
            read().unwrap(),
            Sample {
                value: 3.0,
                active: false
            }
        );
        clock.set(t0 + chrono::Duration::seconds(20));
        assert_eq!(
            read().unwrap(),
            Sample {
                value: 9.0,
                active: true
            }
        );
    }
}
