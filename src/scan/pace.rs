//! How a scan used its concurrency (Little's law): probes per second, time per probe, and the share of the slots that were probing, with what set the pace.

use std::num::NonZeroU32;
use std::time::Duration;

/// What the writer saw of every probe of this run (a resumed run counts only its own).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pace {
    /// Probes finished in this run, answered or not.
    pub probes: u64,
    /// The sum of their durations (W summed).
    pub busy: Duration,
    /// From the first admission to the last record.
    pub wall: Duration,
    pub concurrency: usize,
    /// The global --rate, new connections per second.
    pub rate: u32,
}

/// What held the pace back, as far as the figures tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Fewer probes than slots: concurrency never mattered.
    FewTargets,
    /// Connections were started as fast as --rate allows.
    Rate,
    /// Most slots were probing: the network's round trips set the pace (Little's bound).
    Latency,
    /// Few waves of C probes: the ramp-up and the last, slowest probes weigh on U.
    ShortRun,
    /// Many waves and still idle slots: they waited for this machine (CPU, descriptors).
    Machine,
}

/// Runs of fewer waves of C probes than this are told apart from a busy machine.
const FEW_WAVES: u64 = 10;

/// At least this share of the slots probing counts as sitting on Little's bound.
const ON_THE_BOUND: f64 = 0.9;

impl Pace {
    pub fn new(concurrency: usize, rate: NonZeroU32) -> Pace {
        Pace {
            concurrency,
            rate: rate.get(),
            ..Pace::default()
        }
    }

    pub fn observe(&mut self, duration_ms: u64) {
        self.probes += 1;
        self.busy = self.busy.saturating_add(Duration::from_millis(duration_ms));
    }

    /// λ: probes finished per second of wall time.
    pub fn per_second(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 {
            self.probes as f64 / wall
        } else {
            0.0
        }
    }

