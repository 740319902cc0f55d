//! The lab's MTA-STS policy host (RFC 8461 §3.3): one HTTPS server, with a lab-CA certificate for `mta-sts.<domain>`, answering every request with the policy of one customer domain.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::dns::{ZONE_ORIGIN, customer_domain};
use crate::persona::Persona;
use crate::tls_server::TlsServer;

/// The persona whose customer domain publishes an MTA-STS policy. The closed server's
/// domain: its verdict is the lab's quietest, so the policy's finding stands alone.
pub const STS_POLICY_PERSONA: Persona = Persona::Closed;

/// The policy id of the `_mta-sts` TXT record (RFC 8461 §3.1: 1 to 32 letters and digits).
pub const STS_POLICY_ID: &str = "20261207lab";

/// The one MX name the policy allows: a host that is not the domain's MX, so the
/// domain's real MX is not covered (`mta-sts-mx-not-covered`) in mode enforce.
pub const STS_POLICY_MX: &str = "mx-elsewhere.lab.test";

/// The policy host of the persona's customer domain: `mta-sts.customer-closed.lab.test`.
pub fn sts_policy_host() -> String {
    format!("mta-sts.{}", customer_domain(STS_POLICY_PERSONA.name()))
}

/// The policy text served (RFC 8461 §3.2), a day's max_age.
pub fn sts_policy_text() -> String {
    debug_assert!(STS_POLICY_MX.ends_with(ZONE_ORIGIN));
    format!("version: STSv1\r\nmode: enforce\r\nmx: {STS_POLICY_MX}\r\nmax_age: 86400\r\n")
}

/// A request head is read up to 8 KiB (a GET of the well-known path is some 100 bytes),
/// within 5 s: a client that sends more, or nothing, gets no policy.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the policy over TLS on `listener` until `cancel`.
pub async fn serve_policy(listener: TcpListener, tls: TlsServer, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = timeout(REQUEST_TIMEOUT, answer(stream, tls)).await;
        });
    }
}

async fn answer(stream: tokio::net::TcpStream, tls: TlsServer) -> std::io::Result<()> {
    let mut stream = tls.accept(stream).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let body = sts_policy_text();
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_leaves_the_domains_own_mx_out() {
        let policy = sts_policy_text();
        assert!(policy.starts_with("version: STSv1\r\n"), "{policy}");
        assert!(policy.contains("mode: enforce\r\n"), "{policy}");
        let mx: Vec<&str> = policy
            .lines()
            .filter_map(|l| l.strip_prefix("mx: "))
            .collect();
        assert_eq!(mx, [STS_POLICY_MX]);
        assert!(!mx.contains(&STS_POLICY_PERSONA.hostname()));
        assert_eq!(sts_policy_host(), "mta-sts.customer-closed.lab.test");
        assert!(
            STS_POLICY_ID.len() <= 32 && STS_POLICY_ID.bytes().all(|b| b.is_ascii_alphanumeric())
        );
    }
}
