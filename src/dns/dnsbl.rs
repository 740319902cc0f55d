//! Asks every chosen blocklist zone about one address, through the run's paced, cached resolver.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use super::Resolve;
use super::blocklist::{Blocklist, BlocklistAnswer};

/// The zones of a run and the resolver that asks them: the run's own, shared with the
/// mail domains' lookups (one pace, one cache; see `crate::config::ScanSettings`).
pub struct Dnsbl<R> {
    resolver: Arc<R>,
    zones: Vec<Blocklist>,
}

impl<R> fmt::Debug for Dnsbl<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zones: Vec<&str> = self.zones.iter().map(|z| z.zone.as_str()).collect();
        f.debug_struct("Dnsbl").field("zones", &zones).finish()
    }
}

impl<R: Resolve> Dnsbl<R> {
    pub fn new(resolver: Arc<R>, zones: Vec<Blocklist>) -> Self {
        Dnsbl { resolver, zones }
    }

    /// Every zone's answer about `ip`, in the zones' order; zones that do not list the
    /// address's family are left out. One A question per zone: a blocklist answers codes
    /// in A records only, so AAAA is never asked, and the reason's TXT is not needed (the
    /// codes' meanings are data, `data/blocklists.toml`).
    pub async fn check(&self, ip: IpAddr) -> Vec<BlocklistAnswer> {
        let asks = self.zones.iter().filter_map(|zone| {
            let name = zone.query_name(ip)?;
            Some(async move {
                let answer = self.resolver.ipv4(&name).await;
                let answer = answer.map(|ips| ips.into_iter().map(IpAddr::V4).collect());
                BlocklistAnswer::new(zone, zone.interpret(answer))
            })
        });
        futures::future::join_all(asks).await
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::num::NonZeroU32;
    use std::sync::Mutex;

    use super::*;
    use crate::dns::blocklist::select;
    use crate::dns::{Addresses, Answer, Limited, LookupError, Mx};

    /// Answers 127.0.0.4 for every A question about 127.0.0.2 and NXDOMAIN otherwise,
    /// writing down each question it was asked.
    #[derive(Default)]
    struct Asked(Mutex<Vec<String>>);

    impl Asked {
        fn note(&self, question: String) {
            self.0.lock().unwrap().push(question);
        }
    }

    impl Resolve for Asked {
        async fn mx(&self, name: &str) -> Answer<Vec<Mx>> {
            self.note(format!("MX {name}"));
            Err(LookupError::NoRecords)
        }
        async fn addresses(&self, name: &str) -> Answer<Addresses> {
            self.note(format!("A+AAAA {name}"));
            Err(LookupError::NoRecords)
        }
        async fn ipv4(&self, name: &str) -> Answer<Vec<Ipv4Addr>> {
            self.note(format!("A {name}"));
            match name.starts_with("2.0.0.127.") {
                true => Ok(vec![Ipv4Addr::new(127, 0, 0, 4)]),
                false => Err(LookupError::NxDomain),
            }
        }
        async fn txt(&self, name: &str) -> Answer<Vec<String>> {
            self.note(format!("TXT {name}"));
            Err(LookupError::NoRecords)
        }
        async fn ptr(&self, ip: IpAddr) -> Answer<Vec<String>> {
            self.note(format!("PTR {ip}"));
            Err(LookupError::NoRecords)
        }
        async fn tlsa(&self, name: &str) -> Answer<crate::dns::dane::TlsaAnswer> {
            self.note(format!("TLSA {name}"));
            Err(LookupError::NoRecords)
        }
    }

    #[tokio::test]
    async fn one_a_question_per_zone_and_address_through_the_cache() {
        let resolver = Arc::new(Limited::new(
            Asked::default(),
            4,
            NonZeroU32::new(1000).unwrap(),
        ));
        let zones = select("spamhaus-zen=a.test,spamcop=b.test", None).unwrap();
        let dnsbl = Dnsbl::new(Arc::clone(&resolver), zones);
        let listed: IpAddr = "127.0.0.2".parse().unwrap();
        // The same address on two ports: the second check is answered by the cache.
        for _ in 0..2 {
            let statuses: Vec<String> = dnsbl
                .check(listed)
                .await
                .into_iter()
                .map(|a| format!("{} {}", a.zone, a.status))
                .collect();
            assert_eq!(statuses, ["a.test listed", "b.test listed"]);
        }
        // IPv6: only the zone whose codes list IPv6 (Spamhaus's) is asked.
        let v6 = dnsbl.check("2001:db8::1".parse().unwrap()).await;
        assert_eq!(v6.len(), 1);
        assert_eq!(
            (v6[0].zone.as_str(), v6[0].status.as_str()),
            ("a.test", "not-listed")
        );
        let mut asked = resolver_questions(&resolver);
        asked.sort();
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert!(asked.iter().all(|q| q.starts_with("A ")), "{asked:?}");
        assert_eq!(resolver.stats().cache_hits, 2);
    }

    fn resolver_questions(resolver: &Limited<Asked>) -> Vec<String> {
        resolver.inner().0.lock().unwrap().clone()
    }
}
