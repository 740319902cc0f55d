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

/// `--rcpt-to` when none is given: a documentation domain (RFC 2606), fine on a lab, but
/// it tells a real server's admin nothing about who is testing.
pub const DEFAULT_RCPT_TO: &str = "relaytest@example.com";

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

/// Whether `name` reads as a fully qualified domain name, as RFC 5321 §4.1.1.1 asks of
/// EHLO: two labels or more, none empty, a last label that is not all digits (an address
/// is not a name), and not a local-only name (localhost, .localdomain, .local).
pub fn is_fully_qualified(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let local_only = [
        "localhost",
        "localdomain",
        "local",
        "lan",
        "home",
        "internal",
    ];
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && labels
            .last()
            .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()) && !local_only.contains(l))
        && labels[0] != "localhost"
}

/// The one warning about the probe's identity, when the scan reaches beyond loopback
/// with the default recipient or a hello name that is not fully qualified: the admins of
/// the servers see both in their logs and cannot tell who tested them.
pub fn identity_warning(leaves_loopback: bool, rcpt_to: &str, helo: &str) -> Option<String> {
    if !leaves_loopback {
        return None;
    }
    let mut problems = Vec::new();
    if rcpt_to.eq_ignore_ascii_case(DEFAULT_RCPT_TO) {
        problems.push(format!(
            "--rcpt-to is the default {DEFAULT_RCPT_TO} (use a mailbox at a domain you control)"
        ));
    }
    if !is_fully_qualified(helo) {
        problems.push(format!(
            "--helo {helo:?} is not a fully qualified domain name (use this host's name in DNS)"
        ));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "relayscan: warning: this scan reaches beyond loopback and {}; the servers' admins \
             see these in their logs (set them once in relayscan.toml or RELAYSCAN_RCPT_TO / \
             RELAYSCAN_HELO)",
            problems.join(", and ")
        )
    })
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

    #[test]
    fn identity_warning_table() {
        let fqdn = "scanner.example.net";
        let table: [(bool, &str, &str, Option<&[&str]>); 9] = [
            // Loopback: never a warning, whatever the identity.
            (false, DEFAULT_RCPT_TO, "myhost", None),
            (true, "probe@example.net", fqdn, None),
            (
                true,
                DEFAULT_RCPT_TO,
                fqdn,
                Some(&["--rcpt-to is the default"]),
            ),
            (
                true,
                "RelayTest@Example.COM",
                fqdn,
                Some(&["--rcpt-to is the default"]),
            ),
            (
                true,
                "probe@example.net",
                "myhost",
                Some(&["--helo \"myhost\" is not"]),
            ),
            (
                true,
                DEFAULT_RCPT_TO,
                "localhost",
                Some(&["--rcpt-to is the default", ", and --helo \"localhost\""]),
            ),
            (true, "p@example.net", "box.localdomain", Some(&["--helo"])),
            (true, "p@example.net", "192.0.2.1", Some(&["--helo"])),
            (true, "p@example.net", "scanner.example.net.", None),
        ];
        for (leaves, rcpt, helo, want) in table {
            let got = identity_warning(leaves, rcpt, helo);
            match (got, want) {
                (None, None) => {}
                (Some(text), Some(parts)) => {
                    assert!(text.starts_with("relayscan: warning: "), "{text}");
                    for part in parts {
                        assert!(text.contains(part), "{rcpt} {helo}: {text}");
                    }
                }
                (got, want) => panic!("{leaves} {rcpt} {helo}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn fully_qualified_table() {
        for (name, want) in [
            ("scanner.example.net", true),
            ("mx1.example.co.uk.", true),
            ("myhost", false),
            ("localhost", false),
            ("localhost.example.net", false),
            ("box.localdomain", false),
            ("printer.local", false),
            ("a..b", false),
            ("10.0.0.1", false),
            ("", false),
        ] {
            assert_eq!(is_fully_qualified(name), want, "{name}");
        }
    }
}
