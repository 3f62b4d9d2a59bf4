//! Table tests of the per-metric proposals: ready pods, status replicas, saturation and
//! the Utilization simple path.

use super::*;

#[test]
fn proposal_edges() {
    let run = |metric: Metric, obs: Observation| {
        let s = spec(1, 1000, vec![metric], None);
        sync(
            &s,
            &ControllerConfig::default(),
            &History::default(),
            0,
            &obs,
        )
        .0
        .proposals
        .remove(0)
    };
    let obs = |spec_r: i32, status: i32, ready: Option<i32>, items: Vec<Milli>| Observation {
        spec_replicas: spec_r,
        status_replicas: status,
        ready_pods: ready,
        metrics: vec![Ok(items)],
    };
    let util = |p: i32| Metric {
        name: "cpu".into(),
        target: Target::Utilization(p),
    };
    type Case = (
        &'static str,
        Metric,
        Observation,
        Result<(Milli, i32), &'static str>,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("Value: no pods at all is an error", value("m", 1000), obs(4, 4, None, vec![8000]), Err("failed to get external metric m: unable to calculate ready pods: no pods returned by selector")),
        ("Value: within needs no pods", value("m", 1000), obs(4, 4, None, vec![1000]), Ok((1000, 4))),
        ("Value: 0 ready pods propose 0", value("m", 1000), obs(4, 4, Some(0), vec![8000]), Ok((8000, 0))),
        ("Value: sum saturates", value("m", 1000), obs(4, 4, Some(4), vec![i64::MAX, 5]), Ok((i64::MAX, i32::MAX))),
        ("AverageValue: within proposes status, not spec", average("m", 1000), obs(10, 8, Some(8), vec![8000]), Ok((1000, 8))),
        ("AverageValue: reported value rounds up", average("m", 1000), obs(3, 3, Some(3), vec![10_000]), Ok((3334, 10))),
        ("AverageValue: capped at int32 max", average("m", 1), obs(3, 3, Some(3), vec![i64::MAX]), Ok((i64::MAX, i32::MAX))),
        ("AverageValue: a negative running sum reads as the maximum", average("m", 1000), obs(3, 3, Some(3), vec![-5]), Ok((i64::MAX, i32::MAX))),
        ("Utilization: trunc(mean) over the samples", util(50), obs(3, 3, Some(3), vec![90, 110, 150]), Ok((116, 7))),
        ("Utilization: within proposes spec", util(50), obs(2, 2, Some(2), vec![52, 48]), Ok((50, 2))),
        ("Utilization: no samples", util(50), obs(2, 2, Some(2), vec![]), Err("failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API")),
    ];
    for (name, metric, o, want) in cases {
        let got = run(metric, o);
        match want {
            Ok(w) => {
                let p = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!((p.usage, p.replicas), w, "{name}");
            }
            Err(prefix) => {
                let e = got.expect_err(name);
                assert!(e.starts_with(prefix), "{name}: {e}");
            }
        }
    }
}

#[test]
fn scale_from_zero_with_min_zero_ignores_tolerance() {
    let s = spec(0, 10, vec![value("m", 1000)], None);
    let o = sync(
        &s,
        &ControllerConfig::default(),
        &History::default(),
        0,
        &settled(0, &[1050]),
    )
    .0;
    assert_eq!((o.desired_replicas, o.rescale), (2, true)); // ceil(1.05), no band, no pods
}
