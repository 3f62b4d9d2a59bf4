//! Fallback (spec §3.6) as pure rules: failure counting per metric, the replica count each
//! behavior asks for, and the synthetic metric value that makes the HPA land on it.

use prescale_scalers::{MetricTarget, MetricType};

/// `spec.fallback.behavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Static,
    CurrentReplicas,
    CurrentReplicasIfHigher,
    CurrentReplicasIfLower,
    ScalingModifiers,
}

impl Behavior {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        Ok(match raw.unwrap_or("") {
            "" | "static" => Behavior::Static,
            "currentReplicas" => Behavior::CurrentReplicas,
            "currentReplicasIfHigher" => Behavior::CurrentReplicasIfHigher,
            "currentReplicasIfLower" => Behavior::CurrentReplicasIfLower,
            "scalingModifiers" => Behavior::ScalingModifiers,
            other => {
                return Err(format!(
                    "fallback.behavior {other:?} must be one of static, currentReplicas, \
                     currentReplicasIfHigher, currentReplicasIfLower, scalingModifiers"
                ));
            }
        })
    }
}

/// `spec.fallback`, with KEDA's validity rule applied by [`Fallback::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback {
    pub failure_threshold: i32,
    pub replicas: i32,
    pub behavior: Behavior,
}

impl Fallback {
    /// KEDA only maintains fallback when both numbers are ≥ 0 and, with scalingModifiers, the
    /// modifier target parses as an integer > 0.
    pub fn validate(&self, scaling_modifiers_target: Option<&str>) -> Result<(), String> {
        if self.failure_threshold < 0 || self.replicas < 0 {
            return Err(format!(
                "FailureThreshold={} & Replicas={} must both be greater than or equal to 0",
                self.failure_threshold, self.replicas
            ));
        }
        if let Some(t) = scaling_modifiers_target {
            match t.trim().parse::<i64>() {
                Ok(n) if n > 0 => {}
                _ => {
                    return Err(format!(
                        "scalingModifiers.target {t:?} must be an integer greater than 0 for fallback"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The replica count the fallback aims for, given the target's current replicas.
    pub fn replicas_for(&self, current: i32) -> i32 {
        match self.behavior {
            Behavior::Static | Behavior::ScalingModifiers => self.replicas,
            Behavior::CurrentReplicas => current,
            Behavior::CurrentReplicasIfHigher => current.max(self.replicas),
            Behavior::CurrentReplicasIfLower => current.min(self.replicas),
        }
    }
}

/// The value served instead of a failing metric so that the HPA computes exactly `replicas`:
/// AverageValue target T → T × R; Value target T → T × R / readyPods (no ready pods → error).
pub fn synthetic_value(
    target: &MetricTarget,
    replicas: i32,
    ready_pods: i32,
) -> Result<f64, String> {
    let t = target.number;
    match target.metric_type {
        MetricType::Value => {
            if ready_pods <= 0 {
                return Err(
                    "fallback needs at least one ready pod for a Value metric target".into(),
                );
            }
            Ok(t * f64::from(replicas) / f64::from(ready_pods))
        }
        _ => Ok(t * f64::from(replicas)),
    }
}

/// `status.health[metric]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Health {
    pub number_of_failures: i32,
    pub failing: bool,
}

/// What to do with one evaluation of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The real value is served.
    Healthy,
    /// The error propagates (HPA gets a 500, poll counts an error).
    Failing,
    /// The error is suppressed; serve [`synthetic_value`] and count the trigger as active.
    UseFallback,
}

impl Health {
    /// Books one evaluation: success resets, failure counts; fallback applies once the count is
    /// strictly greater than the threshold (threshold 3 → the 4th consecutive failure).
    pub fn record(&mut self, ok: bool, failure_threshold: i32) -> Outcome {
        if ok {
            *self = Health::default();
            return Outcome::Healthy;
        }
        self.number_of_failures = self.number_of_failures.saturating_add(1);
        self.failing = true;
        if self.number_of_failures > failure_threshold {
            Outcome::UseFallback
        } else {
            Outcome::Failing
        }
    }

    pub fn status(&self) -> &'static str {
        if self.failing { "Failing" } else { "Happy" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviors_pick_replicas() {
        let f = |behavior| Fallback {
            failure_threshold: 3,
            replicas: 3,
            behavior,
        };
        assert_eq!(f(Behavior::Static).replicas_for(5), 3);
        assert_eq!(f(Behavior::CurrentReplicas).replicas_for(4), 4);
        assert_eq!(f(Behavior::CurrentReplicasIfHigher).replicas_for(4), 4);
        assert_eq!(f(Behavior::CurrentReplicasIfHigher).replicas_for(1), 3);
        assert_eq!(f(Behavior::CurrentReplicasIfLower).replicas_for(4), 3);
        assert_eq!(f(Behavior::CurrentReplicasIfLower).replicas_for(1), 1);
        assert_eq!(Behavior::parse(None), Ok(Behavior::Static));
        assert_eq!(
            Behavior::parse(Some("currentReplicasIfLower")),
            Ok(Behavior::CurrentReplicasIfLower)
        );
        assert!(Behavior::parse(Some("dynamic")).is_err());
    }

    #[test]
    fn synthetic_values_land_the_hpa_on_the_count() {
        let avg = MetricTarget::from_float(MetricType::AverageValue, 5.0);
        let v = synthetic_value(&avg, 3, 0).unwrap();
        assert_eq!(v, 15.0);
        // HPA AverageValue: ceil(value / target) = replicas
        assert_eq!((v / avg.number).ceil(), 3.0);
        let val = MetricTarget::from_float(MetricType::Value, 10.0);
        let v = synthetic_value(&val, 6, 4).unwrap();
        // HPA Value: ceil(readyPods × value / target) = replicas
        assert_eq!((4.0 * v / val.number).ceil(), 6.0);
        assert!(synthetic_value(&val, 6, 0).is_err());
    }

    #[test]
    fn failures_count_to_strictly_above_threshold() {
        let mut h = Health::default();
        assert_eq!(h.record(false, 3), Outcome::Failing);
        assert_eq!(h.record(false, 3), Outcome::Failing);
        assert_eq!(h.record(false, 3), Outcome::Failing);
        assert_eq!(h.status(), "Failing");
        assert_eq!(h.record(false, 3), Outcome::UseFallback);
        assert_eq!(h.number_of_failures, 4);
        assert_eq!(h.record(true, 3), Outcome::Healthy);
        assert_eq!(h, Health::default());
        assert_eq!(h.status(), "Happy");
        let mut h0 = Health::default();
        assert_eq!(h0.record(false, 0), Outcome::UseFallback);
    }

    #[test]
    fn validity() {
        let ok = Fallback {
            failure_threshold: 3,
            replicas: 0,
            behavior: Behavior::Static,
        };
        assert!(ok.validate(None).is_ok());
        let bad = Fallback {
            failure_threshold: -1,
            replicas: 2,
            behavior: Behavior::Static,
        };
        assert_eq!(
            bad.validate(None).unwrap_err(),
            "FailureThreshold=-1 & Replicas=2 must both be greater than or equal to 0"
        );
        assert!(ok.validate(Some("2")).is_ok());
        assert!(ok.validate(Some("2.5")).is_err());
        assert!(ok.validate(Some("0")).is_err());
    }
}
