//! The lab's personas: which kind of mail server each simulated host pretends to be, and what a correct scanner should conclude about it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::designed::DesignedVerdict;

/// One simulated server behaviour. Each lab host plays exactly one persona.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persona {
    /// Relays for anyone (but checks that the recipient domain exists).
    OpenRelay,
    /// Refuses every relay attempt with 554 5.7.1.
    Closed,
    /// Relaying only after AUTH, which always fails.
    AuthRequired,
    /// Defers every new (client, sender, recipient) triplet once, then relays.
    Greylisting,
    /// Relays when the sender claims to be from the server's own domain.
    SenderTrusting,
    /// Relays `user%domain@[own address]` (the old sendmail % hack).
    PercentHack,
    /// An old server: no ESMTP, no enhanced status codes, refuses relaying.
    HeloOnly,
    /// Sends a `220-` teaser and bans clients that talk before the final `220 `.
    SlowGreeting,
    /// Accepts every recipient, like a development mail sink.
    AcceptAllSink,
    /// An SSH server answering on the mail port.
    NotSmtp,
    /// Closes the connection without a word after MAIL FROM.
    DropAfterMail,
    /// Greets with 421 and closes.
    Busy,
    /// Greets with 554 and refuses every command (RFC 5321 §3.1).
    Blocked,
    /// STARTTLS with a self-signed certificate; refuses relaying.
    StarttlsSelfSigned,
    /// `530 5.7.0 Must issue a STARTTLS command first` until STARTTLS; an open relay after.
    TlsRequired,
    /// STARTTLS with a certificate that expired; refuses relaying.
    ExpiredCert,
    /// Advertises STARTTLS, then answers the handshake like a TLS 1.0-only server.
    TlsBroken,
    /// Injects plaintext replies right after its 220 to STARTTLS; refuses relaying.
    StarttlsInjection,
    /// TLS first on the lab's implicit-TLS port; plain SMTP without STARTTLS on the main port.
    ImplicitTls,
    /// Offers AUTH PLAIN LOGIN before TLS; relaying needs authentication.
    AuthBeforeTls,
    /// Greets and refuses with spreadsheet formulas, tabs, quotes and commas.
    HostileCsv,
    /// Greets and relays with HTML/script injection and Markdown links in its text.
    HostileHtml,
    /// Greets and refuses with ANSI/OSC escapes and bidi overrides.
    HostileTerminal,
    /// Refuses relaying; one stray `250` ahead of the answer after the first MAIL it takes.
    StrayAfterMail,
    /// Refuses relaying; one stray `250` ahead of the answer after the first RCPT.
    StrayAfterRcpt,
    /// Refuses relaying; one stray `250` ahead of the answer after EHLO.
    StrayAfterEhlo,
    /// Refuses relaying; greets twice.
    DoubleGreeting,
    /// Refuses relaying; an unasked `250` after every answer.
    ExtraReplies,
    /// Sound in plaintext; after STARTTLS, as stray-after-mail.
    StrayAfterMailTls,
    /// Sound in plaintext; after STARTTLS, as stray-after-rcpt.
    StrayAfterRcptTls,
    /// Sound in plaintext; after STARTTLS, as stray-after-ehlo.
    StrayAfterEhloTls,
    /// Sound in plaintext; after STARTTLS, as extra-replies.
    ExtraRepliesTls,
    /// OpenSMTPD 6.8 on a listener with `tls ... auth`: advertises STARTTLS (whose handshake
    /// fails, as Debian 12's does under OpenSSL 3) and AUTH only over TLS, and answers every
    /// MAIL with `530 5.5.1 Invalid command: Must issue an AUTH command first`.
    MustAuthFirst,
    /// Greets as Exim 4.91 (under CVE-2019-10149, in CISA KEV, and 21Nails); refuses relaying.
    VulnerableExim,
    /// Greets as Postfix 3.4.14, a release line past its end of support (and under the
    /// SMTP-smuggling advisory); refuses relaying.
    EndOfLifePostfix,
}

