//! DNS for mail domains: the resolver interface, its answers and errors, and what is built on it (MX routing, domain posture, PTR).
//!
//! Only [`hickory`] talks to the DNS library; everything else sees the [`Resolve`] trait,
//! whose answers are plain data. Lookup failures are data too ([`LookupError`]): a
//! domain whose DNS times out is a result to report, never a reason to stop a scan.

pub mod blocklist;
pub mod dane;
pub mod dkim;
pub mod dnsbl;
pub mod domain;
pub mod hickory;
pub mod limited;
pub mod mta_sts;
pub mod mx;
pub mod org_domain;
pub mod plan;
pub mod policy;
pub mod settings;
pub mod spf_tree;
pub mod sts_fetch;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::target::canonical;

pub use domain::{DomainResolution, MailHost, MailRoute, PtrCheck, resolve_domain};
pub use limited::{DnsStats, Limited};
pub use settings::DnsSettings;

/// Why a lookup gave no records. The variants stay distinct because they mean different
/// things to a domain owner: NXDOMAIN is "the name does not exist", `NoRecords` is "the
/// name exists, without records of this type", SERVFAIL is "the DNS is broken", a
/// timeout is "nobody answered".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum LookupError {
    NxDomain,
    NoRecords,
    ServFail,
    Refused,
    Timeout,
    /// Anything else (a malformed answer, a network error), with the library's words.
    Other(String),
}

impl LookupError {
    /// The short, stable name used in reports: `nxdomain`, `no-records`, `servfail`,
    /// `refused`, `timeout`, `error`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LookupError::NxDomain => "nxdomain",
            LookupError::NoRecords => "no-records",
            LookupError::ServFail => "servfail",
            LookupError::Refused => "refused",
            LookupError::Timeout => "timeout",
            LookupError::Other(_) => "error",
        }
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NxDomain => f.write_str("NXDOMAIN (the name does not exist)"),
            LookupError::NoRecords => f.write_str("no records of that type"),
            LookupError::ServFail => f.write_str("SERVFAIL (the name server failed)"),
            LookupError::Refused => f.write_str("REFUSED by the name server"),
            LookupError::Timeout => f.write_str("timed out (no name server answered)"),
            LookupError::Other(e) => write!(f, "lookup failed: {e}"),
        }
    }
}

/// The result of one lookup.
pub type Answer<T> = Result<T, LookupError>;

/// One MX record. `exchange` is lowercased without its trailing dot; the root (`.`, a
/// null MX) is the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mx {
    pub preference: u16,
    pub exchange: String,
}

/// The addresses of a name (A and AAAA together).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addresses {
    /// IPv4 first, then IPv6, each in answer order, without duplicates.
    pub ips: Vec<IpAddr>,
    /// The name was an alias (CNAME) for this one.
    pub cname: Option<String>,
}

/// What relayscan asks of DNS. Implemented by the hickory resolver and by the
/// caching, rate-limited wrapper around it; tests of the logic above use a table.
pub trait Resolve: Send + Sync {
    /// MX records of `name`.
    fn mx(&self, name: &str) -> impl Future<Output = Answer<Vec<Mx>>> + Send;
    /// A and AAAA records of `name` (an error only when neither gave an address).
    fn addresses(&self, name: &str) -> impl Future<Output = Answer<Addresses>> + Send;
    /// A records of `name` alone: what a DNS blocklist answers with (its AAAA is never a
    /// code), one question where [`Resolve::addresses`] asks two. The default asks both
    /// and keeps the IPv4 addresses; the resolvers that send queries override it.
    fn ipv4(&self, name: &str) -> impl Future<Output = Answer<Vec<Ipv4Addr>>> + Send {
        async move {
            let addresses = self.addresses(name).await?;
            Ok(addresses
                .ips
                .into_iter()
                .filter_map(|ip| match ip {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                })
                .collect())
        }
    }
    /// TXT records of `name`, each with its strings joined as RFC 7208 §3.3 says
    /// (no separator).
    fn txt(&self, name: &str) -> impl Future<Output = Answer<Vec<String>>> + Send;
    /// PTR names of `ip`, lowercased without the trailing dot.
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Answer<Vec<String>>> + Send;
    /// TLSA records of `name` (`_25._tcp.mx.example.com`), with the resolver's AD bit.
    fn tlsa(&self, name: &str) -> impl Future<Output = Answer<dane::TlsaAnswer>> + Send;
}

