//! Reconcile one ScaledObject (spec §3.1): finalizer, pause, target, triggers, HPA, status,
//! poll loop. The checks and the desired state come from the pure [`plan`](super::plan); this
//! file reads what they need and writes what they return, through `crate::write`. A wrong
//! ScaledObject gets Ready=False with the reason and an Event, and its HPA and running loop are
//! left as they were; nothing it does affects other ScaledObjects.

use super::plan::{self, CheckFailure, Desired, poll_spec};
use crate::api::conditions::{ACTIVE, PAUSED, READY, READY_OK};
use crate::api::{GroupVersionKindResource, ScaledObject, ScaledObjectStatus};
use crate::context::Context;
use crate::poller::{Handover, PollPlan};
use crate::scaling::pause::Pause;
use crate::target::{self, TargetReader, TargetRef};
use crate::telemetry::metrics::{ReconcileLabels, ReconcileResult};
use crate::trigger::LiveTrigger;
use crate::write::events;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::cleanup::FINALIZER;

/// Why a reconcile failed (the categories are metric labels and never carry error text).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube_api",
            Error::Finalizer(_) => "finalizer",
        }
    }

    /// The API's answer behind the failure, if it was one.
    fn kube(&self) -> Option<&kube::Error> {
        use kube::runtime::finalizer::Error as F;
        match self {
            Error::Kube(e) => Some(e),
            Error::Finalizer(f) => match &**f {
                F::ApplyFailed(e) | F::CleanupFailed(e) => e.kube(),
                F::AddFinalizer(e) | F::RemoveFinalizer(e) => Some(e),
                _ => None,
            },
        }
    }
}

