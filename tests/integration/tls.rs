//! TLS against the lab's TLS personas: STARTTLS, implicit TLS, the certificate audit, the
//! handshake that fails, injected plaintext, relays that demand TLS, and the TLS flags.
//!
//! Two labs, each scanned for the whole module before any test runs: every TLS persona on
//! both ports once, and a relay that demands TLS beside a server without STARTTLS once
//! per combination of the TLS flags.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use relayscan::assess::Verdict;
use relayscan::lab::PersonaExpectation;
use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use relayscan::smtp::{Direction, NameSource, TlsMode, TlsReport, Validity};
use relayscan_lab::Persona;
use relayscan_lab::tls::{IMPLICIT_CERT_NAME, INJECTION, implicit_tls, offers_starttls};

use crate::support::personas::{PersonaRecords, start_lab};
use crate::support::{nets, read_csv, read_jsonl, run, stderr};

/// The TLS personas (those offering STARTTLS or speaking TLS first), in `Persona::ALL`
/// order: the order the lab is asked to place them (.1 upwards).
fn tls_personas() -> Vec<Persona> {
    Persona::ALL
        .into_iter()
        .filter(|&p| offers_starttls(p) || implicit_tls(p))
        .collect()
}

const HELO: &str = "scanner.relayscan.test";

/// Scans `targets` with `extra` flags into `dir/NAME.*`; returns the records.
fn scan(dir: &Path, name: &str, targets: &str, extra: &[&str]) -> Vec<ScanRecord> {
    let prefix = dir.join(name);
    let mut args = vec![
        "scan", targets, "--rate", "1000", "-q", "--helo", HELO, "-o",
    ];
    args.push(prefix.to_str().unwrap());
    args.extend(extra);
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    read_jsonl(&prefix.with_extension("jsonl"))
}

/// Every TLS persona scanned once on the main port and the implicit-TLS port.
struct Personas {
    hosts: PersonaRecords,
    port: u16,
    tls_port: u16,
    /// The CSV report: header and rows.
    csv: (Vec<String>, Vec<Vec<String>>),
    /// Every command line the lab received.
    received: Vec<serde_json::Value>,
}

static PERSONAS: LazyLock<Personas> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let personas = tls_personas();
    assert_eq!(personas.len(), 12);
    let lab = start_lab(nets::TLS, dir.path(), &personas, &[]);
    let tls_port = lab.tls_port.expect("the lab prints its implicit-TLS port");
    let ports = format!("{},{tls_port}", lab.port);
    let tls_ports = tls_port.to_string();
    let flags = ["-p", &ports, "--tls-ports", &tls_ports];
    let records = scan(dir.path(), "tls", &lab.range(personas.len()), &flags);
    Personas {
        hosts: PersonaRecords::new(&lab, &personas, records),
        port: lab.port,
        tls_port,
        csv: read_csv(&dir.path().join("tls.csv")),
        received: lab.received(),
    }
});

/// The record of the TLS persona `p` on the main port.
fn at(p: Persona) -> &'static ScanRecord {
    PERSONAS.hosts.on(p, Some(PERSONAS.port))
}

fn tls(r: &ScanRecord) -> &TlsReport {
    r.tls
        .as_ref()
        .unwrap_or_else(|| panic!("{}:{} has no TLS report", r.ip, r.port))
}

/// Whole days from the scan to `not_after`, as the audit computes them.
fn days_until(not_after: DateTime<Utc>, scanned: DateTime<Utc>) -> i64 {
    (not_after - scanned).num_seconds().div_euclid(86_400)
}

