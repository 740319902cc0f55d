//! Validated, derived settings built from the command line; every error names its flag.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::CommonScanArgs;
use crate::probe::relay::{Identity, split_mailbox};
use crate::probe::tls_policy::{RelayOver, StartTls, TlsSettings};
use crate::report::Formats;
use crate::smtp::tls::TlsClient;
use crate::target::parse_ports;

/// A command-line value that does not make sense; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {problem}")]
pub struct ConfigError {
    pub flag: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(flag: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            flag: flag.to_string(),
            problem: problem.into(),
        }
    }
}

/// Parses `500ms`, `5s`, `1.5s`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 500ms, 5s, 2m)"))?;
    if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 {
        return Err(format!("{text:?} is out of range (0 to 24h)"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar (stderr is a terminal).
    Bar,
    /// A one-line status every few seconds (stderr is a pipe or file, or --no-progress).
    Lines,
    /// Nothing (--quiet).
    Quiet,
}

/// Everything a scan needs, validated.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub ports: Vec<u16>,
    pub concurrency: usize,
    pub rate: NonZeroU32,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub host_timeout: Duration,
    pub grace: Duration,
    pub helo: String,
    pub identity: Identity,
    pub output: PathBuf,
    pub formats: Formats,
    pub write_all: bool,
    pub transcript: bool,
    /// Pipeline the relay tests where the server advertises PIPELINING.
    pub pipelining: bool,
    pub progress: ProgressMode,
    pub starttls: StartTls,
    /// Ports that speak TLS first (--tls-ports).
    pub tls_ports: Vec<u16>,
    pub relay_over: RelayOver,
}

impl ScanConfig {
    /// Validates the shared scan flags. `default_helo` is used when --helo is absent.
    pub fn from_args(
        args: &CommonScanArgs,
        stderr_is_terminal: bool,
        default_helo: &str,
    ) -> Result<ScanConfig, ConfigError> {
        let ports =
            parse_ports(&args.ports).map_err(|e| ConfigError::new("--ports", e.to_string()))?;
        if args.concurrency == 0 {
            return Err(ConfigError::new("--concurrency", "must be at least 1"));
        }
        let rate = NonZeroU32::new(args.rate)
            .ok_or_else(|| ConfigError::new("--rate", "must be at least 1"))?;
        let duration =
            |flag: &str, text: &str| parse_duration(text).map_err(|e| ConfigError::new(flag, e));
        let connect_timeout = duration("--connect-timeout", &args.connect_timeout)?;
        let read_timeout = duration("--read-timeout", &args.read_timeout)?;
        let host_timeout = duration("--host-timeout", &args.host_timeout)?;
        let grace = duration("--grace", &args.grace)?;
        for (flag, d) in [
            ("--connect-timeout", connect_timeout),
            ("--read-timeout", read_timeout),
            ("--host-timeout", host_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::new(flag, "must be more than zero"));
            }
        }
        let helo = args
            .helo
            .clone()
            .unwrap_or_else(|| default_helo.to_string());
        validate_helo(&helo).map_err(|e| ConfigError::new("--helo", e))?;
        // The recipient first: the default sender is derived from its domain.
        let (_, rcpt_domain) = split_mailbox(&args.rcpt_to)
            .map_err(|e| ConfigError::new("--rcpt-to", format!("{:?}: {e}", args.rcpt_to)))?;
        let mail_from = args
            .mail_from
            .clone()
            .unwrap_or_else(|| format!("antispam@{rcpt_domain}"));
        let identity = Identity::new(&mail_from, &args.rcpt_to).map_err(|e| {
            ConfigError::new(
                "--mail-from",
                e.trim_start_matches("--mail-from").trim_start(),
            )
        })?;
        let formats: Formats = args
            .format
            .parse()
            .map_err(|e: String| ConfigError::new("--format", e))?;
        let output = args.output.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "reports/scan-{}",
                chrono::Local::now().format("%Y%m%d-%H%M%S")
            ))
        });
        let starttls: StartTls = args
            .starttls
            .parse()
            .map_err(|e: String| ConfigError::new("--starttls", e))?;
        let relay_over: RelayOver = args
            .relay_over
            .parse()
            .map_err(|e: String| ConfigError::new("--relay-over", e))?;
        // An empty list turns implicit TLS off.
        let tls_ports = if args.tls_ports.trim().is_empty() {
            Vec::new()
        } else {
            parse_ports(&args.tls_ports)
                .map_err(|e| ConfigError::new("--tls-ports", e.to_string()))?
        };
        let progress = if args.quiet {
            ProgressMode::Quiet
        } else if args.no_progress || !stderr_is_terminal {
            ProgressMode::Lines
        } else {
            ProgressMode::Bar
        };
        Ok(ScanConfig {
            ports,
            concurrency: args.concurrency,
            rate,
            connect_timeout,
            read_timeout,
            host_timeout,
            grace,
            helo,
            identity,
            output,
            formats,
            write_all: args.all,
            transcript: args.transcript,
            pipelining: !args.no_pipelining,
            progress,
            starttls,
            tls_ports,
            relay_over,
        })
    }

    /// How the probes use TLS; builds the scan's TLS client (the Mozilla roots) once.
    pub fn tls_options(&self) -> TlsSettings {
        TlsSettings {
            starttls: self.starttls,
            relay_over: self.relay_over,
            implicit_ports: self.tls_ports.clone(),
            client: TlsClient::new(),
        }
    }
}

/// An EHLO argument: a domain or an address literal, nothing that could smuggle a command.
fn validate_helo(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-.[]:".contains(c);
    if name.is_empty() || name.len() > 255 || !name.chars().all(ok_char) {
        return Err(format!("{name:?} is not a host name or address literal"));
    }
    Ok(())
}

/// This machine's host name, for EHLO when --helo is not given.
pub fn local_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into a buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if validate_helo(&name).is_ok() {
        name
    } else {
        "relayscan.localdomain".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_table() {
        let good = [
            ("500ms", 500),
            ("5s", 5000),
            ("1.5s", 1500),
            ("2m", 120_000),
            ("10", 10_000),
            (" 3s ", 3000),
            ("0ms", 0),
        ];
        for (text, ms) in good {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in ["", "s", "fast", "-1s", "5 parsecs", "NaNs", "25h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn helo_table() {
        for good in ["mx.example.org", "[192.0.2.1]", "localhost"] {
            assert!(validate_helo(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "x\r\nDATA", "name;rm"] {
            assert!(validate_helo(bad).is_err(), "{bad:?}");
        }
    }
}
