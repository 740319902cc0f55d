//! TLS: what is recorded about a server's TLS (`TlsReport`, `CertInfo`), and the only
//! module of the scanner that touches rustls (the client handshake and the audit).
//!
//! The certificate is recorded, never enforced: the dialogue goes on whatever the chain,
//! the names or the validity window say, and the report tells the auditor what was seen.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, DnsName, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, CipherSuite, ClientConfig, DigitallySignedStruct, ProtocolVersion,
    RootCertStore, SignatureScheme,
};
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsConnector;

use super::cert;
use super::literal::parse_address_literal;
use super::session::AsyncStream;

/// How TLS was entered on an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plaintext first, then the STARTTLS command (RFC 3207).
    Starttls,
    /// The TLS handshake before any SMTP byte (RFC 8314; port 465 by default).
    Implicit,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "implicit",
        }
    }
}

/// The leaf certificate's validity window at the time of the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validity {
    Valid,
    /// `not_after` is in the past.
    Expired,
    /// `not_before` is in the future.
    NotYetValid,
}

impl Validity {
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Expired => "expired",
            Validity::NotYetValid => "not-yet-valid",
        }
    }
}

/// Where a name we checked the certificate against came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    /// The host name the target was given by (the endpoint came from resolving it).
    Target,
    /// The first word of the 220 greeting.
    Greeting,
    /// The first word of the EHLO reply (the one after TLS when there was one).
    Ehlo,
}

/// One name we know for the server, and whether the leaf certificate covers it
/// (SAN DNS names and addresses, wildcards per RFC 6125, as webpki matches them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCheck {
    pub name: String,
    pub source: NameSource,
    pub matches: bool,
}

/// One certificate of the chain the server sent, as parsed from its DER.
///
/// Fields that could not be read are `None` (or empty); `parse_error` then says why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// RFC 4514 form, e.g. `CN=mx.example.com, O=Example`.
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub issuer: String,
    /// Subject alternative names: DNS names as written, IP addresses in text form.
    #[serde(default)]
    pub sans: Vec<String>,
    /// The serial number in hex, colon-separated bytes (`01:a2:...`).
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    #[serde(default)]
    pub not_after: Option<DateTime<Utc>>,
    /// Whole days from the scan to `not_after`, rounded down; negative once expired.
    #[serde(default)]
    pub days_left: Option<i64>,
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA` or the key algorithm's OID.
    #[serde(default)]
    pub key_type: String,
    /// Modulus bits for RSA/DSA, curve size for EC (256 for P-256).
    #[serde(default)]
    pub key_bits: Option<u32>,
    /// The signature algorithm by name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`,
    /// `ED25519`), else its OID.
    #[serde(default)]
    pub signature_algorithm: String,
    /// Issuer equals subject and the signature verifies with the certificate's own key.
    #[serde(default)]
    pub self_signed: bool,
    /// SHA-256 of the DER, lowercase hex: identifies the certificate across scans.
    #[serde(default)]
    pub sha256: String,
    /// SHA-512 of the DER, lowercase hex: DANE matching type 2 (RFC 6698 §2.1.3).
    #[serde(default)]
    pub sha512: String,
    /// SHA-256 and SHA-512 of the SubjectPublicKeyInfo (DER), lowercase hex: DANE
    /// selector 1 (RFC 6698 §2.1.2). The digests stand for the DER itself too: a TLSA of
    /// matching type 0 is compared by its own SHA-256.
    #[serde(default)]
    pub spki_sha256: String,
    #[serde(default)]
    pub spki_sha512: String,
    #[serde(default)]
    pub parse_error: Option<String>,
}

