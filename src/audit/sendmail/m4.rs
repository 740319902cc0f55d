//! The macro calls of a Sendmail .mc file (m4 source): `FEATURE(`name', ...)`, `define(`confX', `value')` and the like, with their line numbers.
//!
//! Not an m4 implementation: enough of m4's lexical rules to find top-level calls. Quotes are
//! `` ` `` … `'` and nest; outside quotes `#` starts a comment to the end of the line, and
//! `dnl` deletes the rest of the line.

/// One macro call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    /// The arguments with their outer quotes and surrounding blanks removed.
    pub args: Vec<String>,
    pub line: usize,
}

/// Every top-level call `NAME(args)` in the text, in order.
pub fn calls(text: &str) -> Vec<Call> {
    let chars: Vec<char> = strip_comments(text).chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut quote = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\n' => line += 1,
            '`' => quote += 1,
            '\'' => quote = quote.saturating_sub(1),
            c if quote == 0
                && (c.is_ascii_alphabetic() || c == '_')
                && !prev_is_word(&chars, i) =>
            {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'(') {
                    let (args, end, lines) = arguments(&chars, i + 1);
                    out.push(Call { name, args, line });
                    line += lines;
                    i = end;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn prev_is_word(chars: &[char], i: usize) -> bool {
    i.checked_sub(1)
        .and_then(|p| chars.get(p))
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
}

/// Reads arguments from just after `(` to the matching `)`: (args, index after `)`, newlines).
fn arguments(chars: &[char], mut i: usize) -> (Vec<String>, usize, usize) {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut paren, mut lines) = (0usize, 0usize, 0usize);
    while let Some(&c) = chars.get(i) {
        i += 1;
        if c == '\n' {
            lines += 1;
        }
        match c {
            '`' => {
                if quote > 0 {
                    cur.push(c);
                }
                quote += 1;
            }
            '\'' if quote > 0 => {
                quote -= 1;
                if quote > 0 {
                    cur.push(c);
                }
            }
            '(' if quote == 0 => {
                paren += 1;
                cur.push(c);
            }
            ')' if quote == 0 && paren == 0 => {
                args.push(cur.trim().to_string());
                return (args, i, lines);
            }
            ')' if quote == 0 => {
                paren -= 1;
                cur.push(c);
            }
            ',' if quote == 0 && paren == 0 => {
                args.push(std::mem::take(&mut cur).trim().to_string())
            }
            _ => cur.push(c),
        }
    }
    // Unclosed: what there is, to the end of the file.
    args.push(cur.trim().to_string());
    (args, i, lines)
}

/// Blanks out comments (`#` and `dnl` to the end of the line) outside quotes, keeping newlines
/// so that line numbers stay true.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote = 0usize;
    let mut skipping = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if c == '\n' {
            skipping = false;
            out.push(c);
            continue;
        }
        if skipping {
            continue;
        }
        match c {
            '`' => quote += 1,
            '\'' => quote = quote.saturating_sub(1),
            '#' if quote == 0 => {
                skipping = true;
                continue;
            }
            'd' if quote == 0
                && chars.get(i..i + 2) == Some(&['n', 'l'][..])
                && !prev_is_word(&chars, i - 1)
                && !chars
                    .get(i + 2)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') =>
            {
                skipping = true;
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[&str], line: usize) -> Call {
        Call {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            line,
        }
    }

    #[test]
    fn calls_table() {
        let text = "divert(-1)dnl\n# FEATURE(`promiscuous_relay') in a comment\n\
            divert(0)dnl\nVERSIONID(`$Id: x.mc, v 1 $')\nFEATURE(`access_db', , `skip')dnl\n\
            FEATURE(relay_entire_domain)\ndnl FEATURE(`loose_relay_check')\n\
            define(`confSMTP_LOGIN_MSG', `$j Sendmail $v/$Z; $b')dnl\n\
            define(`confPRIVACY_FLAGS',\n  `authwarnings,novrfy')\nFEATURE(`nested', `a(b)c')\n";
        let got = calls(text);
        assert_eq!(
            got,
            vec![
                call("divert", &["-1"], 1),
                call("divert", &["0"], 3),
                call("VERSIONID", &["$Id: x.mc, v 1 $"], 4),
                call("FEATURE", &["access_db", "", "skip"], 5),
                call("FEATURE", &["relay_entire_domain"], 6),
                call(
                    "define",
                    &["confSMTP_LOGIN_MSG", "$j Sendmail $v/$Z; $b"],
                    8
                ),
                call("define", &["confPRIVACY_FLAGS", "authwarnings,novrfy"], 9),
                call("FEATURE", &["nested", "a(b)c"], 11),
            ]
        );
    }

    #[test]
    fn unclosed_calls_end_at_the_end_of_the_file() {
        assert_eq!(calls("FEATURE(`x'"), vec![call("FEATURE", &["x"], 1)]);
        assert!(calls("").is_empty());
    }
}
