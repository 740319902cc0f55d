//! Host name → addresses through the system resolver (the only I/O under `target`).
//! A later issue moves this behind `crate::dns`; until then `Plan::build` stays pure by
//! taking this function's result as data.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::address::canonical;

/// Resolves each distinct name once, at most `concurrency` at a time, each bounded by
/// `timeout`. Every name gets an entry: its addresses (in canonical form, deduplicated,
/// in resolver order) or why it has none.
pub async fn resolve_names(
    names: Vec<String>,
    concurrency: usize,
    timeout: Duration,
) -> HashMap<String, Result<Vec<IpAddr>, String>> {
    let mut seen = HashSet::new();
    let unique: Vec<String> = names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect();
    stream::iter(unique)
        .map(|name| async move {
            let result = lookup(&name, timeout).await;
            (name, result)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

async fn lookup(name: &str, timeout: Duration) -> Result<Vec<IpAddr>, String> {
    // Port 0 is a placeholder: lookup_host wants a socket address, we keep only the IP.
    let addrs = match tokio::time::timeout(timeout, tokio::net::lookup_host((name, 0))).await {
        Err(_) => return Err(format!("lookup timed out after {timeout:?}")),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(addrs)) => addrs,
    };
    let mut seen = HashSet::new();
    let ips: Vec<IpAddr> = addrs
        .map(|sa| canonical(sa.ip()))
        .filter(|ip| seen.insert(*ip))
        .collect();
    if ips.is_empty() {
        Err("no addresses".to_string())
    } else {
        Ok(ips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IP literals are parsed by tokio's lookup_host itself and never reach the system
    // resolver, so these exercise deduplication and the result shape without any DNS.
    #[tokio::test]
    async fn literals_deduplicated_without_dns() {
        let names = [
            "127.0.0.1",
            "::1",
            "127.0.0.1",
            "192.0.2.1",
            "::ffff:192.0.2.9",
        ]
        .map(String::from)
        .to_vec();
        let got = resolve_names(names, 0, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 4);
        assert_eq!(
            got["::ffff:192.0.2.9"],
            Ok(vec!["192.0.2.9".parse().unwrap()])
        );
        assert_eq!(got["127.0.0.1"], Ok(vec!["127.0.0.1".parse().unwrap()]));
        assert_eq!(got["::1"], Ok(vec!["::1".parse().unwrap()]));
        assert_eq!(got["192.0.2.1"], Ok(vec!["192.0.2.1".parse().unwrap()]));
    }
}
