//! One AdmissionReview: the object decoded by its kind, checked, and the answer decided.

use super::cluster::{other_scaled_objects, unmanaged_hpa};
use super::lookups::Lookups;
use super::{FailurePolicy, Verdict, decide};
use crate::api::{
    ClusterTriggerAuthentication, ScaleTrigger, ScaledJob, ScaledObject, TriggerAuthentication,
};
use crate::validate::{self, Problem};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde::de::DeserializeOwned;

/// What the webhook needs to check objects.
#[derive(Clone)]
pub struct Reviewer {
    pub client: kube::Client,
    pub policy: FailurePolicy,
    /// Where ClusterTriggerAuthentication Secrets and ConfigMaps are read.
    pub cluster_object_namespace: String,
}

impl Reviewer {
    /// The answer to a review (a review without a request gets a denial saying so).
    pub async fn review(
        &self,
        review: AdmissionReview<DynamicObject>,
    ) -> AdmissionReview<DynamicObject> {
        let request: AdmissionRequest<DynamicObject> = match review.try_into() {
            Ok(r) => r,
            Err(_) => {
                return AdmissionResponse::invalid("the AdmissionReview holds no request")
                    .into_review();
            }
        };
        let verdict = self.check_request(&request).await;
        let response = decide(&request.uid, verdict, self.policy);
        let mut out = response.into_review();
        out.types = request.types;
        out
    }

    async fn check_request(&self, req: &AdmissionRequest<DynamicObject>) -> Verdict {
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            return Verdict::default();
        }
        let Some(object) = &req.object else {
            return Verdict::problem("", "the AdmissionReview request holds no object");
        };
        if req.kind.group != "keda.sh" || req.kind.version != "v1alpha1" {
            return Verdict::default();
        }
        if req.operation == Operation::Update && unchanged_or_leaving(req) {
            return Verdict::default();
        }
        self.check_object(&req.kind.kind, object, req.dry_run).await
    }

    /// Checks one object by kind (one arm per entry of [`super::KINDS`]).
    pub async fn check_object(&self, kind: &str, object: &DynamicObject, dry_run: bool) -> Verdict {
        match kind {
            "ScaledObject" => match decode::<ScaledObject>(object) {
                Ok(so) => self.scaled_object(&so, dry_run).await,
                Err(v) => v,
            },
            "TriggerAuthentication" => match decode::<TriggerAuthentication>(object) {
                Ok(ta) => problems(validate::auth::check(&ta.spec)),
                Err(v) => v,
            },
            "ScaledJob" => match decode::<ScaledJob>(object) {
                Ok(sj) => self.scaled_job(&sj).await,
                Err(v) => v,
            },
            "ClusterTriggerAuthentication" => {
                match decode::<ClusterTriggerAuthentication>(object) {
                    Ok(cta) => problems(validate::auth::check(&cta.spec.spec)),
                    Err(v) => v,
                }
            }
            _ => Verdict::default(),
        }
    }

    /// `prescale validate`'s checks of the object (its triggers resolved against the cluster)
    /// and KEDA's cluster checks.
    async fn scaled_object(&self, so: &ScaledObject, dry_run: bool) -> Verdict {
        let ns = so.metadata.namespace.clone().unwrap_or_default();
        let lookups = Lookups::new(self.client.clone());
        let mut v = Verdict {
            problems: validate::check_spec(so),
            warnings: validate::warnings(so),
            unchecked: Vec::new(),
        };
        if let Err(e) = crate::scaling::pause::Pause::from_annotations(
            so.metadata
                .annotations
                .as_ref()
                .unwrap_or(&Default::default()),
        ) {
            v.problems.push(problem("metadata.annotations", e));
        }
        self.triggers(so, &lookups, &mut v).await;
        let others: Vec<ScaledObject> = lookups.list(&ns, "ScaledObjects").await;
        v.problems.extend(other_scaled_objects(so, &others));
        let hpas: Vec<HorizontalPodAutoscaler> =
            lookups.list(&ns, "HorizontalPodAutoscalers").await;
        v.problems.extend(unmanaged_hpa(so, &hpas));
        // as KEDA: a dry run does not read the workload for the cpu/memory check
        if !dry_run {
            v.problems
                .extend(resource_requests(&lookups, so, &ns).await);
        }
        v.unchecked = lookups.failed();
        v.unchecked.dedup();
        v
    }
}

impl Reviewer {
    /// The triggers of `so` as `validate` checks them, resolved against the cluster (see
    /// [`sort_triggers`]).
    async fn triggers(&self, so: &ScaledObject, lookups: &Lookups, v: &mut Verdict) {
        let resolved = crate::resolve::resolve(lookups, so, &self.cluster_object_namespace).await;
        let owner = format!(
            "ScaledObject {}",
            so.metadata.name.as_deref().unwrap_or_default()
        );
        let at = ("spec.scaleTargetRef", owner.as_str());
        sort_triggers(resolved, &so.spec.triggers, at, lookups, v);
    }

