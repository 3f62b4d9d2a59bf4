//! The validating admission webhook (`admission.k8s.io/v1` AdmissionReview) that `prescale run`
//! serves over HTTPS with `--webhook-addr`: for a ScaledObject, everything `prescale validate`
//! checks of it (the same functions of [`crate::validate`]) plus KEDA's cluster checks (another
//! ScaledObject or an HPA it does not own already scales the workload; cpu/memory triggers on
//! containers without requests), read through the kube client; for a ScaledJob, everything
//! `prescale validate` checks of it (which holds KEDA's ScaledJob webhook checks), its
//! triggers resolved through the kube client; for a (Cluster) TriggerAuthentication, KEDA's
//! `podIdentity` and `oauth2` checks.
//!
//! The decision is pure ([`decide`]): problems deny with KEDA's messages; a cluster lookup that
//! failed (the apiserver did not answer, RBAC refused) never denies silently: with
//! `failurePolicy: Fail` the request is denied saying what could not be checked, with
//! `Ignore` it is allowed with a warning saying the same, so both policies behave as if the
//! webhook itself had been unreachable for that one check, but say so.
//!
//! A kind is one entry of [`KINDS`] and one arm of [`review::Reviewer::check_object`].

pub mod cluster;
pub mod lookups;
pub mod review;
pub mod server;

use crate::validate::Problem;
use kube::core::Status;
use kube::core::admission::AdmissionResponse;

/// What the apiserver does when the webhook cannot answer, and what the webhook does when one
/// of its own cluster lookups fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailurePolicy {
    #[value(name = "Ignore", alias = "ignore")]
    Ignore,
    #[value(name = "Fail", alias = "fail")]
    Fail,
}

impl FailurePolicy {
    /// The value of `failurePolicy` in a ValidatingWebhookConfiguration.
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Ignore => "Ignore",
            FailurePolicy::Fail => "Fail",
        }
    }
}

/// A `keda.sh/v1alpha1` kind the webhook validates.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl Kind {
    /// The URL path the apiserver posts reviews of this kind to (KEDA's paths).
    pub fn path(&self) -> String {
        format!(
            "/validate-keda-sh-v1alpha1-{}",
            self.kind.to_ascii_lowercase()
        )
    }

    /// The webhook's name in the configuration (fully qualified, as the apiserver requires).
    pub fn webhook_name(&self) -> String {
        format!("v{}.prescale.keda.sh", self.kind.to_ascii_lowercase())
    }
}

/// Every kind validated, in the order of the configuration's webhooks.
pub const KINDS: &[Kind] = &[
    Kind {
        kind: "ScaledObject",
        plural: "scaledobjects",
        namespaced: true,
    },
    Kind {
        kind: "ScaledJob",
        plural: "scaledjobs",
        namespaced: true,
    },
    Kind {
        kind: "TriggerAuthentication",
        plural: "triggerauthentications",
        namespaced: true,
    },
    Kind {
        kind: "ClusterTriggerAuthentication",
        plural: "clustertriggerauthentications",
        namespaced: false,
    },
];

/// What checking one object found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Verdict {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Checks that could not be made because a cluster lookup failed (secret-free texts).
    pub unchecked: Vec<String>,
}

impl Verdict {
    pub fn problem(field: &str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                field: field.into(),
                trigger: None,
                message: message.into(),
            }],
            ..Self::default()
        }
    }
}

/// The answer to a review of uid `uid`: denied (403, every problem as `field: message`,
/// joined by "; ") when a problem was found or, with `Fail`, a lookup failed; otherwise
/// allowed, with the warnings (and, with `Ignore`, what could not be checked).
pub fn decide(uid: &str, verdict: Verdict, policy: FailurePolicy) -> AdmissionResponse {
    let mut reasons: Vec<String> = verdict
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    let mut warnings = verdict.warnings;
    for u in &verdict.unchecked {
        match policy {
            FailurePolicy::Fail => reasons.push(format!("not checked (failurePolicy Fail): {u}")),
            FailurePolicy::Ignore => {
                warnings.push(format!("not checked (failurePolicy Ignore): {u}"))
            }
        }
    }
    let mut response = AdmissionResponse::invalid("");
    response.uid = uid.to_string();
    response.result = Status::default();
    response.allowed = reasons.is_empty();
    if !response.allowed {
        response.result = Status::failure(&reasons.join("; "), "Forbidden").with_code(403);
    }
    response.warnings = (!warnings.is_empty()).then_some(warnings);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(problems: &[&str], warnings: &[&str], unchecked: &[&str]) -> Verdict {
        Verdict {
            problems: problems
                .iter()
                .map(|m| Problem {
                    field: "spec".into(),
                    trigger: None,
                    message: m.to_string(),
                })
                .collect(),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
            unchecked: unchecked.iter().map(|u| u.to_string()).collect(),
        }
    }

    #[test]
    fn decisions() {
        use FailurePolicy::{Fail, Ignore};
        // (verdict, policy, allowed, message, warnings)
        let cases = [
            (verdict(&[], &[], &[]), Ignore, true, "", vec![]),
            (verdict(&[], &["w"], &[]), Fail, true, "", vec!["w"]),
            (
                verdict(&["bad"], &[], &[]),
                Ignore,
                false,
                "spec: bad",
                vec![],
            ),
            (
                verdict(&["a", "b"], &["w"], &[]),
                Fail,
                false,
                "spec: a; spec: b",
                vec!["w"],
            ),
            (
                verdict(&[], &[], &["listing HPAs: 503"]),
                Ignore,
                true,
                "",
                vec!["not checked (failurePolicy Ignore): listing HPAs: 503"],
            ),
            (
                verdict(&[], &[], &["listing HPAs: 503"]),
                Fail,
                false,
                "not checked (failurePolicy Fail): listing HPAs: 503",
                vec![],
            ),
            (
                verdict(&["bad"], &[], &["x"]),
                Ignore,
                false,
                "spec: bad",
                vec!["not checked (failurePolicy Ignore): x"],
            ),
        ];
        for (i, (v, policy, allowed, message, warnings)) in cases.into_iter().enumerate() {
            let r = decide("uid-1", v, policy);
            assert_eq!(r.uid, "uid-1");
            assert_eq!(r.allowed, allowed, "case {i}");
            assert_eq!(r.result.message, message, "case {i}");
            assert_eq!(r.result.code, if allowed { 0 } else { 403 }, "case {i}");
            let w: Vec<String> = warnings.iter().map(|s| s.to_string()).collect();
            assert_eq!(r.warnings.unwrap_or_default(), w, "case {i}");
        }
    }

    #[test]
    fn kinds_have_keda_paths() {
        assert_eq!(KINDS[0].path(), "/validate-keda-sh-v1alpha1-scaledobject");
        assert_eq!(KINDS[1].path(), "/validate-keda-sh-v1alpha1-scaledjob");
        assert_eq!(
            KINDS[3].webhook_name(),
            "vclustertriggerauthentication.prescale.keda.sh"
        );
    }
}
