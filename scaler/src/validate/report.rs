//! The per-ScaledObject result of `prescale validate`: problems, warnings, the HPA that would be
//! created, and its metrics.

use super::load::{Loaded, Located};
use super::{Problem, check_spec, check_triggers, warnings};
use crate::hpa;
use crate::resolve::resolve;
use crate::scaling::pause::Pause;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use prescale_scalers::MetricSpec;
use serde::Serialize;

/// One HPA metric as KEDA would create it.
#[derive(Debug, Serialize)]
pub struct MetricSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub target: prescale_scalers::MetricTarget,
}

/// The result for one ScaledObject.
#[derive(Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub document: usize,
    pub namespace: String,
    pub name: String,
    pub valid: bool,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hpa: Option<HorizontalPodAutoscaler>,
    pub metrics: Vec<MetricSummary>,
    /// The coming changes of the HPA bounds that `schedule` triggers make (they need no
    /// backend; a `mysql-calendar`'s events are known only at run time).
    #[serde(rename = "preScaling", skip_serializing_if = "Vec::is_empty")]
    pub pre_scaling: Vec<crate::api::PlannedChange>,
}

/// How far ahead `validate` lists pre-scaling changes, and how many.
pub const PLAN_DAYS: i64 = 14;
pub const PLAN_LIMIT: usize = 20;

/// The next changes `schedule` triggers make from `now`. `leadTime: auto` uses the operator's
/// default lead (nothing is measured offline).
async fn schedule_plan(
    so: &crate::api::ScaledObject,
    inputs: &[prescale_scalers::TriggerInput],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::api::PlannedChange> {
    use prescale_scalers::prescale::{self, LeadTime};
    let default_lead = crate::prescaling::startup::LeadSettings::default().default;
    let ctx = prescale_scalers::Context::default();
    let mut scalers = Vec::new();
    for input in inputs.iter().filter(|i| i.trigger_type == "schedule") {
        if let Ok(def) = prescale_scalers::registry::parse(input)
            && let Ok(s) = def.connect(&ctx).await
        {
            let lead = match s.lead_time() {
                Some(LeadTime::Fixed(d)) => d,
                _ => default_lead,
            };
            scalers.push((s, lead));
        }
    }
    let rules: Vec<prescale::Rule<'_>> = scalers.iter().map(|(s, l)| (s.as_ref(), *l)).collect();
    if rules.is_empty() {
        return Vec::new();
    }
    crate::prescaling::planned_changes(
        so,
        &rules,
        now,
        now + chrono::Duration::days(PLAN_DAYS),
        PLAN_LIMIT,
    )
}

fn summary(specs: &[MetricSpec], composite: Option<&hpa::CompositeTarget>) -> Vec<MetricSummary> {
    let mut out: Vec<MetricSummary> = specs
        .iter()
        .filter(|s| composite.is_none() || s.external_name().is_none())
        .map(|s| match s {
            MetricSpec::External { name, target } => MetricSummary {
                name: name.clone(),
                type_: "External".into(),
                target: target.clone(),
            },
            MetricSpec::Resource { name, target, .. } => MetricSummary {
                name: name.clone(),
                type_: s.hpa_type().into(),
                target: target.clone(),
            },
        })
        .collect();
    if let Some(c) = composite {
        out.push(MetricSummary {
            name: crate::trigger::COMPOSITE_METRIC.into(),
            type_: "External".into(),
            target: c.target.clone(),
        });
    }
    out
}

/// cpu/memory triggers need a request or limit on the target's containers (Deployment and
/// StatefulSet only), or a LimitRange default in the namespace (webhook check).
fn resource_requests(loaded: &Loaded, so: &crate::api::ScaledObject) -> Vec<Problem> {
    let t = &so.spec.scale_target_ref;
    let ns = so.metadata.namespace.clone().unwrap_or_default();
    if !super::resources::checked_kind(t.kind()) {
        return Vec::new();
    }
    let Some((_, Some(template))) =
        loaded
            .source
            .workloads
            .get(&(ns.clone(), t.kind().to_string(), t.name.clone()))
    else {
        return Vec::new();
    };
    let containers = template
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let limit_ranges: Vec<_> = loaded
        .limit_ranges
        .iter()
        .filter(|lr| lr.metadata.namespace.as_deref().unwrap_or("default") == ns)
        .cloned()
        .collect();
    super::resources::check(so, &containers, &limit_ranges)
}

/// How `prescale validate` checks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace where ClusterTriggerAuthentication Secrets and ConfigMaps are looked up.
    pub cluster_object_namespace: String,
    /// The instant pre-scaling plans start from.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Unknown metadata keys are problems, not warnings.
    pub strict: bool,
}

