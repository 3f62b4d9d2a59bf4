//! The Jobs of a simulated ScaledJob. Every Job the planning creates is the operator's own
//! Job object (`jobs::plan::new_job`) with one Pod, kept as the cluster would keep them, so the
//! operator's own counting (`plan::running_count`, `plan::pending_count`, with
//! `pendingPodConditions`) and history pruning (`plan::to_prune`) read them as they read the
//! cluster's.
//!
//! The model: a Job's Pod is `Pending` for the pod start-up model's delay (`--startup`, the
//! k-th Job created taking the k-th delay), then `Running` with `PodScheduled` and `Ready`
//! True for `--job-duration`, then the Pod has `Succeeded` and the Job is `Complete`. No Job
//! fails, and nothing a Job does changes the trigger's series (see `job_sim`).

use super::startup::Startup;
use crate::jobs::plan;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;
use std::collections::BTreeSet;
use std::time::Duration;

/// Where a Job is at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Running,
    Complete,
}

/// A Job's timings (ms) and where it is.
struct Timing {
    running_from: i64,
    done_at: i64,
    phase: Phase,
}

/// The Jobs of one ScaledJob: the i-th Job, its Pod and its timing at index i of each list
/// (kept apart so the operator's counting reads the Jobs and Pods without a copy).
pub struct JobWorld {
    jobs: Vec<Job>,
    pods: Vec<Pod>,
    timings: Vec<Timing>,
    created: u64,
    startup: Startup,
    duration_ms: i64,
    /// Job-seconds spent Running (for the totals).
    running_ms: i64,
}

fn at(ms: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_millisecond(ms).unwrap_or_default())
}

fn condition(type_: &str) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: "True".into(),
        ..Default::default()
    }
}

impl JobWorld {
    pub fn new(startup: Startup, duration: Duration) -> Self {
        Self {
            jobs: Vec::new(),
            pods: Vec::new(),
            timings: Vec::new(),
            created: 0,
            startup,
            duration_ms: duration.as_millis() as i64,
            running_ms: 0,
        }
    }

    /// Creates `n` Jobs from `template` at `t` (named `generateName` + a counter).
    pub fn create(&mut self, template: &Job, n: i64, t: i64) {
        for _ in 0..n.max(0) {
            let mut job = template.clone();
            let name = format!(
                "{}{}",
                job.metadata.generate_name.clone().unwrap_or_default(),
                self.created
            );
            job.metadata.name = Some(name.clone());
            let pod = Pod {
                metadata: ObjectMeta {
                    name: Some(format!("{name}-pod")),
                    namespace: job.metadata.namespace.clone(),
                    labels: Some([("job-name".to_string(), name)].into()),
                    ..Default::default()
                },
                spec: None,
                status: Some(PodStatus {
                    phase: Some("Pending".into()),
                    ..Default::default()
                }),
            };
            let running_from = t + self.startup.delay(self.created).as_millis() as i64;
            self.created += 1;
            self.jobs.push(job);
            self.pods.push(pod);
            self.timings.push(Timing {
                running_from,
                done_at: running_from + self.duration_ms,
                phase: Phase::Pending,
            });
        }
    }

    /// Moves every Job to where it is at `t`.
    pub fn advance(&mut self, t: i64) {
        let entries = self
            .jobs
            .iter_mut()
            .zip(&mut self.pods)
            .zip(&mut self.timings);
        for ((job, pod), e) in entries {
            if e.phase != Phase::Complete && t >= e.done_at {
                e.phase = Phase::Complete;
                self.running_ms += e.done_at - e.running_from;
                pod.status = Some(PodStatus {
                    phase: Some("Succeeded".into()),
                    ..Default::default()
                });
                job.status = Some(JobStatus {
                    conditions: Some(vec![JobCondition {
                        type_: "Complete".into(),
                        status: "True".into(),
                        ..Default::default()
                    }]),
                    completion_time: Some(at(e.done_at)),
                    succeeded: Some(1),
                    ..Default::default()
                });
            } else if e.phase == Phase::Pending && t >= e.running_from {
                e.phase = Phase::Running;
                pod.status = Some(PodStatus {
                    phase: Some("Running".into()),
                    conditions: Some(vec![condition("PodScheduled"), condition("Ready")]),
                    ..Default::default()
                });
            }
        }
    }

    /// The unfinished Jobs, counted by the operator's `plan::running_count`.
    pub fn running(&self) -> i64 {
        plan::running_count(&self.jobs)
    }

    /// The pending Jobs, counted by the operator's `plan::pending_count`.
    pub fn pending(&self, pending_pod_conditions: &[String]) -> i64 {
        plan::pending_count(&self.jobs, &self.pods, pending_pod_conditions)
    }

    /// Finished Jobs beyond the history limits go, as the operator prunes them.
    pub fn prune(&mut self, successful_limit: i32, failed_limit: i32) {
        let doomed: BTreeSet<String> = plan::to_prune(&self.jobs, successful_limit, failed_limit)
            .into_iter()
            .collect();
        if doomed.is_empty() {
            return;
        }
        let keep: Vec<bool> = self
            .jobs
            .iter()
            .map(|j| !doomed.contains(&j.name_any()))
            .collect();
        let mut k = keep.iter();
        self.jobs.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.pods.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.timings.retain(|_| *k.next().unwrap_or(&true));
    }

    /// Jobs created so far.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Job-hours spent Running by the Jobs finished so far, plus those running at `t`.
    pub fn job_hours(&self, t: i64) -> f64 {
        let running: i64 = self
            .timings
            .iter()
            .filter(|e| e.phase == Phase::Running)
            .map(|e| (t.min(e.done_at) - e.running_from).max(0))
            .sum();
        (self.running_ms + running) as f64 / 3_600_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Job {
        Job {
            metadata: ObjectMeta {
                generate_name: Some("w-".into()),
                namespace: Some("q".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn jobs_are_pending_then_running_then_complete_and_pruned() {
        let mut w = JobWorld::new(
            Startup::Fixed(Duration::from_secs(10)),
            Duration::from_secs(20),
        );
        w.create(&template(), 2, 0);
        w.advance(0);
        assert_eq!((w.running(), w.pending(&[])), (2, 2));
        w.advance(10_000);
        assert_eq!((w.running(), w.pending(&[])), (2, 0));
        let ready = vec!["Ready".to_string()];
        assert_eq!(w.pending(&ready), 0);
        w.create(&template(), 1, 25_000);
        w.advance(30_000);
        assert_eq!((w.running(), w.pending(&[])), (1, 1));
        assert!((w.job_hours(30_000) - 40.0 / 3600.0).abs() < 1e-9);
        w.prune(1, 1);
        assert_eq!(w.jobs.len(), 2, "one of the two finished Jobs is kept");
        assert_eq!((w.pods.len(), w.timings.len()), (2, 2));
        assert_eq!(w.jobs[0].name_any(), "w-1");
        assert_eq!(w.pods[0].name_any(), "w-1-pod");
        assert_eq!(w.created(), 3);
    }
}
