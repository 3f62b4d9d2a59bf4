//! The HPA of a simulated ScaledObject: `prescale-hpa-model` (the Kubernetes controller's
//! per-sync algorithm) built from the HPA the reconcile plans (`hpa::build`), reading what the
//! HPA controller would read on a cluster:
//!
//! - External metrics: the value the operator's metrics API serves for the metric (the last
//!   poll's evaluation), in milli-units; none yet, or a failing trigger, is a missing metric;
//! - Resource metrics (`cpu`/`memory` triggers): the workload's total usage from the series,
//!   spread evenly over the Ready pods, against one pod's request from the pod template;
//! - the target's `spec.replicas`, its pods (`status.replicas`) and the Ready pods.
//!
//! The bounds it enforces are the ones the operator last wrote (`SetHpaBounds`).

use super::objects::ResourceFeed;
use super::world::World;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use prescale_hpa_model::{ControllerConfig, Hpa, Milli, Observation, Target};
use std::collections::BTreeMap;

/// What one HPA metric reads.
enum Source {
    External(String),
    Resource {
        feed: ResourceFeed,
        cursor: usize,
        target: Target,
    },
}

/// The simulated HPA.
pub struct HpaSim {
    hpa: Hpa,
    sources: Vec<Source>,
}

/// One sync's answer.
pub struct SyncOut {
    pub desired: i32,
    pub reason: String,
    /// Per `cpu`/`memory` trigger (by index): the value the HPA saw (utilization % or
    /// per-pod average), for the table and chart.
    pub resource_values: Vec<(usize, Option<f64>)>,
}

impl HpaSim {
    /// The model for `hpa` (its metrics in the HPA's order, as `hpa::model_spec` reads them)
    /// with the given tolerance.
    pub fn new(
        hpa: &HorizontalPodAutoscaler,
        tolerance: f64,
        resources: &[ResourceFeed],
    ) -> Result<Self, String> {
        let spec = crate::hpa::model_spec(hpa)?;
        let mut sources = Vec::new();
        for (m, model) in hpa.spec.metrics.iter().flatten().zip(&spec.metrics) {
            if let Some(e) = &m.external {
                sources.push(Source::External(e.metric.name.clone()));
                continue;
            }
            let name = match (&m.resource, &m.container_resource) {
                (Some(r), _) => r.name.clone(),
                (None, Some(c)) => c.name.clone(),
                _ => return Err(format!("HPA metric type {} is not simulated", m.type_)),
            };
            let feed = resources
                .iter()
                .find(|r| r.spec.hpa_type() == m.type_ && matches!(&r.spec, prescale_scalers::MetricSpec::Resource { name: n, .. } if *n == name))
                .cloned()
                .ok_or_else(|| format!("the {name} metric has no series"))?;
            sources.push(Source::Resource {
                feed,
                cursor: 0,
                target: model.target,
            });
        }
        let config = ControllerConfig {
            tolerance,
            ..ControllerConfig::default()
        };
        Ok(Self {
            hpa: Hpa::new(spec, config),
            sources,
        })
    }

    /// One sync at `t` (ms).
    pub fn sync(
        &mut self,
        t: i64,
        world: &World,
        served: &BTreeMap<String, Option<f64>>,
    ) -> SyncOut {
        let ready = world.ready(t);
        let mut resource_values = Vec::new();
        let metrics = self
            .sources
            .iter_mut()
            .map(|s| match s {
                Source::External(name) => served
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| *v)
                    .map(|v| vec![(v.max(0.0) * 1000.0).round() as Milli])
                    .ok_or_else(|| format!("no value served for {name}")),
                Source::Resource {
                    feed,
                    cursor,
                    target,
                } => {
                    let (read, shown) = resource(feed, cursor, t, ready, target);
                    resource_values.push((feed.trigger_index, shown));
                    read
                }
            })
            .collect();
        (self.hpa.spec.min_replicas, self.hpa.spec.max_replicas) = world.hpa_bounds;
        let obs = Observation {
            spec_replicas: world.spec_replicas,
            status_replicas: world.pods.len() as i32,
            ready_pods: Some(ready),
            metrics,
        };
        let out = self.hpa.sync(t, &obs);
        SyncOut {
            desired: out.desired_replicas,
            reason: out.reason.as_str().to_string(),
            resource_values,
        }
    }
}

/// What the HPA reads for a Resource metric at `t`, and the value shown: for a Utilization
/// target each Ready pod's utilisation in percent of its request (the total usage spread
/// evenly), else the total usage (milli) that an average target divides.
fn resource(
    feed: &ResourceFeed,
    cursor: &mut usize,
    t: i64,
    ready: i32,
    target: &Target,
) -> (Result<Vec<Milli>, String>, Option<f64>) {
    let Some(total) = feed.series.at(t, cursor) else {
        return (Err(format!("{} has no value", feed.series.source)), None);
    };
    if !matches!(target, Target::Utilization(_)) {
        return (
            Ok(vec![(total.max(0.0) * 1000.0).round() as Milli]),
            Some(total),
        );
    }
    let Some(request) = feed.request.filter(|r| *r > 0.0) else {
        return (Err("the pods set no request for the resource".into()), None);
    };
    if ready <= 0 {
        return (
            Err("no metrics returned from resource metrics API".into()),
            None,
        );
    }
    let percent = total / f64::from(ready) / request * 100.0;
    (
        Ok(vec![percent.max(0.0).round() as Milli; ready as usize]),
        Some(percent),
    )
}