/// A TLS 1.3 session with the lab's certificate for `persona`, checked field by field.
fn assert_established(r: &ScanRecord, persona: Persona, mode: TlsMode) {
    let t = tls(r);
    let who = persona.name();
    assert_eq!(t.mode, mode, "{who}");
    assert_eq!(t.offered, mode == TlsMode::Starttls, "{who}");
    assert!(t.attempted && t.established, "{who}: {:?}", t.error);
    assert_eq!(
        (t.error.as_deref(), t.alert.as_deref()),
        (None, None),
        "{who}"
    );
    assert_eq!(t.version.as_deref(), Some("TLSv1.3"), "{who}");
    let suite = t.cipher_suite.as_deref().unwrap_or_default();
    assert!(
        [
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
        .contains(&suite),
        "{who}: {suite}"
    );
    assert!(!t.plaintext_fallback, "{who}");
    let leaf = t.leaf().unwrap_or_else(|| panic!("{who}: no certificate"));
    assert_eq!(leaf.subject, format!("CN={}", persona.hostname()), "{who}");
    assert!(!leaf.serial.is_empty() && leaf.serial.split(':').all(|b| b.len() == 2));
    assert_eq!(
        (leaf.key_type.as_str(), leaf.key_bits),
        ("EC", Some(256)),
        "{who}"
    );
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256", "{who}");
    assert_eq!(leaf.sha256.len(), 64, "{who}");
    assert_eq!(leaf.parse_error, None, "{who}");
    let (Some(from), Some(until)) = (leaf.not_before, leaf.not_after) else {
        panic!("{who}: no validity window");
    };
    assert!(from < until, "{who}");
    assert_eq!(
        leaf.days_left,
        Some(days_until(until, r.started_at)),
        "{who}"
    );
    // No lab certificate chains to a Mozilla root.
    assert_eq!(t.chain_valid, Some(false), "{who}");
    // Self-signed or lab-CA-issued: either way the chain is untrusted, and says so.
    let chain_error = t.chain_error.as_deref().unwrap_or_default();
    if t.validity == Some(Validity::Expired) {
        assert_eq!(chain_error, "Expired", "{who}");
    } else {
        assert_eq!(chain_error, "UnknownIssuer", "{who}");
    }
    match leaf.self_signed {
        true => {
            assert_eq!(t.chain.len(), 1, "{who}");
            assert_eq!(leaf.issuer, leaf.subject, "{who}");
        }
        false => {
            assert_eq!(t.chain.len(), 2, "{who}: leaf and lab CA");
            assert_eq!(leaf.issuer, "CN=relayscan lab CA", "{who}");
            assert!(t.chain[1].self_signed, "{who}: the CA is self-signed");
        }
    }
}

#[test]
fn every_tls_persona_completes_with_its_designed_verdict() {
    // One record per persona on the main port, one more for implicit TLS.
    assert_eq!(PERSONAS.hosts.records.len(), tls_personas().len() + 1);
    for p in tls_personas() {
        let r = at(p);
        assert_eq!(r.verdict, Some(p.expected_verdict()), "{p}: {:?}", r.reason);
        assert_eq!(r.status, Status::Completed, "{p}: {:?}", r.error);
        assert!(!r.accepts_any_recipient, "{p}");
    }
}

#[test]
fn starttls_with_a_self_signed_certificate_runs_the_tests_over_tls_only() {
    let r = at(Persona::StarttlsSelfSigned);
    assert_established(r, Persona::StarttlsSelfSigned, TlsMode::Starttls);
    let t = tls(r);
    assert!(t.leaf().unwrap().self_signed);
    assert_eq!(
        t.leaf().unwrap().sans,
        vec![Persona::StarttlsSelfSigned.hostname()]
    );
    assert_eq!(t.validity, Some(Validity::Valid));
    assert_eq!(t.sni.as_deref(), Some("starttls-self-signed.lab.test"));
    assert_eq!(t.discarded_plaintext, 0);
    assert_eq!(t.names.len(), 1, "greeting and EHLO give the same name");
    assert_eq!(t.names[0].name, Persona::StarttlsSelfSigned.hostname());
    assert_eq!(t.names[0].source, NameSource::Greeting);
    assert!(t.names[0].matches);
    assert_eq!(t.name_match, Some(true));
    assert!(r.starttls, "STARTTLS was advertised in plaintext");
    assert!(r.dialogue.first.attempts.is_empty(), "no test in plaintext");
    let after = r
        .dialogue
        .after_starttls
        .as_ref()
        .expect("a session after TLS");
    assert_eq!(after.attempts.len(), 16);
    assert!(
        !after.capabilities.starttls(),
        "STARTTLS is not offered twice"
    );
    assert_eq!(r.tests_run, 16);
    assert_eq!(r.tests_rejected, 16);
    assert!(r.reason.as_deref().unwrap().contains("after STARTTLS"));
    assert_eq!(
        r.dialogue.starttls.as_ref().map(|s| s.code),
        Some(220),
        "the STARTTLS reply is kept"
    );
}

#[test]
fn a_relay_that_demands_tls_is_reported_open_after_starttls() {
    // 530 until STARTTLS, an open relay after.
    let r = at(Persona::TlsRequired);
    assert_established(r, Persona::TlsRequired, TlsMode::Starttls);
    assert_eq!(r.open_tests, (1..=16).collect::<Vec<u8>>());
    let reason = r.reason.as_deref().unwrap();
    assert!(
        reason.contains("relayed 16 of 16 tests after STARTTLS"),
        "{reason}"
    );
}

#[test]
fn an_expired_certificate_is_recorded_never_enforced() {
    // The dialogue went on over TLS.
    let r = at(Persona::ExpiredCert);
    assert_established(r, Persona::ExpiredCert, TlsMode::Starttls);
    let t = tls(r);
    assert_eq!(t.validity, Some(Validity::Expired));
    let days = t.leaf().unwrap().days_left.unwrap();
    assert!((-11..=-10).contains(&days), "expired ten days ago: {days}");
    assert_eq!(r.tests_run, 16);
}

#[test]
fn a_failed_handshake_is_recorded_and_the_probe_goes_on_in_plaintext() {
    // The handshake fails like a TLS 1.0-only server's.
    let r = at(Persona::TlsBroken);
    let t = tls(r);
    assert!(t.offered && t.attempted && !t.established);
    assert_eq!(t.alert.as_deref(), Some("protocol_version"));
    assert_eq!(
        t.error.as_deref(),
        Some("handshake failed: received fatal alert: ProtocolVersion")
    );
    assert!(t.plaintext_fallback);
    assert!(t.chain.is_empty() && t.version.is_none() && t.cipher_suite.is_none());
    assert_eq!(
        (t.chain_valid, t.validity, t.name_match),
        (None, None, None)
    );
    assert!(r.dialogue.after_starttls.is_none());
    assert_eq!(
        r.dialogue.first.attempts.len(),
        16,
        "the tests ran in plaintext"
    );
    assert!(
        r.transcript
            .iter()
            .any(|l| l.text.starts_with("connected again to ")),
        "a new plaintext connection"
    );
}

#[test]
fn plaintext_injected_after_starttls_is_dropped_never_taken_for_a_reply() {
    let r = at(Persona::StarttlsInjection);
    assert_established(r, Persona::StarttlsInjection, TlsMode::Starttls);
    assert_eq!(tls(r).discarded_plaintext, INJECTION.len());
    assert_eq!(r.tests_accepted, 0, "{:?}", r.reason);
    assert!(
        r.transcript
            .iter()
            .filter(|l| l.dir == Direction::Server)
            .all(|l| !l.text.contains("injected")),
        "no injected line is a server reply"
    );
    assert!(r.transcript.iter().any(|l| {
        l.dir == Direction::Note
            && l.text
                .starts_with(&format!("dropped {} bytes of plaintext", INJECTION.len()))
    }));
    let after = r.dialogue.after_starttls.as_ref().unwrap();
    assert_eq!(after.ehlo().map(|e| e.code), Some(250));
    assert!(
        after.ehlo().unwrap().lines[0].starts_with("starttls-injection.lab.test"),
        "the EHLO over TLS got the server's real reply"
    );
}

#[test]
fn implicit_tls_runs_every_test_inside_tls_and_checks_the_certificate_s_name() {
    let r = PERSONAS
        .hosts
        .on(Persona::ImplicitTls, Some(PERSONAS.tls_port));
    assert_established(r, Persona::ImplicitTls, TlsMode::Implicit);
    let t = tls(r);
    assert_eq!(t.sni, None, "an address target sends no SNI");
    assert_eq!(t.leaf().unwrap().sans, vec![IMPLICIT_CERT_NAME.to_string()]);
    assert_eq!(
        t.name_match,
        Some(false),
        "the certificate names another host"
    );
    assert_eq!(t.names[0].name, Persona::ImplicitTls.hostname());
    assert!(!t.names[0].matches);
    assert_eq!(r.dialogue.first.attempts.len(), 16, "every test inside TLS");
    assert!(r.dialogue.starttls.is_none());
}

#[test]
fn the_implicit_tls_persona_s_plain_port_offers_no_starttls() {
    let plain = at(Persona::ImplicitTls);
    let t = tls(plain);
    assert_eq!(t.mode, TlsMode::Starttls);
    assert!(!t.offered && !t.attempted);
    assert_eq!(t.error.as_deref(), Some("not offered"));
    assert_eq!(plain.verdict, Some(Verdict::RelayDenied));
}

#[test]
fn auth_offered_before_tls_is_on_record() {
    let r = at(Persona::AuthBeforeTls);
    assert_established(r, Persona::AuthBeforeTls, TlsMode::Starttls);
    assert_eq!(
        r.auth,
        vec!["PLAIN", "LOGIN"],
        "plaintext AUTH is on record"
    );
    // A certificate that expires within 30 days.
    let days = tls(r).leaf().unwrap().days_left.unwrap();
    assert!((19..=20).contains(&days), "{days}");
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("(530) after STARTTLS")
    );
}

