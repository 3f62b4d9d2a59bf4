//! `explain` for people: the model's steps in words ([`why`]) and the whole answer as text
//! ([`text`]).

use super::Explanation;
use prescale_hpa_model::{ControllerConfig, HpaSpec, Observation, Outcome, Target};
use std::fmt::Write;

fn milli(v: i64) -> String {
    prescale_quantity::format_milli(v)
}

/// A target as the HPA writes it: `AverageValue 8600m`, `Utilization 65%`.
pub fn target_text(t: &Target) -> String {
    match t {
        Target::Value(v) => format!("Value {}", milli(*v)),
        Target::AverageValue(v) => format!("AverageValue {}", milli(*v)),
        Target::Utilization(p) => format!("Utilization {p}%"),
    }
}

/// The sync's steps, one sentence each.
pub fn why(
    spec: &HpaSpec,
    config: &ControllerConfig,
    obs: &Observation,
    o: &Outcome,
) -> Vec<String> {
    let mut out = Vec::new();
    for (m, p) in spec.metrics.iter().zip(&o.proposals) {
        match p {
            Ok(p) => out.push(format!(
                "{}: usage {} vs target {}, ratio {:.3} ({}) → {} replicas",
                m.name,
                milli(p.usage),
                target_text(&m.target),
                p.ratio,
                if p.within_tolerance {
                    format!("within the tolerance {}, no change", config.tolerance)
                } else {
                    "outside the tolerance".to_string()
                },
                p.replicas
            )),
            Err(e) => out.push(format!("{}: not available: {e}", m.name)),
        }
    }
    match o.raw {
        Some(raw) => out.push(format!(
            "recommendation {raw} (the largest proposal) from {} current",
            obs.spec_replicas
        )),
        None => out.push("no recommendation: no metric could be read".into()),
    }
    if let Some(raw) = o.raw.filter(|raw| *raw != o.stabilized) {
        let which = if o.stabilized > raw {
            "the highest recommendation within the scale-down stabilisation window"
        } else {
            "the lowest recommendation within the scale-up stabilisation window"
        };
        out.push(format!("stabilisation holds {} ({which})", o.stabilized));
    }
    if o.limited != o.stabilized {
        out.push(format!(
            "limited to {} ({}; bounds {}..{})",
            o.limited,
            o.reason.as_str(),
            spec.min_replicas,
            spec.max_replicas
        ));
    }
    out.push(format!(
        "desired {} ({}){}",
        o.desired_replicas,
        o.reason.as_str(),
        if o.rescale {
            format!(", the HPA scales from {}", obs.spec_replicas)
        } else {
            ", no change".to_string()
        }
    ));
    out
}

/// The answer as text.
pub fn text(e: &Explanation) -> String {
    let mut s = String::new();
    if !e.scaled_object.is_empty() {
        let _ = writeln!(s, "ScaledObject {} → {}", e.scaled_object, e.target);
        if let Some(h) = &e.hpa_name {
            let _ = writeln!(s, "HPA {h}");
        }
    }
    if !e.triggers.is_empty() {
        let _ = writeln!(s, "Triggers:");
        for t in &e.triggers {
            let label = if t.name.is_empty() {
                t.trigger_type.clone()
            } else {
                format!("{} ({})", t.name, t.trigger_type)
            };
            let mut line = format!("  #{} {label}", t.index);
            if let Some(m) = &t.metric {
                let _ = write!(line, "  metric {m}");
            }
            if let Some(v) = t.value {
                let _ = write!(line, "  value {v}");
            }
            if let Some(tg) = &t.target {
                let _ = write!(line, "  target {tg}");
            }
            if let Some(a) = t.active {
                line.push_str(if a { "  active" } else { "  inactive" });
            }
            if let Some(h) = &t.health {
                let _ = write!(line, "  health {h}");
            }
            if let Some(err) = &t.error {
                let _ = write!(line, "  error: {err}");
            }
            let _ = writeln!(s, "{line}");
        }
    }
    if let Some(m) = &e.model {
        let _ = writeln!(
            s,
            "HPA model: desired {} replicas ({}), current {}{}",
            m.desired_replicas,
            m.reason,
            m.current_replicas,
            e.ready_replicas
                .map(|r| format!(", {r} ready"))
                .unwrap_or_default()
        );
        if let Some(d) = &m.driving {
            let _ = writeln!(s, "Driving metric: {d}");
        }
        for w in &m.why {
            let _ = writeln!(s, "  - {w}");
        }
    }
    if let Some(d) = e.hpa_status_desired {
        let _ = writeln!(s, "The cluster's HPA last wanted {d} replicas.");
    }
    if let Some(p) = &e.pre_scaling {
        let rule = p.floor_rule.as_deref().or(p.ceiling_rule.as_deref());
        let _ = writeln!(
            s,
            "Pre-scaling: minReplicas {}, maxReplicas {}{}",
            p.min_replicas,
            p.max_replicas,
            rule.map(|r| format!(" by {r}")).unwrap_or_default()
        );
        for lt in &p.lead_times {
            let _ = writeln!(s, "  trigger #{}: {}", lt.trigger_index, lt.source);
        }
        if let Some(c) = p.next_changes.first() {
            let _ = writeln!(
                s,
                "  next change {}: minReplicas {}, maxReplicas {}",
                c.time.0, c.min_replicas, c.max_replicas
            );
        }
    }
    for n in &e.notes {
        let _ = writeln!(s, "Note: {n}");
    }
    s
}
