//! A `metrics-api` trigger reading the operator's own admin `/metrics` page (OpenMetrics text
//! from prometheus-client, served by the real admin server): a gauge chosen by its labels, a
//! counter's `_total` sample, a histogram's `_count` and `_bucket`, and the histogram family
//! itself refused with the list of samples to choose from.

use prescale::telemetry::admin::{self, Readiness};
use prescale::telemetry::metrics::{ScalerTypeLabels, TriggerLabels, operator_registry};
use prescale_scalers::{Context, TriggerInput, registry};
use std::sync::Arc;

async fn read(url: &str, location: &str) -> Result<f64, String> {
    let input = TriggerInput::new(
        "metrics-api",
        0,
        &[
            ("url", url),
            ("format", "prometheus"),
            ("valueLocation", location),
            ("targetValue", "1"),
        ],
    );
    let s = registry::parse(&input)
        .map_err(|e| e.to_string())?
        .connect(&Context::default())
        .await
        .map_err(|e| e.to_string())?;
    s.sample().await.map(|v| v.value).map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_operators_own_metrics_page() {
    let (registry, m) = operator_registry();
    let labels = |so: &str| TriggerLabels {
        namespace: "jobs".into(),
        scaled_object: so.into(),
        scaler: "redis".into(),
        trigger_index: "0".into(),
        metric: "s0-redis-jobs".into(),
    };
    m.trigger_value.get_or_create(&labels("worker")).set(12.5);
    m.trigger_value.get_or_create(&labels("other")).set(3.0);
    let redis = ScalerTypeLabels {
        scaler: "redis".into(),
    };
    for seconds in [0.001, 0.002, 0.5] {
        m.query_latency.get_or_create(&redis).observe(seconds);
    }
    let listener = admin::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(admin::serve(
        listener,
        Arc::new(registry),
        Readiness::default(),
        std::future::pending(),
    ));
    let url = format!("http://{addr}/metrics");

    assert_eq!(
        read(
            &url,
            "prescale_scaler_metrics_value{scaled_object=\"worker\"}"
        )
        .await,
        Ok(12.5)
    );
    assert_eq!(
        read(
            &url,
            "prescale_scaler_metrics_value{scaled_object=\"other\"}"
        )
        .await,
        Ok(3.0)
    );
    let family = "prescale_scaler_query_latency_seconds";
    assert_eq!(
        read(&url, &format!("{family}_count{{scaler=\"redis\"}}")).await,
        Ok(3.0)
    );
    assert_eq!(
        read(
            &url,
            &format!("{family}_bucket{{scaler=\"redis\",le=\"+Inf\"}}")
        )
        .await,
        Ok(3.0)
    );
    let err = read(&url, family).await.unwrap_err();
    assert!(err.contains("is a histogram: choose one sample"), "{err}");
    let err = read(
        &url,
        "prescale_scaler_metrics_value{scaled_object=\"nobody\"}",
    )
    .await
    .unwrap_err();
    assert!(err.contains("not found"), "{err}");
}
