//! Where one probe's time went (connect, greeting, EHLO, TLS, relay tests) and how many round trips it cost.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The parts of a probe's time per host (W in Little's law), in microseconds, and the
/// number of times it waited for the server. Phases that did not happen stay 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// The TCP handshake (and, after a failed STARTTLS handshake, the new connection).
    #[serde(default)]
    pub connect_us: u64,
    #[serde(default)]
    pub greeting_us: u64,
    /// EHLO (and HELO), every time it was said: before and after TLS.
    #[serde(default)]
    pub ehlo_us: u64,
    /// STARTTLS and the handshake, or the implicit-TLS handshake.
    #[serde(default)]
    pub tls_us: u64,
    /// The relay tests and the control recipient, wherever they ran.
    #[serde(default)]
    pub tests_us: u64,
    /// Waits for the server: the TCP handshake, the greeting, each command or pipelined
    /// group, each TLS handshake. The cost of the probe on a high-latency path.
    #[serde(default)]
    pub round_trips: u32,
    /// The relay tests went out as pipelined groups (RFC 2920).
    #[serde(default)]
    pub pipelined: bool,
}

/// Which part of the probe a span of time belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    Greeting,
    Ehlo,
    Tls,
    Tests,
}

impl Timing {
    /// Adds another run's time and round trips to this one (a probe and its rerun).
    pub fn absorb(&mut self, other: &Timing) {
        self.connect_us = self.connect_us.saturating_add(other.connect_us);
        self.greeting_us = self.greeting_us.saturating_add(other.greeting_us);
        self.ehlo_us = self.ehlo_us.saturating_add(other.ehlo_us);
        self.tls_us = self.tls_us.saturating_add(other.tls_us);
        self.tests_us = self.tests_us.saturating_add(other.tests_us);
        self.round_trips = self.round_trips.saturating_add(other.round_trips);
        self.pipelined |= other.pipelined;
    }

    /// Adds `spent` to `phase`, saturating (a probe never runs for 500,000 years).
    pub fn add(&mut self, phase: Phase, spent: Duration) {
        let us = u64::try_from(spent.as_micros()).unwrap_or(u64::MAX);
        let slot = match phase {
            Phase::Connect => &mut self.connect_us,
            Phase::Greeting => &mut self.greeting_us,
            Phase::Ehlo => &mut self.ehlo_us,
            Phase::Tls => &mut self.tls_us,
            Phase::Tests => &mut self.tests_us,
        };
        *slot = slot.saturating_add(us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_add_up_per_phase() {
        let mut t = Timing::default();
        let spans = [
            (Phase::Connect, 150),
            (Phase::Ehlo, 1_000),
            (Phase::Ehlo, 2_500),
            (Phase::Tests, 7),
        ];
        for (phase, us) in spans {
            t.add(phase, Duration::from_micros(us));
        }
        assert_eq!(
            (t.connect_us, t.greeting_us, t.ehlo_us, t.tls_us, t.tests_us),
            (150, 0, 3_500, 0, 7)
        );
        t.add(Phase::Tls, Duration::MAX);
        t.add(Phase::Tls, Duration::from_secs(1));
        assert_eq!(t.tls_us, u64::MAX);
    }

    #[test]
    fn serialises_with_every_field() {
        let t = Timing {
            round_trips: 5,
            pipelined: true,
            ..Timing::default()
        };
        let json = serde_json::to_value(t).unwrap_or_default();
        assert_eq!(json["round_trips"], 5);
        assert_eq!(json["pipelined"], true);
        assert_eq!(json["tests_us"], 0);
        let back: Timing = serde_json::from_str("{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, Timing::default());
    }
}
