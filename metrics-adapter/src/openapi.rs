//! OpenAPI v2 and v3 documents for the served types, so kube-apiserver's aggregator can merge
//! them instead of logging "loading OpenAPI spec for v1beta1.external.metrics.k8s.io failed".

use serde_json::{Value, json};

fn schemas() -> Value {
    json!({
        "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue": {
            "description": "A metric value for an external metric.",
            "type": "object",
            "required": ["metricName", "metricLabels", "timestamp", "value"],
            "properties": {
                "metricName": {"type": "string", "description": "the name of the metric"},
                "metricLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                "timestamp": {"type": "string", "format": "date-time"},
                "window": {"type": "integer", "format": "int64"},
                "value": {"type": "string", "description": "the value of the metric (a Kubernetes Quantity)"}
            }
        },
        "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList": {
            "description": "A list of values for a given metric for some set labels.",
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "items": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue"}}
            },
            "x-kubernetes-group-version-kind": [{"group": "external.metrics.k8s.io", "kind": "ExternalMetricValueList", "version": "v1beta1"}]
        }
    })
}

fn list_operation(ref_prefix: &str, v3: bool) -> Value {
    let schema = json!({"$ref": format!("{ref_prefix}io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList")});
    let ok = if v3 {
        json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
    } else {
        json!({"description": "OK", "schema": schema})
    };
    let params = if v3 {
        json!([
            {"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "metric", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "labelSelector", "in": "query", "schema": {"type": "string"}}
        ])
    } else {
        json!([
            {"name": "namespace", "in": "path", "required": true, "type": "string"},
            {"name": "metric", "in": "path", "required": true, "type": "string"},
            {"name": "labelSelector", "in": "query", "type": "string"}
        ])
    };
    json!({
        "get": {
            "operationId": "listExternalMetricValue",
            "tags": ["external_metrics_v1beta1"],
            "parameters": params,
            "responses": {"200": ok, "401": {"description": "Unauthorized"}},
            "x-kubernetes-action": "list",
            "x-kubernetes-group-version-kind": {"group": "external.metrics.k8s.io", "kind": "ExternalMetricValueList", "version": "v1beta1"}
        }
    })
}

const PATH: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}";

/// `GET /openapi/v2`.
pub fn v2() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "prescale-metrics-adapter", "version": "v1beta1"},
        "paths": {PATH: list_operation("#/definitions/", false)},
        "definitions": schemas()
    })
}

/// `GET /openapi/v3`: the index of group-version documents.
pub fn v3_index() -> Value {
    json!({"paths": {"apis/external.metrics.k8s.io/v1beta1": {"serverRelativeURL": "/openapi/v3/apis/external.metrics.k8s.io/v1beta1"}}})
}

/// `GET /openapi/v3/apis/external.metrics.k8s.io/v1beta1`.
pub fn v3_group_version() -> Value {
    let mut s = schemas();
    // v3 refs point into components/schemas
    let text = s
        .to_string()
        .replace("#/definitions/", "#/components/schemas/");
    s = serde_json::from_str(&text).unwrap_or(s);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "prescale-metrics-adapter", "version": "v1beta1"},
        "paths": {PATH: list_operation("#/components/schemas/", true)},
        "components": {"schemas": s}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve_within_each_document() {
        let v2 = v2();
        assert_eq!(v2["swagger"], "2.0");
        let r = v2["paths"][PATH]["get"]["responses"]["200"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        let name = r.trim_start_matches("#/definitions/");
        assert!(v2["definitions"][name].is_object());
        let v3 = v3_group_version();
        assert_eq!(v3["openapi"], "3.0.0");
        let r = v3["paths"][PATH]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
        let name = r.trim_start_matches("#/components/schemas/");
        let item_ref = v3["components"]["schemas"][name]["properties"]["items"]["items"]["$ref"]
            .as_str()
            .unwrap();
        assert!(item_ref.starts_with("#/components/schemas/"));
        assert!(
            v3_index()["paths"]["apis/external.metrics.k8s.io/v1beta1"]["serverRelativeURL"]
                .is_string()
        );
    }
}
