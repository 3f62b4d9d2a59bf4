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

/// Parses a quantity into its numeric value (approximate, for arithmetic and display only).
pub fn parse_quantity(raw: &str) -> Result<f64, String> {
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
    let multiplier = suffix_multiplier(suffix).ok_or_else(|| {
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
    let value: f64 = number.parse().map_err(|_| bad())?;
    let value = value * multiplier;
    Ok(if negative { -value } else { value })
}

fn suffix_multiplier(suffix: &str) -> Option<f64> {
    let decimal = |e: i32| Some(10f64.powi(e));
    let binary = |e: i32| Some(2f64.powi(e));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i32 = exp.parse().ok()?;
            decimal(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_quantities() {
        let cases: &[(&str, f64)] = &[
            ("500m", 0.5),
            ("512Mi", 512.0 * 1024.0 * 1024.0),
            ("1", 1.0),
            ("1.5", 1.5),
            ("1.5G", 1.5e9),
            (".5", 0.5),
            ("5.", 5.0),
            ("+2k", 2000.0),
            ("-1", -1.0),
            ("2e3", 2000.0),
            ("2E-3", 0.002),
            ("1e+2", 100.0),
            ("1Ki", 1024.0),
            ("1Gi", 1073741824.0),
            ("1Ti", 2f64.powi(40)),
            ("1Pi", 2f64.powi(50)),
            ("1Ei", 2f64.powi(60)),
            ("3T", 3e12),
            ("3P", 3e15),
            ("3E", 3e18),
            ("100n", 100e-9),
            ("100u", 100e-6),
            ("007", 7.0),
        ];
        for (raw, want) in cases {
            let got = parse_quantity(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(
                (got - want).abs() <= want.abs() * 1e-12,
                "{raw}: {got} != {want}"
            );
        }
    }

    #[test]
    fn invalid_quantities() {
        let format = [
            "", "abc", "1.2.3", ".", "+", "-", "Mi", " 1", "1 ", "1,5", "0x10", "1Mb", "½",
        ];
        for raw in format {
            let err = parse_quantity(raw).unwrap_err();
            assert!(
                err.contains("quantities must match the regular expression"),
                "{raw:?}: {err}"
            );
        }
        for raw in [
            "1MiB", "1mi", "1K", "1e", "1e+", "1e1.5", "1kk", "1ee2", "1Gi5",
        ] {
            let err = parse_quantity(raw).unwrap_err();
            assert!(
                err.contains("unable to parse quantity's suffix")
                    || err.contains("quantities must match"),
                "{raw:?}: {err}"
            );
            assert!(
                err.starts_with(&format!("unable to parse quantity {raw:?}")),
                "{err}"
            );
        }
    }
}
