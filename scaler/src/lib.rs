//! Prescale's operator crate: the `keda.sh/v1alpha1` API types and the `prescale` command line.

pub mod api;
pub mod api_health;
pub mod cli;
pub mod context;
pub mod controller;
pub mod dependencies;
pub mod explain;
pub mod hpa;
pub mod kube_client;
pub mod leader;
pub mod metric_store;
pub mod metrics_api;
pub mod operator;
pub mod poller;
pub mod prescaling;
pub mod resolve;
pub mod retry;
pub mod scaling;
pub mod shutdown;
pub mod simulate;
pub mod target;
pub mod telemetry;
pub mod time;
pub mod trigger;
pub mod validate;
pub mod write;
