//! The lab's servers whose replies fall out of step: stray lines nobody asked for, as proxies, load balancers and broken greet-pause implementations send them, in plaintext or only after STARTTLS. Pure: which persona strays how, and the answer it gives instead.
//!
//! A stray "after" a command goes out with the server's next write, ahead of the next
//! answer (a proxy that adds a line to the next packet): read in order, every pairing of
//! reply to command after it is off by one, so a MAIL's 250 is read as a RCPT's. That is
//! the shift that made a closed server look like an open relay, 16 of 16 tests.

use std::borrow::Cow;

use crate::persona::Persona;

/// The line a stray server adds: indistinguishable from a real answer to RSET or MAIL.
pub const STRAY_LINE: &str = "250 2.0.0 Ok";

/// How a persona's replies fall out of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stray {
    /// One stray line after the first MAIL the server takes.
    AfterFirstMail,
    /// One stray line after the first RCPT.
    AfterFirstRcpt,
    /// One stray line after the answer to EHLO.
    AfterEhlo,
    /// A stray line right after every answer, in the same write.
    AfterEveryAnswer,
    /// The greeting, twice.
    DuplicateGreeting,
}

/// Which personas stray, how, and whether only over TLS (after STARTTLS).
pub fn stray_of(p: Persona) -> Option<(Stray, bool)> {
    Some(match p {
        Persona::StrayAfterMail => (Stray::AfterFirstMail, false),
        Persona::StrayAfterRcpt => (Stray::AfterFirstRcpt, false),
        Persona::StrayAfterEhlo => (Stray::AfterEhlo, false),
        Persona::ExtraReplies => (Stray::AfterEveryAnswer, false),
        Persona::DoubleGreeting => (Stray::DuplicateGreeting, false),
        Persona::StrayAfterMailTls => (Stray::AfterFirstMail, true),
        Persona::StrayAfterRcptTls => (Stray::AfterFirstRcpt, true),
        Persona::StrayAfterEhloTls => (Stray::AfterEhlo, true),
        Persona::ExtraRepliesTls => (Stray::AfterEveryAnswer, true),
        _ => return None,
    })
}

/// Where one connection is in its straying: how its persona strays, a line owed before
/// the next answer, and whether the one stray a connection sends has gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrayState {
    plan: Option<(Stray, bool)>,
    owed: bool,
    spent: bool,
}

impl StrayState {
    /// The state of a new connection to persona `p`: decided once, so that the sound
    /// personas (almost every lab host) pay nothing per command.
    pub fn new(p: Persona) -> StrayState {
        StrayState {
            plan: stray_of(p),
            ..StrayState::default()
        }
    }

    /// Whether this connection's persona strays at all.
    pub fn strays(&self) -> bool {
        self.plan.is_some()
    }

    /// The answer to a command with `verb` (uppercase) in place of `lines`, whose code
    /// `code` is already decided; `tls` when the dialogue runs over TLS. The 220 to
    /// STARTTLS is never touched: the handshake follows it.
    pub fn answer(
        &mut self,
        verb: &str,
        code: Option<u16>,
        tls: bool,
        mut lines: Vec<Cow<'static, str>>,
    ) -> Vec<Cow<'static, str>> {
        let Some((stray, only_over_tls)) = self.plan else {
            return lines;
        };
        if (only_over_tls && !tls) || code == Some(220) || lines.is_empty() {
            return lines;
        }
        if std::mem::take(&mut self.owed) {
            lines.insert(0, Cow::Borrowed(STRAY_LINE));
        }
        let taken = code.is_some_and(|c| (200..300).contains(&c));
        let first = |spent: &mut bool| !std::mem::replace(spent, true);
        match stray {
            Stray::AfterEveryAnswer => lines.push(Cow::Borrowed(STRAY_LINE)),
            Stray::AfterFirstMail if verb == "MAIL" && taken => self.owed = first(&mut self.spent),
            Stray::AfterFirstRcpt if verb == "RCPT" => self.owed = first(&mut self.spent),
            Stray::AfterEhlo if verb == "EHLO" && taken => self.owed = first(&mut self.spent),
            _ => {}
        }
        lines
    }

    /// TLS started: what happened in plaintext does not count (RFC 3207 starts afresh).
    pub fn restart(&mut self) {
        self.owed = false;
        self.spent = false;
    }
}

/// Whether persona `p` sends its greeting twice.
pub fn greets_twice(p: Persona) -> bool {
    matches!(stray_of(p), Some((Stray::DuplicateGreeting, _)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: Persona, tls: bool, exchange: &[(&str, u16)]) -> Vec<Vec<String>> {
        let mut state = StrayState::new(p);
        exchange
            .iter()
            .map(|&(verb, code)| {
                let line = Cow::Owned(format!("{code} answer to {verb}"));
                state
                    .answer(verb, Some(code), tls, vec![line])
                    .into_iter()
                    .map(|l| l.into_owned())
                    .collect()
            })
            .collect()
    }

    const DIALOGUE: [(&str, u16); 6] = [
        ("EHLO", 250),
        ("RSET", 250),
        ("MAIL", 250),
        ("RCPT", 554),
        ("RSET", 250),
        ("QUIT", 221),
    ];

    #[test]
    fn each_stray_comes_once_ahead_of_the_next_answer() {
        // (persona, over TLS, index of the answer the stray goes ahead of)
        let table = [
            (Persona::StrayAfterEhlo, false, 1),
            (Persona::StrayAfterMail, false, 3),
            (Persona::StrayAfterRcpt, false, 4),
            (Persona::StrayAfterMailTls, true, 3),
        ];
        for (p, tls, at) in table {
            let answers = run(p, tls, &DIALOGUE);
            for (i, answer) in answers.iter().enumerate() {
                let strays = answer.iter().filter(|l| *l == STRAY_LINE).count();
                assert_eq!(strays, usize::from(i == at), "{p}, answer {i}: {answer:?}");
                if i == at {
                    assert_eq!(answer.first().map(String::as_str), Some(STRAY_LINE));
                }
            }
        }
    }

    #[test]
    fn extra_replies_follow_every_answer_and_tls_ones_wait_for_tls() {
        for answer in run(Persona::ExtraReplies, false, &DIALOGUE) {
            assert_eq!(answer.last().map(String::as_str), Some(STRAY_LINE));
            assert_eq!(answer.len(), 2);
        }
        // Before STARTTLS the TLS personas are sound.
        for p in [Persona::ExtraRepliesTls, Persona::StrayAfterMailTls] {
            assert!(run(p, false, &DIALOGUE).iter().all(|a| a.len() == 1), "{p}");
        }
        // The 220 to STARTTLS is never followed by a stray: the handshake is next.
        let mut state = StrayState::new(Persona::ExtraReplies);
        let go = state.answer("STARTTLS", Some(220), false, vec![Cow::Borrowed("220 go")]);
        assert_eq!(go, ["220 go"]);
    }

    #[test]
    fn sound_personas_are_untouched() {
        for p in [Persona::Closed, Persona::OpenRelay, Persona::DoubleGreeting] {
            assert!(run(p, false, &DIALOGUE).iter().all(|a| a.len() == 1), "{p}");
        }
        assert!(!StrayState::new(Persona::Closed).strays());
        assert!(StrayState::new(Persona::StrayAfterMailTls).strays());
        assert!(greets_twice(Persona::DoubleGreeting) && !greets_twice(Persona::Closed));
    }
}
