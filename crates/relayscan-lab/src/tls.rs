//! The lab's TLS personas: which offer STARTTLS, what each does around the handshake, and
//! their certificates, made at start with rcgen from a lab CA (nothing checked in expires).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration as Days, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData,
};

use crate::persona::Persona;
use crate::tls_server::TlsServer;

/// The subject of the lab's certificate authority.
pub const CA_NAME: &str = "relayscan lab CA";

/// The name on the implicit-TLS persona's certificate: not the name it greets with, so a
/// scan records a name mismatch.
pub const IMPLICIT_CERT_NAME: &str = "mail.lab.test";

/// What the starttls-injection persona sends right after its `220`, in the same write:
/// four replies that a client parsing buffered plaintext would take for the answers to
/// EHLO, RSET, MAIL and RCPT over TLS, and so see an open relay that is not there.
pub const INJECTION: &[u8] = b"250 2.0.0 injected reply to EHLO\r\n250 2.0.0 injected reply to RSET\r\n250 2.1.0 injected reply to MAIL\r\n250 2.1.5 injected reply to RCPT\r\n";

/// A fatal `protocol_version` alert in a TLS 1.0 record: what a server that speaks only
/// TLS 1.0 answers to a ClientHello offering 1.2 and 1.3.
pub const TLS10_PROTOCOL_VERSION_ALERT: [u8; 7] = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46];

/// Whether the persona advertises STARTTLS in plaintext.
pub fn offers_starttls(p: Persona) -> bool {
    matches!(
        p,
        Persona::StarttlsSelfSigned
            | Persona::TlsRequired
            | Persona::ExpiredCert
            | Persona::TlsBroken
            | Persona::StarttlsInjection
            | Persona::AuthBeforeTls
            | Persona::StrayAfterMailTls
            | Persona::StrayAfterRcptTls
            | Persona::StrayAfterEhloTls
            | Persona::ExtraRepliesTls
            | Persona::MustAuthFirst
    )
}

/// Whether the persona also listens on the lab's implicit-TLS port.
pub fn implicit_tls(p: Persona) -> bool {
    p == Persona::ImplicitTls
}

/// What the persona does after its 220 to STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStarttls {
    /// Sends these bytes (if any) with the 220, then serves the handshake.
    Handshake { inject: &'static [u8] },
    /// Reads the ClientHello and answers with this record, then hangs up.
    Refuse { record: &'static [u8] },
}

pub fn after_starttls(p: Persona) -> AfterStarttls {
    match p {
        Persona::TlsBroken | Persona::MustAuthFirst => AfterStarttls::Refuse {
            record: &TLS10_PROTOCOL_VERSION_ALERT,
        },
        Persona::StarttlsInjection => AfterStarttls::Handshake { inject: INJECTION },
        _ => AfterStarttls::Handshake { inject: b"" },
    }
}

/// The certificate a persona presents: its names, its issuer and its validity window
/// in days from the lab's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    pub names: Vec<String>,
    pub self_signed: bool,
    pub valid_from_days: i64,
    pub valid_until_days: i64,
}

/// `None` for personas that never complete a handshake.
pub fn cert_spec(p: Persona) -> Option<CertSpec> {
    let own = vec![p.hostname().to_string()];
    let spec = |names: Vec<String>, self_signed, from, until| CertSpec {
        names,
        self_signed,
        valid_from_days: from,
        valid_until_days: until,
    };
    match p {
        Persona::StarttlsSelfSigned => Some(spec(own, true, -1, 90)),
        Persona::TlsRequired
        | Persona::StarttlsInjection
        | Persona::StrayAfterMailTls
        | Persona::StrayAfterRcptTls
        | Persona::StrayAfterEhloTls
        | Persona::ExtraRepliesTls => Some(spec(own, false, -1, 90)),
        Persona::ExpiredCert => Some(spec(own, false, -400, -10)),
        Persona::ImplicitTls => Some(spec(vec![IMPLICIT_CERT_NAME.into()], false, -1, 90)),
        Persona::AuthBeforeTls => Some(spec(own, false, -1, 20)),
        _ => None,
    }
}

/// The TLS servers of one lab: one per persona kind that needs one, made at start.
#[derive(Debug, Default)]
pub struct LabTls {
    servers: HashMap<Persona, TlsServer>,
    ca_der: Vec<u8>,
    ca_pem: String,
    spki_sha256: SpkiDigests,
    /// The MTA-STS policy host's server ([`crate::sts_server`]), when the lab runs its
    /// persona.
    sts_policy: Option<TlsServer>,
}

