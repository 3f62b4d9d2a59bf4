//! The ScaledObject controller: reconcile ScaledObject → HPA, status and Events.

pub mod events;
pub mod hpa;
pub mod inputs;
pub mod reconcile;