impl Persona {
    /// Every persona, in the order `LabConfig::default()` assigns them to addresses.
    pub const ALL: [Persona; 35] = [
        Persona::OpenRelay,
        Persona::Closed,
        Persona::AuthRequired,
        Persona::Greylisting,
        Persona::SenderTrusting,
        Persona::PercentHack,
        Persona::HeloOnly,
        Persona::SlowGreeting,
        Persona::AcceptAllSink,
        Persona::NotSmtp,
        Persona::DropAfterMail,
        Persona::Busy,
        Persona::Blocked,
        Persona::StarttlsSelfSigned,
        Persona::TlsRequired,
        Persona::ExpiredCert,
        Persona::TlsBroken,
        Persona::StarttlsInjection,
        Persona::ImplicitTls,
        Persona::AuthBeforeTls,
        Persona::HostileCsv,
        Persona::HostileHtml,
        Persona::HostileTerminal,
        Persona::StrayAfterMail,
        Persona::StrayAfterRcpt,
        Persona::StrayAfterEhlo,
        Persona::DoubleGreeting,
        Persona::ExtraReplies,
        Persona::StrayAfterMailTls,
        Persona::StrayAfterRcptTls,
        Persona::StrayAfterEhloTls,
        Persona::ExtraRepliesTls,
        Persona::MustAuthFirst,
        Persona::VulnerableExim,
        Persona::EndOfLifePostfix,
    ];

    /// The persona with this name; case-insensitive and tolerant of surrounding
    /// blanks because the names come from command lines and config files.
    pub fn from_name(name: &str) -> Option<Persona> {
        let name = name.trim();
        Persona::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// One line for `relayscan lab` listings.
    pub fn description(self) -> &'static str {
        match self {
            Persona::OpenRelay => "relays mail for anyone; rejects recipients at .invalid domains",
            Persona::Closed => "refuses relaying with 554 5.7.1 Relay access denied",
            Persona::AuthRequired => {
                "advertises AUTH; refuses relaying with 530 until authenticated"
            }
            Persona::Greylisting => {
                "defers each new (client, sender, recipient) with 450, then relays"
            }
            Persona::SenderTrusting => {
                "relays when MAIL FROM claims the server's own domain (forged-sender test)"
            }
            Persona::PercentHack => "relays user%domain@[its own address] (sendmail % hack)",
            Persona::HeloOnly => "old server: no EHLO, no enhanced codes, refuses relaying",
            Persona::SlowGreeting => {
                "sends a 220- teaser, pauses, drops clients that talk early; then closed"
            }
            Persona::AcceptAllSink => "accepts every recipient, even nonexistent domains (a sink)",
            Persona::NotSmtp => "an SSH server on the mail port",
            Persona::DropAfterMail => "closes the connection silently after MAIL FROM",
            Persona::Busy => "greets with 421 and closes",
            Persona::Blocked => "greets with 554 and refuses every command",
            Persona::StarttlsSelfSigned => {
                "STARTTLS with a self-signed certificate; refuses relaying"
            }
            Persona::TlsRequired => "530 5.7.0 until STARTTLS, then relays for anyone",
            Persona::ExpiredCert => "STARTTLS with an expired certificate; refuses relaying",
            Persona::TlsBroken => {
                "advertises STARTTLS, then fails the handshake like a TLS 1.0-only server"
            }
            Persona::StarttlsInjection => {
                "sends plaintext replies right after its 220 to STARTTLS; refuses relaying"
            }
            Persona::ImplicitTls => {
                "TLS first on the implicit-TLS port (certificate names mail.lab.test); refuses relaying"
            }
            Persona::AuthBeforeTls => {
                "offers AUTH PLAIN LOGIN before TLS; certificate expires in 20 days; 530 to relaying"
            }
            Persona::HostileCsv => {
                "formulas, tabs, quotes and commas in its text; refuses relaying"
            }
            Persona::HostileHtml => {
                "HTML, script and Markdown injection in its text; relays for anyone"
            }
            Persona::HostileTerminal => {
                "ANSI/OSC escapes and bidi overrides in its text; refuses relaying"
            }
            Persona::StrayAfterMail => {
                "one stray 250 ahead of its answer after the first MAIL it takes; refuses relaying"
            }
            Persona::StrayAfterRcpt => {
                "one stray 250 ahead of its answer after the first RCPT; refuses relaying"
            }
            Persona::StrayAfterEhlo => {
                "one stray 250 ahead of its answer after EHLO; refuses relaying"
            }
            Persona::DoubleGreeting => "greets twice; refuses relaying",
            Persona::ExtraReplies => "an unasked 250 after every answer; refuses relaying",
            Persona::StrayAfterMailTls => {
                "STARTTLS; over TLS one stray 250 after the first MAIL; refuses relaying"
            }
            Persona::StrayAfterRcptTls => {
                "STARTTLS; over TLS one stray 250 after the first RCPT; refuses relaying"
            }
            Persona::StrayAfterEhloTls => {
                "STARTTLS; over TLS one stray 250 after EHLO; refuses relaying"
            }
            Persona::ExtraRepliesTls => {
                "STARTTLS; over TLS an unasked 250 after every answer; refuses relaying"
            }
            Persona::MustAuthFirst => {
                "OpenSMTPD with auth: STARTTLS (handshake fails); 530 naming AUTH to every MAIL"
            }
            Persona::VulnerableExim => {
                "greets as Exim 4.91 (CVE-2019-10149, 21Nails); refuses relaying"
            }
            Persona::EndOfLifePostfix => {
                "greets as Postfix 3.4.14 (a release line past its end of support); refuses relaying"
            }
        }
    }

