//! The `prescale` binary: parse the command line and run it.

use clap::Parser;

/// mimalloc instead of glibc's malloc: glibc kept ~1.5x the live heap of a 10,000-object
/// operator (per-thread arenas, and the set-up burst never given back); mimalloc returns freed
/// pages to the system (issue 11, `benches/README.md` has the figures).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    prescale::cli::Args::parse().run()
}
