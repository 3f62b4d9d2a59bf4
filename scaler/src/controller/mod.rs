//! The ScaledObject controller: reconcile ScaledObject → HPA, status and Events.

pub mod events;
pub mod hpa;
pub mod reconcile;
