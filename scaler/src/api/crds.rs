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
            serde_yaml::to_string(&scaled_job_crd())?,
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

/// The ScaledJob CRD without the descriptions inside `jobTargetRef` (the Kubernetes JobSpec
/// documentation): with them the CRD passes 256 kB and a client-side `kubectl apply` fails on
/// its last-applied annotation. The structure and validation stay whole.
fn scaled_job_crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    let mut crd = ScaledJob::crd();
    for v in &mut crd.spec.versions {
        let job = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|s| s.properties.as_mut())
            .and_then(|p| p.get_mut("spec"))
            .and_then(|s| s.properties.as_mut())
            .and_then(|p| p.get_mut("jobTargetRef"));
        if let Some(job) = job {
            strip_descriptions(job);
        }
    }
    crd
}

fn strip_descriptions(
    s: &mut k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps,
) {
    s.description = None;
    for p in s.properties.iter_mut().flat_map(|p| p.values_mut()) {
        strip_descriptions(p);
    }
    if let Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(i)) = s.items.as_mut() {
        strip_descriptions(i);
    }
    if let Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrBool::Schema(a)) = s.additional_properties.as_mut() {
        strip_descriptions(a);
    }
    for v in [&mut s.all_of, &mut s.any_of, &mut s.one_of]
        .into_iter()
        .flatten()
    {
        v.iter_mut().for_each(strip_descriptions);
    }
}

/// All CRDs as one multi-document YAML stream.
pub fn yaml_stream() -> Result<String, serde_yaml::Error> {
    Ok(all()?
        .into_iter()
        .map(|(_, y)| format!("---\n{y}"))
        .collect::<String>())
}
