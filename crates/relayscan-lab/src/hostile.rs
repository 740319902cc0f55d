//! The lab's misbehaving servers (`relayscan lab --hostile`): tarpits, floods, garbage and broken dialogues, each with the status and verdict a scanner must come home with.
//!
//! A group apart from [`Persona`](crate::Persona): the demo and the ordinary lab never
//! start them, because several only end at the scanner's timeouts. This file is pure
//! (names, expectations, the bytes each one sends); `hostile_server.rs` does the I/O.

use crate::designed::{DesignedStatus, DesignedVerdict};

/// One way of misbehaving. Each hostile lab host plays exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// Trickles its greeting one byte per second, forever.
    Tarpit,
    /// An EHLO reply of `250-` lines that never reaches its final line.
    EndlessMultiline,
    /// A greeting line of 1 MiB without a newline.
    HugeLine,
    /// Binary garbage with NUL bytes in place of a greeting.
    BinaryGarbage,
    /// A closed server whose greeting and replies are not valid UTF-8.
    InvalidUtf8,
    /// An EHLO reply whose code changes from 250 to 550 halfway.
    CodeChange,
    /// A closed server that writes every reply one byte per write.
    OneByteWrites,
    /// Sends its greeting and replies to commands not yet sent, in one write.
    UnaskedPipelining,
    /// Answers MAIL FROM with 421 and hangs up.
    Drop421,
    /// Resets the connection (TCP RST) after MAIL FROM.
    ResetAfterMail,
    /// Accepts the connection and never says a word.
    Silent,
    /// Greets, then sends replies nobody asked for without end.
    NeverStops,
    /// An EHLO reply of 10,000 lines.
    HugeEhlo,
}

/// What a correct scan of a misbehaving host records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesignedOutcome {
    pub status: DesignedStatus,
    pub verdict: DesignedVerdict,
    /// A piece of the record's `reason` that names the trouble precisely.
    pub reason: &'static str,
}

