//! The live pace beside the progress bar, as pure functions: a smoothed rate, the probes in flight and an ETA that settles ("33/s · 100 in flight · ETA 4m 10s").

use std::time::Duration;

/// Weight of the newest sample in the smoothed rate. Sampled once a second, 0.2 gives
/// the last ~5 s most of the weight: one slow server finishing late moves the ETA by a
/// fifth of its jump, not all of it, and a real change of pace shows within seconds.
const SMOOTHING: f64 = 0.2;

/// A rate smoothed over time (an exponentially weighted moving average of probes per
/// second), fed with the count of this run's finished probes.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    /// The previous sample: probes finished, seconds since the start.
    last: Option<(u64, f64)>,
    smoothed: Option<f64>,
}

impl RateMeter {
    /// Takes the count `done` at `at_secs` seconds; returns the smoothed rate, `None`
    /// until two samples are apart in time.
    pub fn sample(&mut self, done: u64, at_secs: f64) -> Option<f64> {
        if let Some((then_done, then)) = self.last {
            let dt = at_secs - then;
            if dt > 0.0 {
                let now = done.saturating_sub(then_done) as f64 / dt;
                self.smoothed = Some(match self.smoothed {
                    None => now,
                    Some(prev) => prev + SMOOTHING * (now - prev),
                });
            }
        }
        self.last = Some((done, at_secs));
        self.smoothed
    }
}

/// What the pace line says at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pulse {
    /// Probes per second of this run (a resumed run's earlier probes not counted).
    pub rate: Option<f64>,
    pub remaining: u64,
    pub in_flight: u64,
    /// The scan is stopping (first Ctrl-C): the ETA is held at `held_eta`, what it was.
    pub stopping: bool,
    pub held_eta: Option<Duration>,
}

impl Pulse {
    /// The time left at this rate; `None` before the rate is known, or at a standstill.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate.filter(|r| *r > 0.0)?;
        Some(Duration::from_secs_f64(
            (self.remaining as f64 / rate).min(1e9),
        ))
    }
}

/// "33/s · 100 in flight · ETA 4m 10s"; stopping: "… · stopping, ETA held at 4m 10s".
pub fn pulse_text(p: &Pulse) -> String {
    let head = head_text(p);
    if p.stopping {
        return format!("{head} · stopping, ETA held at {}", eta_text(p.held_eta));
    }
    format!("{head} · ETA {}", eta_text(p.eta()))
}

/// "33/s · 100 in flight": the pulse without an ETA (a run whose total is unknown).
pub fn head_text(p: &Pulse) -> String {
    format!("{} · {} in flight", rate_text(p.rate), p.in_flight)
}

/// Probes per second with the precision a reader uses: one decimal below 10, none above.
pub fn rate_text(rate: Option<f64>) -> String {
    match rate {
        None => "-/s".to_string(),
        Some(r) if r < 10.0 => format!("{r:.1}/s"),
        Some(r) => format!("{r:.0}/s"),
    }
}

/// "42s", "3m 05s", "2h 05m"; "--" when unknown.
pub fn eta_text(eta: Option<Duration>) -> String {
    let Some(eta) = eta else {
        return "--".to_string();
    };
    let secs = eta.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_table() {
        let pulse = |rate, remaining, in_flight, stopping, held: Option<u64>| Pulse {
            rate,
            remaining,
            in_flight,
            stopping,
            held_eta: held.map(Duration::from_secs),
        };
        let table = [
            (
                pulse(None, 100, 0, false, None),
                "-/s · 0 in flight · ETA --",
            ),
            (
                pulse(Some(32.6173), 250, 100, false, None),
                "33/s · 100 in flight · ETA 7s",
            ),
            (
                pulse(Some(3.26173), 1000, 7, false, None),
                "3.3/s · 7 in flight · ETA 5m 06s",
            ),
            (
                pulse(Some(0.5), 9000, 3, false, None),
                "0.5/s · 3 in flight · ETA 5h 00m",
            ),
            (
                pulse(Some(0.0), 10, 3, false, None),
                "0.0/s · 3 in flight · ETA --",
            ),
            (
                pulse(Some(12.0), 500, 10, true, Some(75)),
                "12/s · 10 in flight · stopping, ETA held at 1m 15s",
            ),
            (
                pulse(None, 500, 10, true, None),
                "-/s · 10 in flight · stopping, ETA held at --",
            ),
        ];
        for (p, want) in table {
            assert_eq!(pulse_text(&p), want, "{p:?}");
        }
    }

    #[test]
    fn the_rate_settles_instead_of_jumping_with_each_second() {
        let mut m = RateMeter::default();
        assert_eq!(m.sample(0, 0.0), None);
        assert_eq!(m.sample(10, 1.0), Some(10.0));
        // A second with 60 probes (a burst of slow servers answering at once) moves the
        // rate by a fifth of the jump, not to 60.
        assert_eq!(m.sample(70, 2.0), Some(20.0));
        // Back to 10/s: it settles back towards 10.
        let mut rate = 0.0;
        for s in 3..30 {
            rate = m.sample(70 + 10 * (s - 2), s as f64).unwrap();
        }
        assert!((rate - 10.0).abs() < 0.1, "{rate}");
        // The same instant twice changes nothing.
        assert_eq!(m.sample(400, 29.0), Some(rate));
    }
}
