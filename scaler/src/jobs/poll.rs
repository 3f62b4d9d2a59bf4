//! One poll of one ScaledJob, in KEDA's order: pause, check (once per generation, and again
//! while it fails), rollout of older Jobs, read the triggers, count the Jobs, create the
//! strategy's number of Jobs, set Ready/Active, prune finished Jobs to the history limits.
//! Decisions are the pure functions of [`super::strategy`] and [`super::plan`]; writes go
//! through `crate::write::Writer`.

use super::plan;
use super::strategy::{self, ScalerMetrics};
use super::{messages as msg, reasons};
use crate::api::conditions::{ACTIVE, PAUSED, READY};
use crate::api::{SCALED_JOB_NAME_LABEL, ScaledJob, ScaledJobStatus};
use crate::resolve::kube::KubeSource;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use prescale_scalers::{Scaler, TriggerDefinition};
use std::sync::Arc;

/// What every poll needs.
pub struct Deps {
    pub client: Client,
    pub writer: crate::write::Writer,
    pub scalers: prescale_scalers::Context,
    pub cluster_ns: String,
    /// The operator's informer caches (Secrets, ConfigMaps, TriggerAuthentications) the check
    /// resolves triggers from; None reads them from the API.
    pub caches: Option<crate::cache::Caches>,
    /// `app.kubernetes.io/version` of the Jobs.
    pub version: String,
}

/// What a ScaledJob's loop keeps between polls.
#[derive(Default)]
pub struct State {
    /// The generation last checked (and rolled out).
    generation: Option<i64>,
    definitions: Vec<Box<dyn TriggerDefinition>>,
    /// Connected scalers, per trigger (None: connect on the next poll).
    scalers: Vec<Option<Arc<dyn Scaler>>>,
    check_error: Option<String>,
}

/// KEDA's pause rule: `autoscaling.keda.sh/paused` pauses unless it parses as a false bool.
pub fn paused(sj: &ScaledJob) -> bool {
    sj.annotations()
        .get(crate::scaling::pause::PAUSED)
        .is_some_and(|v| prescale_scalers::params::parse_go_bool(v) != Some(false))
}

/// Runs one poll; errors are reported in status, Events and logs, never raised.
pub async fn poll(d: &Deps, sj: &ScaledJob, st: &mut State) {
    let mut status = sj.status.clone().unwrap_or_default();
    if status.conditions.is_empty() {
        status.conditions = ScaledJobStatus::initial_conditions();
    }
    let was_paused = status.condition(PAUSED).is_some_and(|c| c.is_true());
    if paused(sj) {
        if status.set_condition(PAUSED, "True", reasons::PAUSED, msg::PAUSED) && !was_paused {
            d.writer.job_event(sj, reasons::PAUSED, msg::PAUSED).await;
        }
        st.generation = None; // re-check when unpaused
        return write_status(d, sj, &status).await;
    }
    if was_paused {
        status.set_condition(PAUSED, "False", reasons::UNPAUSED, msg::UNPAUSED);
        d.writer
            .job_event(sj, reasons::UNPAUSED, msg::UNPAUSED)
            .await;
    }
    let generation = sj.metadata.generation.unwrap_or(0);
    if st.generation != Some(generation) || st.check_error.is_some() {
        check_and_roll_out(d, sj, st, &mut status).await;
        st.generation = Some(generation);
    }
    if let Some(m) = &st.check_error {
        let changed = status.set_condition(READY, "False", reasons::CHECK_FAILED, m);
        status.set_condition(ACTIVE, "Unknown", "UnknownState", msg::CHECK_FAILED_ACTIVE);
        if changed {
            d.writer
                .job_warning(sj, reasons::CHECK_FAILED, m.clone())
                .await;
        }
        return write_status(d, sj, &status).await;
    }
    scale(d, sj, st, &mut status).await;
    write_status(d, sj, &status).await;
}

async fn write_status(d: &Deps, sj: &ScaledJob, status: &ScaledJobStatus) {
    if let Err(e) = d.writer.scaled_job_status(sj, status).await {
        tracing::warn!(scaledjob = %sj.name_any(), error = %e.text(), "ScaledJob status update failed");
    }
}

