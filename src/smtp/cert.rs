//! Reads one DER certificate into a [`CertInfo`]: names, dates, key, signature, self-signed.
//!
//! Pure: no I/O, no clock (the scan time is an argument), so every field is pinned by
//! tests on certificates made with rcgen.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Utc};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::tls::{CertInfo, Validity};

/// Seconds in a day, for `days_left`.
const DAY: i64 = 86_400;

/// Parses `der`. A certificate that cannot be read still gets its fingerprint, with
/// the reason in `parse_error`: an auditor can look it up elsewhere.
pub fn describe(der: &[u8], now: DateTime<Utc>) -> CertInfo {
    let sha256 = digest_hex(&ring::digest::SHA256, der);
    let sha512 = digest_hex(&ring::digest::SHA512, der);
    let cert = match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert,
        Err(e) => {
            return CertInfo {
                sha256,
                sha512,
                parse_error: Some(e.to_string()),
                ..CertInfo::default()
            };
        }
    };
    let not_before = DateTime::from_timestamp(cert.validity().not_before.timestamp(), 0);
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0);
    let (key_type, key_bits) = key_of(&cert);
    CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans: sans_of(&cert),
        serial: hex(cert.raw_serial(), ":"),
        not_before,
        not_after,
        days_left: not_after.map(|t| (t - now).num_seconds().div_euclid(DAY)),
        key_type,
        key_bits,
        signature_algorithm: oid_name(&cert.signature_algorithm.algorithm),
        // Same name on both sides is not enough (a CA can issue a leaf named like
        // itself): the certificate's own key must verify its signature.
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw()
            && cert.verify_signature(None).is_ok(),
        sha256,
        sha512,
        spki_sha256: digest_hex(&ring::digest::SHA256, cert.public_key().raw),
        spki_sha512: digest_hex(&ring::digest::SHA512, cert.public_key().raw),
        parse_error: None,
    }
}

/// Where `now` falls in the certificate's validity window.
pub fn validity(cert: &CertInfo, now: DateTime<Utc>) -> Option<Validity> {
    let (from, until) = (cert.not_before?, cert.not_after?);
    Some(if now < from {
        Validity::NotYetValid
    } else if now > until {
        Validity::Expired
    } else {
        Validity::Valid
    })
}

fn sans_of(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_string()),
            GeneralName::IPAddress(bytes) => ip_of(bytes).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

/// The key algorithm by name, and its size in bits where that means something.
fn key_of(cert: &X509Certificate<'_>) -> (String, Option<u32>) {
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    let parsed = spki.parsed();
    match (algorithm.as_str(), parsed) {
        (_, Ok(PublicKey::RSA(rsa))) => ("RSA".into(), significant_bits(rsa.modulus)),
        (_, Ok(PublicKey::EC(point))) => {
            let bits = u32::try_from(point.key_size()).ok().filter(|&b| b > 0);
            ("EC".into(), bits)
        }
        (_, Ok(PublicKey::DSA(y))) => ("DSA".into(), significant_bits(y)),
        ("1.3.101.112", _) => ("Ed25519".into(), Some(256)),
        ("1.3.101.113", _) => ("Ed448".into(), Some(456)),
        _ => (oid_name(&spki.algorithm.algorithm), None),
    }
}

/// The modulus size of an RSA public key in DER: a SubjectPublicKeyInfo (what DKIM's
/// `p=` holds, RFC 6376 §3.6.1), or a bare PKCS#1 RSAPublicKey, which some publishers
/// put there instead. `None` for anything else.
pub fn rsa_key_bits(der: &[u8]) -> Option<u32> {
    use x509_parser::public_key::RSAPublicKey;
    use x509_parser::x509::SubjectPublicKeyInfo;
    if let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(der) {
        return match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => significant_bits(rsa.modulus),
            _ => None,
        };
    }
    let (_, rsa) = RSAPublicKey::from_der(der).ok()?;
    significant_bits(rsa.modulus)
}

/// Bits of a big-endian unsigned integer, leading zeros not counted.
fn significant_bits(bytes: &[u8]) -> Option<u32> {
    let start = bytes.iter().position(|&b| b != 0)?;
    let rest = bytes.get(start..)?;
    let first = rest.first()?;
    let len = u32::try_from(rest.len()).ok()?;
    Some(len * 8 - first.leading_zeros())
}

