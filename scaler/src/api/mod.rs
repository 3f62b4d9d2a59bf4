//! `keda.sh/v1alpha1` types: ScaledObject, TriggerAuthentication, ClusterTriggerAuthentication,
//! decoded exactly as KEDA users write them.

pub mod conditions;
pub mod crds;
pub mod scaled_object;
pub mod trigger_authentication;

pub use conditions::Condition;
pub use scaled_object::*;
pub use trigger_authentication::*;