/// The SHA-256 of each persona's SubjectPublicKeyInfo: the association data of a
/// `3 1 1` TLSA record (DANE-EE, SPKI, SHA-256; RFC 7671 §5.1) that matches its key.
pub type SpkiDigests = HashMap<Persona, Vec<u8>>;

impl LabTls {
    /// Makes the lab CA and a certificate for each persona in `personas` that needs one.
    pub fn generate(personas: &[Persona], now: DateTime<Utc>) -> Result<LabTls, String> {
        let wanted: Vec<(Persona, CertSpec)> = personas
            .iter()
            .filter_map(|&p| Some((p, cert_spec(p)?)))
            .collect();
        let sts = personas.contains(&crate::sts_server::STS_POLICY_PERSONA);
        if wanted.is_empty() && !sts {
            return Ok(LabTls::default());
        }
        let ca_key = new_key()?;
        let mut ca = params(&[], CA_NAME, now, -1, 3650)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let (ca_der, ca_pem) = (ca_cert.der().to_vec(), ca_cert.pem());
        let issuer = Issuer::new(ca, ca_key);
        let mut servers = HashMap::new();
        let mut spki_sha256 = HashMap::new();
        for (persona, spec) in wanted {
            if servers.contains_key(&persona) {
                continue;
            }
            let key = new_key()?;
            let spki = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
            spki_sha256.insert(persona, spki.as_ref().to_vec());
            let leaf = params(
                &spec.names,
                persona.hostname(),
                now,
                spec.valid_from_days,
                spec.valid_until_days,
            )?;
            let chain = if spec.self_signed {
                vec![leaf.self_signed(&key).map_err(err)?.der().to_vec()]
            } else {
                let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
                vec![cert.der().to_vec(), ca_der.clone()]
            };
            let server = TlsServer::new(&chain, &key.serialize_der())?;
            servers.insert(persona, server);
        }
        let sts_policy = if sts {
            let host = crate::sts_server::sts_policy_host();
            let key = new_key()?;
            let leaf = params(std::slice::from_ref(&host), &host, now, -1, 90)?;
            let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
            let chain = [cert.der().to_vec(), ca_der.clone()];
            Some(TlsServer::new(&chain, &key.serialize_der())?)
        } else {
            None
        };
        Ok(LabTls {
            servers,
            ca_der,
            ca_pem,
            spki_sha256,
            sts_policy,
        })
    }

    /// The TLS server of the persona, when it has a certificate.
    pub fn server(&self, p: Persona) -> Option<&TlsServer> {
        self.servers.get(&p)
    }

    /// The SHA-256 of each persona's public key, for the zone's matching TLSA record.
    pub fn spki_sha256(&self) -> &SpkiDigests {
        &self.spki_sha256
    }

    /// The lab CA (PEM), for a scan's `--ca-file`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The MTA-STS policy host's TLS server, when the lab runs its persona.
    pub fn sts_policy(&self) -> Option<&TlsServer> {
        self.sts_policy.as_ref()
    }

    /// The lab CA (DER), for tests that want a chain to verify.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }
}

fn err(e: rcgen::Error) -> String {
    format!("cannot make a lab certificate: {e}")
}

fn new_key() -> Result<KeyPair, String> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)
}

/// Certificate parameters: the names as SANs, `cn` as the subject, dates at midnight UTC.
fn params(
    names: &[String],
    cn: &str,
    now: DateTime<Utc>,
    from_days: i64,
    until_days: i64,
) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(names.to_vec()).map_err(err)?;
    p.distinguished_name.push(DnType::CommonName, cn);
    let (y, m, d) = ymd(now + Days::days(from_days))?;
    p.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(now + Days::days(until_days))?;
    p.not_after = rcgen::date_time_ymd(y, m, d);
    Ok(p)
}

