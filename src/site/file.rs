//! The site defaults file (`relayscan.toml`) read without I/O: one `key = value` a line,
//! where a value is a "string", a non-negative integer or a one-line ["array", "of strings"];
//! `#` comments and blank lines. This is the subset of TOML the keys need; anything else
//! (tables, multi-line values, floats) is an error naming the line, as are unknown keys.

use std::fmt;

/// Longest file read: a site's defaults are a few dozen lines (64 KiB is ~1,000 of them).
pub const MAX_BYTES: usize = 64 * 1024;
/// Longest line, in bytes.
const MAX_LINE: usize = 4096;

/// A value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Number(u64),
    List(Vec<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::List(items) => write!(f, "{items:?}"),
        }
    }
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    /// 1-based.
    pub line: usize,
}

/// Why the file cannot be used: the line (0 for the whole file) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: usize,
    pub problem: String,
}

fn at(line: usize, problem: impl Into<String>) -> FileError {
    FileError {
        line,
        problem: problem.into(),
    }
}

/// The entries of `text`, in file order; a key given twice is an error.
pub fn parse(text: &str) -> Result<Vec<Entry>, FileError> {
    if text.len() > MAX_BYTES {
        return Err(at(0, format!("longer than {MAX_BYTES} bytes")));
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.len() > MAX_LINE {
            return Err(at(line, format!("line longer than {MAX_LINE} bytes")));
        }
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with('[') {
            return Err(at(
                line,
                "tables ([section]) are not used: write key = value",
            ));
        }
        let Some((key, rest)) = content.split_once('=') else {
            return Err(at(line, "expected key = value"));
        };
        let key = key.trim();
        let key_is_bare = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !key_is_bare {
            return Err(at(
                line,
                format!("{key:?} is not a key (letters, digits, - and _)"),
            ));
        }
        if entries.iter().any(|e| e.key == key) {
            return Err(at(line, format!("{key}: given twice")));
        }
        let value = value(rest.trim()).map_err(|problem| at(line, format!("{key}: {problem}")))?;
        entries.push(Entry {
            key: key.to_string(),
            value,
            line,
        });
    }
    Ok(entries)
}

/// A value and an optional trailing comment.
fn value(text: &str) -> Result<Value, String> {
    let (value, rest) = if let Some(inner) = text.strip_prefix('[') {
        let mut items = Vec::new();
        let mut rest = inner.trim_start();
        loop {
            if let Some(after) = rest.strip_prefix(']') {
                break (Value::List(items), after);
            }
            let (item, after) = string(rest)?;
            items.push(item);
            let after = after.trim_start();
            rest = match after.strip_prefix(',') {
                Some(more) => more.trim_start(),
                None if after.starts_with(']') => after,
                None => return Err("expected , or ] in the array (arrays stay on one line)".into()),
            };
        }
    } else if text.starts_with('"') {
        let (s, rest) = string(text)?;
        (Value::Text(s), rest)
    } else {
        let end = text
            .find(|c: char| c.is_whitespace() || c == '#')
            .unwrap_or(text.len());
        let digits = &text[..end];
        let n = digits
            .replace('_', "")
            .parse::<u64>()
            .map_err(|_| format!("{digits:?} is not a \"string\", a whole number or an [array]"))?;
        (Value::Number(n), &text[end..])
    };
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(value)
    } else {
        Err(format!("unexpected {rest:?} after the value"))
    }
}

/// A basic string (`"..."`, escapes `\"` `\\` `\t`) at the start of `text`, and what follows.
fn string(text: &str) -> Result<(String, &str), String> {
    let Some(body) = text.strip_prefix('"') else {
        return Err(format!("expected a \"string\" at {text:?}"));
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('t') => out.push('\t'),
                other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
            },
            c if c.is_control() => return Err("a control character in a string".into()),
            c => out.push(c),
        }
    }
    Err("a string without its closing \"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: Value, line: usize) -> Entry {
        Entry {
            key: key.into(),
            value,
            line,
        }
    }

    #[test]
    fn parse_table() {
        let ok = parse(
            "# site defaults\n\nrcpt-to = \"probe@example.net\"  # ours\nrate = 50\n\
             scope = [\"192.0.2.0/24\", \"198.51.100.0/24\"]\nresolver = []\nhelo=\"a\\\"b\"\n",
        );
        assert_eq!(
            ok,
            Ok(vec![
                entry("rcpt-to", Value::Text("probe@example.net".into()), 3),
                entry("rate", Value::Number(50), 4),
                entry(
                    "scope",
                    Value::List(vec!["192.0.2.0/24".into(), "198.51.100.0/24".into()]),
                    5
                ),
                entry("resolver", Value::List(vec![]), 6),
                entry("helo", Value::Text("a\"b".into()), 7),
            ])
        );
        let bad: [(&str, usize, &str); 10] = [
            ("[scan]\n", 1, "tables"),
            ("\nrate\n", 2, "expected key = value"),
            ("rate = fast\n", 1, "rate: \"fast\" is not"),
            ("rate = -1\n", 1, "rate: \"-1\" is not"),
            ("rate = 1.5\n", 1, "is not"),
            ("helo = \"x\n", 1, "helo: a string without its closing"),
            ("scope = [\"a\"\n", 1, "scope: expected , or ]"),
            ("helo = \"x\" y\n", 1, "unexpected \"y\""),
            ("rate = 1\nrate = 2\n", 2, "rate: given twice"),
            ("a b = 1\n", 1, "is not a key"),
        ];
        for (text, line, problem) in bad {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text:?}: {e:?}");
            assert!(e.problem.contains(problem), "{text:?}: {e:?}");
        }
        assert_eq!(parse(&"#".repeat(MAX_BYTES + 1)).unwrap_err().line, 0);
    }
}
