//! Findings: what an auditor must act on for one endpoint, each with a stable id, a severity, the evidence and the fix.
//!
//! Every probe's facts go through [`draw`], a pure function, so that a report regenerated
//! from JSON Lines and a live scan agree. Ids are stable (documented in docs/reports.md):
//! reports, diffs and CI gates key on them. Titles and severities belong to the id; the
//! detail and the evidence belong to the host.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::advisories::{self, BACKPORT_CAVEAT, Kind, Match};
use super::remediation::remediation;
use super::tls;
use super::verdict::Verdict;
use crate::probe::{Dialogue, Leg, RelayAttempt, Status};
use crate::smtp::fingerprint::{
    Mta, Software, detect as detect_mta, disclosed_version, software_named,
};
use crate::smtp::{Reply, TlsReport};

/// How urgent a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Most severe first, the order reports list them in.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity {s:?} (expected critical, high, medium, low or info)")
            })
    }
}

/// The catalogue of findings. The kebab-case name is the stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingId {
    /// Relays mail for a stranger to a foreign domain.
    OpenRelay,
    /// Accepted a recipient at a domain that cannot exist: an accept-all server.
    AcceptsAnyRecipient,
    /// Relaying is refused in plaintext but allowed after STARTTLS.
    RelayOnlyAfterStarttls,
    /// AUTH PLAIN or LOGIN offered before TLS: passwords in the clear.
    AuthBeforeTls,
    /// The certificate's validity period has ended.
    TlsCertExpired,
    /// The certificate's validity period has not begun.
    TlsCertNotYetValid,
    /// No STARTTLS in the EHLO reply.
    StarttlsMissing,
    /// Plaintext arrived after the 220 to STARTTLS, before the handshake.
    StarttlsInjection,
    /// STARTTLS offered but the TLS handshake failed.
    TlsHandshakeFailed,
    /// The certificate signs itself.
    TlsCertSelfSigned,
    /// The chain does not lead to a trusted root.
    TlsCertUntrusted,
    /// The certificate names none of the names we know the server by.
    TlsCertNameMismatch,
    /// The certificate expires within 30 days.
    TlsCertExpiringSoon,
    /// The greeting names the software and its version.
    BannerVersion,
    /// Deferred or cut short: no conclusion about relaying.
    RelayInconclusive,
    /// Something other than SMTP answers on a mail port.
    NotSmtp,
    /// Configuration audit: relaying is trusted to networks beyond the host's own.
    TrustedNetworksTooWide,
    /// Configuration audit: relaying to more destination domains than the server serves.
    RelayDomainsTooBroad,
    /// Configuration audit: mail from senders at domains that do not resolve is accepted.
    AcceptsUnresolvableDomains,
    /// Configuration audit: VRFY answers, so addresses can be enumerated.
    VrfyEnabled,
    /// Configuration audit: no per-client connection or message rate limit.
    NoRateLimits,
    /// Mail log: a message from an unauthenticated client outside mynetworks was delivered
    /// to a recipient outside the local domains.
    RelayedForStranger,
    /// Mail log: an authenticated user sent to many recipients outside the local domains.
    AuthenticatedMassSending,
    /// Mail log: many failed SASL logins from one client.
    SaslLoginFailures,
    /// Mail log: a client or user sent more messages in one hour than the threshold.
    VolumeSpike,
    /// Mail log: relay attempts refused, from one source.
    RelayAttemptsRefused,
    /// Mail log: lines that could not be read.
    UnreadableLogLines,
    /// The version shown falls under an advisory whose CVE is in CISA's KEV catalogue.
    KnownExploitedSoftware,
    /// The version shown falls under a published security advisory.
    VulnerableSoftware,
    /// The version shown belongs to a release line its maintainers no longer fix.
    EndOfLifeSoftware,
    /// The address is on a DNS blocklist of spam sources or exploited hosts.
    Blocklisted,
    /// The address is on a policy blocklist (ranges that should not send mail directly).
    BlocklistedPolicy,
}