    /// What a correct scanner reports after one scan of this persona.
    pub fn designed_verdict(self) -> DesignedVerdict {
        match self {
            Persona::OpenRelay
            | Persona::SenderTrusting
            | Persona::PercentHack
            | Persona::AcceptAllSink => DesignedVerdict::OpenRelay,
            // Relaying after STARTTLS is relaying: "after STARTTLS" is in the reason.
            Persona::TlsRequired | Persona::HostileHtml => DesignedVerdict::OpenRelay,
            Persona::Closed
            | Persona::HeloOnly
            | Persona::SlowGreeting
            | Persona::StarttlsSelfSigned
            | Persona::ExpiredCert
            | Persona::TlsBroken
            | Persona::StarttlsInjection
            | Persona::ImplicitTls
            | Persona::HostileCsv
            | Persona::HostileTerminal
            | Persona::VulnerableExim
            | Persona::EndOfLifePostfix => DesignedVerdict::RelayDenied,
            // Out of step once the tests began: the rerun one command at a time, every
            // reply weighed, finds what the server really does.
            Persona::StrayAfterMail
            | Persona::StrayAfterRcpt
            | Persona::StrayAfterEhlo
            | Persona::StrayAfterMailTls
            | Persona::StrayAfterRcptTls
            | Persona::StrayAfterEhloTls => DesignedVerdict::RelayDenied,
            // Out of step before any test (nothing to rerun for), or doubled replies that
            // leave every RCPT ambiguous even one command at a time: never an open relay.
            Persona::DoubleGreeting | Persona::ExtraReplies | Persona::ExtraRepliesTls => {
                DesignedVerdict::Inconclusive
            }
            // Its 530 names AUTH: a demand for authentication, not for STARTTLS, so the failed
            // handshake leaves nothing undecided.
            Persona::AuthRequired | Persona::AuthBeforeTls | Persona::MustAuthFirst => {
                DesignedVerdict::AuthRequired
            }
            // Greylisting defers everything on the first scan: no conclusion yet.
            Persona::Greylisting | Persona::DropAfterMail | Persona::Busy | Persona::Blocked => {
                DesignedVerdict::Inconclusive
            }
            Persona::NotSmtp => DesignedVerdict::NotSmtp,
        }
    }

