//! DNS flags turned into settings: `--resolver IP[:PORT]` (repeatable), `--dns-concurrency`, `--dns-rate`, `--dns-timeout`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Serialize;

use super::hickory::HickoryResolver;
use super::{DnsOptions, Limited};
use crate::cli::DnsArgs;
use crate::config::parse_duration;

pub const DEFAULT_CONCURRENCY: usize = 32;
pub const DEFAULT_RATE: u32 = 200;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries per question (the first and one retry), each bounded by the timeout.
const ATTEMPTS: usize = 2;

/// Validated DNS settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsSettings {
    /// Empty: the system configuration.
    pub servers: Vec<SocketAddr>,
    pub concurrency: usize,
    pub rate: NonZeroU32,
    #[serde(serialize_with = "as_ms")]
    pub timeout: Duration,
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            servers: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            rate: NonZeroU32::new(DEFAULT_RATE).unwrap_or(NonZeroU32::MIN),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address; port 53 when none is given.
pub fn parse_resolver(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("--resolver {text:?}: expected an IP address, IP:PORT or [IPv6]:PORT"))
}

impl DnsSettings {
    /// Validates the flags; errors name the flag.
    pub fn from_args(args: &DnsArgs) -> Result<DnsSettings, String> {
        let servers = args
            .resolver
            .iter()
            .map(|r| parse_resolver(r))
            .collect::<Result<Vec<_>, _>>()?;
        let concurrency = match args.dns_concurrency {
            Some(0) => return Err("--dns-concurrency: must be at least 1".into()),
            Some(n) => n,
            None => DEFAULT_CONCURRENCY,
        };
        let rate = NonZeroU32::new(args.dns_rate.unwrap_or(DEFAULT_RATE))
            .ok_or("--dns-rate: must be at least 1")?;
        let timeout = match &args.dns_timeout {
            Some(text) => parse_duration(text).map_err(|e| format!("--dns-timeout: {e}"))?,
            None => DEFAULT_TIMEOUT,
        };
        if timeout.is_zero() {
            return Err("--dns-timeout: must be longer than 0".into());
        }
        Ok(DnsSettings {
            servers,
            concurrency,
            rate,
            timeout,
        })
    }

    /// The resolver these settings describe: hickory behind the cache and the limits.
    pub fn resolver(&self) -> Result<Limited<HickoryResolver>, String> {
        let inner = HickoryResolver::new(&self.servers, self.timeout, ATTEMPTS)?;
        Ok(Limited::new(
            inner,
            DnsOptions {
                concurrency: self.concurrency,
                rate: self.rate,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
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
                (Err(e), Err(w)) => assert!(e.contains(w), "{text}: {e}"),
                (got, w) => panic!("{text}: {got:?} vs {w:?}"),
            }
        }
    }

    #[test]
    fn flags_and_defaults() {
        let d = DnsSettings::from_args(&DnsArgs::default()).unwrap();
        assert_eq!(d, DnsSettings::default());
        let args = DnsArgs {
            resolver: vec!["127.0.80.1:5353".into(), "127.0.80.2".into()],
            dns_concurrency: Some(4),
            dns_rate: Some(50),
            dns_timeout: Some("500ms".into()),
        };
        let d = DnsSettings::from_args(&args).unwrap();
        assert_eq!(d.servers.len(), 2);
        assert_eq!(
            (d.concurrency, d.rate.get(), d.timeout),
            (4, 50, Duration::from_millis(500))
        );
        for (bad, want) in [
            (
                DnsArgs {
                    dns_concurrency: Some(0),
                    ..DnsArgs::default()
                },
                "--dns-concurrency",
            ),
            (
                DnsArgs {
                    dns_rate: Some(0),
                    ..DnsArgs::default()
                },
                "--dns-rate",
            ),
            (
                DnsArgs {
                    dns_timeout: Some("soon".into()),
                    ..DnsArgs::default()
                },
                "--dns-timeout",
            ),
            (
                DnsArgs {
                    dns_timeout: Some("0s".into()),
                    ..DnsArgs::default()
                },
                "--dns-timeout",
            ),
        ] {
            let e = DnsSettings::from_args(&bad).unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
    }
}