/// The OID's short name from the registry (`sha256WithRSAEncryption`), else dotted form.
fn oid_name(oid: &Oid<'_>) -> String {
    match oid2sn(oid, oid_registry()) {
        Ok(name) => name.to_string(),
        Err(_) => oid.to_id_string(),
    }
}

/// The lowercase hex digest of `bytes`.
pub fn digest_hex(algorithm: &'static ring::digest::Algorithm, bytes: &[u8]) -> String {
    hex(ring::digest::digest(algorithm, bytes).as_ref(), "")
}

/// Lowercase hex of `bytes`, `separator` between bytes.
pub(crate) fn hex(bytes: &[u8], separator: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
        PKCS_ED25519,
    };

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn params(cn: &str, sans: &[&str]) -> CertificateParams {
        let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap_or_else(|e| panic!("{e}"));
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2025, 12, 31);
        p
    }

    fn key(alg: &'static rcgen::SignatureAlgorithm) -> KeyPair {
        KeyPair::generate_for(alg).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn self_signed_ec_certificate() {
        let mut p = params("mx.example.com", &["mx.example.com", "192.0.2.25"]);
        p.serial_number = Some(vec![0x01, 0xa2, 0xff].into());
        let k = key(&PKCS_ECDSA_P256_SHA256);
        let cert = p.self_signed(&k).unwrap_or_else(|e| panic!("{e}"));
        let info = describe(cert.der(), at(2025, 12, 1));
        assert_eq!(info.subject, "CN=mx.example.com");
        assert_eq!(info.issuer, "CN=mx.example.com");
        assert_eq!(info.sans, vec!["mx.example.com", "192.0.2.25"]);
        assert_eq!(info.serial, "01:a2:ff");
        assert_eq!(info.not_before, Some(at(2025, 1, 1)));
        assert_eq!(info.not_after, Some(at(2025, 12, 31)));
        assert_eq!(info.days_left, Some(30));
        assert_eq!(info.key_type, "EC");
        assert_eq!(info.key_bits, Some(256));
        assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
        assert!(info.self_signed);
        assert_eq!(info.sha256.len(), 64);
        assert_eq!(info.parse_error, None);
    }

    #[test]
    fn leaf_signed_by_a_ca_is_not_self_signed_even_with_the_same_name() {
        let ca_key = key(&PKCS_ECDSA_P256_SHA256);
        let mut ca = params("Same Name", &[]);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = key(&PKCS_ED25519);
        let leaf = params("Same Name", &["a.example.com"])
            .signed_by(&leaf_key, &issuer)
            .unwrap_or_else(|e| panic!("{e}"));
        let info = describe(leaf.der(), at(2025, 6, 1));
        assert_eq!(info.subject, info.issuer);
        assert!(!info.self_signed);
        assert_eq!(info.key_type, "Ed25519");
        assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
    }

    #[test]
    fn days_left_and_validity_window() {
        let k = key(&PKCS_ECDSA_P256_SHA256);
        let cert = params("x", &["x.example"])
            .self_signed(&k)
            .unwrap_or_else(|e| panic!("{e}"));
        let table = [
            (at(2024, 12, 31), 365, Validity::NotYetValid),
            (at(2025, 6, 1), 213, Validity::Valid),
            (at(2025, 12, 31), 0, Validity::Valid),
            (at(2026, 1, 2), -2, Validity::Expired),
        ];
        for (now, days, want) in table {
            let info = describe(cert.der(), now);
            assert_eq!(info.days_left, Some(days), "{now}");
            assert_eq!(validity(&info, now), Some(want), "{now}");
        }
    }

    #[test]
    fn garbage_is_a_parse_error_with_a_fingerprint() {
        let info = describe(b"not a certificate", at(2025, 1, 1));
        assert!(info.parse_error.is_some());
        // sha256sum of the same 17 bytes.
        assert_eq!(
            info.sha256,
            "47209c9b7af839de69e9a9cd625e9182c1ad63dae79ed88a2dd680fe34218620"
        );
        assert!(info.subject.is_empty() && info.not_after.is_none());
        assert_eq!(validity(&info, at(2025, 1, 1)), None);
    }

    #[test]
    fn bit_counts() {
        let table: [(&[u8], Option<u32>); 5] = [
            (&[0x00, 0x80, 0x00], Some(16)),
            (&[0x7f, 0xff], Some(15)),
            (&[0x01], Some(1)),
            (&[0x00, 0x00], None),
            (&[], None),
        ];
        for (bytes, want) in table {
            assert_eq!(significant_bits(bytes), want, "{bytes:?}");
        }
    }
}
