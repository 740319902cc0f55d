//! Runs `relayscan lab` as a child process for the scanner's tests and benchmarks: the command line, the wait for its "lab ready" line, and the kill when dropped.
//!
//! The lab crate cannot call the scanner, so it runs the scanner's binary from the path
//! it is given (`env!("CARGO_BIN_EXE_relayscan")` in the scanner's tests and benches).
//! The lines it waits for are written by [`ready_line`] and [`dns_line`], which
//! `relayscan lab` and `relayscan lab --hostile` print, and read back beside them.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ipnetwork::Ipv4Network;

use crate::dns::ZONE_ORIGIN;
use crate::server::host_address;

/// How long a lab may take to print "lab ready": the largest, a /17 of 32,766
/// listeners (the throughput bench), binds in a second or two even on two busy cores.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// What the lab said once it was up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabReady {
    pub hosts: usize,
    /// The port every host listens on.
    pub port: u16,
    /// The implicit-TLS port, when a persona speaks TLS first.
    pub tls_port: Option<u16>,
    /// The lab's DNS server, when started with `--dns-port`.
    pub dns: Option<SocketAddr>,
}

/// Why a lab did not come up.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("lab network {bind:?}: {reason}")]
    Network { bind: String, reason: String },
    #[error("cannot run {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the lab on {bind} did not report ready: {reason}")]
    NotReady { bind: String, reason: String },
}

/// The command line of one `relayscan lab`: `--bind NETWORK --port PORT` and what is added.
#[derive(Debug, Clone)]
pub struct LabLauncher {
    binary: PathBuf,
    bind: String,
    port: u16,
    args: Vec<OsString>,
    quiet: bool,
}

impl LabLauncher {
    /// `relayscan lab --bind BIND --port 0` run from `binary`.
    pub fn new(binary: impl Into<PathBuf>, bind: impl Into<String>) -> LabLauncher {
        LabLauncher {
            binary: binary.into(),
            bind: bind.into(),
            port: 0,
            args: Vec::new(),
            quiet: false,
        }
    }

    /// The port every host listens on (0, the default: one free port).
    pub fn port(mut self, port: u16) -> LabLauncher {
        self.port = port;
        self
    }

    /// More flags for `relayscan lab` (`--persona closed`, `--hostile`, `--log FILE`).
    pub fn args<I, S>(mut self, args: I) -> LabLauncher
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sends the lab's standard error nowhere (benchmarks), instead of to ours (tests).
    pub fn quiet(mut self) -> LabLauncher {
        self.quiet = true;
        self
    }

    /// Starts the lab and waits (at most [`READY_WITHIN`]) for its "lab ready" line.
    pub fn start(self) -> Result<RunningLab, LaunchError> {
        let network = self
            .bind
            .parse::<Ipv4Network>()
            .map_err(|e| LaunchError::Network {
                bind: self.bind.clone(),
                reason: e.to_string(),
            })?;
        let mut child = Command::new(&self.binary)
            .args([
                "lab",
                "--bind",
                &self.bind,
                "--port",
                &self.port.to_string(),
            ])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.quiet {
                Stdio::null()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .map_err(|source| LaunchError::Spawn {
                binary: self.binary.clone(),
                source,
            })?;
        // The lines come through a thread so that a lab that never speaks cannot hold
        // the wait past its deadline; the thread keeps draining stdout afterwards, so
        // that the lab never blocks on a full pipe.
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    // Nobody listens once the lab is ready: keep reading, drop the line.
                    let _ = tx.send(line);
                }
            });
        }
        let mut lab = RunningLab {
            child: Some(child),
            network,
            ready: LabReady {
                hosts: 0,
                port: 0,
                tls_port: None,
                dns: None,
            },
        };
        let not_ready = |reason: String| LaunchError::NotReady {
            bind: self.bind.clone(),
            reason,
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(not_ready(format!(
                        "no \"lab ready\" line within {READY_WITHIN:?}"
                    )));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(not_ready(lab.exit_status()));
                }
            };
            if let Some(dns) = parse_dns_line(&line) {
                lab.ready.dns = Some(dns);
            } else if line.starts_with(READY_PREFIX) {
                let (hosts, port, tls_port) = parse_ready_line(&line)
                    .ok_or_else(|| not_ready(format!("unreadable: {line}")))?;
                lab.ready = LabReady {
                    hosts,
                    port,
                    tls_port,
                    ..lab.ready
                };
                return Ok(lab);
            }
        }
    }
}

const READY_PREFIX: &str = "lab ready: ";
const DNS_PREFIX: &str = "lab DNS: ";

/// The line `relayscan lab` prints once every host listens, ending in how to scan it:
/// `lab ready: 13 hosts on port 2525; [implicit TLS on port 4650; ]scan with: SCAN`.
pub fn ready_line(hosts: usize, port: u16, tls_port: Option<u16>, scan_with: &str) -> String {
    match tls_port {
        Some(tls) => format!(
            "{READY_PREFIX}{hosts} hosts on port {port}; implicit TLS on port {tls}; scan with: {scan_with}"
        ),
        None => format!("{READY_PREFIX}{hosts} hosts on port {port}; scan with: {scan_with}"),
    }
}

