//! Asks every chosen blocklist zone about one address, through the run's paced, cached resolver.

use std::fmt;
use std::net::IpAddr;

use super::Resolve;
use super::blocklist::{Blocklist, BlocklistAnswer};

/// The zones of a run and the resolver that asks them.
pub struct Dnsbl<R> {
    resolver: R,
    zones: Vec<Blocklist>,
}

impl<R> fmt::Debug for Dnsbl<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zones: Vec<&str> = self.zones.iter().map(|z| z.zone.as_str()).collect();
        f.debug_struct("Dnsbl").field("zones", &zones).finish()
    }
}

impl<R: Resolve> Dnsbl<R> {
    pub fn new(resolver: R, zones: Vec<Blocklist>) -> Self {
        Dnsbl { resolver, zones }
    }

    /// Every zone's answer about `ip`, in the zones' order; zones that do not list the
    /// address's family are left out.
    pub async fn check(&self, ip: IpAddr) -> Vec<BlocklistAnswer> {
        let asks = self.zones.iter().filter_map(|zone| {
            let name = zone.query_name(ip)?;
            Some(async move {
                // Only A answers carry codes; an AAAA at a DNSBL name is no listing.
                let answer = self.resolver.addresses(&name).await;
                let answer = answer.map(|a| a.ips.into_iter().filter(IpAddr::is_ipv4).collect());
                BlocklistAnswer::new(zone, zone.interpret(answer))
            })
        });
        futures::future::join_all(asks).await
    }
}
