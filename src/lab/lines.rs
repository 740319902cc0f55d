//! A pure, bounded line splitter for the lab's server side: CRLF or bare LF, lines capped at 4 KiB.
//!
//! Kept free of I/O so that the limits (which protect the lab from a client that
//! never sends a newline) are tested without sockets.

/// The longest line accepted, in bytes, without its line ending.
pub const MAX_LINE: usize = 4096;

/// One unit of client input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line without its ending, decoded lossily (clients may send any byte).
    Text(String),
    /// A line longer than [`MAX_LINE`]; its bytes are discarded up to the next newline.
    TooLong,
}

/// Accumulates bytes and hands out complete lines in order.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
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
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, or `None` when more bytes are needed.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let newline = self.buf.iter().position(|&b| b == b'\n');
            if self.discarding {
                match newline {
                    Some(i) => {
                        self.buf.drain(..=i);
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        self.buf.clear();
                        return None;
                    }
                }
            }
            if let Some(i) = newline {
                let mut end = i;
                if end > 0 && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                let line = if end > MAX_LINE {
                    Line::TooLong
                } else {
                    Line::Text(String::from_utf8_lossy(&self.buf[..end]).into_owned())
                };
                self.buf.drain(..=i);
                return Some(line);
            }
            // One byte of slack for a CR whose LF has not arrived yet.
            if self.buf.len() > MAX_LINE + 1 {
                self.buf.clear();
                self.discarding = true;
                return Some(Line::TooLong);
            }
            return None;
        }
    }

    /// Bytes held for an incomplete line (for tests of the bound).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(r: &mut LineReader) -> Vec<Line> {
        std::iter::from_fn(|| r.next_line()).collect()
    }

    fn text(s: &str) -> Line {
        Line::Text(s.to_string())
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