    /// Whether this persona's greeting shows a release under a published advisory, so a
    /// scanner should raise an advisory finding for it (and for no other persona):
    /// vulnerable-exim's 4.91 (CVE-2019-10149, in CISA KEV) and end-of-life-postfix's 3.4.14.
    pub fn shows_vulnerable_version(self) -> bool {
        matches!(self, Persona::VulnerableExim | Persona::EndOfLifePostfix)
    }

    /// Whether this persona's greeting shows a release line its maintainers no longer fix,
    /// so a scanner should raise the end-of-life finding for it: end-of-life-postfix's 3.4
    /// (Postfix maintains 3.5 and later).
    pub fn shows_end_of_life_version(self) -> bool {
        self == Persona::EndOfLifePostfix
    }

    /// Whether this persona accepts any recipient at all, so a scanner's control
    /// recipient should flag it as a sink rather than proven relaying.
    pub fn expects_accept_all(self) -> bool {
        self == Persona::AcceptAllSink
    }
}

/// `name()` and `hostname()` from one table, so the lab's per-command replies
/// borrow a static host name instead of formatting one each time.
macro_rules! names {
    ($($persona:ident => $name:literal),* $(,)?) => {
        impl Persona {
            /// The kebab-case name used on the command line, in logs and in host names.
            pub fn name(self) -> &'static str {
                match self {
                    $(Persona::$persona => $name,)*
                }
            }

            /// The host name the persona announces in its greeting and EHLO reply.
            pub fn hostname(self) -> &'static str {
                match self {
                    $(Persona::$persona => concat!($name, ".lab.test"),)*
                }
            }
        }
    };
}

names! {
    OpenRelay => "open-relay",
    Closed => "closed",
    AuthRequired => "auth-required",
    Greylisting => "greylisting",
    SenderTrusting => "sender-trusting",
    PercentHack => "percent-hack",
    HeloOnly => "helo-only",
    SlowGreeting => "slow-greeting",
    AcceptAllSink => "accept-all-sink",
    NotSmtp => "not-smtp",
    DropAfterMail => "drop-after-mail",
    Busy => "busy",
    Blocked => "blocked",
    StarttlsSelfSigned => "starttls-self-signed",
    TlsRequired => "tls-required",
    ExpiredCert => "expired-cert",
    TlsBroken => "tls-broken",
    StarttlsInjection => "starttls-injection",
    ImplicitTls => "implicit-tls",
    AuthBeforeTls => "auth-before-tls",
    HostileCsv => "hostile-csv",
    HostileHtml => "hostile-html",
    HostileTerminal => "hostile-terminal",
    StrayAfterMail => "stray-after-mail",
    StrayAfterRcpt => "stray-after-rcpt",
    StrayAfterEhlo => "stray-after-ehlo",
    DoubleGreeting => "double-greeting",
    ExtraReplies => "extra-replies",
    StrayAfterMailTls => "stray-after-mail-tls",
    StrayAfterRcptTls => "stray-after-rcpt-tls",
    StrayAfterEhloTls => "stray-after-ehlo-tls",
    ExtraRepliesTls => "extra-replies-tls",
    MustAuthFirst => "must-auth-first",
    VulnerableExim => "vulnerable-exim",
    EndOfLifePostfix => "end-of-life-postfix",
}

