//! `prescale crds`: the CRDs generated from the Rust types.

use crate::api::crds;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CrdsArgs {
    /// Write one file per CRD into this folder (e.g. `deploy/crds`) instead of printing.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

impl CrdsArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.out_dir {
            None => print!("{}", crds::yaml_stream()?),
            Some(dir) => {
                std::fs::create_dir_all(&dir)?;
                for (name, yaml) in crds::all()? {
                    std::fs::write(dir.join(name), yaml)?;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
