//! The pause annotations of a ScaledObject (spec §1.4, §3.8).

use std::collections::BTreeMap;

pub const PAUSED: &str = "autoscaling.keda.sh/paused";
pub const PAUSED_REPLICAS: &str = "autoscaling.keda.sh/paused-replicas";
pub const PAUSED_SCALE_IN: &str = "autoscaling.keda.sh/paused-scale-in";
pub const PAUSED_SCALE_OUT: &str = "autoscaling.keda.sh/paused-scale-out";
pub const FORCE_ACTIVATION: &str = "autoscaling.keda.sh/force-activation";

/// What the annotations ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pause {
    /// `paused` or `paused-replicas`: the loop stops and the HPA is deleted.
    pub paused: bool,
    /// `paused-replicas: N`: the target is set to N once.
    pub replicas: Option<i32>,
    pub scale_in: bool,
    pub scale_out: bool,
    pub force_activation: bool,
}

impl Pause {
    /// Reads the annotations. A `paused-replicas` value that is not an int32 is an error
    /// (KEDA fails the reconcile); `paused` counts as true unless it parses as a false bool;
    /// the scale-in/out and force-activation switches are on only for a true bool.
    pub fn from_annotations(a: &BTreeMap<String, String>) -> Result<Self, String> {
        let flag = |k: &str| {
            a.get(k)
                .and_then(|v| prescale_scalers::params::parse_go_bool(v))
                .unwrap_or(false)
        };
        let replicas = match a.get(PAUSED_REPLICAS) {
            None => None,
            Some(v) => Some(v.trim().parse::<i32>().map_err(|_| {
                format!(
                    "annotation {PAUSED_REPLICAS} value {v:?} is not a valid int32 replica count"
                )
            })?),
        };
        let paused_flag = a
            .get(PAUSED)
            .map(|v| prescale_scalers::params::parse_go_bool(v) != Some(false))
            .unwrap_or(false);
        Ok(Self {
            paused: paused_flag || replicas.is_some(),
            replicas,
            scale_in: flag(PAUSED_SCALE_IN),
            scale_out: flag(PAUSED_SCALE_OUT),
            force_activation: flag(FORCE_ACTIVATION),
        })
    }

    /// Paused in any way (the Paused condition is True).
    pub fn any(&self) -> bool {
        self.paused || self.scale_in || self.scale_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn annotations() {
        assert_eq!(
            Pause::from_annotations(&ann(&[])).unwrap(),
            Pause::default()
        );
        assert!(
            Pause::from_annotations(&ann(&[(PAUSED, "true")]))
                .unwrap()
                .paused
        );
        assert!(
            !Pause::from_annotations(&ann(&[(PAUSED, "false")]))
                .unwrap()
                .paused
        );
        // a non-bool value counts as paused (KEDA quirk)
        assert!(
            Pause::from_annotations(&ann(&[(PAUSED, "yes please")]))
                .unwrap()
                .paused
        );
        let p = Pause::from_annotations(&ann(&[(PAUSED_REPLICAS, "5")])).unwrap();
        assert_eq!((p.paused, p.replicas), (true, Some(5)));
        let p =
            Pause::from_annotations(&ann(&[(PAUSED, "false"), (PAUSED_REPLICAS, "0")])).unwrap();
        assert_eq!((p.paused, p.replicas), (true, Some(0)));
        let e = Pause::from_annotations(&ann(&[(PAUSED_REPLICAS, "five")])).unwrap_err();
        assert!(e.contains("paused-replicas") && e.contains("five"), "{e}");
        let p = Pause::from_annotations(&ann(&[
            (PAUSED_SCALE_IN, "true"),
            (PAUSED_SCALE_OUT, "1"),
            (FORCE_ACTIVATION, "True"),
        ]))
        .unwrap();
        assert!(p.scale_in && p.scale_out && p.force_activation && !p.paused && p.any());
        let p = Pause::from_annotations(&ann(&[(PAUSED_SCALE_IN, "nope")])).unwrap();
        assert!(!p.scale_in && !p.any());
    }
}
