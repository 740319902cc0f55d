//! One SMTP reply (RFC 5321 §4.2) and its pure, bounded, incremental parser.

use serde::{Deserialize, Serialize};

/// One SMTP reply. 4xx and 5xx are data, not errors: for an auditor,
/// "550 relaying denied" is the finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The three-digit reply code, shared by every line.
    pub code: u16,
    /// The RFC 3463 enhanced status code at the start of the first line's text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line after `NNN-` / `NNN `, decoded lossily.
    pub lines: Vec<String>,
}

/// An RFC 3463 enhanced status code such as `5.7.1`; serialised as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct EnhancedCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

/// Caps on one reply, so that a hostile server cannot make us buffer without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest accepted line, CRLF included.
    pub max_line: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
    /// Most bytes in one reply.
    pub max_total: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line: 4096,
            max_lines: 64,
            max_total: 64 * 1024,
        }
    }
}

/// Why bytes from the server are not an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("reply has more than {limit} lines")]
    TooManyLines { limit: usize },
    #[error("reply longer than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("not an SMTP reply line: {line:?}")]
    NotSmtp { line: String },
    #[error("reply code changed from {first} to {later} within one reply")]
    CodeMismatch { first: u16, later: u16 },
    /// Bytes that arrived before the command they would answer was sent: a server that
    /// pipelines unasked would have its early replies taken for answers to later
    /// commands (a RCPT "accepted" by the 250 meant for MAIL), so the dialogue stops.
    #[error(
        "{bytes} bytes arrived before the command they would answer was sent (replies nobody asked for): {shown}"
    )]
    Unsolicited {
        bytes: usize,
        /// The bytes as the transcript shows them (escaped, the first 512).
        shown: String,
    },
}

/// The most characters of an offending line kept in `ReplyError::NotSmtp`.
const NOT_SMTP_SHOWN: usize = 120;

/// The most characters `Reply::summary` returns.
const SUMMARY_CHARS: usize = 200;

/// Parses one complete reply from the front of `buf`.
///
/// `Ok(None)`: need more bytes. `Ok(Some((reply, used)))`: a reply and how many bytes it took.
/// Pure and incremental: call it again with the same buffer plus new bytes. Limits are
/// checked on partial data too, so a caller that reads until this returns never buffers
/// much more than `limits.max_total`.
pub fn parse_reply(buf: &[u8], limits: &ReplyLimits) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0usize;
    let mut code: Option<u16> = None;
    let mut lines: Vec<String> = Vec::new();
    loop {
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            // No complete line yet: fail early when it can no longer become valid.
            check_partial_line(rest, pos, limits)?;
            return Ok(None);
        };
        let raw_len = nl + 1;
        if raw_len > limits.max_line {
            return Err(ReplyError::LineTooLong {
                limit: limits.max_line,
            });
        }
        let end = pos + raw_len;
        if end > limits.max_total {
            return Err(ReplyError::TooLarge {
                limit: limits.max_total,
            });
        }
        let raw = rest.get(..nl).unwrap_or_default();
        // CRLF is the rule; a bare LF is accepted because real servers send it.
        let content = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some((line_code, last, text)) = split_line(content) else {
            return Err(not_smtp(content));
        };
        match code {
            None => code = Some(line_code),
            Some(first) if first != line_code => {
                return Err(ReplyError::CodeMismatch {
                    first,
                    later: line_code,
                });
            }
            Some(_) => {}
        }
        // Valid UTF-8 (nearly every reply) is checked a word at a time, then copied once.
        lines.push(match std::str::from_utf8(text) {
            Ok(valid) => valid.to_owned(),
            Err(_) => String::from_utf8_lossy(text).into_owned(),
        });
        if last {
            let code = line_code;
            let enhanced = lines.first().and_then(|t| parse_enhanced(t, code));
            return Ok(Some((
                Reply {
                    code,
                    enhanced,
                    lines,
                },
                end,
            )));
        }
        // A continuation line promises at least one more line.
        if lines.len() >= limits.max_lines {
            return Err(ReplyError::TooManyLines {
                limit: limits.max_lines,
            });
        }
        pos = end;
    }
}

