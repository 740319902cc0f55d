//! The personas' SMTP policies as pure functions: given the state of one conversation and one command line, what to answer.
//!
//! No I/O here: the server in `server.rs` only moves bytes and timers, so every
//! reply a persona can give is pinned down by the table tests below.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use crate::address::{MailPath, RcptClass, classify, is_invalid_domain, split_path_arg};
use crate::persona::Persona;
use crate::stray::StrayState;
use crate::tls;

/// Commands accepted per connection before the lab hangs up, so a client in a
/// loop cannot hold a connection for ever.
pub const MAX_COMMANDS: usize = 200;

/// The message size advertised in EHLO; a body past it ends the connection.
pub const MAX_MESSAGE: usize = 10_240_000;

/// Triplets remembered by one greylisting host before it forgets them all:
/// a bound on memory that a scan of the lab never comes near.
const GREYLIST_CAP: usize = 100_000;

/// One reply to send (possibly multi-line, possibly none), and whether to hang up after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Static text borrowed, built text owned: most replies cost no formatting.
    pub lines: Vec<Cow<'static, str>>,
    pub close: bool,
}

impl Answer {
    fn reply(line: impl Into<Cow<'static, str>>) -> Answer {
        Answer {
            lines: vec![line.into()],
            close: false,
        }
    }

    fn close(line: impl Into<Cow<'static, str>>) -> Answer {
        Answer {
            lines: vec![line.into()],
            close: true,
        }
    }

    /// Hang up without a word (drop-after-mail).
    fn silent_close() -> Answer {
        Answer {
            lines: Vec::new(),
            close: true,
        }
    }

    /// The reply code of the last line, for tests and for counting accepted recipients.
    pub fn code(&self) -> Option<u16> {
        self.lines.last()?.get(..3)?.parse().ok()
    }
}

/// What a persona sends on connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// A `220-` line sent before a pause (slow-greeting only).
    pub teaser: Option<String>,
    /// The greeting proper (or the SSH banner for not-smtp).
    pub line: String,
    /// Hang up right after the greeting (busy).
    pub close: bool,
    /// Send the greeting twice, in one write (double-greeting).
    pub twice: bool,
}

/// The greeting of `persona`.
pub fn greeting(persona: Persona) -> Greeting {
    let h = persona.hostname();
    let standard = format!("220 {h} ESMTP relayscan-lab");
    let (teaser, line, close) = match persona {
        Persona::HeloOnly => (None, format!("220 {h} SMTP ready"), false),
        Persona::SlowGreeting => (Some(format!("220-{h} ESMTP please wait")), standard, false),
        Persona::NotSmtp => (None, "SSH-2.0-OpenSSH_9.6p1 Debian-4".to_string(), false),
        Persona::Busy => (
            None,
            format!("421 4.3.2 {h} Service not available, closing transmission channel"),
            true,
        ),
        Persona::Blocked => (
            None,
            format!("554 5.7.1 {h} Service unavailable; client host blocked"),
            false,
        ),
        // Exim's own greeting format; 4.91 is under CVE-2019-10149 (4.87 to 4.91).
        Persona::VulnerableExim => (
            None,
            format!("220 {h} ESMTP Exim 4.91 Mon, 07 Dec 2026 05:00:00 +0000"),
            false,
        ),
        // Postfix with `$mail_version` in smtpd_banner; the 3.4 line is past its end of
        // support (data/advisories.toml: postfix-eol-branches, fixed = 3.5).
        Persona::EndOfLifePostfix => (None, format!("220 {h} ESMTP Postfix (3.4.14)"), false),
        _ => (
            None,
            crate::injection::greeting(persona, h).unwrap_or(standard),
            false,
        ),
    };
    Greeting {
        teaser,
        line,
        close,
        twice: crate::stray::greets_twice(persona),
    }
}

/// Postscreen's answer to a client that spoke before the final `220 `.
pub fn talked_too_early() -> Answer {
    Answer::close("554 5.5.1 Error: talked too early")
}

/// Greylisting memory shared by every connection to one host (as postgrey's
/// database is): the first sighting of a triplet is deferred, later ones pass.
#[derive(Debug, Default)]
pub struct Greylist {
    seen: Mutex<HashSet<(IpAddr, String, String)>>,
}

impl Greylist {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the triplet; true when it had not been seen before.
    pub fn first_seen(&self, client: IpAddr, mail_from: &str, rcpt: &str) -> bool {
        // A poisoned lock only means another connection panicked mid-insert;
        // the set itself is still a valid set, so keep serving.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= GREYLIST_CAP {
            seen.clear();
        }
        seen.insert((
            client,
            mail_from.to_ascii_lowercase(),
            rcpt.to_ascii_lowercase(),
        ))
    }
}