/// The controller's reconcile part: check the spec and triggers, delete older Jobs per
/// rollout, note trigger and authentication types, set Ready.
async fn check_and_roll_out(
    d: &Deps,
    sj: &ScaledJob,
    st: &mut State,
    status: &mut ScaledJobStatus,
) {
    let source = KubeSource {
        client: d.client.clone(),
        caches: d.caches.clone(),
    };
    match super::check::check(&source, sj, &d.cluster_ns).await {
        Err(m) => {
            st.check_error = Some(m);
            st.definitions.clear();
            st.scalers.clear();
        }
        Ok(c) => {
            st.check_error = None;
            st.scalers = c.definitions.iter().map(|_| None).collect();
            st.definitions = c.definitions;
            roll_out(d, sj).await;
            set_types(sj, status);
            let was_ready = status.condition(READY).is_some_and(|c| c.is_true());
            status.set_condition(READY, "True", reasons::READY, msg::READY);
            if !was_ready {
                d.writer.job_event(sj, reasons::READY, msg::READY).await;
            }
        }
    }
}

fn set_types(sj: &ScaledJob, status: &mut ScaledJobStatus) {
    let mut types: Vec<&str> = Vec::new();
    let mut auths: Vec<&str> = Vec::new();
    for t in &sj.spec.triggers {
        if !types.contains(&t.type_.as_str()) {
            types.push(&t.type_);
        }
        if let Some(a) = &t.authentication_ref
            && !auths.contains(&a.name.as_str())
        {
            auths.push(&a.name);
        }
    }
    status.triggers_types = Some(types.join(","));
    status.authentications_types = (!auths.is_empty()).then(|| auths.join(","));
}

async fn list_jobs(d: &Deps, sj: &ScaledJob) -> Result<Vec<Job>, String> {
    let api: Api<Job> = Api::namespaced(d.client.clone(), &sj.namespace().unwrap_or_default());
    let lp = ListParams::default().labels(&format!("{SCALED_JOB_NAME_LABEL}={}", sj.name_any()));
    api.list(&lp)
        .await
        .map(|l| l.items)
        .map_err(|e| crate::kube_client::kube_error_text(&e))
}

async fn list_pods(d: &Deps, sj: &ScaledJob) -> Result<Vec<Pod>, String> {
    let api: Api<Pod> = Api::namespaced(d.client.clone(), &sj.namespace().unwrap_or_default());
    let lp = ListParams::default().labels(&format!("{SCALED_JOB_NAME_LABEL}={}", sj.name_any()));
    api.list(&lp)
        .await
        .map(|l| l.items)
        .map_err(|e| crate::kube_client::kube_error_text(&e))
}

/// `default` rollout: the Jobs of older generations go (background, or foreground when
/// `rollout.propagationPolicy: foreground`); `gradual` leaves them.
async fn roll_out(d: &Deps, sj: &ScaledJob) {
    let jobs = match list_jobs(d, sj).await {
        Ok(j) => j,
        Err(e) => {
            return tracing::warn!(scaledjob = %sj.name_any(), error = %e, "cannot list Jobs for the rollout");
        }
    };
    let old = plan::to_roll_out(sj, &jobs);
    if old.is_empty() {
        return;
    }
    let ns = sj.namespace().unwrap_or_default();
    let mut deleted = 0;
    for name in &old {
        match d
            .writer
            .delete_job(&ns, name, sj.spec.foreground_deletion())
            .await
        {
            Ok(()) => deleted += 1,
            Err(e) => {
                tracing::warn!(job = %name, error = %e.text(), "cannot delete a Job of an older ScaledJob generation")
            }
        }
    }
    d.writer
        .job_event(sj, reasons::ROLLOUT_CLEANUP_COMPLETED, format!("RolloutStrategy: immediate, deleted jobs owned by the previous version of the scaleJob: {deleted} jobs deleted"))
        .await;
}