/// The controller's reconcile function.
pub async fn reconcile(so: Arc<ScaledObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let (ns, name) = (ns_of(&so), so.name_any());
    if !ctx.leader.holds_object(&ns, &name) {
        if ctx.leader.sharded() {
            // another replica's shard: it reconciles, polls and writes the object, and
            // answers the metrics API for it; gaining the shard re-queues its objects
            return Ok(not_ours(&ns, &name, &ctx));
        }
        // followers run the same stages (so their poll loops fill the metrics API they serve)
        // and write nothing: every write and Event is leader-gated; the finalizer is the
        // leader's (kube-runtime writes it directly); leadership change re-triggers all
        return follow(so, ctx).await;
    }
    // with --shards, every write of this reconcile and of the loop it starts is gated by the
    // object's shard Lease
    let ctx = if ctx.leader.sharded() {
        Arc::new(ctx.scoped(&ns, &name))
    } else {
        ctx
    };
    if ctx.writer.stale(&so) {
        // read before our own last write to it: that write's watch event reconciles it next
        return Ok(Action::await_change());
    }
    if so.metadata.deletion_timestamp.is_none()
        && ctx.pollers.handing_over(&ns_of(&so), &so.name_any())
    {
        // its new poll loop is about to write the status this reconcile would (Ready): that
        // write's watch event reconciles it next
        return Ok(Action::await_change());
    }
    let api: Api<ScaledObject> = Api::namespaced(ctx.client.clone(), &ns);
    let object = so.clone();
    let so = match adopted(&so, &ctx).await {
        Ok(so) => so,
        Err(e) => {
            ctx.metrics
                .reconcile_duration
                .observe(started.elapsed().as_secs_f64());
            return Err(e);
        }
    };
    let res = finalizer(&api, FINALIZER, so, |event| async {
        match event {
            FinalizerEvent::Apply(so) => apply(so, ctx.clone()).await,
            FinalizerEvent::Cleanup(so) => super::cleanup::cleanup(so, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    if res.is_ok() {
        ctx.retries.succeeded(&object);
    }
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    res
}

/// A live ScaledObject without the finalizer or its name label gets both in one write (the
/// finalizer helper then finds its finalizer and goes straight to the apply).
async fn adopted(so: &Arc<ScaledObject>, ctx: &Context) -> Result<Arc<ScaledObject>, Error> {
    let labelled = so.labels().get(crate::api::SCALED_OBJECT_NAME_LABEL) == Some(&so.name_any());
    let finalized = so.finalizers().iter().any(|f| f == FINALIZER);
    if so.metadata.deletion_timestamp.is_some() || (labelled && finalized) {
        return Ok(so.clone());
    }
    match ctx.writer.adopt(so).await {
        Ok(new) => Ok(Arc::new(new)),
        Err(crate::write::Error::NotLeader) => Ok(so.clone()),
        Err(crate::write::Error::Kube(e)) => Err(Error::Kube(e)),
    }
}

fn count(ctx: &Context, result: ReconcileResult, category: &'static str) {
    ctx.metrics
        .reconciles
        .get_or_create(&ReconcileLabels { result, category })
        .inc();
}

/// Requeue after a failed reconcile: per-object exponential backoff, never sooner than the
/// API's `Retry-After` (`crate::retry`).
pub fn error_policy(so: Arc<ScaledObject>, err: &Error, ctx: Arc<Context>) -> Action {
    count(&ctx, ReconcileResult::Error, err.category());
    let asked = err.kube().and_then(crate::retry::retry_after);
    let delay = ctx.retries.failed(&so, asked);
    tracing::warn!(error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// A check failure: Ready=False, Active=Unknown, a Warning Event, nothing else touched.
async fn check_failed(
    ctx: &Context,
    so: &ScaledObject,
    mut status: ScaledObjectStatus,
    failure: CheckFailure,
) -> Result<Action, Error> {
    let msg = failure.to_string();
    let changed = status.set_condition(READY, "False", "ScaledObjectCheckFailed", &msg);
    status.set_condition(
        ACTIVE,
        "Unknown",
        "UnknownState",
        "ScaledObject check failed",
    );
    if changed {
        ctx.writer
            .events
            .warning(&so.object_ref(&()), events::SCALED_OBJECT_CHECK_FAILED, msg)
            .await;
    }
    written(ctx.writer.status(so, status).await).map_err(Error::Kube)?;
    count(ctx, ReconcileResult::Error, "invalid_spec");
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn apply(so: Arc<ScaledObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut status = so.status.clone().unwrap_or_default();
    status.ensure_conditions();
    match checked(&so, &ctx, &mut status).await {
        Ok(action) => Ok(action),
        Err(Checked::Failed(failure)) => check_failed(&ctx, &so, status, failure).await,
        Err(Checked::Api(e)) => Err(Error::Kube(e)),
    }
}

/// An object of a shard another replica holds: no loop, no values kept, nothing written.
fn not_ours(ns: &str, name: &str, ctx: &Context) -> Action {
    if ctx.pollers.stop(ns, name) {
        ctx.forget_served(ns, name);
    }
    Action::await_change()
}

/// A follower's reconcile: the object's poll loop runs (or stops once it is deleted), nothing
/// is written.
async fn follow(so: Arc<ScaledObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    if so.metadata.deletion_timestamp.is_some() {
        let (ns, name) = (ns_of(&so), so.name_any());
        ctx.stop_serving(&ns, &name);
        return Ok(Action::await_change());
    }
    apply(so, ctx)
        .await
        .map(|_| Action::requeue(Duration::from_secs(60)))
}

/// A write's outcome for the reconcile: a passing API failure is retried with backoff
/// (`crate::retry`); not leading means nothing was sent, and is no failure.
fn written(res: Result<(), crate::write::Error>) -> Result<(), kube::Error> {
    match res {
        Err(crate::write::Error::Kube(e)) => Err(e),
        Ok(()) | Err(crate::write::Error::NotLeader) => Ok(()),
    }
}

/// How [`checked`] stops early.
enum Checked {
    Failed(CheckFailure),
    Api(kube::Error),
}

impl From<CheckFailure> for Checked {
    fn from(f: CheckFailure) -> Self {
        Checked::Failed(f)
    }
}

/// Reads, plans and writes a ScaledObject; `status` is what a check failure reports.
async fn checked(
    so: &Arc<ScaledObject>,
    ctx: &Arc<Context>,
    status: &mut ScaledObjectStatus,
) -> Result<Action, Checked> {
    let pause = plan::precheck(so)?;
    plan::duplicate_target(so, ctx.targets.earlier_claim(so).as_ref())?;
    if so.labels().get(crate::api::SCALED_OBJECT_NAME_LABEL) != Some(&so.name_any()) {
        written(ctx.writer.label(so).await).map_err(Checked::Api)?;
    }
    let (target, current) = read_target(ctx, so).await?;
    record_target(status, &target, current);
    if pause.paused {
        return paused(ctx, so, status, &pause, &target, current).await;
    }
    if plan::unpause(status, &pause) {
        ctx.writer
            .events
            .normal(
                &so.object_ref(&()),
                events::SCALED_OBJECT_UNPAUSED,
                "pause annotation removed for ScaledObject",
            )
            .await;
    }
    let source = crate::resolve::kube::KubeSource {
        client: ctx.client.clone(),
        caches: Some(ctx.caches.clone()),
    };
    let resolved = crate::resolve::resolve(&source, so, &ctx.config.cluster_object_namespace)
        .await
        .map_err(CheckFailure::Triggers)?;
    ctx.dependencies
        .record(&ObjectRef::from_obj(&**so), &resolved.used);
    let desired = plan::plan(so, &pause, &resolved.inputs)?;
    // a loop built from the same inputs keeps its connections: nothing to connect again
    let running = ctx
        .pollers
        .runs(&ns_of(so), &so.name_any(), desired.fingerprint);
    let live = if running {
        None
    } else if let Some(kept) =
        ctx.pollers
            .connected(&ns_of(so), &so.name_any(), desired.trigger_fingerprint)
    {
        // the spec changed elsewhere (bounds, cooldown, …): the triggers keep their connections
        Some(kept)
    } else {
        Some(connect(ctx, so, &desired).await?)
    };
    let hpa = apply_hpa(ctx, so, status, &desired, live.as_deref(), &target).await?;
    plan::summarize(so, &desired, status);
    let (ok, reason, message) = READY_OK;
    // a running loop's own verdict on its triggers stands until it polls again (resetting it
    // here made every failing poll flap Ready and publish ScaledObjectReady again)
    let became_ready = !plan::ready_held_by_loop(status, live.is_none())
        && status.set_condition(READY, ok, reason, message);
    if became_ready {
        ctx.writer
            .events
            .normal(
                &so.object_ref(&()),
                events::SCALED_OBJECT_READY,
                "ScaledObject is ready for scaling",
            )
            .await;
    }
    // an object becoming Ready with a new loop: the loop's first poll (at once) writes this
    // status with its own (Active, triggersActivity, …) in one write
    let handover = (live.is_some() && became_ready && ctx.writer.leads())
        .then(|| Handover::of(status.clone()));
    if handover.is_none() {
        written(ctx.writer.status(so, status.clone()).await).map_err(Checked::Api)?;
    }
    if let Some(live) = live {
        // a restarted operator picking up an object that was ready announces nothing
        let announce = became_ready || ctx.pollers.has(&ns_of(so), &so.name_any());
        let loop_parts = (live, target, hpa, handover.clone().unwrap_or_default());
        let started = start_loop(ctx, so, &pause, desired, loop_parts, announce).await;
        if !started && handover.is_some() {
            written(ctx.writer.status(so, status.clone()).await).map_err(Checked::Api)?;
        }
    }
    count(ctx, ReconcileResult::Ok, "");
    Ok(Action::requeue(Duration::from_secs(300)))
}

fn ns_of(so: &ScaledObject) -> String {
    so.namespace().unwrap_or_default()
}

/// The target, resolved, and its current `spec.replicas`.
async fn read_target(ctx: &Context, so: &ScaledObject) -> Result<(TargetRef, i32), CheckFailure> {
    let ns = so.namespace().unwrap_or_default();
    let t = &so.spec.scale_target_ref;
    let target = target::resolve(&ctx.client, &ns, t.api_version(), t.kind(), &t.name)
        .await
        .map_err(|e| CheckFailure::ScaleTarget(crate::kube_client::kube_error_text(&e)))?;
    let reader = TargetReader::new(ctx.client.clone(), target.clone()).cached(ctx.caches.clone());
    let current = reader.current_replicas().await.map_err(|e| {
        CheckFailure::ScaleTarget(match &e {
            kube::Error::Api(s) if s.code == 404 => "Target resource doesn't exist".to_string(),
            other => crate::kube_client::kube_error_text(other),
        })
    })?;
    Ok((target, current))
}

/// What status says about the target (and the replica count to restore on delete).
fn record_target(status: &mut ScaledObjectStatus, target: &TargetRef, current: i32) {
    status.scale_target_kind = Some(target.kind_string());
    status.scale_target_gvkr = Some(GroupVersionKindResource {
        group: target.resource.group.clone(),
        version: target.resource.version.clone(),
        kind: target.resource.kind.clone(),
        resource: target.resource.plural.clone(),
    });
    if status.original_replica_count.is_none() {
        status.original_replica_count = Some(current);
    }
}

/// A paused object: no loop, no HPA, the target at the paused count if one is given.
async fn paused(
    ctx: &Context,
    so: &ScaledObject,
    status: &mut ScaledObjectStatus,
    pause: &Pause,
    target: &TargetRef,
    current: i32,
) -> Result<Action, Checked> {
    let (ns, name) = (so.namespace().unwrap_or_default(), so.name_any());
    ctx.pollers.stop(&ns, &name);
    ctx.metric_store.remove_object(&ns, &name);
    match ctx.writer.delete_hpa(&ns, &crate::hpa::hpa_name(so)).await {
        Ok(()) | Err(crate::write::Error::NotLeader) => {}
        Err(e) => {
            tracing::warn!(scaledobject = %name, error = %e.text(), "could not delete the HPA of a paused ScaledObject")
        }
    }
    if let Some(n) = pause.replicas
        && n != current
    {
        match ctx.writer.scale(target, n).await {
            Ok(()) | Err(crate::write::Error::NotLeader) => {}
            Err(e) => return Err(CheckFailure::PausedScale(e.text()).into()),
        }
    }
    status.paused_replica_count = pause.replicas;
    let reference = so.object_ref(&());
    if status.set_condition(
        PAUSED,
        "True",
        "ScaledObjectPaused",
        "ScaledObject is paused",
    ) {
        let events = &ctx.writer.events;
        events
            .normal(
                &reference,
                events::SCALED_OBJECT_PAUSED,
                "ScaledObject is paused",
            )
            .await;
        events
            .normal(&reference, events::SCALERS_STOPPED, "Stopped scalers watch")
            .await;
    }
    status.set_condition(READY, "True", "ScaledObjectReady", "ScaledObject is paused");
    written(ctx.writer.status(so, status.clone()).await).map_err(Checked::Api)?;
    Ok(Action::await_change())
}

/// Connects every trigger (a failure is a check failure with its own Event).
async fn connect(
    ctx: &Context,
    so: &ScaledObject,
    desired: &Desired,
) -> Result<Vec<LiveTrigger>, CheckFailure> {
    let mut live = Vec::new();
    for d in &desired.definitions {
        match d.definition.connect(&ctx.scalers).await {
            Ok(scaler) => live.push(LiveTrigger {
                index: d.index,
                name: d.name.clone(),
                trigger_type: d.trigger_type.clone(),
                spec: d.definition.metric_spec(),
                scaler,
            }),
            Err(e) => {
                let text = format!("trigger {} ({}): {e}", d.index, d.trigger_type);
                ctx.writer
                    .events
                    .warning(&so.object_ref(&()), events::SCALER_FAILED, text.clone())
                    .await;
                return Err(CheckFailure::Hpa(text));
            }
        }
    }
    Ok(live)
}

/// The HPA with the pre-scaling bounds in force, applied when the cached one differs (an
/// HPA renamed in the spec replaces the old one). Returns what was applied.
async fn apply_hpa(
    ctx: &Context,
    so: &ScaledObject,
    status: &ScaledObjectStatus,
    desired: &Desired,
    live: Option<&[LiveTrigger]>,
    target: &TargetRef,
) -> Result<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler, Checked> {
    let ns = so.namespace().unwrap_or_default();
    let mut hpa = desired.hpa.clone();
    let hpa_name = hpa.metadata.name.clone().unwrap_or_default();
    if desired.pre_scales() {
        // A running poll loop (`live` is None) owns the bounds it put on the HPA (its sources
        // hold the events read so far); a new loop's freshly connected ones start from now.
        let held = crate::poller::env::held_bounds(&ctx.hpas, &ns, &hpa_name);
        let bounds = match (live, held) {
            (None, Some(bounds)) => Some(bounds),
            (Some(live), _) => {
                let (_, b) = crate::prescaling::evaluate(
                    live,
                    target,
                    &ctx.startups,
                    &ctx.config.lead,
                    ctx.scalers.clock.now(),
                );
                Some(crate::prescaling::hpa_bounds(so, &b))
            }
            // the HPA is gone while the loop runs: recreate it, the loop's next poll (now)
            // puts its bounds back
            (None, None) => {
                ctx.pollers.poke(&ns, &so.name_any());
                None
            }
        };
        if let Some((min, max)) = bounds {
            hpa.spec.min_replicas = Some(min);
            hpa.spec.max_replicas = max;
        }
    }
    if let Some(old) = status.hpa_name.clone().filter(|old| *old != hpa_name)
        && let Err(e) = ctx.writer.delete_hpa(&ns, &old).await
    {
        tracing::warn!(hpa = %old, error = %e.text(), "could not delete the renamed HPA");
    }
    let cached = ctx.hpas.get(&ObjectRef::new(&hpa_name).within(&ns));
    let settled = cached.is_some_and(|existing| {
        crate::hpa::matches(&existing, &hpa) || ctx.writer.hpa_applied_after(&existing, &hpa)
    });
    if !settled {
        match ctx.writer.apply_hpa(&hpa).await {
            Ok(()) | Err(crate::write::Error::NotLeader) => {}
            Err(crate::write::Error::Kube(e)) if crate::retry::is_transient(&e) => {
                return Err(Checked::Api(e));
            }
            Err(e) => return Err(CheckFailure::Hpa(e.text()).into()),
        }
    }
    Ok(hpa)
}

/// Starts (or replaces) the poll loop unless one of this fingerprint runs; `announce` publishes
/// KEDA's `KEDAScalersStarted` Event (KEDA publishes it on every start, a restart of the
/// operator included; Prescale not for an object that was Ready already, so a restart
/// writes nothing). The loop writes the status in `handover`, if any. Returns whether it
/// started one.
async fn start_loop(
    ctx: &Arc<Context>,
    so: &ScaledObject,
    pause: &Pause,
    desired: Desired,
    (live, target, hpa, handover): (
        Vec<LiveTrigger>,
        TargetRef,
        k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
        Handover,
    ),
    announce: bool,
) -> bool {
    let (ns, name) = (so.namespace().unwrap_or_default(), so.name_any());
    if ctx.pollers.runs(&ns, &name, desired.fingerprint) {
        return false;
    }
    let trigger_fingerprint = desired.trigger_fingerprint;
    ctx.metric_store
        .retain(&ns, &name, &desired.stored_metrics());
    let spec = poll_spec(
        so,
        &desired,
        *pause,
        target.clone(),
        hpa,
        chrono::Utc::now(),
        ctx.scalers.default_timeout * 2,
    );
    let plan = PollPlan {
        spec,
        fingerprint: desired.fingerprint,
        triggers: live,
        target: TargetReader::new(ctx.client.clone(), target).cached(ctx.caches.clone()),
        plan_cache: Default::default(),
        // a target Active before this loop (a restarted operator) counts as active now: the
        // written lastActiveTime may be up to 5 minutes old, and the cooldown must not end early
        last_active: Arc::new(std::sync::Mutex::new(
            so.status
                .as_ref()
                .and_then(|s| s.condition(ACTIVE))
                .is_some_and(|c| c.is_true())
                .then(|| ctx.scalers.clock.now()),
        )),
        handover,
    };
    ctx.pollers.start(plan, ctx.env(), trigger_fingerprint);
    if !announce {
        return true;
    }
    ctx.writer
        .events
        .normal(
            &so.object_ref(&()),
            events::SCALERS_STARTED,
            "Started scalers watch",
        )
        .await;
    true
}