/// Checks every ScaledObject loaded, then the checks across them.
pub async fn check_all(loaded: &Loaded, options: &Options) -> Vec<Report> {
    let mut reports = Vec::with_capacity(loaded.scaled_objects.len());
    for so in &loaded.scaled_objects {
        reports.push(check(loaded, so, options).await);
    }
    cross_checks(loaded, &mut reports);
    reports
}

/// Checks one ScaledObject against everything loaded.
pub async fn check(loaded: &Loaded, located: &Located, options: &Options) -> Report {
    let (cluster_ns, now) = (options.cluster_object_namespace.as_str(), options.now);
    let so = &located.object;
    let mut problems = check_spec(so);
    let mut warns = warnings(so);
    let ns = so.metadata.namespace.clone().unwrap_or_default();
    let t = &so.spec.scale_target_ref;
    if !t.name.is_empty()
        && !loaded.source.workloads.contains_key(&(
            ns.clone(),
            t.kind().to_string(),
            t.name.clone(),
        ))
    {
        warns.push(format!("scale target {} {ns}/{} is not among the given manifests; its env could not be resolved", t.kind(), t.name));
    }
    problems.extend(resource_requests(loaded, so));
    let pause = match Pause::from_annotations(
        so.metadata
            .annotations
            .as_ref()
            .unwrap_or(&Default::default()),
    ) {
        Ok(p) => p,
        Err(e) => {
            problems.push(Problem {
                field: "metadata.annotations".into(),
                trigger: None,
                message: e,
            });
            Pause::default()
        }
    };
    let mut specs = Vec::new();
    let mut pre_scaling = Vec::new();
    match resolve(&loaded.source, so, cluster_ns).await {
        Ok(resolved) => {
            warns.extend(resolved.warnings);
            let checked = check_triggers(so, &resolved.inputs);
            problems.extend(checked.problems);
            warns.extend(checked.warnings);
            if options.strict {
                problems.extend(checked.unknown_keys);
            } else {
                warns.extend(
                    checked
                        .unknown_keys
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message)),
                );
            }
            specs = checked.specs;
            pre_scaling = schedule_plan(so, &resolved.inputs, now).await;
        }
        Err(e) => problems.push(Problem {
            field: "spec.scaleTargetRef".into(),
            trigger: None,
            message: e,
        }),
    }
    let composite = hpa::composite_target(so).and_then(Result::ok);
    let valid = problems.is_empty();
    Report {
        file: located.file.clone(),
        document: located.document,
        namespace: ns,
        name: so.metadata.name.clone().unwrap_or_default(),
        valid,
        problems,
        warnings: warns,
        hpa: valid.then(|| hpa::build(so, &specs, composite.as_ref(), &pause)),
        metrics: summary(&specs, composite.as_ref()),
        pre_scaling: if valid { pre_scaling } else { Vec::new() },
    }
}

/// Webhook checks across ScaledObjects: one owner per workload and per HPA name. The first
/// owner of each is kept in a map, so the checks take linear time.
pub fn cross_checks(loaded: &Loaded, reports: &mut [Report]) {
    use std::collections::HashMap;
    let mut workloads: HashMap<(&str, &str, &str, &str), &str> = HashMap::new();
    let mut hpas: HashMap<(&str, String), &str> = HashMap::new();
    for (located, report) in loaded.scaled_objects.iter().zip(reports.iter_mut()) {
        let so = &located.object;
        let ns = so.metadata.namespace.as_deref().unwrap_or_default();
        let name = so.metadata.name.as_deref().unwrap_or_default();
        let t = &so.spec.scale_target_ref;
        let workload = (ns, t.api_version(), t.kind(), t.name.as_str());
        let hpa_name = hpa::hpa_name(so);
        if let Some(first) = workloads.get(&workload) {
            report.problems.push(Problem {
                field: "spec.scaleTargetRef".into(),
                trigger: None,
                message: format!(
                    "the workload '{}' of type '{}.{}' is already managed by the ScaledObject '{first}'",
                    t.name,
                    t.api_version(),
                    t.kind()
                ),
            });
        } else if let Some(first) = hpas.get(&(ns, hpa_name.clone())) {
            report.problems.push(Problem {
                field: "spec.advanced.horizontalPodAutoscalerConfig.name".into(),
                trigger: None,
                message: format!(
                    "the HPA '{hpa_name}' is already managed by the ScaledObject '{first}'"
                ),
            });
        }
        workloads.entry(workload).or_insert(name);
        hpas.entry((ns, hpa_name)).or_insert(name);
        if !report.problems.is_empty() {
            report.valid = false;
            report.hpa = None;
        }
    }
}
