//! `prescale validate -f FILE...`: checks every ScaledObject as the operator would, offline,
//! with TriggerAuthentications, Secrets, ConfigMaps and workloads taken from the same files.

use super::Output;
use crate::validate::limits::{self, Limits};
use crate::validate::load::Loaded;
use crate::validate::report::{Options, Report, check_all};
use crate::validate::scaled_job::{JobReport, check_job};
use std::fmt::Write as _;
use std::process::ExitCode;

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

    /// Fail on trigger metadata keys the trigger type does not read (default: warn).
    #[arg(long)]
    strict: bool,

    /// Largest file (or stdin) read, in bytes or with Ki, Mi, Gi.
    #[arg(long, default_value = "16Mi", value_parser = limits::parse_size)]
    max_file_size: u64,

    /// Deepest nesting of YAML collections accepted (checked before parsing).
    #[arg(long, default_value_t = limits::DEFAULT_MAX_DEPTH)]
    max_depth: usize,
}

impl ValidateArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let ValidateArgs {
            files,
            output,
            cluster_object_namespace,
            now,
            strict,
            max_file_size,
            max_depth,
        } = self;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let limits = Limits {
            max_file_size,
            max_depth,
        };
        let mut loaded = Loaded::read_with(&files, limits);
        if loaded.scaled_objects.is_empty() && loaded.scaled_jobs.is_empty() {
            let message =
                "no ScaledObject (apiVersion keda.sh/v1alpha1) found; nothing was checked";
            loaded.errors.push((files.join(", "), message.into()));
        }
        let options = Options {
            cluster_object_namespace,
            now: now.map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc)),
            strict,
        };
        let reports = rt.block_on(check_all(&loaded, &options));
        let job_reports = rt.block_on(check_jobs(&loaded, &options));
        let ok = loaded.errors.is_empty()
            && reports.iter().all(|r| r.valid)
            && job_reports.iter().all(|r| r.valid);
        match output {
            Output::Json => {
                let doc = serde_json::json!({
                    "valid": ok,
                    "errors": loaded.errors.iter().map(|(f, m)| serde_json::json!({"file": f, "message": m})).collect::<Vec<_>>(),
                    "scaledObjects": reports,
                    "scaledJobs": job_reports,
                });
                super::print(&(serde_json::to_string_pretty(&doc)? + "\n"));
            }
            Output::Text => {
                super::print(&text(&loaded, &reports));
                if !job_reports.is_empty() {
                    super::print(&jobs_text(&job_reports));
                }
            }
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// The text report: one line per problem, warning and valid object, then a summary.
fn text(loaded: &Loaded, reports: &[Report]) -> String {
    let mut out = String::new();
    for (file, msg) in &loaded.errors {
        let _ = writeln!(out, "{file}: error: {msg}");
    }
    for r in reports {
        report_text(&mut out, r);
    }
    let bad = reports.iter().filter(|r| !r.valid).count() + loaded.errors.len();
    let _ = writeln!(
        out,
        "{} ScaledObject(s) checked, {bad} problem source(s)",
        reports.len()
    );
    out
}

/// One line per problem (`FILE: OBJ: trigger I: FIELD: MESSAGE`) and per warning of an object.
fn problem_lines(
    out: &mut String,
    file: &str,
    obj: &str,
    problems: &[crate::validate::Problem],
    warnings: &[String],
) {
    for p in problems {
        let trigger = p
            .trigger
            .map(|i| format!(" trigger {i}:"))
            .unwrap_or_default();
        let _ = writeln!(out, "{file}: {obj}:{trigger} {}: {}", p.field, p.message);
    }
    for w in warnings {
        let _ = writeln!(out, "{file}: {obj}: warning: {w}");
    }
}

fn report_text(out: &mut String, r: &Report) {
    let obj = format!("ScaledObject {}/{}", r.namespace, r.name);
    problem_lines(out, &r.file, &obj, &r.problems, &r.warnings);
    if !r.valid {
        return;
    }
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
    let _ = writeln!(
        out,
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
        let _ = writeln!(
            out,
            "{}: {obj}: pre-scaling at {}: minReplicas {}, maxReplicas {}{why}",
            r.file, c.time.0, c.min_replicas, c.max_replicas
        );
    }
    if r.pre_scaling.len() > SHOWN {
        let _ = writeln!(
            out,
            "{}: {obj}: pre-scaling: {} more changes within {} days (--output json lists them)",
            r.file,
            r.pre_scaling.len() - SHOWN,
            crate::validate::report::PLAN_DAYS
        );
    }
}

/// Every ScaledJob of the inputs, checked.
async fn check_jobs(loaded: &Loaded, options: &Options) -> Vec<JobReport> {
    let mut out = Vec::new();
    for l in &loaded.scaled_jobs {
        out.push(
            check_job(
                &loaded.source,
                (&l.file, l.document),
                &l.object,
                &options.cluster_object_namespace,
                options.strict,
            )
            .await,
        );
    }
    out
}

/// The ScaledJobs' text report: problems, warnings, valid objects, then a count.
fn jobs_text(reports: &[JobReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let obj = format!("ScaledJob {}/{}", r.namespace, r.name);
        problem_lines(&mut out, &r.file, &obj, &r.problems, &r.warnings);
        if r.valid {
            let _ = writeln!(
                out,
                "{}: {obj}: valid; triggers: {}",
                r.file,
                r.triggers.join(", ")
            );
        }
    }
    let bad = reports.iter().filter(|r| !r.valid).count();
    let _ = writeln!(out, "{} ScaledJob(s) checked, {bad} invalid", reports.len());
    out
}