    /// W: the mean time of one probe.
    pub fn mean(&self) -> Duration {
        if self.probes == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.busy.as_secs_f64() / self.probes as f64)
    }

    /// U = λ·W/C: the share of the slots that were probing over the run.
    pub fn utilisation(&self) -> f64 {
        let capacity = self.wall.as_secs_f64() * self.concurrency.max(1) as f64;
        if capacity > 0.0 {
            (self.busy.as_secs_f64() / capacity).min(1.0)
        } else {
            0.0
        }
    }

    pub fn limit(&self) -> Limit {
        if self.probes < self.concurrency as u64 {
            Limit::FewTargets
        } else if self.probes > u64::from(self.rate)
            && self.per_second() >= 0.9 * f64::from(self.rate)
        {
            // Beyond the governor's first burst (one second's worth), the rate held.
            Limit::Rate
        } else if self.utilisation() >= ON_THE_BOUND {
            Limit::Latency
        } else if self.probes < FEW_WAVES.saturating_mul(self.concurrency as u64) {
            Limit::ShortRun
        } else {
            Limit::Machine
        }
    }

    /// What limited the speed, in the words a user acts on, and the flag that would
    /// change it: "10 endpoints in 2.1 s; --rate 5 limited the speed: raise --rate to go
    /// faster". None when nothing was probed. The figures behind it are [`Pace::render`].
    pub fn plain(&self) -> Option<String> {
        if self.probes == 0 {
            return None;
        }
        let head = format!(
            "{} in {:.1} s",
            crate::report::overview::count(self.probes, "endpoint"),
            self.wall.as_secs_f64()
        );
        let why = match self.limit() {
            Limit::FewTargets => format!(
                "fewer endpoints than probes allowed at once (-c {}), so each took as long as its server: no flag would make this faster",
                self.concurrency
            ),
            Limit::Rate => format!(
                "--rate {} limited the speed: raise --rate to go faster, as far as the networks you scan allow",
                self.rate
            ),
            Limit::Latency => format!(
                "all {} probes allowed at once were busy waiting for servers: raise -c to go faster",
                self.concurrency
            ),
            Limit::ShortRun => format!(
                "too short a run to reach full speed: starting up and the slowest servers weigh (--host-timeout bounds those); a larger scan at -c {} goes faster per endpoint",
                self.concurrency
            ),
            Limit::Machine => {
                "probes waited for this machine (CPU, open files), not for servers: a lower -c would cost little".to_string()
            }
        };
        Some(format!("speed: {head}; {why}"))
    }

    /// The figures for `-v` (Little's law): probes, wall time, rate, time per probe, the
    /// share of the slots probing and what set the pace. None when nothing was probed.
    pub fn render(&self) -> Option<String> {
        if self.probes == 0 {
            return None;
        }
        let head = format!(
            "pace: {} in {:.1} s, {:.0} per second, {:.0} ms per probe on average",
            crate::report::overview::count(self.probes, "probe"),
            self.wall.as_secs_f64(),
            self.per_second(),
            self.mean().as_secs_f64() * 1000.0
        );
        let slots = format!(
            "{:.0}% of the {} slots probing",
            self.utilisation() * 100.0,
            self.concurrency
        );
        let tail = match self.limit() {
            Limit::FewTargets => "fewer endpoints than slots (-c)".to_string(),
            Limit::Rate => format!("{slots}; --rate {} set the pace", self.rate),
            Limit::Latency => format!("{slots}; the servers' round trips set the pace"),
            Limit::ShortRun => format!(
                "{slots}; a run of few waves, where the ramp-up and the slowest probes weigh"
            ),
            Limit::Machine => format!(
                "{slots}; the others waited for this machine (CPU, descriptors): \
                 a lower -c would cost little"
            ),
        };
        Some(format!("{head}; {tail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(probes: u64, busy_s: u64, wall_s: u64, c: usize, rate: u32) -> Pace {
        Pace {
            probes,
            busy: Duration::from_secs(busy_s),
            wall: Duration::from_secs(wall_s),
            concurrency: c,
            rate,
        }
    }

    #[test]
    fn littles_law_figures() {
        // 1,000 probes of 2 s each in 250 s at C=10: λ 4/s, W 2 s, U = 4 × 2 / 10.
        let p = pace(1_000, 2_000, 250, 10, 1_000);
        assert_eq!(p.per_second(), 4.0);
        assert_eq!(p.mean(), Duration::from_secs(2));
        assert!((p.utilisation() - 0.8).abs() < 1e-9);
    }

    #[test]
    fn what_set_the_pace() {
        let cases = [
            (pace(5, 10, 3, 10, 1_000), Limit::FewTargets),
            (pace(1_000, 100, 10, 100, 100), Limit::Rate),
            // Within the first burst the rate limit never bit.
            (pace(100, 100, 1, 10, 100), Limit::Latency),
            (pace(1_000, 950, 10, 100, 10_000), Limit::Latency),
            (pace(999, 500, 10, 100, 10_000), Limit::ShortRun),
            (pace(1_000, 500, 10, 100, 10_000), Limit::Machine),
        ];
        for (p, expected) in cases {
            assert_eq!(p.limit(), expected, "{p:?}");
        }
    }

    #[test]
    fn nothing_probed_or_no_time_is_not_a_division_by_zero() {
        let empty = Pace::new(10, NonZeroU32::MIN);
        assert_eq!(empty.render(), None);
        assert_eq!(empty.mean(), Duration::ZERO);
        assert_eq!(empty.utilisation(), 0.0);
        let instant = pace(3, 0, 0, 10, 1);
        assert_eq!(instant.per_second(), 0.0);
        assert_eq!(instant.utilisation(), 0.0);
    }

    #[test]
    fn utilisation_is_capped_at_one() {
        // Durations are whole milliseconds, rounded up or down: never above 100%.
        assert_eq!(pace(100, 11, 1, 10, 1_000).utilisation(), 1.0);
    }

    #[test]
    fn the_line_names_the_limit() {
        let line = pace(1_000, 500, 10, 100, 10_000).render().unwrap();
        assert!(
            line.starts_with("pace: 1000 probes in 10.0 s, 100 per second"),
            "{line}"
        );
        assert!(line.contains("50% of the 100 slots probing"), "{line}");
        assert!(line.contains("a lower -c"), "{line}");
        let rate = pace(1_000, 100, 10, 100, 100).render().unwrap();
        assert!(rate.contains("--rate 100 set the pace"), "{rate}");
    }

    #[test]
    fn the_plain_line_names_what_limited_the_speed_and_the_flag_to_change() {
        let table = [
            (pace(5, 10, 3, 10, 1_000), "no flag would make this faster"),
            (
                pace(1_000, 100, 10, 100, 100),
                "--rate 100 limited the speed: raise --rate",
            ),
            (
                pace(1_000, 950, 10, 100, 10_000),
                "all 100 probes allowed at once were busy waiting for servers: raise -c",
            ),
            (
                pace(999, 500, 10, 100, 10_000),
                "too short a run to reach full speed",
            ),
            (
                pace(1_000, 500, 10, 100, 10_000),
                "a lower -c would cost little",
            ),
        ];
        for (p, want) in table {
            let line = p.plain().unwrap();
            assert!(line.starts_with("speed: "), "{line}");
            assert!(line.contains(want), "{p:?}: {line}");
            assert!(
                !line.contains("Little") && !line.contains("slots"),
                "{line}"
            );
        }
        assert_eq!(
            pace(1_000, 100, 10, 100, 100)
                .plain()
                .unwrap()
                .split(';')
                .next(),
            Some("speed: 1000 endpoints in 10.0 s")
        );
        assert_eq!(Pace::new(10, NonZeroU32::MIN).plain(), None);
    }
}
