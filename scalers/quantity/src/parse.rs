//! Kubernetes resource quantities (`500m`, `512Mi`, `1.5G`, `2e3`), checked by hand so that a bad
//! `value` becomes an error where KEDA's `resource.MustParse` panics.
//!
//! Grammar (k8s.io/apimachinery `resource.ParseQuantity`):
//! `[+-]? (digits | digits "." digits? | "." digits) suffix`, where suffix is one of
//! `""`, `n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E` (decimal SI), `Ki`, `Mi`, `Gi`, `Ti`, `Pi`,
//! `Ei` (binary SI), or `e`/`E` followed by a signed integer (decimal exponent). `n` and `u` are
//! not in the grammar's doc comment but the Kubernetes parser accepts them, so this does too.

/// Kubernetes' own wording for a malformed quantity (`resource.ErrFormatWrong`).
const FORMAT_WRONG: &str = "quantities must match the regular expression \
     '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// A valid quantity: its canonical text (what the API server stores) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// Kubernetes' canonical form: `1000m` → `1`, `1.5G` → `1500M`, `1024Ki` → `1Mi`,
    /// `0.5Ki` → `512`. Falls back to the text as written when the exact arithmetic below would
    /// overflow (absurdly large or long quantities).
    pub canonical: String,
    /// The value as a float (approximate; for arithmetic and display only).
    pub value: f64,
    /// The exact value in thousandths, rounded up as Kubernetes' `MilliValue` does, saturating
    /// at the `i64` range (what the HPA controller computes with).
    pub milli: i64,
}

/// How the suffix scales the number, and which format the canonical form keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Suffix {
    /// `n` … `E`: ×10^e.
    DecimalSi(i32),
    /// `Ki` … `Ei`: ×1024^k.
    BinarySi(u32),
    /// `e<n>`/`E<n>`: ×10^n.
    Exponent(i32),
}

/// Parses and canonicalises a quantity, or explains why it is not one.
pub fn parse_quantity(raw: &str) -> Result<Quantity, String> {
    let bad = || format!("unable to parse quantity {raw:?}: {FORMAT_WRONG}");
    let unsigned = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    let negative = raw.starts_with('-');
    let number_len = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    // At least one digit, at most one dot.
    let valid_number = !number.is_empty()
        && !fraction.contains('.')
        && (!whole.is_empty() || !fraction.is_empty());
    if !valid_number {
        return Err(bad());
    }
    let suffix = parse_suffix(suffix).ok_or_else(|| {
        if suffix
            .chars()
            .all(|c| "eEinumkKMGTP+-0123456789".contains(c))
        {
            format!("unable to parse quantity {raw:?}: unable to parse quantity's suffix")
        } else {
            bad()
        }
    })?;
    // `number` is digits with at most one dot and at least one digit: Rust parses every such
    // form (`5.`, `.5`) as f64.
    let magnitude: f64 = number.parse().map_err(|_| bad())?;
    let magnitude = magnitude
        * match suffix {
            Suffix::DecimalSi(e) | Suffix::Exponent(e) => 10f64.powi(e),
            Suffix::BinarySi(k) => 1024f64.powi(k as i32),
        };
    let canonical = canonical(negative, whole, fraction, suffix).unwrap_or_else(|| raw.to_string());
    let value = if negative { -magnitude } else { magnitude };
    Ok(Quantity {
        canonical,
        value,
        milli: milli(negative, whole, fraction, suffix).unwrap_or(if negative {
            i64::MIN
        } else {
            i64::MAX
        }),
    })
}

