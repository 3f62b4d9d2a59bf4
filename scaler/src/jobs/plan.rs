//! Pure decisions over a ScaledJob's Jobs, as KEDA's `scale_jobs.go` and the ScaledJob
//! controller make them: which Jobs are finished, running and pending; which finished Jobs
//! the history limits prune (oldest first); which Jobs a rollout deletes; and the Job objects
//! to create (labels, annotations, owner reference, `generateName`).

use crate::api::{
    SCALED_JOB_EXCLUDED_LABELS_ANNOTATION, SCALED_JOB_GENERATION_ANNOTATION, SCALED_JOB_NAME_LABEL,
    ScaledJob,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use std::collections::BTreeMap;

/// `Complete` or `Failed` when a condition of that type is True.
pub fn finished_type(job: &Job) -> Option<&'static str> {
    let conds = job.status.as_ref()?.conditions.as_ref()?;
    conds
        .iter()
        .find_map(|c| match (c.type_.as_str(), c.status.as_str()) {
            ("Complete", "True") => Some("Complete"),
            ("Failed", "True") => Some("Failed"),
            _ => None,
        })
}

pub fn is_finished(job: &Job) -> bool {
    finished_type(job).is_some()
}

/// The Jobs not finished.
pub fn running_count(jobs: &[Job]) -> i64 {
    jobs.iter().filter(|j| !is_finished(j)).count() as i64
}

/// The Pods of a Job (label `job-name`).
fn pods_of<'a>(job: &Job, pods: &'a [Pod]) -> impl Iterator<Item = &'a Pod> {
    let name = job.name_any();
    let ns = job.namespace();
    pods.iter().filter(move |p| {
        p.namespace() == ns && p.labels().get("job-name").is_some_and(|n| *n == name)
    })
}

/// Whether one Pod of the Job has every condition in `wanted` True.
fn conditions_fulfilled(job: &Job, pods: &[Pod], wanted: &[String]) -> bool {
    pods_of(job, pods).any(|p| {
        let conds = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .map(|c| c.as_slice())
            .unwrap_or_default();
        wanted
            .iter()
            .all(|w| conds.iter().any(|c| &c.type_ == w && c.status == "True"))
    })
}

/// Whether a Pod of the Job is Running or Succeeded.
fn any_pod_running_or_done(job: &Job, pods: &[Pod]) -> bool {
    pods_of(job, pods).any(|p| {
        matches!(
            p.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Running") | Some("Succeeded")
        )
    })
}

/// Unfinished Jobs still pending: with `pendingPodConditions`, no Pod has them all True;
/// without, no Pod is Running or Succeeded.
pub fn pending_count(jobs: &[Job], pods: &[Pod], pending_pod_conditions: &[String]) -> i64 {
    jobs.iter()
        .filter(|j| !is_finished(j))
        .filter(|j| {
            if pending_pod_conditions.is_empty() {
                !any_pod_running_or_done(j, pods)
            } else {
                !conditions_fulfilled(j, pods, pending_pod_conditions)
            }
        })
        .count() as i64
}

/// The finished Jobs beyond the history limits, oldest completion first (KEDA's `cleanUp`).
pub fn to_prune(jobs: &[Job], successful_limit: i32, failed_limit: i32) -> Vec<String> {
    let mut out = Vec::new();
    for (kind, limit) in [("Complete", successful_limit), ("Failed", failed_limit)] {
        let mut done: Vec<&Job> = jobs
            .iter()
            .filter(|j| finished_type(j) == Some(kind))
            .collect();
        // a Job without completionTime sorts first, as Go's nil Time.Before does
        done.sort_by_key(|j| {
            j.status
                .as_ref()
                .and_then(|s| s.completion_time.as_ref())
                .map(|t| t.0)
        });
        let extra = done.len().saturating_sub(limit.max(0) as usize);
        out.extend(done[..extra].iter().map(|j| j.name_any()));
    }
    out
}

/// Jobs a `default` rollout deletes: those without this generation's annotation (all
/// Jobs, finished or not, as KEDA does). `gradual` deletes none.
pub fn to_roll_out(sj: &ScaledJob, jobs: &[Job]) -> Vec<String> {
    if sj.spec.rollout_strategy() == "gradual" {
        return Vec::new();
    }
    let generation = sj.metadata.generation.unwrap_or(0).to_string();
    jobs.iter()
        .filter(|j| j.annotations().get(SCALED_JOB_GENERATION_ANNOTATION) != Some(&generation))
        .map(|j| j.name_any())
        .collect()
}

