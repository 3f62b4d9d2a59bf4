//! `prescale validate -f FILE...`: checks every ScaledObject as the operator would, offline,
//! with TriggerAuthentications, Secrets, ConfigMaps and workloads taken from the same files.

use crate::validate::load::Loaded;
use crate::validate::report::{Report, check, cross_checks};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (searched for *.yaml, *.yml, *.json); `-` reads stdin.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    files: Vec<String>,

    /// `text` for people and CI logs, `json` for tools (includes the HPA that would be created).
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// Namespace where ClusterTriggerAuthentication Secrets and ConfigMaps are looked up.
    #[arg(long, default_value = "prescale")]
    cluster_object_namespace: String,

    /// List the `schedule` triggers' coming floor and cap changes as of this instant (RFC 3339,
    /// e.g. `2026-12-11T23:00:00+08:00`; default: now).
    #[arg(long)]
    now: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl ValidateArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let loaded = Loaded::read(&self.files);
        let now = self
            .now
            .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
        let mut reports: Vec<Report> = rt.block_on(async {
            let mut out = Vec::new();
            for so in &loaded.scaled_objects {
                out.push(check(&loaded, so, &self.cluster_object_namespace, now).await);
            }
            out
        });
        cross_checks(&loaded, &mut reports);
        let ok = loaded.errors.is_empty() && reports.iter().all(|r| r.valid);
        match self.output {
            Output::Json => {
                let doc = serde_json::json!({
                    "valid": ok,
                    "errors": loaded.errors.iter().map(|(f, m)| serde_json::json!({"file": f, "message": m})).collect::<Vec<_>>(),
                    "scaledObjects": reports,
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            Output::Text => print_text(&loaded, &reports),
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

fn print_text(loaded: &Loaded, reports: &[Report]) {
    for (file, msg) in &loaded.errors {
        println!("{file}: error: {msg}");
    }
    for r in reports {
        let obj = format!("ScaledObject {}/{}", r.namespace, r.name);
        for p in &r.problems {
            let trigger = p
                .trigger
                .map(|i| format!(" trigger {i}:"))
                .unwrap_or_default();
            println!("{}: {obj}:{trigger} {}: {}", r.file, p.field, p.message);
        }
        for w in &r.warnings {
            println!("{}: {obj}: warning: {w}", r.file);
        }
        if r.valid {
            let metrics: Vec<String> = r
                .metrics
                .iter()
                .map(|m| {
                    let t = &m.target;
                    let value = t
                        .average_value
                        .clone()
                        .or(t.value.clone())
                        .or(t.average_utilization.map(|u| format!("{u}%")))
                        .unwrap_or_default();
                    format!("{} ({} {})", m.name, t.metric_type.as_str(), value)
                })
                .collect();
            let hpa = r
                .hpa
                .as_ref()
                .and_then(|h| h.metadata.name.clone())
                .unwrap_or_default();
            println!(
                "{}: {obj}: valid; HPA {hpa}: {}",
                r.file,
                metrics.join(", ")
            );
            const SHOWN: usize = 6;
            for c in r.pre_scaling.iter().take(SHOWN) {
                let why = match (&c.rule, &c.lead_time) {
                    (Some(rule), Some(lead)) => format!(" ({rule}, lead {lead})"),
                    (Some(rule), None) => format!(" ({rule})"),
                    _ => String::new(),
                };
                println!(
                    "{}: {obj}: pre-scaling at {}: minReplicas {}, maxReplicas {}{why}",
                    r.file, c.time.0, c.min_replicas, c.max_replicas
                );
            }
            if r.pre_scaling.len() > SHOWN {
                println!(
                    "{}: {obj}: pre-scaling: {} more changes within {} days (--output json lists them)",
                    r.file,
                    r.pre_scaling.len() - SHOWN,
                    crate::validate::report::PLAN_DAYS
                );
            }
        }
    }
    let bad = reports.iter().filter(|r| !r.valid).count() + loaded.errors.len();
    println!(
        "{} ScaledObject(s) checked, {bad} problem source(s)",
        reports.len()
    );
}
