//! From trigger `type` to the module that understands it.

use crate::TriggerDefinition;
use crate::error::{Error, Result};
use crate::input::TriggerInput;

/// Parses one trigger offline (no network): metadata, auth parameters, metric spec.
pub type ParseFn = fn(&TriggerInput) -> Result<Box<dyn TriggerDefinition>>;

/// Every trigger type Prescale understands, with its parser.
pub const SOURCES: &[(&str, ParseFn)] = &[
    ("cron", crate::cron::parse),
    ("cpu", crate::resource::parse_cpu),
    ("memory", crate::resource::parse_memory),
    ("metrics-api", crate::metrics_api::parse),
    ("mysql", crate::mysql::parse),
    ("mysql-calendar", crate::mysql_calendar::parse),
    ("prometheus", crate::prometheus::parse),
    ("prometheus-forecast", crate::prometheus_forecast::parse),
    ("redis", crate::redis::parse),
    ("redis-cluster", crate::redis::parse),
    ("redis-sentinel", crate::redis::parse),
    ("schedule", crate::schedule::parse),
];

/// Whether `trigger_type` is known.
pub fn is_known(trigger_type: &str) -> bool {
    SOURCES.iter().any(|(t, _)| *t == trigger_type)
}

/// Parses a trigger with the module registered for its type.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    SOURCES
        .iter()
        .find(|(t, _)| *t == input.trigger_type)
        .map(|(_, parse)| parse(input))
        .unwrap_or_else(|| Err(Error::UnknownType(input.trigger_type.clone())))
}