/// The reply of `persona` (at `own_ip`) to `RCPT TO:<rcpt>` after
/// `MAIL FROM:<mail_from>`. `first_seen` is asked only by the greylisting
/// persona, so the greylist is not touched for the others.
pub fn rcpt_reply(
    persona: Persona,
    own_ip: Ipv4Addr,
    mail_from: &str,
    rcpt: &str,
    first_seen: impl FnOnce() -> bool,
) -> String {
    const OK: &str = "250 2.1.5 Ok";
    let host = persona.hostname();
    let path = MailPath::parse(rcpt);
    if persona == Persona::AcceptAllSink {
        return OK.to_string();
    }
    if classify(&path, host, own_ip) == RcptClass::Local {
        return format!(
            "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table"
        );
    }
    // Built only by the personas that refuse.
    let denied = || ["554 5.7.1 <", rcpt, ">: Relay access denied"].concat();
    // Relaying MTAs still look the destination up; the scanner's control
    // recipient relies on this to tell a relay from a sink.
    let relay = || {
        if path.destination_domain().is_some_and(is_invalid_domain) {
            format!("550 5.1.2 <{rcpt}>: Recipient address rejected: Domain not found")
        } else {
            OK.to_string()
        }
    };
    match persona {
        Persona::OpenRelay | Persona::TlsRequired => relay(),
        Persona::HostileHtml => crate::injection::rcpt(persona, relay()),
        Persona::HostileCsv | Persona::HostileTerminal => crate::injection::rcpt(persona, denied()),
        Persona::AuthRequired | Persona::AuthBeforeTls => {
            "530 5.7.0 Authentication required".to_string()
        }
        Persona::Greylisting => {
            if first_seen() {
                format!(
                    "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/lab.test"
                )
            } else {
                relay()
            }
        }
        Persona::SenderTrusting => {
            let sender_domain = MailPath::parse(mail_from).domain;
            let trusted = sender_domain
                .is_some_and(|d| d.strip_suffix('.').unwrap_or(d).eq_ignore_ascii_case(host));
            if trusted { relay() } else { denied() }
        }
        Persona::PercentHack => {
            // The % hack rewrites user%dest@me to user@dest: only that shape passes.
            let own = path
                .domain
                .is_some_and(|d| crate::address::is_own_domain(d, host, own_ip));
            if own && !path.quoted && path.route.is_empty() && path.local.contains('%') {
                relay()
            } else {
                denied()
            }
        }
        Persona::HeloOnly => "550 Relaying denied".to_string(),
        // The rest never accept relaying; the last four rarely get this far.
        Persona::Closed
        | Persona::SlowGreeting
        | Persona::AcceptAllSink
        | Persona::NotSmtp
        | Persona::DropAfterMail
        | Persona::Busy
        | Persona::Blocked
        | Persona::StarttlsSelfSigned
        | Persona::ExpiredCert
        | Persona::TlsBroken
        | Persona::StarttlsInjection
        | Persona::ImplicitTls
        | Persona::StrayAfterMail
        | Persona::StrayAfterRcpt
        | Persona::StrayAfterEhlo
        | Persona::DoubleGreeting
        | Persona::ExtraReplies
        | Persona::StrayAfterMailTls
        | Persona::StrayAfterRcptTls
        | Persona::StrayAfterEhloTls
        | Persona::ExtraRepliesTls
        | Persona::MustAuthFirst
        | Persona::VulnerableExim
        | Persona::EndOfLifePostfix => denied(),
    }
}

/// Whether the persona advertises AUTH (and fails every attempt to use it). Not
/// must-auth-first: OpenSMTPD offers AUTH only over TLS, which it never gets to.
fn offers_auth(persona: Persona) -> bool {
    matches!(persona, Persona::AuthRequired | Persona::AuthBeforeTls)
}

/// Removes an RFC 3463 enhanced code after the reply code, for the old
/// helo-only server: `250 2.1.0 Ok` becomes `250 Ok`.
pub fn strip_enhanced(line: &str) -> String {
    let Some((head, rest)) = line.split_at_checked(4) else {
        return line.to_string();
    };
    let (token, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let parts: Vec<&str> = token.split('.').collect();
    let enhanced = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if enhanced {
        format!("{head}{tail}")
    } else {
        line.to_string()
    }
}

/// Case-insensitive prefix strip that cannot panic on multi-byte input.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let (head, tail) = s.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(tail)
}

/// End of a message body: the answer and the body size for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyEnd {
    pub answer: Answer,
    pub bytes: usize,
}

/// The state of one SMTP dialogue with one client.
#[derive(Debug, Clone)]
pub struct Conversation {
    persona: Persona,
    hostname: &'static str,
    own_ip: Ipv4Addr,
    client_ip: IpAddr,
    commands: usize,
    greeted: bool,
    mail_from: Option<String>,
    accepted_rcpts: usize,
    /// Bytes of the message body so far, while inside DATA.
    body: Option<usize>,
    /// The dialogue runs inside TLS (after STARTTLS, or on the implicit-TLS port).
    tls: bool,
    /// Where the stray personas are in their straying.
    stray: StrayState,
}

