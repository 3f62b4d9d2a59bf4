//! `prescale explain NAME [-n NS]`: why a ScaledObject's workload has the replicas it has, read
//! from a live cluster; `prescale explain --state FILE`: the same for a captured HPA situation.

use super::Output;
use crate::explain::{self, Explanation};
use crate::kube_client::ClientArgs;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The ScaledObject to explain (not with --state).
    #[arg(required_unless_present = "state", conflicts_with = "state")]
    name: Option<String>,

    /// Its namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,

    /// A state document (JSON; `-` reads stdin) instead of a cluster: the HPA's bounds and
    /// behavior, replicas, metrics, and the controller's recent recommendations and scale events.
    #[arg(long)]
    state: Option<String>,

    /// `text` for people, `json` for tools.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,

    #[command(flatten)]
    client: ClientArgs,
}

impl ExplainArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let e = match &self.state {
            Some(file) => from_state(file)?,
            None => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let client = self.client.client().await?;
                    let name = self.name.as_deref().unwrap_or_default();
                    explain::live::explain(&client, &self.namespace, name).await
                })?
            }
        };
        let out = match self.output {
            Output::Json => serde_json::to_string_pretty(&json_of(&e))? + "\n",
            Output::Text => explain::text(&e),
        };
        super::print(&out);
        Ok(ExitCode::SUCCESS)
    }
}

/// The explanation of a state document.
pub fn from_state(file: &str) -> anyhow::Result<Explanation> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{file}: {e}"))?
    };
    let doc = explain::state::StateDoc::parse(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let inputs = doc.inputs().map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let mut e = Explanation {
        ready_replicas: inputs.observation.ready_pods,
        ..Explanation::default()
    };
    e.model_with(
        &inputs.spec,
        &inputs.config,
        &inputs.history,
        &inputs.observation,
    );
    Ok(e)
}

/// JSON output: for a state document the model's answer is the top level (`desiredReplicas`,
/// `reason`, the intermediate values); for a ScaledObject the whole explanation.
fn json_of(e: &Explanation) -> serde_json::Value {
    match (&e.model, e.scaled_object.is_empty()) {
        (Some(m), true) => serde_json::to_value(m).unwrap_or_default(),
        _ => serde_json::to_value(e).unwrap_or_default(),
    }
}
