//! What one probe saw, as data: the dialogue's legs, each relay attempt and how it ended, and how far the probe got.
//!
//! A dialogue has one or two legs: the first (plaintext, or inside implicit TLS) and,
//! after a successful STARTTLS, the leg over TLS, which RFC 3207 makes start afresh with
//! its own EHLO. Each leg has the same shape, so everything that reads a dialogue walks
//! its legs with [`Dialogue::legs`] instead of naming them. Whether an attempt relayed,
//! and how it is named, is decided here once, by [`RelayAttempt::result`] and
//! [`RelayAttempt::label`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::smtp::tls::TlsReport;
use crate::smtp::{Capabilities, Reply, TranscriptLine};
use crate::target::Endpoint;

use super::depth::Depth;
use super::timing::Timing;

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
    /// The server answered with something that is not SMTP, broke the reply limits, or
    /// fell out of step with our commands.
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
    /// Every status, in the order reports list them.
    pub const ALL: [Status; 11] = [
        Status::Completed,
        Status::Refused,
        Status::ConnectTimeout,
        Status::Unreachable,
        Status::IoTimeout,
        Status::HostTimeout,
        Status::Dropped,
        Status::ProtocolError,
        Status::Cancelled,
        Status::Unresolved,
        Status::TlsFailed,
    ];

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

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

/// What carries a leg of the dialogue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// Plain TCP: what anyone on the network can use.
    #[default]
    Plaintext,
    /// TLS from the first byte (port 465, RFC 8314).
    ImplicitTls,
    /// TLS after a successful STARTTLS (RFC 3207).
    Starttls,
}

impl Channel {
    /// How reasons and evidence name the leg: nothing for the first leg, which is what the
    /// port speaks, " after STARTTLS" for the upgraded one.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Plaintext | Channel::ImplicitTls => "",
            Channel::Starttls => " after STARTTLS",
        }
    }
}

/// The greeting exchange of a leg: EHLO, and HELO when EHLO was refused (RFC 5321 §4.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub ehlo: Reply,
    /// The HELO reply, when EHLO was refused and we fell back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo: Option<Reply>,
}

impl Hello {
    /// The reply that let the dialogue go on: a positive EHLO, else a positive HELO.
    pub fn accepted(&self) -> Option<&Reply> {
        [Some(&self.ehlo), self.helo.as_ref()]
            .into_iter()
            .flatten()
            .find(|r| r.is_positive())
    }

    /// EHLO was accepted: the server speaks ESMTP.
    pub fn esmtp(&self) -> bool {
        self.ehlo.is_positive()
    }

    /// The last refusal when neither EHLO nor HELO was accepted.
    pub fn refusal(&self) -> Option<&Reply> {
        if self.accepted().is_some() {
            return None;
        }
        Some(self.helo.as_ref().unwrap_or(&self.ehlo))
    }
}

/// One leg of the dialogue: its hello, what it offered, and the relay tests run on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub channel: Channel,
    /// `None` when the leg ended before EHLO was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<Hello>,
    /// Learned from this leg's EHLO only: nothing carries over a STARTTLS.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The relay tests run on this leg; empty when they ran on the other one.
    #[serde(default)]
    pub attempts: Vec<RelayAttempt>,
    /// The control RCPT to a mailbox at a domain that cannot exist, sent when a test relayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<RelayAttempt>,
    /// The relay tests went out as pipelined groups (RFC 2920).
    #[serde(default)]
    pub pipelined: bool,
    /// How many pipelined groups the relay tests (with the control recipient and QUIT)
    /// went out in: one for the whole catalogue; 0 one command at a time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub groups: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Leg {
    pub fn new(channel: Channel) -> Leg {
        Leg {
            channel,
            ..Leg::default()
        }
    }

    /// The EHLO reply, whether accepted or not.
    pub fn ehlo(&self) -> Option<&Reply> {
        self.hello.as_ref().map(|h| &h.ehlo)
    }

    /// The attempts that relayed, in catalogue order.
    pub fn relayed(&self) -> impl Iterator<Item = &RelayAttempt> {
        self.attempts.iter().filter(|a| a.relayed())
    }

    /// The control recipient was accepted: possibly a sink that takes any address.
    pub fn accepted_any_recipient(&self) -> bool {
        self.control.as_ref().is_some_and(RelayAttempt::relayed)
    }
}

/// One relay test as sent and answered. A missing reply means the dialogue ended before
/// it, or (in a rerun one command at a time) that the replies in its place disagreed.
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
    /// Replies in this attempt's place that were not taken as its answers, one command at
    /// a time in a rerun after the replies fell out of step: replies nobody asked for,
    /// and those of a first try whose answers disagreed. Evidence, never answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<Reply>,
    /// The replies in this attempt's place disagreed (a 250 and a 554 to one RCPT), so it
    /// decides nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
    /// The first try's replies disagreed, so the attempt was sent once more; these
    /// replies are the second try's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
}

