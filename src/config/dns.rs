//! DNS flags: `--resolver IP[:PORT]` (repeatable), `--dns-concurrency`, `--dns-rate`, `--dns-timeout`, `--dkim-selectors`.

use std::net::{IpAddr, SocketAddr};

use super::{ConfigError, at_least_one, parse_duration};
use crate::cli::DnsArgs;
use crate::dns::DnsSettings;
use crate::dns::settings::{DEFAULT_CONCURRENCY, DEFAULT_RATE, DEFAULT_TIMEOUT};
use crate::dns::sts_fetch::HTTPS_PORT;

/// `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address; port 53 when none is given.
pub fn parse_resolver(text: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        ConfigError::named(
            "--resolver",
            format!("--resolver {text:?}: expected an IP address, IP:PORT or [IPv6]:PORT"),
        )
    })
}

/// The largest `--ca-file` read: 4 MiB, some twenty times Debian's whole CA bundle
/// (about 200 KiB).
const CA_FILE_CAP: u64 = 4 * 1024 * 1024;

/// Validates the DNS flags; unset ones take the library's defaults.
pub fn from_args(args: &DnsArgs) -> Result<DnsSettings, ConfigError> {
    let servers = args
        .resolver
        .iter()
        .map(|r| parse_resolver(r))
        .collect::<Result<Vec<_>, _>>()?;
    let concurrency = match args.dns_concurrency {
        Some(0) => return Err(ConfigError::new("--dns-concurrency", "must be at least 1")),
        Some(n) => n,
        None => DEFAULT_CONCURRENCY,
    };
    let rate = match args.dns_rate {
        Some(n) => at_least_one("--dns-rate", n)?,
        None => DEFAULT_RATE,
    };
    let timeout = match &args.dns_timeout {
        Some(text) => parse_duration(text).map_err(|e| ConfigError::new("--dns-timeout", e))?,
        None => DEFAULT_TIMEOUT,
    };
    if timeout.is_zero() {
        return Err(ConfigError::new("--dns-timeout", "must be longer than 0"));
    }
    let dkim_selectors = match &args.dkim_selectors {
        Some(spec) => crate::dns::dkim::parse_selectors(spec)
            .map_err(|e| ConfigError::named("--dkim-selectors", e))?,
        None => crate::dns::dkim::builtin_selectors(),
    };
    let ca_file = match &args.ca_file {
        Some(path) => {
            let pem = crate::input::read_text(path, CA_FILE_CAP).map_err(|e| {
                ConfigError::new("--ca-file", format!("cannot read {}: {e}", path.display()))
            })?;
            Some((path.clone(), pem.into_bytes()))
        }
        None => None,
    };
    let settings = DnsSettings {
        servers,
        concurrency,
        rate,
        timeout,
        dkim_selectors,
        ca_file,
        mta_sts_port: args.mta_sts_port.unwrap_or(HTTPS_PORT),
    };
    // A file that holds no usable certificate is refused now, before any traffic.
    settings
        .tls_client()
        .map_err(|e| ConfigError::named("--ca-file", e))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn resolver_forms() {
        let table = [
            ("127.0.0.1", Ok("127.0.0.1:53")),
            ("127.0.80.1:5353", Ok("127.0.80.1:5353")),
            ("::1", Ok("[::1]:53")),
            ("[::1]:5353", Ok("[::1]:5353")),
            ("dns.example", Err("--resolver \"dns.example\"")),
            ("127.0.0.1:99999", Err("expected an IP address")),
        ];
        for (text, want) in table {
            match (parse_resolver(text), want) {
                (Ok(got), Ok(w)) => assert_eq!(got.to_string(), w, "{text}"),
                (Err(e), Err(w)) => {
                    assert!(e.to_string().contains(w), "{text}: {e}");
                    assert_eq!(e.flag, "--resolver");
                }
                (got, w) => panic!("{text}: {got:?} vs {w:?}"),
            }
        }
    }

    #[test]
    fn flags_and_defaults() {
        let d = from_args(&DnsArgs::default()).unwrap();
        assert_eq!(d, DnsSettings::default());
        let args = DnsArgs {
            resolver: vec!["127.0.80.1:5353".into(), "127.0.80.2".into()],
            dns_concurrency: Some(4),
            dns_rate: Some(50),
            dns_timeout: Some("500ms".into()),
            dkim_selectors: Some("s2024,mail".into()),
            ca_file: None,
            mta_sts_port: Some(8443),
        };
        let d = from_args(&args).unwrap();
        assert_eq!(d.mta_sts_port, 8443);
        assert_eq!(d.servers.len(), 2);
        assert_eq!(d.dkim_selectors, ["s2024", "mail"]);
        assert_eq!(
            (d.concurrency, d.rate.get(), d.timeout),
            (4, 50, Duration::from_millis(500))
        );
        let bad = |args: DnsArgs| from_args(&args).unwrap_err().to_string();
        // --ca-file: unreadable, and readable without a certificate.
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        for (path, want) in [
            (dir.path().join("absent.pem"), "--ca-file: cannot read"),
            (empty.clone(), "holds no PEM certificate"),
        ] {
            let got = bad(DnsArgs {
                ca_file: Some(path),
                ..DnsArgs::default()
            });
            assert!(got.contains(want), "{got}");
        }
        let table = [
            (
                DnsArgs {
                    dns_concurrency: Some(0),
                    ..DnsArgs::default()
                },
                "--dns-concurrency: must be at least 1",
            ),
            (
                DnsArgs {
                    dns_rate: Some(0),
                    ..DnsArgs::default()
                },
                "--dns-rate: must be at least 1",
            ),
            (
                DnsArgs {
                    dns_timeout: Some("soon".into()),
                    ..DnsArgs::default()
                },
                "--dns-timeout: \"soon\" is not a duration (examples: 500ms, 5s, 2m)",
            ),
            (
                DnsArgs {
                    dns_timeout: Some("0s".into()),
                    ..DnsArgs::default()
                },
                "--dns-timeout: must be longer than 0",
            ),
            (
                DnsArgs {
                    dkim_selectors: Some("a_b".into()),
                    ..DnsArgs::default()
                },
                "--dkim-selectors \"a_b\": \"a_b\" is not a DKIM selector (letters, digits, inner '-', dot-separated labels)",
            ),
        ];
        for (args, want) in table {
            assert_eq!(bad(args), want);
        }
    }
}
