//! The instant query and KEDA's handling of its answer, step by step (spec §5.1).

use crate::error::{Error, Result};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Body {
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    result: Vec<Element>,
}

#[derive(Debug, Deserialize)]
struct Element {
    #[serde(default)]
    value: Vec<serde_json::Value>,
}

/// The metric value from an HTTP status and body. `ignore_null` turns empty results and
/// NaN/±Inf into 0 instead of errors.
pub fn value_of(status: u16, body: &[u8], query: &str, ignore_null: bool) -> Result<f64> {
    // 1. HTTP status
    if !(200..300).contains(&status) {
        return Err(Error::Query(format!(
            "prometheus query api returned error. status: {status}"
        )));
    }
    // 2. body shape (a scalar result, `[ts, "v"]`, fails here, as in KEDA)
    let body: Body = serde_json::from_slice(body).map_err(|e| {
        Error::Value(format!(
            "prometheus query {query} returned an unexpected body: {e}"
        ))
    })?;
    // 3. empty
    let result = body.data.result;
    if result.is_empty() {
        return if ignore_null {
            Ok(0.0)
        } else {
            Err(Error::Value(
                "prometheus metrics 'prometheus' target may be lost, the result is empty".into(),
            ))
        };
    }
    // 4. more than one element
    if result.len() > 1 {
        return Err(Error::Value(format!(
            "prometheus query {query} returned multiple elements"
        )));
    }
    // 5. no value
    let value = &result[0].value;
    if value.is_empty() {
        return if ignore_null {
            Ok(0.0)
        } else {
            Err(Error::Value(
                "prometheus metrics 'prometheus' target may be lost, the value list is empty"
                    .into(),
            ))
        };
    }
    // 6. too short
    if value.len() < 2 {
        return Err(Error::Value(format!(
            "prometheus query {query} didn't return enough values"
        )));
    }
    // 7. the value string (Go float syntax: NaN, +Inf, -Inf, exponents); null stays -1 → 0
    let v = match &value[1] {
        serde_json::Value::Null => -1.0,
        serde_json::Value::String(s) => parse_go_float(s).ok_or_else(|| {
            Error::Value(format!(
                "prometheus query {query} returned a value that is not a number: {s:?}"
            ))
        })?,
        other => {
            return Err(Error::Value(format!(
                "prometheus query {query} returned a value that is not a string: {other}"
            )));
        }
    };
    // 8. NaN / ±Inf
    if v.is_nan() || v.is_infinite() {
        if ignore_null {
            return Ok(0.0);
        }
        let which = if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(Error::Value(format!("prometheus query returns {which}")));
    }
    // 9.
    Ok(v)
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(v: &str) -> String {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.1,"{v}"]}}]}}}}"#
        )
    }

    #[test]
    fn steps_in_order() {
        let q = "sum(x)";
        assert_eq!(
            value_of(200, vector("12.5").as_bytes(), q, true).unwrap(),
            12.5
        );
        assert_eq!(
            value_of(200, vector("1e3").as_bytes(), q, true).unwrap(),
            1000.0
        );
        assert_eq!(
            value_of(500, b"{}", q, true).unwrap_err().to_string(),
            "prometheus query api returned error. status: 500"
        );
        assert!(value_of(200, b"not json", q, true).is_err());
        let scalar =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}"#;
        assert!(value_of(200, scalar, q, true).is_err());
        let empty = br#"{"data":{"result":[]}}"#;
        assert_eq!(value_of(200, empty, q, true).unwrap(), 0.0);
        assert_eq!(
            value_of(200, empty, q, false).unwrap_err().to_string(),
            "prometheus metrics 'prometheus' target may be lost, the result is empty"
        );
        let two = br#"{"data":{"result":[{"value":[1,"1"]},{"value":[1,"2"]}]}}"#;
        assert_eq!(
            value_of(200, two, q, true).unwrap_err().to_string(),
            "prometheus query sum(x) returned multiple elements"
        );
        let matrix = br#"{"data":{"result":[{"values":[[1,"1"]]}]}}"#;
        assert_eq!(value_of(200, matrix, q, true).unwrap(), 0.0);
        assert!(
            value_of(200, matrix, q, false)
                .unwrap_err()
                .to_string()
                .contains("the value list is empty")
        );
        let short = br#"{"data":{"result":[{"value":[1]}]}}"#;
        assert_eq!(
            value_of(200, short, q, true).unwrap_err().to_string(),
            "prometheus query sum(x) didn't return enough values"
        );
        assert!(value_of(200, vector("abc").as_bytes(), q, true).is_err());
        for (v, name) in [("NaN", "NaN"), ("+Inf", "+Inf"), ("-Inf", "-Inf")] {
            assert_eq!(value_of(200, vector(v).as_bytes(), q, true).unwrap(), 0.0);
            assert_eq!(
                value_of(200, vector(v).as_bytes(), q, false)
                    .unwrap_err()
                    .to_string(),
                format!("prometheus query returns {name}")
            );
        }
        let null = br#"{"data":{"result":[{"value":[1,null]}]}}"#;
        assert_eq!(
            value_of(200, null, q, false).unwrap(),
            -1.0,
            "served as 0 by the quantity rule"
        );
    }
}
