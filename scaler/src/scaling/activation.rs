//! The poll loop's decision table for activation, scale to/from zero, idle and cooldown
//! (KEDA's `scale_scaledobjects.go`, spec §3.5), as a pure function.

use chrono::{DateTime, Duration, Utc};

/// What one poll saw and what the ScaledObject says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollState {
    /// Any external trigger active (or the composite value above its activation target).
    pub active: bool,
    /// `autoscaling.keda.sh/force-activation: "true"`.
    pub force_activation: bool,
    /// At least one trigger failed without fallback covering it.
    pub errored: bool,
    /// `spec.fallback` is set, valid, and its replicas ≠ 0.
    pub fallback_nonzero: bool,
    /// The target's current `spec.replicas` from `/scale`.
    pub current: i32,
    /// `minReplicaCount` (0 when unset).
    pub min: i32,
    /// `idleReplicaCount`.
    pub idle: Option<i32>,
    /// `autoscaling.keda.sh/paused-scale-in`.
    pub paused_scale_in: bool,
    /// `autoscaling.keda.sh/paused-scale-out`.
    pub paused_scale_out: bool,
    /// Whether the cooldown has elapsed (see [`cooldown_elapsed`]).
    pub cooldown_elapsed: bool,
}

/// What the poll loop does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Scale the target from 0 / idle up to `to`; set `lastActiveTime`; Active=True;
    /// Event `KEDAScaleTargetActivated`.
    Activate { to: i32 },
    /// Active, but scaling out is paused: leave replicas alone, refresh `lastActiveTime`.
    ActiveScaleOutPaused,
    /// Active and running: refresh `lastActiveTime` (the HPA does 1..N).
    KeepActive,
    /// Active, but some trigger errored: Ready=Unknown `PartialTriggerError`, `lastActiveTime`
    /// not refreshed.
    PartialError,
    /// Inactive with errors and a fallback: do nothing, let the HPA reach the fallback count.
    HoldForFallback,
    /// Inactive with errors and no fallback: Ready=False `TriggerError`, nothing scaled.
    TriggerError,
    /// Scale in to idle / min: Event `KEDAScaleTargetDeactivated`.
    Deactivate { to: i32 },
    /// Would scale in, but the cooldown has not elapsed or scale-in is paused:
    /// Active=False `ScalerCooldown`.
    Cooldown,
    /// Inactive, no idle count, below min: set replicas to min at once.
    RaiseToMin { to: i32 },
    /// Nothing to do (inactive and already where it should be).
    Nothing,
}

/// KEDA's decision table; the first matching row wins.
pub fn decide(s: &PollState) -> Decision {
    if s.active || s.force_activation {
        if (s.idle.is_some() && s.current < s.min) || s.current == 0 {
            if s.paused_scale_out {
                return Decision::ActiveScaleOutPaused;
            }
            return Decision::Activate {
                to: if s.min > 0 { s.min } else { 1 },
            };
        }
        if s.errored {
            return Decision::PartialError;
        }
        return Decision::KeepActive;
    }
    if s.errored {
        return if s.fallback_nonzero {
            Decision::HoldForFallback
        } else {
            Decision::TriggerError
        };
    }
    let above_idle = s.idle.is_some_and(|idle| s.current > idle);
    if above_idle || (s.current > 0 && s.min == 0) {
        if s.cooldown_elapsed && !s.paused_scale_in {
            return Decision::Deactivate {
                to: s.idle.unwrap_or(s.min),
            };
        }
        return Decision::Cooldown;
    }
    if s.idle.is_none() && s.current < s.min {
        return Decision::RaiseToMin { to: s.min };
    }
    Decision::Nothing
}

