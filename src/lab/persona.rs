//! The lab's personas: which kind of mail server each simulated host pretends to be, and what a correct scanner should conclude about it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::probe::Verdict;

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
}

impl Persona {
    /// Every persona, in the order `LabConfig::default()` assigns them to addresses.
    pub const ALL: [Persona; 13] = [
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
    ];

    /// The kebab-case name used on the command line, in logs and in host names.
    pub fn name(self) -> &'static str {
        match self {
            Persona::OpenRelay => "open-relay",
            Persona::Closed => "closed",
            Persona::AuthRequired => "auth-required",
            Persona::Greylisting => "greylisting",
            Persona::SenderTrusting => "sender-trusting",
            Persona::PercentHack => "percent-hack",
            Persona::HeloOnly => "helo-only",
            Persona::SlowGreeting => "slow-greeting",
            Persona::AcceptAllSink => "accept-all-sink",
            Persona::NotSmtp => "not-smtp",
            Persona::DropAfterMail => "drop-after-mail",
            Persona::Busy => "busy",
            Persona::Blocked => "blocked",
        }
    }

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
        }
    }

    /// What a correct scanner reports after one scan of this persona.
    pub fn expected_verdict(self) -> Verdict {
        match self {
            Persona::OpenRelay
            | Persona::SenderTrusting
            | Persona::PercentHack
            | Persona::AcceptAllSink => Verdict::OpenRelay,
            Persona::Closed | Persona::HeloOnly | Persona::SlowGreeting => Verdict::RelayDenied,
            Persona::AuthRequired => Verdict::AuthRequired,
            // Greylisting defers everything on the first scan: no conclusion yet.
            Persona::Greylisting | Persona::DropAfterMail | Persona::Busy | Persona::Blocked => {
                Verdict::Inconclusive
            }
            Persona::NotSmtp => Verdict::NotSmtp,
        }
    }

    /// Whether this persona accepts any recipient at all, so a scanner's control
    /// recipient should flag it as a sink rather than proven relaying.
    pub fn expects_accept_all(self) -> bool {
        self == Persona::AcceptAllSink
    }

    /// The host name the persona announces in its greeting and EHLO reply.
    pub fn hostname(self) -> String {
        format!("{}.lab.test", self.name())
    }
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
        assert_eq!(seen.len(), 13);
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
    fn expected_verdicts() {
        use Verdict::*;
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
        ];
        assert_eq!(table.len(), Persona::ALL.len());
        for (p, v) in table {
            assert_eq!(p.expected_verdict(), v, "{p}");
            assert_eq!(p.expects_accept_all(), p == Persona::AcceptAllSink, "{p}");
            assert!(!p.description().is_empty());
        }
    }
}