impl fmt::Display for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A persona name that matches none of [`Persona::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown persona {0:?} (known: {known})", known = known_names())]
pub struct UnknownPersona(pub String);

fn known_names() -> String {
    Persona::ALL.map(Persona::name).join(", ")
}

impl FromStr for Persona {
    type Err = UnknownPersona;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Persona::from_name(s).ok_or_else(|| UnknownPersona(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = HashSet::new();
        for p in Persona::ALL {
            assert!(seen.insert(p.name()), "duplicate name {}", p.name());
            assert_eq!(Persona::from_name(p.name()), Some(p));
            assert_eq!(p.name().parse::<Persona>(), Ok(p));
            assert_eq!(p.to_string(), p.name());
            // serde must agree with name(), since the log is read back by tests.
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.name())
            );
            assert_eq!(p.hostname(), format!("{}.lab.test", p.name()));
        }
        assert_eq!(seen.len(), Persona::ALL.len());
    }

    #[test]
    fn from_name_is_lenient_on_case_and_blanks_only() {
        let table = [
            ("OPEN-RELAY", Some(Persona::OpenRelay)),
            ("  busy ", Some(Persona::Busy)),
            ("open_relay", None),
            ("", None),
            ("sink", None),
        ];
        for (input, want) in table {
            assert_eq!(Persona::from_name(input), want, "{input:?}");
        }
        let err = "nope".parse::<Persona>().unwrap_err();
        assert!(err.to_string().contains("accept-all-sink"), "{err}");
    }

    #[test]
    fn designed_verdicts() {
        use DesignedVerdict::*;
        let table = [
            (Persona::OpenRelay, OpenRelay),
            (Persona::Closed, RelayDenied),
            (Persona::AuthRequired, AuthRequired),
            (Persona::Greylisting, Inconclusive),
            (Persona::SenderTrusting, OpenRelay),
            (Persona::PercentHack, OpenRelay),
            (Persona::HeloOnly, RelayDenied),
            (Persona::SlowGreeting, RelayDenied),
            (Persona::AcceptAllSink, OpenRelay),
            (Persona::NotSmtp, NotSmtp),
            (Persona::DropAfterMail, Inconclusive),
            (Persona::Busy, Inconclusive),
            (Persona::Blocked, Inconclusive),
            (Persona::StarttlsSelfSigned, RelayDenied),
            (Persona::TlsRequired, OpenRelay),
            (Persona::ExpiredCert, RelayDenied),
            (Persona::TlsBroken, RelayDenied),
            (Persona::StarttlsInjection, RelayDenied),
            (Persona::ImplicitTls, RelayDenied),
            (Persona::AuthBeforeTls, AuthRequired),
            (Persona::HostileCsv, RelayDenied),
            (Persona::HostileHtml, OpenRelay),
            (Persona::HostileTerminal, RelayDenied),
            (Persona::StrayAfterMail, RelayDenied),
            (Persona::StrayAfterRcpt, RelayDenied),
            (Persona::StrayAfterEhlo, RelayDenied),
            (Persona::DoubleGreeting, Inconclusive),
            (Persona::ExtraReplies, Inconclusive),
            (Persona::StrayAfterMailTls, RelayDenied),
            (Persona::StrayAfterRcptTls, RelayDenied),
            (Persona::StrayAfterEhloTls, RelayDenied),
            (Persona::ExtraRepliesTls, Inconclusive),
            (Persona::MustAuthFirst, AuthRequired),
            (Persona::VulnerableExim, RelayDenied),
            (Persona::EndOfLifePostfix, RelayDenied),
        ];
        assert_eq!(table.len(), Persona::ALL.len());
        for (p, v) in table {
            assert_eq!(p.designed_verdict(), v, "{p}");
            assert_eq!(p.expects_accept_all(), p == Persona::AcceptAllSink, "{p}");
            assert_eq!(
                p.shows_vulnerable_version(),
                matches!(p, Persona::VulnerableExim | Persona::EndOfLifePostfix),
                "{p}"
            );
            assert_eq!(
                p.shows_end_of_life_version(),
                p == Persona::EndOfLifePostfix,
                "{p}"
            );
            assert!(!p.description().is_empty());
        }
    }
}
