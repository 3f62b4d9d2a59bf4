//! Numbers rendered as canonical Kubernetes quantities with milli precision, as the
//! external metrics API serves them and HPA targets carry them.

/// A float rendered as a canonical milli-precision Kubernetes Quantity (DecimalSI):
/// 2.5 → `2500m`, 2000 → `2k`, 12 → `12`. NaN, ±Inf and negatives become `0`.
pub fn milli_quantity(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".to_string();
    }
    let milli = (v * 1000.0).round();
    let milli = if milli >= i64::MAX as f64 {
        i64::MAX
    } else {
        milli as i64
    };
    format_milli(milli)
}

/// An integer rendered as a canonical Kubernetes Quantity (DecimalSI): 5 → `5`, 1000 → `1k`.
pub fn int_quantity(n: i64) -> String {
    match n.checked_mul(1000) {
        Some(m) => format_milli(m),
        None => n.to_string(),
    }
}

/// A milli-value rendered as a canonical Kubernetes Quantity (DecimalSI): 2500 → `2500m`,
/// 2000 → `2`, 2000000 → `2k`.
pub fn format_milli(milli: i64) -> String {
    if milli == 0 {
        return "0".to_string();
    }
    let sign = if milli < 0 { "-" } else { "" };
    let m = milli.unsigned_abs();
    if !m.is_multiple_of(1000) {
        return format!("{sign}{m}m");
    }
    let mut n = m / 1000;
    let mut exp = 0;
    const SUFFIX: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    while n.is_multiple_of(1000) && exp < SUFFIX.len() - 1 {
        n /= 1000;
        exp += 1;
    }
    format!("{sign}{n}{}", SUFFIX[exp])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_canonical() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (2.5, "2500m"),
            (2000.0, "2k"),
            (12.0, "12"),
            (1500.0, "1500"),
            (0.1, "100m"),
            (0.0004, "0"),
            (0.0005, "1m"),
            (1_000_000.0, "1M"),
            (1.2345, "1235m"),
            (-3.0, "0"),
            (f64::NAN, "0"),
            (f64::INFINITY, "0"),
            (f64::NEG_INFINITY, "0"),
        ];
        for (v, want) in cases {
            assert_eq!(milli_quantity(*v), *want, "value {v}");
        }
        assert_eq!(int_quantity(5), "5");
        assert_eq!(int_quantity(1000), "1k");
        assert_eq!(int_quantity(0), "0");
        assert_eq!(int_quantity(-5), "-5");
        assert_eq!(int_quantity(1_500_000_000), "1500M");
    }
}
