//! DANE for SMTP (RFC 7672): the TLSA records of `_25._tcp.MX`, whether the answer was DNSSEC-authenticated, and the pure check of a record against the certificate chain a probe captured.
//!
//! The chain is matched through the digests the probe recorded of each certificate
//! ([`CertInfo`]: SHA-256 and SHA-512 of the DER and of the SubjectPublicKeyInfo), so
//! no DER is kept in the records. A record of matching type 0 (the full data) is
//! compared by its own SHA-256: equal digests mean equal data.

use serde::{Deserialize, Serialize};

use crate::smtp::cert::digest_hex;
use crate::smtp::tls::CertInfo;

/// The TLSA owner name of a mail host: RFC 7672 §2.2, SMTP on port 25 over TCP.
pub fn tlsa_name(host: &str) -> String {
    format!("_25._tcp.{}", super::normalize_name(host))
}

/// One TLSA record (RFC 6698 §2.1), its association data as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsaRecord {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: String,
}

impl TlsaRecord {
    /// `3 1 1 ab12...` as written in a zone file.
    pub fn presentation(&self) -> String {
        format!(
            "{} {} {} {}",
            self.usage, self.selector, self.matching, self.data
        )
    }

    /// The record back from [`TlsaRecord::presentation`]; `None` when it is not that form.
    pub fn from_presentation(text: &str) -> Option<TlsaRecord> {
        let mut words = text.split_ascii_whitespace();
        let mut number = || words.next()?.parse::<u8>().ok();
        let (usage, selector, matching) = (number()?, number()?, number()?);
        let data = words.next()?.to_string();
        match words.next() {
            None => Some(TlsaRecord {
                usage,
                selector,
                matching,
                data,
            }),
            Some(_) => None,
        }
    }
}

/// The TLSA answer of one name: its records and the resolver's AD bit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsaAnswer {
    pub records: Vec<TlsaRecord>,
    /// The resolver set AD: it validated the answer with DNSSEC. Without it a forged
    /// TLSA is as good as a real one, so the records protect nothing (RFC 7672 §2.2).
    pub authenticated: bool,
}

/// The TLSA records of one mail host, as the domain's resolution keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostTlsa {
    /// The mail host (`mx.example.com`).
    pub host: String,
    /// The name asked (`_25._tcp.mx.example.com`).
    pub name: String,
    /// Empty when the host publishes none (NXDOMAIN or no TLSA records).
    pub records: Vec<TlsaRecord>,
    pub authenticated: bool,
    /// A lookup that failed (SERVFAIL, timeout): unknown, not "no TLSA".
    pub lookup_error: Option<String>,
}

/// What one TLSA record says of a captured chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsaCheck {
    Matches,
    NoMatch,
    /// The record cannot be used for SMTP; the reason.
    Unusable(&'static str),
}

/// Checks `record` against `chain` (leaf first, as the server sent it). Usage 3
/// (DANE-EE) is matched against the leaf; usage 2 (DANE-TA) against the certificates
/// the server sent after the leaf (RFC 7672 §3.1.2: a server with a 2 x x record must
/// send the trust anchor in its chain). Usages 0 and 1 rely on public CAs that SMTP
/// senders do not use (RFC 7672 §3.1.3).
pub fn check(record: &TlsaRecord, chain: &[CertInfo]) -> TlsaCheck {
    let candidates = match record.usage {
        3 => chain.get(..1).unwrap_or_default(),
        2 => chain.get(1..).unwrap_or_default(),
        0 | 1 => return TlsaCheck::Unusable("usages 0 and 1 (PKIX) are not used with SMTP"),
        _ => return TlsaCheck::Unusable("unknown certificate usage"),
    };
    if record.selector > 1 {
        return TlsaCheck::Unusable("unknown selector");
    }
    let wanted = match record.matching {
        0 => match unhex(&record.data) {
            Some(bytes) => digest_hex(&ring::digest::SHA256, &bytes),
            None => return TlsaCheck::Unusable("association data is not hex"),
        },
        1 | 2 => record.data.to_ascii_lowercase(),
        _ => return TlsaCheck::Unusable("unknown matching type"),
    };
    let digest_of = |c: &CertInfo| -> String {
        let field = match (record.selector, record.matching) {
            (0, 0 | 1) => &c.sha256,
            (0, _) => &c.sha512,
            (_, 0 | 1) => &c.spki_sha256,
            (_, _) => &c.spki_sha512,
        };
        field.clone()
    };
    if candidates
        .iter()
        .any(|c| !digest_of(c).is_empty() && digest_of(c) == wanted)
    {
        TlsaCheck::Matches
    } else {
        TlsaCheck::NoMatch
    }
}

