//! Table tests of the tolerance: the inclusive and the pre-1.33 test at their edges, which
//! tolerances an HPA gets, and tolerance quantities read as the controller reads them.

use super::*;

#[test]
fn tolerance_edges() {
    let t = |up: f64, down: f64, legacy_test: bool| Tolerances {
        up,
        down,
        legacy_test,
    };
    type Case = (&'static str, Tolerances, f64, bool);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("exactly 1", t(0.1, 0.1, false), 1.0, true),
        ("upper edge 11/10 inclusive", t(0.1, 0.1, false), 11.0 / 10.0, true),
        ("upper edge 11/10, pre-1.33 test", t(0.1, 0.1, true), 11.0 / 10.0, false),
        ("lower edge 9/10 inclusive", t(0.1, 0.1, false), 9.0 / 10.0, true),
        ("lower edge 9/10, pre-1.33 test", t(0.1, 0.1, true), 9.0 / 10.0, true),
        ("just above", t(0.1, 0.1, false), 1.1000001, false),
        ("just below", t(0.1, 0.1, false), 0.8999999, false),
        ("asymmetric: up 0.05 catches 1.06", t(0.05, 0.5, false), 1.06, false),
        ("asymmetric: down 0.5 keeps 0.6", t(0.05, 0.5, false), 0.6, true),
        ("asymmetric, old test uses r's direction", t(0.05, 0.5, true), 0.6, true),
        ("zero tolerance: only exactly 1", t(0.0, 0.0, false), 1.0, true),
        ("zero tolerance: 1.0001 scales", t(0.0, 0.0, false), 1.0001, false),
        ("NaN is never within", t(0.1, 0.1, false), f64::NAN, false),
        ("+Inf is never within", t(0.1, 0.1, false), f64::INFINITY, false),
    ];
    for (name, tol, r, want) in cases {
        assert_eq!(tol.is_within(r), want, "{name}");
    }
}

#[test]
fn tolerances_per_hpa() {
    let with = |up: Option<f64>, down: Option<f64>| {
        let r = |t| {
            Some(ScalingRules {
                tolerance: t,
                ..ScalingRules::default()
            })
        };
        Some(Behavior {
            scale_up: r(up),
            scale_down: r(down),
        })
    };
    let gate_off = ControllerConfig {
        configurable_tolerance: false,
        ..ControllerConfig::default()
    };
    let flag = ControllerConfig {
        tolerance: 0.2,
        ..ControllerConfig::default()
    };
    type Case = (&'static str, Option<Behavior>, ControllerConfig, (f64, f64));
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("no behavior: the flag", None, flag.clone(), (0.2, 0.2)),
        ("both set", with(Some(0.05), Some(0.5)), flag.clone(), (0.05, 0.5)),
        ("up only", with(Some(0.0), None), flag.clone(), (0.0, 0.2)),
        ("down only", with(None, Some(0.3)), flag.clone(), (0.2, 0.3)),
        ("gate off ignores the fields", with(Some(0.05), Some(0.5)), gate_off, (0.1, 0.1)),
    ];
    for (name, behavior, config, (up, down)) in cases {
        let t = Tolerances::for_hpa(&spec(1, 10, vec![], behavior), &config);
        assert_eq!((t.up, t.down), (up, down), "{name}");
    }
}

#[test]
fn tolerance_quantities() {
    let cases: Vec<(&str, Result<f64, ()>)> = vec![
        ("0.05", Ok(5.0 * 0.01)),
        ("50m", Ok(50.0 * 0.001)),
        ("0.1", Ok(0.1)),
        ("100m", Ok(100.0 * 0.001)),
        ("1", Ok(1.0)),
        ("5e-2", Ok(5.0 * 0.01)),
        ("0", Ok(0.0)),
        ("+0.5", Ok(0.5)),
        ("-0.5", Ok(-0.5)),
        ("1Ki", Ok(1024.0)),
        ("0.0000000001", Ok(1e-9)), // rounded up to 1n
        ("", Err(())),
        ("abc", Err(())),
        ("1.2.3", Err(())),
        ("5x", Err(())),
    ];
    for (text, want) in cases {
        assert_eq!(quantity_to_f64(text).map_err(|_| ()), want, "{text:?}");
    }
}