/// The line announcing the lab's DNS server, printed before [`ready_line`]:
/// `lab DNS: zone lab.test at ADDR; scan its mail domains with: SCAN`.
pub fn dns_line(addr: SocketAddr, scan_with: &str) -> String {
    format!("{DNS_PREFIX}zone {ZONE_ORIGIN} at {addr}; scan its mail domains with: {scan_with}")
}

/// Hosts, port and implicit-TLS port from a [`ready_line`].
fn parse_ready_line(line: &str) -> Option<(usize, u16, Option<u16>)> {
    let rest = line.strip_prefix(READY_PREFIX)?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let hosts = words.first()?.parse().ok()?;
    if words.get(1..4)? != ["hosts", "on", "port"] {
        return None;
    }
    let port = words.get(4)?.trim_end_matches(';').parse().ok()?;
    let tls_port = rest
        .split_once("implicit TLS on port ")
        .and_then(|(_, tail)| tail.split(';').next())
        .and_then(|p| p.trim().parse().ok());
    Some((hosts, port, tls_port))
}

/// The server's address from a [`dns_line`].
fn parse_dns_line(line: &str) -> Option<SocketAddr> {
    line.strip_prefix(DNS_PREFIX)?
        .split_once(" at ")?
        .1
        .split(';')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// A running `relayscan lab`; killed when dropped.
#[derive(Debug)]
pub struct RunningLab {
    /// `None` once handed over with [`RunningLab::into_child`].
    child: Option<Child>,
    network: Ipv4Network,
    /// What its "lab ready" and "lab DNS" lines said.
    pub ready: LabReady,
}

impl RunningLab {
    /// The address of the n-th host (0-based), as the lab assigns them.
    pub fn host_ip(&self, n: usize) -> IpAddr {
        IpAddr::V4(host_address(self.network.network(), n))
    }

    /// Hands the process over (to be ended by the caller, e.g. with its resource usage).
    pub fn into_child(mut self) -> Child {
        // Only `into_child` takes it, and it consumes the lab.
        self.child
            .take()
            .expect("a RunningLab holds its child until into_child")
    }

    /// How the lab ended, for the error when it stopped before it was ready.
    fn exit_status(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return "handed over".into();
        };
        match child.wait() {
            Ok(status) => format!("it closed its output and exited ({status})"),
            Err(e) => format!("it closed its output: {e}"),
        }
    }
}

impl Drop for RunningLab {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines_read_back_as_written() {
        let table = [
            (13, 40123, None),
            (23, 2525, Some(4650)),
            (1, 1, Some(65535)),
        ];
        for (hosts, port, tls_port) in table {
            let line = ready_line(hosts, port, tls_port, "relayscan scan 127.0.2.1-13 -p 2525");
            assert_eq!(
                parse_ready_line(&line),
                Some((hosts, port, tls_port)),
                "{line}"
            );
        }
        assert_eq!(
            ready_line(23, 2525, Some(4650), "SCAN"),
            "lab ready: 23 hosts on port 2525; implicit TLS on port 4650; scan with: SCAN"
        );
        for bad in [
            "lab ready: 13 hosts on port x; scan with: ...",
            "lab ready: many hosts on port 1;",
            "lab ready: 13 personas on port 1;",
            "lab ready: ",
            "13 hosts on port 1;",
        ] {
            assert_eq!(parse_ready_line(bad), None, "{bad}");
        }
    }

    #[test]
    fn dns_lines_read_back_as_written() {
        let addr: SocketAddr = "127.0.80.254:40125".parse().unwrap();
        let line = dns_line(addr, "relayscan scan --resolver 127.0.80.254:40125");
        assert_eq!(
            line,
            "lab DNS: zone lab.test at 127.0.80.254:40125; scan its mail domains with: relayscan scan --resolver 127.0.80.254:40125"
        );
        assert_eq!(parse_dns_line(&line), Some(addr));
        assert_eq!(parse_dns_line("lab DNS: zone lab.test at nowhere; x"), None);
        assert_eq!(parse_dns_line("lab ready: 1 hosts on port 1;"), None);
    }

    #[test]
    fn a_missing_binary_and_a_bad_network_are_named() {
        let missing = LabLauncher::new("/nonexistent/relayscan", "127.0.9.0/24")
            .start()
            .unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/relayscan"),
            "{missing}"
        );
        let bad = LabLauncher::new("/nonexistent/relayscan", "127.0.9.0/99")
            .start()
            .unwrap_err();
        assert!(bad.to_string().contains("127.0.9.0/99"), "{bad}");
    }

    #[test]
    fn a_lab_that_exits_before_ready_is_reported() {
        // `true` exits at once without a word: the wait ends with its status, not the deadline.
        let started = Instant::now();
        let err = LabLauncher::new("true", "127.0.9.0/24")
            .start()
            .unwrap_err();
        assert!(err.to_string().contains("exited"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
