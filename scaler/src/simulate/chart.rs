//! The chart of a simulation (`--plot out.svg`, PNG when the name ends in `.png`), drawn with
//! `plotters`: per ScaledObject one small panel per trigger (its value and its HPA target),
//! then the replicas — the target's `spec.replicas`, the Ready pods, the HPA model's desired
//! count, the HPA minimum (floors) and maximum (caps) — with the event windows shaded and the
//! instant each window's floor was raised marked with its lead.
//!
//! ScaledJobs follow, each with its queue length and its Jobs ([`super::job_chart`]).
//!
//! Text is laid out with `ab_glyph` from a TrueType font read at run time (DejaVu Sans from
//! Debian's `fonts-dejavu-core`, which `scripts/setup.sh` installs, or `PRESCALE_FONT`), so
//! nothing links a system font library at build time and no font is shipped.

use super::record::{Point, TriggerTrack};
use super::{Outcome, Report, job_chart};
use chrono::{DateTime, FixedOffset};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// Where the font is looked for, first found wins (after `PRESCALE_FONT`).
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

const WIDTH: u32 = 1200;
const TRIGGER_PANEL: u32 = 190;
const REPLICA_PANEL: u32 = 430;

/// Series names as they appear in the legends.
pub const REPLICAS: &str = "replicas (spec)";
pub const READY: &str = "Ready pods";
pub const DESIRED: &str = "HPA desired";
pub const FLOOR: &str = "HPA minReplicas (floor)";
pub const CAP: &str = "HPA maxReplicas (cap)";
pub const WINDOW: &str = "event window";

/// Registers the font once per process.
fn font() -> Result<(), String> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let wanted = std::env::var("PRESCALE_FONT").ok();
        let path = wanted
            .iter()
            .map(String::as_str)
            .chain(FONT_PATHS.iter().copied())
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| {
                "no font for the chart: install fonts-dejavu-core (scripts/setup.sh) or set PRESCALE_FONT to a .ttf file".to_string()
            })?;
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{path} is not a TrueType font"))
    })
    .clone()
}

/// Draws the chart of a report into `path` (SVG, or PNG by the extension).
pub fn plot(path: &Path, report: &Report, offset: FixedOffset) -> Result<(), String> {
    font()?;
    let height: u32 = report
        .scaled_objects
        .iter()
        .map(|o| REPLICA_PANEL + TRIGGER_PANEL * o.track.triggers.len() as u32)
        .sum::<u32>()
        + job_chart::HEIGHT * report.scaled_jobs.len() as u32;
    let height = height.max(1);
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let fail = |e: String| format!("{}: {e}", path.display());
    if png {
        let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
        draw(&root, report, offset).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))
    } else {
        let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
        draw(&root, report, offset).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))
    }
}

pub(super) type Area<'a, DB> = DrawingArea<DB, Shift>;

fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    report: &Report,
    offset: FixedOffset,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut rest = root.clone();
    for o in &report.scaled_objects {
        let h = REPLICA_PANEL + TRIGGER_PANEL * o.track.triggers.len() as u32;
        let (mine, below) = rest.split_vertically(h);
        rest = below;
        let (triggers, replicas) =
            mine.split_vertically(TRIGGER_PANEL * o.track.triggers.len() as u32);
        let x = x_range(o);
        let panels = triggers.split_evenly((o.track.triggers.len().max(1), 1));
        for (t, area) in o.track.triggers.iter().zip(panels) {
            trigger_panel(&area, t, x, offset).map_err(|e| e.to_string())?;
        }
        replica_panel(&replicas, o, x, offset).map_err(|e| e.to_string())?;
    }
    for j in &report.scaled_jobs {
        let (mine, below) = rest.split_vertically(job_chart::HEIGHT);
        rest = below;
        job_chart::draw(&mine, j, offset).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn x_range(o: &Outcome) -> (f64, f64) {
    let p = &o.track.points;
    let from = p.first().map_or(0, |p| p.t) as f64 / 1000.0;
    let to = p.last().map_or(1, |p| p.t) as f64 / 1000.0;
    (from, to.max(from + 1.0))
}

pub(super) fn clock_label(secs: f64, offset: FixedOffset) -> String {
    DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.with_timezone(&offset).format("%H:%M").to_string())
        .unwrap_or_default()
}