/// The exact value ×1000, rounded up (towards +∞); `None` when it does not fit.
fn milli(negative: bool, whole: &str, fraction: &str, suffix: Suffix) -> Option<i64> {
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 36 {
        return None;
    }
    let mut mantissa: i128 = digits.parse().ok()?;
    let mut exp = 3 - fraction.len() as i32;
    match suffix {
        Suffix::DecimalSi(e) | Suffix::Exponent(e) => exp = exp.checked_add(e)?,
        Suffix::BinarySi(k) => mantissa = mantissa.checked_mul(1i128 << (10 * k))?,
    }
    let magnitude = if exp >= 0 {
        mantissa.checked_mul(10i128.checked_pow(u32::try_from(exp).ok()?)?)?
    } else {
        match 10i128.checked_pow(u32::try_from(-exp).ok()?) {
            // rounding up: away from zero for positive values, towards zero for negative ones
            Some(d) => mantissa / d + i128::from(!negative && mantissa % d != 0),
            None => i128::from(!negative),
        }
    };
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn parse_suffix(suffix: &str) -> Option<Suffix> {
    const DECIMAL: [(&str, i32); 10] = [
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
    const BINARY: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if let Some((_, e)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
        return Some(Suffix::DecimalSi(*e));
    }
    if let Some(k) = BINARY.iter().position(|s| *s == suffix) {
        return Some(Suffix::BinarySi(k as u32 + 1));
    }
    let exp = suffix.strip_prefix(['e', 'E'])?;
    let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    exp.parse().ok().map(Suffix::Exponent)
}

/// Kubernetes' `Quantity.String()` after `ParseQuantity`: exact value rounded up (away from
/// zero) to nano precision; zero is `0`; binary quantities that are integers ≥ 1024 print as
/// `<n><Ki…Ei>` with the largest power of 1024 that divides them, others switch to decimal;
/// decimal ones print an integer mantissa with the exponent lowered to a multiple of 3 and
/// written as an SI suffix (or `e<n>` for the exponent format). `None` on overflow.
fn canonical(negative: bool, whole: &str, fraction: &str, suffix: Suffix) -> Option<String> {
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 36 {
        return None;
    }
    let mut mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut exp = -(fraction.len() as i32);
    match suffix {
        Suffix::DecimalSi(e) | Suffix::Exponent(e) => exp = exp.checked_add(e)?,
        Suffix::BinarySi(k) => mantissa = mantissa.checked_mul(1i128 << (10 * k))?,
    }
    if mantissa == 0 {
        return Some("0".to_string());
    }
    // Round up to nano.
    if exp < -9 {
        let divisor = 10i128.checked_pow(u32::try_from(-9 - exp).ok()?)?;
        let rounded = mantissa / divisor + i128::from(mantissa % divisor != 0);
        (mantissa, exp) = (rounded, -9);
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exp += 1;
    }
    let sign = if negative { "-" } else { "" };
    if let Suffix::BinarySi(_) = suffix {
        // The integer value, if it is one.
        let value = if exp >= 0 {
            mantissa.checked_mul(10i128.checked_pow(exp as u32)?)
        } else {
            None
        };
        if let Some(mut value) = value.filter(|v| *v >= 1024) {
            let mut k = 0;
            while value % 1024 == 0 && k < 6 {
                value /= 1024;
                k += 1;
            }
            let unit = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
            return Some(format!("{sign}{value}{unit}"));
        }
    }
    let r = exp.rem_euclid(3);
    mantissa = mantissa.checked_mul(10i128.pow(r as u32))?;
    exp -= r;
    let unit = match suffix {
        Suffix::Exponent(_) if exp == 0 => String::new(),
        Suffix::Exponent(_) => format!("e{exp}"),
        _ => match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => return None,
        }
        .to_string(),
    };
    Some(format!("{sign}{mantissa}{unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_quantities_values_and_canonical_forms() {
        let cases: &[(&str, f64, &str)] = &[
            ("500m", 0.5, "500m"),
            ("0.5", 0.5, "500m"),
            ("1000m", 1.0, "1"),
            ("1", 1.0, "1"),
            ("1.5", 1.5, "1500m"),
            ("1.5G", 1.5e9, "1500M"),
            ("1000k", 1e6, "1M"),
            ("1500", 1500.0, "1500"),
            (".5", 0.5, "500m"),
            ("5.", 5.0, "5"),
            ("+2k", 2000.0, "2k"),
            ("-1", -1.0, "-1"),
            ("-1.5Gi", -1.5 * 1073741824.0, "-1536Mi"),
            ("0", 0.0, "0"),
            ("0.000Gi", 0.0, "0"),
            ("007", 7.0, "7"),
            ("2e3", 2000.0, "2e3"),
            ("2E-3", 0.002, "2e-3"),
            ("1e+2", 100.0, "100"),
            ("12e2", 1200.0, "1200"),
            ("100n", 100e-9, "100n"),
            ("100u", 100e-6, "100u"),
            ("0.1n", 1e-10, "1n"),
            ("1.0000000001", 1.0000000001, "1000000001n"),
            ("512Mi", 536870912.0, "512Mi"),
            ("1024Ki", 1048576.0, "1Mi"),
            ("1536Mi", 1610612736.0, "1536Mi"),
            ("1.5Ki", 1536.0, "1536"),
            ("0.5Ki", 512.0, "512"),
            ("0.5Gi", 536870912.0, "512Mi"),
            ("1Ki", 1024.0, "1Ki"),
            ("1Gi", 1073741824.0, "1Gi"),
            ("1Ti", 2f64.powi(40), "1Ti"),
            ("1Pi", 2f64.powi(50), "1Pi"),
            ("1Ei", 2f64.powi(60), "1Ei"),
            ("0.001Ki", 1.024, "1024m"),
            ("3T", 3e12, "3T"),
            ("3P", 3e15, "3P"),
            ("3E", 3e18, "3E"),
        ];
        for (raw, value, canonical) in cases {
            let q = parse_quantity(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(
                (q.value - value).abs() <= value.abs() * 1e-12,
                "{raw}: {} != {value}",
                q.value
            );
            assert_eq!(q.canonical, *canonical, "{raw}");
        }
        // Too big for exact arithmetic: kept as written, still a valid quantity.
        let huge = "1234567890123456789012345678901234567890";
        assert_eq!(parse_quantity(huge).unwrap().canonical, huge);
    }

    #[test]
    fn invalid_quantities() {
        let format = [
            "", "abc", "1.2.3", ".", "+", "-", "Mi", " 1", "1 ", "1,5", "0x10", "1Mb", "½",
        ];
        for raw in format {
            let err = parse_quantity(raw).unwrap_err();
            assert_eq!(
                err,
                format!("unable to parse quantity {raw:?}: {FORMAT_WRONG}"),
                "{raw:?}"
            );
        }
        for raw in ["1mi", "1K", "1e", "1e+", "1kk", "1ee2", "1Gi5", "5Mi-"] {
            let err = parse_quantity(raw).unwrap_err();
            assert_eq!(
                err,
                format!("unable to parse quantity {raw:?}: unable to parse quantity's suffix"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn milli_values_are_exact_and_round_up() {
        let cases: &[(&str, i64)] = &[
            ("8.6", 8600),
            ("4.4", 4400),
            ("500m", 500),
            ("1", 1000),
            ("1k", 1_000_000),
            ("1Ki", 1_024_000),
            ("0.0001", 1),
            ("1n", 1),
            ("-1n", 0),
            ("-2.5", -2500),
            ("0", 0),
            ("2e3", 2_000_000),
            ("1E", i64::MAX),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_quantity(raw).unwrap().milli, *want, "{raw}");
        }
    }
}