fn ymd(t: DateTime<Utc>) -> Result<(i32, u8, u8), String> {
    let small = |n: u32| u8::try_from(n).map_err(|e| e.to_string());
    Ok((t.year(), small(t.month())?, small(t.day())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Conversation, Greylist};
    use std::net::{IpAddr, Ipv4Addr};

    /// Runs `lines` through the persona's policy; `TLS` marks the handshake.
    fn dialogue(persona: Persona, lines: &[&str]) -> Vec<String> {
        let greylist = Greylist::new();
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut s = Conversation::new(persona, Ipv4Addr::new(127, 0, 41, 1), client);
        let mut out = Vec::new();
        for line in lines {
            if *line == "TLS" {
                s.tls_started();
                continue;
            }
            out.push(s.command(line, &greylist).lines.join("|"));
        }
        out
    }

    #[test]
    fn starttls_policies() {
        let got = dialogue(
            Persona::TlsRequired,
            &[
                "EHLO c.test",
                "MAIL FROM:<a@example.com>",
                "STARTTLS",
                "TLS",
                "MAIL FROM:<a@example.com>",
                "EHLO c.test",
                "MAIL FROM:<a@example.com>",
                "RCPT TO:<b@example.com>",
                "STARTTLS",
            ],
        );
        assert!(got[0].contains("250-STARTTLS"), "{}", got[0]);
        assert_eq!(got[1], "530 5.7.0 Must issue a STARTTLS command first");
        assert_eq!(got[2], "220 2.0.0 Ready to start TLS");
        // After the handshake the client must greet again, and STARTTLS is gone.
        assert_eq!(got[3], "503 5.5.1 Error: send HELO/EHLO first");
        assert!(!got[4].contains("STARTTLS"), "{}", got[4]);
        assert_eq!(got[5], "250 2.1.0 Ok");
        assert_eq!(got[6], "250 2.1.5 Ok");
        assert_eq!(got[7], "554 5.5.1 Error: TLS already active");

        let auth = dialogue(
            Persona::AuthBeforeTls,
            &["EHLO c.test", "TLS", "EHLO c.test"],
        );
        for ehlo in &auth {
            assert!(ehlo.contains("250-AUTH PLAIN LOGIN"), "{ehlo}");
        }
        assert!(auth[0].contains("STARTTLS") && !auth[1].contains("STARTTLS"));

        let closed = dialogue(Persona::Closed, &["EHLO c.test", "STARTTLS"]);
        assert!(!closed[0].contains("STARTTLS"));
        assert_eq!(closed[1], "502 5.5.2 Error: command not recognized");
    }

    #[test]
    fn certificates_for_the_lab() {
        let now = chrono::Utc::now();
        let lab = LabTls::generate(&Persona::ALL, now).unwrap_or_else(|e| panic!("{e}"));
        for p in Persona::ALL {
            assert_eq!(lab.server(p).is_some(), cert_spec(p).is_some(), "{p}");
        }
        // The CA's subject and signature are read by the scanner's certificate code, in
        // the scanner's tests (src/lab.rs).
        assert!(!lab.ca_der().is_empty());
        // Every persona with a certificate has the digest of its own key, and no two match.
        let digests = lab.spki_sha256();
        for p in Persona::ALL {
            assert_eq!(
                digests.get(&p).map(Vec::len),
                cert_spec(p).map(|_| 32),
                "{p}"
            );
        }
        let mut distinct: Vec<&Vec<u8>> = digests.values().collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), digests.len());
        // A lab of personas without TLS makes no certificate at all.
        let plain = LabTls::generate(&[Persona::Busy], now).unwrap_or_else(|e| panic!("{e}"));
        assert!(plain.ca_der().is_empty() && plain.server(Persona::Busy).is_none());
        // The closed persona's domain has an MTA-STS policy host: the CA is made for it.
        let sts = LabTls::generate(&[Persona::Closed], now).unwrap_or_else(|e| panic!("{e}"));
        assert!(sts.sts_policy().is_some() && sts.ca_pem().starts_with("-----BEGIN"));
        assert!(lab.sts_policy().is_some());
    }

    #[test]
    fn personas_and_their_tls() {
        // (persona, offers STARTTLS, implicit port, has a certificate)
        let table = [
            (Persona::OpenRelay, false, false, false),
            (Persona::StarttlsSelfSigned, true, false, true),
            (Persona::TlsRequired, true, false, true),
            (Persona::ExpiredCert, true, false, true),
            (Persona::TlsBroken, true, false, false),
            (Persona::StarttlsInjection, true, false, true),
            (Persona::ImplicitTls, false, true, true),
            (Persona::AuthBeforeTls, true, false, true),
            (Persona::StrayAfterMailTls, true, false, true),
            (Persona::ExtraRepliesTls, true, false, true),
            (Persona::ExtraReplies, false, false, false),
            (Persona::MustAuthFirst, true, false, false),
        ];
        for (p, starttls, implicit, cert) in table {
            assert_eq!(offers_starttls(p), starttls, "{p}");
            assert_eq!(implicit_tls(p), implicit, "{p}");
            assert_eq!(cert_spec(p).is_some(), cert, "{p}");
        }
        assert_eq!(
            after_starttls(Persona::TlsBroken),
            AfterStarttls::Refuse {
                record: &TLS10_PROTOCOL_VERSION_ALERT
            }
        );
        assert_eq!(
            after_starttls(Persona::StarttlsInjection),
            AfterStarttls::Handshake { inject: INJECTION }
        );
        assert_eq!(
            after_starttls(Persona::TlsRequired),
            AfterStarttls::Handshake { inject: b"" }
        );
    }
}
