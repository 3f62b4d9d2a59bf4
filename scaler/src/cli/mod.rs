//! The command line: one subcommand per job.

mod crds;
pub mod install;
mod run;
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
}

impl Args {
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Crds(args) => args.run(),
            Command::Run(args) => (*args).run(),
            Command::Validate(args) => args.run(),
            Command::Install(args) => args.run(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }
}
