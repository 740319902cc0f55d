//! Postfix lookup tables named in restrictions (`check_sender_access hash:/etc/postfix/sender_access`, `inline:{ a=OK }`, `static:OK`): their entries, read from the table's source text.
//!
//! Reading a file is the caller's job (a closure), so the parsing here stays pure.

use super::ReadTable;

/// One table entry: the key as written and the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub action: String,
}

/// What a table holds, as far as a configuration audit can know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Table {
    /// `static:VALUE`: every lookup returns VALUE.
    Static(String),
    /// Entries read from the table's text (an inline table, or the source file of a
    /// hash/btree/lmdb/cdb/texthash/cidr/regexp/pcre table).
    Entries(Vec<Entry>),
    /// A table whose contents cannot be read from here (SQL, LDAP, a missing source file).
    Unknown(String),
    /// A source file refused as input (not a regular file, over the size cap): the
    /// configuration names something no table can be, an error for the audit to report.
    Refused(String),
}

/// Table types whose source is a text file of `key value` lines (or patterns) named after
/// the colon; for the indexed types the source is the file without `.db`/`.lmdb`/`.cdb`.
const FILE_TYPES: [&str; 12] = [
    "hash", "btree", "lmdb", "cdb", "dbm", "sdbm", "texthash", "cidr", "regexp", "pcre",
    "unionmap", "pipemap",
];

/// Resolves `type:name` using `read` for files. `unionmap`/`pipemap` are not followed.
pub fn load(spec: &str, read: &ReadTable<'_>) -> Table {
    let Some((kind, name)) = spec.split_once(':') else {
        return Table::Unknown(format!("{spec}: not a type:name table"));
    };
    match kind {
        "static" => Table::Static(
            name.trim_matches(|c| c == '{' || c == '}')
                .trim()
                .to_string(),
        ),
        "inline" => Table::Entries(inline(name)),
        "unionmap" | "pipemap" => {
            Table::Unknown(format!("{spec}: composite tables are not followed"))
        }
        k if FILE_TYPES.contains(&k) => match read(name) {
            Ok(Some(text)) => Table::Entries(source_entries(kind, &text)),
            Ok(None) => Table::Unknown(format!("{spec}: cannot read its source file {name}")),
            Err(why) => Table::Refused(format!("{spec}: {why}")),
        },
        _ => Table::Unknown(format!("{spec}: {kind} tables are not read by the audit")),
    }
}

/// `{ key=value, key2=value2 }`.
fn inline(body: &str) -> Vec<Entry> {
    let inner = body.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(',')
        .filter_map(|item| {
            let (k, v) = item.split_once('=')?;
            Some(Entry {
                key: k.trim().to_string(),
                action: v.trim().to_string(),
            })
        })
        .filter(|e| !e.key.is_empty())
        .collect()
}

/// The entries of a table source file: `key whitespace value`, comments and blank lines
/// skipped, continuation lines joined; regexp/pcre keys are the `/pattern/flags` part.
fn source_entries(kind: &str, text: &str) -> Vec<Entry> {
    // The logical-line rules are main.cf's; a table file that breaks them has no entries.
    let lines = super::params::logical_lines("table", text).unwrap_or_default();
    lines
        .into_iter()
        .filter_map(|l| {
            let t = l.text.trim();
            let (key, action) = if matches!(kind, "regexp" | "pcre") && t.starts_with('/') {
                let end = t[1..].find('/')? + 1;
                let rest = &t[end + 1..];
                let flags_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (&t[..end + 1 + flags_end], &rest[flags_end..])
            } else {
                t.split_once(char::is_whitespace)?
            };
            Some(Entry {
                key: key.trim().to_string(),
                action: action.trim().to_string(),
            })
        })
        .collect()
}

/// Whether an access(5) action lets the request through: `OK`, an all-numerical result, or
/// the `permit` restriction.
pub fn permits(action: &str) -> bool {
    let first = action.split_whitespace().next().unwrap_or("");
    first.eq_ignore_ascii_case("ok")
        || first.eq_ignore_ascii_case("permit")
        // An all-numerical result is OK (access(5)); 4NN and 5NN are reply codes.
        || (!first.is_empty()
            && first.chars().all(|c| c.is_ascii_digit())
            && !first.starts_with(['4', '5']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, action: &str) -> Entry {
        Entry {
            key: key.into(),
            action: action.into(),
        }
    }

    #[test]
    fn load_table() {
        let read = |name: &str| {
            Ok(match name {
                "/etc/postfix/sender_access" => Some(
                    "# trusted senders\nexample.com OK\nspammer@example.net REJECT go away\n\
                     partner.example   550\n"
                        .to_string(),
                ),
                "/etc/postfix/helo.pcre" => Some("/^mx\\.example\\.com$/i OK\n".to_string()),
                "/dev/zero" => Err("/dev/zero: not a regular file".to_string())?,
                _ => None,
            })
        };
        let table = [
            (
                "hash:/etc/postfix/sender_access",
                Table::Entries(vec![
                    entry("example.com", "OK"),
                    entry("spammer@example.net", "REJECT go away"),
                    entry("partner.example", "550"),
                ]),
            ),
            (
                "pcre:/etc/postfix/helo.pcre",
                Table::Entries(vec![entry("/^mx\\.example\\.com$/i", "OK")]),
            ),
            (
                "inline:{ sender-trusting.postfix.test=OK, b.example = REJECT }",
                Table::Entries(vec![
                    entry("sender-trusting.postfix.test", "OK"),
                    entry("b.example", "REJECT"),
                ]),
            ),
            ("static:OK", Table::Static("OK".into())),
            ("static:{ OK }", Table::Static("OK".into())),
        ];
        for (spec, want) in table {
            assert_eq!(load(spec, &read), want, "{spec}");
        }
        for spec in ["hash:/missing", "mysql:/etc/postfix/m.cf", "nonsense"] {
            assert!(matches!(load(spec, &read), Table::Unknown(_)), "{spec}");
        }
        assert_eq!(
            load("hash:/dev/zero", &read),
            Table::Refused("hash:/dev/zero: /dev/zero: not a regular file".into())
        );
    }

    #[test]
    fn permits_table() {
        for (action, want) in [
            ("OK", true),
            ("ok", true),
            ("permit", true),
            ("200", true),
            ("550", false),
            ("REJECT", false),
            ("550 5.7.1 no", false),
            ("DUNNO", false),
            ("", false),
        ] {
            assert_eq!(permits(action), want, "{action:?}");
        }
    }
}
