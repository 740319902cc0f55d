//! Whole dialogues against scripted peers on 127.0.0.1: what crosses TLS, pipelined and one-at-a-time runs agreeing, and servers whose replies fall out of step.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
use relayscan_lab::tls_server::TlsServer;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;
use crate::assess::{Verdict, assess_outcome};
use crate::probe::relay::Identity;
use crate::smtp::tls::TlsClient;

fn settings() -> ProbeSettings {
    let session = SessionSettings {
        read_timeout: Duration::from_secs(5),
        ..SessionSettings::default()
    };
    let identity = Identity::new("antispam@example.com", "relaytest@example.com")
        .unwrap_or_else(|e| panic!("{e}"));
    ProbeSettings::new(session, "scanner.example.net".into(), identity)
}

/// One line from the client, without CRLF; `None` at end of stream.
async fn line<S: AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut bytes = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b).await {
            Ok(1) if b[0] == b'\n' => break,
            Ok(1) => bytes.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
}

/// A scripted server: before TLS it offers STARTTLS, AUTH and a private keyword; after
/// TLS only SIZE. Refuses relaying. Returns whether the client asked for STARTTLS.
async fn script<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    tls: bool,
    seen: &Mutex<Vec<String>>,
) -> bool {
    while let Some(cmd) = line(s).await {
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cmd.clone());
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match (verb.as_str(), tls) {
            ("EHLO", false) => {
                b"250-pre.example.org\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 X-PRE-TLS\r\n"
            }
            ("EHLO", true) => b"250-post.example.org\r\n250 SIZE 2000\r\n",
            ("STARTTLS", false) => {
                let _ = s.write_all(b"220 2.0.0 go ahead\r\n").await;
                return true;
            }
            ("RCPT", _) => b"554 5.7.1 Relay access denied\r\n",
            ("QUIT", _) => {
                let _ = s.write_all(b"221 2.0.0 Bye\r\n").await;
                return false;
            }
            _ => b"250 2.0.0 Ok\r\n",
        };
        if s.write_all(reply).await.is_err() {
            return false;
        }
    }
    false
}

#[tokio::test]
async fn capabilities_learned_before_tls_are_gone_after_it() {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| panic!("{e}"));
    let cert = CertificateParams::new(vec!["pre.example.org".to_string()])
        .and_then(|p| p.self_signed(&key))
        .unwrap_or_else(|e| panic!("{e}"));
    let server = TlsServer::new(&[cert.der().to_vec()], &key.serialize_der())
        .unwrap_or_else(|e| panic!("{e}"));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let _ = tcp.write_all(b"220 pre.example.org ESMTP\r\n").await;
        if script(&mut tcp, false, &log).await
            && let Ok(mut tls) = server.accept(&mut tcp).await
        {
            script(&mut tls, true, &log).await;
        }
    });

    let mut settings = settings();
    settings.tls.client = TlsClient::new();
    let out = probe(Endpoint::new(addr.ip(), addr.port()), &settings).await;

    // Before TLS: what the server offered to anyone, kept as evidence.
    let before = &out.dialogue.first.capabilities;
    assert_eq!(before.names(), vec!["STARTTLS", "AUTH", "X-PRE-TLS"]);
    // After TLS: only what the EHLO over TLS said; nothing carried over.
    let after = out
        .dialogue
        .after_starttls
        .as_ref()
        .map(|a| a.capabilities.clone())
        .unwrap_or_default();
    assert_eq!(after.names(), vec!["SIZE"]);
    assert_eq!(after.size_limit(), Some(2000));
    assert!(!after.starttls() && after.auth_mechanisms().is_empty() && !after.has("X-PRE-TLS"));
    assert_eq!(
        out.dialogue.after_starttls.as_ref().map(|l| l.channel),
        Some(Channel::Starttls)
    );

    let commands = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        commands.get(..4),
        Some(
            &[
                "EHLO scanner.example.net".to_string(),
                "STARTTLS".to_string(),
                "EHLO scanner.example.net".to_string(),
                "RSET".to_string()
            ][..]
        ),
        "EHLO again right after the handshake: {commands:?}"
    );
    assert_eq!(commands.iter().filter(|c| *c == "STARTTLS").count(), 1);
    assert!(commands.iter().all(|c| !c.starts_with("AUTH")));

    let tls = out.tls.clone().unwrap_or_else(|| panic!("a TLS report"));
    assert!(tls.offered && tls.attempted && tls.established);
    assert_eq!(tls.sni.as_deref(), Some("pre.example.org"));
    let checked: Vec<(&str, bool)> = tls
        .names
        .iter()
        .map(|n| (n.name.as_str(), n.matches))
        .collect();
    assert_eq!(
        checked,
        vec![("pre.example.org", true), ("post.example.org", false)],
        "the EHLO name checked is the one given over TLS"
    );
    assert_eq!(out.status, Status::Completed);
    let a = assess_outcome(&out);
    assert_eq!(a.verdict, Some(Verdict::RelayDenied));
    assert!(
        a.reason
            .as_deref()
            .is_some_and(|r| r.contains("after STARTTLS")),
        "{:?}",
        a.reason
    );
    assert!(
        out.dialogue.first.attempts.is_empty(),
        "by default the tests run over TLS only"
    );
}

