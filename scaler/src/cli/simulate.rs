//! `prescale simulate -f MANIFESTS --from T1 --to T2`: replays ScaledObjects through the
//! operator's decision pipeline and the HPA model with a simulated clock, and ScaledJobs
//! through the operator's ScaledJob planning with a model of their Jobs (see
//! `crate::simulate`), and prints what happens: a table (or `--output json`), a summary per
//! event window, and optionally a chart.

use super::Output;
use crate::simulate::engine::Settings;
use crate::simulate::inputs::{Live, SeriesArg};
use crate::simulate::output::{self, Header};
use crate::simulate::series;
use crate::simulate::startup::Startup;
use crate::validate::load::Loaded;
use anyhow::{Context as _, anyhow};
use chrono::{DateTime, FixedOffset};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Manifest files or directories (as for `validate`): ScaledObjects with their targets,
    /// ScaledJobs, TriggerAuthentications and Secrets.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    files: Vec<String>,

    /// Start of the simulated range (RFC 3339, e.g. 2026-12-11T22:00:00+08:00; seconds may be
    /// left out). Times are shown in its offset.
    #[arg(long, value_parser = parse_instant)]
    from: DateTime<FixedOffset>,

    /// End of the simulated range.
    #[arg(long, value_parser = parse_instant)]
    to: DateTime<FixedOffset>,

    /// A trigger's recorded input, NAME=FILE. NAME: the trigger's `name`, `triggers[i]`, or its
    /// type when unique, optionally led by `SCALEDOBJECT/`. FILE: CSV `timestamp,value` or
    /// `starts_at,ends_at,load` (calendars), or the same as JSON objects in an array.
    #[arg(long = "series", value_name = "NAME=FILE")]
    series: Vec<String>,

    /// Read the history of triggers without --series from their own backends (prometheus:
    /// range query of the trigger's query; mysql-calendar: its query over the range).
    #[arg(long)]
    live_history: bool,

    /// Pod start-up delay (creation → Ready): a duration (3m) or two quantiles of a lognormal
    /// (p50=2m,p90=4m), sampled deterministically.
    #[arg(long, default_value = "1m")]
    startup: String,

    /// How long a ScaledJob's Job runs once its Pod started (after the --startup delay).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    job_duration: Duration,

    /// HPA controller sync period.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    hpa_sync: Duration,

    /// HPA tolerance (both directions).
    #[arg(long, default_value_t = 0.1)]
    tolerance: f64,

    /// Starting replicas (default: the target's spec.replicas in the manifests, else 1).
    #[arg(long)]
    replicas: Option<i32>,

    /// Poll step (default: each ScaledObject's pollingInterval).
    #[arg(long, value_parser = parse_duration)]
    step: Option<Duration>,

    /// `text` (table and summary) or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// Write a chart: SVG, or PNG when the name ends in .png.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,

    /// Namespace where ClusterTriggerAuthentication Secrets and ConfigMaps are looked up.
    #[arg(long, default_value = "prescale")]
    cluster_object_namespace: String,
}

fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z"))
        .map_err(|_| {
            format!("{text:?} is not an RFC 3339 instant such as 2026-12-11T22:00:00+08:00")
        })
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    prescale_scalers::params::parse_go_duration(text)
}

impl SimulateArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let startup = Startup::parse(&self.startup).map_err(|e| anyhow!(e))?;
        if !(self.tolerance >= 0.0 && self.tolerance.is_finite()) {
            return Err(anyhow!("--tolerance must be a number ≥ 0"));
        }
        let settings = Settings {
            from: self.from.to_utc(),
            to: self.to.to_utc(),
            step: self.step,
            hpa_sync: self.hpa_sync,
            tolerance: self.tolerance,
            replicas: self.replicas,
            startup,
            lead: Default::default(),
            keep_points: self.plot.is_some(),
            job_duration: self.job_duration,
        };
        let series = self.read_series()?;
        let loaded = Loaded::read(&self.files);
        let live = self.live_history.then(|| Live { bar: progress() });
        let ns = &self.cluster_object_namespace;
        let report = crate::simulate::simulate(&loaded, series, live.as_ref(), &settings, ns)
            .map_err(|e| anyhow!(e))?;
        let header = Header {
            settings: &settings,
            startup: &self.startup,
            offset: *self.from.offset(),
        };
        match self.output {
            Output::Json => super::print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&output::json(&header, &report))?
            )),
            Output::Text => super::print(&output::text(&header, &report)),
        }
        if let Some(path) = &self.plot {
            crate::simulate::chart::plot(path, &report, *self.from.offset())
                .map_err(|e| anyhow!(e))?;
            if self.output == Output::Text {
                super::print(&format!("chart written to {}\n", path.display()));
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn read_series(&self) -> anyhow::Result<Vec<SeriesArg>> {
        self.series
            .iter()
            .map(|arg| {
                let (key, file) = arg
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--series {arg:?}: expected NAME=FILE"))?;
                let recorded = series::read(std::path::Path::new(file)).map_err(|e| anyhow!(e))?;
                Ok(SeriesArg {
                    key: key.trim().to_string(),
                    recorded,
                    used: false,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .context("reading --series")
    }
}

/// A progress bar on a terminal, hidden otherwise (logs, pipes, CI).
fn progress() -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_message("reading trigger history");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}
