//! ScaledJob checks as KEDA's ScaledJob controller and webhook make them, used by the
//! operator (a bad ScaledJob gets Ready=False and an Event) and by `prescale validate`.

use super::{Problem, check_trigger_inputs};
use crate::api::ScaledJob;
use crate::resolve::{ObjectSource, resolve_triggers};
use serde::Serialize;

const STRATEGIES: &[&str] = &["", "default", "custom", "accurate", "eager"];
const CALCULATIONS: &[&str] = &["", "max", "min", "avg", "sum"];
const ROLLOUTS: &[&str] = &["", "default", "gradual"];

/// Checks of the spec alone (errors).
pub fn check_spec(sj: &ScaledJob) -> Vec<Problem> {
    let mut out = Vec::new();
    let spec = &sj.spec;
    let name = sj.metadata.name.clone().unwrap_or_default();
    if name.len() > 63 {
        out.push(Problem::new(
            "metadata.name",
            format!(
                "ScaledJob name {name:?} is longer than 63 characters (it is used as a label value)"
            ),
        ));
    }
    let containers = spec
        .job_target_ref
        .template
        .spec
        .as_ref()
        .map(|p| p.containers.len())
        .unwrap_or(0);
    if containers == 0 {
        out.push(Problem::new(
            "spec.jobTargetRef.template.spec.containers",
            "ScaledJob.spec.jobTargetRef.template has no containers",
        ));
    }
    if let (Some(min), Some(max)) = (spec.min_replica_count, spec.max_replica_count)
        && min > max
    {
        out.push(Problem::new(
            "spec.minReplicaCount",
            format!("MinReplicaCount={min} must be less than MaxReplicaCount={max}"),
        ));
    }
    if spec.triggers.is_empty() {
        out.push(Problem::new(
            "spec.triggers",
            "no triggers defined in the ScaledObject/ScaledJob",
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, t) in spec.triggers.iter().enumerate() {
        if t.type_.is_empty() {
            out.push(Problem::trigger(i, "type", "trigger type is missing"));
        }
        if let Some(n) = t.name.as_deref().filter(|n| !n.is_empty()) {
            if names.contains(&n) {
                out.push(Problem::trigger(i, "name", format!("triggerName {n:?} is defined multiple times in the ScaledObject/ScaledJob, but it must be unique")));
            }
            names.push(n);
        }
        // KEDA's ValidateTriggers, shared by its ScaledJob controller and webhook
        if t.use_cached_metrics == Some(true)
            && ["cpu", "memory", "cron"].contains(&t.type_.as_str())
        {
            out.push(Problem::trigger(
                i,
                "useCachedMetrics",
                format!(
                    "property \"useCachedMetrics\" is not supported for {:?} scaler",
                    t.type_
                ),
            ));
        }
        if t.metric_type.as_deref().is_some_and(|m| !m.is_empty()) {
            out.push(Problem::trigger(
                i,
                "metricType",
                "Cannot set metricType in ScaledJob triggers",
            ));
        }
        if ["cpu", "memory"].contains(&t.type_.as_str()) {
            out.push(Problem::trigger(
                i,
                "type",
                format!(
                    "{} triggers give no queue length: a ScaledJob cannot scale on them",
                    t.type_
                ),
            ));
        }
    }
    out
}

/// Settings KEDA accepts but ignores or replaces (it falls back to its defaults silently).
pub fn warnings(sj: &ScaledJob) -> Vec<String> {
    let spec = &sj.spec;
    let mut out = Vec::new();
    let s = spec.scaling_strategy();
    if !STRATEGIES.contains(&s.strategy.as_str()) {
        out.push(format!(
            "spec.scalingStrategy.strategy {:?} is not default, custom, accurate or eager: KEDA uses default",
            s.strategy
        ));
    }
    if s.strategy == "custom"
        && s.custom_scaling_running_job_percentage
            .trim()
            .parse::<f64>()
            .is_err()
    {
        out.push(format!(
            "spec.scalingStrategy.customScalingRunningJobPercentage {:?} is not a number: KEDA uses the default strategy",
            s.custom_scaling_running_job_percentage
        ));
    }
    if !CALCULATIONS.contains(&s.multiple_scalers_calculation.as_str()) {
        out.push(format!(
            "spec.scalingStrategy.multipleScalersCalculation {:?} is not max, min, avg or sum: KEDA uses max",
            s.multiple_scalers_calculation
        ));
    }
    if !ROLLOUTS.contains(&spec.rollout_strategy()) {
        out.push(format!(
            "rollout strategy {:?} is not default or gradual: KEDA uses default",
            spec.rollout_strategy()
        ));
    }
    if !spec.rollout_strategy.is_empty() {
        out.push("spec.rolloutStrategy is deprecated, use spec.rollout.strategy".into());
    }
    if spec
        .triggers
        .iter()
        .any(|t| t.use_cached_metrics == Some(true))
    {
        out.push("useCachedMetrics is not supported for ScaledJobs".into());
    }
    let env = &spec.env_source_container_name;
    let has_container = spec
        .job_target_ref
        .template
        .spec
        .as_ref()
        .is_some_and(|p| p.containers.iter().any(|c| &c.name == env));
    if !env.is_empty() && !has_container {
        out.push(format!(
            "spec.envSourceContainerName {env:?} names no container of the Job template: no environment is resolved"
        ));
    }
    out
}

/// The `prescale validate` result for one ScaledJob.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub file: String,
    pub document: usize,
    pub namespace: String,
    pub name: String,
    pub valid: bool,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// The trigger types, in order.
    pub triggers: Vec<String>,
}

/// Checks one ScaledJob read from manifests: its spec, then its triggers resolved against
/// `source` (TriggerAuthentications, Secrets, the Job template's env) and parsed offline.
/// With `strict`, metadata keys a trigger does not read are problems (else warnings).
pub async fn check_job(
    source: &dyn ObjectSource,
    (file, document): (&str, usize),
    sj: &ScaledJob,
    cluster_ns: &str,
    strict: bool,
) -> JobReport {
    let mut problems = check_spec(sj);
    let mut warns = warnings(sj);
    let ns = sj.metadata.namespace.clone().unwrap_or_default();
    let name = sj.metadata.name.clone().unwrap_or_default();
    let (containers, env) = sj.spec.env_sources();
    match resolve_triggers(
        source,
        &ns,
        Vec::new(),
        &containers,
        env,
        &sj.spec.triggers,
        cluster_ns,
    )
    .await
    {
        Ok(resolved) => {
            warns.extend(resolved.warnings);
            let checked = check_trigger_inputs(&format!("ScaledJob {name}"), &resolved.inputs);
            problems.extend(checked.problems);
            warns.extend(checked.warnings);
            if strict {
                problems.extend(checked.unknown_keys);
            } else {
                warns.extend(
                    checked
                        .unknown_keys
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message)),
                );
            }
        }
        Err(e) => problems.push(Problem::new("spec.triggers", e)),
    }
    JobReport {
        file: file.to_string(),
        document,
        namespace: ns,
        name,
        valid: problems.is_empty(),
        problems,
        warnings: warns,
        triggers: sj.spec.triggers.iter().map(|t| t.type_.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sj(yaml: &str) -> ScaledJob {
        serde_yaml::from_str(yaml).unwrap()
    }

    const BASE: &str =
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {name: w, namespace: q}\n";

    #[test]
    fn good_spec_has_no_problems() {
        let s = sj(&format!(
            "{BASE}spec:\n  jobTargetRef: {{template: {{spec: {{containers: [{{name: c, image: i}}]}}}}}}\n  triggers: [{{type: redis, metadata: {{listName: q}}}}]\n"
        ));
        assert!(check_spec(&s).is_empty());
        assert!(warnings(&s).is_empty());
    }

    #[test]
    fn bad_specs_name_the_field() {
        let s = sj(&format!(
            "{BASE}spec:\n  jobTargetRef: {{template: {{}}}}\n  minReplicaCount: 5\n  maxReplicaCount: 2\n  envSourceContainerName: nope\n  rolloutStrategy: sideways\n  scalingStrategy: {{strategy: custom, customScalingRunningJobPercentage: half, multipleScalersCalculation: median}}\n  triggers:\n  - {{type: redis, name: a, metricType: Value, metadata: {{}}}}\n  - {{type: cpu, name: a, metadata: {{}}}}\n"
        ));
        let p: Vec<(String, String)> = check_spec(&s)
            .into_iter()
            .map(|p| (p.field, p.message))
            .collect();
        let fields: Vec<&str> = p.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.jobTargetRef.template.spec.containers",
                "spec.minReplicaCount",
                "spec.triggers[0].metricType",
                "spec.triggers[1].name",
                "spec.triggers[1].type"
            ]
        );
        assert_eq!(
            p[1].1,
            "MinReplicaCount=5 must be less than MaxReplicaCount=2"
        );
        assert_eq!(p[2].1, "Cannot set metricType in ScaledJob triggers");
        let w = warnings(&s).join("\n");
        for part in [
            "\"half\"",
            "\"median\"",
            "\"sideways\"",
            "deprecated",
            "\"nope\"",
        ] {
            assert!(w.contains(part), "{part} missing in {w}");
        }
    }

    #[test]
    fn cached_metrics_are_refused_where_keda_refuses_them() {
        let s = sj(&format!(
            "{BASE}spec:\n  jobTargetRef: {{template: {{spec: {{containers: [{{name: c, image: i}}]}}}}}}\n  triggers:\n  - {{type: redis, useCachedMetrics: true, metadata: {{listName: q}}}}\n  - {{type: cron, useCachedMetrics: true, metadata: {{}}}}\n"
        ));
        let p: Vec<(String, String)> = check_spec(&s)
            .into_iter()
            .map(|p| (p.field, p.message))
            .collect();
        assert_eq!(
            p,
            [(
                "spec.triggers[1].useCachedMetrics".to_string(),
                "property \"useCachedMetrics\" is not supported for \"cron\" scaler".to_string()
            )]
        );
        // a scaler that may cache is only warned about (a ScaledJob never caches)
        assert!(warnings(&s).iter().any(|w| w.contains("useCachedMetrics")));
    }
}
