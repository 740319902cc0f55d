//! The hostile lab's network side: one loopback listener per misbehaving host, one task per connection, prompt shutdown.
//!
//! What each host sends is decided in `hostile.rs`; this file only paces the bytes
//! (trickles, floods, one-byte writes) and ends connections the rude way when asked to.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnetwork::Ipv4Network;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use crate::hostile::Misbehaviour;
use crate::lines::{Line, LineReader, MAX_LINE};
use crate::persona::Persona;
use crate::server::{LabError, bind_all, plan_hosts};

/// The tarpit's pace.
const TRICKLE: Duration = Duration::from_secs(1);
/// The endless multi-line reply's pace: fast enough to reach any line cap soon.
const LINE_PACE: Duration = Duration::from_millis(5);
/// Pause between the bytes of a one-byte-writes reply, so each is its own segment.
const BYTE_PACE: Duration = Duration::from_millis(1);

/// A running hostile lab; dropping it stops every listener and connection.
#[derive(Debug)]
pub struct HostileLab {
    hosts: Vec<(SocketAddr, Misbehaviour)>,
    port: u16,
    cancel: CancellationToken,
}

impl HostileLab {
    /// One host per misbehaviour, from the network address + 1, all on `port` (0: a free one).
    pub async fn start(bind: Ipv4Network, port: u16) -> Result<HostileLab, LabError> {
        // The same loopback-only and size checks as the ordinary lab.
        let plan = plan_hosts(bind, &[Persona::Closed], Misbehaviour::ALL.len())?;
        let ips: Vec<_> = plan.iter().map(|&(ip, _)| ip).collect();
        let (listeners, port) = bind_all(&ips, port)?;
        let cancel = CancellationToken::new();
        let mut hosts = Vec::with_capacity(ips.len());
        for ((ip, listener), m) in ips.into_iter().zip(listeners).zip(Misbehaviour::ALL) {
            hosts.push((SocketAddr::new(IpAddr::V4(ip), port), m));
            tokio::spawn(accept_loop(listener, m, cancel.clone()));
        }
        Ok(HostileLab {
            hosts,
            port,
            cancel,
        })
    }

    pub fn hosts(&self) -> &[(SocketAddr, Misbehaviour)] {
        &self.hosts
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A table of the hosts: ADDRESS, BEHAVIOUR, EXPECTED STATUS/VERDICT, DESCRIPTION.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (addr, m) in &self.hosts {
            let e = m.designed();
            out.push_str(&format!(
                "{:<22} {:<19} {:<15} {:<13} {}\n",
                addr.to_string(),
                m.name(),
                e.status.to_string(),
                e.verdict.to_string(),
                m.description()
            ));
        }
        out
    }
}

impl Drop for HostileLab {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn accept_loop(listener: TcpListener, m: Misbehaviour, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => r,
        };
        let Ok((stream, _)) = accepted else {
            // Out of descriptors, most likely: wait rather than spin.
            sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = serve(&mut stream, m) => {}
            }
        });
    }
}

/// One connection. Errors just end it: the client going away is the normal end.
async fn serve(stream: &mut TcpStream, m: Misbehaviour) -> std::io::Result<()> {
    match m {
        Misbehaviour::Tarpit => {
            for &byte in m.greeting().iter().cycle() {
                stream.write_all(&[byte]).await?;
                sleep(TRICKLE).await;
            }
            Ok(())
        }
        Misbehaviour::Silent => drain(stream).await,
        Misbehaviour::HugeLine | Misbehaviour::BinaryGarbage => {
            stream.write_all(&m.greeting()).await?;
            drain(stream).await
        }
        Misbehaviour::NeverStops => {
            let flood = "250 2.0.0 nobody asked\r\n".repeat(256);
            // The greeting and the first flood in one write: the flood is there before
            // the client can speak, every time. Written apart, a client that read the
            // greeting alone sent EHLO and took a flood line for its reply (a STARTTLS
            // finding in some runs and not in others).
            let mut first = m.greeting();
            first.extend_from_slice(flood.as_bytes());
            stream.write_all(&first).await?;
            loop {
                stream.write_all(flood.as_bytes()).await?;
            }
        }
        _ => {
            stream.write_all(&m.greeting()).await?;
            dialogue(stream, m).await
        }
    }
}

/// Reads and drops whatever the client sends until it closes.
async fn drain(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_LINE];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

/// Command lines in, the misbehaviour's replies out.
async fn dialogue(stream: &mut TcpStream, m: Misbehaviour) -> std::io::Result<()> {
    let mut reader = LineReader::new();
    let mut buf = vec![0u8; MAX_LINE];
    loop {
        while let Some(line) = reader.next_line() {
            let text = match line {
                Line::Text(text) => text,
                Line::TooLong => std::borrow::Cow::Borrowed(""),
            };
            if m == Misbehaviour::EndlessMultiline && text.to_ascii_uppercase().starts_with("EHLO")
            {
                stream
                    .write_all(format!("250-{}\r\n", m.hostname()).as_bytes())
                    .await?;
                loop {
                    stream.write_all(b"250-AND-ONE-MORE\r\n").await?;
                    sleep(LINE_PACE).await;
                }
            }
            let Some(reply) = m.reply(&text) else {
                // A reset, not a close: the client sees ECONNRESET.
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                return Ok(());
            };
            if m == Misbehaviour::OneByteWrites {
                for byte in reply {
                    stream.write_all(&[byte]).await?;
                    sleep(BYTE_PACE).await;
                }
            } else {
                stream.write_all(&reply).await?;
            }
            if m.closes_after(&text) {
                stream.shutdown().await?;
                return drain(stream).await;
            }
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        reader.push(buf.get(..n).unwrap_or_default());
    }
}
