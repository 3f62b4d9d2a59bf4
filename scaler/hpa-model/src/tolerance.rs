//! The tolerance: the band around ratio 1 inside which a metric proposes no change.
//!
//! Since 1.33 the controller keeps one tolerance per direction and tests
//! `1 − down ≤ r ≤ 1 + up` (inclusive, float64); before, it tested `|1 − r| ≤ tol`. The two
//! differ at the upper edge by float rounding: with tol 0.1 and r = 11/10, `1 + 0.1` rounds to
//! the same double as 1.1 (within), while `1.1 − 1` rounds above 0.1 (outside).
//!
//! Per-HPA tolerances come from `behavior.scaleUp/scaleDown.tolerance` when the
//! `HPAConfigurableTolerance` gate is on and `behavior` is present; the flag's value otherwise.
//! The field is a Kubernetes quantity, which the controller turns into a float with
//! `AsApproximateFloat64`: the quantity's integer mantissa times `10^exponent`. This module
//! reads it the same way, so `"0.05"` (5 × 10⁻²) and `"50m"` (50 × 10⁻³) give the floats the
//! controller compares with.

use crate::spec::{ControllerConfig, HpaSpec};
use serde::Deserializer;
use serde::de::{self, Visitor};
use std::fmt;

/// The two tolerances in force for one HPA, and which test applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    pub up: f64,
    pub down: f64,
    /// The pre-1.33 test (`|1 − r| ≤ tol`, with the tolerance of r's direction).
    pub legacy_test: bool,
}

impl Tolerances {
    /// The tolerances the controller applies to this HPA (`tolerancesForHpa`).
    pub fn for_hpa(spec: &HpaSpec, config: &ControllerConfig) -> Self {
        let mut t = Tolerances {
            up: config.tolerance,
            down: config.tolerance,
            legacy_test: config.legacy_tolerance_test,
        };
        if !config.configurable_tolerance {
            return t;
        }
        if let Some(b) = &spec.behavior {
            if let Some(down) = b.scale_down.as_ref().and_then(|r| r.tolerance) {
                t.down = down;
            }
            if let Some(up) = b.scale_up.as_ref().and_then(|r| r.tolerance) {
                t.up = up;
            }
        }
        t
    }

    /// Whether ratio `r` is close enough to 1 to propose no change.
    pub fn is_within(&self, r: f64) -> bool {
        if self.legacy_test {
            let tol = if r > 1.0 { self.up } else { self.down };
            (1.0 - r).abs() <= tol
        } else {
            (1.0 - self.down) <= r && r <= (1.0 + self.up)
        }
    }
}

/// `10^n` as Go's `math.Pow10` gives it: the correctly rounded power, and for negative `n`
/// one division of 1 by it.
fn pow10(n: i32) -> f64 {
    let positive = |k: i32| -> f64 { format!("1e{k}").parse().unwrap_or(f64::INFINITY) };
    if n >= 0 {
        positive(n)
    } else {
        1.0 / positive(-n)
    }
}

/// A Kubernetes quantity as `Quantity.AsApproximateFloat64` reads it: mantissa × 10^exponent,
/// with the parser's rounding up to nano-units.
pub fn quantity_to_f64(raw: &str) -> Result<f64, String> {
    let bad = || format!("{raw:?} is not a Kubernetes quantity");
    let s = raw.trim();
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let end = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(bad());
    }
    let (exp10, exp2) = suffix_exponents(suffix).ok_or_else(bad)?;
    let digits = format!("{whole}{fraction}");
    let mut mantissa: i128 = match digits.trim_start_matches('0') {
        "" => 0,
        d if d.len() <= 36 => d.parse().map_err(|_| bad())?,
        _ => {
            // beyond exact integers: a plain float parse is as close as it gets
            let v: f64 = format!("{number}e{exp10}").parse().map_err(|_| bad())?;
            let v = v * 2f64.powi(exp2 as i32);
            return Ok(if negative { -v } else { v });
        }
    };
    mantissa = mantissa.checked_mul(1i128 << exp2).ok_or_else(bad)?;
    let mut scale = exp10 - fraction.len() as i32;
    if scale < -9 && mantissa != 0 {
        // ParseQuantity rounds anything finer than nano up (away from zero) to nano.
        let d = 10i128.checked_pow((-9 - scale) as u32).unwrap_or(i128::MAX);
        mantissa = mantissa / d + i128::from(mantissa % d != 0);
        scale = -9;
    }
    let v = mantissa as f64;
    let v = if scale == 0 { v } else { v * pow10(scale) };
    Ok(if negative { -v } else { v })
}

/// The decimal and binary exponents a suffix stands for.
fn suffix_exponents(suffix: &str) -> Option<(i32, u32)> {
    let decimal = [
        ("", 0),
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("k", 3),
        ("M", 6),
        ("G", 9),
        ("T", 12),
        ("P", 15),
        ("E", 18),
    ];
    if let Some((_, e)) = decimal.iter().find(|(s, _)| *s == suffix) {
        return Some((*e, 0));
    }
    let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if let Some(k) = binary.iter().position(|s| *s == suffix) {
        return Some((0, 10 * (k as u32 + 1)));
    }
    let exp = suffix.strip_prefix(['e', 'E'])?;
    let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    exp.parse().ok().map(|e| (e, 0))
}

/// Deserialises an optional tolerance given as a quantity string or a JSON number (the API
/// server accepts both; a number is parsed from its text like a string).
pub fn deserialize_quantity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a Kubernetes quantity (\"0.05\", \"50m\") or a number")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            quantity_to_f64(s).map(Some).map_err(E::custom)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // Rust prints the shortest text that reads back as `v`: the text that was written.
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_option(V)
}
