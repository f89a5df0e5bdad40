//! Side-by-side measurement for the benches: ours and a reference, measured
//! in the same run, interleaved over several rounds, reported as the median
//! of the per-round ratios (docs/performance.md).
//!
//! A shared machine is noisy; a ratio of two things measured a moment apart
//! is much steadier than either figure alone. Each round runs both sides
//! once, alternating which goes first (ABBA), so a slow spell costs both.
//!
//! ```
//! use smartid_testkit::bench::{Comparison, Meter};
//!
//! let c = Comparison::run("sum", Meter::Wall, 5, 100_000,
//!     |n| { std::hint::black_box((0..n).sum::<u64>()); },
//!     |n| { std::hint::black_box((0..n).fold(0u64, |a, b| a + b)); },
//! );
//! assert_eq!(c.rounds(), 5);
//! assert!(c.ratio().is_finite());
//! println!("{}", c.report());
//! ```

use std::time::{Duration, Instant};

/// What a round measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Meter {
    /// Wall-clock time.
    Wall,
    /// CPU time of the calling thread (`clock_gettime` with
    /// `CLOCK_THREAD_CPUTIME_ID`, nanoseconds; wall time off Unix). Time
    /// spent waiting, and work on other threads (a simulator), is not
    /// counted.
    ThreadCpu,
    /// CPU time of the whole process, user plus system (`clock_gettime`
    /// with `CLOCK_PROCESS_CPUTIME_ID`; wall time off Unix).
    ProcessCpu,
}

impl Meter {
    /// The meter's reading now; only differences are meaningful.
    pub fn now(self) -> Duration {
        match self {
            Meter::Wall => wall(),
            Meter::ThreadCpu => thread_cpu().unwrap_or_else(wall),
            Meter::ProcessCpu => process_cpu().unwrap_or_else(wall),
        }
    }

    /// Runs `f` once and returns what it cost on this meter.
    pub fn measure(self, f: impl FnOnce()) -> Duration {
        let start = self.now();
        f();
        self.now().saturating_sub(start)
    }

    fn label(self) -> &'static str {
        match self {
            Meter::Wall => "wall",
            Meter::ThreadCpu => "thread CPU",
            Meter::ProcessCpu => "process CPU",
        }
    }
}

