//! A tiny, test-driven stand-in for the Job controller and the kubelet: tests call it to start
//! a Job's Pod and to finish Jobs, and it writes what the real controllers would write.
//!
//! - [`ApiServer::start_job_pods`]: every unfinished Job of a namespace without a Pod gets one
//!   (named `<job>-pod`, labels of the Job's pod template plus `job-name`/`batch.kubernetes.io/job-name`,
//!   owned by the Job so it goes with it), phase `Running` with `PodScheduled` and `Ready`
//!   conditions True; the Job's `status.active` becomes 1 and `startTime` is set.
//! - [`ApiServer::finish_job`]: a Job succeeds (`Complete` condition True, `succeeded: 1`,
//!   `completionTime` as given) or fails (`Failed` condition True, `failed: 1`, no
//!   `completionTime`, as the Job controller leaves it for failed Jobs); its Pod's phase
//!   follows (`Succeeded`/`Failed`).
//!
//! Simplifications: one Pod per Job whatever `parallelism`/`completions` say; no retries
//! (`backoffLimit`), deadlines, TTL-after-finished or `SuccessCriteriaMet`/`FailureTarget`
//! interim conditions; Pods are created only when a test asks.

use crate::ApiServer;
use serde_json::{Value, json};

/// How a Job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
}

fn finished(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

impl ApiServer {
    /// The Jobs of `ns`, oldest name first.
    pub fn jobs(&self, ns: &str) -> Vec<Value> {
        let mut v: Vec<Value> = self
            .list("batch/v1", "Job")
            .into_iter()
            .filter(|j| j["metadata"]["namespace"] == ns)
            .collect();
        v.sort_by(|a, b| {
            a["metadata"]["name"]
                .as_str()
                .cmp(&b["metadata"]["name"].as_str())
        });
        v
    }

    /// Starts a Running Pod for every unfinished Job of `ns` that has none; returns how many.
    pub fn start_job_pods(&self, ns: &str) -> usize {
        let mut n = 0;
        for job in self.jobs(ns).into_iter().filter(|j| !finished(j)) {
            let name = job["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let pod_name = format!("{name}-pod");
            if self.get("v1", "Pod", ns, &pod_name).is_some() {
                continue;
            }
            let mut labels = job["spec"]["template"]["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            labels["job-name"] = json!(name);
            labels["batch.kubernetes.io/job-name"] = json!(name);
            self.put(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "labels": labels,
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                        "uid": job["metadata"]["uid"], "controller": true}]},
                "spec": job["spec"]["template"]["spec"],
                "status": {"phase": "Running", "conditions": [
                    {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}
            }));
            let mut j = job.clone();
            j["status"]["active"] = json!(1);
            j["status"]["startTime"] = json!("2026-01-01T00:00:00Z");
            self.put(j);
            n += 1;
        }
        n
    }

    /// Finishes a Job as the Job controller would; `completion_time` (RFC 3339) is used for
    /// a success.
    pub fn finish_job(&self, ns: &str, name: &str, outcome: Outcome, completion_time: &str) {
        let Some(mut job) = self.get("batch/v1", "Job", ns, name) else {
            panic!("no Job {ns}/{name}");
        };
        let (cond, count, phase) = match outcome {
            Outcome::Succeeded => ("Complete", "succeeded", "Succeeded"),
            Outcome::Failed => ("Failed", "failed", "Failed"),
        };
        job["status"]["active"] = json!(0);
        job["status"][count] = json!(1);
        job["status"]["conditions"] = json!([{"type": cond, "status": "True",
            "lastTransitionTime": completion_time, "lastProbeTime": completion_time}]);
        if outcome == Outcome::Succeeded {
            job["status"]["completionTime"] = json!(completion_time);
        }
        self.put(job);
        let pod_name = format!("{name}-pod");
        if let Some(mut pod) = self.get("v1", "Pod", ns, &pod_name) {
            pod["status"]["phase"] = json!(phase);
            pod["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "False"}]);
            self.put(pod);
        }
    }
}