#[test]
fn csv_carries_the_tls_and_certificate_columns() {
    let (header, rows) = &PERSONAS.csv;
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = |p: Persona, port: u16| {
        let ip = PERSONAS.hosts.addr(p).to_string();
        rows.iter()
            .find(|r| r[col("ip")] == ip && r[col("port")] == port.to_string())
            .unwrap_or_else(|| panic!("no row for {p} on {port}"))
    };
    let port = PERSONAS.port;
    let expired = row(Persona::ExpiredCert, port);
    assert_eq!(expired[col("tls_mode")], "starttls");
    assert_eq!(expired[col("tls_established")], "true");
    assert_eq!(expired[col("tls_version")], "TLSv1.3");
    assert!(expired[col("tls_cipher")].starts_with("TLS_"));
    assert_eq!(expired[col("cert_subject")], "CN=expired-cert.lab.test");
    assert_eq!(expired[col("cert_issuer")], "CN=relayscan lab CA");
    assert!(
        expired[col("cert_days_left")].starts_with("'-1"),
        "formula-safe negative"
    );
    assert_eq!(expired[col("cert_self_signed")], "false");
    assert_eq!(expired[col("cert_chain_valid")], "false");
    assert_eq!(expired[col("cert_name_match")], "true");
    let broken = row(Persona::TlsBroken, port);
    assert_eq!(broken[col("tls_established")], "false");
    assert_eq!(
        broken[col("tls_error")],
        "handshake failed: received fatal alert: ProtocolVersion"
    );
    assert_eq!(broken[col("cert_subject")], "");
    let injected = row(Persona::StarttlsInjection, port);
    assert_eq!(
        injected[col("tls_discarded_plaintext")],
        INJECTION.len().to_string()
    );
    let implicit = row(Persona::ImplicitTls, PERSONAS.tls_port);
    assert_eq!(implicit[col("tls_mode")], "implicit");
    assert_eq!(implicit[col("cert_name_match")], "false");
}

