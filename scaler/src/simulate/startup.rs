//! How long a simulated pod takes from creation to Ready: a fixed delay (`--startup 3m`) or a
//! distribution given by two quantiles (`--startup p50=2m,p90=4m`).
//!
//! A distribution is the lognormal through the two quantiles (start-up times are positive and
//! right-skewed: most pods take about the median, a few take much longer). It is sampled
//! deterministically, without a random generator: the k-th pod created gets the quantile
//! `u_k` of the van der Corput sequence (1/2, 1/4, 3/4, 1/8, 5/8, …), so the first pod takes the
//! median, every run gives the same answer, and any stretch of consecutive pods spreads over
//! the whole distribution (the first seven already span its 12.5th to 87.5th percentiles).

use std::time::Duration;

/// The start-up model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Startup {
    Fixed(Duration),
    /// Lognormal: `ln(delay) ~ Normal(mu, sigma)`, seconds.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
}

impl Startup {
    /// Parses `3m`, or two quantiles `pNN=DURATION` separated by a comma.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if !t.contains('=') {
            return duration(t).map(Self::Fixed);
        }
        let mut qs = Vec::new();
        for part in t.split(',') {
            let (q, d) = part
                .split_once('=')
                .ok_or_else(|| format!("--startup {t:?}: {part:?} is not pNN=DURATION"))?;
            let p = q
                .trim()
                .strip_prefix('p')
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p < 100.0)
                .ok_or_else(|| format!("--startup {t:?}: {q:?} is not a percentile such as p50"))?;
            qs.push((p / 100.0, duration(d.trim())?.as_secs_f64()));
        }
        let [(q1, t1), (q2, t2)] = qs.as_slice() else {
            return Err(format!(
                "--startup {t:?}: give exactly two quantiles, e.g. p50=2m,p90=4m"
            ));
        };
        let ((q1, t1), (q2, t2)) = if q1 < q2 {
            ((*q1, *t1), (*q2, *t2))
        } else {
            ((*q2, *t2), (*q1, *t1))
        };
        if q1 == q2 || t1 <= 0.0 || t2 <= t1 {
            return Err(format!(
                "--startup {t:?}: the higher percentile needs a longer start-up than the lower one"
            ));
        }
        let sigma = (t2.ln() - t1.ln()) / (probit(q2) - probit(q1));
        Ok(Self::LogNormal {
            mu: t1.ln() - sigma * probit(q1),
            sigma,
        })
    }

    /// The start-up of the `k`-th pod created (0-based), whole seconds (pod timestamps have
    /// second precision).
    pub fn delay(&self, k: u64) -> Duration {
        match *self {
            Self::Fixed(d) => d,
            Self::LogNormal { mu, sigma } => {
                let secs = (mu + sigma * probit(van_der_corput(k + 1))).exp();
                Duration::from_secs(secs.round().max(0.0) as u64)
            }
        }
    }

    /// The model's `q`-quantile (for the summary and tests).
    pub fn quantile(&self, q: f64) -> Duration {
        match *self {
            Self::Fixed(d) => d,
            Self::LogNormal { mu, sigma } => {
                Duration::from_secs_f64((mu + sigma * probit(q)).exp())
            }
        }
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    prescale_scalers::params::parse_go_duration(text)
        .map_err(|e| format!("--startup: {e} (use e.g. 3m or p50=2m,p90=4m)"))
}

/// The radical inverse of `n` in base 2: 1 → 1/2, 2 → 1/4, 3 → 3/4, 4 → 1/8, …
fn van_der_corput(mut n: u64) -> f64 {
    let (mut q, mut denom) = (0.0, 1.0);
    while n > 0 {
        denom *= 2.0;
        q += (n & 1) as f64 / denom;
        n >>= 1;
    }
    q
}

/// The standard normal quantile function (Acklam's rational approximation, relative error
/// below 1.2e-9 on (0, 1)).
pub fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probit_matches_known_quantiles() {
        for (p, z) in [
            (0.5, 0.0),
            (0.9, 1.281_551_565_5),
            (0.975, 1.959_963_985),
            (0.01, -2.326_347_874),
        ] {
            assert!((probit(p) - z).abs() < 1e-8, "{p}: {}", probit(p));
        }
    }

    #[test]
    fn fixed_and_quantile_forms() {
        assert_eq!(
            Startup::parse("3m").unwrap().delay(7),
            Duration::from_secs(180)
        );
        let s = Startup::parse("p50=2m,p90=4m").unwrap();
        assert!((s.quantile(0.5).as_secs_f64() - 120.0).abs() < 1e-6);
        assert!((s.quantile(0.9).as_secs_f64() - 240.0).abs() < 1e-6);
        assert_eq!(
            Startup::parse("p90=4m, p50=2m").unwrap(),
            s,
            "order does not matter"
        );
        assert_eq!(
            s.delay(0),
            Duration::from_secs(120),
            "the first pod takes the median"
        );
        // the sample follows the distribution: about 90 % of 1,000 pods within the p90
        let within = (0..1000)
            .filter(|k| s.delay(*k) <= Duration::from_secs(240))
            .count();
        assert!((880..=920).contains(&within), "{within}");
        let mut first: Vec<u64> = (0..7).map(|k| s.delay(k).as_secs()).collect();
        first.sort();
        // the 12.5th and 87.5th percentiles: 120 s × exp(∓ln 2 × z(0.875) / z(0.9))
        assert_eq!((first[0], first[6]), (64, 224), "{first:?}");
    }

    #[test]
    fn bad_forms_say_what_is_expected() {
        assert!(
            Startup::parse("soon")
                .unwrap_err()
                .contains("invalid duration")
        );
        assert!(
            Startup::parse("p50=2m")
                .unwrap_err()
                .contains("exactly two")
        );
        assert!(
            Startup::parse("p50=4m,p90=2m")
                .unwrap_err()
                .contains("longer start-up")
        );
        assert!(
            Startup::parse("q50=2m,p90=4m")
                .unwrap_err()
                .contains("percentile")
        );
        assert!(
            Startup::parse("p50=2m,p90")
                .unwrap_err()
                .contains("pNN=DURATION")
        );
    }
}
