//! The simulated cluster of one ScaledObject: the scale target's `spec.replicas`, its pods
//! (each Ready its start-up delay after creation; a scale-down removes the newest first, as
//! the ReplicaSet controller prefers not-yet-ready and younger pods), and the HPA's
//! `minReplicas`/`maxReplicas` as the operator last set them.

use super::startup::Startup;
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

/// One pod: created and Ready instants, ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimPod {
    pub id: u64,
    pub created: i64,
    pub ready_at: i64,
}

/// The target, its pods and the HPA bounds.
#[derive(Debug, Clone)]
pub struct World {
    pub spec_replicas: i32,
    /// Oldest first.
    pub pods: Vec<SimPod>,
    pub hpa_bounds: (i32, i32),
    startup: Startup,
    created: u64,
}

impl World {
    /// `replicas` pods that are Ready at `now` (they started before the simulation, each
    /// with a start-up drawn from the model, so `leadTime: auto` measures them as the
    /// operator measures running pods after a restart).
    pub fn new(replicas: i32, now: i64, startup: Startup, hpa_bounds: (i32, i32)) -> Self {
        let mut w = Self {
            spec_replicas: replicas.max(0),
            pods: Vec::new(),
            hpa_bounds,
            startup,
            created: 0,
        };
        for _ in 0..w.spec_replicas {
            let d = w.next_delay();
            w.pods.push(SimPod {
                id: w.created,
                created: now - d,
                ready_at: now,
            });
            w.created += 1;
        }
        w
    }

    fn next_delay(&self) -> i64 {
        self.startup.delay(self.created).as_millis() as i64
    }

    /// Sets `spec.replicas`: new pods start now, surplus pods (newest first) go at once.
    pub fn scale_to(&mut self, replicas: i32, now: i64) {
        let replicas = replicas.max(0);
        self.spec_replicas = replicas;
        let want = replicas as usize;
        while self.pods.len() < want {
            let d = self.next_delay();
            self.pods.push(SimPod {
                id: self.created,
                created: now,
                ready_at: now + d,
            });
            self.created += 1;
        }
        self.pods.truncate(want);
    }

    /// Pods Ready at `now`.
    pub fn ready(&self, now: i64) -> i32 {
        self.pods.iter().filter(|p| p.ready_at <= now).count() as i32
    }

    /// The next instant after `now` at which a pod becomes Ready.
    pub fn next_ready(&self, now: i64) -> Option<i64> {
        self.pods
            .iter()
            .map(|p| p.ready_at)
            .filter(|t| *t > now)
            .min()
    }

    /// The Ready pods as Kubernetes pods (creation and Ready transition set, second
    /// precision), for the operator's start-up measurement.
    pub fn ready_pods(&self, now: i64) -> Vec<Pod> {
        self.pods
            .iter()
            .filter(|p| p.ready_at <= now)
            .filter_map(|p| {
                let time = |ms: i64| {
                    k8s_openapi::jiff::Timestamp::from_millisecond(ms.div_euclid(1000) * 1000)
                        .ok()
                        .map(Time)
                };
                Some(Pod {
                    metadata: ObjectMeta {
                        uid: Some(format!("sim-{}", p.id)),
                        creation_timestamp: Some(time(p.created)?),
                        ..ObjectMeta::default()
                    },
                    status: Some(PodStatus {
                        conditions: Some(vec![PodCondition {
                            type_: "Ready".into(),
                            status: "True".into(),
                            last_transition_time: Some(time(p.ready_at)?),
                            ..PodCondition::default()
                        }]),
                        ..PodStatus::default()
                    }),
                    ..Pod::default()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pods_start_with_the_model_and_the_newest_go_first() {
        let mut w = World::new(2, 0, Startup::Fixed(Duration::from_secs(60)), (1, 10));
        assert_eq!((w.ready(0), w.pods[0].created), (2, -60_000));
        w.scale_to(5, 1000);
        assert_eq!((w.ready(60_999), w.ready(61_000)), (2, 5));
        assert_eq!(w.next_ready(1000), Some(61_000));
        w.scale_to(3, 2000);
        assert_eq!(
            w.pods.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(w.ready(61_000), 3);
        w.scale_to(4, 70_000);
        assert_eq!(w.pods[3].id, 5, "a new pod, not the one removed");
        let pods = w.ready_pods(70_000);
        assert_eq!(pods.len(), 3);
        let d = crate::prescaling::startup::startup_time(&pods[2]).unwrap();
        assert_eq!(d, Duration::from_secs(60));
    }
}
