//! TLS against the lab's TLS personas: STARTTLS, implicit TLS, the certificate audit, the
//! handshake that fails, injected plaintext, relays that demand TLS, and the TLS flags.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use relayscan::lab::Persona;
use relayscan::lab::tls::{IMPLICIT_CERT_NAME, INJECTION, implicit_tls, offers_starttls};
use relayscan::probe::{Status, Verdict};
use relayscan::report::ScanRecord;
use relayscan::smtp::{NameSource, TlsMode, TlsReport, Validity};

use crate::support::{LabProcess, nets, read_csv, read_jsonl, run, stderr};

/// The TLS personas (those offering STARTTLS or speaking TLS first), in `Persona::ALL`
/// order: the order the lab is asked to place them (.1 upwards).
fn tls_personas() -> Vec<Persona> {
    Persona::ALL
        .into_iter()
        .filter(|&p| offers_starttls(p) || implicit_tls(p))
        .collect()
}

fn start_lab(network: nets::Net, dir: &Path, personas: &[Persona]) -> LabProcess {
    let mut args = Vec::new();
    for p in personas {
        args.extend(["--persona", p.name()]);
    }
    LabProcess::start(network.lab_network(), dir, &args)
}

/// Scans `targets` with `extra` flags; returns the records.
fn scan(dir: &Path, name: &str, targets: &str, extra: &[&str]) -> (Vec<ScanRecord>, String) {
    let prefix = dir.join(name);
    let mut args = vec![
        "scan",
        targets,
        "--rate",
        "1000",
        "-q",
        "--helo",
        "scanner.relayscan.test",
        "-o",
        prefix.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    (
        read_jsonl(&prefix.with_extension("jsonl")),
        prefix.to_str().unwrap().to_string(),
    )
}

fn record(records: &[ScanRecord], ip: IpAddr, port: u16) -> &ScanRecord {
    records
        .iter()
        .find(|r| r.ip == ip && r.port == port)
        .unwrap_or_else(|| panic!("no record for {ip}:{port}"))
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
fn tls_personas_record_every_field_and_get_their_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let personas = tls_personas();
    assert_eq!(personas.len(), 7);
    let lab = start_lab(nets::TLS, dir.path(), &personas);
    let tls_port = lab.tls_port.expect("the lab prints its implicit-TLS port");
    let ports = format!("{},{tls_port}", lab.port);
    let (records, prefix) = scan(
        dir.path(),
        "tls",
        &lab.range(personas.len()),
        &["-p", &ports, "--tls-ports", &tls_port.to_string()],
    );
    // One record per persona on the main port, one more for implicit TLS.
    assert_eq!(records.len(), personas.len() + 1);
    let at = |p: Persona, port: u16| {
        let n = personas.iter().position(|&q| q == p).unwrap();
        record(&records, lab.addr(n), port)
    };
    for &p in &personas {
        let r = at(p, lab.port);
        assert_eq!(r.verdict, Some(p.expected_verdict()), "{p}: {:?}", r.reason);
        assert_eq!(r.status, Status::Completed, "{p}: {:?}", r.error);
        assert!(!r.accepts_any_recipient, "{p}");
    }

    // STARTTLS with a self-signed certificate; the tests ran over TLS only.
    let r = at(Persona::StarttlsSelfSigned, lab.port);
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
    assert!(r.dialogue.attempts.is_empty(), "no test in plaintext");
    let after = r.dialogue.after_tls.as_ref().expect("a session after TLS");
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

    // 530 until STARTTLS, an open relay after: reported as such, "after STARTTLS".
    let r = at(Persona::TlsRequired, lab.port);
    assert_established(r, Persona::TlsRequired, TlsMode::Starttls);
    assert_eq!(r.open_tests, (1..=16).collect::<Vec<u8>>());
    let reason = r.reason.as_deref().unwrap();
    assert!(
        reason.contains("relayed 16 of 16 tests after STARTTLS"),
        "{reason}"
    );

    // An expired certificate: recorded, never enforced (the dialogue went on over TLS).
    let r = at(Persona::ExpiredCert, lab.port);
    assert_established(r, Persona::ExpiredCert, TlsMode::Starttls);
    let t = tls(r);
    assert_eq!(t.validity, Some(Validity::Expired));
    let days = t.leaf().unwrap().days_left.unwrap();
    assert!((-11..=-10).contains(&days), "expired ten days ago: {days}");
    assert_eq!(r.tests_run, 16);

    // The handshake fails like a TLS 1.0-only server's; the probe goes on in plaintext.
    let r = at(Persona::TlsBroken, lab.port);
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
    assert!(r.dialogue.after_tls.is_none());
    assert_eq!(r.dialogue.attempts.len(), 16, "the tests ran in plaintext");
    assert!(
        r.transcript
            .iter()
            .any(|l| l.text.starts_with("connected again to ")),
        "a new plaintext connection"
    );

    // Plaintext injected after the 220 to STARTTLS is dropped, never taken for a reply.
    let r = at(Persona::StarttlsInjection, lab.port);
    assert_established(r, Persona::StarttlsInjection, TlsMode::Starttls);
    assert_eq!(tls(r).discarded_plaintext, INJECTION.len());
    assert_eq!(r.tests_accepted, 0, "{:?}", r.reason);
    assert!(
        r.transcript
            .iter()
            .filter(|l| l.dir == relayscan::smtp::Direction::Server)
            .all(|l| !l.text.contains("injected")),
        "no injected line is a server reply"
    );
    assert!(r.transcript.iter().any(|l| {
        l.dir == relayscan::smtp::Direction::Note
            && l.text
                .starts_with(&format!("dropped {} bytes of plaintext", INJECTION.len()))
    }));
    let after = r.dialogue.after_tls.as_ref().unwrap();
    assert_eq!(after.ehlo.as_ref().map(|e| e.code), Some(250));
    assert!(
        after.ehlo.as_ref().unwrap().lines[0].starts_with("starttls-injection.lab.test"),
        "the EHLO over TLS got the server's real reply"
    );

    // Implicit TLS on its own port; on the main port, plain SMTP without STARTTLS.
    let r = at(Persona::ImplicitTls, tls_port);
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
    assert_eq!(r.dialogue.attempts.len(), 16, "every test inside TLS");
    assert!(r.dialogue.starttls.is_none());
    let plain = at(Persona::ImplicitTls, lab.port);
    let t = tls(plain);
    assert_eq!(t.mode, TlsMode::Starttls);
    assert!(!t.offered && !t.attempted);
    assert_eq!(t.error.as_deref(), Some("not offered"));
    assert_eq!(plain.verdict, Some(Verdict::RelayDenied));

    // AUTH PLAIN and LOGIN offered before TLS; a certificate that expires within 30 days.
    let r = at(Persona::AuthBeforeTls, lab.port);
    assert_established(r, Persona::AuthBeforeTls, TlsMode::Starttls);
    assert_eq!(
        r.auth,
        vec!["PLAIN", "LOGIN"],
        "plaintext AUTH is on record"
    );
    let days = tls(r).leaf().unwrap().days_left.unwrap();
    assert!((19..=20).contains(&days), "{days}");
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("(530) after STARTTLS")
    );

    // The key columns in CSV.
    let (header, rows) = read_csv(Path::new(&format!("{prefix}.csv")));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = |ip: IpAddr, port: u16| {
        rows.iter()
            .find(|r| r[col("ip")] == ip.to_string() && r[col("port")] == port.to_string())
            .unwrap()
    };
    let expired = row(lab.addr(2), lab.port);
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
    let broken = row(lab.addr(3), lab.port);
    assert_eq!(broken[col("tls_established")], "false");
    assert_eq!(
        broken[col("tls_error")],
        "handshake failed: received fatal alert: ProtocolVersion"
    );
    assert_eq!(broken[col("cert_subject")], "");
    let injected = row(lab.addr(4), lab.port);
    assert_eq!(
        injected[col("tls_discarded_plaintext")],
        INJECTION.len().to_string()
    );
    let implicit = row(lab.addr(5), tls_port);
    assert_eq!(implicit[col("tls_mode")], "implicit");
    assert_eq!(implicit[col("cert_name_match")], "false");

    // The lab heard EHLO again after each handshake, and never DATA.
    let received = lab.received();
    let lines_to = |n: usize| -> Vec<String> {
        let host = format!("{}:{}", lab.addr(n), lab.port);
        received
            .iter()
            .filter(|c| c["host"] == host.as_str())
            .map(|c| c["line"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let injection = lines_to(4);
    assert_eq!(
        injection.get(..3),
        Some(
            &[
                "EHLO scanner.relayscan.test".to_string(),
                "STARTTLS".to_string(),
                "EHLO scanner.relayscan.test".to_string()
            ][..]
        )
    );
    assert!(received.iter().all(|c| {
        !c["line"]
            .as_str()
            .unwrap_or_default()
            .eq_ignore_ascii_case("DATA")
    }));
}

#[test]
fn relay_over_and_starttls_choose_where_the_tests_run() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::TLS_FLAGS,
        dir.path(),
        &[Persona::TlsRequired, Persona::Closed],
    );
    let port = lab.port.to_string();
    let (required, closed) = (lab.addr(0), lab.addr(1));
    let targets = lab.range(2);
    let scan_with = |name: &str, flags: &[&str]| {
        let mut extra = vec!["-p", port.as_str()];
        extra.extend(flags);
        scan(dir.path(), name, &targets, &extra).0
    };

    // In plaintext first: 530 asks for STARTTLS, so the tests run again over TLS.
    let records = scan_with("plain", &["--relay-over", "plain"]);
    let r = record(&records, required, lab.port);
    assert_eq!(r.verdict, Some(Verdict::OpenRelay));
    assert_eq!(r.dialogue.attempts.len(), 16);
    assert!(r.dialogue.attempts.iter().all(|a| {
        a.mail
            .as_ref()
            .map(|m| (m.code, m.enhanced.map(|e| e.to_string())))
            == Some((530, Some("5.7.0".into())))
    }));
    let after = r.dialogue.after_tls.as_ref().unwrap();
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
    // The closed server offers no STARTTLS: plaintext only.
    let c = record(&records, closed, lab.port);
    assert_eq!(c.verdict, Some(Verdict::RelayDenied));
    assert!(c.dialogue.after_tls.is_none() && c.dialogue.starttls.is_none());

    // Never STARTTLS: the 530 that asks for it leaves the question open.
    let records = scan_with("never", &["--starttls", "never"]);
    let r = record(&records, required, lab.port);
    assert_eq!(r.verdict, Some(Verdict::Inconclusive));
    let reason = r.reason.as_deref().unwrap();
    assert!(reason.contains("asks for STARTTLS"), "{reason}");
    assert!(reason.contains("STARTTLS was not tried"), "{reason}");
    let t = tls(r);
    assert!(t.offered && !t.attempted);
    assert_eq!(t.error.as_deref(), Some("not tried: --starttls never"));

    // Always STARTTLS: the closed server does not know it, and the tests run in plaintext.
    let records = scan_with("always", &["--starttls", "always"]);
    let c = record(&records, closed, lab.port);
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

    // Only over TLS: without TLS, no test runs.
    let records = scan_with("tls-only", &["--relay-over", "tls"]);
    let c = record(&records, closed, lab.port);
    assert_eq!(c.tests_run, 0);
    assert_eq!(c.verdict, Some(Verdict::Inconclusive));
    assert_eq!(
        record(&records, required, lab.port).verdict,
        Some(Verdict::OpenRelay)
    );

    // A port named as implicit TLS that speaks plaintext: the handshake fails, and there
    // is no plaintext to go on with.
    let records = scan_with("wrong-port", &["--tls-ports", &port]);
    let c = record(&records, closed, lab.port);
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

    // Both: in plaintext and over TLS.
    let records = scan_with("both", &["--relay-over", "both"]);
    let r = record(&records, required, lab.port);
    assert_eq!(r.dialogue.attempts.len(), 16);
    assert_eq!(r.dialogue.after_tls.as_ref().unwrap().attempts.len(), 16);
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
