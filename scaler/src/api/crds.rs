//! The CustomResourceDefinitions, generated from the types (`prescale crds`), committed under
//! `deploy/crds/` and checked for drift by a test.

use super::{ClusterTriggerAuthentication, ScaledJob, ScaledObject, TriggerAuthentication};
use kube::CustomResourceExt;

/// File name → CRD YAML, in a stable order.
pub fn all() -> Result<Vec<(&'static str, String)>, serde_yaml::Error> {
    Ok(vec![
        (
            "keda.sh_scaledobjects.yaml",
            serde_yaml::to_string(&ScaledObject::crd())?,
        ),
        (
            "keda.sh_scaledjobs.yaml",
            serde_yaml::to_string(&ScaledJob::crd())?,
        ),
        (
            "keda.sh_triggerauthentications.yaml",
            serde_yaml::to_string(&TriggerAuthentication::crd())?,
        ),
        (
            "keda.sh_clustertriggerauthentications.yaml",
            serde_yaml::to_string(&ClusterTriggerAuthentication::crd())?,
        ),
    ])
}

/// All CRDs as one multi-document YAML stream.
pub fn yaml_stream() -> Result<String, serde_yaml::Error> {
    Ok(all()?
        .into_iter()
        .map(|(_, y)| format!("---\n{y}"))
        .collect::<String>())
}
