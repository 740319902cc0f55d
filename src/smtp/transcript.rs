//! The bounded record of one dialogue: what we sent, what the server said, and our notes.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::reply::Reply;

/// Who a transcript line is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "C")]
    Client,
    #[serde(rename = "S")]
    Server,
    #[serde(rename = "*")]
    Note,
}

/// One line of a dialogue, `ms` after the connection attempt began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub ms: u64,
    pub dir: Direction,
    pub text: String,
}

/// The note added once when the byte cap is reached.
pub const TRUNCATED_NOTE: &str = "[transcript truncated]";

/// How many bytes of non-SMTP data `server_raw` shows; the rest is only counted.
const RAW_SHOWN: usize = 512;

/// Default cap for `Transcript::default()`: generous for a normal dialogue
/// (a few KiB), small enough that 10,000 in flight stay cheap.
const DEFAULT_CAP: usize = 64 * 1024;

/// The record of one dialogue, capped in bytes so a chatty server cannot grow it
/// without bound. Not serialised itself: reports take `into_parts()`.
#[derive(Debug, Clone)]
pub struct Transcript {
    started: Instant,
    lines: Vec<TranscriptLine>,
    /// Sum of the text lengths kept so far (the truncation note not counted).
    bytes: usize,
    cap: usize,
    truncated: bool,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new(DEFAULT_CAP)
    }
}

impl Transcript {
    /// A transcript whose clock starts now and which keeps at most `cap_bytes` of text.
    pub fn new(cap_bytes: usize) -> Self {
        Transcript {
            started: Instant::now(),
            lines: Vec::new(),
            bytes: 0,
            cap: cap_bytes,
            truncated: false,
        }
    }

    /// A line we sent (without CRLF).
    pub fn client(&mut self, text: impl Into<String>) {
        self.push(Direction::Client, text.into());
    }

    /// A reply, one transcript line per reply line, in wire form (`250-foo`, `250 bar`).
    pub fn server(&mut self, reply: &Reply) {
        reply.for_each_wire_line(|line| self.push(Direction::Server, line));
    }

    /// Bytes from the server that are not (or not yet) an SMTP reply: decoded lossily,
    /// control characters escaped, at most 512 bytes shown.
    pub fn server_raw(&mut self, bytes: &[u8]) {
        self.push(Direction::Server, render_raw(bytes));
    }

    /// Our own remark (a timeout, a decision, a connection event).
    pub fn note(&mut self, text: impl Into<String>) {
        self.push(Direction::Note, text.into());
    }

    pub fn lines(&self) -> &[TranscriptLine] {
        &self.lines
    }

