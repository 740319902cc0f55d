//! Where targets come from (arguments, files, stdin) and errors that name the place:
//! `targets.txt:3: "192.0.2.300": invalid IPv4 address (octet 300 > 255)`.

use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use super::spec::Target;
use crate::input::{LineError, LineReader, open_stream, stdin_stream};

/// Name shown for targets read from standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// A line longer than this is refused rather than read whole: a target list is short
/// lines (the longest spec, a bracketed IPv6 range with a port, is under 100 bytes), and a
/// file without newlines must not be pulled into memory at once. Domain lists (`--domains`)
/// and `--scope`/`--exclude-file` lists are read here too.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Longest offending text quoted in an error; the rest is elided.
const MAX_QUOTED_CHARS: usize = 100;

/// Where one target spec came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    place: Place,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    /// 1-based position among the target arguments.
    Argument(usize),
    /// A file (or `<stdin>`) and a 1-based line number. The name is shared by all lines
    /// of a file, so a million-line list holds it once.
    Line { source: Arc<str>, line: usize },
}

impl Origin {
    pub fn argument(n: usize) -> Self {
        Origin {
            place: Place::Argument(n),
        }
    }

    pub fn line(source: impl Into<Arc<str>>, line: usize) -> Self {
        Origin {
            place: Place::Line {
                source: source.into(),
                line,
            },
        }
    }

    pub fn stdin(line: usize) -> Self {
        Origin::line(STDIN_NAME, line)
    }

    /// The file name (or `<stdin>`), if this came from a list.
    pub fn source(&self) -> Option<&str> {
        match &self.place {
            Place::Line { source, .. } => Some(source),
            Place::Argument(_) => None,
        }
    }

    /// The line number, if this came from a list.
    pub fn line_number(&self) -> Option<usize> {
        match self.place {
            Place::Line { line, .. } => Some(line),
            Place::Argument(_) => None,
        }
    }

    /// The argument position, if this came from the command line.
    pub fn argument_number(&self) -> Option<usize> {
        match self.place {
            Place::Argument(n) => Some(n),
            Place::Line { .. } => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::Argument(n) => write!(f, "argument {n}"),
            Place::Line { source, line } => write!(f, "{source}:{line}"),
        }
    }
}

/// A target that could not be read or parsed: where, what text, and what is wrong.
/// `text` is empty for problems that are not about one spec (a file that cannot be opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub origin: String,
    pub text: String,
    pub problem: String,
}

impl TargetError {
    pub fn new(origin: impl fmt::Display, text: &str, problem: impl fmt::Display) -> Self {
        TargetError {
            origin: origin.to_string(),
            text: quotable(text),
            problem: problem.to_string(),
        }
    }

    fn io(source_name: &str, what: &str, err: &io::Error) -> Self {
        TargetError::new(source_name, "", format!("{what}: {err}"))
    }
}

/// Shortens `text` for quoting; the `{:?}` in Display takes care of control characters.
fn quotable(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug-quoting escapes control characters, so a hostile list cannot write to
        // the terminal through an error message.
        if self.text.is_empty() {
            write!(f, "{}: {}", self.origin, self.problem)
        } else {
            write!(f, "{}: {:?}: {}", self.origin, self.text, self.problem)
        }
    }
}

impl std::error::Error for TargetError {}

fn parse_one(origin: &Origin, text: &str) -> Result<Target, TargetError> {
    text.parse::<Target>()
        .map_err(|e| TargetError::new(origin, text, e))
}

/// Reads one target per whitespace-separated word, line by line. `#` starts a comment at
/// the start of a line or after whitespace (`192.0.2.1#x` is a bad spec, not a comment).
/// Stops at the first error.
pub fn parse_lines<R: BufRead>(
    reader: R,
    source_name: &str,
) -> Result<Vec<(Origin, Target)>, TargetError> {
    TargetLines::new(reader, source_name).collect()
}

/// The targets of a list one at a time, as [`parse_lines`] reads them: a million-line
/// list is never held whole. After an error it yields nothing more.
pub struct TargetLines<R> {
    source: Arc<str>,
    lines: LineReader<R>,
    /// The targets of the current line not yet yielded.
    pending: std::collections::VecDeque<(Origin, Target)>,
    done: bool,
}