/// Checks a line that has no LF yet, starting at `pos` of the buffer.
fn check_partial_line(partial: &[u8], pos: usize, limits: &ReplyLimits) -> Result<(), ReplyError> {
    // Even if the next byte were LF, the line would exceed max_line.
    if partial.len() >= limits.max_line {
        return Err(ReplyError::LineTooLong {
            limit: limits.max_line,
        });
    }
    if pos + partial.len() >= limits.max_total {
        return Err(ReplyError::TooLarge {
            limit: limits.max_total,
        });
    }
    // Garbage is recognisable from its first bytes; no need to wait for a newline
    // that a non-SMTP service may never send.
    let head_ok = partial.iter().take(4).enumerate().all(|(i, &b)| match i {
        0 => (b'2'..=b'5').contains(&b),
        1 | 2 => b.is_ascii_digit(),
        _ => matches!(b, b'-' | b' ' | b'\r'),
    });
    if head_ok {
        Ok(())
    } else {
        Err(not_smtp(partial))
    }
}

/// Splits one line (no line terminator) into code, whether it is the last line, and text.
fn split_line(content: &[u8]) -> Option<(u16, bool, &[u8])> {
    let (digits, after) = content.split_at_checked(3)?;
    let [a, b, c] = *digits else {
        return None;
    };
    if !(b'2'..=b'5').contains(&a) || !b.is_ascii_digit() || !c.is_ascii_digit() {
        return None;
    }
    let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    match after.split_first() {
        None => Some((code, true, after)),
        Some((b' ', text)) => Some((code, true, text)),
        Some((b'-', text)) => Some((code, false, text)),
        Some(_) => None,
    }
}

/// The offending line for `ReplyError::NotSmtp`: lossy, escaped, at most 120 characters.
fn not_smtp(line: &[u8]) -> ReplyError {
    // Decode only what can be shown (escapes make a byte at most 6 characters).
    let head = line.get(..NOT_SMTP_SHOWN * 4).unwrap_or(line);
    let escaped = super::transcript::escape_controls(&String::from_utf8_lossy(head));
    let line = if escaped.chars().count() > NOT_SMTP_SHOWN || head.len() < line.len() {
        let mut cut: String = escaped.chars().take(NOT_SMTP_SHOWN - 1).collect();
        cut.push('…');
        cut
    } else {
        escaped
    };
    ReplyError::NotSmtp { line }
}

/// An RFC 3463 code at the start of `text` (`C.S.D` then a space or the end), whose
/// class matches the reply code's first digit; otherwise None.
fn parse_enhanced(text: &str, code: u16) -> Option<EnhancedCode> {
    // On bytes: every delimiter is ASCII, and this runs once per reply.
    let word = text.as_bytes().split(|&b| b == b' ').next()?;
    let mut parts = word.split(|&b| b == b'.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    // At most three digits, so the value always fits a u16.
    let number = |s: &[u8], max_digits: usize| -> Option<u16> {
        if s.is_empty() || s.len() > max_digits || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0, |n, &d| n * 10 + u16::from(d - b'0')))
    };
    let class = number(class, 1)?;
    if class != code / 100 {
        return None;
    }
    Some(EnhancedCode {
        class: u8::try_from(class).ok()?,
        subject: number(subject, 3)?,
        detail: number(detail, 3)?,
    })
}

impl Reply {
    /// The first digit: 2, 3, 4 or 5.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// 2xx: the command succeeded.
    pub fn is_positive(&self) -> bool {
        self.class() == 2
    }

    /// 3xx: more input expected (after DATA or AUTH).
    pub fn is_intermediate(&self) -> bool {
        self.class() == 3
    }

    /// 4xx: try again later (greylisting, deferral).
    pub fn is_transient(&self) -> bool {
        self.class() == 4
    }

    /// 5xx: refused for good.
    pub fn is_permanent(&self) -> bool {
        self.class() == 5
    }