/// The Job KEDA creates from the template: `generateName: <name>-`, KEDA's labels plus the
/// ScaledJob's (minus the excluded ones), the generation annotation plus the ScaledJob's
/// annotations, `restartPolicy: OnFailure` when unset, the ScaledJob as controller owner.
pub fn new_job(sj: &ScaledJob, version: &str) -> Job {
    let name = sj.name_any();
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), name.clone()),
        ("app.kubernetes.io/version".to_string(), version.to_string()),
        ("app.kubernetes.io/part-of".to_string(), name.clone()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            "keda-operator".to_string(),
        ),
        (SCALED_JOB_NAME_LABEL.to_string(), name.clone()),
    ]);
    let excluded: Vec<&str> = sj
        .annotations()
        .get(SCALED_JOB_EXCLUDED_LABELS_ANNOTATION)
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    for (k, v) in sj.labels() {
        if !excluded.contains(&k.as_str()) {
            labels.insert(k.clone(), v.clone());
        }
    }
    let mut annotations = BTreeMap::from([(
        SCALED_JOB_GENERATION_ANNOTATION.to_string(),
        sj.metadata.generation.unwrap_or(0).to_string(),
    )]);
    annotations.extend(sj.annotations().clone());
    let mut spec = sj.spec.job_target_ref.clone();
    let tpl_meta = spec.template.metadata.get_or_insert_with(Default::default);
    tpl_meta.generate_name = Some(format!("{name}-"));
    tpl_meta
        .labels
        .get_or_insert_with(Default::default)
        .insert(SCALED_JOB_NAME_LABEL.to_string(), name.clone());
    if let Some(pod) = spec.template.spec.as_mut()
        && pod.restart_policy.as_deref().unwrap_or("").is_empty()
    {
        pod.restart_policy = Some("OnFailure".into());
    }
    Job {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: sj.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "keda.sh/v1alpha1".into(),
                kind: "ScaledJob".into(),
                name,
                uid: sj.uid().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(name: &str, finished: Option<(&str, &str)>, generation: Option<&str>) -> Job {
        let mut v = json!({"metadata": {"name": name, "namespace": "q"}});
        if let Some(g) = generation {
            v["metadata"]["annotations"] = json!({SCALED_JOB_GENERATION_ANNOTATION: g});
        }
        if let Some((t, at)) = finished {
            v["status"] =
                json!({"conditions": [{"type": t, "status": "True"}], "completionTime": at});
        }
        serde_json::from_value(v).unwrap()
    }

    fn pod(job: &str, phase: &str, conds: &[&str]) -> Pod {
        let c: Vec<_> = conds
            .iter()
            .map(|t| json!({"type": t, "status": "True"}))
            .collect();
        serde_json::from_value(json!({"metadata": {"name": format!("{job}-p"), "namespace": "q", "labels": {"job-name": job}},
            "status": {"phase": phase, "conditions": c}}))
        .unwrap()
    }

    fn names(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    /// KEDA's TestCleanUpNormalCase and TestCleanUpMixedCaseWithSortByTime.
    #[test]
    fn keda_cleanup_vectors() {
        let jobs = [
            job("name1", Some(("Complete", "2020-07-29T15:37:00Z")), None),
            job("name2", Some(("Complete", "2020-07-29T15:36:00Z")), None),
            job("name3", Some(("Complete", "2020-07-29T15:38:00Z")), None),
        ];
        assert_eq!(to_prune(&jobs, 2, 2), ["name2"]);
        let jobs = [
            job("success1", Some(("Complete", "2020-07-29T15:37:00Z")), None),
            job("success2", Some(("Complete", "2020-07-29T15:36:00Z")), None),
            job("success3", Some(("Complete", "2020-07-29T15:35:00Z")), None),
            job("fail1", Some(("Failed", "2020-07-29T15:37:00Z")), None),
            job("fail2", Some(("Failed", "2020-07-29T15:36:00Z")), None),
            job("fail3", Some(("Failed", "2020-07-29T15:38:00Z")), None),
            job("running", None, None),
        ];
        assert_eq!(
            names(to_prune(&jobs, 1, 2)),
            ["fail2", "success2", "success3"]
        );
        assert_eq!(running_count(&jobs), 1);
    }

    /// KEDA's TestCleanUpDefaultValue: 101 successes and 101 failures, limits 100 → the
    /// oldest of each goes.
    #[test]
    fn keda_cleanup_default_limits() {
        let mut jobs = vec![job(
            "success0",
            Some(("Complete", "2020-07-29T15:35:00Z")),
            None,
        )];
        jobs.extend((1..101).map(|i| {
            job(
                &format!("success{i}"),
                Some(("Complete", "2020-07-29T15:40:00Z")),
                None,
            )
        }));
        jobs.push(job(
            "fail101",
            Some(("Failed", "2020-07-29T15:35:00Z")),
            None,
        ));
        jobs.extend((102..202).map(|i| {
            job(
                &format!("fail{i}"),
                Some(("Failed", "2020-07-29T15:40:00Z")),
                None,
            )
        }));
        assert_eq!(names(to_prune(&jobs, 100, 100)), ["fail101", "success0"]);
    }

    /// KEDA's TestGetPendingJobCount table (one Job; its Pods' phases and conditions).
    #[test]
    fn keda_pending_vectors() {
        let conds: Vec<String> = vec!["Ready".into(), "PodScheduled".into()];
        let j = [job("j", None, None)];
        let rows: &[(&[String], Vec<Pod>, i64)] = &[
            (&[], vec![pod("j", "Succeeded", &[])], 0),
            (&[], vec![pod("j", "Running", &[])], 0),
            (&[], vec![pod("j", "Failed", &[])], 1),
            (&[], vec![pod("j", "Pending", &[])], 1),
            (&[], vec![pod("j", "Unknown", &[])], 1),
            (&conds, vec![pod("j", "", &[])], 1),
            (&conds, vec![pod("j", "", &["Ready"])], 1),
            (&conds, vec![pod("j", "", &["PodScheduled"])], 1),
            (&conds, vec![pod("j", "", &["Ready", "PodScheduled"])], 0),
            (
                &conds,
                vec![
                    pod("j", "", &["Ready", "PodScheduled"]),
                    pod("j", "", &["Ready"]),
                ],
                0,
            ),
            (
                &conds,
                vec![pod("j", "", &["Ready"]), pod("j", "", &["PodScheduled"])],
                1,
            ),
            (
                &conds,
                vec![
                    pod("j", "", &[]),
                    pod("j", "", &["Ready"]),
                    pod("j", "", &["Ready", "PodScheduled"]),
                ],
                0,
            ),
            (&[], vec![pod("j", "Running", &["Ready"])], 0),
        ];
        for (i, (c, pods, want)) in rows.iter().enumerate() {
            assert_eq!(pending_count(&j, pods, c), *want, "row {i}");
        }
        // a finished Job is never pending; a Job without Pods is
        let done = [
            job("d", Some(("Complete", "2020-07-29T15:35:00Z")), None),
            job("new", None, None),
        ];
        assert_eq!(pending_count(&done, &[], &[]), 1);
    }

    #[test]
    fn rollout_default_deletes_other_generations_gradual_none() {
        let mut sj: ScaledJob = serde_json::from_value(
            json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
            "metadata": {"name": "w", "namespace": "q", "generation": 2},
            "spec": {"jobTargetRef": {"template": {}}, "triggers": []}}),
        )
        .unwrap();
        let jobs = [
            job("old", None, Some("1")),
            job("bare", None, None),
            job("new", None, Some("2")),
            job(
                "old-done",
                Some(("Complete", "2020-07-29T15:35:00Z")),
                Some("1"),
            ),
        ];
        assert_eq!(names(to_roll_out(&sj, &jobs)), ["bare", "old", "old-done"]);
        sj.spec.rollout_strategy = "gradual".into();
        assert!(to_roll_out(&sj, &jobs).is_empty());
    }

    #[test]
    fn new_job_carries_keda_metadata() {
        let sj: ScaledJob = serde_json::from_value(json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
            "metadata": {"name": "w", "namespace": "q", "generation": 3, "uid": "u-1",
                "labels": {"team": "a", "secret-ish": "x"},
                "annotations": {SCALED_JOB_EXCLUDED_LABELS_ANNOTATION: "secret-ish"}},
            "spec": {"jobTargetRef": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}, "triggers": []}})).unwrap();
        let j = serde_json::to_value(new_job(&sj, "1.2.3")).unwrap();
        let m = &j["metadata"];
        assert_eq!(m["generateName"], "w-");
        assert_eq!(m["namespace"], "q");
        assert_eq!(m["labels"][SCALED_JOB_NAME_LABEL], "w");
        assert_eq!(m["labels"]["app.kubernetes.io/managed-by"], "keda-operator");
        assert_eq!(m["labels"]["app.kubernetes.io/version"], "1.2.3");
        assert_eq!(m["labels"]["team"], "a");
        assert!(m["labels"].get("secret-ish").is_none());
        assert_eq!(m["annotations"][SCALED_JOB_GENERATION_ANNOTATION], "3");
        assert_eq!(m["ownerReferences"][0]["kind"], "ScaledJob");
        assert_eq!(m["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(m["ownerReferences"][0]["controller"], true);
        let t = &j["spec"]["template"];
        assert_eq!(t["metadata"]["labels"][SCALED_JOB_NAME_LABEL], "w");
        assert_eq!(t["spec"]["restartPolicy"], "OnFailure");
    }
}
