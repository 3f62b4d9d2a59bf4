//! tracing set up once, from flags: `--log-level` (EnvFilter syntax) and `--log-format`.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// kube's HTTP trace layer logs an ERROR line for every failed request (hundreds a second while
/// the API is down); `api_health` reports the same failures once per change.
const QUIET_KUBE_CLIENT: &str = "kube_client::client::builder=off";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log filter in tracing's EnvFilter syntax, e.g. `info,prescale=debug`. kube's own line per
    /// failed HTTP request is off unless the filter names `kube_client` (an API that does not
    /// answer is logged once per change by Prescale).
    #[arg(long, env = "PRESCALE_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log output format.
    #[arg(long, env = "PRESCALE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// Installs the global subscriber (logs go to stderr). Errors when the filter is invalid.
    pub fn init(&self) -> anyhow::Result<()> {
        let filter = EnvFilter::try_new(&self.log_level)
            .map_err(|e| anyhow::anyhow!("invalid --log-level {:?}: {e}", self.log_level))?;
        let filter = if self.log_level.contains("kube_client") {
            filter
        } else {
            filter.add_directive(QUIET_KUBE_CLIENT.parse()?)
        };
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let res = match self.log_format {
            LogFormat::Plain => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
        res.map_err(|e| anyhow::anyhow!("log setup: {e}"))
    }
}
