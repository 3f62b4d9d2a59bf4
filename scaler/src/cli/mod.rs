//! The command line: one subcommand per job.

mod crds;
mod explain;
pub mod install;
pub mod install_webhook;
mod run;
mod sharding;
mod simulate;
pub mod uninstall;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "prescale",
    version,
    about = "KEDA-compatible autoscaler that scales ahead of predictable peaks"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions for keda.sh/v1alpha1 (or write them to a folder).
    Crds(crds::CrdsArgs),
    /// Run the operator: watch ScaledObjects, manage their HPAs, poll their triggers.
    Run(Box<run::RunArgs>),
    /// Print everything a cluster needs (CRDs, RBAC, operator, Service, APIService with a
    /// freshly made serving certificate) for `kubectl apply -f -`.
    Install(install::InstallArgs),
    /// Check ScaledObject manifests offline, as the operator would; exit 1 when any is wrong.
    Validate(validate::ValidateArgs),
    /// Why a ScaledObject's workload has the replicas it has (live), or what an HPA would do
    /// in a captured state (`--state FILE`).
    Explain(explain::ExplainArgs),
    /// Replay ScaledObjects through the operator's decisions and an HPA model with a simulated
    /// clock: will the wanted pods be Ready on time?
    Simulate(Box<simulate::SimulateArgs>),
    /// Before removing Prescale: stop the operator, restore targets that ask for it and take
    /// the finalizer off every ScaledObject, so no namespace deletion waits on it.
    Uninstall(uninstall::UninstallArgs),
}

impl Args {
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Crds(args) => args.run(),
            Command::Run(args) => (*args).run(),
            Command::Validate(args) => args.run(),
            Command::Install(args) => args.run(),
            Command::Explain(args) => args.run(),
            Command::Simulate(args) => (*args).run(),
            Command::Uninstall(args) => args.run(),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

/// How a subcommand prints its answer: for people or for tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Writes `text` to stdout; a reader that went away (`| head`) ends the output quietly.
pub(crate) fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: writing the output: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }
}
