//! Scanning the hostile lab (`relayscan lab --hostile`) so that machine load cannot flip a
//! result: two scans, split by what ends each server.
//!
//! Only the tarpit ends at the host deadline. Every other hostile server ends by its own
//! behaviour, some slowly: one-byte-writes sends its ~1,100 reply bytes one lab timer tick
//! apart (at least 1 ms, ~2.3 ms measured), 2.5 s a dialogue on this 2-core machine when
//! idle, and past a shared 4 s deadline under load (host-timeout/inconclusive instead of
//! completed/relay-denied). So the tarpit gets a scan with a short deadline, and the others
//! one whose deadline no load reaches.

use std::time::Duration;

use relayscan::lab::MisbehaviourExpectation;
use relayscan::probe::Status;
use relayscan_lab::hostile::Misbehaviour;

use super::LabProcess;

/// One of the two scans of a hostile lab.
pub struct Part {
    /// Lab host index (as `LabProcess::addr` counts) and the server there.
    pub hosts: Vec<(usize, Misbehaviour)>,
    /// The longest wait for one reply; the silent server ends at it.
    pub read_timeout: Duration,
    /// The deadline for one host.
    pub host_timeout: Duration,
}

impl Part {
    /// The targets, one address each.
    pub fn targets(&self, lab: &LabProcess) -> Vec<String> {
        self.hosts
            .iter()
            .map(|&(n, _)| lab.addr(n).to_string())
            .collect()
    }

    /// `--read-timeout` and `--host-timeout` with this part's values.
    pub fn timeout_flags(&self) -> Vec<String> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        vec![
            "--read-timeout".into(),
            ms(self.read_timeout),
            "--host-timeout".into(),
            ms(self.host_timeout),
        ]
    }
}

/// The deadline-bound servers (the tarpit) and the self-ending ones, in lab order.
///
/// The tarpit: a byte a second keeps resetting a 3 s read timeout, so only the 4 s host
/// deadline ends it (a stall of 2 s in the lab would be needed to end it otherwise). The
/// others: the silent one ends at the 2 s read timeout, the rest by themselves, within a
/// 30 s deadline, twelve times one-byte-writes' idle 2.5 s.
pub fn parts() -> [Part; 2] {
    let (deadline_bound, self_ending): (Vec<_>, Vec<_>) = Misbehaviour::ALL
        .into_iter()
        .enumerate()
        .partition(|&(_, m)| m.expected().status == Status::HostTimeout);
    [
        Part {
            hosts: deadline_bound,
            read_timeout: Duration::from_secs(3),
            host_timeout: Duration::from_secs(4),
        },
        Part {
            hosts: self_ending,
            read_timeout: Duration::from_secs(2),
            host_timeout: Duration::from_secs(30),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_hold_every_server_once_with_the_tarpit_alone_at_the_short_deadline() {
        let [short, long] = parts();
        let names = |p: &Part| p.hosts.iter().map(|(_, m)| m.name()).collect::<Vec<_>>();
        assert_eq!(names(&short), ["tarpit"]);
        assert_eq!(
            short.hosts.len() + long.hosts.len(),
            Misbehaviour::ALL.len()
        );
        assert!(long.hosts.iter().all(|(n, m)| Misbehaviour::ALL[*n] == *m));
        // Shorter than the deadline: the tarpit shows that a trickle defeats a read timeout.
        assert!(short.read_timeout < short.host_timeout);
        assert_eq!(
            short.timeout_flags(),
            ["--read-timeout", "3000ms", "--host-timeout", "4000ms"]
        );
    }
}