/// Bytes of a hex string (either case); `None` for an odd length or a non-hex digit.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

/// Lowercase hex of `bytes`, as TLSA data is kept.
pub fn hex(bytes: &[u8]) -> String {
    crate::smtp::cert::hex(bytes, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::cert::describe;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};

    /// A real chain made with rcgen: a CA and a leaf it signed (DER, leaf first), and
    /// the leaf's SubjectPublicKeyInfo.
    fn chain() -> (Vec<Vec<u8>>, Vec<u8>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_der = ca.self_signed(&ca_key).unwrap().der().to_vec();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["mx.example.com".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (
            vec![leaf.der().to_vec(), ca_der],
            key.subject_public_key_info(),
        )
    }

    fn record(usage: u8, selector: u8, matching: u8, data: &str) -> TlsaRecord {
        TlsaRecord {
            usage,
            selector,
            matching,
            data: data.to_string(),
        }
    }

    #[test]
    fn a_record_reads_back_from_its_presentation_form() {
        let r = TlsaRecord {
            usage: 3,
            selector: 1,
            matching: 1,
            data: "ab12".into(),
        };
        assert_eq!(TlsaRecord::from_presentation(&r.presentation()), Some(r));
        for bad in ["", "3 1 1", "3 1 x ab", "3 1 1 ab cd", "300 1 1 ab"] {
            assert_eq!(TlsaRecord::from_presentation(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn records_against_a_real_chain() {
        let (ders, leaf_spki) = chain();
        let now = chrono::Utc::now();
        let infos: Vec<CertInfo> = ders.iter().map(|d| describe(d, now)).collect();
        let sha256 = |b: &[u8]| digest_hex(&ring::digest::SHA256, b);
        let sha512 = |b: &[u8]| digest_hex(&ring::digest::SHA512, b);
        let ca_spki = {
            use x509_parser::prelude::FromDer;
            let (_, ca) = x509_parser::certificate::X509Certificate::from_der(&ders[1]).unwrap();
            ca.public_key().raw.to_vec()
        };
        let (leaf, ca) = (&ders[0], &ders[1]);
        use TlsaCheck::*;
        let table: Vec<(TlsaRecord, TlsaCheck)> = vec![
            // DANE-EE on the leaf: every selector and matching type.
            (record(3, 0, 0, &hex(leaf)), Matches),
            (record(3, 0, 1, &sha256(leaf)), Matches),
            (record(3, 0, 2, &sha512(leaf)), Matches),
            (record(3, 1, 0, &hex(&leaf_spki)), Matches),
            (record(3, 1, 1, &sha256(&leaf_spki)), Matches),
            (record(3, 1, 2, &sha512(&leaf_spki)), Matches),
            (record(3, 1, 1, &sha256(&leaf_spki).to_uppercase()), Matches),
            // DANE-TA on the CA the server sent; never on the leaf.
            (record(2, 0, 1, &sha256(ca)), Matches),
            (record(2, 1, 2, &sha512(&ca_spki)), Matches),
            (record(2, 0, 1, &sha256(leaf)), NoMatch),
            // DANE-EE never matches the CA.
            (record(3, 0, 1, &sha256(ca)), NoMatch),
            // A digest of the wrong part, or of something else.
            (record(3, 0, 1, &sha256(&leaf_spki)), NoMatch),
            (record(3, 1, 1, &sha256(b"another key")), NoMatch),
            (record(3, 0, 2, &sha256(leaf)), NoMatch),
            // Records SMTP cannot use.
            (
                record(1, 0, 1, &sha256(leaf)),
                Unusable("usages 0 and 1 (PKIX) are not used with SMTP"),
            ),
            (
                record(4, 0, 1, &sha256(leaf)),
                Unusable("unknown certificate usage"),
            ),
            (record(3, 2, 1, &sha256(leaf)), Unusable("unknown selector")),
            (
                record(3, 0, 3, &sha256(leaf)),
                Unusable("unknown matching type"),
            ),
            (
                record(3, 0, 0, "xyz"),
                Unusable("association data is not hex"),
            ),
        ];
        for (r, want) in table {
            assert_eq!(
                check(&r, &infos),
                want,
                "{} {} {}",
                r.usage,
                r.selector,
                r.matching
            );
        }
        // Nothing captured: nothing matches.
        assert_eq!(check(&record(3, 0, 1, &sha256(leaf)), &[]), NoMatch);
        assert_eq!(tlsa_name("MX.Example.com."), "_25._tcp.mx.example.com");
        assert_eq!(record(3, 1, 1, "ab").presentation(), "3 1 1 ab");
        assert_eq!(unhex("0aFf"), Some(vec![10, 255]));
        assert_eq!(unhex("abc"), None);
    }
}
