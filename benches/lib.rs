//! Prescale's benchmarks live in this package's bench targets (`cargo bench -p
//! prescale-benches`); see README.md for the figures and the commands that produced them.

pub mod adapter;
pub mod proc;

/// The value after `--name` on a bench's command line (`cargo bench … -- --name VALUE`), or
/// `default` when it is absent or does not parse.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process so far, in KiB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