/// What TLS looked like on one endpoint.
///
/// `Outcome.tls` is `None` only when the probe never got as far as TLS could matter
/// (nothing answered, no greeting, EHLO and HELO refused). Otherwise it is present, also
/// when STARTTLS was not offered (`offered: false, attempted: false`), so "no STARTTLS"
/// is a recorded fact rather than a missing object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsReport {
    pub mode: TlsMode,
    /// STARTTLS was advertised in the plaintext EHLO. Always false for implicit TLS.
    #[serde(default)]
    pub offered: bool,
    /// We started TLS: sent STARTTLS, or began the handshake on an implicit-TLS port.
    #[serde(default)]
    pub attempted: bool,
    /// The handshake completed.
    #[serde(default)]
    pub established: bool,
    /// Why TLS was not established: `not offered`, `not tried: --starttls never`,
    /// `STARTTLS refused: 454 4.7.0 ...`, `handshake failed: ...`.
    #[serde(default)]
    pub error: Option<String>,
    /// The TLS alert the server sent when the handshake failed on one, in the RFC 8446
    /// spelling (`protocol_version`, `handshake_failure`).
    #[serde(default)]
    pub alert: Option<String>,
    /// The negotiated version: `TLSv1.3`, `TLSv1.2`.
    #[serde(default)]
    pub version: Option<String>,
    /// The negotiated cipher suite by its IANA name (`TLS_AES_256_GCM_SHA384`).
    #[serde(default)]
    pub cipher_suite: Option<String>,
    /// The server name sent in SNI; `None` when only an address was known.
    #[serde(default)]
    pub sni: Option<String>,
    /// Plaintext bytes that arrived after the 220 to STARTTLS and before the handshake.
    /// They are dropped unread (response injection, CVE-2021-38371); the transcript
    /// shows them, escaped, in a note. 0 from an honest server.
    #[serde(default)]
    pub discarded_plaintext: usize,
    /// The certificates the server sent, leaf first, in its order.
    #[serde(default)]
    pub chain: Vec<CertInfo>,
    /// The chain verifies to a Mozilla root (webpki-roots) at the scan time, validity
    /// window included. `None` when no certificate was received.
    #[serde(default)]
    pub chain_valid: Option<bool>,
    /// Why the chain did not verify (`UnknownIssuer`, `Expired`, ...).
    #[serde(default)]
    pub chain_error: Option<String>,
    /// The leaf's validity window at the scan time; `None` without a readable leaf.
    #[serde(default)]
    pub validity: Option<Validity>,
    /// Every name we know for the server, checked against the leaf.
    #[serde(default)]
    pub names: Vec<NameCheck>,
    /// The leaf covers at least one name in `names`; `None` without a leaf or a name.
    #[serde(default)]
    pub name_match: Option<bool>,
    /// The STARTTLS handshake failed and the probe went on over a new plaintext
    /// connection (without STARTTLS), as an opportunistic sender would.
    #[serde(default)]
    pub plaintext_fallback: bool,
}

impl TlsReport {
    /// A report with nothing learned yet.
    pub fn new(mode: TlsMode) -> Self {
        TlsReport {
            mode,
            offered: false,
            attempted: false,
            established: false,
            error: None,
            alert: None,
            version: None,
            cipher_suite: None,
            sni: None,
            discarded_plaintext: 0,
            chain: Vec::new(),
            chain_valid: None,
            chain_error: None,
            validity: None,
            names: Vec::new(),
            name_match: None,
            plaintext_fallback: false,
        }
    }

    /// The leaf certificate, when one was received.
    pub fn leaf(&self) -> Option<&CertInfo> {
        self.chain.first()
    }
}

// ---------------------------------------------------------------------------------------
// The rustls side. Nothing else in the scanner names rustls or tokio-rustls (the lab's
// TLS server is in the relayscan-lab crate).
// ---------------------------------------------------------------------------------------

/// The name, when a server name (not an address) is known, that SNI carries.
fn server_name_for(name: Option<&str>, peer: IpAddr) -> ServerName<'static> {
    name.and_then(|n| DnsName::try_from(n.to_string()).ok())
        .map(ServerName::DnsName)
        .unwrap_or(ServerName::IpAddress(peer.into()))
}