impl FindingId {
    /// Every id, most severe first (the order of the table in docs/reports.md).
    pub const ALL: [FindingId; 32] = [
        FindingId::OpenRelay,
        FindingId::RelayedForStranger,
        FindingId::KnownExploitedSoftware,
        FindingId::AcceptsAnyRecipient,
        FindingId::RelayOnlyAfterStarttls,
        FindingId::AuthBeforeTls,
        FindingId::TrustedNetworksTooWide,
        FindingId::RelayDomainsTooBroad,
        FindingId::AuthenticatedMassSending,
        FindingId::VulnerableSoftware,
        FindingId::Blocklisted,
        FindingId::TlsCertExpired,
        FindingId::TlsCertNotYetValid,
        FindingId::StarttlsMissing,
        FindingId::StarttlsInjection,
        FindingId::TlsHandshakeFailed,
        FindingId::AcceptsUnresolvableDomains,
        FindingId::SaslLoginFailures,
        FindingId::VolumeSpike,
        FindingId::EndOfLifeSoftware,
        FindingId::TlsCertSelfSigned,
        FindingId::TlsCertUntrusted,
        FindingId::TlsCertNameMismatch,
        FindingId::TlsCertExpiringSoon,
        FindingId::BannerVersion,
        FindingId::VrfyEnabled,
        FindingId::NoRateLimits,
        FindingId::RelayAttemptsRefused,
        FindingId::RelayInconclusive,
        FindingId::NotSmtp,
        FindingId::UnreadableLogLines,
        FindingId::BlocklistedPolicy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingId::OpenRelay => "open-relay",
            FindingId::AcceptsAnyRecipient => "accepts-any-recipient",
            FindingId::RelayOnlyAfterStarttls => "relay-only-after-starttls",
            FindingId::AuthBeforeTls => "auth-before-tls",
            FindingId::TlsCertExpired => "tls-cert-expired",
            FindingId::TlsCertNotYetValid => "tls-cert-not-yet-valid",
            FindingId::StarttlsMissing => "starttls-missing",
            FindingId::StarttlsInjection => "starttls-injection",
            FindingId::TlsHandshakeFailed => "tls-handshake-failed",
            FindingId::TlsCertSelfSigned => "tls-cert-self-signed",
            FindingId::TlsCertUntrusted => "tls-cert-untrusted",
            FindingId::TlsCertNameMismatch => "tls-cert-name-mismatch",
            FindingId::TlsCertExpiringSoon => "tls-cert-expiring-soon",
            FindingId::BannerVersion => "banner-version",
            FindingId::RelayInconclusive => "relay-inconclusive",
            FindingId::NotSmtp => "not-smtp",
            FindingId::TrustedNetworksTooWide => "trusted-networks-too-wide",
            FindingId::RelayDomainsTooBroad => "relay-domains-too-broad",
            FindingId::AcceptsUnresolvableDomains => "accepts-unresolvable-domains",
            FindingId::VrfyEnabled => "vrfy-enabled",
            FindingId::NoRateLimits => "no-rate-limits",
            FindingId::RelayedForStranger => "relayed-for-stranger",
            FindingId::AuthenticatedMassSending => "authenticated-mass-sending",
            FindingId::SaslLoginFailures => "sasl-login-failures",
            FindingId::VolumeSpike => "volume-spike",
            FindingId::RelayAttemptsRefused => "relay-attempts-refused",
            FindingId::UnreadableLogLines => "unreadable-log-lines",
            FindingId::KnownExploitedSoftware => "known-exploited-software",
            FindingId::VulnerableSoftware => "vulnerable-software",
            FindingId::EndOfLifeSoftware => "end-of-life-software",
            FindingId::Blocklisted => "blocklisted",
            FindingId::BlocklistedPolicy => "blocklisted-policy",
        }
    }

    /// The severity every finding with this id carries.
    /// Drawn from the relay tests' replies: a scan that sent fewer tests (`--tests`)
    /// cannot draw it, so its absence there is no fix.
    pub fn from_relay_tests(self) -> bool {
        matches!(
            self,
            FindingId::OpenRelay
                | FindingId::AcceptsAnyRecipient
                | FindingId::RelayOnlyAfterStarttls
                | FindingId::RelayInconclusive
        )
    }

    pub fn severity(self) -> Severity {
        match self {
            // Attackers use these holes today (CISA KEV): as urgent as an open relay.
            FindingId::OpenRelay
            | FindingId::RelayedForStranger
            | FindingId::KnownExploitedSoftware => Severity::Critical,
            // Accept-all at RCPT is an open relay or a sink that bounces later (backscatter);
            // the control recipient cannot tell which, so it is not called critical alone.
            FindingId::AcceptsAnyRecipient
            | FindingId::RelayOnlyAfterStarttls
            | FindingId::AuthBeforeTls
            | FindingId::TlsCertExpired
            | FindingId::TlsCertNotYetValid
            | FindingId::TrustedNetworksTooWide
            | FindingId::RelayDomainsTooBroad
            | FindingId::AuthenticatedMassSending
            | FindingId::VulnerableSoftware
            | FindingId::Blocklisted => Severity::High,
            FindingId::StarttlsMissing
            | FindingId::StarttlsInjection
            | FindingId::TlsHandshakeFailed
            | FindingId::TlsCertSelfSigned
            | FindingId::TlsCertUntrusted
            | FindingId::TlsCertNameMismatch
            | FindingId::AcceptsUnresolvableDomains
            | FindingId::SaslLoginFailures
            | FindingId::VolumeSpike
            | FindingId::EndOfLifeSoftware => Severity::Medium,
            FindingId::TlsCertExpiringSoon
            | FindingId::BannerVersion
            | FindingId::VrfyEnabled
            | FindingId::NoRateLimits
            | FindingId::RelayAttemptsRefused => Severity::Low,
            // A policy list (Spamhaus PBL) on a mail server says what range it is in, not
            // that it did wrong.
            FindingId::RelayInconclusive
            | FindingId::NotSmtp
            | FindingId::UnreadableLogLines
            | FindingId::BlocklistedPolicy => Severity::Info,
        }
    }

    /// One line saying what is wrong, the same for every host.
    pub fn title(self) -> &'static str {
        match self {
            FindingId::OpenRelay => "Open relay: accepts mail from anyone for anyone",
            FindingId::AcceptsAnyRecipient => {
                "Accepts any recipient, even at a domain that cannot exist"
            }
            FindingId::RelayOnlyAfterStarttls => {
                "Relays for anyone once STARTTLS is on (plaintext checks miss it)"
            }
            FindingId::AuthBeforeTls => {
                "AUTH PLAIN/LOGIN offered before TLS: passwords in clear text"
            }
            FindingId::TlsCertExpired => "TLS certificate expired",
            FindingId::TlsCertNotYetValid => "TLS certificate not yet valid",
            FindingId::StarttlsMissing => "STARTTLS not offered: mail travels in clear text",
            FindingId::StarttlsInjection => {
                "Plaintext injected after the 220 to STARTTLS (response injection)"
            }
            FindingId::TlsHandshakeFailed => {
                "TLS could not be established (STARTTLS refused or handshake failed)"
            }
            FindingId::TlsCertSelfSigned => "TLS certificate is self-signed",
            FindingId::TlsCertUntrusted => "TLS certificate chain is not trusted",
            FindingId::TlsCertNameMismatch => "TLS certificate does not match the server's names",
            FindingId::TlsCertExpiringSoon => "TLS certificate expires within 30 days",
            FindingId::BannerVersion => "Software version disclosed in the banner",
            FindingId::RelayInconclusive => "Relay tests inconclusive: deferred or cut short",
            FindingId::NotSmtp => "Not an SMTP service",
            FindingId::TrustedNetworksTooWide => {
                "Relaying trusted to networks wider than the host's own"
            }
            FindingId::RelayDomainsTooBroad => {
                "Relays to more destination domains than the server serves"
            }
            FindingId::AcceptsUnresolvableDomains => {
                "Accepts senders at domains that do not resolve (forged senders)"
            }
            FindingId::VrfyEnabled => "VRFY enabled: addresses can be enumerated",
            FindingId::NoRateLimits => "No per-client connection or message rate limit",
            FindingId::RelayedForStranger => {
                "Mail log: mail relayed for a stranger (unauthenticated, outside mynetworks, \
                 to a domain outside the local ones)"
            }
            FindingId::AuthenticatedMassSending => {
                "Mail log: an authenticated user sent to many outside recipients (a stolen \
                 account?)"
            }
            FindingId::SaslLoginFailures => "Mail log: repeated failed SASL logins from one client",
            FindingId::VolumeSpike => "Mail log: more messages in one hour than the threshold",
            FindingId::RelayAttemptsRefused => "Mail log: relay attempts refused",
            FindingId::UnreadableLogLines => "Mail log: lines that could not be read",
            FindingId::KnownExploitedSoftware => {
                "Software version under an advisory exploited in the wild (CISA KEV)"
            }
            FindingId::VulnerableSoftware => "Software version under a security advisory",
            FindingId::EndOfLifeSoftware => "Software release line past its end of support",
            FindingId::Blocklisted => {
                "Listed on a DNS blocklist of spam sources or exploited hosts"
            }
            FindingId::BlocklistedPolicy => {
                "Listed on a policy blocklist (a range that should not send mail directly)"
            }
        }
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about one endpoint, self-contained so that a record stands alone as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub title: String,
    /// What was seen at this host, in one line (may quote server text).
    pub detail: String,
    /// The decisive transcript lines, `C: ` for what we sent and `S: ` for the replies.
    pub evidence: Vec<String>,
    /// How to fix it on the MTA the greeting/EHLO revealed, then the general advice.
    pub remediation: String,
}