    /// 220: a greeting that invites us in, or STARTTLS's "go ahead".
    pub fn is_ready(&self) -> bool {
        self.code == 220
    }

    /// 221: the goodbye to QUIT.
    pub fn is_goodbye(&self) -> bool {
        self.code == 221
    }

    /// 421: the server is closing the connection, whatever we asked (RFC 5321 §3.8).
    pub fn is_closing(&self) -> bool {
        self.code == 421
    }

    /// 250, 251, 252: a command done (not a greeting, goodbye or TLS go-ahead).
    pub fn is_done(&self) -> bool {
        (250..=252).contains(&self.code)
    }

    /// The first line's text, or "" for a reply that had none.
    pub fn first_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// All lines' text joined by "\n".
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Code and first line, e.g. "554 5.7.1 <a@b>: Relay access denied", at most 200 characters.
    pub fn summary(&self) -> String {
        let first = self.first_line();
        let full = if first.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, first)
        };
        full.chars().take(SUMMARY_CHARS).collect()
    }

    /// The lines as they were on the wire, without CRLF: "250-foo", "250 bar".
    pub fn wire_lines(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.lines.len().max(1));
        self.for_each_wire_line(|line| out.push(line));
        out
    }

    /// Each line as it was on the wire, built in one allocation, without a list of them.
    pub fn for_each_wire_line(&self, mut f: impl FnMut(String)) {
        let Some(last) = self.lines.len().checked_sub(1) else {
            f(code_text(self.code, 0));
            return;
        };
        for (i, text) in self.lines.iter().enumerate() {
            let mut line = code_text(self.code, text.len() + 1);
            match (i == last, text.is_empty()) {
                (true, true) => {}
                (true, false) => {
                    line.push(' ');
                    line.push_str(text);
                }
                (false, _) => {
                    line.push('-');
                    line.push_str(text);
                }
            }
            f(line);
        }
    }
}

/// The reply code as text, with room for `more` bytes after it.
fn code_text(code: u16, more: usize) -> String {
    let mut out = String::with_capacity(3 + more);
    out.push_str(itoa::Buffer::new().format(code));
    out
}

/// `class.subject.detail`, without the formatter's machinery: a record writes one per reply.
impl std::fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut digits = itoa::Buffer::new();
        f.write_str(digits.format(self.class))?;
        f.write_str(".")?;
        f.write_str(digits.format(self.subject))?;
        f.write_str(".")?;
        f.write_str(digits.format(self.detail))
    }
}

/// As the string `5.7.1`, written straight into the output (no String per code).
impl Serialize for EnhancedCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl From<EnhancedCode> for String {
    fn from(code: EnhancedCode) -> String {
        code.to_string()
    }
}

