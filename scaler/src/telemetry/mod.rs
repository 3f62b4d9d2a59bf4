//! Observability: the operator's metrics and the admin server that exposes them with probes.

pub mod admin;
pub mod log;
pub mod metrics;