impl Finding {
    pub fn new(id: FindingId, mta: Mta, detail: String, evidence: Vec<String>) -> Finding {
        Finding {
            id,
            severity: id.severity(),
            title: id.title().to_string(),
            detail,
            evidence,
            remediation: remediation(id, mta),
        }
    }
}

/// How many of `findings` have each severity, every severity listed (a map sorts them by
/// name; [`Severity::ALL`] gives the order to show them in).
pub fn severity_counts<'a>(
    findings: impl Iterator<Item = &'a Finding> + Clone,
) -> std::collections::BTreeMap<&'static str, usize> {
    Severity::ALL
        .into_iter()
        .map(|s| {
            (
                s.as_str(),
                findings.clone().filter(|f| f.severity == s).count(),
            )
        })
        .collect()
}

/// The facts of one probe that findings are drawn from; borrowed from an Outcome or a record.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub status: Status,
    pub verdict: Option<Verdict>,
    pub reason: Option<&'a str>,
    pub open_tests: &'a [u8],
    pub accepts_any_recipient: bool,
    pub dialogue: &'a Dialogue,
    pub tls: Option<&'a TlsReport>,
}

/// The MTA and the findings of one probe, most severe first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingSet {
    pub mta: Mta,
    /// The product and version the greeting, EHLO or HELO reply named.
    pub software: Option<Software>,
    pub findings: Vec<Finding>,
}

