//! The transcript as an admin reads it at a terminal: pipelined relay tests shown test by test (C: MAIL, S: its reply, C: RCPT, S: its reply), from the dialogue's own pairing of replies to commands; everything else in wire order.
//!
//! On the wire a pipelined group is all its commands, then all its replies: 48 `C:` lines
//! then 48 `S:` lines, which no one can match by eye. The dialogue model already holds
//! each reply in the slot of the command it answers (`probe::dialogue::attempts`, checked
//! there); this view takes those slots and never pairs anything itself. The JSON keeps
//! the wire order.

use crate::probe::relay::CATALOGUE;
use crate::probe::{Dialogue, Leg, RelayAttempt};
use crate::smtp::{Command, Direction, Reply, TranscriptLine};

/// One line of the view: a wire line as it was (with its time), or a line of a test
/// shown from the dialogue model (no time: its commands went out in groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub ms: Option<u64>,
    pub dir: Direction,
    pub text: String,
}

impl Shown {
    fn wire(line: &TranscriptLine) -> Shown {
        Shown {
            ms: Some(line.ms),
            dir: line.dir,
            text: line.text.clone(),
        }
    }

    fn model(dir: Direction, text: String) -> Shown {
        Shown {
            ms: None,
            dir,
            text,
        }
    }
}

/// The view of `transcript`, the wire record of dialogue `d`. A pipelined section (two or
/// more commands in a row, with the replies that follow them, up to the next command sent
/// alone) is shown test by test from the leg it belongs to: the k-th section, the k-th
/// pipelined leg. Shown in wire order instead, whole: a dialogue whose replies fell out of
/// step (or a rerun's first run, whose groups gave nothing to the model), and a section
/// with notes in it (an error mid-group) or more sections than pipelined legs.
pub fn telnet_view(transcript: &[TranscriptLine], d: &Dialogue) -> Vec<Shown> {
    let wire = || transcript.iter().map(Shown::wire).collect();
    if d.desynced() || d.rerun_after.is_some() {
        return wire();
    }
    let sections = pipelined_sections(transcript);
    let legs: Vec<&Leg> = d
        .legs()
        .filter(|l| l.pipelined && !l.attempts.is_empty())
        .collect();
    let noted = sections.iter().any(|s| {
        transcript[s.clone()]
            .iter()
            .any(|l| l.dir == Direction::Note)
    });
    if sections.is_empty() || sections.len() > legs.len() || noted {
        return wire();
    }
    let mut out = Vec::with_capacity(transcript.len());
    let mut next = 0;
    for (k, (section, leg)) in sections.iter().zip(legs).enumerate() {
        out.extend(transcript[next..section.start].iter().map(Shown::wire));
        if k == 0 {
            out.push(Shown::model(Direction::Note, PIPELINED_NOTE.to_string()));
        }
        let modelled: Vec<&RelayAttempt> =
            leg.attempts.iter().chain(leg.control.as_ref()).collect();
        for attempt in &modelled {
            out.extend(test_lines(attempt));
        }
        // What the group carried past the modelled tests (the control recipient where no
        // test relayed, QUIT), each command over its own reply, as sent.
        let Some(rest) = unmodelled(&transcript[section.clone()], modelled.len()) else {
            return wire();
        };
        out.extend(rest);
        next = section.end;
    }
    out.extend(transcript[next..].iter().map(Shown::wire));
    out
}

/// Said once per host, before its first pipelined section.
pub const PIPELINED_NOTE: &str = "the relay tests went out pipelined (RFC 2920), all commands then all replies; shown test by test, each reply under its command (each test began with RSET; the JSON keeps the wire order)";

/// One test as telnet would show it: a header, then MAIL and its reply, RCPT and its
/// reply (RCPT only when it was sent: never after a refused MAIL).
fn test_lines(a: &RelayAttempt) -> Vec<Shown> {
    let about = CATALOGUE
        .iter()
        .find(|t| t.id == a.id)
        .map_or("a recipient at a domain that cannot exist", |t| t.about);
    let mut out = vec![Shown::model(
        Direction::Note,
        format!("{}: {about}", a.label()),
    )];
    let mut exchange = |cmd: Command, reply: Option<&Reply>| {
        out.push(Shown::model(Direction::Client, cmd.to_string()));
        match reply {
            Some(r) => r.for_each_wire_line(|l| out.push(Shown::model(Direction::Server, l))),
            None => out.push(Shown::model(
                Direction::Note,
                "no reply: the dialogue ended first".to_string(),
            )),
        }
    };
    exchange(Command::MailFrom(a.mail_from.clone()), a.mail.as_ref());
    if a.mail.as_ref().is_some_and(Reply::is_positive) {
        exchange(Command::RcptTo(a.rcpt_to.clone()), a.rcpt.as_ref());
    }
    out
}

