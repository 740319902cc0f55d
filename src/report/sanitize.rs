//! Making server text safe for where it is shown: spreadsheet cells and terminals. Pure functions.
//!
//! Servers choose their own banners and reply texts, so every string from them is hostile input.
//! Both functions keep the evidence readable; neither deletes anything. JSON keeps the raw text.

use std::borrow::Cow;
use std::fmt::Write;

/// Neutralises a CSV cell that a spreadsheet would run as a formula (OWASP "CSV Injection"):
/// a cell that begins with `=`, `+`, `-`, `@`, tab, CR or LF gets a leading `'`, which
/// spreadsheets take as "this is text" and do not display.
///
/// Other cells are returned as they are, without allocating.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Makes server text inert for printing on a terminal: C0 controls but tab, DEL, C1 controls
/// and the bidi controls become visible escapes (`\x1b`, `\u{202e}`), so an ANSI sequence
/// cannot recolour or clear the screen and a bidi override cannot reorder what the reader sees,
/// while the evidence stays visible.
///
/// Text without such characters is returned as it is, without allocating.
pub fn terminal(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(needs_escape) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if needs_escape(c) {
            // ASCII controls as the byte people know them by; the rest as code points,
            // since a C1 control arrives here as a char, not a byte.
            let _ = if (c as u32) < 0x80 {
                write!(out, "\\x{:02x}", c as u32)
            } else {
                write!(out, "\\u{{{:x}}}", c as u32)
            };
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}'    // C0 but tab
        | '\u{7f}'                                // DEL
        | '\u{80}'..='\u{9f}'                     // C1, e.g. U+009B, an 8-bit CSI
        | '\u{61c}'                               // Arabic letter mark
        | '\u{200e}' | '\u{200f}'                 // LRM, RLM
        | '\u{202a}'..='\u{202e}'                 // LRE, RLE, PDF, LRO, RLO
        | '\u{2066}'..='\u{2069}'                 // LRI, RLI, FSI, PDI
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cell_table() {
        let table = [
            (
                "=HYPERLINK(\"http://evil.example/\",\"click\")",
                "'=HYPERLINK(\"http://evil.example/\",\"click\")",
            ),
            ("-1+2", "'-1+2"),
            ("+1", "'+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("\n=1", "'\n=1"),
            ("220 mx.example.com ESMTP", "220 mx.example.com ESMTP"),
            ("mx=1", "mx=1"),
            (" =1", " =1"),
            ("", ""),
        ];
        for (input, want) in table {
            assert_eq!(csv_cell(input), want, "{input:?}");
        }
    }

    #[test]
    fn csv_cell_does_not_allocate_for_plain_text() {
        for s in ["220 mx.example.com ESMTP Postfix", "", "192.0.2.1", "x-y"] {
            assert!(matches!(csv_cell(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn terminal_table() {
        let table = [
            // An ANSI escape sequence: colour, then clear screen.
            ("\u{1b}[31mred\u{1b}[2J", "\\x1b[31mred\\x1b[2J"),
            // A bidi override that would show "exe.txt" as "txt.exe".
            ("invoice\u{202e}txt.exe", "invoice\\u{202e}txt.exe"),
            ("a\u{2066}b\u{2069}c", "a\\u{2066}b\\u{2069}c"),
            ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{61c}"),
            // Line breaks and other C0 controls, DEL and an 8-bit CSI (C1).
            ("fake\r\nline", "fake\\x0d\\x0aline"),
            ("nul\0bell\u{7}", "nul\\x00bell\\x07"),
            ("del\u{7f}", "del\\x7f"),
            ("csi\u{9b}31m", "csi\\u{9b}31m"),
            // Tab is kept; non-ASCII letters are kept.
            ("a\tb", "a\tb"),
            ("Grüße, 東京 mx", "Grüße, 東京 mx"),
            ("=HYPERLINK(\"x\")", "=HYPERLINK(\"x\")"),
            ("", ""),
        ];
        for (input, want) in table {
            assert_eq!(terminal(input), want, "{input:?}");
        }
    }

    #[test]
    fn terminal_does_not_allocate_for_plain_text() {
        for s in ["220 mx.example.com ESMTP Postfix", "", "tab\tok", "Grüße"] {
            assert!(matches!(terminal(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn terminal_output_has_no_control_left() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = terminal(&all);
        assert!(!out.chars().any(needs_escape));
        // And escaping is idempotent: the escapes are plain ASCII.
        assert_eq!(terminal(&out), out);
    }
}
