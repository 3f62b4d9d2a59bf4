//! The `prescale` binary: parse the command line and run it.

use clap::Parser;

fn main() -> std::process::ExitCode {
    prescale::cli::Args::parse().run()
}
