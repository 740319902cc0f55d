//! One probe of one endpoint: what it found (Dialogue), how far it got (Status) and what it concluded (Verdict).
//!
//! A probe never fails: per-host trouble is a [`Status`] with the partial dialogue kept.

pub mod findings;
pub mod relay;
pub mod runner;
pub mod timing;
pub mod tls_policy;
pub mod verdict;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::smtp::tls::TlsReport;
use crate::smtp::{Capabilities, Reply, TranscriptLine};
use crate::target::Endpoint;

pub use runner::{ProbeSettings, probe};
pub use timing::Timing;
pub use verdict::{Classification, classify};

/// How far a probe got. Only `Completed` means the dialogue ran to its planned end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The dialogue ran to QUIT (or to a polite end after a refusing greeting).
    Completed,
    /// The connection was refused (RST).
    Refused,
    /// No answer to the connection attempt within the connect timeout.
    ConnectTimeout,
    /// The network said the host or network is unreachable.
    Unreachable,
    /// Connected, but the server went silent longer than the read timeout.
    IoTimeout,
    /// Connected, but the whole-host deadline ran out (tarpits).
    HostTimeout,
    /// The server closed or reset the connection mid-dialogue.
    Dropped,
    /// The server answered with something that is not SMTP, or broke the reply limits.
    ProtocolError,
    /// The scan was interrupted (Ctrl-C) while this host was in flight.
    Cancelled,
    /// The host name did not resolve to any address.
    Unresolved,
    /// The TLS handshake failed where there was no plaintext to go on with (an
    /// implicit-TLS port). After a failed STARTTLS the probe goes on in plaintext instead.
    TlsFailed,
}

impl Status {
    /// Whether something accepted the TCP connection (the host "answered").
    pub fn answered(self) -> bool {
        !matches!(
            self,
            Status::Refused | Status::ConnectTimeout | Status::Unreachable | Status::Unresolved
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Refused => "refused",
            Status::ConnectTimeout => "connect-timeout",
            Status::Unreachable => "unreachable",
            Status::IoTimeout => "io-timeout",
            Status::HostTimeout => "host-timeout",
            Status::Dropped => "dropped",
            Status::ProtocolError => "protocol-error",
            Status::Cancelled => "cancelled",
            Status::Unresolved => "unresolved",
            Status::TlsFailed => "tls-failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the probe concluded about relaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Some test got MAIL 2xx and RCPT 2xx for a foreign recipient.
    OpenRelay,
    /// Every relay test was refused permanently.
    RelayDenied,
    /// Relaying was refused with 530: authentication first.
    AuthRequired,
    /// Temporary failures, drops or timeouts: no conclusion either way.
    Inconclusive,
    /// It answered, but not with SMTP.
    NotSmtp,
}

impl Verdict {
    pub const ALL: [Verdict; 5] = [
        Verdict::OpenRelay,
        Verdict::RelayDenied,
        Verdict::AuthRequired,
        Verdict::Inconclusive,
        Verdict::NotSmtp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::OpenRelay => "open-relay",
            Verdict::RelayDenied => "relay-denied",
            Verdict::AuthRequired => "auth-required",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotSmtp => "not-smtp",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One relay test as sent and answered. A missing reply means the dialogue ended before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayAttempt {
    /// The catalogue id (1-based), or 0 for the control recipient.
    pub id: u8,
    /// The reverse path as sent, with angle brackets.
    pub mail_from: String,
    /// The forward path as sent, with angle brackets.
    pub rcpt_to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rset: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcpt: Option<Reply>,
}

/// Why and where a dialogue stopped early, if it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    pub status: Status,
    /// The step that was under way, e.g. "greeting", "EHLO", "test 5 RCPT".
    pub step: String,
    pub detail: String,
}

/// The structured facts of one dialogue; the verdict is a pure function of these.
///
/// The top-level fields are the session before TLS (on an implicit-TLS port, where there
/// is no plaintext, they are the session inside TLS). `after_tls` is the session after a
/// successful STARTTLS: RFC 3207 makes the client forget what it learned before, so it
/// has its own EHLO, capabilities and relay tests, and `capabilities` here stays what the
/// server offers to anyone in plaintext (AUTH PLAIN before TLS is a finding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialogue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ehlo: Option<Reply>,
    /// The HELO reply, when EHLO was refused and we fell back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo: Option<Reply>,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub attempts: Vec<RelayAttempt>,
    /// The control RCPT to a mailbox at a domain that cannot exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<RelayAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interruption: Option<Interruption>,
    /// The reply to STARTTLS, when it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<Reply>,
    /// The session after the STARTTLS handshake succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_tls: Option<AfterTls>,
}

/// The dialogue after STARTTLS: EHLO again and, where `--relay-over` puts them (or a 530
/// asked for STARTTLS), the relay tests over TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterTls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ehlo: Option<Reply>,
    /// The HELO reply, when EHLO over TLS was refused and we fell back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo: Option<Reply>,
    /// Learned from the EHLO over TLS only; nothing carried over from before.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The relay tests run over TLS; empty when they ran in plaintext only.
    #[serde(default)]
    pub attempts: Vec<RelayAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<RelayAttempt>,
}

/// Everything one probe produced. Built by [`probe`], serialised by the report module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub endpoint: Endpoint,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub status: Status,
    /// What stopped the probe early, in words; `None` when it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The decisive reply or event behind the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Catalogue ids of the tests the server accepted (MAIL 2xx and RCPT 2xx).
    #[serde(default)]
    pub open_tests: Vec<u8>,
    /// The control RCPT (random mailbox, non-existent domain) was accepted: a possible sink.
    #[serde(default)]
    pub accepts_any_recipient: bool,
    /// The server's own name, from the greeting, else the EHLO reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    pub dialogue: Dialogue,
    pub transcript: Vec<TranscriptLine>,
    #[serde(default)]
    pub transcript_truncated: bool,
    /// TLS on this endpoint: STARTTLS or implicit, the handshake, the certificate audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsReport>,
    /// Where the time went and how many round trips the probe cost.
    #[serde(default)]
    pub timing: Timing,
}
