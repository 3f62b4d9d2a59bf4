//! A simulated ScaledJob in the chart: a panel with its combined queue length (KEDA's
//! `scaleTo`), then a panel with its Jobs — unfinished, pending, created at each poll — and
//! the most it may run (`maxReplicaCount`).

use super::chart::{Area, DrawResult, Line, clock_label, legend};
use super::job_sim::{JobOutcome, JobPoint};
use chrono::FixedOffset;
use plotters::prelude::*;

const QUEUE_PANEL: u32 = 190;
const JOBS_PANEL: u32 = 330;
/// The height one ScaledJob takes.
pub const HEIGHT: u32 = QUEUE_PANEL + JOBS_PANEL;

/// Series names as they appear in the legends.
pub const QUEUE: &str = "queue length (scaleTo)";
pub const UNFINISHED: &str = "Jobs unfinished";
pub const PENDING: &str = "Jobs pending";
pub const CREATED: &str = "Jobs created at the poll";
pub const MAX: &str = "maxReplicaCount";

/// A step line of `value` over the polls.
fn steps(points: &[JobPoint], value: impl Fn(&JobPoint) -> i64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in points {
        let (t, v) = (p.t as f64 / 1000.0, value(p) as f64);
        if let Some(&(_, last)) = out.last() {
            out.push((t, last));
        }
        out.push((t, v));
    }
    out
}

/// Both panels of one ScaledJob.
pub fn draw<DB: DrawingBackend>(
    area: &Area<DB>,
    o: &JobOutcome,
    offset: FixedOffset,
) -> DrawResult<DB> {
    let p = &o.points;
    let from = p.first().map_or(0, |p| p.t) as f64 / 1000.0;
    let to = (p.last().map_or(1, |p| p.t) as f64 / 1000.0).max(from + 1.0);
    let (queue_area, jobs_area) = area.split_vertically(QUEUE_PANEL);
    let queue_top = p.iter().map(|p| p.queue_length).max().unwrap_or(0).max(1) as f64 * 1.1;
    let mut chart = ChartBuilder::on(&queue_area)
        .caption(
            format!("ScaledJob {}: queue length", o.object.name()),
            ("sans-serif", 15),
        )
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(56)
        .build_cartesian_2d(from..to, 0.0..queue_top)?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(5)
        .x_label_formatter(&|s| clock_label(*s, offset))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            steps(p, |p| p.queue_length),
            BLUE.stroke_width(2),
        ))?
        .label(QUEUE)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
    legend(&mut chart)?;

    let max = o.object.sj.spec.max_replica_count() + o.object.sj.spec.min_replica_count();
    let shown = p
        .iter()
        .map(|p| p.running.max(p.created))
        .max()
        .unwrap_or(0);
    let top = (shown.max(max.min(shown * 2)).max(1)) as f64 * 1.15;
    let mut chart = ChartBuilder::on(&jobs_area)
        .caption(
            format!("ScaledJob {}: Jobs", o.object.name()),
            ("sans-serif", 17),
        )
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(from..to, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(8)
        .x_label_formatter(&|s| clock_label(*s, offset))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let lines: [Line; 4] = [
        // a maximum far above the Jobs is drawn at the top edge
        (
            MAX,
            RGBColor(150, 150, 150),
            1,
            vec![(from, (max as f64).min(top)), (to, (max as f64).min(top))],
        ),
        (
            UNFINISHED,
            RGBColor(30, 90, 200),
            2,
            steps(p, |p| p.running),
        ),
        (PENDING, RGBColor(230, 140, 20), 2, steps(p, |p| p.pending)),
        (CREATED, RGBColor(30, 160, 60), 1, steps(p, |p| p.created)),
    ];
    for (name, color, width, points) in lines {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(width)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width))
            });
    }
    legend(&mut chart)
}