impl Conversation {
    pub fn new(persona: Persona, own_ip: Ipv4Addr, client_ip: IpAddr) -> Conversation {
        Conversation {
            persona,
            hostname: persona.hostname(),
            own_ip,
            client_ip,
            commands: 0,
            greeted: false,
            mail_from: None,
            accepted_rcpts: 0,
            body: None,
            tls: false,
            stray: StrayState::new(persona),
        }
    }

    /// The TLS handshake is done: RFC 3207 §4.2, the client must greet again.
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.stray.restart();
        self.greeted = false;
        self.reset();
    }

    /// Whether the next lines are message body rather than commands.
    pub fn in_body(&self) -> bool {
        self.body.is_some()
    }

    /// The answer to one command line.
    pub fn command(&mut self, line: &str, greylist: &Greylist) -> Answer {
        if let Some(limit) = self.count_command() {
            return limit;
        }
        let answer = match self.persona {
            Persona::NotSmtp => Answer::close("Invalid SSH identification string."),
            Persona::Busy => Answer::close(format!(
                "421 4.3.2 {} Service not available, closing transmission channel",
                self.hostname
            )),
            Persona::Blocked => {
                if verb_of(line).eq_ignore_ascii_case("QUIT") {
                    Answer::close("221 2.0.0 Bye")
                } else {
                    Answer::reply("503 5.5.1 Error: no SMTP service here")
                }
            }
            _ => self.smtp(line, greylist),
        };
        let mut answer = self.finish(answer);
        if !self.stray.strays() {
            return answer;
        }
        let verb = verb_of(trim(line));
        let verb = KNOWN_VERBS
            .into_iter()
            .find(|known| verb.eq_ignore_ascii_case(known))
            .unwrap_or("");
        let code = answer.code();
        let lines = std::mem::take(&mut answer.lines);
        answer.lines = self.stray.answer(verb, code, self.tls, lines);
        answer
    }

    /// The answer to a line over the length limit (its text is already gone).
    pub fn line_too_long(&mut self) -> Answer {
        if let Some(limit) = self.count_command() {
            return limit;
        }
        let answer = match self.persona {
            Persona::NotSmtp => Answer::close("Invalid SSH identification string."),
            _ => Answer::reply("500 5.5.2 Line too long"),
        };
        self.finish(answer)
    }

    /// The answer when the client has been idle too long.
    pub fn timeout(&self) -> Answer {
        if self.persona == Persona::NotSmtp {
            // sshd just drops a client that never identifies itself.
            return Answer::silent_close();
        }
        self.finish(Answer::close(format!(
            "421 4.4.2 {} Error: timeout exceeded",
            self.hostname
        )))
    }

    /// One line of message body; `Some` when the body ends (lone dot) or overflows.
    pub fn body_line(&mut self, line: &str) -> Option<BodyEnd> {
        if line == "." {
            let bytes = self.body.take().unwrap_or(0);
            self.reset();
            return Some(BodyEnd {
                answer: self.finish(Answer::reply("250 2.0.0 Ok: queued as LAB")),
                bytes,
            });
        }
        // +2 for the CRLF the line came with.
        self.body_bytes(line.len() + 2)
    }

    /// Counts body bytes that were discarded unread (an over-long body line).
    pub fn body_bytes(&mut self, n: usize) -> Option<BodyEnd> {
        let total = self.body.as_mut()?;
        *total = total.saturating_add(n);
        if *total > MAX_MESSAGE {
            let bytes = *total;
            self.body = None;
            self.reset();
            return Some(BodyEnd {
                answer: self.finish(Answer::close("552 5.3.4 Error: message file too big")),
                bytes,
            });
        }
        None
    }

    fn count_command(&mut self) -> Option<Answer> {
        self.commands += 1;
        (self.commands > MAX_COMMANDS).then(|| {
            self.finish(Answer::close(format!(
                "421 4.7.0 {} Error: too many commands",
                self.hostname
            )))
        })
    }

    /// Per-persona post-processing of every reply.
    fn finish(&self, mut answer: Answer) -> Answer {
        if self.persona == Persona::HeloOnly {
            answer.lines = answer
                .lines
                .iter()
                .map(|l| Cow::Owned(strip_enhanced(l)))
                .collect();
        }
        answer
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.accepted_rcpts = 0;
    }

    fn smtp(&mut self, line: &str, greylist: &Greylist) -> Answer {
        // Trimmed on both sides so the verb is a prefix of `line`.
        let line = trim(line);
        let verb = verb_of(line);
        let arg = line[verb.len()..].trim_start();
        // Case-insensitive without an uppercased copy of every verb.
        let verb = KNOWN_VERBS
            .into_iter()
            .find(|known| verb.eq_ignore_ascii_case(known))
            .unwrap_or(if verb.is_empty() { "" } else { "?" });
        match verb {
            "" => Answer::reply("500 5.5.2 Error: bad syntax"),
            "EHLO" => self.ehlo(arg),
            "HELO" => {
                if arg.is_empty() {
                    return Answer::reply("501 5.5.4 Syntax: HELO hostname");
                }
                self.reset();
                self.greeted = true;
                Answer::reply(format!("250 {}", self.hostname))
            }
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg, greylist),
            "DATA" => {
                if self.accepted_rcpts == 0 {
                    Answer::reply("554 5.5.1 Error: no valid recipients")
                } else {
                    self.body = Some(0);
                    Answer::reply("354 End data with <CR><LF>.<CR><LF>")
                }
            }
            "RSET" => {
                self.reset();
                Answer::reply("250 2.0.0 Ok")
            }
            "NOOP" => Answer::reply("250 2.0.0 Ok"),
            "QUIT" => Answer::close("221 2.0.0 Bye"),
            "STARTTLS" => self.starttls(),
            "VRFY" => Answer::reply("252 2.0.0 Send some mail, I'll try my best"),
            "AUTH" if offers_auth(self.persona) => {
                Answer::reply("535 5.7.8 Error: authentication failed")
            }
            "AUTH" => Answer::reply("503 5.5.1 Error: authentication not enabled"),
            _ => Answer::reply("502 5.5.2 Error: command not recognized"),
        }
    }

    fn ehlo(&mut self, arg: &str) -> Answer {
        if self.persona == Persona::HeloOnly {
            return Answer::reply("500 Command unrecognized");
        }
        if arg.is_empty() {
            return Answer::reply("501 5.5.4 Syntax: EHLO hostname");
        }
        // EHLO implies RSET (RFC 5321 §4.1.4).
        self.reset();
        self.greeted = true;
        let mut lines = vec![
            format!("250-{}", self.hostname),
            "250-PIPELINING".to_string(),
            format!("250-SIZE {MAX_MESSAGE}"),
        ];
        if offers_auth(self.persona) {
            lines.push("250-AUTH PLAIN LOGIN".to_string());
        }
        if tls::offers_starttls(self.persona) && !self.tls {
            lines.push("250-STARTTLS".to_string());
        }
        lines.extend(["250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8"].map(String::from));
        crate::injection::ehlo(self.persona, &mut lines);
        Answer {
            lines: lines.into_iter().map(Cow::Owned).collect(),
            close: false,
        }
    }

    /// 220 means the server's next bytes are the TLS handshake (the server does it).
    fn starttls(&mut self) -> Answer {
        if !tls::offers_starttls(self.persona) {
            return Answer::reply("502 5.5.2 Error: command not recognized");
        }
        if self.tls {
            return Answer::reply("554 5.5.1 Error: TLS already active");
        }
        Answer::reply("220 2.0.0 Ready to start TLS")
    }

    fn mail(&mut self, arg: &str) -> Answer {
        if !self.greeted {
            return Answer::reply("503 5.5.1 Error: send HELO/EHLO first");
        }
        if self.mail_from.is_some() {
            return Answer::reply("503 5.5.1 Error: nested MAIL command");
        }
        if self.persona == Persona::TlsRequired && !self.tls {
            // Postfix with smtpd_tls_security_level = encrypt.
            return Answer::reply("530 5.7.0 Must issue a STARTTLS command first");
        }
        if self.persona == Persona::MustAuthFirst {
            // OpenSMTPD 6.8 on a listener with `auth` (its binary's format: "530 %s %s: Must
            // issue an AUTH command first"): a 530 that names AUTH, with 5.5.1 where RFC
            // 4954 has 5.7.0.
            return Answer::reply("530 5.5.1 Invalid command: Must issue an AUTH command first");
        }
        let Some((path, _params)) = strip_prefix_ci(arg, "FROM:").and_then(split_path_arg) else {
            return Answer::reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        if self.persona == Persona::DropAfterMail {
            return Answer::silent_close();
        }
        self.mail_from = Some(path.to_string());
        Answer::reply("250 2.1.0 Ok")
    }

    fn rcpt(&mut self, arg: &str, greylist: &Greylist) -> Answer {
        let Some(from) = self.mail_from.as_deref() else {
            return Answer::reply("503 5.5.1 Error: need MAIL command");
        };
        let Some((rcpt, _params)) = strip_prefix_ci(arg, "TO:").and_then(split_path_arg) else {
            return Answer::reply("501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if rcpt.is_empty() {
            return Answer::reply("501 5.1.3 Bad recipient address syntax");
        }
        let client = self.client_ip;
        let reply = rcpt_reply(self.persona, self.own_ip, from, rcpt, || {
            greylist.first_seen(client, from, rcpt)
        });
        let answer = Answer::reply(reply);
        if answer.code().is_some_and(|c| (200..300).contains(&c)) {
            self.accepted_rcpts += 1;
        }
        answer
    }
}

/// The verbs `Conversation::smtp` answers; anything else is "not recognized".
const KNOWN_VERBS: [&str; 11] = [
    "EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "STARTTLS", "VRFY", "AUTH",
];

/// The command verb: the text up to the first blank.
fn verb_of(line: &str) -> &str {
    let line = line.trim_start_matches(' ');
    // Both blanks are ASCII, so a byte search finds the same boundary as a char search.
    let end = memchr::memchr2(b' ', b'\t', line.as_bytes()).unwrap_or(line.len());
    line.get(..end).unwrap_or(line)
}

/// `str::trim`, skipped when both ends are visible ASCII (every command the lab
/// sees): such a line has no whitespace to trim.
pub(crate) fn trim(line: &str) -> &str {
    match (line.as_bytes().first(), line.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => line,
        _ => line.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(persona: Persona) -> Ipv4Addr {
        // Mirrors the default layout: persona n at 127.0.2.(n+1).
        let n = Persona::ALL.iter().position(|&p| p == persona).unwrap_or(0);
        Ipv4Addr::new(127, 0, 2, n as u8 + 1)
    }

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

    /// Runs `lines` through a fresh conversation and returns every answer's lines joined by '|'.
    fn dialogue(persona: Persona, lines: &[&str]) -> Vec<String> {
        let greylist = Greylist::new();
        let mut s = Conversation::new(persona, ip(persona), CLIENT);
        lines
            .iter()
            .map(|l| {
                let a = s.command(l, &greylist);
                let mut text = a.lines.join("|");
                if a.close {
                    text.push_str(" <close>");
                }
                text
            })
            .collect()
    }

    /// The last answer of a dialogue.
    fn last(persona: Persona, lines: &[&str]) -> String {
        dialogue(persona, lines).pop().unwrap_or_default()
    }

    #[test]
    fn greetings() {
        let table = [
            (
                Persona::OpenRelay,
                None,
                "220 open-relay.lab.test ESMTP relayscan-lab",
                false,
            ),
            (
                Persona::HeloOnly,
                None,
                "220 helo-only.lab.test SMTP ready",
                false,
            ),
            (
                Persona::SlowGreeting,
                Some("220-slow-greeting.lab.test ESMTP please wait"),
                "220 slow-greeting.lab.test ESMTP relayscan-lab",
                false,
            ),
            (
                Persona::NotSmtp,
                None,
                "SSH-2.0-OpenSSH_9.6p1 Debian-4",
                false,
            ),
            (
                Persona::Busy,
                None,
                "421 4.3.2 busy.lab.test Service not available, closing transmission channel",
                true,
            ),
            (
                Persona::Blocked,
                None,
                "554 5.7.1 blocked.lab.test Service unavailable; client host blocked",
                false,
            ),
            (
                Persona::EndOfLifePostfix,
                None,
                "220 end-of-life-postfix.lab.test ESMTP Postfix (3.4.14)",
                false,
            ),
        ];
        for (p, teaser, line, close) in table {
            let g = greeting(p);
            assert_eq!(g.teaser.as_deref(), teaser, "{p}");
            assert_eq!(g.line, line, "{p}");
            assert_eq!(g.close, close, "{p}");
        }
    }

    #[test]
    fn fast_trim_agrees_with_str_trim() {
        for line in [
            "MAIL FROM:<>",
            " RSET",
            "NOOP\t",
            "",
            " ",
            "\u{a0}QUIT\u{3000}",
            "é",
            "a",
        ] {
            assert_eq!(trim(line), line.trim(), "{line:?}");
        }
        assert_eq!(verb_of("  RCPT\tTO:<a@b>"), "RCPT");
        assert_eq!(verb_of("QUIT"), "QUIT");
    }

    #[test]
    fn common_commands() {
        let p = Persona::Closed;
        let table: [(&[&str], &str); 20] = [
            (&["HELO me"], "250 closed.lab.test"),
            (&["helo me"], "250 closed.lab.test"),
            (&["HELO"], "501 5.5.4 Syntax: HELO hostname"),
            (&["EHLO"], "501 5.5.4 Syntax: EHLO hostname"),
            (&["RSET"], "250 2.0.0 Ok"),
            (&["noop"], "250 2.0.0 Ok"),
            (&["QUIT"], "221 2.0.0 Bye <close>"),
            (&["VRFY root"], "252 2.0.0 Send some mail, I'll try my best"),
            (
                &["MAIL FROM:<a@b>"],
                "503 5.5.1 Error: send HELO/EHLO first",
            ),
            (
                &["EHLO me", "RCPT TO:<a@b>"],
                "503 5.5.1 Error: need MAIL command",
            ),
            (&["EHLO me", "MAIL FROM:<a@b>"], "250 2.1.0 Ok"),
            (
                &["EHLO me", "mail from: <a@b> SIZE=10 BODY=8BITMIME"],
                "250 2.1.0 Ok",
            ),
            (&["EHLO me", "MAIL FROM:<>"], "250 2.1.0 Ok"),
            (
                &["EHLO me", "MAIL FROM:<a@b>", "MAIL FROM:<a@b>"],
                "503 5.5.1 Error: nested MAIL command",
            ),
            (
                &["EHLO me", "MAIL FROM:<a@b>", "RSET", "MAIL FROM:<a@b>"],
                "250 2.1.0 Ok",
            ),
            (
                &["EHLO me", "MAIL TO:<a@b>"],
                "501 5.5.4 Syntax: MAIL FROM:<address>",
            ),
            (
                &["EHLO me", "MAIL FROM:<a@b>", "RCPT TO:<>"],
                "501 5.1.3 Bad recipient address syntax",
            ),
            (
                &["EHLO me", "MAIL FROM:<a@b>", "DATA"],
                "554 5.5.1 Error: no valid recipients",
            ),
            (&["STARTTLS"], "502 5.5.2 Error: command not recognized"),
            (
                &["AUTH PLAIN AAAA"],
                "503 5.5.1 Error: authentication not enabled",
            ),
        ];
        for (lines, want) in table {
            assert_eq!(last(p, lines), want, "{lines:?}");
        }
        assert_eq!(last(p, &[""]), "500 5.5.2 Error: bad syntax");
        assert_eq!(
            last(p, &["\u{e9}\u{e9}"]),
            "502 5.5.2 Error: command not recognized"
        );
    }

    #[test]
    fn ehlo_reply_lists_extensions() {
        let plain = last(Persona::OpenRelay, &["EHLO me"]);
        assert_eq!(
            plain,
            "250-open-relay.lab.test|250-PIPELINING|250-SIZE 10240000|250-8BITMIME|250-ENHANCEDSTATUSCODES|250 SMTPUTF8"
        );
        let auth = last(Persona::AuthRequired, &["ehlo me"]);
        assert_eq!(
            auth,
            "250-auth-required.lab.test|250-PIPELINING|250-SIZE 10240000|250-AUTH PLAIN LOGIN|250-8BITMIME|250-ENHANCEDSTATUSCODES|250 SMTPUTF8"
        );
    }

    /// RCPT replies per persona, for a sender and recipient, with the IPs of the default layout.
    #[test]
    fn rcpt_policy_table() {
        use Persona::*;
        let relay = "relaytest@example.com";
        let nx = "x1@nx-7.invalid";
        let table: [(Persona, &str, &str, bool, &str); 29] = [
            (OpenRelay, "", relay, false, "250 2.1.5 Ok"),
            (
                OpenRelay,
                "a@b",
                "\"relaytest@example.com\"",
                false,
                "250 2.1.5 Ok",
            ),
            (
                OpenRelay,
                "",
                nx,
                false,
                "550 5.1.2 <x1@nx-7.invalid>: Recipient address rejected: Domain not found",
            ),
            (
                OpenRelay,
                "",
                "u%nx.invalid@[127.0.2.1]",
                false,
                "550 5.1.2 <u%nx.invalid@[127.0.2.1]>: Recipient address rejected: Domain not found",
            ),
            (
                OpenRelay,
                "",
                "bob@open-relay.lab.test",
                false,
                "550 5.1.1 <bob@open-relay.lab.test>: Recipient address rejected: User unknown in local recipient table",
            ),
            (
                OpenRelay,
                "",
                "bob@[127.0.2.1]",
                false,
                "550 5.1.1 <bob@[127.0.2.1]>: Recipient address rejected: User unknown in local recipient table",
            ),
            (
                Closed,
                "",
                relay,
                false,
                "554 5.7.1 <relaytest@example.com>: Relay access denied",
            ),
            (
                Closed,
                "",
                "example.com!relaytest@[127.0.2.2]",
                false,
                "554 5.7.1 <example.com!relaytest@[127.0.2.2]>: Relay access denied",
            ),
            (
                Closed,
                "",
                "bob@closed.lab.test",
                false,
                "550 5.1.1 <bob@closed.lab.test>: Recipient address rejected: User unknown in local recipient table",
            ),
            (
                AuthRequired,
                "",
                relay,
                false,
                "530 5.7.0 Authentication required",
            ),
            (
                AuthRequired,
                "",
                "bob@auth-required.lab.test",
                false,
                "550 5.1.1 <bob@auth-required.lab.test>: Recipient address rejected: User unknown in local recipient table",
            ),
            (
                Greylisting,
                "",
                relay,
                true,
                "450 4.2.0 <relaytest@example.com>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/lab.test",
            ),
            (Greylisting, "", relay, false, "250 2.1.5 Ok"),
            (
                Greylisting,
                "",
                nx,
                false,
                "550 5.1.2 <x1@nx-7.invalid>: Recipient address rejected: Domain not found",
            ),
            (
                SenderTrusting,
                "antispam@sender-trusting.lab.test",
                relay,
                false,
                "250 2.1.5 Ok",
            ),
            (
                SenderTrusting,
                "antispam@SENDER-TRUSTING.LAB.TEST",
                relay,
                false,
                "250 2.1.5 Ok",
            ),
            (
                SenderTrusting,
                "antispam@sender-trusting.lab.test",
                nx,
                false,
                "550 5.1.2 <x1@nx-7.invalid>: Recipient address rejected: Domain not found",
            ),
            (
                SenderTrusting,
                "antispam@example.com",
                relay,
                false,
                "554 5.7.1 <relaytest@example.com>: Relay access denied",
            ),
            (
                SenderTrusting,
                "antispam@[127.0.2.5]",
                relay,
                false,
                "554 5.7.1 <relaytest@example.com>: Relay access denied",
            ),
            (
                SenderTrusting,
                "",
                relay,
                false,
                "554 5.7.1 <relaytest@example.com>: Relay access denied",
            ),
            (
                PercentHack,
                "",
                "relaytest%example.com@[127.0.2.6]",
                false,
                "250 2.1.5 Ok",
            ),
            (
                PercentHack,
                "",
                "relaytest%example.com@percent-hack.lab.test",
                false,
                "250 2.1.5 Ok",
            ),
            (
                PercentHack,
                "",
                "relaytest%example.com@[127.0.2.7]",
                false,
                "554 5.7.1 <relaytest%example.com@[127.0.2.7]>: Relay access denied",
            ),
            (
                PercentHack,
                "",
                relay,
                false,
                "554 5.7.1 <relaytest@example.com>: Relay access denied",
            ),
            (
                PercentHack,
                "",
                "\"relaytest%example.com\"",
                false,
                "554 5.7.1 <\"relaytest%example.com\">: Relay access denied",
            ),
            (HeloOnly, "", relay, false, "550 Relaying denied"),
            (
                SlowGreeting,
                "",
                relay,
                false,
                "554 5.7.1 <relaytest@example.com>: Relay access denied",
            ),
            (AcceptAllSink, "", nx, false, "250 2.1.5 Ok"),
            (
                AcceptAllSink,
                "",
                "bob@accept-all-sink.lab.test",
                false,
                "250 2.1.5 Ok",
            ),
        ];
        for (persona, from, rcpt, first, want) in table {
            let got = rcpt_reply(persona, ip(persona), from, rcpt, || first);
            assert_eq!(got, want, "{persona} MAIL <{from}> RCPT <{rcpt}>");
        }
    }

    #[test]
    fn greylisting_defers_each_new_triplet_once_across_sessions() {
        let p = Persona::Greylisting;
        let greylist = Greylist::new();
        let rcpt = |s: &mut Conversation, from: &str, to: &str| {
            assert_eq!(
                s.command(&format!("MAIL FROM:<{from}>"), &greylist).code(),
                Some(250)
            );
            let code = s.command(&format!("RCPT TO:<{to}>"), &greylist).code();
            s.command("RSET", &greylist);
            code
        };
        let mut a = Conversation::new(p, ip(p), CLIENT);
        a.command("EHLO me", &greylist);
        assert_eq!(rcpt(&mut a, "s@x.test", "r@y.test"), Some(450));
        assert_eq!(rcpt(&mut a, "s@x.test", "r@y.test"), Some(250));
        assert_eq!(
            rcpt(&mut a, "S@X.TEST", "R@Y.TEST"),
            Some(250),
            "case-insensitive"
        );
        assert_eq!(
            rcpt(&mut a, "other@x.test", "r@y.test"),
            Some(450),
            "new sender"
        );
        // A second connection from the same client shares the memory.
        let mut b = Conversation::new(p, ip(p), CLIENT);
        b.command("HELO me", &greylist);
        assert_eq!(rcpt(&mut b, "s@x.test", "r@y.test"), Some(250));
        // Another client is a new triplet.
        let mut c = Conversation::new(p, ip(p), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)));
        c.command("HELO me", &greylist);
        assert_eq!(rcpt(&mut c, "s@x.test", "r@y.test"), Some(450));
    }

    #[test]
    fn data_accepts_and_discards_a_body() {
        let greylist = Greylist::new();
        let p = Persona::OpenRelay;
        let mut s = Conversation::new(p, ip(p), CLIENT);
        for line in ["EHLO me", "MAIL FROM:<a@b.test>", "RCPT TO:<c@d.test>"] {
            assert!(
                s.command(line, &greylist).code().is_some_and(|c| c < 300),
                "{line}"
            );
        }
        let a = s.command("DATA", &greylist);
        assert_eq!(a.lines, ["354 End data with <CR><LF>.<CR><LF>"]);
        assert!(s.in_body());
        assert_eq!(s.body_line("Subject: hi"), None);
        assert_eq!(s.body_line(""), None);
        assert_eq!(s.body_line(".."), None, "a stuffed dot is body");
        let end = s.body_line(".").expect("lone dot ends the body");
        assert_eq!(end.answer.lines, ["250 2.0.0 Ok: queued as LAB"]);
        assert_eq!(end.bytes, 13 + 2 + 4);
        assert!(!s.in_body());
        // The transaction is over: RCPT needs a new MAIL.
        assert_eq!(s.command("RCPT TO:<c@d.test>", &greylist).code(), Some(503));
    }

    #[test]
    fn oversized_body_ends_the_connection() {
        let greylist = Greylist::new();
        let p = Persona::OpenRelay;
        let mut s = Conversation::new(p, ip(p), CLIENT);
        for line in ["EHLO me", "MAIL FROM:<>", "RCPT TO:<c@d.test>", "DATA"] {
            s.command(line, &greylist);
        }
        assert_eq!(s.body_bytes(MAX_MESSAGE), None);
        let end = s.body_bytes(1).expect("over the limit");
        assert_eq!(end.answer.code(), Some(552));
        assert!(end.answer.close);
        assert!(!s.in_body());
        assert_eq!(s.body_bytes(10), None, "outside DATA nothing is counted");
    }

    #[test]
    fn persona_specific_dialogues() {
        use Persona::*;
        let table: [(Persona, &[&str], &str); 16] = [
            (
                MustAuthFirst,
                &["EHLO me", "MAIL FROM:<a@b>"],
                "530 5.5.1 Invalid command: Must issue an AUTH command first",
            ),
            (
                MustAuthFirst,
                &["EHLO me", "AUTH PLAIN AGZvbwBiYXI="],
                "503 5.5.1 Error: authentication not enabled",
            ),
            (
                AuthRequired,
                &["EHLO me", "AUTH PLAIN AGZvbwBiYXI="],
                "535 5.7.8 Error: authentication failed",
            ),
            (
                AuthRequired,
                &["AUTH LOGIN"],
                "535 5.7.8 Error: authentication failed",
            ),
            (HeloOnly, &["EHLO me"], "500 Command unrecognized"),
            (HeloOnly, &["EHLO me", "HELO me"], "250 helo-only.lab.test"),
            (HeloOnly, &["HELO me", "MAIL FROM:<a@b>"], "250 Ok"),
            (
                HeloOnly,
                &["HELO me", "MAIL FROM:<a@b>", "RCPT TO:<x@example.com>"],
                "550 Relaying denied",
            ),
            (HeloOnly, &["QUIT"], "221 Bye <close>"),
            (DropAfterMail, &["EHLO me", "MAIL FROM:<a@b>"], " <close>"),
            (
                DropAfterMail,
                &["MAIL FROM:<a@b>"],
                "503 5.5.1 Error: send HELO/EHLO first",
            ),
            (
                NotSmtp,
                &["EHLO me"],
                "Invalid SSH identification string. <close>",
            ),
            (
                Busy,
                &["EHLO me"],
                "421 4.3.2 busy.lab.test Service not available, closing transmission channel <close>",
            ),
            (
                Blocked,
                &["EHLO me"],
                "503 5.5.1 Error: no SMTP service here",
            ),
            (
                Blocked,
                &["EHLO me", "MAIL FROM:<a@b>", "quit"],
                "221 2.0.0 Bye <close>",
            ),
            (
                SlowGreeting,
                &["EHLO me", "MAIL FROM:<>", "RCPT TO:<r@example.com>"],
                "554 5.7.1 <r@example.com>: Relay access denied",
            ),
        ];
        for (p, lines, want) in table {
            assert_eq!(last(p, lines), want, "{p} {lines:?}");
        }
    }

    #[test]
    fn command_limit_hangs_up() {
        let greylist = Greylist::new();
        let p = Persona::Closed;
        let mut s = Conversation::new(p, ip(p), CLIENT);
        for i in 0..MAX_COMMANDS {
            assert_eq!(
                s.command("NOOP", &greylist).code(),
                Some(250),
                "command {i}"
            );
        }
        let a = s.command("NOOP", &greylist);
        assert_eq!(a.code(), Some(421));
        assert!(a.close);
    }

    #[test]
    fn long_lines_and_timeouts() {
        let p = Persona::HeloOnly;
        let mut s = Conversation::new(p, ip(p), CLIENT);
        assert_eq!(s.line_too_long().lines, ["500 Line too long"]);
        let t = s.timeout();
        assert_eq!(t.lines, ["421 helo-only.lab.test Error: timeout exceeded"]);
        assert!(t.close);
        let mut ssh = Conversation::new(Persona::NotSmtp, ip(Persona::NotSmtp), CLIENT);
        assert!(ssh.line_too_long().close);
        assert_eq!(ssh.timeout(), Answer::silent_close());
        let mut c = Conversation::new(Persona::Closed, ip(Persona::Closed), CLIENT);
        assert_eq!(c.line_too_long().lines, ["500 5.5.2 Line too long"]);
        assert_eq!(
            talked_too_early().lines,
            ["554 5.5.1 Error: talked too early"]
        );
    }

    #[test]
    fn strip_enhanced_codes() {
        let table = [
            ("250 2.1.0 Ok", "250 Ok"),
            ("221 2.0.0 Bye", "221 Bye"),
            ("550 5.1.1 <a@b>: nope", "550 <a@b>: nope"),
            ("250 helo-only.lab.test", "250 helo-only.lab.test"),
            (
                "354 End data with <CR><LF>.<CR><LF>",
                "354 End data with <CR><LF>.<CR><LF>",
            ),
            ("250 2.0.0", "250 "),
            ("25", "25"),
            ("250 1.2.3.4 x", "250 1.2.3.4 x"),
            ("25\u{e9}x", "25\u{e9}x"),
        ];
        for (input, want) in table {
            assert_eq!(strip_enhanced(input), want, "{input:?}");
        }
    }
}