/// The commands a pipelined group sends per modelled test: RSET, MAIL and RCPT (the RCPT
/// goes out even after a refused MAIL, and gets 503).
const COMMANDS_PER_TEST: usize = 3;

/// The exchanges of `section` after its first `tests` tests: each command, then the lines
/// of its reply. `None` when the section's commands and replies do not pair one to one
/// (the model could not vouch for them, so the caller shows the wire order).
fn unmodelled(section: &[TranscriptLine], tests: usize) -> Option<Vec<Shown>> {
    let commands: Vec<&TranscriptLine> = section
        .iter()
        .filter(|l| l.dir == Direction::Client)
        .collect();
    let mut replies: Vec<Vec<&TranscriptLine>> = Vec::new();
    let mut open = false;
    for l in section.iter().filter(|l| l.dir == Direction::Server) {
        if !open {
            replies.push(Vec::new());
        }
        replies.last_mut()?.push(l);
        // "250-…" continues a reply; "250 …" (or a bare code) ends it.
        open = l.text.as_bytes().get(3) == Some(&b'-');
    }
    let skip = tests * COMMANDS_PER_TEST;
    if commands.len() != replies.len() || commands.len() < skip {
        return None;
    }
    let mut out = Vec::new();
    // Past the tests: QUIT alone needs no word; the control recipient does.
    let quit_only = commands.len() - skip == 1 && commands[skip].text == "QUIT";
    if commands.len() > skip && !quit_only {
        out.push(Shown::model(Direction::Note, CONTROL_NOTE.to_string()));
    }
    for (command, reply) in commands.iter().zip(&replies).skip(skip) {
        out.push(Shown::wire(command));
        out.extend(reply.iter().map(|l| Shown::wire(l)));
    }
    Some(out)
}

/// Said before a control recipient the group carried for a host where no test relayed:
/// it was sent, and its replies are shown, but it decides nothing.
pub const CONTROL_NOTE: &str = "control: a recipient at a domain that cannot exist, sent in the same group; it counts only where a test relayed";

