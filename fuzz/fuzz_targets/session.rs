//! Fuzz target: a whole probe against a loopback server that answers with arbitrary bytes; it must end, stay within its caps and never send DATA.
//!
//! The input is cut at every 0xFE byte into chunks: chunk 0 is sent on connect, chunk i
//! after the client's i-th line (or after a few milliseconds of silence, so that a probe
//! waiting for the rest of a reply does not stall the run). After the last chunk the
//! server closes. A failed TLS handshake makes the probe connect again: the server goes
//! on with the chunks left on the new connection.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use relayscan::probe::relay::Identity;
use relayscan::probe::{ProbeSettings, probe};
use relayscan::target::Endpoint;
use relayscan::smtp::{Direction, SessionSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

/// How long the server waits for a client line before sending its next chunk anyway.
const NUDGE: Duration = Duration::from_millis(3);
/// Client bytes kept for the DATA check: far more than the 16 tests ever send.
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
            read_timeout: Duration::from_millis(500),
            host_timeout: HOST_TIMEOUT,
            transcript_cap: TRANSCRIPT_CAP,
            ..SessionSettings::default()
        };
        let identity = Identity::new("antispam@example.com", "relaytest@example.com")
            .expect("a valid identity");
        ProbeSettings::new(session, "fuzz.relayscan.test".into(), identity)
    })
}

/// Serves the chunks over as many connections as the probe opens, keeping every byte the
/// client sent (capped) in `seen`. Aborted once the probe has ended.
async fn serve(listener: TcpListener, chunks: Vec<Vec<u8>>, seen: Arc<Mutex<Vec<u8>>>) {
    let mut chunks = chunks.into_iter();
    'connections: while let Ok(Ok((mut stream, _))) =
        tokio::time::timeout(HOST_TIMEOUT, listener.accept()).await
    {
        let mut buf = [0u8; 4096];
        for chunk in chunks.by_ref() {
            if stream.write_all(&chunk).await.is_err() {
                continue 'connections;
            }
            // Wait for a line from the client (or a short silence) before the next chunk.
            loop {
                match tokio::time::timeout(NUDGE, stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => continue 'connections,
                    Ok(Ok(n)) => {
                        let got = &buf[..n];
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        if seen.len() < CLIENT_CAP {
                            seen.extend_from_slice(got);
                        }
                        if got.contains(&b'\n') {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        // Out of chunks: close, and stop serving.
        break;
    }
}

fuzz_target!(|data: &[u8]| {
    let chunks: Vec<Vec<u8>> = data.split(|&b| b == 0xFE).map(<[u8]>::to_vec).collect();
    let outcome = runtime().block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a loopback listener");
        let port = listener.local_addr().expect("its address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn(serve(listener, chunks, Arc::clone(&seen)));
        let endpoint = Endpoint {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            name: None,
        };
        // It ends: within the host deadline plus a grace for the goodbye.
        let outcome = tokio::time::timeout(
            HOST_TIMEOUT + Duration::from_secs(3),
            probe(endpoint, settings()),
        )
        .await
        .expect("the probe ended within its host timeout");
        // The server may still wait for a reconnection that will not come.
        server.abort();
        let client = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
        (
            outcome,
            client,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        )
    });
    let (outcome, client, addr) = outcome;
    // Never DATA, whatever the server said.
    for line in client.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(!line.eq_ignore_ascii_case(b"DATA"), "DATA sent to {addr}");
        assert!(!line.eq_ignore_ascii_case(b"BDAT"), "BDAT sent to {addr}");
    }
    assert!(
        outcome
            .transcript
            .iter()
            .filter(|l| l.dir == Direction::Client)
            .all(|l| !l.text.eq_ignore_ascii_case("DATA"))
    );
    // Within its caps: the transcript keeps at most its byte cap (plus one note).
    let kept: usize = outcome.transcript.iter().map(|l| l.text.len()).sum();
    assert!(kept <= TRANSCRIPT_CAP + 1024, "transcript of {kept} bytes");
    // The 16 tests, STARTTLS, a control RCPT and QUIT: a bounded number of commands.
    let lines = client.iter().filter(|&&b| b == b'\n').count();
    assert!(lines <= 200, "{lines} client lines");
});