/// Reads every trigger: (metrics of the triggers that answered, whether any failed).
async fn sample(d: &Deps, sj: &ScaledJob, st: &mut State) -> (Vec<ScalerMetrics>, bool) {
    let max = sj.spec.max_replica_count();
    let (mut out, mut error) = (Vec::new(), false);
    for (i, def) in st.definitions.iter().enumerate() {
        let spec = def.metric_spec();
        if spec.external_name().is_none() {
            continue; // cpu/memory give no queue length (KEDA skips them)
        }
        let scaler = match &st.scalers[i] {
            Some(s) => Ok(s.clone()),
            None => def.connect(&d.scalers).await,
        };
        let reading = match scaler {
            Ok(s) => {
                st.scalers[i] = Some(s.clone());
                s.sample().await
            }
            Err(e) => Err(e),
        };
        match reading {
            Ok(r) => out.push(ScalerMetrics::from_sample(&spec, r.value, r.active, max)),
            Err(e) => {
                st.scalers[i] = None; // reconnect next time
                error = true;
                d.writer
                    .job_warning(sj, reasons::SCALER_FAILED, e.to_string())
                    .await;
            }
        }
    }
    (out, error)
}

/// KEDA's `RequestJobScale`.
async fn scale(d: &Deps, sj: &ScaledJob, st: &mut State, status: &mut ScaledJobStatus) {
    let (metrics, is_error) = sample(d, sj, st).await;
    let (jobs, pods) = match (list_jobs(d, sj).await, list_pods(d, sj).await) {
        (Ok(j), Ok(p)) => (j, p),
        (Err(e), _) | (_, Err(e)) => {
            // without the Job count no number is right: create nothing this poll
            return tracing::warn!(scaledjob = %sj.name_any(), error = %e, "cannot count the ScaledJob's Jobs");
        }
    };
    let pending_conditions = sj.spec.scaling_strategy().pending_pod_conditions;
    let decision = strategy::decide(
        &sj.spec,
        &metrics,
        plan::running_count(&jobs),
        plan::pending_count(&jobs, &pods, &pending_conditions),
    );
    let active = decision.inputs.combined.is_active;
    if active {
        status.last_active_time = Some(crate::time::time_of(d.scalers.clock.now()));
        create_jobs(d, sj, decision.create).await;
    }
    ready_and_active(d, sj, status, active, is_error).await;
    prune(d, sj, &jobs).await;
}

async fn create_jobs(d: &Deps, sj: &ScaledJob, n: i64) {
    if n <= 0 {
        return;
    }
    let job = plan::new_job(sj, &d.version);
    for _ in 0..n {
        if let Err(e) = d.writer.create_job(&job).await {
            d.writer
                .job_warning(
                    sj,
                    reasons::JOB_CREATE_FAILED,
                    format!("Failed to create job {}-: {}", sj.name_any(), e.text()),
                )
                .await;
        }
    }
    d.writer
        .job_event(sj, reasons::JOBS_CREATED, format!("Created {n} jobs"))
        .await;
}

async fn ready_and_active(
    d: &Deps,
    sj: &ScaledJob,
    status: &mut ScaledJobStatus,
    active: bool,
    error: bool,
) {
    match (error, active) {
        (true, true) => {
            status.set_condition(READY, "Unknown", "PartialTriggerError", msg::PARTIAL_ERROR)
        }
        (true, false) => status.set_condition(READY, "False", "TriggerError", msg::ALL_ERROR),
        (false, _) => {
            let was = status.condition(READY).is_some_and(|c| c.is_true());
            was || status.set_condition(READY, "True", reasons::READY, msg::READY_AGAIN)
        }
    };
    let before = status.condition(ACTIVE).map(|c| c.status.clone());
    let (s, reason, m, event) = if active {
        ("True", "ScalerActive", msg::ACTIVE, reasons::ACTIVE)
    } else {
        ("False", "ScalerNotActive", msg::INACTIVE, reasons::INACTIVE)
    };
    if before.as_deref() != Some(s) {
        status.set_condition(ACTIVE, s, reason, m);
        d.writer.job_event(sj, event, m).await;
    }
}

/// Finished Jobs beyond the history limits go, oldest first.
async fn prune(d: &Deps, sj: &ScaledJob, jobs: &[Job]) {
    let ns = sj.namespace().unwrap_or_default();
    let doomed = plan::to_prune(
        jobs,
        sj.spec.successful_jobs_history_limit(),
        sj.spec.failed_jobs_history_limit(),
    );
    for name in doomed {
        if let Err(e) = d.writer.delete_job(&ns, &name, false).await {
            tracing::warn!(job = %name, error = %e.text(), "cannot delete a finished Job beyond the history limit");
            return;
        }
    }
}
