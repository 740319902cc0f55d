//! How a run resolves names, validated (built from the flags by `crate::config::dns`),
//! and the resolver those settings describe.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::Limited;
use super::hickory::HickoryResolver;
use super::sts_fetch::{FETCH_TIMEOUT, HTTPS_PORT, StsFetcher};
use crate::smtp::tls::TlsClient;

pub const DEFAULT_CONCURRENCY: usize = 32;
pub const DEFAULT_RATE: NonZeroU32 = NonZeroU32::new(200).unwrap();
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries per question (the first and one retry), each bounded by the timeout.
const ATTEMPTS: usize = 2;

/// Validated DNS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSettings {
    /// Empty: the system configuration.
    pub servers: Vec<SocketAddr>,
    pub concurrency: usize,
    pub rate: NonZeroU32,
    pub timeout: Duration,
    /// DKIM selectors asked of every mail domain (guessed: the built-in list unless
    /// `--dkim-selectors` names others).
    pub dkim_selectors: Vec<String>,
    /// `--ca-file`: its path and PEM text, certificate authorities trusted beside the
    /// Mozilla roots (the MTA-STS policy host's and the mail hosts' chains).
    pub ca_file: Option<(PathBuf, Vec<u8>)>,
    /// The port of MTA-STS policy hosts: 443, but in tests (hidden `--mta-sts-port`).
    pub mta_sts_port: u16,
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            servers: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            rate: DEFAULT_RATE,
            timeout: DEFAULT_TIMEOUT,
            dkim_selectors: super::dkim::builtin_selectors(),
            ca_file: None,
            mta_sts_port: HTTPS_PORT,
        }
    }
}

impl DnsSettings {
    /// The resolver these settings describe: hickory behind the cache and the limits.
    pub fn resolver(&self) -> Result<Limited<HickoryResolver>, String> {
        let inner = HickoryResolver::new(&self.servers, self.timeout, ATTEMPTS)?;
        Ok(Limited::new(inner, self.concurrency, self.rate))
    }

    /// The TLS client that trusts the Mozilla roots and `--ca-file`.
    pub fn tls_client(&self) -> Result<TlsClient, String> {
        match &self.ca_file {
            Some((path, pem)) => {
                TlsClient::with_extra_roots(pem, &format!("--ca-file {}", path.display()))
            }
            None => Ok(TlsClient::new()),
        }
    }

    /// How MTA-STS policies are fetched in this run.
    pub fn sts_fetcher(&self) -> Result<StsFetcher, String> {
        Ok(StsFetcher {
            client: self.tls_client()?,
            port: self.mta_sts_port,
            timeout: FETCH_TIMEOUT,
        })
    }

    /// The name servers asked, for a message: "resolver 127.0.0.1:53" or "the system
    /// resolver".
    pub fn describe(&self) -> String {
        if self.servers.is_empty() {
            return "the system resolver".into();
        }
        let servers: Vec<String> = self.servers.iter().map(|s| s.to_string()).collect();
        format!("resolver {}", servers.join(", "))
    }
}
