//! The resource kinds the stand-in serves: plural, group/version, kind, scope, subresources.

/// Where a kind keeps its replica count and selector (for `/scale`).
#[derive(Debug, Clone)]
pub struct ScalePaths {
    pub spec_replicas: &'static str,
    pub status_replicas: &'static str,
    /// Path of a `matchLabels` map turned into the Scale's `status.selector` string.
    pub selector_match_labels: &'static str,
}

/// One served resource.
#[derive(Debug, Clone)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub status: bool,
    pub scale: Option<ScalePaths>,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const WORKLOAD_SCALE: ScalePaths = ScalePaths {
    spec_replicas: "/spec/replicas",
    status_replicas: "/status/replicas",
    selector_match_labels: "/spec/selector/matchLabels",
};

fn r(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    status: bool,
    scale: Option<ScalePaths>,
) -> Resource {
    Resource {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
        status,
        scale,
    }
}

/// The built-in table: what the operator and its tests touch.
pub fn builtin() -> Vec<Resource> {
    vec![
        r("", "v1", "Pod", "pods", true, true, None),
        r("", "v1", "Secret", "secrets", true, false, None),
        r("", "v1", "ConfigMap", "configmaps", true, false, None),
        r("", "v1", "Event", "events", true, false, None),
        r("", "v1", "Namespace", "namespaces", false, true, None),
        r("", "v1", "Service", "services", true, true, None),
        r("", "v1", "LimitRange", "limitranges", true, false, None),
        r(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            true,
            Some(WORKLOAD_SCALE),
        ),
        r(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            true,
            Some(WORKLOAD_SCALE),
        ),
        r(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            true,
            Some(WORKLOAD_SCALE),
        ),
        r(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
            true,
            None,
        ),
        r(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            false,
            None,
        ),
        r("events.k8s.io", "v1", "Event", "events", true, false, None),
        r(
            "apiregistration.k8s.io",
            "v1",
            "APIService",
            "apiservices",
            false,
            true,
            None,
        ),
        r(
            "keda.sh",
            "v1alpha1",
            "ScaledObject",
            "scaledobjects",
            true,
            true,
            None,
        ),
        r(
            "keda.sh",
            "v1alpha1",
            "ScaledJob",
            "scaledjobs",
            true,
            true,
            None,
        ),
        r("batch", "v1", "Job", "jobs", true, true, None),
        r(
            "keda.sh",
            "v1alpha1",
            "TriggerAuthentication",
            "triggerauthentications",
            true,
            true,
            None,
        ),
        r(
            "keda.sh",
            "v1alpha1",
            "ClusterTriggerAuthentication",
            "clustertriggerauthentications",
            false,
            true,
            None,
        ),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            false,
            false,
            None,
        ),
        r(
            "authorization.k8s.io",
            "v1",
            "SubjectAccessReview",
            "subjectaccessreviews",
            false,
            false,
            None,
        ),
    ]
}

/// A custom kind with a `/scale` subresource at the usual paths (for "any kind with /scale").
pub fn custom_scalable(group: &str, version: &str, kind: &str, plural: &str) -> Resource {
    r(
        group,
        version,
        kind,
        plural,
        true,
        true,
        Some(WORKLOAD_SCALE),
    )
}
