//! TLS for the SMTP client: what is recorded about a server's TLS (`TlsReport`, `CertInfo`).
//!
//! The certificate is recorded, never enforced: the dialogue goes on whatever the chain,
//! the names or the validity window say, and the report tells the auditor what was seen.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