/// How one relay attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult<'a> {
    /// MAIL 2xx and RCPT 2xx: the server took the envelope.
    Relayed(&'a Reply),
    /// MAIL or RCPT refused with 4xx.
    Deferred(&'a Reply),
    /// MAIL or RCPT refused with 5xx.
    Refused(&'a Reply),
    /// The dialogue ended before this attempt got its answers, a reply was neither
    /// positive nor negative (1xx/3xx), or the replies in its place disagreed.
    Unanswered,
}

/// How an attempt is named in reasons, evidence and the transcript: "test 5", "control".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLabel(u8);

impl fmt::Display for AttemptLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("control"),
            id => write!(f, "test {id}"),
        }
    }
}

impl RelayAttempt {
    /// An attempt not yet sent: the envelope, no replies.
    pub fn planned(id: u8, mail_from: String, rcpt_to: String) -> RelayAttempt {
        RelayAttempt {
            id,
            mail_from,
            rcpt_to,
            rset: None,
            mail: None,
            rcpt: None,
            set_aside: Vec::new(),
            ambiguous: false,
            retried: false,
        }
    }

    pub fn label(&self) -> AttemptLabel {
        AttemptLabel(self.id)
    }

    /// The one place that decides how an attempt ended.
    pub fn result(&self) -> AttemptResult<'_> {
        if self.ambiguous {
            return AttemptResult::Unanswered;
        }
        match (&self.mail, &self.rcpt) {
            (Some(mail), _) if !mail.is_positive() => refusal(mail),
            (Some(_), Some(rcpt)) if rcpt.is_positive() => AttemptResult::Relayed(rcpt),
            (Some(_), Some(rcpt)) => refusal(rcpt),
            _ => AttemptResult::Unanswered,
        }
    }

    /// MAIL 2xx and RCPT 2xx.
    pub fn relayed(&self) -> bool {
        matches!(self.result(), AttemptResult::Relayed(_))
    }

    /// The MAIL was answered: the attempt ran (the record's `tests_run`).
    pub fn ran(&self) -> bool {
        self.mail.is_some()
    }

    /// "test 1 (MAIL FROM:<> RCPT TO:<a@b>): 554 5.7.1 Relay access denied".
    pub fn describe(&self, reply: &Reply) -> String {
        format!(
            "{} (MAIL FROM:{} RCPT TO:{}): {}",
            self.label(),
            self.mail_from,
            self.rcpt_to,
            reply.summary()
        )
    }
}

fn refusal(reply: &Reply) -> AttemptResult<'_> {
    if reply.is_transient() {
        AttemptResult::Deferred(reply)
    } else if reply.is_permanent() {
        AttemptResult::Refused(reply)
    } else {
        // 1xx/3xx to MAIL or RCPT is a protocol violation: it took nothing, refused nothing.
        AttemptResult::Unanswered
    }
}

/// Why and where a dialogue stopped early, if it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    pub status: Status,
    /// The step that was under way, e.g. "greeting", "EHLO", "test 5 RCPT".
    pub step: String,
    pub detail: String,
    /// The server's replies fell out of step with our commands (a reply nobody asked
    /// for, or one that cannot answer the command it would be paired with): no reply
    /// of this dialogue can be trusted to answer the command it came after.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub desync: bool,
}

/// The structured facts of one dialogue; the verdict is a pure function of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialogue {
    /// Which relay tests the probe was set to send (`--tests`); left out when full, the
    /// only depth of the records written before it was recorded.
    #[serde(default, skip_serializing_if = "Depth::is_full")]
    pub depth: Depth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<Reply>,
    /// The leg the port speaks first: plaintext, or inside implicit TLS. Its capabilities
    /// are what the server offers to anyone (AUTH PLAIN in plaintext is a finding).
    #[serde(default)]
    pub first: Leg,
    /// The reply to STARTTLS, when it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<Reply>,
    /// The leg after the STARTTLS handshake succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_starttls: Option<Leg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interruption: Option<Interruption>,
    /// This dialogue is a rerun, one command at a time, of one whose replies fell out of
    /// step with its pipelined commands (`desync`), or whose server hung up on its
    /// pipelined group after refusing RCPTs sent after a refused sender; this is where
    /// and how the first one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_after: Option<Interruption>,
}

impl Dialogue {
    /// The legs in the order they ran: the first, then the one after STARTTLS.
    pub fn legs(&self) -> impl Iterator<Item = &Leg> {
        std::iter::once(&self.first).chain(self.after_starttls.as_ref())
    }

    /// Every relay attempt (not the controls), leg by leg.
    pub fn attempts(&self) -> impl Iterator<Item = &RelayAttempt> {
        self.legs().flat_map(|l| l.attempts.iter())
    }

    /// The leg whose relaying is reported: the first that relayed, so that a server open
    /// to anyone in plaintext is reported as such even when it also relays over TLS.
    pub fn relaying_leg(&self) -> Option<&Leg> {
        self.legs().find(|l| l.relayed().next().is_some())
    }

