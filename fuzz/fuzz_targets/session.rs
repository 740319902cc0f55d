//! Fuzz target: a whole probe against a loopback server that answers with arbitrary bytes; it must end, stay within its caps, never send DATA, and never call an open relay on a RCPT reply that is not its own.
//!
//! The input is cut at every 0xFE byte into chunks: chunk 0 is sent on connect, and each
//! later chunk when a read from the client holds a line, never unprompted: so every byte
//! the server sends is an answer to what it had received by then, and the log of each
//! connection says which client lines came before which server bytes. After the last
//! chunk the server closes. A failed TLS handshake (or a rerun) makes the probe connect
//! again: the server goes on with the chunks left on the new connection.
//!
//! The oracle for open relay: every attempt counted as relayed must have, on some
//! connection, a RCPT line whose own reply is the 2xx the record holds. Its own reply is
//! the one that answers that line in order (RFC 2920: the n-th reply after the greeting
//! answers the n-th command) and was sent after the line arrived; in a rerun one command
//! at a time, where replies nobody asked for are set aside, it is a reply sent after the
//! line arrived and before the next one did.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use relayscan::assess::{Verdict, assess_outcome};
use relayscan::probe::relay::Identity;
use relayscan::probe::{Outcome, ProbeSettings, RelayAttempt, probe};
use relayscan::smtp::{Direction, Reply, ReplyLimits, SessionSettings, parse_reply};
use relayscan::target::Endpoint;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

/// Client bytes kept per connection: far more than the 16 tests ever send.
const CLIENT_CAP: usize = 256 * 1024;
const TRANSCRIPT_CAP: usize = 16 * 1024;
const HOST_TIMEOUT: Duration = Duration::from_secs(3);

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn settings() -> &'static ProbeSettings {
    static SETTINGS: OnceLock<ProbeSettings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let session = SessionSettings {
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_millis(300),
            host_timeout: HOST_TIMEOUT,
            transcript_cap: TRANSCRIPT_CAP,
            ..SessionSettings::default()
        };
        let identity = Identity::new("antispam@example.com", "relaytest@example.com")
            .expect("a valid identity");
        ProbeSettings::new(session, "fuzz.relayscan.test".into(), identity)
    })
}

/// One connection as the server saw it.
#[derive(Default)]
struct Connection {
    /// Everything the client sent (capped).
    client: Vec<u8>,
    /// Each chunk sent, with how many complete client lines had arrived before it.
    sent: Vec<(Vec<u8>, usize)>,
}

impl Connection {
    fn lines_in(&self) -> usize {
        self.client.iter().filter(|&&b| b == b'\n').count()
    }

    /// The client's lines, without CRLF.
    fn lines(&self) -> Vec<&[u8]> {
        let mut lines: Vec<&[u8]> = self.client.split(|&b| b == b'\n').collect();
        lines.pop(); // the part after the last newline is no line
        lines
            .into_iter()
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .collect()
    }

    /// The server's replies in order (the greeting first), each with how many client
    /// lines had arrived when its last byte went out; up to the first bytes that are
    /// not a reply.
    fn replies(&self) -> Vec<(Reply, usize)> {
        let mut stream = Vec::new();
        let mut ends = Vec::new();
        for (chunk, lines) in &self.sent {
            stream.extend_from_slice(chunk);
            ends.push((stream.len(), *lines));
        }
        let limits = ReplyLimits::default();
        let mut out = Vec::new();
        let mut at = 0;
        while let Ok(Some((reply, used))) = parse_reply(stream.get(at..).unwrap_or_default(), &limits) {
            at += used;
            let lines = ends
                .iter()
                .find(|&&(end, _)| end >= at)
                .map_or(usize::MAX, |&(_, lines)| lines);
            out.push((reply, lines));
        }
        out
    }
}