/// How a scripted peer misbehaves: stray lines nobody asked for. "Held" strays go out
/// with the server's next answer (a proxy that adds a line to the next write), the
/// others right after the answer they follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stray {
    None,
    AfterFirstMail,
    /// After the first MAIL the server takes.
    HeldAfterFirstMail,
    HeldAfterFirstRcpt,
    HeldAfterEhlo,
    DuplicateGreeting,
    AfterEveryAnswer,
}

const STRAY: &[u8] = b"250 2.0.0 stray\r\n";

/// Which recipients a scripted peer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relays {
    Nothing,
    PercentHacks,
    Everything,
    /// Nothing, and a RCPT without MAIL is one protocol error too many: 421 and hang up
    /// (Exim's smtp_max_synprot_errors, at its limit).
    NothingCountingErrors,
}

/// A server that advertises PIPELINING (when `pipelining`), refuses the null sender at
/// MAIL, answers a RCPT without MAIL with 503, relays what `relays` says, and
/// misbehaves as `stray` says. Serves until the test ends.
async fn scripted_peer(stray: Stray, pipelining: bool, relays: Relays) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(converse(tcp, stray, pipelining, relays));
        }
    });
    addr
}

async fn converse(tcp: tokio::net::TcpStream, stray: Stray, pipelining: bool, relays: Relays) {
    let (read, mut write) = tcp.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut greeting = b"220 mx.example.org ESMTP\r\n".to_vec();
    if stray == Stray::DuplicateGreeting {
        greeting.extend_from_slice(b"220 mx.example.org ESMTP\r\n");
    }
    let _ = write.write_all(&greeting).await;
    let (mut mail, mut taken, mut rcpts) = (false, 0, 0);
    let mut held: Vec<u8> = Vec::new();
    while let Ok(Some(cmd)) = lines.next_line().await {
        let mut out = std::mem::take(&mut held);
        let upper = cmd.to_ascii_uppercase();
        let verb = upper.split([' ', ':']).next().unwrap_or("").to_string();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if pipelining => b"250-mx.example.org\r\n250 PIPELINING\r\n",
            "EHLO" => b"250 mx.example.org\r\n",
            "MAIL" if cmd == "MAIL FROM:<>" => b"550 5.7.1 no bounces here\r\n",
            "MAIL" => {
                taken += 1;
                mail = true;
                b"250 2.1.0 Ok\r\n"
            }
            "RCPT" if !mail && relays == Relays::NothingCountingErrors => {
                out.extend_from_slice(b"421 4.7.0 too many protocol errors\r\n");
                let _ = write.write_all(&out).await;
                return;
            }
            "RCPT" if !mail => b"503 5.5.1 Error: need MAIL command\r\n",
            "RCPT" => {
                rcpts += 1;
                let percent = relays == Relays::PercentHacks && cmd.contains('%');
                if relays == Relays::Everything || percent {
                    b"250 2.1.5 Ok\r\n"
                } else {
                    b"554 5.7.1 Relay access denied\r\n"
                }
            }
            "QUIT" => {
                out.extend_from_slice(b"221 2.0.0 Bye\r\n");
                let _ = write.write_all(&out).await;
                return;
            }
            _ => {
                mail = false;
                b"250 2.0.0 Ok\r\n"
            }
        };
        out.extend_from_slice(reply);
        match stray {
            Stray::AfterEveryAnswer => out.extend_from_slice(STRAY),
            Stray::AfterFirstMail if verb == "MAIL" && taken == 1 => out.extend_from_slice(STRAY),
            Stray::HeldAfterFirstMail if verb == "MAIL" && taken == 1 => held = STRAY.to_vec(),
            Stray::HeldAfterFirstRcpt if verb == "RCPT" && rcpts == 1 => held = STRAY.to_vec(),
            Stray::HeldAfterEhlo if verb == "EHLO" => held = STRAY.to_vec(),
            _ => {}
        }
        if write.write_all(&out).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn pipelined_tests_record_exactly_what_one_at_a_time_records() {
    let addr = scripted_peer(Stray::None, true, Relays::PercentHacks).await;
    let mut settings = settings();
    let endpoint = Endpoint::new(addr.ip(), addr.port());
    let piped = probe(endpoint.clone(), &settings).await;
    settings.pipelining = false;
    let one = probe(endpoint, &settings).await;

    assert_eq!(piped.status, Status::Completed, "{:?}", piped.error);
    let (a_piped, a_one) = (assess_outcome(&piped), assess_outcome(&one));
    assert_eq!(a_piped.open_tests, vec![5, 6, 8]);
    assert_eq!(
        (a_piped.verdict, &a_piped.open_tests),
        (a_one.verdict, &a_one.open_tests)
    );
    // Test 1's sender was refused: its RCPT went out in the group all the same and got
    // a 503, which the transcript keeps and the attempt does not (one command at a time
    // that RCPT is never sent).
    let first = piped.dialogue.first.attempts.first();
    assert_eq!(
        first.and_then(|a| a.mail.as_ref()).map(|r| r.code),
        Some(550)
    );
    assert!(first.is_some_and(|a| a.rcpt.is_none()));
    assert!(piped.transcript.iter().any(|l| l.text.starts_with("503")));
    assert!(!one.transcript.iter().any(|l| l.text.starts_with("503")));
    assert_eq!(piped.dialogue.first.attempts, one.dialogue.first.attempts);
    // The control attempt differs only in its random mailbox.
    let control_rcpt = |o: &Outcome| {
        o.dialogue
            .first
            .control
            .as_ref()
            .and_then(|c| c.rcpt.clone())
    };
    assert_eq!(control_rcpt(&piped), control_rcpt(&one));
    assert!(piped.dialogue.first.pipelined && !one.dialogue.first.pipelined);
    // Connect, greeting, EHLO, and one group: the catalogue, the control, QUIT.
    assert_eq!(
        (
            piped.timing.pipelined,
            piped.timing.round_trips,
            piped.dialogue.first.groups
        ),
        (true, 4, 1)
    );
    assert_eq!(one.dialogue.first.groups, 0);
    assert_eq!(
        (one.timing.pipelined, one.timing.round_trips),
        (false, 3 + 47 + 3 + 1)
    );
    assert!(piped.dialogue.rerun_after.is_none() && one.dialogue.rerun_after.is_none());
}

/// The verdict and, when it was rerun, where the first run fell out of step.
async fn judged(stray: Stray, pipelining: bool, relays: Relays) -> (Outcome, Option<Verdict>) {
    let addr = scripted_peer(stray, true, relays).await;
    let mut settings = settings();
    settings.pipelining = pipelining;
    let out = probe(Endpoint::new(addr.ip(), addr.port()), &settings).await;
    let verdict = assess_outcome(&out).verdict;
    (out, verdict)
}

#[tokio::test]
async fn stray_replies_never_make_a_closed_server_an_open_relay() {
    use Stray::*;
    // (stray, caught once the tests began so the probe reruns, the verdict judged)
    let table = [
        (AfterFirstMail, true, Verdict::RelayDenied),
        (HeldAfterFirstMail, true, Verdict::RelayDenied),
        (HeldAfterFirstRcpt, true, Verdict::RelayDenied),
        (HeldAfterEhlo, true, Verdict::RelayDenied),
        // Out of step before any test: nothing to rerun for, no conclusion.
        (DuplicateGreeting, false, Verdict::Inconclusive),
        // Every answer doubled: the RCPTs stay ambiguous even on the second try.
        (AfterEveryAnswer, true, Verdict::Inconclusive),
    ];
    for pipelining in [true, false] {
        for (stray, rerun, want) in table {
            let (out, verdict) = judged(stray, pipelining, Relays::Nothing).await;
            let what = format!("{stray:?}, pipelining {pipelining}");
            assert_eq!(
                verdict,
                Some(want),
                "{what}: {:?}\n{}",
                out.error,
                out.transcript
                    .iter()
                    .map(|l| format!("{:?} {}", l.dir, l.text))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            assert_eq!(out.dialogue.rerun_after.is_some(), rerun, "{what}");
            if let Some(first) = &out.dialogue.rerun_after {
                assert!(
                    first.desync && first.status == Status::ProtocolError,
                    "{what}"
                );
                assert!(
                    first.detail.starts_with("replies out of step"),
                    "{what}: {}",
                    first.detail
                );
            }
            // Whatever happened, no test counts as relayed on the server's word alone.
            assert!(out.dialogue.attempts().all(|a| !a.relayed()), "{what}");
        }
    }
}

#[tokio::test]
async fn a_rerun_finds_a_real_open_relay_behind_a_stray_line() {
    for pipelining in [true, false] {
        let (out, verdict) =
            judged(Stray::HeldAfterFirstMail, pipelining, Relays::Everything).await;
        assert_eq!(verdict, Some(Verdict::OpenRelay), "pipelining {pipelining}");
        assert!(out.dialogue.rerun_after.is_some());
        // The rerun's attempts are one command at a time, and the stray is evidence.
        assert!(!out.dialogue.first.pipelined);
        let set_aside: usize = out.dialogue.attempts().map(|a| a.set_aside.len()).sum();
        assert!(set_aside >= 1, "the stray line is kept: {:?}", out.dialogue);
        // Both runs are in the transcript, joined by a note that says why.
        assert!(
            out.transcript
                .iter()
                .any(|l| l.text.contains("probing again on a new connection")),
            "{:?}",
            out.transcript
        );
    }
}

#[tokio::test]
async fn a_stray_line_in_the_rerun_is_weighed_not_paired() {
    let (out, _) = judged(Stray::HeldAfterFirstMail, true, Relays::Nothing).await;
    // Test 2 is the first whose sender is taken: its RCPT's place held the stray 250
    // and the 554; they disagree, so it was sent once more and then refused cleanly.
    let test2 = out
        .dialogue
        .first
        .attempts
        .iter()
        .find(|a| a.id == 2)
        .unwrap_or_else(|| panic!("test 2 in {:?}", out.dialogue));
    assert!(test2.retried && !test2.ambiguous, "{test2:?}");
    assert_eq!(test2.rcpt.as_ref().map(|r| r.code), Some(554));
    assert!(test2.set_aside.iter().any(|r| r.lines == ["2.0.0 stray"]));
}

#[tokio::test]
async fn a_server_that_hangs_up_on_the_groups_bad_sequence_is_probed_again_one_at_a_time() {
    let (piped, verdict) = judged(Stray::None, true, Relays::NothingCountingErrors).await;
    let (one, one_verdict) = judged(Stray::None, false, Relays::NothingCountingErrors).await;
    assert_eq!(piped.status, Status::Completed, "{:?}", piped.error);
    assert_eq!(verdict, Some(Verdict::RelayDenied));
    assert_eq!(verdict, one_verdict);
    // Judged on the rerun, which read as the run one command at a time.
    assert_eq!(piped.dialogue.first.attempts, one.dialogue.first.attempts);
    assert_eq!(piped.dialogue.first.attempts.len(), 16);
    let first = piped.dialogue.rerun_after.as_ref().expect("a rerun");
    assert!(!first.desync && first.status == Status::Dropped);
    assert_eq!(first.step, "test 1 RCPT");
    let reason = assess_outcome(&piped).reason.unwrap_or_default();
    assert!(
        reason.contains("after the server hung up on the pipelined tests at test 1 RCPT"),
        "{reason}"
    );
    // The rerun sends no RCPT after a refused MAIL: the 421 came once, in the first run.
    let hangups = piped
        .transcript
        .iter()
        .filter(|l| l.text.starts_with("421"))
        .count();
    assert_eq!(hangups, 1);
    assert!(!piped.dialogue.first.pipelined && piped.dialogue.first.groups == 0);
}
