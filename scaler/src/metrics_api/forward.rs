//! `--shards`: a metric request for an object of a shard another replica holds is forwarded
//! to that replica's metrics API (its address is in the shard Lease), over HTTPS with a client
//! certificate its request-header authentication trusts, with a short timeout. A forwarded
//! request carries the [`FORWARDED_LABEL`] in its selector, and is never forwarded again (a
//! shard that moved meanwhile is an error, not a loop). When the holder cannot be reached the
//! answer is an error: the HPA keeps its replicas on an error, never on a made-up value.

use prescale_metrics_adapter::{ExternalMetricValue, ProviderError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The selector label that marks a forwarded request.
pub const FORWARDED_LABEL: &str = "prescale.sh/forwarded";

/// Forwards metric requests to other replicas.
#[derive(Clone)]
pub struct Forwarder {
    client: reqwest::Client,
    /// The user forwarded requests are made as (`X-Remote-User`): the operator's service
    /// account; with authorization on, it needs `get` on `external.metrics.k8s.io`.
    user: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    metric_name: String,
    #[serde(default)]
    metric_labels: Option<BTreeMap<String, String>>,
    timestamp: chrono::DateTime<chrono::Utc>,
    value: String,
}

#[derive(Deserialize)]
struct List {
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
}

impl Forwarder {
    /// A client presenting `identity` (PEM certificate and key; None: no client certificate)
    /// as `user`, giving up after `timeout`.
    pub fn new(identity: Option<&str>, user: &str, timeout: Duration) -> anyhow::Result<Self> {
        // the holder is reached by pod IP, which its serving certificate (made for the
        // Service) does not name: the server is not verified, the client is
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(true)
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes())?);
        }
        Ok(Self {
            client: b.build()?,
            user: user.to_string(),
        })
    }

    /// `metric_name` of the ScaledObject `namespace/name` from the replica at `address`
    /// (`host:port`), holder of shard `shard`.
    pub async fn get(
        &self,
        address: &str,
        shard: u32,
        namespace: &str,
        metric_name: &str,
        name: &str,
    ) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        let selector = format!(
            "{}={name},{FORWARDED_LABEL}=true",
            crate::api::SCALED_OBJECT_NAME_LABEL
        );
        let url = format!(
            "https://{address}/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric_name}"
        );
        let unreachable = |why: String| {
            ProviderError::Unavailable(format!(
                "metric:{metric_name} of {namespace}/{name}: the replica holding its shard {shard} ({address}) did not answer: {why}"
            ))
        };
        let res = self
            .client
            .get(url)
            .query(&[("labelSelector", selector)])
            .header("X-Remote-User", &self.user)
            .header("X-Remote-Group", "system:serviceaccounts")
            .send()
            .await
            .map_err(|e| unreachable(e.without_url().to_string()))?;
        let code = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| unreachable(e.without_url().to_string()))?;
        if !code.is_success() {
            let message = serde_json::from_slice::<Status>(&body)
                .map(|s| s.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            return Err(match code.as_u16() {
                404 => ProviderError::NotFound(message),
                400 => ProviderError::BadRequest(message),
                503 => ProviderError::Unavailable(message),
                401 | 403 => unreachable(format!("{code}: {message}")),
                _ => ProviderError::Internal(message),
            });
        }
        let list: List = serde_json::from_slice(&body)
            .map_err(|e| unreachable(format!("unreadable answer: {e}")))?;
        list.items
            .into_iter()
            .map(|i| {
                let q = prescale_quantity::parse_quantity(i.value.trim())
                    .map_err(|e| unreachable(format!("value {:?}: {e}", i.value)))?;
                Ok(ExternalMetricValue {
                    metric_name: i.metric_name,
                    labels: i.metric_labels.unwrap_or_default(),
                    timestamp: i.timestamp,
                    value: q.milli as f64 / 1000.0,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_holder_is_an_error_naming_the_shard_and_address_never_a_value() {
        // a port nobody listens on
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let f = Forwarder::new(None, "u", Duration::from_millis(500)).unwrap();
        let address = format!("127.0.0.1:{port}");
        match f.get(&address, 3, "ns", "s0-redis-q", "so").await {
            Err(ProviderError::Unavailable(m)) => {
                assert!(
                    m.contains("shard 3") && m.contains(&address) && m.contains("ns/so"),
                    "{m}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
