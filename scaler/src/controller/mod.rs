//! The ScaledObject controller: reconcile ScaledObject → HPA, status and Events, and start
//! its poll loop. [`plan`] decides (pure); [`reconcile`] and [`cleanup`] read and write.

pub mod cleanup;
pub mod plan;
pub mod reconcile;