/// KEDA's cooldown test: with no `lastActiveTime`, scale-in is allowed once
/// `created + initialCooldownPeriod` has passed; otherwise once `lastActiveTime + cooldownPeriod`
/// has passed.
pub fn cooldown_elapsed(
    now: DateTime<Utc>,
    last_active: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
    cooldown_period_s: i32,
    initial_cooldown_period_s: i32,
) -> bool {
    match last_active {
        None => now >= created + Duration::seconds(i64::from(initial_cooldown_period_s.max(0))),
        Some(t) => now >= t + Duration::seconds(i64::from(cooldown_period_s.max(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PollState {
        PollState {
            active: false,
            force_activation: false,
            errored: false,
            fallback_nonzero: false,
            current: 0,
            min: 0,
            idle: None,
            paused_scale_in: false,
            paused_scale_out: false,
            cooldown_elapsed: true,
        }
    }

    /// Every row of spec §3.5, in order, plus the edges between rows.
    #[test]
    fn decision_table_rows() {
        use Decision::*;
        let cases: Vec<(&str, PollState, Decision)> = vec![
            (
                "active from zero, min 0 → 1",
                PollState {
                    active: true,
                    ..base()
                },
                Activate { to: 1 },
            ),
            (
                "active from zero, min 3 → 3",
                PollState {
                    active: true,
                    min: 3,
                    ..base()
                },
                Activate { to: 3 },
            ),
            (
                "active at idle below min → min",
                PollState {
                    active: true,
                    idle: Some(0),
                    min: 2,
                    current: 0,
                    ..base()
                },
                Activate { to: 2 },
            ),
            (
                "active with idle 1 < current 1 < min 3",
                PollState {
                    active: true,
                    idle: Some(1),
                    min: 3,
                    current: 1,
                    ..base()
                },
                Activate { to: 3 },
            ),
            (
                "forced activation from zero",
                PollState {
                    force_activation: true,
                    ..base()
                },
                Activate { to: 1 },
            ),
            (
                "active from zero but scale-out paused",
                PollState {
                    active: true,
                    paused_scale_out: true,
                    ..base()
                },
                ActiveScaleOutPaused,
            ),
            (
                "active from zero with an error still activates",
                PollState {
                    active: true,
                    errored: true,
                    ..base()
                },
                Activate { to: 1 },
            ),
            (
                "active running with error",
                PollState {
                    active: true,
                    errored: true,
                    current: 2,
                    ..base()
                },
                PartialError,
            ),
            (
                "active running",
                PollState {
                    active: true,
                    current: 2,
                    ..base()
                },
                KeepActive,
            ),
            (
                "active running, no idle, below min: HPA's job",
                PollState {
                    active: true,
                    current: 1,
                    min: 3,
                    ..base()
                },
                KeepActive,
            ),
            (
                "inactive, error, fallback",
                PollState {
                    errored: true,
                    fallback_nonzero: true,
                    current: 4,
                    ..base()
                },
                HoldForFallback,
            ),
            (
                "inactive, error, fallback, at zero",
                PollState {
                    errored: true,
                    fallback_nonzero: true,
                    ..base()
                },
                HoldForFallback,
            ),
            (
                "inactive, error, no fallback",
                PollState {
                    errored: true,
                    current: 4,
                    ..base()
                },
                TriggerError,
            ),
            (
                "inactive above zero, min 0, cooled",
                PollState {
                    current: 3,
                    ..base()
                },
                Deactivate { to: 0 },
            ),
            (
                "inactive above idle, cooled",
                PollState {
                    current: 3,
                    idle: Some(0),
                    min: 2,
                    ..base()
                },
                Deactivate { to: 0 },
            ),
            (
                "inactive above zero, cooling",
                PollState {
                    current: 3,
                    cooldown_elapsed: false,
                    ..base()
                },
                Cooldown,
            ),
            (
                "inactive above zero, scale-in paused",
                PollState {
                    current: 3,
                    paused_scale_in: true,
                    ..base()
                },
                Cooldown,
            ),
            (
                "inactive below min, no idle",
                PollState {
                    current: 1,
                    min: 3,
                    ..base()
                },
                RaiseToMin { to: 3 },
            ),
            (
                "inactive at idle",
                PollState {
                    current: 0,
                    idle: Some(0),
                    min: 2,
                    ..base()
                },
                Nothing,
            ),
            (
                "inactive at min",
                PollState {
                    current: 3,
                    min: 3,
                    ..base()
                },
                Nothing,
            ),
            ("inactive at zero", base(), Nothing),
        ];
        for (name, state, want) in cases {
            assert_eq!(decide(&state), want, "{name}");
        }
    }

    #[test]
    fn cooldown_uses_last_active_or_creation() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .to_utc();
        let at = |s: i64| t0 + Duration::seconds(s);
        // never active: initialCooldownPeriod from creation
        assert!(cooldown_elapsed(at(0), None, t0, 300, 0));
        assert!(!cooldown_elapsed(at(119), None, t0, 300, 120));
        assert!(cooldown_elapsed(at(120), None, t0, 300, 120));
        // active before: cooldownPeriod from lastActiveTime
        assert!(!cooldown_elapsed(at(399), Some(at(100)), t0, 300, 0));
        assert!(cooldown_elapsed(at(400), Some(at(100)), t0, 300, 0));
        assert!(cooldown_elapsed(at(100), Some(at(100)), t0, 0, 0));
    }
}
