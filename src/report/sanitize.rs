//! Making server text safe for where it is shown: CSV cells, terminals, HTML and Markdown. Pure functions.
//!
//! Servers choose their own banners and reply texts, so every string from them is hostile input.
//! Every function keeps the evidence readable; none deletes anything. JSON keeps the raw text.

use std::borrow::Cow;
use std::fmt::Write;

/// A CSV cell as it may be written: controls and bidi overrides shown as visible escapes
/// exactly as on the terminal ([`terminal`]), so `cat report.csv` runs nothing; then a cell
/// that a spreadsheet would run as a formula (OWASP "CSV Injection": one that begins with
/// `=`, `+`, `-`, `@` or tab) gets a leading `'`, which spreadsheets take as "this is text"
/// and do not display. Only [`super::csv_writer::CsvWriter`] calls it, on every cell.
///
/// Other cells are returned as they are, without allocating.
pub(super) fn csv_cell(s: &str) -> Cow<'_, str> {
    let visible = terminal(s);
    match visible.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t') => Cow::Owned(format!("'{visible}")),
        _ => visible,
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

/// Text for an HTML text node: controls and bidi overrides made visible as in [`terminal`]
/// (a bidi override reorders what a browser shows, too), then `&`, `<`, `>`, `"` and `'`
/// as entities, so that the result is inert in element content and in quoted attributes
/// alike. The report never puts server text in an attribute, a script or a URL; escaping the
/// quotes anyway keeps one function safe for any place it ends up in.
pub fn html(s: &str) -> Cow<'_, str> {
    let visible = terminal(s);
    if !visible.contains(['&', '<', '>', '"', '\'']) {
        return visible;
    }
    let mut out = String::with_capacity(visible.len() + 16);
    for c in visible.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Server text as a Markdown code span, safe inside a GFM table cell: controls made visible,
/// `|` escaped (tables split on it even inside code), and a backtick fence longer than any
/// run of backticks in the text. A code span shows its content literally: no links, no
/// emphasis, no HTML, whatever the server wrote.
pub fn md_code(s: &str) -> String {
    if s.is_empty() {
        // "``" would open a code span that never closes; a lone space is an empty-looking span.
        return "` `".to_string();
    }
    let visible = terminal(s).replace('|', "\\|");
    let longest = visible.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space inside the fence lets the text begin or end with a backtick; CommonMark strips
    // exactly one space on each side when both are there.
    let pad = if visible.starts_with('`') || visible.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{visible}{pad}{fence}")
}

/// Prose for Markdown, on one line: the characters that open emphasis, code, links, HTML,
/// entities or table cells are backslash-escaped anywhere, and a leading `-`, `+`, `=`, `>`
/// or `1.` that would start a list, heading or quote is escaped too, so the text renders as
/// written. Other punctuation is left alone, so the raw file stays readable.
pub fn md_text(s: &str) -> String {
    let visible = terminal(s);
    let mut out = String::with_capacity(visible.len() + 8);
    let digits = visible.chars().take_while(char::is_ascii_digit).count();
    for (i, c) in visible.chars().enumerate() {
        let leading = i == 0 && "-+=>".contains(c);
        let list_number = i == digits && digits > 0 && (c == '.' || c == ')');
        if leading || list_number || "\\`*_[]<>|~&!#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
            // A leading CR or LF is shown as its escape, which starts no formula.
            ("\r=1", "\\x0d=1"),
            ("\n=1", "\\x0a=1"),
            ("=\u{1b}[2J", "'=\\x1b[2J"),
            ("220 \u{7}\u{202e}x\r\n", "220 \\x07\\u{202e}x\\x0d\\x0a"),
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
    fn html_table() {
        let table = [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            (
                "\"><img src=x onerror=alert(1)>",
                "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
            ),
            ("a & b 'c'", "a &amp; b &#39;c&#39;"),
            ("\u{1b}[2J<b>", "\\x1b[2J&lt;b&gt;"),
            ("evil\u{202e}fdp.exe", "evil\\u{202e}fdp.exe"),
            ("&lt;", "&amp;lt;"),
            ("220 mx.example.com ESMTP", "220 mx.example.com ESMTP"),
            ("", ""),
        ];
        for (input, want) in table {
            assert_eq!(html(input), want, "{input:?}");
        }
        assert!(matches!(html("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn html_output_has_no_markup_character_left() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = html(&all);
        assert!(!out.contains(['<', '>', '"', '\'']));
        assert!(!out.chars().any(needs_escape));
    }

    #[test]
    fn md_code_table() {
        let table = [
            ("220 mx ESMTP", "`220 mx ESMTP`"),
            ("a|b", "`a\\|b`"),
            ("uses `tick`", "`` uses `tick` ``"),
            ("`", "`` ` ``"),
            ("x ``` y", "````x ``` y````"),
            (
                "[click](http://evil.example/)",
                "`[click](http://evil.example/)`",
            ),
            ("<script>", "`<script>`"),
            (
                "\u{1b}]8;;http://evil.example/\u{7}",
                "`\\x1b]8;;http://evil.example/\\x07`",
            ),
            ("line\nbreak", "`line\\x0abreak`"),
            ("", "` `"),
        ];
        for (input, want) in table {
            assert_eq!(md_code(input), want, "{input:?}");
        }
    }

    #[test]
    fn md_text_table() {
        let table = [
            ("plain words, it's fine: ok.", "plain words, it's fine: ok."),
            ("[x](http://e.example/)", "\\[x\\](http://e.example/)"),
            ("*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"),
            ("<b>|#&amp;", "\\<b\\>\\|\\#\\&amp;"),
            ("FEATURE(`relay')", "FEATURE(\\`relay')"),
            ("- item", "\\- item"),
            ("a - b", "a - b"),
            ("> quote", "\\> quote"),
            ("12. list", "12\\. list"),
            ("1.5 s", "1\\.5 s"),
            ("v1.2", "v1.2"),
        ];
        for (input, want) in table {
            assert_eq!(md_text(input), want, "{input:?}");
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