/// A name as it may appear in a greeting (`mx.example.com`, `[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`) as rustls wants it for a name check.
fn checkable_name(name: &str) -> Option<ServerName<'static>> {
    let trimmed = name.trim_end_matches('.');
    if trimmed.starts_with('[') {
        return parse_address_literal(trimmed).map(|ip| ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(trimmed.to_string()).ok()
}

/// `ProtocolVersion::TLSv1_3` as people write it: `TLSv1.3`.
fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        ProtocolVersion::TLSv1_0 => "TLSv1.0".into(),
        other => format!("{other:?}"),
    }
}

/// The IANA name of a suite; rustls writes TLS 1.3 suites as `TLS13_...`.
fn suite_name(suite: CipherSuite) -> String {
    let name = suite
        .as_str()
        .map_or_else(|| format!("{suite:?}"), str::to_string);
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// `ProtocolVersion` → `protocol_version`: the RFC 8446 spelling of an alert.
fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Records the chain the server presents and accepts it, whatever it is: relayscan
/// audits certificates, it does not enforce them. Handshake signatures are still
/// checked against the presented key, so the chain recorded is the one the server holds
/// the key for.
#[derive(Debug)]
struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    chain: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        *self.chain.lock().unwrap_or_else(|e| e.into_inner()) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A completed handshake: what was negotiated and the chain the server sent (DER).
#[derive(Debug, Clone)]
pub struct Handshake {
    pub version: String,
    pub cipher_suite: String,
    pub sni: Option<String>,
    pub chain: Vec<Vec<u8>>,
}

/// A failed handshake: the error in words, the server's alert if it sent one, and the
/// chain when it came before the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeFailure {
    pub error: String,
    pub alert: Option<String>,
    pub chain: Vec<Vec<u8>>,
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)
    }
}

/// The TLS client of a scan: the ring provider and the Mozilla roots, built once and
/// shared by every probe. Each handshake gets its own config (its own recording
/// verifier) and no session resumption, so every probe sees the full chain.
#[derive(Clone)]
pub struct TlsClient {
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

impl Default for TlsClient {
    fn default() -> Self {
        TlsClient::new()
    }
}

impl TlsClient {
    /// Verifies chains against the Mozilla root program (webpki-roots).
    pub fn new() -> Self {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        TlsClient {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Arc::new(roots),
        }
    }

    /// Verifies chains against these roots instead (DER); for tests, which cannot get a
    /// certificate from a Mozilla-trusted CA.
    pub fn with_roots(roots: &[Vec<u8>]) -> Result<Self, String> {
        let mut store = RootCertStore::empty();
        for der in roots {
            store
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| e.to_string())?;
        }
        Ok(TlsClient {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Arc::new(store),
        })
    }