impl<R: BufRead> TargetLines<R> {
    pub fn new(reader: R, source_name: &str) -> TargetLines<R> {
        TargetLines {
            source: Arc::from(source_name),
            lines: LineReader::new(reader, MAX_LINE_BYTES),
            pending: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// The next line's targets into `pending`; `Ok(false)` at the end.
    fn next_targets(&mut self) -> Result<bool, TargetError> {
        let line = match self.lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(false),
            Err(e) => {
                let here = Origin::line(self.source.clone(), e.number());
                return Err(match e {
                    LineError::Io { cause, .. } => {
                        TargetError::io(&here.to_string(), "cannot read", &cause)
                    }
                    too_long => TargetError::new(&here, "", too_long),
                });
            }
        };
        let here = Origin::line(self.source.clone(), line.number);
        let text = line
            .text()
            .map_err(|e| TargetError::new(&here, "", format!("not valid UTF-8 ({e})")))?;
        // A byte-order mark from Windows editors is not part of the first target.
        let text = if line.number == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        for word in text.split_whitespace() {
            if word.starts_with('#') {
                break;
            }
            let target = parse_one(&here, word)?;
            self.pending.push_back((here.clone(), target));
        }
        Ok(true)
    }
}

impl<R: BufRead> Iterator for TargetLines<R> {
    type Item = Result<(Origin, Target), TargetError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() && !self.done {
            match self.next_targets() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.pending.pop_front().map(Ok)
    }
}

/// The targets of a list, one at a time (see [`TargetLines`]).
pub type TargetStream = Box<dyn Iterator<Item = Result<(Origin, Target), TargetError>> + Send>;

/// A target list one target at a time, from a file, or from standard input when `path`
/// is `-`.
pub fn stream_file(path: &Path) -> Result<TargetStream, TargetError> {
    if path == Path::new("-") {
        return Ok(Box::new(TargetLines::new(stdin_stream(), STDIN_NAME)));
    }
    let name = path.display().to_string();
    let reader = open_stream(path).map_err(|e| TargetError::io(&name, "cannot open", &e))?;
    Ok(Box::new(TargetLines::new(reader, &name)))
}

/// Reads a target list from a file, or from standard input when `path` is `-`.
pub fn read_file(path: &Path) -> Result<Vec<(Origin, Target)>, TargetError> {
    if path == Path::new("-") {
        return parse_lines(io::stdin().lock(), STDIN_NAME);
    }
    let name = path.display().to_string();
    let reader = open_stream(path).map_err(|e| TargetError::io(&name, "cannot open", &e))?;
    parse_lines(reader, &name)
}

/// Parses the target arguments of the command line. An argument may hold several
/// whitespace-separated targets (a quoted list), but a blank one is an error: it is
/// almost always an unset shell variable.
pub fn parse_args(args: &[String]) -> Result<Vec<(Origin, Target)>, TargetError> {
    let mut targets = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let origin = Origin::argument(i + 1);
        let mut words = arg.split_whitespace().peekable();
        if words.peek().is_none() {
            return Err(TargetError::new(&origin, arg, "empty target"));
        }
        for word in words {
            let target = parse_one(&origin, word)?;
            targets.push((origin.clone(), target));
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::{Cursor, Write};

    use super::*;

    fn shown(targets: &[(Origin, Target)]) -> Vec<String> {
        targets.iter().map(|(o, t)| format!("{o} {t}")).collect()
    }

    #[test]
    fn lines_comments_and_whitespace() {
        let text = "\
# office network
127.0.0.5
  192.0.2.0/24   # the lab\t
\r
mail.example.com:2525 [2001:db8::1]:25\r
#127.9.9.9
203.0.113.5-10 # range
\t\t
";
        let got = parse_lines(Cursor::new(text), "targets.txt").unwrap();
        assert_eq!(
            shown(&got),
            [
                "targets.txt:2 127.0.0.5",
                "targets.txt:3 192.0.2.0/24",
                "targets.txt:5 mail.example.com:2525",
                "targets.txt:5 [2001:db8::1]:25",
                "targets.txt:7 203.0.113.5-203.0.113.10",
            ]
        );
        assert_eq!(got[0].0.line_number(), Some(2));
        assert_eq!(got[0].0.source(), Some("targets.txt"));
        assert_eq!(got[0].0.argument_number(), None);
    }

    #[test]
    fn empty_inputs() {
        for text in ["", "\n\n", "# only a comment\n", "   \n\t# x\n"] {
            assert_eq!(
                parse_lines(Cursor::new(text), "t").unwrap(),
                vec![],
                "{text:?}"
            );
        }
    }

    #[test]
    fn last_line_without_newline_and_bom() {
        let got = parse_lines(Cursor::new("\u{feff}127.0.0.1\n127.0.0.2"), "t").unwrap();
        assert_eq!(shown(&got), ["t:1 127.0.0.1", "t:2 127.0.0.2"]);
    }

    #[test]
    fn first_error_names_file_line_and_text() {
        let cases = [
            (
                "127.0.0.1\n\n127.0.0.300\nbad_name\n",
                "targets.txt:3: \"127.0.0.300\": invalid IPv4 address (octet 300 > 255)",
            ),
            (
                "127.0.0.1 127.0.0.20-127.0.0.5\n",
                "targets.txt:1: \"127.0.0.20-127.0.0.5\": range start 127.0.0.20 is after range end 127.0.0.5",
            ),
            (
                "127.0.0.1#not-a-comment\n",
                "targets.txt:1: \"127.0.0.1#not-a-comment\": invalid character '#' in host name",
            ),
            (
                "ok.example\nex\u{1b}[31m.com\n",
                "targets.txt:2: \"ex\\u{1b}[31m.com\": invalid character '\\u{1b}' in host name",
            ),
            (
                "127.0.0.5:0",
                "targets.txt:1: \"127.0.0.5:0\": port 0 is not allowed",
            ),
        ];
        for (text, want) in cases {
            let err = parse_lines(Cursor::new(text), "targets.txt").unwrap_err();
            assert_eq!(err.to_string(), want, "{text:?}");
        }
        let err = parse_lines(Cursor::new("127.0.0.300"), "targets.txt").unwrap_err();
        assert_eq!(
            err,
            TargetError {
                origin: "targets.txt:1".into(),
                text: "127.0.0.300".into(),
                problem: "invalid IPv4 address (octet 300 > 255)".into(),
            }
        );
    }

    #[test]
    fn stdin_name_and_origin_display() {
        let err = parse_lines(Cursor::new("\n\n\n\n\n\n999.1.1.1\n"), STDIN_NAME).unwrap_err();
        assert_eq!(
            err.to_string(),
            "<stdin>:7: \"999.1.1.1\": invalid IPv4 address (octet 999 > 255)"
        );
        assert_eq!(Origin::stdin(7).to_string(), "<stdin>:7");
        assert_eq!(Origin::line("targets.txt", 3).to_string(), "targets.txt:3");
        assert_eq!(Origin::argument(2).to_string(), "argument 2");
    }

    #[test]
    fn bad_bytes_and_long_lines() {
        let err = parse_lines(Cursor::new(b"127.0.0.1\n\xff\xfe\n".to_vec()), "t").unwrap_err();
        assert_eq!(err.origin, "t:2");
        assert!(err.problem.starts_with("not valid UTF-8"), "{err}");

        let long = format!("127.0.0.1\n{}\n", "a".repeat(MAX_LINE_BYTES + 10));
        let err = parse_lines(Cursor::new(long), "t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t:2: line longer than 64 KiB (65536 bytes), the cap on one line of this file"
        );

        // Exactly at the cap (with its newline past it) is fine, and quoted text is cut.
        let at_cap = format!("{}\n", "a".repeat(MAX_LINE_BYTES));
        let err = parse_lines(Cursor::new(at_cap), "t").unwrap_err();
        assert_eq!(err.origin, "t:1");
        assert_eq!(err.text.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(err.text.ends_with('…'));
    }

    #[test]
    fn arguments() {
        let args: Vec<String> = ["127.0.0.5", "mail.example.com:2525", "192.0.2.1 192.0.2.2"]
            .map(String::from)
            .to_vec();
        let got = parse_args(&args).unwrap();
        assert_eq!(
            shown(&got),
            [
                "argument 1 127.0.0.5",
                "argument 2 mail.example.com:2525",
                "argument 3 192.0.2.1",
                "argument 3 192.0.2.2",
            ]
        );
        assert_eq!(got[1].0.argument_number(), Some(2));

        let cases: &[(&[&str], &str)] = &[
            (
                &["127.0.0.1", "127.0.0.0/33"],
                "argument 2: \"127.0.0.0/33\": prefix length /33 too long (an IPv4 network has at most /32)",
            ),
            (&["127.0.0.1", ""], "argument 2: empty target"),
            (&["  "], "argument 1: \"  \": empty target"),
            (
                &["# x"],
                "argument 1: \"#\": invalid character '#' in host name",
            ),
        ];
        for (args, want) in cases {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                parse_args(&args).unwrap_err().to_string(),
                *want,
                "{args:?}"
            );
        }
        assert_eq!(parse_args(&[]).unwrap(), vec![]);
    }

    #[test]
    fn files_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.txt");
        let mut f = File::create(&path).unwrap();
        writeln!(f, "# test list\n192.0.2.10\n198.51.100.0/30:2525").unwrap();
        drop(f);
        let got = read_file(&path).unwrap();
        let name = path.display().to_string();
        assert_eq!(
            shown(&got),
            [
                format!("{name}:2 192.0.2.10"),
                format!("{name}:3 198.51.100.0/30:2525"),
            ]
        );

        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "192.0.2.1\n192.0.2.1/40\n").unwrap();
        let err = read_file(&bad).unwrap_err();
        assert_eq!(err.origin, format!("{}:2", bad.display()));
        assert_eq!(err.text, "192.0.2.1/40");

        let missing = dir.path().join("missing.txt");
        let err = read_file(&missing).unwrap_err();
        assert_eq!(err.origin, missing.display().to_string());
        assert!(err.text.is_empty());
        assert!(err.problem.starts_with("cannot open: "), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{}: cannot open: ", missing.display()))
        );
    }
}