impl TryFrom<String> for EnhancedCode {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let mut parts = text.split('.');
        let mut next = || parts.next().and_then(|p| p.parse::<u16>().ok());
        match (next(), next(), next()) {
            (Some(class @ 2..=5), Some(subject), Some(detail)) => Ok(EnhancedCode {
                class: class as u8,
                subject,
                detail,
            }),
            _ => Err(format!("not an enhanced status code: {text:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ReplyLimits = ReplyLimits {
        max_line: 4096,
        max_lines: 64,
        max_total: 64 * 1024,
    };

    fn ok(input: &[u8]) -> (Reply, usize) {
        match parse_reply(input, &L) {
            Ok(Some(r)) => r,
            other => panic!("{input:?}: expected a reply, got {other:?}"),
        }
    }

    fn ec(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
        Some(EnhancedCode {
            class,
            subject,
            detail,
        })
    }

    /// (input, code, lines, enhanced, used)
    type Case = (
        &'static [u8],
        u16,
        Vec<&'static str>,
        Option<EnhancedCode>,
        usize,
    );

    #[test]
    fn complete_replies() {
        let cases: Vec<Case> = vec![
            (
                b"220 mx.example.org ESMTP\r\n",
                220,
                vec!["mx.example.org ESMTP"],
                None,
                26,
            ),
            (
                b"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n",
                250,
                vec!["mx.example.org", "PIPELINING", "SIZE 10240000"],
                None,
                55,
            ),
            // Final line without the space, and bare code.
            (b"250-first\r\n250\r\n", 250, vec!["first", ""], None, 16),
            (b"221\r\n", 221, vec![""], None, 5),
            // LF only.
            (b"250-a\n250 b\n", 250, vec!["a", "b"], None, 12),
            // Empty continuation text.
            (b"250-\r\n250 x\r\n", 250, vec!["", "x"], None, 13),
            // Non-UTF-8 is decoded lossily, never rejected.
            (b"220 caf\xe9\r\n", 220, vec!["caf\u{fffd}"], None, 10),
            // Enhanced codes.
            (
                b"554 5.7.1 <a@b>: Relay access denied\r\n",
                554,
                vec!["5.7.1 <a@b>: Relay access denied"],
                ec(5, 7, 1),
                38,
            ),
            (b"250 2.1.0 Ok\r\n", 250, vec!["2.1.0 Ok"], ec(2, 1, 0), 14),
            (b"451 4.7.1\r\n", 451, vec!["4.7.1"], ec(4, 7, 1), 11),
            (
                b"550 5.1.10 nope\r\n",
                550,
                vec!["5.1.10 nope"],
                ec(5, 1, 10),
                17,
            ),
            // Class must match the code's first digit.
            (b"250 5.7.1 odd\r\n", 250, vec!["5.7.1 odd"], None, 15),
            // Not an enhanced code: too many parts, letters, no separator, 4 digits.
            (b"250 2.0.0.1 x\r\n", 250, vec!["2.0.0.1 x"], None, 15),
            (b"250 2.a.0 x\r\n", 250, vec!["2.a.0 x"], None, 13),
            (b"250 2.0.0x\r\n", 250, vec!["2.0.0x"], None, 12),
            (b"250 2.1234.0 x\r\n", 250, vec!["2.1234.0 x"], None, 16),
            // Only the first line counts.
            (
                b"550-no code\r\n550 5.7.1 x\r\n",
                550,
                vec!["no code", "5.7.1 x"],
                None,
                26,
            ),
        ];
        for (input, code, lines, enhanced, used) in cases {
            let (reply, n) = ok(input);
            assert_eq!(reply.code, code, "{input:?}");
            assert_eq!(reply.lines, lines, "{input:?}");
            assert_eq!(reply.enhanced, enhanced, "{input:?}");
            assert_eq!(n, used, "{input:?}");
            assert_eq!(n, input.len(), "{input:?}");
        }
    }

    #[test]
    fn errors() {
        let small = ReplyLimits {
            max_line: 16,
            max_lines: 3,
            max_total: 40,
        };
        let cases: Vec<(&[u8], ReplyLimits, ReplyError)> = vec![
            (
                b"250-a\r\n251 b\r\n",
                L,
                ReplyError::CodeMismatch {
                    first: 250,
                    later: 251,
                },
            ),
            (
                b"SSH-2.0-OpenSSH_9.6\r\n",
                L,
                ReplyError::NotSmtp {
                    line: "SSH-2.0-OpenSSH_9.6".into(),
                },
            ),
            (
                b"HTTP/1.1 400 Bad Request\r\n",
                L,
                ReplyError::NotSmtp {
                    line: "HTTP/1.1 400 Bad Request".into(),
                },
            ),
            // Recognised before any newline arrives.
            (
                b"SSH-2.0",
                L,
                ReplyError::NotSmtp {
                    line: "SSH-2.0".into(),
                },
            ),
            (
                b"2500 x",
                L,
                ReplyError::NotSmtp {
                    line: "2500 x".into(),
                },
            ),
            (b"25\r\n", L, ReplyError::NotSmtp { line: "25".into() }),
            (b"\r\n", L, ReplyError::NotSmtp { line: "".into() }),
            (
                b"600 x\r\n",
                L,
                ReplyError::NotSmtp {
                    line: "600 x".into(),
                },
            ),
            (
                b"150 x\r\n",
                L,
                ReplyError::NotSmtp {
                    line: "150 x".into(),
                },
            ),
            (
                b"250_x\r\n",
                L,
                ReplyError::NotSmtp {
                    line: "250_x".into(),
                },
            ),
            (
                b"\x16\x03\x01\x00",
                L,
                ReplyError::NotSmtp {
                    line: "\\x16\\x03\\x01\\x00".into(),
                },
            ),
            // Later line garbage.
            (
                b"250-ok\r\nhello\r\n",
                L,
                ReplyError::NotSmtp {
                    line: "hello".into(),
                },
            ),
            // Oversize complete line (17 bytes with CRLF > 16).
            (
                b"250 0123456789ab\r\n",
                small,
                ReplyError::LineTooLong { limit: 16 },
            ),
            // Oversize line still without newline.
            (
                b"250 0123456789abcdef",
                small,
                ReplyError::LineTooLong { limit: 16 },
            ),
            // Exactly 16 with CRLF is fine: 4 lines though > 3.
            (
                b"250-0123456789\r\n250-b\r\n250-c\r\n250 d\r\n",
                small,
                ReplyError::TooManyLines { limit: 3 },
            ),
            // Total: 3 lines of 15 bytes = 45 > 40.
            (
                b"250-012345678\r\n250-012345678\r\n250 012345678\r\n",
                small,
                ReplyError::TooLarge { limit: 40 },
            ),
            // Total exceeded while the last line is still incomplete.
            (
                b"250-012345678\r\n250-012345678\r\n250 0123456",
                small,
                ReplyError::TooLarge { limit: 40 },
            ),
        ];
        for (input, limits, want) in cases {
            assert_eq!(parse_reply(input, &limits), Err(want), "{input:?}");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let small = ReplyLimits {
            max_line: 16,
            max_lines: 3,
            max_total: 44,
        };
        // A 16-byte line (CRLF included), 3 lines, 44 bytes: all exactly at the caps.
        let input = b"250-0123456789\r\n250-012345\r\n250 0123456789\r\n";
        assert_eq!(input.len(), 44);
        let (reply, used) = parse_reply(input, &small)
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                panic!("expected a reply at the limits");
            });
        assert_eq!(used, 44);
        assert_eq!(reply.lines.len(), 3);
    }

    #[test]
    fn long_garbage_is_cut_to_120_chars() {
        let input = [b"X".repeat(500), b"\r\n".to_vec()].concat();
        match parse_reply(&input, &L) {
            Err(ReplyError::NotSmtp { line }) => {
                assert_eq!(line.chars().count(), 120);
                assert!(line.ends_with('…'));
            }
            other => panic!("got {other:?}"),
        }
        // Multi-byte characters are cut on a character boundary.
        let input = "é".repeat(300);
        match parse_reply(input.as_bytes(), &L) {
            Err(ReplyError::NotSmtp { line }) => {
                assert!(line.chars().count() <= 120);
                assert!(line.starts_with("éé"));
            }
            other => panic!("got {other:?}"),
        }
    }

    #[test]
    fn split_reads_need_more_until_complete() {
        let input = b"220-mx.example.org ESMTP\r\n220-teaser\r\n220 ready\r\n";
        for end in 0..input.len() {
            assert_eq!(parse_reply(&input[..end], &L), Ok(None), "prefix of {end}");
        }
        let (reply, used) = ok(input);
        assert_eq!(used, input.len());
        assert_eq!(reply.lines, vec!["mx.example.org ESMTP", "teaser", "ready"]);
        // A CR at the end of the buffer waits for its LF.
        assert_eq!(parse_reply(b"250 ok\r", &L), Ok(None));
        assert_eq!(parse_reply(b"250\r", &L), Ok(None));
        // A partial line may reach max_line - 1 bytes; at max_line no LF can save it.
        let small = ReplyLimits { max_line: 8, ..L };
        assert_eq!(parse_reply(b"250 abc", &small), Ok(None));
        assert_eq!(
            parse_reply(b"250 abcd", &small),
            Err(ReplyError::LineTooLong { limit: 8 })
        );
        assert!(matches!(parse_reply(b"250 abc\n", &small), Ok(Some(_))));
    }

    #[test]
    fn several_replies_in_one_buffer() {
        let input = b"250-a\r\n250 b\r\n550 5.7.1 denied\r\n221";
        let (first, used) = ok(input);
        assert_eq!(first.code, 250);
        assert_eq!(used, 14);
        let rest = &input[used..];
        let (second, used2) = ok(rest);
        assert_eq!(second.code, 550);
        assert_eq!(second.enhanced, ec(5, 7, 1));
        assert_eq!(used2, 18);
        assert_eq!(parse_reply(&rest[used2..], &L), Ok(None));
    }

    #[test]
    fn reply_methods() {
        let (r, _) = ok(b"554-5.7.1 <a@b>: Relay access denied\r\n554 second\r\n");
        assert_eq!(r.class(), 5);
        assert!(r.is_permanent());
        assert!(!r.is_positive() && !r.is_transient() && !r.is_intermediate());
        assert_eq!(r.first_line(), "5.7.1 <a@b>: Relay access denied");
        assert_eq!(r.text(), "5.7.1 <a@b>: Relay access denied\nsecond");
        assert_eq!(r.summary(), "554 5.7.1 <a@b>: Relay access denied");
        assert_eq!(
            r.wire_lines(),
            vec!["554-5.7.1 <a@b>: Relay access denied", "554 second"]
        );

        let classes = [
            (250, [true, false, false, false]),
            (354, [false, true, false, false]),
            (451, [false, false, true, false]),
            (550, [false, false, false, true]),
        ];
        for (code, want) in classes {
            let r = Reply {
                code,
                enhanced: None,
                lines: vec![],
            };
            let got = [
                r.is_positive(),
                r.is_intermediate(),
                r.is_transient(),
                r.is_permanent(),
            ];
            assert_eq!(got, want, "{code}");
            assert_eq!(r.first_line(), "");
            assert_eq!(r.summary(), code.to_string());
            assert_eq!(r.wire_lines(), vec![code.to_string()]);
        }

        let (bare, _) = ok(b"250-x\r\n250\r\n");
        assert_eq!(bare.wire_lines(), vec!["250-x", "250"]);

        // Codes outside 100..=999 only come from a deserialised record; written as numbers.
        for (code, want) in [
            (0, "0"),
            (99, "99"),
            (100, "100"),
            (999, "999"),
            (1000, "1000"),
        ] {
            assert_eq!(code_text(code, 0), want);
        }
        let json = serde_json::to_string(&EnhancedCode {
            class: 5,
            subject: 7,
            detail: 1,
        })
        .unwrap_or_default();
        assert_eq!(json, r#""5.7.1""#);
        for (class, subject, detail, want) in [
            (2, 0, 0, "2.0.0"),
            (4, 10, 999, "4.10.999"),
            (255, 65535, 65535, "255.65535.65535"),
        ] {
            let code = EnhancedCode {
                class,
                subject,
                detail,
            };
            assert_eq!(code.to_string(), want);
            assert_eq!(
                serde_json::to_string(&code).unwrap_or_default(),
                format!("\"{want}\"")
            );
        }

        let long = Reply {
            code: 250,
            enhanced: None,
            lines: vec!["é".repeat(400)],
        };
        let s = long.summary();
        assert_eq!(s.chars().count(), 200);
        assert!(s.starts_with("250 é"));
    }

    #[test]
    fn enhanced_code_serde_is_a_string() {
        let r = Reply {
            code: 554,
            enhanced: ec(5, 7, 1),
            lines: vec!["5.7.1 no".into()],
        };
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"code":554,"enhanced":"5.7.1","lines":["5.7.1 no"]}"#
        );
        let back: Reply = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, r);
    }
}
