//! A pure, bounded line splitter for the lab's server side: CRLF or bare LF, lines capped at 4 KiB.
//!
//! Kept free of I/O so that the limits (which protect the lab from a client that
//! never sends a newline) are tested without sockets.

use std::borrow::Cow;

/// The longest line accepted, in bytes, without its line ending.
pub const MAX_LINE: usize = 4096;

/// One unit of client input, borrowed from the reader until the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line without its ending, decoded lossily (clients may send any
    /// byte); borrowed, without a copy, when it is valid UTF-8 (the usual case).
    Text(Cow<'a, str>),
    /// A line longer than [`MAX_LINE`]; its bytes are discarded up to the next newline.
    TooLong,
}

/// Accumulates bytes and hands out complete lines in order.
///
/// Consumed lines are skipped by an offset and the buffer is compacted once per
/// read, not once per line, so a pipelined flight of n lines costs O(n) moves.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    start: usize,
    /// Inside an over-long line whose rest must be dropped up to its newline.
    discarding: bool,
}

impl LineReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes. Call [`next_line`](Self::next_line) until it
    /// returns `None` after each push, which keeps the buffer bounded by
    /// `MAX_LINE` plus one read.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read up to `max` more bytes into (the caller appends, e.g. with
    /// `AsyncReadExt::read_buf` on a `take`), so bytes go from the socket
    /// straight into the reader without a zeroed bounce buffer. The same contract as
    /// [`push`](Self::push): drain the lines after each read.
    pub fn spare(&mut self, max: usize) -> &mut Vec<u8> {
        self.compact();
        self.buf.reserve(max);
        &mut self.buf
    }

    /// Drops the bytes already handed out.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// The next complete line, or `None` when more bytes are needed.
    pub fn next_line(&mut self) -> Option<Line<'_>> {
        loop {
            let pending = self.buf.get(self.start..).unwrap_or_default();
            let newline = memchr::memchr(b'\n', pending);
            let pending_len = pending.len();
            if self.discarding {
                match newline {
                    Some(i) => {
                        self.start += i + 1;
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        self.buf.clear();
                        self.start = 0;
                        return None;
                    }
                }
            }
            if let Some(i) = newline {
                let from = self.start;
                self.start += i + 1;
                let line = self.buf.get(from..from + i).unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                return Some(if line.len() > MAX_LINE {
                    Line::TooLong
                } else {
                    Line::Text(decode(line))
                });
            }
            // One byte of slack for a CR whose LF has not arrived yet.
            if pending_len > MAX_LINE + 1 {
                self.buf.clear();
                self.start = 0;
                self.discarding = true;
                return Some(Line::TooLong);
            }
            return None;
        }
    }

    /// Bytes held for an incomplete line (for tests of the bound).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// Lossy UTF-8 that borrows valid text: `from_utf8` has an ASCII fast path that the
/// lossy decoder lacks, and only invalid input pays for the replacement copy.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(r: &mut LineReader) -> Vec<Line<'static>> {
        std::iter::from_fn(|| r.next_line().map(owned)).collect()
    }

    fn owned(line: Line<'_>) -> Line<'static> {
        match line {
            Line::Text(t) => Line::Text(Cow::Owned(t.into_owned())),
            Line::TooLong => Line::TooLong,
        }
    }

    fn text(s: &str) -> Line<'static> {
        Line::Text(Cow::Owned(s.to_string()))
    }

    #[test]
    fn splits_crlf_and_bare_lf_in_order() {
        let mut r = LineReader::new();
        r.push(b"EHLO a\r\nMAIL FROM:<>\nRCPT TO:<x@y>\r\nQU");
        assert_eq!(
            drain(&mut r),
            vec![text("EHLO a"), text("MAIL FROM:<>"), text("RCPT TO:<x@y>")]
        );
        r.push(b"IT\r\n");
        assert_eq!(drain(&mut r), vec![text("QUIT")]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn reads_into_spare_and_compacts_between_reads() {
        let mut r = LineReader::new();
        r.spare(MAX_LINE)
            .extend_from_slice(b"RSET\r\nMAIL FROM:<>\r\nRC");
        assert_eq!(drain(&mut r), vec![text("RSET"), text("MAIL FROM:<>")]);
        assert_eq!(r.buffered(), 2, "only the incomplete line is held");
        r.spare(MAX_LINE).extend_from_slice(b"PT TO:<a@b>\r\n");
        assert_eq!(drain(&mut r), vec![text("RCPT TO:<a@b>")]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn valid_text_is_borrowed_not_copied() {
        let mut r = LineReader::new();
        r.push(b"NOOP\r\n\xffA\r\n");
        assert!(matches!(
            r.next_line(),
            Some(Line::Text(Cow::Borrowed("NOOP")))
        ));
        assert!(matches!(r.next_line(), Some(Line::Text(Cow::Owned(_)))));
    }

    #[test]
    fn crlf_split_across_pushes() {
        let mut r = LineReader::new();
        r.push(b"NOOP\r");
        assert_eq!(r.next_line(), None);
        r.push(b"\n");
        assert_eq!(r.next_line(), Some(text("NOOP")));
    }

    #[test]
    fn empty_lines_and_invalid_utf8() {
        let mut r = LineReader::new();
        r.push(b"\r\n\n\xffA\r\n");
        assert_eq!(drain(&mut r), vec![text(""), text(""), text("\u{fffd}A")]);
    }

    #[test]
    fn exactly_max_line_is_accepted() {
        let mut r = LineReader::new();
        let mut line = vec![b'a'; MAX_LINE];
        line.extend_from_slice(b"\r");
        r.push(&line);
        assert_eq!(r.next_line(), None, "the CR alone must not trip the cap");
        r.push(b"\n");
        assert_eq!(r.next_line(), Some(text(&"a".repeat(MAX_LINE))));
    }

    #[test]
    fn long_line_reported_once_then_discarded_to_newline() {
        let mut r = LineReader::new();
        r.push(&vec![b'x'; MAX_LINE + 10]);
        assert_eq!(r.next_line(), Some(Line::TooLong));
        assert_eq!(r.next_line(), None);
        assert_eq!(r.buffered(), 0, "discarded bytes are not kept");
        r.push(&vec![b'y'; 3 * MAX_LINE]);
        assert_eq!(r.next_line(), None, "still the same long line");
        r.push(b"yyy\r\nNOOP\r\n");
        assert_eq!(drain(&mut r), vec![text("NOOP")]);
    }

    #[test]
    fn long_line_complete_in_one_push() {
        let mut r = LineReader::new();
        let mut bytes = vec![b'z'; MAX_LINE + 1];
        bytes.extend_from_slice(b"\r\nRSET\r\n");
        r.push(&bytes);
        assert_eq!(drain(&mut r), vec![Line::TooLong, text("RSET")]);
    }
}