fn wall() -> Duration {
    use std::sync::OnceLock;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
///
/// Not `/proc/thread-self/schedstat`, which the first version read: the
/// kernel brings a running thread's total there up to date only at a
/// scheduler tick or switch, so a reading lags by up to a tick (4 ms here)
/// and rounds of a few milliseconds came out in whole ticks.
pub fn thread_cpu() -> Option<Duration> {
    cpu_clock(Clock::Thread)
}

/// User plus system CPU time of the process (`CLOCK_PROCESS_CPUTIME_ID`).
pub fn process_cpu() -> Option<Duration> {
    cpu_clock(Clock::Process)
}

enum Clock {
    Thread,
    Process,
}

#[cfg(unix)]
fn cpu_clock(clock: Clock) -> Option<Duration> {
    use rustix::time::{ClockId, clock_gettime};
    let t = clock_gettime(match clock {
        Clock::Thread => ClockId::ThreadCPUTime,
        Clock::Process => ClockId::ProcessCPUTime,
    });
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u32::try_from(t.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(not(unix))]
fn cpu_clock(_clock: Clock) -> Option<Duration> {
    None
}

/// Resident set size of the process in bytes, from `/proc/self/statm`
/// (assumes 4 KiB pages).
pub fn rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Per-operation costs of ours and of the reference, round by round.
#[derive(Debug, Clone)]
pub struct Comparison {
    label: String,
    meter: Meter,
    per_round: u64,
    ours: Vec<Duration>,
    reference: Vec<Duration>,
}

impl Comparison {
    /// Runs `rounds` rounds; in each, `ours(n)` and `reference(n)` each do
    /// `n = per_round` operations, in alternating order. One unmeasured
    /// warm-up round of each comes first.
    pub fn run(
        label: &str,
        meter: Meter,
        rounds: usize,
        per_round: u64,
        mut ours: impl FnMut(u64),
        mut reference: impl FnMut(u64),
    ) -> Comparison {
        ours(per_round.clamp(1, 10));
        reference(per_round.clamp(1, 10));
        let mut c = Comparison {
            label: label.to_owned(),
            meter,
            per_round: per_round.max(1),
            ours: Vec::with_capacity(rounds),
            reference: Vec::with_capacity(rounds),
        };
        for round in 0..rounds {
            if round % 2 == 0 {
                c.ours.push(meter.measure(|| ours(per_round)));
                c.reference.push(meter.measure(|| reference(per_round)));
            } else {
                c.reference.push(meter.measure(|| reference(per_round)));
                c.ours.push(meter.measure(|| ours(per_round)));
            }
        }
        c
    }

    /// Builds a comparison from costs measured elsewhere (for example by
    /// another process), one pair per round, each for `per_round` operations.
    pub fn from_rounds(
        label: &str,
        meter: Meter,
        per_round: u64,
        pairs: impl IntoIterator<Item = (Duration, Duration)>,
    ) -> Comparison {
        let (ours, reference) = pairs.into_iter().unzip();
        Comparison {
            label: label.to_owned(),
            meter,
            per_round: per_round.max(1),
            ours,
            reference,
        }
    }

    /// How many rounds were measured.
    pub fn rounds(&self) -> usize {
        self.ours.len().min(self.reference.len())
    }

    /// Median over the rounds of ours / reference (0 with no rounds).
    pub fn ratio(&self) -> f64 {
        median(self.ratios())
    }

    /// ours / reference of each round.
    fn ratios(&self) -> Vec<f64> {
        self.ours
            .iter()
            .zip(&self.reference)
            .map(|(o, r)| o.as_secs_f64() / r.as_secs_f64().max(1e-12))
            .collect()
    }

    /// Median cost of one operation of ours.
    pub fn ours_each(&self) -> Duration {
        self.each(&self.ours)
    }

    /// Median cost of one operation of the reference.
    pub fn reference_each(&self) -> Duration {
        self.each(&self.reference)
    }

    fn each(&self, v: &[Duration]) -> Duration {
        let m = median(v.iter().map(Duration::as_secs_f64).collect());
        Duration::from_secs_f64(m / self.per_round as f64)
    }

    /// One line for the bench output: label, both medians per operation,
    /// the ratio, and the spread of the per-round ratios.
    pub fn report(&self) -> String {
        let mut ratios = self.ratios();
        ratios.sort_by(f64::total_cmp);
        let (lo, hi) = (
            ratios.first().copied().unwrap_or(0.0),
            ratios.last().copied().unwrap_or(0.0),
        );
        format!(
            "{:<44} ours {:>10} reference {:>10} ({}) ratio {:.3} (rounds {}: {:.3}..{:.3})",
            self.label,
            fmt_duration(self.ours_each()),
            fmt_duration(self.reference_each()),
            self.meter.label(),
            self.ratio(),
            self.rounds(),
            lo,
            hi,
        )
    }
}

/// Median of a list (0 when empty); the mean of the two middle values for an
/// even count.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// A duration as µs or ms with three significant digits.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_the_median_of_the_rounds() {
        let c = Comparison::from_rounds(
            "x",
            Meter::Wall,
            10,
            [
                (Duration::from_millis(20), Duration::from_millis(10)),
                (Duration::from_millis(30), Duration::from_millis(10)),
                (Duration::from_millis(90), Duration::from_millis(10)),
            ],
        );
        assert!((c.ratio() - 3.0).abs() < 1e-9);
        assert_eq!(c.ours_each(), Duration::from_millis(3));
        assert_eq!(c.reference_each(), Duration::from_millis(1));
        assert!(c.report().contains("ratio 3.000"), "{}", c.report());
    }

    #[test]
    fn a_slower_side_has_a_ratio_above_one() {
        let spin = |n: u64| {
            let mut x = 0u64;
            for i in 0..n {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        };
        let c = Comparison::run("spin", Meter::ThreadCpu, 5, 200_000, |n| spin(n * 4), spin);
        assert!(c.ratio() > 1.5, "{}", c.report());
    }

    #[test]
    fn meters_move_forward() {
        for m in [Meter::Wall, Meter::ThreadCpu, Meter::ProcessCpu] {
            let a = m.now();
            let b = m.now();
            assert!(b >= a);
        }
        assert!(rss_bytes().is_some_and(|b| b > 0));
        assert!(thread_cpu().is_some());
        assert!(process_cpu().is_some());
    }

    #[test]
    fn median_of_even_and_odd_lists() {
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