    /// The replies fell out of step somewhere, so no reply can be trusted as an answer.
    pub fn desynced(&self) -> bool {
        self.interruption.as_ref().is_some_and(|i| i.desync)
    }

    /// The hello that is current: the one over TLS when there was one.
    pub fn current_hello(&self) -> Option<&Hello> {
        self.after_starttls
            .as_ref()
            .and_then(|l| l.hello.as_ref())
            .or(self.first.hello.as_ref())
    }
}

/// Everything one probe produced. Built by [`probe`](super::probe); assessed (verdict,
/// findings) by `assess`, then written as a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub endpoint: Endpoint,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub status: Status,
    /// What stopped the probe early, in words; `None` when it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// What the DNS blocklists said about the address (`--blocklists`); None when not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocklists: Option<Vec<crate::dns::blocklist::BlocklistAnswer>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one set of status names: the bar, the terminal summary and every report use
    /// `as_str`, and the JSON uses serde's; they must be the same words.
    #[test]
    fn status_names_are_the_serde_names() {
        for status in Status::ALL {
            let serde_name = serde_json::to_value(status).unwrap();
            assert_eq!(serde_name.as_str(), Some(status.as_str()), "{status:?}");
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
    }

    fn reply(code: u16) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec!["text".into()],
        }
    }

    fn attempt(mail: Option<u16>, rcpt: Option<u16>) -> RelayAttempt {
        let mut a = RelayAttempt::planned(3, "<a@example.org>".into(), "<b@example.com>".into());
        a.mail = mail.map(reply);
        a.rcpt = rcpt.map(reply);
        a
    }

    #[test]
    fn each_attempt_ends_one_way() {
        let table: [(Option<u16>, Option<u16>, &str); 9] = [
            (Some(250), Some(250), "relayed"),
            (Some(250), Some(251), "relayed"),
            (Some(250), Some(554), "refused"),
            (Some(550), None, "refused"),
            (Some(451), None, "deferred"),
            (Some(250), Some(450), "deferred"),
            (Some(250), None, "unanswered"),
            (None, None, "unanswered"),
            (Some(250), Some(354), "unanswered"),
        ];
        for (mail, rcpt, want) in table {
            let got = match attempt(mail, rcpt).result() {
                AttemptResult::Relayed(_) => "relayed",
                AttemptResult::Refused(_) => "refused",
                AttemptResult::Deferred(_) => "deferred",
                AttemptResult::Unanswered => "unanswered",
            };
            assert_eq!(got, want, "MAIL {mail:?} RCPT {rcpt:?}");
        }
    }

    #[test]
    fn an_ambiguous_attempt_never_relays() {
        let mut a = attempt(Some(250), Some(250));
        assert!(a.relayed());
        a.ambiguous = true;
        assert_eq!(a.result(), AttemptResult::Unanswered);
        assert!(!a.relayed());
    }

    #[test]
    fn labels_and_descriptions() {
        let a = attempt(Some(250), Some(554));
        assert_eq!(a.label().to_string(), "test 3");
        let control = RelayAttempt::planned(0, "<>".into(), "<x@y.invalid>".into());
        assert_eq!(control.label().to_string(), "control");
        assert_eq!(
            a.describe(&reply(554)),
            "test 3 (MAIL FROM:<a@example.org> RCPT TO:<b@example.com>): 554 text"
        );
    }

    #[test]
    fn hello_takes_ehlo_else_helo() {
        let ok = Hello {
            ehlo: reply(250),
            helo: None,
        };
        assert!(ok.esmtp() && ok.accepted().is_some() && ok.refusal().is_none());
        let fallback = Hello {
            ehlo: reply(502),
            helo: Some(reply(250)),
        };
        assert!(!fallback.esmtp());
        assert_eq!(fallback.accepted().map(|r| r.code), Some(250));
        let refused = Hello {
            ehlo: reply(502),
            helo: Some(reply(501)),
        };
        assert_eq!(refused.refusal().map(|r| r.code), Some(501));
    }

    #[test]
    fn the_relaying_leg_is_the_first_that_relayed() {
        let mut d = Dialogue::default();
        d.first.attempts.push(attempt(Some(250), Some(554)));
        assert!(d.relaying_leg().is_none());
        let mut tls = Leg::new(Channel::Starttls);
        tls.attempts.push(attempt(Some(250), Some(250)));
        d.after_starttls = Some(tls);
        assert_eq!(d.relaying_leg().map(|l| l.channel), Some(Channel::Starttls));
        d.first.attempts.push(attempt(Some(250), Some(250)));
        assert_eq!(
            d.relaying_leg().map(|l| l.channel),
            Some(Channel::Plaintext)
        );
        assert_eq!(d.attempts().count(), 3);
    }

    #[test]
    fn statuses_parse_their_own_names() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("fine".parse::<Status>().is_err());
    }
}
