//! Which ScaledObjects claim which workload, kept from the ScaledObject watch's events: the
//! duplicate-target check reads one workload's claimants instead of walking every cached
//! ScaledObject (at 50,000 objects that walk, done by every reconcile, cost more CPU than
//! everything else the operator does).

use crate::api::ScaledObject;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::watcher::Event;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A workload: namespace, apiVersion, kind, name.
pub type Target = (String, String, String, String);

/// A ScaledObject's claim on its target, ordered as the check orders claims (oldest first,
/// then by name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim {
    pub created: Option<Time>,
    pub name: String,
    pub deleting: bool,
}

#[derive(Default)]
struct Index {
    by_target: HashMap<Target, Vec<Claim>>,
    /// (namespace, name) → the target it claims.
    by_object: HashMap<(String, String), Target>,
    /// Claims gathered during a relist, swapped in when it ends.
    relist: Option<Vec<(Target, Claim)>>,
}

/// The shared index (cheap to clone).
#[derive(Clone, Default)]
pub struct TargetIndex(Arc<RwLock<Index>>);

/// The target and claim of `so`.
pub fn claim_of(so: &ScaledObject) -> (Target, Claim) {
    let t = &so.spec.scale_target_ref;
    let ns = so.metadata.namespace.clone().unwrap_or_default();
    (
        (
            ns,
            t.api_version().to_string(),
            t.kind().to_string(),
            t.name.clone(),
        ),
        Claim {
            created: so.metadata.creation_timestamp.clone(),
            name: so.metadata.name.clone().unwrap_or_default(),
            deleting: so.metadata.deletion_timestamp.is_some(),
        },
    )
}

impl Index {
    fn remove(&mut self, ns: &str, name: &str) {
        if let Some(target) = self.by_object.remove(&(ns.to_string(), name.to_string()))
            && let Some(claims) = self.by_target.get_mut(&target)
        {
            claims.retain(|c| c.name != name);
            if claims.is_empty() {
                self.by_target.remove(&target);
            }
        }
    }

    fn insert(&mut self, target: Target, claim: Claim) {
        self.remove(&target.0, &claim.name);
        self.by_object
            .insert((target.0.clone(), claim.name.clone()), target.clone());
        self.by_target.entry(target).or_default().push(claim);
    }
}

impl TargetIndex {
    /// Follows one watch event (before the reflector stores it).
    pub fn apply(&self, event: &Event<ScaledObject>) {
        let mut index = self.0.write().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Apply(so) => {
                let (target, claim) = claim_of(so);
                index.insert(target, claim);
            }
            Event::Delete(so) => {
                let (target, claim) = claim_of(so);
                index.remove(&target.0, &claim.name);
            }
            Event::Init => index.relist = Some(Vec::new()),
            Event::InitApply(so) => {
                if let Some(claims) = index.relist.as_mut() {
                    claims.push(claim_of(so));
                }
            }
            Event::InitDone => {
                let claims = index.relist.take().unwrap_or_default();
                index.by_target.clear();
                index.by_object.clear();
                for (target, claim) in claims {
                    index.insert(target, claim);
                }
                index.by_target.shrink_to_fit();
                index.by_object.shrink_to_fit();
            }
        }
    }

    /// The oldest live claim on `so`'s target made before `so`'s own, if any.
    pub fn earlier_claim(&self, so: &ScaledObject) -> Option<Claim> {
        let (target, mine) = claim_of(so);
        let index = self.0.read().unwrap_or_else(|e| e.into_inner());
        index
            .by_target
            .get(&target)?
            .iter()
            .filter(|c| !c.deleting && (&c.created, &c.name) < (&mine.created, &mine.name))
            .min_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn so(name: &str, target: &str, created: &str, deleting: bool) -> ScaledObject {
        let mut meta = json!({"name": name, "namespace": "ns", "creationTimestamp": created});
        if deleting {
            meta["deletionTimestamp"] = json!("2026-01-02T00:00:00Z");
        }
        serde_json::from_value(json!({
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta,
            "spec": {"scaleTargetRef": {"name": target}, "triggers": []}
        }))
        .unwrap()
    }

    fn earlier(index: &TargetIndex, of: &ScaledObject) -> Option<String> {
        index.earlier_claim(of).map(|c| c.name)
    }

    #[test]
    fn claims_follow_applies_deletes_and_relists() {
        let t0 = "2026-01-01T00:00:00Z";
        let t1 = "2026-01-01T00:00:01Z";
        let (a, b, c) = (
            so("a", "web", t0, false),
            so("b", "web", t1, false),
            so("c", "api", t1, false),
        );
        let (z, b_api, ab) = (
            so("z", "web", t1, false),
            so("b", "api", t1, false),
            so("ab", "web", t1, false),
        );
        let index = TargetIndex::default();
        // (events so far, the object asked about, the earlier claim expected)
        type Case<'a> = (Vec<Event<ScaledObject>>, &'a ScaledObject, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (vec![Event::Apply(b.clone())], &b, None),
            (vec![Event::Apply(a.clone())], &b, Some("a")),
            (vec![], &a, None),
            (vec![Event::Apply(c.clone())], &c, None),
            // b moves to the api workload: older c claims it first
            (vec![Event::Apply(so("b", "api", t1, false))], &c, Some("b")),
            (vec![], &z, Some("a")),
            // a being deleted no longer counts
            (vec![Event::Apply(so("a", "web", t0, true))], &z, None),
            (vec![Event::Delete(a.clone())], &z, None),
            // a relist replaces everything at its end only (until then the old claims hold)
            (
                vec![Event::Init, Event::InitApply(a.clone())],
                &c,
                Some("b"),
            ),
            (vec![Event::InitDone], &c, None),
            (vec![], &b, Some("a")),
            (vec![], &b_api, None),
            // same creation time: the name orders
            (
                vec![
                    Event::Delete(a.clone()),
                    Event::Apply(so("aa", "web", t1, false)),
                ],
                &ab,
                Some("aa"),
            ),
        ];
        for (i, (events, asked, want)) in cases.into_iter().enumerate() {
            for e in &events {
                index.apply(e);
            }
            assert_eq!(earlier(&index, asked).as_deref(), want, "case {i}");
        }
    }
}
