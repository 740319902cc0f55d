//! TLS findings, drawn from the TLS report of a probe (issue 5): no STARTTLS, failed handshakes, certificate trouble, AUTH in clear text, plaintext injected after STARTTLS.

use super::findings::{Finding, FindingId, server_lines};
use crate::probe::Dialogue;
use crate::smtp::fingerprint::Mta;
use crate::smtp::{CertInfo, Reply, TlsMode, TlsReport, Validity};

/// A certificate this close to its end is a finding (Let's Encrypt renews at 30 days left).
pub const EXPIRING_DAYS: i64 = 30;

/// The TLS findings of one probe.
pub fn findings(d: &Dialogue, tls: Option<&TlsReport>, mta: Mta) -> Vec<Finding> {
    let mut out = Vec::new();
    let plaintext_session = tls.is_none_or(|t| t.mode == TlsMode::Starttls);
    if plaintext_session && let Some(line) = plaintext_auth_line(d) {
        out.push(Finding::new(
            FindingId::AuthBeforeTls,
            mta,
            "the EHLO reply before TLS offers AUTH PLAIN or LOGIN: a client that logs in now \
             sends its password in clear text"
                .to_string(),
            vec![format!("S: {line}")],
        ));
    }
    let Some(t) = tls else {
        return out;
    };
    if t.mode == TlsMode::Starttls && !t.offered {
        out.push(Finding::new(
            FindingId::StarttlsMissing,
            mta,
            "the EHLO reply does not offer STARTTLS".to_string(),
            d.first.ehlo().map(server_lines).unwrap_or_default(),
        ));
    }
    if t.attempted && !t.established {
        let mut detail = t
            .error
            .clone()
            .unwrap_or_else(|| "TLS was not established".to_string());
        if let Some(alert) = &t.alert {
            detail.push_str(&format!(" (alert {alert})"));
        }
        if t.plaintext_fallback {
            detail.push_str("; the probe went on in plaintext, as a sender would");
        }
        let mut evidence = starttls_lines(d.starttls.as_ref());
        evidence.push(format!("* {detail}"));
        out.push(Finding::new(
            FindingId::TlsHandshakeFailed,
            mta,
            detail,
            evidence,
        ));
    }
    if t.discarded_plaintext > 0 {
        let mut evidence = starttls_lines(d.starttls.as_ref());
        evidence.push(format!(
            "* {} bytes of plaintext before the handshake, discarded unread",
            t.discarded_plaintext
        ));
        out.push(Finding::new(
            FindingId::StarttlsInjection,
            mta,
            format!(
                "{} bytes arrived after the 220 to STARTTLS and before the handshake: a \
                 broken server or something on the path injecting commands",
                t.discarded_plaintext
            ),
            evidence,
        ));
    }
    if let Some(leaf) = t.leaf() {
        out.extend(certificate(t, leaf, mta));
    }
    out
}

/// The AUTH line of the plaintext EHLO reply, when it offers PLAIN or LOGIN.
fn plaintext_auth_line(d: &Dialogue) -> Option<String> {
    let mechanisms = d.first.capabilities.auth_mechanisms();
    if !mechanisms.iter().any(|m| m == "PLAIN" || m == "LOGIN") {
        return None;
    }
    let ehlo = d.first.ehlo()?;
    let wire = ehlo.wire_lines();
    let found = wire.iter().find(|l| {
        l.get(4..)
            .is_some_and(|rest| rest.to_ascii_uppercase().starts_with("AUTH"))
    });
    Some(
        found
            .cloned()
            .unwrap_or_else(|| format!("{} AUTH {}", ehlo.code, mechanisms.join(" "))),
    )
}

fn starttls_lines(reply: Option<&Reply>) -> Vec<String> {
    match reply {
        Some(r) => {
            let mut lines = vec!["C: STARTTLS".to_string()];
            lines.extend(server_lines(r));
            lines
        }
        None => Vec::new(),
    }
}

/// One line describing the leaf, quoted as evidence by every certificate finding.
fn leaf_line(leaf: &CertInfo) -> String {
    let when = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_else(|| "?".to_string())
    };
    format!(
        "* certificate: subject {}; issuer {}; valid {} to {}; names {}",
        leaf.subject,
        leaf.issuer,
        when(leaf.not_before),
        when(leaf.not_after),
        if leaf.sans.is_empty() {
            "(none)".to_string()
        } else {
            leaf.sans.join(", ")
        }
    )
}