/// The index ranges of the pipelined sections: a run of two or more client lines (one
/// write of a group, RFC 2920) and the lines after it up to the next client line sent
/// alone; adjacent groups (the senders, then the transactions, then the control) make one
/// section. One command at a time, a client line is always followed by its reply.
fn pipelined_sections(t: &[TranscriptLine]) -> Vec<std::ops::Range<usize>> {
    let client = |i: usize| t.get(i).is_some_and(|l| l.dir == Direction::Client);
    let group_at = |i: usize| client(i) && client(i + 1);
    let mut sections: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if !group_at(i) {
            i += 1;
            continue;
        }
        let start = i;
        // This group and any group right after its replies.
        loop {
            while client(i) {
                i += 1;
            }
            while i < t.len() && !client(i) {
                i += 1;
            }
            if !group_at(i) {
                break;
            }
        }
        sections.push(start..i);
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Channel;

    fn line(dir: Direction, text: &str) -> TranscriptLine {
        TranscriptLine {
            ms: 1,
            dir,
            text: text.into(),
        }
    }

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.into()],
        }
    }

    fn attempt(id: u8, from: &str, mail: u16, rcpt: Option<u16>) -> RelayAttempt {
        let mut a = RelayAttempt::planned(id, from.into(), "<relaytest@example.com>".into());
        a.rset = Some(reply(250, "Ok"));
        a.mail = Some(reply(mail, if mail == 250 { "Ok" } else { "no" }));
        a.rcpt = rcpt.map(|c| reply(c, if c == 250 { "Ok" } else { "denied" }));
        a
    }

    /// A pipelined dialogue of two tests: sender 1 taken, sender 2 refused; test 1's
    /// RCPT refused. On the wire one group: RSET, MAIL, RCPT per test (test 4's RCPT gets
    /// 503 after its refused MAIL), the control recipient, QUIT.
    fn pipelined() -> (Vec<TranscriptLine>, Dialogue) {
        use Direction::{Client as C, Note as N, Server as S};
        let t = vec![
            line(N, "connected to 192.0.2.1:25"),
            line(S, "220 mx ESMTP"),
            line(C, "EHLO scanner"),
            line(S, "250 mx"),
            line(C, "RSET"),
            line(C, "MAIL FROM:<>"),
            line(C, "RCPT TO:<relaytest@example.com>"),
            line(C, "RSET"),
            line(C, "MAIL FROM:<a@[192.0.2.1]>"),
            line(C, "RCPT TO:<relaytest@example.com>"),
            line(C, "RSET"),
            line(C, "MAIL FROM:<>"),
            line(C, "RCPT TO:<x@y.invalid>"),
            line(C, "QUIT"),
            line(S, "250 Ok"),
            line(S, "250 Ok"),
            line(S, "554 denied"),
            line(S, "250 Ok"),
            line(S, "501 no"),
            line(S, "503 sender first"),
            line(S, "250 Ok"),
            line(S, "250 Ok"),
            line(S, "550-no such"),
            line(S, "550 domain"),
            line(S, "221 Bye"),
        ];
        let mut leg = Leg::new(Channel::Plaintext);
        leg.pipelined = true;
        leg.attempts = vec![
            attempt(1, "<>", 250, Some(554)),
            attempt(4, "<a@[192.0.2.1]>", 501, None),
        ];
        let d = Dialogue {
            greeting: Some(reply(220, "mx ESMTP")),
            first: leg,
            ..Dialogue::default()
        };
        (t, d)
    }

    fn text(view: &[Shown]) -> Vec<String> {
        view.iter()
            .map(|s| {
                let who = match s.dir {
                    Direction::Client => "C:",
                    Direction::Server => "S:",
                    Direction::Note => "#",
                };
                format!("{who} {}", s.text)
            })
            .collect()
    }

    #[test]
    fn pipelined_tests_are_shown_test_by_test_from_the_dialogue() {
        let (t, d) = pipelined();
        let view = telnet_view(&t, &d);
        let want = [
            "# connected to 192.0.2.1:25",
            "S: 220 mx ESMTP",
            "C: EHLO scanner",
            "S: 250 mx",
            &format!("# {PIPELINED_NOTE}"),
            "# test 1: null sender (bounce) to a foreign domain",
            "C: MAIL FROM:<>",
            "S: 250 Ok",
            "C: RCPT TO:<relaytest@example.com>",
            "S: 554 denied",
            "# test 4: sender at the server's address literal",
            "C: MAIL FROM:<a@[192.0.2.1]>",
            "S: 501 no",
            &format!("# {CONTROL_NOTE}"),
            "C: RSET",
            "S: 250 Ok",
            "C: MAIL FROM:<>",
            "S: 250 Ok",
            "C: RCPT TO:<x@y.invalid>",
            "S: 550-no such",
            "S: 550 domain",
            "C: QUIT",
            "S: 221 Bye",
        ];
        assert_eq!(text(&view), want);
        // Wire lines keep their time; the model's lines have none.
        assert_eq!(view[1].ms, Some(1));
        assert_eq!(view[6].ms, None);
    }

    #[test]
    fn wire_order_stays_where_the_model_cannot_speak_for_it() {
        let (t, d) = pipelined();
        let wire: Vec<Shown> = t.iter().map(Shown::wire).collect();
        // One command at a time: no section.
        let mut one = d.clone();
        one.first.pipelined = false;
        assert_eq!(telnet_view(&t, &one), wire);
        // Out of step: nothing the model holds answers its command.
        let mut desynced = d.clone();
        desynced.interruption = Some(crate::probe::Interruption {
            status: crate::probe::Status::ProtocolError,
            step: "test 1 RCPT".into(),
            detail: "replies out of step".into(),
            desync: true,
        });
        assert_eq!(telnet_view(&t, &desynced), wire);
        // A note inside a group (an error mid-group).
        let mut noted = t.clone();
        noted.insert(9, line(Direction::Note, "connection closed by server"));
        let wire_noted: Vec<Shown> = noted.iter().map(Shown::wire).collect();
        assert_eq!(telnet_view(&noted, &d), wire_noted);
        // A group whose last command got no reply: its commands and replies do not pair.
        let short = &t[..t.len() - 1];
        let wire_short: Vec<Shown> = short.iter().map(Shown::wire).collect();
        assert_eq!(telnet_view(short, &d), wire_short);
    }

    #[test]
    fn sections_are_runs_of_commands_with_their_replies() {
        let (t, _) = pipelined();
        assert_eq!(pipelined_sections(&t), vec![4..25]);
        let one_at_a_time = [
            line(Direction::Client, "RSET"),
            line(Direction::Server, "250 Ok"),
            line(Direction::Client, "MAIL FROM:<>"),
            line(Direction::Server, "250 Ok"),
        ];
        assert!(pipelined_sections(&one_at_a_time).is_empty());
    }
}