    /// `prescale validate`'s ScaledJob checks (which hold KEDA's ScaledJob webhook checks:
    /// its `ValidateTriggers`), the triggers resolved against the cluster (the Job template's
    /// env, TriggerAuthentications, Secrets, ConfigMaps). KEDA makes no cluster check of a
    /// ScaledJob (it owns no HPA), nor does this.
    async fn scaled_job(&self, sj: &ScaledJob) -> Verdict {
        let lookups = Lookups::new(self.client.clone());
        let mut v = Verdict {
            problems: validate::scaled_job::check_spec(sj),
            warnings: validate::scaled_job::warnings(sj),
            unchecked: Vec::new(),
        };
        let ns = sj.metadata.namespace.clone().unwrap_or_default();
        let (containers, env) = sj.spec.env_sources();
        let resolved = crate::resolve::resolve_triggers(
            &lookups,
            &ns,
            Vec::new(),
            &containers,
            env,
            &sj.spec.triggers,
            &self.cluster_object_namespace,
        )
        .await;
        let owner = format!(
            "ScaledJob {}",
            sj.metadata.name.as_deref().unwrap_or_default()
        );
        sort_triggers(
            resolved,
            &sj.spec.triggers,
            ("spec.triggers", &owner),
            &lookups,
            &mut v,
        );
        v.unchecked = lookups.failed();
        v.unchecked.dedup();
        v
    }
}

/// Sorts what resolving and parsing the triggers found into `v`. A reference to an object
/// that does not exist yet (a TriggerAuthentication, Secret or ConfigMap applied later in the
/// same `kubectl apply`) does not refuse the object: the problems it causes (the
/// resolution's, and the metadata problems of triggers with an `authenticationRef`) become
/// warnings that name the missing object; the operator reports them if it is still missing
/// at reconcile. `(field, owner)`: where a resolution error is reported, and the object named
/// in trigger messages (`ScaledObject web`).
fn sort_triggers(
    resolved: Result<crate::resolve::Resolved, String>,
    triggers: &[ScaleTrigger],
    (field, owner): (&str, &str),
    lookups: &Lookups,
    v: &mut Verdict,
) {
    let missing = lookups.missing();
    let later = |p: &Problem| {
        format!(
            "{}: {} (not refused: {} not found, it may be created later)",
            p.field,
            p.message,
            missing.join(", ")
        )
    };
    match resolved {
        Ok(resolved) => {
            v.warnings.extend(resolved.warnings);
            let checked = validate::check_trigger_inputs(owner, &resolved.inputs);
            for p in checked.problems {
                let with_ref = p
                    .trigger
                    .and_then(|i| triggers.get(i))
                    .is_some_and(|t| t.authentication_ref.is_some());
                if with_ref && !missing.is_empty() {
                    v.warnings.push(later(&p));
                } else {
                    v.problems.push(p);
                }
            }
            v.warnings.extend(checked.warnings);
            v.warnings.extend(
                checked
                    .unknown_keys
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message)),
            );
        }
        // a reference the lookups could not answer is not the object's fault
        Err(_) if !lookups.failed().is_empty() => {}
        Err(e) if !missing.is_empty() => v.warnings.push(later(&problem(field, e))),
        Err(e) => v.problems.push(problem(field, e)),
    }
}

/// cpu/memory triggers against the workload's containers and the namespace's LimitRanges.
async fn resource_requests(lookups: &Lookups, so: &ScaledObject, ns: &str) -> Vec<Problem> {
    use crate::resolve::ObjectSource;
    let t = &so.spec.scale_target_ref;
    let resource_triggers = so
        .spec
        .triggers
        .iter()
        .any(|t| ["cpu", "memory"].contains(&t.type_.as_str()));
    if !resource_triggers || !validate::resources::checked_kind(t.kind()) {
        return Vec::new();
    }
    let template = lookups
        .pod_template(ns, t.api_version(), t.kind(), &t.name)
        .await
        .ok()
        .flatten();
    let Some(containers) = template.and_then(|t| t.spec).map(|s| s.containers) else {
        return Vec::new();
    };
    let limit_ranges = lookups.limit_ranges(ns).await;
    validate::resources::check(so, &containers, &limit_ranges)
}

fn problem(field: &str, message: String) -> Problem {
    Problem {
        field: field.into(),
        trigger: None,
        message,
    }
}

fn problems(problems: Vec<Problem>) -> Verdict {
    Verdict {
        problems,
        ..Verdict::default()
    }
}

/// The object as its kind, or the verdict that it cannot be read as one.
fn decode<K: DeserializeOwned>(object: &DynamicObject) -> Result<K, Verdict> {
    serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|e| Verdict::problem("", format!("the object cannot be read: {e}")))
}

/// An update that changes neither spec nor annotations (a finalizer, a label, the operator's
/// own bookkeeping), or one of an object being deleted, is let through unchecked, as KEDA lets
/// finalizer removal through: deletion of an object that no longer passes must not hang.
fn unchanged_or_leaving(req: &AdmissionRequest<DynamicObject>) -> bool {
    let (Some(new), Some(old)) = (&req.object, &req.old_object) else {
        return false;
    };
    let leaving = new.metadata.deletion_timestamp.is_some();
    let same = new.data.get("spec") == old.data.get("spec")
        && new.metadata.annotations == old.metadata.annotations;
    leaving || same
}