    /// The Mozilla roots plus the certificate authorities in `pem` (the text of a
    /// `--ca-file`: one or more PEM certificates). `what` names the file in errors.
    pub fn with_extra_roots(pem: &[u8], what: &str) -> Result<Self, String> {
        use rustls::pki_types::pem::PemObject;
        let mut store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("{what}: not a PEM certificate: {e}"))?;
            store
                .add(cert)
                .map_err(|e| format!("{what}: not a usable CA certificate: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "{what}: holds no PEM certificate (BEGIN CERTIFICATE)"
            ));
        }
        Ok(TlsClient {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Arc::new(store),
        })
    }

    /// A TLS connection to `name` over `stream` that verifies the chain against the
    /// roots and the name (webpki), as an HTTPS client must: the MTA-STS policy fetch
    /// (RFC 8461 §3.3). No session resumption, no client certificate.
    pub async fn connect_verified(
        &self,
        stream: Box<dyn AsyncStream>,
        name: &str,
    ) -> Result<Box<dyn AsyncStream>, String> {
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|e| format!("{name:?} is not a server name: {e}"))?;
        let mut config = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_root_certificates(Arc::clone(&self.roots))
            .with_no_client_auth();
        config.resumption = Resumption::disabled();
        let connector = TlsConnector::from(Arc::new(config));
        match connector.connect(server_name, stream).await {
            Ok(tls) => Ok(Box::new(tls)),
            Err(e) => {
                let inner = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>());
                Err(match inner {
                    Some(t) => format!("TLS: {t}"),
                    None => format!("TLS: {e}"),
                })
            }
        }
    }

    /// Runs the client handshake over `stream`. `name` is the server's host name when
    /// one is known (sent as SNI); without one, no SNI is sent.
    pub async fn handshake(
        &self,
        stream: Box<dyn AsyncStream>,
        name: Option<&str>,
        peer: IpAddr,
    ) -> Result<(Box<dyn AsyncStream>, Handshake), HandshakeFailure> {
        let chain = Arc::new(Mutex::new(Vec::new()));
        let verifier = Arc::new(RecordingVerifier {
            provider: Arc::clone(&self.provider),
            chain: Arc::clone(&chain),
        });
        let recorded = || std::mem::take(&mut *chain.lock().unwrap_or_else(|e| e.into_inner()));
        let mut config = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| HandshakeFailure {
                error: format!("TLS configuration: {e}"),
                alert: None,
                chain: Vec::new(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // A resumed session carries no certificate, and each probe must see the chain.
        config.resumption = Resumption::disabled();
        let server_name = server_name_for(name, peer);
        let sni = match &server_name {
            ServerName::DnsName(d) => Some(d.as_ref().to_string()),
            _ => None,
        };
        let connector = TlsConnector::from(Arc::new(config));
        match connector.connect(server_name, stream).await {
            Ok(tls) => {
                let (_, conn) = tls.get_ref();
                let handshake = Handshake {
                    version: conn
                        .protocol_version()
                        .map_or_else(|| "unknown".into(), version_name),
                    cipher_suite: conn
                        .negotiated_cipher_suite()
                        .map_or_else(|| "unknown".into(), |s| suite_name(s.suite())),
                    sni,
                    chain: recorded(),
                };
                Ok((Box::new(tls), handshake))
            }
            Err(e) => {
                let tls_error = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>());
                let alert = match tls_error {
                    Some(rustls::Error::AlertReceived(a)) => Some(snake_case(&format!("{a:?}"))),
                    _ => None,
                };
                let error = match tls_error {
                    Some(t) => t.to_string(),
                    None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        "the server closed the connection during the handshake".into()
                    }
                    None => e.to_string(),
                };
                Err(HandshakeFailure {
                    error,
                    alert,
                    chain: recorded(),
                })
            }
        }
    }

    /// Fills the certificate fields of `report` from the chain the server sent (leaf
    /// first): each certificate described, the chain checked against the roots at `now`,
    /// the validity window, and the leaf checked against every name we know.
    pub fn audit(
        &self,
        report: &mut TlsReport,
        chain: &[Vec<u8>],
        names: &[(String, NameSource)],
        now: DateTime<Utc>,
    ) {
        report.chain = chain.iter().map(|der| cert::describe(der, now)).collect();
        report.validity = report.leaf().and_then(|leaf| cert::validity(leaf, now));
        let Some(leaf_der) = chain.first() else {
            return;
        };
        let leaf_der = CertificateDer::from(leaf_der.as_slice());
        let parsed = match ParsedCertificate::try_from(&leaf_der) {
            Ok(p) => p,
            Err(e) => {
                report.chain_valid = Some(false);
                report.chain_error = Some(e.to_string());
                return;
            }
        };
        let intermediates: Vec<CertificateDer<'_>> = chain
            .iter()
            .skip(1)
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
        let verified = rustls::client::verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.roots,
            &intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(seconds)),
            self.provider.signature_verification_algorithms.all,
        );
        report.chain_valid = Some(verified.is_ok());
        report.chain_error = verified.err().map(|e| chain_error_text(&e));

        report.names.clear();
        for (name, source) in names {
            if report
                .names
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let matches = checkable_name(name)
                .is_some_and(|sn| rustls::client::verify_server_name(&parsed, &sn).is_ok());
            report.names.push(NameCheck {
                name: name.clone(),
                source: *source,
                matches,
            });
        }
        report.name_match =
            (!report.names.is_empty()).then(|| report.names.iter().any(|c| c.matches));
    }
}

