//! The command line: one subcommand per job.

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
    /// Print the CustomResourceDefinitions (YAML) for keda.sh/v1alpha1.
    Crds,
}

impl Args {
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Crds => {
                eprintln!("not yet available");
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