fn certificate(t: &TlsReport, leaf: &CertInfo, mta: Mta) -> Vec<Finding> {
    let mut out = Vec::new();
    let evidence = || vec![leaf_line(leaf)];
    let days = leaf.days_left;
    match t.validity {
        Some(Validity::Expired) => out.push(Finding::new(
            FindingId::TlsCertExpired,
            mta,
            match days {
                Some(d) => format!("the certificate expired {} days ago", -d),
                None => "the certificate has expired".to_string(),
            },
            evidence(),
        )),
        Some(Validity::NotYetValid) => out.push(Finding::new(
            FindingId::TlsCertNotYetValid,
            mta,
            "the certificate's validity period has not begun (or the server's clock is wrong)"
                .to_string(),
            evidence(),
        )),
        Some(Validity::Valid) | None => {
            if let Some(d) = days.filter(|d| (0..=EXPIRING_DAYS).contains(d)) {
                out.push(Finding::new(
                    FindingId::TlsCertExpiringSoon,
                    mta,
                    format!("the certificate expires in {d} days"),
                    evidence(),
                ));
            }
        }
    }
    if leaf.self_signed {
        out.push(Finding::new(
            FindingId::TlsCertSelfSigned,
            mta,
            "the certificate is signed by its own key: no CA vouches for it".to_string(),
            evidence(),
        ));
    } else if t.chain_valid == Some(false)
        && !matches!(t.validity, Some(Validity::Expired | Validity::NotYetValid))
    {
        // A chain outside its validity window fails verification too; that is already
        // the expired or not-yet-valid finding.
        out.push(Finding::new(
            FindingId::TlsCertUntrusted,
            mta,
            format!(
                "the chain does not verify to a trusted root: {}",
                t.chain_error.as_deref().unwrap_or("unknown reason")
            ),
            evidence(),
        ));
    }
    if t.name_match == Some(false) {
        let names: Vec<String> = t
            .names
            .iter()
            .map(|n| format!("{} ({:?})", n.name, n.source).to_lowercase())
            .collect();
        out.push(Finding::new(
            FindingId::TlsCertNameMismatch,
            mta,
            format!(
                "the certificate covers none of the names the server is known by: {}",
                names.join(", ")
            ),
            evidence(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::findings::tests::replies as reply;
    use crate::smtp::{Capabilities, NameCheck, NameSource};

    fn dialogue(ehlo: &[&str]) -> Dialogue {
        let ehlo = reply(250, ehlo);
        Dialogue {
            greeting: Some(reply(220, &["mx.example.com ESMTP"])),
            first: crate::probe::Leg {
                capabilities: Capabilities::from_ehlo(&ehlo),
                hello: Some(crate::probe::Hello { ehlo, helo: None }),
                ..Default::default()
            },
            ..Dialogue::default()
        }
    }

    fn leaf(days_left: i64, self_signed: bool) -> CertInfo {
        CertInfo {
            subject: "CN=mx.example.com".into(),
            issuer: if self_signed {
                "CN=mx.example.com".into()
            } else {
                "CN=Example CA".into()
            },
            sans: vec!["mx.example.com".into()],
            days_left: Some(days_left),
            self_signed,
            ..CertInfo::default()
        }
    }

    fn established(leaf: CertInfo, validity: Validity, chain_valid: bool, name: bool) -> TlsReport {
        let mut t = TlsReport::new(TlsMode::Starttls);
        t.offered = true;
        t.attempted = true;
        t.established = true;
        t.chain = vec![leaf];
        t.validity = Some(validity);
        t.chain_valid = Some(chain_valid);
        t.chain_error = (!chain_valid).then(|| "UnknownIssuer".to_string());
        t.names = vec![NameCheck {
            name: "mx.example.com".into(),
            source: NameSource::Greeting,
            matches: name,
        }];
        t.name_match = Some(name);
        t
    }

    fn ids(d: &Dialogue, t: Option<&TlsReport>) -> Vec<&'static str> {
        findings(d, t, Mta::Unknown)
            .iter()
            .map(|f| f.id.as_str())
            .collect()
    }

    #[test]
    fn tls_findings_table() {
        let plain = dialogue(&["mx.example.com", "PIPELINING"]);
        let with_tls = dialogue(&["mx.example.com", "STARTTLS"]);
        let auth = dialogue(&["mx.example.com", "AUTH PLAIN LOGIN", "STARTTLS"]);
        let auth_cram = dialogue(&["mx.example.com", "AUTH CRAM-MD5", "STARTTLS"]);

        let not_offered = TlsReport::new(TlsMode::Starttls);
        let good = established(leaf(200, false), Validity::Valid, true, true);
        let expiring = established(leaf(12, false), Validity::Valid, true, true);
        let expired = established(leaf(-3, false), Validity::Expired, false, true);
        let early = established(leaf(400, false), Validity::NotYetValid, false, true);
        let self_signed = established(leaf(300, true), Validity::Valid, false, true);
        let untrusted = established(leaf(300, false), Validity::Valid, false, true);
        let mismatch = established(leaf(300, false), Validity::Valid, true, false);
        let mut failed = TlsReport::new(TlsMode::Starttls);
        failed.offered = true;
        failed.attempted = true;
        failed.error = Some("handshake failed: peer is incompatible".into());
        failed.alert = Some("protocol_version".into());
        let mut injected = good.clone();
        injected.discarded_plaintext = 27;
        let mut implicit = good.clone();
        implicit.mode = TlsMode::Implicit;
        implicit.offered = false;

        let table: Vec<(&Dialogue, Option<&TlsReport>, Vec<&str>)> = vec![
            (&plain, Some(&not_offered), vec!["starttls-missing"]),
            (&with_tls, Some(&good), vec![]),
            (&with_tls, Some(&expiring), vec!["tls-cert-expiring-soon"]),
            (&with_tls, Some(&expired), vec!["tls-cert-expired"]),
            (&with_tls, Some(&early), vec!["tls-cert-not-yet-valid"]),
            (&with_tls, Some(&self_signed), vec!["tls-cert-self-signed"]),
            (&with_tls, Some(&untrusted), vec!["tls-cert-untrusted"]),
            (&with_tls, Some(&mismatch), vec!["tls-cert-name-mismatch"]),
            (&with_tls, Some(&failed), vec!["tls-handshake-failed"]),
            (&with_tls, Some(&injected), vec!["starttls-injection"]),
            (&auth, Some(&good), vec!["auth-before-tls"]),
            (&auth_cram, Some(&good), vec![]),
            // On an implicit-TLS port the "plaintext" EHLO was inside TLS, and STARTTLS is
            // not expected.
            (&auth, Some(&implicit), vec![]),
            // No TLS report (an old record): AUTH in the only session there was.
            (&auth, None, vec!["auth-before-tls"]),
            (&plain, None, vec![]),
        ];
        for (d, t, want) in table {
            assert_eq!(ids(d, t), want, "{t:?}");
        }
    }

    #[test]
    fn evidence_and_details() {
        let auth = dialogue(&["mx.example.com", "AUTH PLAIN LOGIN", "STARTTLS"]);
        let f = &findings(&auth, None, Mta::Postfix)[0];
        assert_eq!(f.evidence, ["S: 250-AUTH PLAIN LOGIN"]);
        assert!(f.remediation.contains("smtpd_tls_auth_only = yes"));

        let mut d = dialogue(&["mx.example.com", "STARTTLS"]);
        d.starttls = Some(reply(220, &["2.0.0 Ready to start TLS"]));
        let mut failed = TlsReport::new(TlsMode::Starttls);
        failed.offered = true;
        failed.attempted = true;
        failed.error = Some("handshake failed: received fatal alert".into());
        failed.alert = Some("protocol_version".into());
        failed.plaintext_fallback = true;
        let f = &findings(&d, Some(&failed), Mta::Unknown)[0];
        assert_eq!(
            f.evidence,
            [
                "C: STARTTLS",
                "S: 220 2.0.0 Ready to start TLS",
                "* handshake failed: received fatal alert (alert protocol_version); the probe went on in plaintext, as a sender would",
            ]
        );

        let expired = established(leaf(-3, false), Validity::Expired, false, true);
        let f = &findings(&d, Some(&expired), Mta::Unknown)[0];
        assert_eq!(f.detail, "the certificate expired 3 days ago");
        assert!(
            f.evidence[0]
                .starts_with("* certificate: subject CN=mx.example.com; issuer CN=Example CA;")
        );

        let mismatch = established(leaf(300, false), Validity::Valid, true, false);
        let f = &findings(&d, Some(&mismatch), Mta::Unknown)[0];
        assert!(
            f.detail.ends_with("mx.example.com (greeting)"),
            "{}",
            f.detail
        );
    }
}