#[test]
fn ehlo_is_sent_again_after_the_handshake() {
    // RFC 3207: forget what was learnt before TLS.
    let host = format!(
        "{}:{}",
        PERSONAS.hosts.addr(Persona::StarttlsInjection),
        PERSONAS.port
    );
    let lines: Vec<&str> = PERSONAS
        .received
        .iter()
        .filter(|c| c["host"] == host.as_str())
        .filter_map(|c| c["line"].as_str())
        .collect();
    let ehlo = format!("EHLO {HELO}");
    assert_eq!(
        lines.get(..3),
        Some(&[ehlo.as_str(), "STARTTLS", &ehlo][..])
    );
}

#[test]
fn no_data_is_sent_over_tls_either() {
    assert!(!PERSONAS.received.is_empty());
    assert!(PERSONAS.received.iter().all(|c| {
        !c["line"]
            .as_str()
            .unwrap_or_default()
            .eq_ignore_ascii_case("DATA")
    }));
}

/// A relay that demands TLS and a server without STARTTLS, scanned once per flag set.
struct Flags {
    port: u16,
    /// Records of each scan, by name.
    scans: HashMap<&'static str, PersonaRecords>,
}

static FLAGS: LazyLock<Flags> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let personas = [Persona::TlsRequired, Persona::Closed];
    let lab = start_lab(nets::TLS_FLAGS, dir.path(), &personas, &[]);
    let port = lab.port.to_string();
    let targets = lab.range(personas.len());
    let sets: [(&str, &[&str]); 6] = [
        ("plain", &["--relay-over", "plain"]),
        ("never", &["--starttls", "never"]),
        ("always", &["--starttls", "always"]),
        ("tls-only", &["--relay-over", "tls"]),
        // A port named as implicit TLS that speaks plaintext.
        ("wrong-port", &["--tls-ports", &port]),
        ("both", &["--relay-over", "both"]),
    ];
    // Every scan at once: each connects to its own lab hosts' listeners, none remembers.
    let scans = std::thread::scope(|s| {
        let handles: Vec<_> = sets
            .iter()
            .map(|&(name, flags)| {
                let (dir, targets, port) = (dir.path(), &targets, &port);
                s.spawn(move || {
                    let mut extra = vec!["-p", port.as_str()];
                    extra.extend(flags);
                    (name, scan(dir, name, targets, &extra))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let (name, records) = h.join().expect("scan");
                (name, PersonaRecords::new(&lab, &personas, records))
            })
            .collect()
    });
    Flags {
        port: lab.port,
        scans,
    }
});

/// The record of `p` in the scan `name`.
fn with(name: &str, p: Persona) -> &'static ScanRecord {
    FLAGS.scans[name].on(p, Some(FLAGS.port))
}

