//! The JSON documents the API serves: discovery, `ExternalMetricValueList` and `Status`
//! errors, in the shapes kube-apiserver and the HPA controller expect (spec §4.2–4.4).

use crate::provider::ExternalMetricValue;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, GroupVersionForDiscovery, Status,
};
use serde::Serialize;
use std::collections::BTreeMap;

pub const GROUP: &str = "external.metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
pub const GROUP_VERSION: &str = "external.metrics.k8s.io/v1beta1";

fn group() -> APIGroup {
    let gv = GroupVersionForDiscovery {
        group_version: GROUP_VERSION.into(),
        version: VERSION.into(),
    };
    APIGroup {
        name: GROUP.into(),
        preferred_version: Some(gv.clone()),
        server_address_by_client_cidrs: None,
        versions: vec![gv],
    }
}

/// `GET /apis`.
pub fn api_group_list() -> APIGroupList {
    APIGroupList {
        groups: vec![group()],
    }
}

/// `GET /apis/external.metrics.k8s.io`.
pub fn api_group() -> APIGroup {
    group()
}

/// `GET /apis/external.metrics.k8s.io/v1beta1`: every served metric as a namespaced resource
/// of kind `ExternalMetricValueList` with verb `get` (custom-metrics-apiserver's listing), plus
/// KEDA's placeholder `externalmetric` so the list is never empty.
pub fn api_resource_list(mut metric_names: Vec<String>) -> APIResourceList {
    metric_names.push("externalmetric".into());
    metric_names.sort();
    metric_names.dedup();
    APIResourceList {
        group_version: GROUP_VERSION.into(),
        resources: metric_names
            .into_iter()
            .map(|name| APIResource {
                name,
                singular_name: String::new(),
                namespaced: true,
                kind: "ExternalMetricValueList".into(),
                verbs: vec!["get".into()],
                ..APIResource::default()
            })
            .collect(),
    }
}

/// `ExternalMetricValueList` (external.metrics.k8s.io/v1beta1).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricValueList {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub metadata: BTreeMap<String, String>,
    pub items: Vec<ExternalMetricValueItem>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricValueItem {
    pub metric_name: String,
    /// Serialised even when empty (`null`), as KEDA's answers are.
    pub metric_labels: Option<BTreeMap<String, String>>,
    /// RFC 3339, seconds.
    pub timestamp: String,
    /// A canonical Quantity string.
    pub value: String,
}

impl ExternalMetricValueList {
    pub fn new(values: Vec<ExternalMetricValue>) -> Self {
        Self {
            kind: "ExternalMetricValueList",
            api_version: GROUP_VERSION,
            metadata: BTreeMap::new(),
            items: values
                .into_iter()
                .map(|v| ExternalMetricValueItem {
                    metric_name: v.metric_name,
                    metric_labels: (!v.labels.is_empty()).then_some(v.labels),
                    timestamp: v
                        .timestamp
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    value: prescale_quantity::milli_quantity(v.value),
                })
                .collect(),
        }
    }
}

/// A `metav1.Status` failure with `reason` and HTTP `code`.
pub fn status(code: u16, reason: &str, message: impl Into<String>) -> Status {
    Status {
        code: Some(i32::from(code)),
        message: Some(message.into()),
        reason: Some(reason.into()),
        status: Some("Failure".into()),
        ..Status::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn documents_have_kinds_and_shapes() {
        let v = serde_json::to_value(api_group_list()).unwrap();
        assert_eq!(v["kind"], "APIGroupList");
        assert_eq!(
            v["groups"][0]["preferredVersion"]["groupVersion"],
            GROUP_VERSION
        );
        let v = serde_json::to_value(api_group()).unwrap();
        assert_eq!(v["kind"], "APIGroup");
        let v = serde_json::to_value(api_resource_list(vec!["s0-redis-jobs".into()])).unwrap();
        assert_eq!(v["kind"], "APIResourceList");
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["resources"].as_array().unwrap().len(), 2);
        assert_eq!(v["resources"][1]["name"], "s0-redis-jobs");
        assert_eq!(v["resources"][1]["verbs"][0], "get");
        let v = serde_json::to_value(status(404, "NotFound", "nope")).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["code"].as_i64(), v["status"].as_str()),
            (Some("Status"), Some(404), Some("Failure"))
        );
    }

    #[test]
    fn values_are_canonical_quantities() {
        let ts = chrono::Utc
            .with_ymd_and_hms(2026, 8, 20, 17, 53, 42)
            .unwrap();
        let mk = |value| ExternalMetricValue {
            metric_name: "s0-redis-Queue".into(),
            labels: BTreeMap::new(),
            timestamp: ts,
            value,
        };
        let list = ExternalMetricValueList::new(vec![
            mk(12.0),
            mk(2.5),
            mk(-1.0),
            mk(f64::NAN),
            mk(f64::INFINITY),
        ]);
        let v = serde_json::to_value(&list).unwrap();
        assert_eq!(v["kind"], "ExternalMetricValueList");
        assert_eq!(v["apiVersion"], GROUP_VERSION);
        assert_eq!(v["items"][0]["timestamp"], "2026-08-20T17:53:42Z");
        assert!(v["items"][0]["metricLabels"].is_null());
        assert_eq!(v["items"][0]["metricName"], "s0-redis-Queue");
        let values: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["12", "2500m", "0", "0", "0"]);
    }
}