/// Open relay tests quoted as evidence; the rest are counted in the detail.
const EVIDENCE_TESTS: usize = 3;

/// Draws the findings from one probe's facts. Pure: same facts, same findings.
pub fn draw(f: &Facts<'_>) -> FindingSet {
    let d = f.dialogue;
    let mta = detect_mta(d.greeting.as_ref(), d.first.ehlo(), &d.first.capabilities);
    let mut findings = Vec::new();
    match f.verdict {
        Some(Verdict::OpenRelay) => {
            findings.push(open_relay(f, mta));
            if f.accepts_any_recipient {
                findings.push(accepts_any(f, mta));
            }
            if let Some(only_tls) = relay_only_after_starttls(d, mta) {
                findings.push(only_tls);
            }
        }
        Some(Verdict::Inconclusive) => findings.push(Finding::new(
            FindingId::RelayInconclusive,
            mta,
            format!(
                "{} ({})",
                f.reason.unwrap_or("no conclusion"),
                f.status.as_str()
            ),
            decisive_lines(d),
        )),
        Some(Verdict::NotSmtp) => findings.push(Finding::new(
            FindingId::NotSmtp,
            mta,
            f.reason.unwrap_or("not SMTP").to_string(),
            Vec::new(),
        )),
        _ => {}
    }
    if let Some(greeting) = d.greeting.as_ref().filter(|g| g.is_positive())
        && let Some(version) = disclosed_version(greeting)
    {
        findings.push(Finding::new(
            FindingId::BannerVersion,
            mta,
            format!("the greeting discloses {version}"),
            server_lines(greeting),
        ));
    }
    findings.extend(tls::findings(d, f.tls, mta));
    let hello = d.first.hello.as_ref();
    let named = software_named(
        d.greeting.as_ref().filter(|g| g.is_positive()),
        hello.map(|h| &h.ehlo).filter(|r| r.is_positive()),
        hello
            .and_then(|h| h.helo.as_ref())
            .filter(|r| r.is_positive()),
    );
    if let Some((software, line)) = &named {
        findings.extend(
            advisories::matches(software, advisories::all())
                .into_iter()
                .map(|m| advisory(software, m, line, mta)),
        );
    }
    findings.sort_by_key(|x| (std::cmp::Reverse(x.severity), x.id));
    FindingSet {
        mta,
        software: named.map(|(s, _)| s),
        findings,
    }
}

