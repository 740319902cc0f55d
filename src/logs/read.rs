//! Streams one opened log through the [`Analyzer`] line by line (each line capped), and says so when a file is not a mail log.

use std::borrow::Cow;
use std::time::SystemTime;

use super::conclude::Analyzer;
use super::prefix::YearHint;
use crate::input::{LineError, LineReader, LogStream, size_label, skip_line};
use crate::report::sanitize;

/// The cap on one log line: rsyslog's default `maxMessageSize` is 8 KiB and Postfix's
/// `line_length_limit` 2 KiB; 64 KiB is eight times the larger. A longer line is counted
/// unreadable and skipped, never held.
pub const MAX_LOG_LINE: usize = 64 * 1024;

/// Lines read without one mail line before a file is called "not a mail log": a whole
/// syslog of a quiet mail server has a Postfix line far more often than once in 10,000.
pub const SNIFF_LINES: u64 = 10_000;

/// Why an input stopped being read. Every message names the input.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "{name}: not a mail log: no Postfix, Sendmail or Exim line in its first {lines} line(s) (line 1: {first})"
    )]
    NotMailLog {
        name: String,
        lines: u64,
        first: String,
    },
    #[error("{name}:{number}: cannot read: {cause}")]
    Io {
        name: String,
        number: usize,
        cause: std::io::Error,
    },
}

/// Reads every line of `stream`, named `name`, into `analyzer`.
pub fn read_log(analyzer: &mut Analyzer, name: &str, stream: LogStream) -> Result<(), ReadError> {
    let ends = stream.modified.unwrap_or_else(SystemTime::now);
    let secs = ends
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    analyzer.begin_file(name, YearHint::of(secs));
    let mut lines = LineReader::new(stream.reader, MAX_LOG_LINE);
    let mut first = String::new();
    loop {
        match lines.next_line() {
            Ok(None) => break,
            Ok(Some(line)) => {
                let text = text_of(line.bytes);
                if line.number == 1 {
                    first = sanitize::terminal(super::first_chars(&text, 120)).into_owned();
                }
                analyzer.line(line.number, &text);
            }
            Err(LineError::TooLong { number, cap }) => {
                analyzer.unreadable(
                    number,
                    &format!("(a line longer than {}, skipped)", size_label(cap as u64)),
                );
                skip_line(lines.get_mut()).map_err(|cause| ReadError::Io {
                    name: name.to_string(),
                    number,
                    cause,
                })?;
            }
            Err(LineError::Io { number, cause }) => {
                return Err(ReadError::Io {
                    name: name.to_string(),
                    number,
                    cause,
                });
            }
        }
        let f = analyzer.current_file().expect("begun above");
        if f.lines >= SNIFF_LINES && f.mail_lines == 0 {
            return Err(not_mail(name, f.lines, first));
        }
    }
    let f = analyzer.current_file().expect("begun above");
    if f.lines > 0 && f.mail_lines == 0 {
        return Err(not_mail(name, f.lines, first));
    }
    Ok(())
}

/// A line as text: borrowed when it is UTF-8 (nearly every line), replacement characters
/// otherwise. `str::from_utf8` checks a word at a time; `String::from_utf8_lossy` walks
/// its chunks a byte at a time and was 11% of the reader's instructions (callgrind, the
/// bench's generated log).
fn text_of(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn not_mail(name: &str, lines: u64, first: String) -> ReadError {
    ReadError::NotMailLog {
        name: name.to_string(),
        lines,
        first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::log_stream;
    use crate::logs::Settings;

    fn run(text: &[u8]) -> (Result<(), ReadError>, crate::logs::LogReport) {
        let mut a = Analyzer::new(Settings::default());
        let stream = log_stream(std::io::Cursor::new(text.to_vec())).unwrap();
        let r = read_log(&mut a, "t.log", stream);
        (r, a.finish())
    }

    #[test]
    fn a_mail_log_reads_and_other_files_are_named() {
        let good = b"Dec 07 05:13:12 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n";
        let (r, report) = run(good);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(report.files[0].mail_lines, 1);
        let (r, _) = run(b"[package]\nname = \"x\"\n");
        let e = r.unwrap_err().to_string();
        assert!(e.starts_with("t.log: not a mail log"), "{e}");
        assert!(e.contains("line 1: [package]"), "{e}");
        // A syslog with no mail line is no mail log either.
        let (r, _) = run(b"Dec 07 05:13:12 host kernel: eth0 up\n");
        assert!(
            matches!(r, Err(ReadError::NotMailLog { lines: 1, .. })),
            "{r:?}"
        );
        let (r, _) = run(b"");
        assert!(r.is_ok());
    }

    #[test]
    fn an_overlong_line_is_counted_and_skipped() {
        let mut text = b"Dec 07 05:13:12 mx postfix/smtpd[1]: ".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LOG_LINE + 10));
        text.extend(
            b"\nDec 07 05:13:13 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n\xff\xfe bytes\n",
        );
        let (r, report) = run(&text);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(report.files[0].lines, 3);
        assert_eq!(report.files[0].mail_lines, 1);
        assert_eq!(report.unreadable.count, 2);
        assert!(report.unreadable.samples[0].starts_with("t.log:1: (a line longer than 64 KiB"));
        assert!(report.unreadable.samples[1].starts_with("t.log:3: "));
    }
}
