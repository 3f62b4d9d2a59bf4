//! A ScaledObject's trigger as the operator runs it: its place and name in the manifest, the
//! HPA metric it feeds, and the live scaler that reads its value.

use prescale_scalers::{MetricSpec, Scaler};
use std::sync::Arc;

/// The metric name KEDA gives the composed value.
pub const COMPOSITE_METRIC: &str = "composite-metric";

/// A built trigger of a ScaledObject.
#[derive(Clone)]
pub struct LiveTrigger {
    pub index: usize,
    /// `triggers[i].name` ("" when unset).
    pub name: String,
    pub trigger_type: String,
    pub spec: MetricSpec,
    pub scaler: Arc<dyn Scaler>,
}
