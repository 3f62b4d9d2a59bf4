//! A simulated ScaledJob's results: for people, a table of the polls at which something
//! changed and the totals; for tools (`--output json`), the same rows as `timeline` under
//! `scaledJobs`.

use super::engine::Settings;
use super::job_sim::JobOutcome;
use super::output::Header;
use chrono::{DateTime, FixedOffset, Utc};
use prescale_scalers::prescale::format_duration;
use serde_json::{Value, json};
use std::fmt::Write;

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

fn strategy(o: &JobOutcome) -> String {
    let s = o.object.sj.spec.scaling_strategy().strategy;
    if s.is_empty() { "default".into() } else { s }
}

/// The text report of every ScaledJob.
pub fn text(h: &Header, outcomes: &[JobOutcome]) -> String {
    let mut out = String::new();
    let s = h.settings;
    for o in outcomes {
        let _ = writeln!(
            out,
            "ScaledJob {} ({}): {} to {}, poll every {}, strategy {}, pod start-up {}, Jobs run {}",
            o.object.name(),
            o.object.file,
            local(s.from, h.offset),
            local(s.to, h.offset),
            format_duration(o.object.step(s)),
            strategy(o),
            h.startup,
            format_duration(s.job_duration),
        );
        for f in &o.object.feeds {
            let _ = writeln!(out, "  input {}: {}", f.trigger, f.source);
        }
        for a in &o.object.assumptions {
            let _ = writeln!(out, "  assumption: {a}");
        }
        table(&mut out, h, o);
        let t = &o.totals;
        let _ = writeln!(
            out,
            "  totals: {} Jobs created; at most {} unfinished and {} pending at once; {:.2} Job-hours running",
            t.jobs_created, t.peak_running, t.peak_pending, t.job_hours
        );
        out.push('\n');
    }
    out
}

fn table(out: &mut String, h: &Header, o: &JobOutcome) {
    let mut head = format!("  {:<19}", "time");
    for t in &o.object.triggers {
        let name = if t.name.is_empty() {
            &t.trigger_type
        } else {
            &t.name
        };
        let _ = write!(head, " {:>10}", name.chars().take(10).collect::<String>());
    }
    let _ = write!(
        head,
        " {:>6} {:>5} {:>8} {:>7} {:>7} {:>6}",
        "active", "queue", "maxScale", "running", "pending", "create"
    );
    let _ = writeln!(out, "{head}");
    for r in &o.rows {
        let mut line = format!("  {:<19}", local(r.time, h.offset));
        for v in &r.values {
            let _ = write!(line, " {:>10}", number(*v));
        }
        let _ = write!(
            line,
            " {:>6} {:>5} {:>8} {:>7} {:>7} {:>6}",
            if r.active { "yes" } else { "no" },
            r.queue_length,
            r.max_scale,
            r.running,
            r.pending,
            r.created
        );
        let _ = writeln!(out, "{line}");
        for e in &r.events {
            let _ = writeln!(out, "  {:<19}   event {e}", "");
        }
    }
}

/// The `scaledJobs` part of the JSON report.
pub fn json(settings: &Settings, outcomes: &[JobOutcome]) -> Value {
    outcomes
        .iter()
        .map(|o| {
            json!({
                "file": o.object.file,
                "namespace": o.object.sj.metadata.namespace,
                "name": o.object.sj.metadata.name,
                "pollSeconds": o.object.step(settings).as_secs_f64(),
                "strategy": strategy(o),
                "jobDurationSeconds": settings.job_duration.as_secs_f64(),
                "inputs": o.object.feeds,
                "assumptions": o.object.assumptions,
                "totals": o.totals,
                "timeline": o.rows,
            })
        })
        .collect()
}
