//! A simulation's results for people (a table of the instants at which something changed,
//! then the summary per event window, times in the offset of `--from`) and for tools
//! (`--output json`: the same rows as `timeline`, the summaries as `events`). ScaledJobs
//! follow the ScaledObjects ([`super::job_output`]).

use super::engine::Settings;
use super::summary::WindowSummary;
use super::{Outcome, Report};
use chrono::{DateTime, FixedOffset, Utc};
use prescale_scalers::prescale::format_duration;
use serde_json::{Value, json};
use std::fmt::Write;

/// How the run was set up, as shown.
pub struct Header<'a> {
    pub settings: &'a Settings,
    pub startup: &'a str,
    pub offset: FixedOffset,
}

fn local(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e12 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    }
}

/// The text report.
pub fn text(h: &Header, report: &Report) -> String {
    let mut out = objects_text(h, &report.scaled_objects);
    out.push_str(&super::job_output::text(h, &report.scaled_jobs));
    out
}

fn objects_text(h: &Header, outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let s = h.settings;
    for o in outcomes {
        let step = s.step.unwrap_or(o.object.spec.interval);
        let _ = writeln!(
            out,
            "ScaledObject {} ({}): {} to {}, poll every {}, HPA sync every {}, tolerance {}, pod start-up {}",
            o.object.name(),
            o.object.file,
            local(s.from, h.offset),
            local(s.to, h.offset),
            format_duration(step),
            format_duration(s.hpa_sync),
            s.tolerance,
            h.startup,
        );
        for f in &o.object.feeds {
            let _ = writeln!(out, "  input {}: {}", f.trigger, f.source);
        }
        for a in &o.object.assumptions {
            let _ = writeln!(out, "  assumption: {a}");
        }
        table(&mut out, h, o);
        let _ = writeln!(out, "  event windows:");
        if o.events.is_empty() {
            let _ = writeln!(out, "    none within the range");
        }
        for e in &o.events {
            let _ = writeln!(out, "    {}", window_line(e, h.offset));
        }
        out.push('\n');
    }
    out
}

fn table(out: &mut String, h: &Header, o: &Outcome) {
    let names: Vec<&str> = o.track.triggers.iter().map(|t| t.name.as_str()).collect();
    let mut head = format!("  {:<19}", "time");
    for n in &names {
        let _ = write!(head, " {:>10}", truncate(n, 10));
    }
    let _ = write!(
        head,
        " {:>7} {:>8} {:>5} {:>4} {:>4}  decision",
        "desired", "replicas", "ready", "min", "max"
    );
    let _ = writeln!(out, "{head}");
    for r in &o.track.rows {
        let mut line = format!("  {:<19}", local(r.time, h.offset));
        for v in &r.values {
            let _ = write!(line, " {:>10}", number(*v));
        }
        let desired = r.desired.map_or("-".into(), |d| d.to_string());
        let _ = write!(
            line,
            " {desired:>7} {:>8} {:>5} {:>4} {:>4}  {}",
            r.replicas, r.ready, r.min_replicas, r.max_replicas, r.decision
        );
        let _ = writeln!(out, "{line}");
        for e in &r.events {
            let _ = writeln!(out, "  {:<19}   event {e}", "");
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// One window's summary as a sentence.
pub fn window_line(e: &WindowSummary, offset: FixedOffset) -> String {
    let raised = match (e.raised_at, e.lead_seconds) {
        (Some(t), Some(l)) => format!(
            "floor raised at {} (lead {})",
            local(t, offset),
            format_duration(std::time::Duration::from_secs(l.max(0) as u64))
        ),
        _ if e.continues_previous => "continues the floor of the window before".into(),
        _ => "floor not raised before the start".into(),
    };
    let ready = match (e.ready_at, e.ready_seconds_before_start) {
        (Some(t), Some(s)) if s >= 0 => format!(
            "{} Ready at {}, {s} s before the start",
            e.wanted,
            local(t, offset)
        ),
        (Some(t), Some(s)) => format!("{} Ready at {}, {} s LATE", e.wanted, local(t, offset), -s),
        _ => format!("{} never Ready within the window", e.wanted),
    };
    format!(
        "{} to {}: {} wanted; {raised}; {ready}; largest shortfall {}; {:.1} replica-hours used (ideal {:.1})",
        local(e.start, offset),
        local(e.end, offset),
        e.wanted,
        e.max_shortfall,
        e.replica_hours,
        e.ideal_replica_hours
    )
}

/// The JSON report.
pub fn json(h: &Header, report: &Report) -> Value {
    let s = h.settings;
    let outcomes = &report.scaled_objects;
    json!({
        "from": s.from,
        "to": s.to,
        "settings": {
            "stepSeconds": s.step.map(|d| d.as_secs_f64()),
            "hpaSyncSeconds": s.hpa_sync.as_secs_f64(),
            "tolerance": s.tolerance,
            "startup": h.startup,
            "jobDurationSeconds": s.job_duration.as_secs_f64(),
        },
        "scaledObjects": outcomes.iter().map(|o| json!({
            "file": o.object.file,
            "namespace": o.object.spec.namespace,
            "name": o.object.spec.name,
            "pollSeconds": s.step.unwrap_or(o.object.spec.interval).as_secs_f64(),
            "inputs": o.object.feeds,
            "assumptions": o.object.assumptions,
            "triggers": o.track.triggers,
            "events": o.events,
            "timeline": o.track.rows,
        })).collect::<Vec<_>>(),
        "scaledJobs": super::job_output::json(s, &report.scaled_jobs),
    })
}