/// A chain error as a short reason: the certificate error's name where there is one.
fn chain_error_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "Expired".into(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "NotValidYet".into()
            }
            CertificateError::UnknownIssuer => "UnknownIssuer".into(),
            CertificateError::BadSignature => "BadSignature".into(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
    };
    use relayscan_lab::tls_server::TlsServer;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    /// A lab-style chain: a CA and a leaf for `names`, valid through 2030.
    struct Chain {
        ca: Vec<u8>,
        leaf: Vec<u8>,
        leaf_key: Vec<u8>,
    }

    fn chain(names: &[&str]) -> Chain {
        let key =
            || KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| panic!("{e}"));
        let params = |names: &[&str], cn: &str| {
            let mut p =
                CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .unwrap_or_else(|e| panic!("{e}"));
            p.distinguished_name.push(DnType::CommonName, cn);
            p.not_before = rcgen::date_time_ymd(2024, 1, 1);
            p.not_after = rcgen::date_time_ymd(2030, 1, 1);
            p
        };
        let ca_key = key();
        let mut ca = params(&[], "Test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_der = ca
            .self_signed(&ca_key)
            .unwrap_or_else(|e| panic!("{e}"))
            .der()
            .to_vec();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = key();
        let leaf = params(names, names.first().copied().unwrap_or("leaf"))
            .signed_by(&leaf_key, &issuer)
            .unwrap_or_else(|e| panic!("{e}"));
        Chain {
            ca: ca_der,
            leaf: leaf.der().to_vec(),
            leaf_key: leaf_key.serialize_der(),
        }
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn names(list: &[(&str, NameSource)]) -> Vec<(String, NameSource)> {
        list.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    #[test]
    fn audit_against_our_own_roots() {
        let c = chain(&["mx.example.com", "192.0.2.25"]);
        let client =
            TlsClient::with_roots(std::slice::from_ref(&c.ca)).unwrap_or_else(|e| panic!("{e}"));
        let sent = vec![c.leaf.clone(), c.ca.clone()];
        let known = names(&[
            ("mx.example.com", NameSource::Greeting),
            ("MX.example.com", NameSource::Ehlo),
            ("[192.0.2.25]", NameSource::Ehlo),
            ("other.example.net", NameSource::Target),
        ]);
        let mut report = TlsReport::new(TlsMode::Starttls);
        client.audit(&mut report, &sent, &known, at(2025, 6, 1));
        assert_eq!(report.chain.len(), 2);
        assert_eq!(report.chain[0].subject, "CN=mx.example.com");
        assert_eq!(report.chain[0].issuer, "CN=Test CA");
        assert!(report.chain[1].self_signed);
        assert_eq!(report.chain_valid, Some(true));
        assert_eq!(report.chain_error, None);
        assert_eq!(report.validity, Some(Validity::Valid));
        // The same name twice is checked once; an address literal is checked as an address.
        let checks: Vec<(&str, bool)> = report
            .names
            .iter()
            .map(|c| (c.name.as_str(), c.matches))
            .collect();
        assert_eq!(
            checks,
            vec![
                ("mx.example.com", true),
                ("[192.0.2.25]", true),
                ("other.example.net", false)
            ]
        );
        assert_eq!(report.name_match, Some(true));

        // After the window: the chain no longer verifies, and says why.
        let mut late = TlsReport::new(TlsMode::Starttls);
        client.audit(&mut late, &sent, &known, at(2031, 1, 1));
        assert_eq!(late.chain_valid, Some(false));
        assert_eq!(late.chain_error.as_deref(), Some("Expired"));
        assert_eq!(late.validity, Some(Validity::Expired));
    }

    #[test]
    fn audit_against_the_mozilla_roots_and_without_names() {
        let c = chain(&["mx.example.com"]);
        let mut report = TlsReport::new(TlsMode::Implicit);
        TlsClient::new().audit(&mut report, &[c.leaf], &[], at(2025, 6, 1));
        assert_eq!(report.chain_valid, Some(false));
        assert_eq!(report.chain_error.as_deref(), Some("UnknownIssuer"));
        assert!(report.names.is_empty());
        assert_eq!(
            report.name_match, None,
            "no name known, no verdict on names"
        );

        let mut mismatch = TlsReport::new(TlsMode::Implicit);
        let c = chain(&["mail.example.com"]);
        let known = names(&[("mx.example.com", NameSource::Greeting)]);
        TlsClient::new().audit(&mut mismatch, &[c.leaf], &known, at(2025, 6, 1));
        assert_eq!(mismatch.name_match, Some(false));

        let mut empty = TlsReport::new(TlsMode::Starttls);
        TlsClient::new().audit(&mut empty, &[], &known, at(2025, 6, 1));
        assert_eq!(
            (empty.chain_valid, empty.validity, empty.name_match),
            (None, None, None)
        );
    }

    #[test]
    fn names_as_servers_write_them() {
        let table = [
            ("mx.example.com", true),
            ("mx.example.com.", true),
            ("[192.0.2.1]", true),
            ("[IPv6:2001:db8::1]", true),
            ("[ipv6:2001:db8::1]", true),
            ("[x:DATA]", false),
            ("[2001:db8::1]", false),
            ("[not an address]", false),
            ("bad name!", false),
        ];
        for (name, ok) in table {
            assert_eq!(checkable_name(name).is_some(), ok, "{name}");
        }
        assert_eq!(snake_case("ProtocolVersion"), "protocol_version");
        assert_eq!(snake_case("HandshakeFailure"), "handshake_failure");
        assert_eq!(
            suite_name(CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            suite_name(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
    }

    async fn listener() -> (TcpListener, std::net::SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
        (l, addr)
    }

    #[tokio::test]
    async fn handshake_records_version_suite_and_chain() {
        let c = chain(&["mx.example.com"]);
        let server = TlsServer::new(&[c.leaf.clone(), c.ca.clone()], &c.leaf_key)
            .unwrap_or_else(|e| panic!("{e}"));
        let (l, addr) = listener().await;
        tokio::spawn(async move {
            if let Ok((s, _)) = l.accept().await
                && let Ok(mut tls) = server.accept(s).await
            {
                let _ = tls.write_all(b"220 over TLS\r\n").await;
                let _ = tls.flush().await;
                let mut sink = [0u8; 16];
                let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut sink).await;
            }
        });
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut stream, hs) = TlsClient::new()
            .handshake(Box::new(tcp), Some("mx.example.com"), addr.ip())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hs.version, "TLSv1.3");
        assert!(hs.cipher_suite.starts_with("TLS_"), "{}", hs.cipher_suite);
        assert_eq!(hs.sni.as_deref(), Some("mx.example.com"));
        assert_eq!(
            hs.chain,
            vec![c.leaf, c.ca],
            "the chain as sent, leaf first"
        );
        let mut got = [0u8; 14];
        tokio::io::AsyncReadExt::read_exact(&mut stream, &mut got)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&got, b"220 over TLS\r\n");
    }

    #[tokio::test]
    async fn a_tls10_only_server_fails_the_handshake_with_its_alert() {
        let (l, addr) = listener().await;
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let mut hello = [0u8; 512];
                let _ = tokio::io::AsyncReadExt::read(&mut s, &mut hello).await;
                // A fatal protocol_version alert in a TLS 1.0 record.
                let _ = s
                    .write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])
                    .await;
            }
        });
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let r = TlsClient::new()
            .handshake(Box::new(tcp), None, addr.ip())
            .await;
        let Err(failure) = r else {
            panic!("the handshake cannot succeed");
        };
        assert_eq!(failure.alert.as_deref(), Some("protocol_version"));
        assert_eq!(failure.error, "received fatal alert: ProtocolVersion");
        assert!(failure.chain.is_empty());
    }

    #[tokio::test]
    async fn a_server_that_hangs_up_fails_the_handshake_in_words() {
        let (l, addr) = listener().await;
        tokio::spawn(async move {
            if let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        });
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let r = TlsClient::new()
            .handshake(Box::new(tcp), None, addr.ip())
            .await;
        let Err(failure) = r else {
            panic!("the handshake cannot succeed");
        };
        assert_eq!(failure.alert, None);
        assert!(!failure.error.is_empty());
    }
}