/// A domain name as relayscan compares it: lowercase, no trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Combines the A and AAAA answers of one name: any address wins; otherwise the
/// more telling error (NXDOMAIN, then SERVFAIL/timeouts, then "no records"). Every
/// address comes out in canonical form (an AAAA of `::ffff:192.0.2.1` is 192.0.2.1, see
/// `crate::target::address`), once, in answer order (A first).
pub fn combine_addresses(v4: Answer<Addresses>, v6: Answer<Addresses>) -> Answer<Addresses> {
    let (a, b) = match (v4, v6) {
        (Ok(a), Ok(b)) => (a, b),
        (Ok(a), Err(_)) | (Err(_), Ok(a)) if !a.ips.is_empty() => (a, Addresses::default()),
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => return Err(e),
        (Err(a), Err(b)) => return Err(worse(a, b)),
    };
    let mut ips: Vec<IpAddr> = Vec::new();
    for ip in a.ips.into_iter().chain(b.ips).map(canonical) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if ips.is_empty() {
        return Err(LookupError::NoRecords);
    }
    Ok(Addresses {
        ips,
        cname: a.cname.or(b.cname),
    })
}

/// The error that says more: NXDOMAIN (authoritative) over failures over "no records".
fn worse(a: LookupError, b: LookupError) -> LookupError {
    let rank = |e: &LookupError| match e {
        LookupError::NxDomain => 0,
        LookupError::ServFail => 1,
        LookupError::Refused => 2,
        LookupError::Timeout => 3,
        LookupError::Other(_) => 4,
        LookupError::NoRecords => 5,
    };
    if rank(&b) < rank(&a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Addresses {
        Addresses {
            ips: list.iter().map(|s| s.parse().unwrap()).collect(),
            cname: None,
        }
    }

    #[test]
    fn combining_a_and_aaaa() {
        use LookupError::*;
        type Case = (
            Answer<Addresses>,
            Answer<Addresses>,
            Answer<Vec<&'static str>>,
        );
        let table: Vec<Case> = vec![
            (
                Ok(ips(&["192.0.2.1"])),
                Ok(ips(&["2001:db8::1"])),
                Ok(vec!["192.0.2.1", "2001:db8::1"]),
            ),
            (
                Ok(ips(&["192.0.2.1"])),
                Err(NoRecords),
                Ok(vec!["192.0.2.1"]),
            ),
            (
                Err(Timeout),
                Ok(ips(&["2001:db8::1"])),
                Ok(vec!["2001:db8::1"]),
            ),
            (Err(NoRecords), Err(NoRecords), Err(NoRecords)),
            (Err(NoRecords), Err(NxDomain), Err(NxDomain)),
            (Err(Timeout), Err(NoRecords), Err(Timeout)),
            (Err(Timeout), Err(ServFail), Err(ServFail)),
            (Ok(ips(&[])), Err(Timeout), Err(Timeout)),
            (Ok(ips(&[])), Ok(ips(&[])), Err(NoRecords)),
            (
                Ok(ips(&["192.0.2.1"])),
                Ok(ips(&["192.0.2.1"])),
                Ok(vec!["192.0.2.1"]),
            ),
            // An AAAA that spells an IPv4 address is that address, once.
            (
                Ok(ips(&["192.0.2.1"])),
                Ok(ips(&[
                    "::ffff:192.0.2.1",
                    "::ffff:127.0.5.21",
                    "2001:db8::1",
                ])),
                Ok(vec!["192.0.2.1", "127.0.5.21", "2001:db8::1"]),
            ),
            (
                Err(NoRecords),
                Ok(ips(&["::ffff:0.0.0.0", "::ffff:0.0.0.0"])),
                Ok(vec!["0.0.0.0"]),
            ),
        ];
        for (v4, v6, want) in table {
            let got = combine_addresses(v4.clone(), v6.clone())
                .map(|a| a.ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>());
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{v4:?} + {v6:?}");
        }
    }

    #[test]
    fn error_names_are_distinct() {
        use LookupError::*;
        let all = [
            NxDomain,
            NoRecords,
            ServFail,
            Refused,
            Timeout,
            Other("x".into()),
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), all.len());
        assert_eq!(normalize_name("MX.Example.COM."), "mx.example.com");
    }
}
