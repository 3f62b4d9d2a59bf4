//! Per-ScaledObject poll loops: evaluate triggers every `pollingInterval`, store the values
//! for the metrics API, and drive activation and scale to/from zero.

pub mod evaluate;
pub mod schedule;
pub mod target;
