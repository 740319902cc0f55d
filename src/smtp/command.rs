//! SMTP commands in wire form; refuses CR, LF and NUL inside arguments.

use std::fmt;

use super::Reply;

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const MAX_COMMAND_LINE: usize = 512;

/// The commands relayscan sends.
///
/// There is deliberately no `Data` variant: a relay is proven by the server's answer to
/// RCPT TO, so DATA adds no evidence, and sending it would make the scan deliver (or
/// queue, or bounce) real mail through someone else's server. Leaving it out of the type
/// makes "never DATA" a compile-time fact rather than a convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// EHLO with our name.
    Ehlo(String),
    /// HELO with our name, the fallback when EHLO is refused.
    Helo(String),
    /// The reverse path exactly as sent, angle brackets included: "<>" or "<a@b>".
    MailFrom(String),
    /// The forward path exactly as sent, angle brackets included: "<a@b>".
    RcptTo(String),
    Rset,
    Noop,
    Quit,
    StartTls,
}

/// Why a command was not put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A CR or LF would end the line early and smuggle a second command (injection);
    /// NUL is cut by some servers and logs.
    #[error(
        "{verb} argument contains a forbidden byte 0x{byte:02x} (CR, LF and NUL are not allowed)"
    )]
    ForbiddenByte { verb: &'static str, byte: u8 },
    #[error("{verb} needs a non-empty argument")]
    EmptyArgument { verb: &'static str },
    #[error("{verb} command line is {len} octets, more than the {limit} RFC 5321 allows")]
    TooLong {
        verb: &'static str,
        len: usize,
        limit: usize,
    },
}

impl Command {
    /// The verb as written on the wire, before any argument.
    fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::MailFrom(_) => "MAIL FROM",
            Command::RcptTo(_) => "RCPT TO",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
        }
    }

    /// The command line with CRLF, after checking that it is one safe, RFC-sized line.
    pub fn to_wire(&self) -> Result<Vec<u8>, CommandError> {
        let mut line = Vec::with_capacity(self.line_len() + 2);
        self.write_wire(&mut line)?;
        Ok(line)
    }

    /// Appends the command line with CRLF to `out` (a pipelined group is one buffer);
    /// on error `out` is left as it was.
    pub fn write_wire(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let verb = self.verb();
        let sep_arg = self.separator_and_argument();
        let len = check_line(verb, sep_arg)?;
        out.reserve(len);
        out.extend_from_slice(verb.as_bytes());
        if let Some((sep, arg)) = sep_arg {
            out.extend_from_slice(sep.as_bytes());
            out.extend_from_slice(arg.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Whether `MAIL FROM:<mail_from>` and `RCPT TO:<rcpt_to>` would go on the wire,
    /// checked without building either command.
    pub fn check_envelope(mail_from: &str, rcpt_to: &str) -> Result<(), CommandError> {
        check_line("MAIL FROM", Some((":", mail_from)))?;
        check_line("RCPT TO", Some((":", rcpt_to)))?;
        Ok(())
    }

    /// Whether `reply` can be this command's answer. A reply that cannot is proof that
    /// the server's replies and our commands are out of step (a stray line from a proxy,
    /// a duplicated greeting, one reply too many): pairing on regardless would quote a
    /// MAIL's 250 as a RCPT's. The codes are RFC 5321 §4.3.2's (RFC 3207 for STARTTLS),
    /// widened where real servers answer otherwise (Postfix refuses relaying with 554
    /// at RCPT; every command may meet 4xx/5xx policy): a command that was *done* gets a
    /// 250-252, never a 220, 221 or 3xx. 421 (closing) may answer anything. RSET and NOOP
    /// can only be done; QUIT only says goodbye or is refused.
    pub fn may_answer(&self, reply: &Reply) -> bool {
        if reply.is_closing() {
            return true;
        }
        let refused = reply.is_transient() || reply.is_permanent();
        match self {
            Command::Ehlo(_) | Command::Helo(_) | Command::MailFrom(_) | Command::RcptTo(_) => {
                reply.is_done() || refused
            }
            Command::Rset | Command::Noop => reply.is_done(),
            Command::Quit => reply.is_goodbye() || reply.is_permanent(),
            Command::StartTls => reply.is_ready() || refused,
        }
    }

    /// The verb as the transcript and the reasons name the step: "MAIL", "RCPT", "EHLO".
    pub fn step_name(&self) -> &'static str {
        match self {
            Command::MailFrom(_) => "MAIL",
            Command::RcptTo(_) => "RCPT",
            other => other.verb(),
        }
    }

    /// What goes between the verb and the argument, and the argument.
    fn separator_and_argument(&self) -> Option<(&'static str, &str)> {
        match self {
            Command::Ehlo(a) | Command::Helo(a) => Some((" ", a)),
            // No space after the colon: RFC 5321 §4.1.1.2/§4.1.1.3, and some servers
            // reject "MAIL FROM: <x>".
            Command::MailFrom(a) | Command::RcptTo(a) => Some((":", a)),
            Command::Rset | Command::Noop | Command::Quit | Command::StartTls => None,
        }
    }

    /// Octets of the line without CRLF.
    fn line_len(&self) -> usize {
        self.verb().len()
            + self
                .separator_and_argument()
                .map_or(0, |(sep, arg)| sep.len() + arg.len())
    }
}

/// Checks one command line (verb, then separator and argument) is safe and RFC-sized;
/// its length with CRLF.
fn check_line(verb: &'static str, sep_arg: Option<(&str, &str)>) -> Result<usize, CommandError> {
    let mut len = verb.len() + 2;
    if let Some((sep, arg)) = sep_arg {
        if let Some(&byte) = arg
            .as_bytes()
            .iter()
            .find(|b| matches!(b, b'\r' | b'\n' | 0))
        {
            return Err(CommandError::ForbiddenByte { verb, byte });
        }
        // A blank name or path is a bug upstream, never a test we mean to run.
        if arg.trim().is_empty() {
            return Err(CommandError::EmptyArgument { verb });
        }
        len += sep.len() + arg.len();
    }
    if len > MAX_COMMAND_LINE {
        return Err(CommandError::TooLong {
            verb,
            len,
            limit: MAX_COMMAND_LINE,
        });
    }
    Ok(len)
}

/// The command line without CRLF, as it appears in a transcript.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())?;
        if let Some((sep, arg)) = self.separator_and_argument() {
            f.write_str(sep)?;
            f.write_str(arg)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_replies_can_answer_which_command() {
        let r = |code: u16| Reply {
            code,
            enhanced: None,
            lines: vec!["x".into()],
        };
        let mail = Command::MailFrom("<a@b.example>".into());
        let rcpt = Command::RcptTo("<c@d.example>".into());
        let ehlo = Command::Ehlo("me.example".into());
        // (command, codes it may get, codes that betray replies out of step)
        let table: [(&Command, &[u16], &[u16]); 6] = [
            (
                &ehlo,
                &[250, 421, 450, 500, 502, 550, 554],
                &[220, 221, 354],
            ),
            (
                &mail,
                &[250, 251, 421, 451, 530, 550, 553, 554],
                &[220, 221, 235, 334, 354],
            ),
            (
                &rcpt,
                &[250, 251, 252, 450, 451, 550, 554],
                &[220, 221, 354],
            ),
            (&Command::Rset, &[250, 421], &[220, 221, 451, 500, 550, 554]),
            (&Command::Quit, &[221, 421, 500, 502, 554], &[220, 250, 451]),
            (&Command::StartTls, &[220, 421, 454, 501, 502], &[221, 250]),
        ];
        for (cmd, good, bad) in table {
            for &code in good {
                assert!(cmd.may_answer(&r(code)), "{cmd} may get {code}");
            }
            for &code in bad {
                assert!(!cmd.may_answer(&r(code)), "{cmd} cannot get {code}");
            }
        }
        assert_eq!((mail.step_name(), rcpt.step_name()), ("MAIL", "RCPT"));
        assert_eq!(Command::Rset.step_name(), "RSET");
    }

    #[test]
    fn wire_forms() {
        let cases: Vec<(Command, &str)> = vec![
            (
                Command::Ehlo("probe.example".into()),
                "EHLO probe.example\r\n",
            ),
            (
                Command::Helo("probe.example".into()),
                "HELO probe.example\r\n",
            ),
            (Command::Ehlo("[192.0.2.1]".into()), "EHLO [192.0.2.1]\r\n"),
            (Command::MailFrom("<>".into()), "MAIL FROM:<>\r\n"),
            (
                Command::MailFrom("<antispam@example.org>".into()),
                "MAIL FROM:<antispam@example.org>\r\n",
            ),
            (
                Command::RcptTo("<\"relaytest@d.example\"@[192.0.2.1]>".into()),
                "RCPT TO:<\"relaytest@d.example\"@[192.0.2.1]>\r\n",
            ),
            (
                Command::RcptTo("<@[192.0.2.1]:relaytest@d.example>".into()),
                "RCPT TO:<@[192.0.2.1]:relaytest@d.example>\r\n",
            ),
            (Command::Rset, "RSET\r\n"),
            (Command::Noop, "NOOP\r\n"),
            (Command::Quit, "QUIT\r\n"),
            (Command::StartTls, "STARTTLS\r\n"),
        ];
        for (cmd, want) in cases {
            assert_eq!(cmd.to_wire(), Ok(want.as_bytes().to_vec()), "{cmd:?}");
            assert_eq!(cmd.to_string(), want.trim_end_matches("\r\n"), "{cmd:?}");
        }
    }

    #[test]
    fn refusals() {
        let cases: Vec<(Command, CommandError)> = vec![
            (
                Command::RcptTo("<a@b>\r\nDATA".into()),
                CommandError::ForbiddenByte {
                    verb: "RCPT TO",
                    byte: b'\r',
                },
            ),
            (
                Command::MailFrom("<a@b>\nDATA".into()),
                CommandError::ForbiddenByte {
                    verb: "MAIL FROM",
                    byte: b'\n',
                },
            ),
            (
                Command::Ehlo("a\0b".into()),
                CommandError::ForbiddenByte {
                    verb: "EHLO",
                    byte: 0,
                },
            ),
            (
                Command::Ehlo(String::new()),
                CommandError::EmptyArgument { verb: "EHLO" },
            ),
            (
                Command::Helo("  ".into()),
                CommandError::EmptyArgument { verb: "HELO" },
            ),
            (
                Command::MailFrom(String::new()),
                CommandError::EmptyArgument { verb: "MAIL FROM" },
            ),
        ];
        for (cmd, want) in cases {
            assert_eq!(cmd.to_wire(), Err(want), "{cmd:?}");
        }
    }

    #[test]
    fn check_envelope_agrees_with_the_wire() {
        let long = format!("<{}>", "a".repeat(501));
        let paths = ["<a@b>", "<>", "", " ", "<a@b>\r\nDATA", "<a\0b>", &long];
        for from in paths {
            for rcpt in paths {
                let wire = Command::MailFrom(from.into())
                    .to_wire()
                    .and(Command::RcptTo(rcpt.into()).to_wire())
                    .map(|_| ());
                assert_eq!(
                    Command::check_envelope(from, rcpt),
                    wire,
                    "{from:?} {rcpt:?}"
                );
            }
        }
    }

    #[test]
    fn length_limit_is_512_with_crlf() {
        // "RCPT TO:" is 8 octets, CRLF 2: a 502-octet path makes exactly 512.
        let at_limit = Command::RcptTo(format!("<{}>", "a".repeat(500)));
        assert_eq!(at_limit.to_wire().map(|w| w.len()), Ok(512));
        let over = Command::RcptTo(format!("<{}>", "a".repeat(501)));
        assert_eq!(
            over.to_wire(),
            Err(CommandError::TooLong {
                verb: "RCPT TO",
                len: 513,
                limit: 512
            })
        );
        // Multi-byte characters count in octets, not characters.
        let wide = Command::Ehlo("é".repeat(254));
        assert!(matches!(
            wide.to_wire(),
            Err(CommandError::TooLong { len: 515, .. })
        ));
    }

    #[test]
    fn error_messages_name_the_problem() {
        let e = CommandError::ForbiddenByte {
            verb: "RCPT TO",
            byte: b'\n',
        };
        assert!(e.to_string().contains("0x0a"), "{e}");
        let e = CommandError::TooLong {
            verb: "EHLO",
            len: 600,
            limit: 512,
        };
        assert!(e.to_string().contains("600"), "{e}");
    }
}