pub(super) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn trigger_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    t: &TriggerTrack,
    x: (f64, f64),
    offset: FixedOffset,
) -> DrawResult<DB> {
    let top = t
        .values
        .iter()
        .map(|(_, v)| *v)
        .fold(t.target, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("trigger {} ({}): value and target", t.name, t.trigger_type),
            ("sans-serif", 15),
        )
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(56)
        .build_cartesian_2d(x.0..x.1, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(5)
        .x_label_formatter(&|s| clock_label(*s, offset))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let points = t.values.iter().map(|(ms, v)| (*ms as f64 / 1000.0, *v));
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))?
        .label(format!("{} value", t.name))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
    let unit = if t.target_type == "Utilization" {
        "%"
    } else {
        ""
    };
    chart
        .draw_series(LineSeries::new(
            vec![(x.0, t.target), (x.1, t.target)],
            RED.mix(0.7),
        ))?
        .label(format!(
            "{} target {} {}{unit}",
            t.name, t.target_type, t.target
        ))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.mix(0.7)));
    legend(&mut chart)
}

pub(super) fn legend<
    'a,
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()
}

/// A step line through `(t, v)` points (values hold until the next point).
/// A named line: its colour, stroke width and points.
pub(super) type Line<'a> = (&'a str, RGBColor, u32, Vec<(f64, f64)>);

fn steps(points: &[Point], value: impl Fn(&Point) -> Option<i32>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in points {
        let Some(v) = value(p) else { continue };
        let (t, v) = (p.t as f64 / 1000.0, f64::from(v));
        if let Some(&(_, last)) = out.last() {
            out.push((t, last));
        }
        out.push((t, v));
    }
    out
}

fn replica_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    o: &Outcome,
    x: (f64, f64),
    offset: FixedOffset,
) -> DrawResult<DB> {
    let p = &o.track.points;
    let shown_max = p
        .iter()
        .map(|p| {
            p.replicas
                .max(p.ready)
                .max(p.min)
                .max(p.desired.unwrap_or(0))
        })
        .max()
        .unwrap_or(1);
    let top = f64::from(shown_max.max(1)) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("ScaledObject {}: replicas", o.object.name()),
            ("sans-serif", 17),
        )
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(x.0..x.1, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(8)
        .x_label_formatter(&|s| clock_label(*s, offset))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let shade = RGBColor(255, 190, 60).mix(0.25);
    let windows = o
        .track
        .windows
        .iter()
        .map(|w| (w.start as f64 / 1000.0, w.end as f64 / 1000.0));
    chart
        .draw_series(
            windows.map(|(a, b)| {
                Rectangle::new([(a.max(x.0), 0.0), (b.min(x.1), top)], shade.filled())
            }),
        )?
        .label(WINDOW)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], shade.filled()));
    for w in &o.track.windows {
        if let Some(r) = w.raised_at {
            let at = r as f64 / 1000.0;
            let lead = (w.start - r) / 1000;
            let dash = DashedLineSeries::new(
                vec![(at, 0.0), (at, top)],
                6,
                4,
                BLACK.mix(0.6).stroke_width(1),
            );
            chart.draw_series(dash)?;
            let text = format!(
                "floor {} raised, lead {}",
                w.wanted,
                prescale_scalers::prescale::format_duration(std::time::Duration::from_secs(
                    lead.max(0) as u64
                ))
            );
            chart.draw_series(std::iter::once(Text::new(
                text,
                (at, top * 0.97),
                ("sans-serif", 12).into_font().color(&BLACK),
            )))?;
        }
    }
    let series: [Line; 5] = [
        // a cap far above everything else is drawn at the top edge
        (
            CAP,
            RGBColor(150, 150, 150),
            1,
            steps(p, |p| Some(p.max.min(top as i32))),
        ),
        (FLOOR, RGBColor(200, 40, 40), 2, steps(p, |p| Some(p.min))),
        (DESIRED, RGBColor(140, 80, 200), 1, steps(p, |p| p.desired)),
        (
            REPLICAS,
            RGBColor(30, 90, 200),
            2,
            steps(p, |p| Some(p.replicas)),
        ),
        (READY, RGBColor(30, 160, 60), 3, steps(p, |p| Some(p.ready))),
    ];
    for (name, color, width, points) in series {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(width)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width))
            });
    }
    legend(&mut chart)
}