/// One advisory the server's version falls under: which, why, and where to upgrade to.
fn advisory(software: &Software, m: Match<'_>, line: &str, mta: Mta) -> Finding {
    let a = m.advisory;
    let id = match (a.kind, a.kev) {
        (Kind::EndOfLife, _) => FindingId::EndOfLifeSoftware,
        (Kind::Vulnerability, true) => FindingId::KnownExploitedSoftware,
        (Kind::Vulnerability, false) => FindingId::VulnerableSoftware,
    };
    let version = software.version.as_deref().unwrap_or("");
    let cves = if a.cves.is_empty() {
        String::new()
    } else {
        let kev = if a.kev { ", in CISA KEV" } else { "" };
        format!(" ({}{kev})", a.cves.join(", "))
    };
    let fix = match a.kind {
        Kind::Vulnerability => format!("fixed in {}", m.range.fixed),
        Kind::EndOfLife => format!("maintained from {}", m.range.fixed),
    };
    let detail = format!(
        "{} {version} is under {}{cves}: {}; {fix}; see {} ({BACKPORT_CAVEAT})",
        software.product, a.id, a.summary, a.source
    );
    Finding::new(id, mta, detail, vec![line.to_string()])
}

fn open_relay(f: &Facts<'_>, mta: Mta) -> Finding {
    let d = f.dialogue;
    // The first leg when it relayed (anyone can use it), else the leg over TLS.
    let Some(leg) = d.relaying_leg() else {
        return Finding::new(
            FindingId::OpenRelay,
            mta,
            f.reason.unwrap_or("").into(),
            Vec::new(),
        );
    };
    let relayed: Vec<&RelayAttempt> = leg
        .relayed()
        .filter(|a| f.open_tests.contains(&a.id))
        .collect();
    let label = leg.channel.label();
    let ids: Vec<String> = relayed.iter().map(|a| a.id.to_string()).collect();
    let mut detail = format!(
        "{} of {} relay tests accepted{label} (tests {})",
        relayed.len(),
        leg.attempts.len(),
        ids.join(", ")
    );
    let total = relayed.len();
    let shown: Vec<&RelayAttempt> = relayed.into_iter().take(EVIDENCE_TESTS).collect();
    if total > shown.len() {
        detail.push_str(&format!(
            "; evidence quotes the first {}, the transcript has the rest",
            shown.len()
        ));
    }
    let mut evidence: Vec<String> = Vec::new();
    if !label.is_empty() {
        evidence.push(format!("*{label}, over TLS:"));
    }
    evidence.extend(shown.into_iter().flat_map(attempt_lines));
    Finding::new(FindingId::OpenRelay, mta, detail, evidence)
}

/// Relaying refused in plaintext but open after STARTTLS: scanners (and audits) that stay in
/// plaintext report it closed.
fn relay_only_after_starttls(d: &Dialogue, mta: Mta) -> Option<Finding> {
    let tls_leg = d.after_starttls.as_ref()?;
    let open_over_tls = tls_leg.relayed().next()?;
    let refused_plain = d.first.attempts.iter().find(|a| {
        [&a.mail, &a.rcpt]
            .into_iter()
            .flatten()
            .any(Reply::is_permanent)
    })?;
    if d.first.relayed().next().is_some() {
        return None;
    }
    let mut evidence = vec!["* in plaintext:".to_string()];
    evidence.extend(attempt_lines(refused_plain));
    evidence.push("* after STARTTLS, over TLS:".to_string());
    evidence.extend(attempt_lines(open_over_tls));
    Some(Finding::new(
        FindingId::RelayOnlyAfterStarttls,
        mta,
        format!(
            "test {} was refused in plaintext, test {} relayed after STARTTLS",
            refused_plain.id, open_over_tls.id
        ),
        evidence,
    ))
}

fn accepts_any(f: &Facts<'_>, mta: Mta) -> Finding {
    let control = f
        .dialogue
        .legs()
        .find(|l| l.accepted_any_recipient())
        .and_then(|l: &Leg| l.control.as_ref());
    let evidence = control.map(attempt_lines).unwrap_or_default();
    Finding::new(
        FindingId::AcceptsAnyRecipient,
        mta,
        "the control recipient, a random mailbox at a domain under .invalid, was accepted: \
         an open relay or a sink that bounces later; check before calling it a relay"
            .to_string(),
        evidence,
    )
}

/// The MAIL and RCPT of one attempt as they were on the wire.
fn attempt_lines(a: &RelayAttempt) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(mail) = &a.mail {
        out.push(format!("C: MAIL FROM:{}", a.mail_from));
        out.extend(server_lines(mail));
    }
    if let Some(rcpt) = &a.rcpt {
        out.push(format!("C: RCPT TO:{}", a.rcpt_to));
        out.extend(server_lines(rcpt));
    }
    out
}