/// Serves the chunks over as many connections as the probe opens, logging each. Aborted
/// once the probe has ended.
async fn serve(listener: TcpListener, chunks: Vec<Vec<u8>>, log: Arc<Mutex<Vec<Connection>>>) {
    let mut chunks = chunks.into_iter();
    while let Ok(Ok((mut stream, _))) = tokio::time::timeout(HOST_TIMEOUT, listener.accept()).await
    {
        let index = {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            log.push(Connection::default());
            log.len() - 1
        };
        let record = |f: &mut dyn FnMut(&mut Connection)| {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = log.get_mut(index) {
                f(c);
            }
        };
        let mut buf = [0u8; 4096];
        let mut first = true;
        'chunks: for chunk in chunks.by_ref() {
            // Chunk 0 on connect; every later one only once a line has come in.
            if !first {
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break 'chunks,
                        Ok(n) => {
                            let got = &buf[..n];
                            record(&mut |c| {
                                if c.client.len() < CLIENT_CAP {
                                    c.client.extend_from_slice(got);
                                }
                            });
                            if got.contains(&b'\n') {
                                break;
                            }
                        }
                    }
                }
            }
            first = false;
            record(&mut |c| {
                let lines = c.lines_in();
                c.sent.push((chunk.clone(), lines));
            });
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
        // Out of chunks on this connection: take what the client still says, then close.
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            let got = buf[..n].to_vec();
            record(&mut |c| {
                if c.client.len() < CLIENT_CAP {
                    c.client.extend_from_slice(&got);
                }
            });
        }
        if chunks.len() == 0 {
            break;
        }
    }
}

/// Whether `attempt`'s recorded RCPT reply is, on some connection, the reply of its own
/// RCPT line: in order when `in_order`, else sent between that line and the next.
fn has_its_own_reply(attempt: &RelayAttempt, log: &[Connection], in_order: bool) -> bool {
    let Some(recorded) = &attempt.rcpt else {
        return false;
    };
    let mail = format!("MAIL FROM:{}", attempt.mail_from);
    let rcpt = format!("RCPT TO:{}", attempt.rcpt_to);
    log.iter().any(|c| {
        let lines = c.lines();
        let replies = c.replies();
        lines.iter().enumerate().any(|(k, line)| {
            if *line != rcpt.as_bytes() {
                return false;
            }
            let sender = lines[..k].iter().rev().find(|l| l.starts_with(b"MAIL FROM:"));
            if sender != Some(&mail.as_bytes()) {
                return false;
            }
            // Lines 0..=k had arrived: the reply was sent after its command.
            let after = |sent_after: usize| sent_after > k;
            if in_order {
                // The greeting is reply 0; line k is answered by reply k + 1.
                replies
                    .get(k + 1)
                    .is_some_and(|(r, lines)| r == recorded && after(*lines))
            } else {
                replies
                    .iter()
                    .any(|(r, lines)| r == recorded && after(*lines) && *lines <= k + 1)
            }
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let chunks: Vec<Vec<u8>> = data.split(|&b| b == 0xFE).map(<[u8]>::to_vec).collect();
    let (outcome, log, addr): (Outcome, Vec<Connection>, SocketAddr) = runtime().block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a loopback listener");
        let port = listener.local_addr().expect("its address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn(serve(listener, chunks, Arc::clone(&log)));
        let endpoint = Endpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        // It ends: within two runs' host deadlines (a rerun may follow) plus a grace for
        // the goodbyes.
        let outcome = tokio::time::timeout(
            2 * HOST_TIMEOUT + Duration::from_secs(3),
            probe(endpoint, settings()),
        )
        .await
        .expect("the probe ended within its host timeouts");
        // The server may still wait for a reconnection that will not come.
        server.abort();
        let _ = server.await;
        let log = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
        (outcome, log, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    });
    // Never DATA, whatever the server said.
    for c in &log {
        for line in c.lines() {
            assert!(!line.eq_ignore_ascii_case(b"DATA"), "DATA sent to {addr}");
            assert!(!line.eq_ignore_ascii_case(b"BDAT"), "BDAT sent to {addr}");
        }
    }
    assert!(
        outcome
            .transcript
            .iter()
            .filter(|l| l.dir == Direction::Client)
            .all(|l| !l.text.eq_ignore_ascii_case("DATA"))
    );
    // Within its caps: each run's transcript keeps at most its byte cap (plus the note
    // that joins a rerun to its first run).
    let kept: usize = outcome.transcript.iter().map(|l| l.text.len()).sum();
    assert!(kept <= TRANSCRIPT_CAP + 2048, "transcript of {kept} bytes");
    // Two runs at most, each the 16 tests, STARTTLS, a control RCPT and QUIT, a retry of
    // each attempt in a rerun: a bounded number of commands.
    let lines: usize = log.iter().map(|c| c.lines().len()).sum();
    assert!(lines <= 400, "{lines} client lines");
    // Open relay only on RCPT replies that are their own.
    let assessment = assess_outcome(&outcome);
    if assessment.verdict == Some(Verdict::OpenRelay) {
        let in_order = outcome.dialogue.rerun_after.is_none();
        for attempt in outcome.dialogue.attempts().filter(|a| a.relayed()) {
            assert!(
                has_its_own_reply(attempt, &log, in_order),
                "open relay on a RCPT reply that is not its own: {attempt:?}"
            );
        }
    }
});