impl Misbehaviour {
    pub const ALL: [Misbehaviour; 13] = [
        Misbehaviour::Tarpit,
        Misbehaviour::EndlessMultiline,
        Misbehaviour::HugeLine,
        Misbehaviour::BinaryGarbage,
        Misbehaviour::InvalidUtf8,
        Misbehaviour::CodeChange,
        Misbehaviour::OneByteWrites,
        Misbehaviour::UnaskedPipelining,
        Misbehaviour::Drop421,
        Misbehaviour::ResetAfterMail,
        Misbehaviour::Silent,
        Misbehaviour::NeverStops,
        Misbehaviour::HugeEhlo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Misbehaviour::Tarpit => "tarpit",
            Misbehaviour::EndlessMultiline => "endless-multiline",
            Misbehaviour::HugeLine => "huge-line",
            Misbehaviour::BinaryGarbage => "binary-garbage",
            Misbehaviour::InvalidUtf8 => "invalid-utf8",
            Misbehaviour::CodeChange => "code-change",
            Misbehaviour::OneByteWrites => "one-byte-writes",
            Misbehaviour::UnaskedPipelining => "unasked-pipelining",
            Misbehaviour::Drop421 => "drop-421",
            Misbehaviour::ResetAfterMail => "reset-after-mail",
            Misbehaviour::Silent => "silent",
            Misbehaviour::NeverStops => "never-stops",
            Misbehaviour::HugeEhlo => "huge-ehlo",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Misbehaviour::Tarpit => "trickles its greeting one byte per second, forever",
            Misbehaviour::EndlessMultiline => "an EHLO reply of 250- lines without a final line",
            Misbehaviour::HugeLine => "a 1 MiB greeting line without a newline",
            Misbehaviour::BinaryGarbage => "binary garbage and NUL bytes instead of a greeting",
            Misbehaviour::InvalidUtf8 => {
                "invalid UTF-8 in its greeting and replies; refuses relaying"
            }
            Misbehaviour::CodeChange => "an EHLO reply whose code changes from 250 to 550 halfway",
            Misbehaviour::OneByteWrites => "every reply in one-byte writes; refuses relaying",
            Misbehaviour::UnaskedPipelining => {
                "replies to commands not yet sent, in its greeting's write"
            }
            Misbehaviour::Drop421 => "answers MAIL FROM with 421 and hangs up",
            Misbehaviour::ResetAfterMail => "resets the connection after MAIL FROM",
            Misbehaviour::Silent => "accepts the connection and never speaks",
            Misbehaviour::NeverStops => "greets, then floods replies nobody asked for",
            Misbehaviour::HugeEhlo => "an EHLO reply of 10,000 lines",
        }
    }

    pub fn from_name(name: &str) -> Option<Misbehaviour> {
        let name = name.trim();
        Misbehaviour::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The host name it announces (where it announces one).
    pub fn hostname(self) -> String {
        format!("{}.hostile.test", self.name())
    }

    /// The record a scan must produce; timeouts as the scan's flags set them.
    pub fn designed(self) -> DesignedOutcome {
        use Misbehaviour::*;
        let (status, verdict, reason) = match self {
            Tarpit => (
                DesignedStatus::HostTimeout,
                DesignedVerdict::Inconclusive,
                "deadline",
            ),
            EndlessMultiline => (
                DesignedStatus::ProtocolError,
                DesignedVerdict::Inconclusive,
                "more than 64 lines",
            ),
            HugeLine => (
                DesignedStatus::ProtocolError,
                DesignedVerdict::NotSmtp,
                "longer than 4096 bytes",
            ),
            BinaryGarbage => (
                DesignedStatus::ProtocolError,
                DesignedVerdict::NotSmtp,
                "not an SMTP reply line",
            ),
            InvalidUtf8 | OneByteWrites => (
                DesignedStatus::Completed,
                DesignedVerdict::RelayDenied,
                "refused permanently",
            ),
            CodeChange => (
                DesignedStatus::ProtocolError,
                DesignedVerdict::Inconclusive,
                "code changed from 250 to 550",
            ),
            UnaskedPipelining | NeverStops => (
                DesignedStatus::ProtocolError,
                DesignedVerdict::Inconclusive,
                "replies nobody asked for",
            ),
            Drop421 => (
                DesignedStatus::Dropped,
                DesignedVerdict::Inconclusive,
                "421 4.7.0",
            ),
            ResetAfterMail => (
                DesignedStatus::Dropped,
                DesignedVerdict::Inconclusive,
                "stopped at test 1 MAIL",
            ),
            Silent => (
                DesignedStatus::IoTimeout,
                DesignedVerdict::Inconclusive,
                "no reply within the read timeout",
            ),
            HugeEhlo => (
                DesignedStatus::ProtocolError,
                DesignedVerdict::Inconclusive,
                "more than 64 lines",
            ),
        };
        DesignedOutcome {
            status,
            verdict,
            reason,
        }
    }

    /// What it sends on connect, before any command.
    pub fn greeting(self) -> Vec<u8> {
        let host = self.hostname();
        match self {
            Misbehaviour::HugeLine => {
                let mut line = format!("220 {host} ").into_bytes();
                line.resize(1024 * 1024, b'A');
                line
            }
            Misbehaviour::BinaryGarbage => garbage(1000),
            Misbehaviour::InvalidUtf8 => {
                let mut line = format!("220 {host} ESMTP ").into_bytes();
                line.extend_from_slice(b"\xff\xfe\xc3\x28 caf\xe9\r\n");
                line
            }
            Misbehaviour::UnaskedPipelining => {
                format!("220 {host} ESMTP\r\n250 {host}\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n")
                    .into_bytes()
            }
            // The tarpit's greeting is only ever trickled; the silent one sends nothing.
            Misbehaviour::Silent => Vec::new(),
            _ => format!("220 {host} ESMTP relayscan-hostile\r\n").into_bytes(),
        }
    }

    /// Its reply to one command line, as it would send it; `None` when it hangs up
    /// instead of replying (the server decides how).
    pub fn reply(self, line: &str) -> Option<Vec<u8>> {
        let host = self.hostname();
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let text = match verb.as_str() {
            "EHLO" => match self {
                Misbehaviour::CodeChange => {
                    format!("250-{host}\r\n550-5.0.0 not any more\r\n250 8BITMIME\r\n")
                }
                Misbehaviour::HugeEhlo => {
                    let mut reply = format!("250-{host}\r\n");
                    for n in 0..9_998 {
                        reply.push_str(&format!("250-X-FILLER-{n}\r\n"));
                    }
                    reply.push_str("250 8BITMIME\r\n");
                    reply
                }
                _ => format!("250-{host}\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
            },
            "HELO" => format!("250 {host}\r\n"),
            "MAIL" => match self {
                Misbehaviour::Drop421 => "421 4.7.0 closing, too many errors\r\n".into(),
                Misbehaviour::ResetAfterMail => return None,
                Misbehaviour::InvalidUtf8 => return Some(b"250 2.1.0 \xff\xfeOk\r\n".to_vec()),
                _ => "250 2.1.0 Ok\r\n".into(),
            },
            "RCPT" => match self {
                Misbehaviour::InvalidUtf8 => {
                    return Some(b"554 5.7.1 Relay access denied \xc3\x28\xa0\r\n".to_vec());
                }
                _ => "554 5.7.1 Relay access denied\r\n".into(),
            },
            "RSET" | "NOOP" => "250 2.0.0 Ok\r\n".into(),
            "QUIT" => "221 2.0.0 Bye\r\n".into(),
            _ => "502 5.5.2 Error: command not recognized\r\n".into(),
        };
        Some(text.into_bytes())
    }

    /// Whether it hangs up after sending `reply` to `line`.
    pub fn closes_after(self, line: &str) -> bool {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        verb == "QUIT" || (self == Misbehaviour::Drop421 && verb == "MAIL")
    }
}

/// Deterministic binary garbage with NUL bytes and no newline (an LCG; no randomness
/// needed, only bytes that are not SMTP).
pub fn garbage(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            match (state >> 24) as u8 {
                _ if i % 7 == 0 => 0,
                b'\n' => 0,
                b => b,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for m in Misbehaviour::ALL {
            assert!(seen.insert(m.name()), "duplicate {}", m.name());
            assert_eq!(Misbehaviour::from_name(&m.name().to_uppercase()), Some(m));
            assert!(!m.description().is_empty());
            assert!(!m.designed().reason.is_empty());
        }
        assert_eq!(Misbehaviour::from_name("closed"), None);
    }

    // How the scanner's reply parser takes these bytes is tested on the scanner's side
    // (src/lab.rs): this crate cannot call the parser.
    #[test]
    fn greetings_as_designed() {
        assert_eq!(Misbehaviour::HugeLine.greeting().len(), 1024 * 1024);
        assert!(!Misbehaviour::HugeLine.greeting().contains(&b'\n'));
        assert!(Misbehaviour::Silent.greeting().is_empty());
        assert!(!garbage(4096).contains(&b'\n'));
        assert!(garbage(4096).contains(&0));
        // Short enough to be told from SMTP by its first bytes, not by the line cap.
        assert!(Misbehaviour::BinaryGarbage.greeting().len() < 4096);
        let pipelined = Misbehaviour::UnaskedPipelining.greeting();
        assert_eq!(pipelined.iter().filter(|&&b| b == b'\n').count(), 4);
    }

    #[test]
    fn replies_per_command() {
        let ehlo = Misbehaviour::HugeEhlo.reply("EHLO x").expect("a reply");
        assert_eq!(ehlo.iter().filter(|&&b| b == b'\n').count(), 10_000);
        assert_eq!(Misbehaviour::ResetAfterMail.reply("MAIL FROM:<>"), None);
        assert!(Misbehaviour::Drop421.closes_after("MAIL FROM:<>"));
        assert!(!Misbehaviour::Drop421.closes_after("RCPT TO:<a@b>"));
        assert!(Misbehaviour::OneByteWrites.closes_after("quit"));
    }
}
