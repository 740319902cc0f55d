//! Fetching a domain's MTA-STS policy (RFC 8461 §3.3): the addresses of `mta-sts.DOMAIN` through the run's resolver, only those the scan may contact, then one HTTP/1.1 GET over verified TLS, bounded in bytes and time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Resolve;
use super::mta_sts::{
    MAX_HEAD_BYTES, MAX_POLICY_BYTES, StsFetch, parse_policy, policy_body, policy_host, policy_url,
};
use crate::smtp::tls::TlsClient;

/// The real port of an MTA-STS policy host.
pub const HTTPS_PORT: u16 = 443;
/// The whole fetch (connect, handshake, request, response): RFC 8461 §10.3 asks for a
/// timeout; senders commonly use a minute, a scan of many domains cannot wait that long.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// How policies are fetched: the TLS client (trust roots, `--ca-file`), the port (443
/// but in tests) and the time allowed.
#[derive(Debug, Clone)]
pub struct StsFetcher {
    pub client: TlsClient,
    pub port: u16,
    pub timeout: Duration,
}

impl StsFetcher {
    /// Fetches `domain`'s policy from the first address of `mta-sts.DOMAIN` that
    /// `may_contact` allows (the scan's scope and special-block rules). Every failure is
    /// data in `error`.
    pub async fn fetch<R: Resolve>(
        &self,
        dns: &R,
        domain: &str,
        may_contact: impl Fn(IpAddr) -> bool,
    ) -> StsFetch {
        let host = policy_host(domain);
        let mut out = StsFetch {
            url: policy_url(domain),
            ..StsFetch::default()
        };
        let ips = match dns.addresses(&host).await {
            Ok(found) => found.ips,
            Err(e) => {
                out.error = Some(format!("{host}: {e}"));
                return out;
            }
        };
        let Some(&ip) = ips.iter().find(|&&ip| may_contact(ip)) else {
            out.error = Some(format!(
                "{host} resolves only outside the authorised scope ({}); not fetched",
                super::plan::ips_text(&ips)
            ));
            return out;
        };
        out.address = Some(ip);
        let fetched = tokio::time::timeout(self.timeout, self.get(&host, ip)).await;
        match fetched {
            Ok(Ok(body)) => out.policy = Some(parse_policy(&body)),
            Ok(Err(e)) => out.error = Some(e),
            Err(_) => {
                out.error = Some(format!(
                    "no complete answer within {} s",
                    self.timeout.as_secs_f32()
                ))
            }
        }
        out
    }

    /// One GET of the well-known path on `ip`, the policy text or why not.
    async fn get(&self, host: &str, ip: IpAddr) -> Result<String, String> {
        let addr = SocketAddr::new(ip, self.port);
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let mut tls = self.client.connect_verified(Box::new(tcp), host).await?;
        let request = format!(
            "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: relayscan\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        // The head, the body, and room for chunk lines: anything longer is refused by
        // `policy_body` without reading further.
        let limit = MAX_HEAD_BYTES + MAX_POLICY_BYTES + 4096;
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        while response.len() < limit {
            match tls.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
                // A server that closes without close_notify still sent its whole answer.
                Err(_) if !response.is_empty() => break,
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        policy_body(&response).map_err(|e| e.to_string())
    }
}
