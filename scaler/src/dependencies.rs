//! Which ScaledObjects read which Secrets, ConfigMaps and (Cluster)TriggerAuthentications,
//! recorded at reconcile, so that a change to one of them re-reconciles exactly its users
//! (a rotated password is picked up without touching the ScaledObject).

use crate::api::ScaledObject;
use kube::runtime::reflector::ObjectRef;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// (kind, namespace, name); namespace "" for cluster-scoped objects.
pub type Key = (String, String, String);

#[derive(Debug, Default)]
pub struct Dependencies {
    maps: Mutex<Maps>,
}

/// Both directions, so a record touches only the object's own keys (walking every key on
/// each reconcile was quadratic: at 50,000 objects it took the operator's whole core).
#[derive(Debug, Default)]
struct Maps {
    users: HashMap<Key, HashSet<ObjectRef<ScaledObject>>>,
    used: HashMap<ObjectRef<ScaledObject>, Vec<Key>>,
}

impl Dependencies {
    /// Replaces what `so` depends on.
    pub fn record(&self, so: &ObjectRef<ScaledObject>, used: &[Key]) {
        let mut guard = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let m = &mut *guard;
        for key in m.used.remove(so).unwrap_or_default() {
            if let Some(set) = m.users.get_mut(&key) {
                set.remove(so);
                if set.is_empty() {
                    m.users.remove(&key);
                }
            }
        }
        for key in used {
            m.users.entry(key.clone()).or_default().insert(so.clone());
        }
        if !used.is_empty() {
            m.used.insert(so.clone(), used.to_vec());
        }
    }

    /// Forgets a deleted ScaledObject.
    pub fn forget(&self, so: &ObjectRef<ScaledObject>) {
        self.record(so, &[]);
    }

    /// The ScaledObjects that read `kind` `namespace/name`.
    pub fn users_of(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Vec<ObjectRef<ScaledObject>> {
        self.maps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .users
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Remembers the generation of watched targets so that only spec changes (a new env, new
/// replicas) re-reconcile their ScaledObjects, not every status update. One per kind of
/// target, so objects are known by namespace and name.
#[derive(Debug, Default)]
pub struct SpecChanges {
    seen: Mutex<HashMap<(String, String), i64>>,
}

/// `(namespace, name)` of `obj`.
fn key_of<K: kube::Resource>(obj: &K) -> (String, String) {
    let meta = obj.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl SpecChanges {
    /// Whether `obj`'s generation differs from the last one seen (true the first time).
    pub fn changed<K: kube::Resource>(&self, obj: &K) -> bool {
        let generation = obj.meta().generation.unwrap_or(0);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(key_of(obj), generation) != Some(generation)
    }

    /// Forgets a deleted target (without this, every target ever seen stayed remembered).
    pub fn forget<K: kube::Resource>(&self, obj: &K) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.remove(&key_of(obj));
        if seen.capacity() > 2 * seen.len() + 64 {
            seen.shrink_to_fit();
        }
    }

    /// Targets remembered.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_replace_forget() {
        let d = Dependencies::default();
        let a = ObjectRef::<ScaledObject>::new("a").within("ns");
        let b = ObjectRef::<ScaledObject>::new("b").within("ns");
        let secret = ("Secret".to_string(), "ns".to_string(), "pw".to_string());
        let cm = ("ConfigMap".to_string(), "ns".to_string(), "cfg".to_string());
        d.record(&a, std::slice::from_ref(&secret));
        d.record(&b, &[secret.clone(), cm.clone()]);
        assert_eq!(d.users_of("Secret", "ns", "pw").len(), 2);
        d.record(&b, &[cm]);
        assert_eq!(d.users_of("Secret", "ns", "pw"), vec![a.clone()]);
        d.forget(&a);
        assert!(d.users_of("Secret", "ns", "pw").is_empty());
        assert_eq!(d.users_of("ConfigMap", "ns", "cfg"), vec![b.clone()]);
        assert!(d.users_of("Secret", "other", "pw").is_empty());
        d.forget(&b);
        let m = d.maps.lock().unwrap();
        assert!(m.users.is_empty() && m.used.is_empty(), "{m:?}");
    }

    #[test]
    fn spec_changes_by_generation_and_forgotten_on_delete() {
        use crate::cache::Workload;
        let target = |name: &str, generation| {
            let mut w = Workload::default();
            w.metadata.name = Some(name.into());
            w.metadata.namespace = Some("ns".into());
            w.metadata.generation = Some(generation);
            w
        };
        let seen = SpecChanges::default();
        // (object, generation, changed?)
        let table = [
            ("web", 1, true),
            ("web", 1, false),
            ("web", 2, true),
            ("db", 2, true),
            ("db", 2, false),
        ];
        for (name, generation, want) in table {
            assert_eq!(
                seen.changed(&target(name, generation)),
                want,
                "{name} gen {generation}"
            );
        }
        assert_eq!(seen.len(), 2);
        seen.forget(&target("web", 2));
        assert_eq!(seen.len(), 1);
        assert!(seen.changed(&target("web", 2)), "new again");
    }
}
