//! `prescale explain NAME` against a live cluster: reads the ScaledObject, its HPA, the
//! target's `/scale` and pods, and each external metric through the API server (the
//! aggregation layer, exactly as the HPA controller reads it), then runs the HPA model on that
//! state. Reads only.

use super::{Explanation, TriggerView};
use crate::api::ScaledObject;
use crate::target::{self, TargetReader};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::{Api, Client};
use prescale_hpa_model::{History, Milli, Observation};
use serde_json::Value;

/// Reads everything `explain` needs about `namespace/name`.
pub async fn explain(client: &Client, namespace: &str, name: &str) -> anyhow::Result<Explanation> {
    let sos: Api<ScaledObject> = Api::namespaced(client.clone(), namespace);
    let so = sos
        .get(name)
        .await
        .map_err(|e| anyhow::anyhow!("ScaledObject {namespace}/{name}: {}", kube_text(&e)))?;
    let status = so.status.clone().unwrap_or_default();
    let hpa_name = status
        .hpa_name
        .clone()
        .unwrap_or_else(|| crate::hpa::hpa_name(&so));
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
    let hpa = hpas
        .get_opt(&hpa_name)
        .await
        .map_err(|e| anyhow::anyhow!("HPA {namespace}/{hpa_name}: {}", kube_text(&e)))?;
    let t = &so.spec.scale_target_ref;
    let target = target::resolve(client, namespace, t.api_version(), t.kind(), &t.name)
        .await
        .map_err(|e| anyhow::anyhow!("scale target {}: {}", t.name, kube_text(&e)))?;
    let reader = TargetReader::new(client.clone(), target.clone());
    let scale = reader
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("scale of {}: {}", t.name, kube_text(&e)))?;
    let spec_replicas = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
    let status_replicas = scale.status.as_ref().map_or(0, |s| s.replicas);
    let ready = reader.ready_pods().await.ok();

    let mut triggers = super::triggers(&so);
    let mut observed = Vec::new();
    if let Some(hpa) = &hpa {
        for m in hpa.spec.metrics.iter().flatten() {
            observed.push(read_metric(client, namespace, m, &mut triggers).await);
        }
    }
    let observation = Observation {
        spec_replicas,
        status_replicas,
        ready_pods: ready.filter(|n| *n > 0),
        metrics: observed,
    };
    let mut e = Explanation::new(&so, target.kind_string(), triggers);
    e.hpa_name = hpa.as_ref().map(|_| hpa_name.clone());
    e.ready_replicas = ready;
    e.hpa_status_desired = hpa
        .as_ref()
        .and_then(|h| h.status.as_ref())
        .map(|s| s.desired_replicas);
    match &hpa {
        Some(hpa) => {
            let spec = crate::hpa::model_spec(hpa).map_err(|e| anyhow::anyhow!("{e}"))?;
            // the recommendations and scale events live in the HPA controller's memory only
            e.model(&spec, &History::default(), &observation, true);
        }
        None => e.notes.push(format!(
            "the HPA {hpa_name} does not exist (paused, or the ScaledObject is not Ready)"
        )),
    }
    Ok(e)
}

/// One HPA metric as the HPA controller reads it: External metrics from the metrics API;
/// resource metrics (metrics-server) are not read here.
async fn read_metric(
    client: &Client,
    namespace: &str,
    m: &k8s_openapi::api::autoscaling::v2::MetricSpec,
    triggers: &mut [TriggerView],
) -> Result<Vec<Milli>, String> {
    let Some(ext) = &m.external else {
        return Err(format!(
            "{} metrics come from metrics-server; explain does not read them",
            m.type_
        ));
    };
    let selector = ext
        .metric
        .selector
        .as_ref()
        .and_then(|s| s.match_labels.as_ref())
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let path = format!(
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{}?labelSelector={}",
        ext.metric.name,
        percent(&selector)
    );
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let answer = client
        .request::<Value>(req)
        .await
        .map_err(|e| kube_text(&e));
    let items = answer.and_then(|list| items_of(&list));
    if let Some(t) = triggers
        .iter_mut()
        .find(|t| t.metric.as_deref() == Some(ext.metric.name.as_str()))
    {
        t.target = crate::hpa::model_target(&ext.target)
            .ok()
            .map(|t| super::target_text(&t));
        match &items {
            Ok(v) => t.value = Some(v.iter().sum::<Milli>() as f64 / 1000.0),
            Err(e) => t.error = Some(e.clone()),
        }
    }
    items
}

/// The item values of an `ExternalMetricValueList` in milli-units; no items is an error, as
/// the HPA treats it.
fn items_of(list: &Value) -> Result<Vec<Milli>, String> {
    let items = list["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return Err("no metrics returned from external metrics API".into());
    }
    items
        .iter()
        .map(|i| super::state::milli(&i["value"], "value"))
        .collect()
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn kube_text(e: &kube::Error) -> String {
    crate::kube_client::kube_error_text(e)
}
