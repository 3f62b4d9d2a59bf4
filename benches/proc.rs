//! Resource use of this process from `/proc` (Linux; zeros elsewhere): resident memory, and
//! CPU time of the whole process or of the threads whose name starts with a prefix (a bench
//! that runs the server on its own named threads measures the server alone).

use std::time::Duration;

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// Current resident set size, in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a `/proc/.../stat` text (fields 14 and 15, after the `(comm)`).
fn cpu_of_stat(stat: &str) -> u64 {
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// Resident set size of process `pid` now, and its peak so far, in KiB (`VmRSS`, `VmHWM`).
pub fn rss_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system) process `pid` has used.
pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    Duration::from_millis(cpu_of_stat(&stat) * 1000 / TICKS_PER_SEC)
}

/// CPU time (user + system) this process has used.
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    Duration::from_millis(cpu_of_stat(&stat) * 1000 / TICKS_PER_SEC)
}

/// CPU time (user + system) of this process's threads whose name starts with `prefix`.
pub fn threads_cpu(prefix: &str) -> Duration {
    let mut ticks = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if comm.trim_end().starts_with(prefix) {
                ticks += cpu_of_stat(
                    &std::fs::read_to_string(t.path().join("stat")).unwrap_or_default(),
                );
            }
        }
    }
    Duration::from_millis(ticks * 1000 / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_cpu_fields_after_the_command_name() {
        let stat = "42 (a) b c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        assert_eq!(super::cpu_of_stat(stat), 300);
    }
}
