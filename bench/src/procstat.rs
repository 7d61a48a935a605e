//! CPU time and peak memory of a process, from /proc.

use anyhow::{Context, Result};

pub struct Usage {
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// Linux reports CPU time in clock ticks of 1/100 s on every platform
/// this runs on (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

pub fn usage(pid: u32) -> Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(Usage {
        cpu_seconds: ticks / TICKS_PER_SECOND,
        peak_rss_mib: status_kib(pid, "VmHWM:")? / 1024.0,
    })
}

/// Resident memory now, in MiB.
pub fn rss_mib(pid: u32) -> Result<f64> {
    Ok(status_kib(pid, "VmRSS:")? / 1024.0)
}

/// A `kB` field of /proc/PID/status.
fn status_kib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .with_context(|| format!("{field} in /proc status"))?
        .parse()?)
}