pub(crate) fn server_lines(r: &Reply) -> Vec<String> {
    r.wire_lines()
        .into_iter()
        .map(|l| format!("S: {l}"))
        .collect()
}

/// For an inconclusive dialogue: the refusing greeting, else the first deferral.
fn decisive_lines(d: &Dialogue) -> Vec<String> {
    if let Some(g) = d.greeting.as_ref().filter(|g| !g.is_positive()) {
        return server_lines(g);
    }
    let deferred = d.attempts().find(|a| {
        [&a.mail, &a.rcpt]
            .into_iter()
            .flatten()
            .any(Reply::is_transient)
    });
    deferred.map(attempt_lines).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::smtp::Capabilities;

    /// A one-line reply; the submodules' tests use [`replies`] for several lines.
    pub(crate) fn reply(code: u16, line: &str) -> Reply {
        replies(code, &[line])
    }

    pub(crate) fn replies(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn attempt(id: u8, rcpt: Reply) -> RelayAttempt {
        let mut a = RelayAttempt::planned(
            id,
            "<antispam@example.net>".into(),
            "<relaytest@example.net>".into(),
        );
        a.rset = Some(reply(250, "Ok"));
        a.mail = Some(reply(250, "2.1.0 Ok"));
        a.rcpt = Some(rcpt);
        a
    }

    fn dialogue(greeting: &str, attempts: Vec<RelayAttempt>) -> Dialogue {
        let ehlo = Reply {
            code: 250,
            enhanced: None,
            lines: vec!["mx.example.com".into(), "PIPELINING".into()],
        };
        Dialogue {
            greeting: Some(reply(220, greeting)),
            first: Leg {
                capabilities: Capabilities::from_ehlo(&ehlo),
                hello: Some(crate::probe::Hello { ehlo, helo: None }),
                attempts,
                ..Leg::default()
            },
            ..Dialogue::default()
        }
    }

    fn facts<'a>(d: &'a Dialogue, verdict: Verdict, open: &'a [u8], any: bool) -> Facts<'a> {
        Facts {
            status: Status::Completed,
            verdict: Some(verdict),
            reason: Some("the reason"),
            open_tests: open,
            accepts_any_recipient: any,
            dialogue: d,
            tls: None,
        }
    }

    fn ids(a: &FindingSet) -> Vec<&'static str> {
        a.findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn findings_by_verdict_table() {
        let denied = reply(554, "5.7.1 Relay access denied");
        let ok = reply(250, "2.1.5 Ok");
        let open = dialogue(
            "mx.example.com ESMTP Postfix",
            vec![attempt(1, denied.clone()), attempt(2, ok.clone())],
        );
        let mut sink = open.clone();
        sink.first.control = Some(attempt(0, ok.clone()));
        let closed = dialogue("mx.example.com ESMTP Exim 4.97.1", vec![attempt(1, denied)]);
        let grey = dialogue(
            "mx.example.com ESMTP",
            vec![attempt(1, reply(450, "4.2.0 Greylisted"))],
        );
        let nothing = Dialogue::default();
        let table: Vec<(Facts<'_>, Vec<&str>, Mta)> = vec![
            (
                facts(&open, Verdict::OpenRelay, &[2], false),
                vec!["open-relay"],
                Mta::Postfix,
            ),
            (
                facts(&sink, Verdict::OpenRelay, &[2], true),
                vec!["open-relay", "accepts-any-recipient"],
                Mta::Postfix,
            ),
            (
                facts(&closed, Verdict::RelayDenied, &[], false),
                vec!["banner-version"],
                Mta::Exim,
            ),
            (
                facts(&grey, Verdict::Inconclusive, &[], false),
                vec!["relay-inconclusive"],
                Mta::Unknown,
            ),
            (
                facts(&nothing, Verdict::NotSmtp, &[], false),
                vec!["not-smtp"],
                Mta::Unknown,
            ),
            (
                facts(&closed, Verdict::AuthRequired, &[], false),
                vec!["banner-version"],
                Mta::Exim,
            ),
        ];
        for (f, want, mta) in table {
            let a = draw(&f);
            assert_eq!(ids(&a), want, "{:?}", f.verdict);
            assert_eq!(a.mta, mta, "{:?}", f.verdict);
            for finding in &a.findings {
                assert_eq!(finding.severity, finding.id.severity());
                assert_eq!(finding.title, finding.id.title());
                assert_eq!(finding.remediation, remediation(finding.id, mta));
            }
        }
    }

    #[test]
    fn open_relay_evidence_is_the_decisive_lines() {
        let ok = reply(250, "2.1.5 Ok");
        let attempts = (1..=5).map(|id| attempt(id, ok.clone())).collect();
        let d = dialogue("mx.example.com ESMTP", attempts);
        let a = draw(&facts(&d, Verdict::OpenRelay, &[1, 2, 3, 4, 5], false));
        let f = &a.findings[0];
        assert_eq!(f.id, FindingId::OpenRelay);
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            f.detail
                .starts_with("5 of 5 relay tests accepted (tests 1, 2, 3, 4, 5)")
        );
        assert!(f.detail.contains("first 3"), "{}", f.detail);
        assert_eq!(
            &f.evidence[..4],
            [
                "C: MAIL FROM:<antispam@example.net>",
                "S: 250 2.1.0 Ok",
                "C: RCPT TO:<relaytest@example.net>",
                "S: 250 2.1.5 Ok",
            ]
        );
        assert_eq!(f.evidence.len(), 12, "three tests, four lines each");
    }

    #[test]
    fn inconclusive_evidence_is_the_refusing_greeting_or_the_deferral() {
        let busy = Dialogue {
            greeting: Some(reply(421, "4.3.2 busy")),
            ..Dialogue::default()
        };
        let a = draw(&facts(&busy, Verdict::Inconclusive, &[], false));
        assert_eq!(a.findings[0].evidence, ["S: 421 4.3.2 busy"]);
        // A refusing greeting is no banner to read a version from.
        assert_eq!(a.findings.len(), 1);

        let grey = dialogue(
            "mx ESMTP",
            vec![
                attempt(1, reply(554, "denied")),
                attempt(2, reply(451, "4.7.1 try later")),
            ],
        );
        let a = draw(&facts(&grey, Verdict::Inconclusive, &[], false));
        assert_eq!(
            a.findings[0].evidence.last().unwrap(),
            "S: 451 4.7.1 try later"
        );
    }

    #[test]
    fn banner_version_is_low_and_quotes_the_greeting() {
        let d = dialogue("mx.example.com ESMTP Sendmail 8.18.1/8.18.1; Tue", vec![]);
        let a = draw(&facts(&d, Verdict::RelayDenied, &[], false));
        let f = &a.findings[0];
        assert_eq!(f.id, FindingId::BannerVersion);
        assert_eq!(f.severity, Severity::Low);
        assert_eq!(f.detail, "the greeting discloses Sendmail 8.18.1/8.18.1");
        assert_eq!(
            f.evidence,
            ["S: 220 mx.example.com ESMTP Sendmail 8.18.1/8.18.1; Tue"]
        );
        assert!(
            f.remediation.contains("confSMTP_LOGIN_MSG"),
            "{}",
            f.remediation
        );
    }

    #[test]
    fn advisories_are_findings_for_a_shown_version_only() {
        let d = dialogue("mx.example.com ESMTP Exim 4.91 #2", vec![]);
        let a = draw(&facts(&d, Verdict::RelayDenied, &[], false));
        assert_eq!(
            ids(&a),
            [
                "known-exploited-software",
                "vulnerable-software",
                "vulnerable-software",
                "vulnerable-software",
                "banner-version"
            ]
        );
        let wizard = &a.findings[0];
        assert_eq!(wizard.severity, Severity::Critical);
        assert!(
            wizard.detail.starts_with(
                "exim 4.91 is under exim-cve-2019-10149 (CVE-2019-10149, in CISA KEV): "
            ),
            "{}",
            wizard.detail
        );
        assert!(wizard.detail.contains("fixed in 4.92"), "{}", wizard.detail);
        assert!(wizard.detail.contains(BACKPORT_CAVEAT), "{}", wizard.detail);
        assert_eq!(
            wizard.evidence,
            ["S: 220 mx.example.com ESMTP Exim 4.91 #2"]
        );
        assert!(wizard.remediation.contains(BACKPORT_CAVEAT));
        assert_eq!(
            a.software,
            Some(Software {
                product: crate::smtp::fingerprint::Product::Exim,
                version: Some("4.91".into())
            })
        );

        // End of life is its own finding, medium.
        let d = dialogue("mx.example.com ESMTP Postfix (2.11.3)", vec![]);
        let a = draw(&facts(&d, Verdict::RelayDenied, &[], false));
        let eol = a
            .findings
            .iter()
            .find(|f| f.id == FindingId::EndOfLifeSoftware)
            .unwrap();
        assert_eq!(eol.severity, Severity::Medium);
        assert!(eol.detail.contains("maintained from 3.5"), "{}", eol.detail);

        // A product without a version, or a refusing greeting: never vulnerable.
        for greeting in [
            "mx.example.com ESMTP Exim",
            "mx.example.com ESMTP Exim 4.9x",
        ] {
            let d = dialogue(greeting, vec![]);
            let a = draw(&facts(&d, Verdict::RelayDenied, &[], false));
            assert!(
                a.findings.iter().all(|f| f.id == FindingId::BannerVersion),
                "{greeting}: {:?}",
                ids(&a)
            );
            assert_eq!(a.software.unwrap().product.as_str(), "exim");
        }
        let mut refused = dialogue("mx ESMTP Exim 4.91", vec![]);
        refused.greeting = Some(reply(554, "mx ESMTP Exim 4.91 go away"));
        let a = draw(&facts(&refused, Verdict::Inconclusive, &[], false));
        assert_eq!(ids(&a), ["relay-inconclusive"]);
    }

    #[test]
    fn relay_open_only_after_starttls() {
        let ok = reply(250, "2.1.5 Ok");
        let mut d = dialogue(
            "mx.example.com ESMTP",
            vec![attempt(
                1,
                reply(530, "5.7.0 Must issue a STARTTLS command first"),
            )],
        );
        d.after_starttls = Some(Leg {
            channel: crate::probe::Channel::Starttls,
            attempts: vec![
                attempt(1, reply(554, "5.7.1 denied")),
                attempt(2, ok.clone()),
            ],
            ..Default::default()
        });
        let a = draw(&facts(&d, Verdict::OpenRelay, &[2], false));
        assert_eq!(ids(&a), ["open-relay", "relay-only-after-starttls"]);
        let open = &a.findings[0];
        assert_eq!(
            open.detail,
            "1 of 2 relay tests accepted after STARTTLS (tests 2)"
        );
        assert_eq!(open.evidence[0], "* after STARTTLS, over TLS:");
        assert_eq!(open.evidence[4], "S: 250 2.1.5 Ok");
        let only = &a.findings[1];
        assert_eq!(only.severity, Severity::High);
        assert_eq!(
            only.detail,
            "test 1 was refused in plaintext, test 2 relayed after STARTTLS"
        );
        assert_eq!(only.evidence[0], "* in plaintext:");
        assert!(
            only.evidence
                .contains(&"S: 530 5.7.0 Must issue a STARTTLS command first".to_string())
        );

        // Open in plaintext too: the plaintext evidence, and no "only after" finding.
        d.first.attempts.push(attempt(2, ok));
        let a = draw(&facts(&d, Verdict::OpenRelay, &[2], false));
        assert_eq!(ids(&a), ["open-relay"]);
        assert_eq!(
            a.findings[0].evidence[0],
            "C: MAIL FROM:<antispam@example.net>"
        );

        // Tests that ran over TLS only (the default when STARTTLS works): no comparison.
        d.first.attempts.clear();
        let a = draw(&facts(&d, Verdict::OpenRelay, &[2], false));
        assert_eq!(ids(&a), ["open-relay"]);
    }

    #[test]
    fn findings_are_sorted_most_severe_first() {
        let ok = reply(250, "2.1.5 Ok");
        let mut d = dialogue("mx ESMTP Exim 4.97.1", vec![attempt(2, ok.clone())]);
        d.first.control = Some(attempt(0, ok));
        let a = draw(&facts(&d, Verdict::OpenRelay, &[2], true));
        let severities: Vec<Severity> = a.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [Severity::Critical, Severity::High, Severity::Low]
        );
    }

    #[test]
    fn ids_and_severities_are_stable_names() {
        let mut seen = std::collections::HashSet::new();
        for id in FindingId::ALL {
            assert!(seen.insert(id.as_str()));
            assert_eq!(
                serde_json::to_string(&id).unwrap(),
                format!("\"{}\"", id.as_str())
            );
            assert!(!id.title().is_empty());
        }
        // ALL is most severe first.
        let sev: Vec<Severity> = FindingId::ALL.iter().map(|i| i.severity()).collect();
        assert!(sev.windows(2).all(|w| w[0] >= w[1]), "{sev:?}");
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert!("severe".parse::<Severity>().is_err());
    }
}
