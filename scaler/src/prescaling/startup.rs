//! `leadTime: auto`: how long the workload's pods really take to start. For each workload the
//! operator keeps the start-up times (pod creation → condition `Ready=True`) of its last N pods
//! that became Ready without a container restart, and the lead is their p90 plus a margin, or a
//! configured default while nothing has been measured.

use k8s_openapi::api::core::v1::Pod;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Operator settings for `leadTime: auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadSettings {
    /// The lead while no start-up has been measured for the workload.
    pub default: Duration,
    /// Added to the measured p90.
    pub margin: Duration,
    /// How many recent starts count (the last N).
    pub history: usize,
    /// How often a workload's pods are listed again.
    pub refresh: Duration,
}

impl Default for LeadSettings {
    fn default() -> Self {
        Self {
            default: Duration::from_secs(120),
            margin: Duration::from_secs(30),
            history: 20,
            refresh: Duration::from_secs(30),
        }
    }
}

/// `namespace/Kind/name` of a workload.
pub type WorkloadKey = String;

/// A resolved `leadTime: auto`, with how it was found (for status and Events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoLead {
    pub lead: Duration,
    /// p90 and number of starts it came from, when measured.
    pub measured: Option<(Duration, usize)>,
}

impl AutoLead {
    /// `leadTime auto = 3m40s from 20 starts (p90 3m10s + 30s margin)`.
    pub fn describe(&self, margin: Duration) -> String {
        let f = prescale_scalers::prescale::format_duration;
        match self.measured {
            Some((p90, n)) => format!(
                "leadTime auto = {} from {n} starts (p90 {} + {} margin)",
                f(self.lead),
                f(p90),
                f(margin)
            ),
            None => format!(
                "leadTime auto = {} (default: no pod start-up measured yet)",
                f(self.lead)
            ),
        }
    }
}

#[derive(Default)]
struct History {
    /// Start-up times in the order the pods were first seen Ready.
    recent: VecDeque<Duration>,
    /// Pod UIDs already counted.
    seen: HashSet<String>,
    last_refresh: Option<std::time::Instant>,
}

/// Start-up times per workload, shared by every poll loop.
#[derive(Default)]
pub struct PodStartups {
    by_workload: Mutex<HashMap<WorkloadKey, History>>,
}

/// How long `pod` took from creation to `Ready=True`, if it is Ready and never restarted a
/// container (a restart moves the Ready transition and would not measure start-up).
pub fn startup_time(pod: &Pod) -> Option<Duration> {
    let created = pod.metadata.creation_timestamp.as_ref()?.0;
    let status = pod.status.as_ref()?;
    let restarted = status
        .container_statuses
        .iter()
        .flatten()
        .any(|c| c.restart_count > 0);
    if restarted {
        return None;
    }
    let ready = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    let at = ready.last_transition_time.as_ref()?.0;
    let secs = at.as_second() - created.as_second();
    u64::try_from(secs).ok().map(Duration::from_secs)
}

/// The q-quantile (nearest rank) of `values`.
pub fn quantile(values: &[Duration], q: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort();
    let rank = (q * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

impl PodStartups {
    /// Whether the workload's pods are due to be listed again.
    pub fn due(&self, key: &str, refresh: Duration) -> bool {
        let map = self.by_workload.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .and_then(|h| h.last_refresh)
            .is_none_or(|t| t.elapsed() >= refresh)
    }

    /// Counts the start-up of every Ready pod not counted before; keeps the last `history`.
    pub fn observe(&self, key: &str, pods: &[Pod], history: usize) {
        let mut map = self.by_workload.lock().unwrap_or_else(|e| e.into_inner());
        let h = map.entry(key.to_string()).or_default();
        h.last_refresh = Some(std::time::Instant::now());
        let mut fresh: Vec<(k8s_openapi::jiff::Timestamp, Duration, String)> = pods
            .iter()
            .filter_map(|p| {
                let uid = p.metadata.uid.clone()?;
                if h.seen.contains(&uid) {
                    return None;
                }
                let d = startup_time(p)?;
                let created = p.metadata.creation_timestamp.as_ref()?.0;
                Some((created, d, uid))
            })
            .collect();
        fresh.sort_by_key(|(c, _, _)| *c);
        for (_, d, uid) in fresh {
            h.seen.insert(uid);
            h.recent.push_back(d);
        }
        while h.recent.len() > history.max(1) {
            h.recent.pop_front();
        }
        // forget UIDs of pods that are gone (they cannot come back) to bound memory
        if h.seen.len() > 4 * history.max(1) {
            let live: HashSet<&str> = pods
                .iter()
                .filter_map(|p| p.metadata.uid.as_deref())
                .collect();
            h.seen.retain(|u| live.contains(u.as_str()));
        }
    }

    /// p90 of the recent starts and how many there are.
    pub fn p90(&self, key: &str) -> Option<(Duration, usize)> {
        let map = self.by_workload.lock().unwrap_or_else(|e| e.into_inner());
        let h = map.get(key)?;
        let v: Vec<Duration> = h.recent.iter().copied().collect();
        quantile(&v, 0.9).map(|p| (p, v.len()))
    }

    /// `leadTime: auto` for the workload now.
    pub fn lead(&self, key: &str, settings: &LeadSettings) -> AutoLead {
        match self.p90(key) {
            Some((p90, n)) => AutoLead {
                lead: p90 + settings.margin,
                measured: Some((p90, n)),
            },
            None => AutoLead {
                lead: settings.default,
                measured: None,
            },
        }
    }

    /// Every workload with measurements: (key, p90, starts), for metrics.
    pub fn all(&self) -> Vec<(WorkloadKey, Duration, usize)> {
        let map = self.by_workload.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter_map(|(k, h)| {
                let v: Vec<Duration> = h.recent.iter().copied().collect();
                quantile(&v, 0.9).map(|p| (k.clone(), p, v.len()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(uid: &str, created: &str, ready: Option<&str>, restarts: i32) -> Pod {
        let mut conditions =
            vec![json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": created})];
        if let Some(r) = ready {
            conditions.push(json!({"type": "Ready", "status": "True", "lastTransitionTime": r}));
        }
        serde_json::from_value(json!({
            "metadata": {"name": uid, "uid": uid, "creationTimestamp": created},
            "status": {"phase": "Running", "conditions": conditions,
                       "containerStatuses": [{"name": "app", "image": "app", "imageID": "", "ready": ready.is_some(), "restartCount": restarts}]}
        }))
        .unwrap()
    }

    #[test]
    fn startup_is_creation_to_ready_and_restarts_do_not_count() {
        let p = pod("a", "2026-12-01T10:00:00Z", Some("2026-12-01T10:03:40Z"), 0);
        assert_eq!(startup_time(&p), Some(Duration::from_secs(220)));
        assert_eq!(
            startup_time(&pod("b", "2026-12-01T10:00:00Z", None, 0)),
            None
        );
        assert_eq!(
            startup_time(&pod(
                "c",
                "2026-12-01T10:00:00Z",
                Some("2026-12-01T10:09:00Z"),
                2
            )),
            None
        );
    }

    #[test]
    fn p90_over_the_last_n_starts_plus_margin_or_the_default() {
        let s = PodStartups::default();
        let settings = LeadSettings {
            history: 10,
            ..LeadSettings::default()
        };
        let none = s.lead("shop/Deployment/web", &settings);
        assert_eq!(none.lead, Duration::from_secs(120));
        assert!(
            none.describe(settings.margin).contains("default"),
            "{none:?}"
        );
        // 12 pods: start-ups 10 s, 20 s, ... 120 s; the last 10 (30 s … 120 s) count
        let pods: Vec<Pod> = (1..=12)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    &format!("2026-12-01T10:{i:02}:00Z"),
                    Some(&format!(
                        "2026-12-01T10:{:02}:{:02}Z",
                        i + (i * 10) / 60,
                        (i * 10) % 60
                    )),
                    0,
                )
            })
            .collect();
        s.observe("shop/Deployment/web", &pods, settings.history);
        let (p90, n) = s.p90("shop/Deployment/web").unwrap();
        assert_eq!(n, 10);
        assert_eq!(p90, Duration::from_secs(110), "9th of 30..120 s");
        let auto = s.lead("shop/Deployment/web", &settings);
        assert_eq!(auto.lead, Duration::from_secs(140));
        assert_eq!(
            auto.describe(settings.margin),
            "leadTime auto = 2m20s from 10 starts (p90 1m50s + 30s margin)"
        );
        // seeing the same pods again counts nothing twice
        s.observe("shop/Deployment/web", &pods, settings.history);
        assert_eq!(s.p90("shop/Deployment/web").unwrap().1, 10);
        assert_eq!(s.all().len(), 1);
    }

    #[test]
    fn quantile_is_nearest_rank() {
        let v: Vec<Duration> = (1..=20).map(Duration::from_secs).collect();
        assert_eq!(quantile(&v, 0.9), Some(Duration::from_secs(18)));
        assert_eq!(quantile(&v[..1], 0.9), Some(Duration::from_secs(1)));
        assert_eq!(quantile(&[], 0.9), None);
    }
}