    /// Whether lines were dropped because the cap was reached.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The lines and the truncation flag, for the report record.
    pub fn into_parts(self) -> (Vec<TranscriptLine>, bool) {
        (self.lines, self.truncated)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn push(&mut self, dir: Direction, text: String) {
        if self.truncated {
            return;
        }
        let ms = self.elapsed_ms();
        let new_total = self.bytes.saturating_add(text.len());
        if new_total > self.cap {
            // One marker, so a reader knows the record is incomplete; everything
            // after it is dropped, which keeps the record a true prefix.
            self.truncated = true;
            self.lines.push(TranscriptLine {
                ms,
                dir: Direction::Note,
                text: TRUNCATED_NOTE.to_string(),
            });
            return;
        }
        self.bytes = new_total;
        self.lines.push(TranscriptLine { ms, dir, text });
    }
}

/// Two transcripts of one probe (a dialogue and its rerun) as one, a note between them,
/// within the same byte cap as one: the second's times are shifted to follow the first's.
pub fn concat(
    first: (Vec<TranscriptLine>, bool),
    note: String,
    second: (Vec<TranscriptLine>, bool),
    cap_bytes: usize,
) -> (Vec<TranscriptLine>, bool) {
    let (first, first_truncated) = first;
    let (second, second_truncated) = second;
    let offset = first.last().map_or(0, |l| l.ms);
    let mut joined = Transcript::new(cap_bytes);
    for line in first {
        joined.push(line.dir, line.text);
        if let Some(kept) = joined.lines.last_mut() {
            kept.ms = line.ms;
        }
    }
    joined.push(Direction::Note, note);
    if let Some(kept) = joined.lines.last_mut() {
        kept.ms = offset;
    }
    for line in second {
        let ms = offset.saturating_add(line.ms);
        joined.push(line.dir, line.text);
        if let Some(kept) = joined.lines.last_mut() {
            kept.ms = ms;
        }
    }
    let (lines, truncated) = joined.into_parts();
    (lines, truncated || first_truncated || second_truncated)
}

/// Non-SMTP bytes for a transcript: the first 512 bytes decoded lossily with control
/// characters escaped, plus a count of what was not shown.
pub fn render_raw(bytes: &[u8]) -> String {
    let shown = bytes.get(..RAW_SHOWN).unwrap_or(bytes);
    let mut text = escape_controls(&String::from_utf8_lossy(shown));
    let rest = bytes.len() - shown.len();
    if rest > 0 {
        text.push_str(&format!("…({rest} more bytes)"));
    }
    text
}

/// Escapes control characters (C0 but tab, DEL, C1) as `\x1b` / `\u{85}`, so that
/// raw server bytes cannot drive a terminal or hide text, while staying readable.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            '\u{80}'..='\u{9f}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn records_directions_in_order() {
        let mut t = Transcript::new(1024);
        t.note("connected to 127.0.0.1:25");
        t.server(&reply(220, &["mx.example.org ESMTP"]));
        t.client("EHLO probe.example");
        t.server(&reply(250, &["mx.example.org", "PIPELINING", "SIZE 100"]));
        let got: Vec<(Direction, &str)> =
            t.lines().iter().map(|l| (l.dir, l.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Direction::Note, "connected to 127.0.0.1:25"),
                (Direction::Server, "220 mx.example.org ESMTP"),
                (Direction::Client, "EHLO probe.example"),
                (Direction::Server, "250-mx.example.org"),
                (Direction::Server, "250-PIPELINING"),
                (Direction::Server, "250 SIZE 100"),
            ]
        );
        assert!(!t.is_truncated());
        // Timestamps never go backwards.
        assert!(t.lines().windows(2).all(|w| w[0].ms <= w[1].ms));
    }

    #[test]
    fn cap_drops_later_lines_and_notes_once() {
        let mut t = Transcript::new(10);
        t.client("12345"); // 5
        t.client("67890"); // 10: exactly at the cap, kept
        t.client("x"); // over: truncated
        t.client("y");
        t.server(&reply(250, &["a", "b"]));
        t.note("late");
        let texts: Vec<&str> = t.lines().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["12345", "67890", TRUNCATED_NOTE]);
        assert!(t.is_truncated());
        let (lines, truncated) = t.into_parts();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2].dir, Direction::Note);
        assert!(truncated);
    }

    #[test]
    fn zero_cap_truncates_at_first_line() {
        let mut t = Transcript::new(0);
        t.note("x");
        assert!(t.is_truncated());
        assert_eq!(t.lines().len(), 1);
        assert_eq!(t.lines()[0].text, TRUNCATED_NOTE);
    }

    #[test]
    fn raw_bytes_are_escaped_and_bounded() {
        let cases: &[(&[u8], &str)] = &[
            (b"SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_9.6\\x0d\\x0a"),
            (b"\x1b[31mred\tok", "\\x1b[31mred\tok"),
            (b"\xff\xfeok", "\u{fffd}\u{fffd}ok"),
            (b"del\x7f", "del\\x7f"),
            ("c1\u{85}".as_bytes(), "c1\\u{85}"),
            (b"", ""),
        ];
        for (input, want) in cases {
            assert_eq!(render_raw(input), *want, "input {input:?}");
        }
        let big = vec![b'a'; 2000];
        let shown = render_raw(&big);
        assert!(shown.starts_with(&"a".repeat(512)));
        assert!(shown.ends_with("…(1488 more bytes)"), "{shown}");
        assert_eq!(shown.chars().filter(|&c| c == 'a').count(), 512);
    }

    #[test]
    fn server_raw_goes_in_as_server_line() {
        let mut t = Transcript::new(4096);
        t.server_raw(b"HTTP/1.1 400 Bad Request\r\n");
        assert_eq!(t.lines().len(), 1);
        assert_eq!(t.lines()[0].dir, Direction::Server);
        assert_eq!(t.lines()[0].text, "HTTP/1.1 400 Bad Request\\x0d\\x0a");
    }

    #[test]
    fn serde_shape_of_a_line() {
        let line = TranscriptLine {
            ms: 7,
            dir: Direction::Client,
            text: "QUIT".into(),
        };
        let json = serde_json::to_string(&line).unwrap_or_default();
        assert_eq!(json, r#"{"ms":7,"dir":"C","text":"QUIT"}"#);
    }
}
