//! How a run resolves names, validated (built from the flags by `crate::config::dns`),
//! and the resolver those settings describe.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use super::Limited;
use super::hickory::HickoryResolver;

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
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            servers: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            rate: DEFAULT_RATE,
            timeout: DEFAULT_TIMEOUT,
            dkim_selectors: super::dkim::builtin_selectors(),
        }
    }
}

impl DnsSettings {
    /// The resolver these settings describe: hickory behind the cache and the limits.
    pub fn resolver(&self) -> Result<Limited<HickoryResolver>, String> {
        let inner = HickoryResolver::new(&self.servers, self.timeout, ATTEMPTS)?;
        Ok(Limited::new(inner, self.concurrency, self.rate))
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
