//! What each probe says and does: the hello name, the identity of the relay tests, the
//! catalogue, STARTTLS, where the tests run, the implicit-TLS ports and pipelining.

use super::ConfigError;
use crate::cli::CommonScanArgs;
use crate::probe::ProbeSettings;
use crate::probe::relay::{Identity, split_mailbox};
use crate::probe::tls_policy::{RelayOver, StartTls, TlsSettings};
use crate::smtp::SessionSettings;
use crate::smtp::tls::TlsClient;
use crate::target::parse_ports;

/// The longest hello name: a domain name's limit (RFC 1035, 255 octets).
const MAX_HELO: usize = 255;

/// Validates the probe flags around `session`; builds the scan's TLS client (the
/// Mozilla roots) once. `default_helo` is used when --helo is absent.
pub fn from_args(
    args: &CommonScanArgs,
    session: SessionSettings,
    default_helo: &str,
) -> Result<ProbeSettings, ConfigError> {
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
    let starttls: StartTls = args
        .starttls
        .parse()
        .map_err(|e: String| ConfigError::new("--starttls", e))?;
    let relay_over: RelayOver = args
        .relay_over
        .parse()
        .map_err(|e: String| ConfigError::new("--relay-over", e))?;
    // An empty list turns implicit TLS off.
    let implicit_ports = if args.tls_ports.trim().is_empty() {
        Vec::new()
    } else {
        parse_ports(&args.tls_ports).map_err(|e| ConfigError::new("--tls-ports", e.to_string()))?
    };
    let mut probe = ProbeSettings::new(session, helo, identity);
    probe.tls = TlsSettings {
        starttls,
        relay_over,
        implicit_ports,
        client: TlsClient::new(),
    };
    probe.pipelining = !args.no_pipelining;
    probe.depth = args
        .tests
        .parse()
        .map_err(|e: String| ConfigError::new("--tests", e))?;
    Ok(probe)
}

/// An EHLO argument: a domain or an address literal, nothing that could smuggle a command.
fn validate_helo(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-.[]:".contains(c);
    if name.is_empty() || name.len() > MAX_HELO || !name.chars().all(ok_char) {
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
    fn helo_table() {
        for good in ["mx.example.org", "[192.0.2.1]", "localhost"] {
            assert!(validate_helo(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "x\r\nDATA", "name;rm"] {
            assert!(validate_helo(bad).is_err(), "{bad:?}");
        }
        assert!(validate_helo(&"a".repeat(MAX_HELO)).is_ok());
        assert!(validate_helo(&"a".repeat(MAX_HELO + 1)).is_err());
    }
}