#[test]
fn relay_over_plain_tests_again_over_tls_after_a_530() {
    // In plaintext first: 530 asks for STARTTLS, so the tests run again over TLS.
    let r = with("plain", Persona::TlsRequired);
    assert_eq!(r.verdict, Some(Verdict::OpenRelay));
    assert_eq!(r.dialogue.first.attempts.len(), 16);
    assert!(r.dialogue.first.attempts.iter().all(|a| {
        a.mail
            .as_ref()
            .map(|m| (m.code, m.enhanced.map(|e| e.to_string())))
            == Some((530, Some("5.7.0".into())))
    }));
    let after = r.dialogue.after_starttls.as_ref().unwrap();
    assert_eq!(after.attempts.len(), 16);
    let reason = r.reason.as_deref().unwrap();
    assert!(reason.contains("after STARTTLS"), "{reason}");
    assert!(reason.contains("in plaintext it refused"), "{reason}");
    assert!(
        reason.contains("530 5.7.0 Must issue a STARTTLS command first"),
        "{reason}"
    );
    assert_eq!(r.tests_run, 32);
    assert_eq!((r.tests_accepted, r.tests_rejected), (16, 16));
}

#[test]
fn a_server_without_starttls_is_tested_in_plaintext_only() {
    let c = with("plain", Persona::Closed);
    assert_eq!(c.verdict, Some(Verdict::RelayDenied));
    assert!(c.dialogue.after_starttls.is_none() && c.dialogue.starttls.is_none());
}

#[test]
fn starttls_never_leaves_a_530_that_asks_for_it_inconclusive() {
    let r = with("never", Persona::TlsRequired);
    assert_eq!(r.verdict, Some(Verdict::Inconclusive));
    let reason = r.reason.as_deref().unwrap();
    assert!(reason.contains("asks for STARTTLS"), "{reason}");
    assert!(reason.contains("STARTTLS was not tried"), "{reason}");
    let t = tls(r);
    assert!(t.offered && !t.attempted);
    assert_eq!(t.error.as_deref(), Some("not tried: --starttls never"));
}

#[test]
fn starttls_always_asks_a_server_that_does_not_offer_it_then_tests_in_plaintext() {
    let c = with("always", Persona::Closed);
    assert_eq!(c.dialogue.starttls.as_ref().map(|s| s.code), Some(502));
    let t = tls(c);
    assert!(!t.offered && !t.attempted);
    assert!(
        t.error
            .as_deref()
            .is_some_and(|e| e.starts_with("STARTTLS refused: 502")),
        "{:?}",
        t.error
    );
    assert_eq!(c.verdict, Some(Verdict::RelayDenied));
    assert_eq!(c.tests_run, 16);
}

#[test]
fn relay_over_tls_runs_no_test_without_tls() {
    let c = with("tls-only", Persona::Closed);
    assert_eq!(c.tests_run, 0);
    assert_eq!(c.verdict, Some(Verdict::Inconclusive));
    assert_eq!(
        with("tls-only", Persona::TlsRequired).verdict,
        Some(Verdict::OpenRelay)
    );
}

#[test]
fn a_plaintext_port_named_as_implicit_tls_fails_the_handshake_with_nothing_to_go_on_with() {
    let c = with("wrong-port", Persona::Closed);
    assert_eq!(c.status, Status::TlsFailed);
    assert_eq!(c.verdict, Some(Verdict::Inconclusive));
    let t = tls(c);
    assert_eq!(t.mode, TlsMode::Implicit);
    assert!(t.attempted && !t.established);
    assert!(
        t.error
            .as_deref()
            .is_some_and(|e| e.starts_with("handshake failed: ")),
        "{:?}",
        t.error
    );
    assert!(c.dialogue.greeting.is_none());
}

#[test]
fn relay_over_both_tests_in_plaintext_and_over_tls() {
    let r = with("both", Persona::TlsRequired);
    assert_eq!(r.dialogue.first.attempts.len(), 16);
    assert_eq!(
        r.dialogue.after_starttls.as_ref().unwrap().attempts.len(),
        16
    );
    assert_eq!(r.verdict, Some(Verdict::OpenRelay));
}

#[test]
fn bad_tls_flags_are_refused_by_name() {
    let table = [
        (["--starttls", "sometimes"], "--starttls"),
        (["--relay-over", "carrier-pigeon"], "--relay-over"),
        (["--tls-ports", "465,70000"], "--tls-ports"),
    ];
    let target = nets::NEVER_REACHED.host(1).to_string();
    for (flags, named) in table {
        let mut args = vec!["scan", &target, "-q"];
        args.extend(flags);
        let out = run(&args, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(stderr(&out).contains(named), "{flags:?}: {}", stderr(&out));
    }
}
