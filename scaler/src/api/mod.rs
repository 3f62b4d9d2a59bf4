//! `keda.sh/v1alpha1` types: ScaledObject, ScaledJob, TriggerAuthentication, ClusterTriggerAuthentication,
//! decoded exactly as KEDA users write them.

pub mod conditions;
pub mod crds;
pub mod scaled_job;
pub mod scaled_object;
pub mod trigger_authentication;

/// The label KEDA puts on a ScaledObject, its HPA and the HPA's metric selectors.
pub const SCALED_OBJECT_NAME_LABEL: &str = "scaledobject.keda.sh/name";

/// The finalizer the operator keeps on each ScaledObject (KEDA's name), so that it can restore
/// the target and delete the HPA when the object goes.
pub const FINALIZER: &str = "finalizer.keda.sh";

pub use conditions::Condition;
pub use scaled_job::*;
pub use scaled_object::*;
pub use trigger_authentication::*;
