//! Resident memory of the server process(es), read from `/proc/<pid>/status`.

use std::time::Duration;

/// One reading: seconds since the run started, total RSS of all pids in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since the start of the run.
    pub at_s: f64,
    /// Sum of `VmRSS` over the watched processes, KiB.
    pub kib: u64,
}

/// `VmRSS` of one process in KiB; `None` once it has exited.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Total RSS of `pids`; `None` when any of them is gone (a crashed server is
/// reported, not silently left out of the sum).
pub fn total_kib(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|p| rss_kib(*p)).sum()
}

/// What the run says about memory.
#[derive(Debug, Clone, Copy)]
pub struct Growth {
    /// First sample, KiB.
    pub start: u64,
    /// First sample at or after the warm-up, KiB.
    pub warm: u64,
    /// Last sample, KiB.
    pub end: u64,
    /// Largest sample, KiB.
    pub max: u64,
    /// Largest sample after the warm-up, KiB.
    pub max_after_warm: u64,
}

impl Growth {
    /// Summarises `samples`, warm-up ending at `warmup`; `None` without samples.
    pub fn of(samples: &[Sample], warmup: Duration) -> Option<Growth> {
        let first = samples.first()?;
        let after: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at_s >= warmup.as_secs_f64())
            .collect();
        let warm = after.first().map_or(first.kib, |s| s.kib);
        Some(Growth {
            start: first.kib,
            warm,
            end: samples.last()?.kib,
            max: samples.iter().map(|s| s.kib).max()?,
            max_after_warm: after.iter().map(|s| s.kib).max().unwrap_or(warm),
        })
    }

    /// Growth from the warm reading to the largest later one, percent.
    pub fn after_warm_pct(&self) -> f64 {
        pct(self.warm, self.max_after_warm)
    }

    /// Growth from the warm reading to the last one, percent.
    pub fn end_vs_warm_pct(&self) -> f64 {
        pct(self.warm, self.end)
    }
}

fn pct(from: u64, to: u64) -> f64 {
    if from == 0 {
        return 0.0;
    }
    (to as f64 - from as f64) * 100.0 / from as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at_s: f64, kib: u64) -> Sample {
        Sample { at_s, kib }
    }

    #[test]
    fn growth_is_measured_from_the_first_sample_after_warm_up() {
        let samples = [s(0.0, 50), s(10.0, 100), s(20.0, 105), s(30.0, 102)];
        let g = Growth::of(&samples, Duration::from_secs(10)).unwrap();
        assert_eq!((g.start, g.warm, g.end, g.max), (50, 100, 102, 105));
        assert!((g.after_warm_pct() - 5.0).abs() < 1e-9);
        assert!((g.end_vs_warm_pct() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn own_process_has_a_resident_size() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        assert_eq!(total_kib(&[std::process::id(), u32::MAX]), None);
    }
}
