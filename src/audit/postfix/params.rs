//! Postfix parameters: main.cf (or `postconf -n` output) read into name → value with the line it came from, `$name` expansion, and Postfix's defaults for absent names by compatibility level.
//!
//! Syntax (postconf(5)): blank lines and lines whose first non-blank character is `#` are
//! ignored; a logical line starts with non-blank text and continues on lines that start with
//! white space; `#` elsewhere is not a comment. A later `name = value` replaces an earlier one.

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};

use crate::audit::model::{InputError, Location};
use crate::input::size_label;

/// One logical line: its text with continuations joined by a space, and its first line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    pub line: usize,
    pub text: String,
    /// The physical line each whitespace-separated word of `text` starts on.
    pub word_lines: Vec<usize>,
}

/// Splits Postfix configuration text (main.cf and master.cf alike) into logical lines.
/// A continuation line before any logical line is an error, as it is for Postfix.
pub fn logical_lines(file: &str, text: &str) -> Result<Vec<LogicalLine>, InputError> {
    let mut out: Vec<LogicalLine> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let continues = raw.starts_with([' ', '\t']);
        if continues {
            let Some(last) = out.last_mut() else {
                return Err(InputError::new(
                    file,
                    n,
                    "a line that starts with white space continues a setting, but none came before",
                ));
            };
            last.text.push(' ');
            last.text.push_str(trimmed);
            last.word_lines
                .extend(std::iter::repeat_n(n, trimmed.split_whitespace().count()));
        } else {
            out.push(LogicalLine {
                line: n,
                text: trimmed.to_string(),
                word_lines: vec![n; trimmed.split_whitespace().count()],
            });
        }
    }
    Ok(out)
}

/// A parameter's value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub value: String,
    pub at: Location,
    /// The setting as written, for the evidence: `name = value` or `-o name=value`.
    pub source: String,
}

/// The explicit settings of one Postfix instance (main.cf, plus a service's `-o` overrides),
/// and the file whose defaults apply to the rest.
#[derive(Debug, Clone)]
pub struct Params {
    set: HashMap<String, Param>,
    /// The main.cf name, for locating defaults.
    pub main_file: String,
    /// The first expansion that hit a cap, kept for [`Params::cap_hit`]: reading a value
    /// never fails, so that the checks stay simple, and the audit reports this instead.
    cap_hit: OnceCell<InputError>,
}

/// The caps on expanding one parameter's value. Each `$name` expands the named value in
/// full, so nesting multiplies: 21 lines of `pN = $pN-1 $pN-1 $pN-1 $pN-1` make 4^20 copies.
/// Postfix would try to build them all; the audit stops at the first cap and reports it.
///
/// The longest value the audit keeps: a real mynetworks or restriction list is a few KiB,
/// and a value over 1 MiB is not a list any smtpd reads in practice.
pub const MAX_EXPANDED_BYTES: usize = 1024 * 1024;
/// The most `$name` references one value may expand, counting nested ones. Postfix 3.7
/// knows 1,043 parameters (`postconf -d | wc -l`), and Debian's main.cf expands at most a
/// handful per value: 10,000 lets a value name every parameter ten times over, and costs
/// the audit milliseconds at worst.
pub const MAX_EXPANSIONS: usize = 10_000;
/// The deepest nesting of references: deeper is a loop (`a = $b`, `b = $a`), which Postfix
/// also refuses ("unreasonable macro call nesting").
pub const MAX_DEPTH: usize = 20;
/// The most bytes of parameter text one expansion may walk: four times the input cap, so
/// every byte of the largest main.cf may be walked four times, while a value that makes
/// the audit rescan a large one again and again is cut off.
pub const MAX_WALKED_BYTES: usize = 4 * crate::input::MAX_INPUT_FILE_BYTES as usize;

/// Which cap an expansion hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    Bytes,
    Expansions,
    Depth,
    Walked,
}

impl Cap {
    fn describe(self) -> String {
        match self {
            Cap::Bytes => format!(
                "its expanded value grows past {}, the cap on one expanded value",
                size_label(MAX_EXPANDED_BYTES as u64)
            ),
            Cap::Expansions => format!(
                "its value takes more than {MAX_EXPANSIONS} `$name` expansions, the cap on one value"
            ),
            Cap::Depth => format!(
                "its `$name` references nest deeper than {MAX_DEPTH}, the cap on nesting (a \
                 loop such as `a = $b`, `b = $a` never ends)"
            ),
            Cap::Walked => format!(
                "expanding it walks more than {} of parameter text, the cap on one value",
                size_label(MAX_WALKED_BYTES as u64)
            ),
        }
    }
}

/// A cap hit inside an expansion, and the outermost explicitly set parameter on the way
/// to it (the one to blame: the setting someone wrote).
#[derive(Debug)]
struct Hit {
    cap: Cap,
    owner: Option<String>,
}

/// What one expansion has spent so far.
#[derive(Debug, Default)]
struct Budget {
    expansions: usize,
    walked: usize,
}

impl Params {
    /// Reads main.cf or `postconf -n` output.
    pub fn parse(file: &str, text: &str) -> Result<Params, InputError> {
        let mut set = HashMap::new();
        for l in logical_lines(file, text)? {
            let Some((name, value)) = l.text.split_once('=') else {
                return Err(InputError::new(
                    file,
                    l.line,
                    format!("{:?}: expected `name = value`", l.text),
                ));
            };
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(InputError::new(
                    file,
                    l.line,
                    format!("{name:?} is not a parameter name"),
                ));
            }
            set.insert(
                name.to_string(),
                Param {
                    value: value.trim().to_string(),
                    at: Location::at(file, l.line),
                    source: l.text.clone(),
                },
            );
        }
        Ok(Params {
            set,
            main_file: file.to_string(),
            cap_hit: OnceCell::new(),
        })
    }

    /// An empty instance (every parameter at its default), for tests and `master.cf` alone.
    pub fn empty(main_file: &str) -> Params {
        Params {
            set: HashMap::new(),
            main_file: main_file.to_string(),
            cap_hit: OnceCell::new(),
        }
    }

    /// Sets `name` as a master.cf `-o` override does.
    pub fn set(&mut self, name: &str, param: Param) {
        self.set.insert(name.to_string(), param);
    }

    /// The explicit setting, if any.
    pub fn explicit(&self, name: &str) -> Option<&Param> {
        self.set.get(name)
    }

    /// Where `name` comes from: its line, or main.cf's defaults.
    pub fn location(&self, name: &str) -> Location {
        self.set
            .get(name)
            .map_or_else(|| Location::default_in(&self.main_file), |p| p.at.clone())
    }

    /// The evidence line for `name`: as written, or `name = DEFAULT (default)`.
    pub fn evidence(&self, name: &str) -> String {
        match self.set.get(name) {
            Some(p) => format!("{}: {}", p.at, p.source),
            None => format!(
                "{}: {name} = {} (not set: Postfix's default)",
                Location::default_in(&self.main_file),
                self.raw(name).unwrap_or_default()
            ),
        }
    }

    /// The unexpanded value: explicit, else Postfix's default.
    pub fn raw(&self, name: &str) -> Option<String> {
        Some(self.raw_str(name).to_string())
    }

    fn raw_str(&self, name: &str) -> &str {
        match self.set.get(name) {
            Some(p) => &p.value,
            None => self.default(name),
        }
    }

    /// The value with `$name`, `${name}`, `$(name)`, `${name?text}` and `${name:text}` expanded,
    /// and every parameter name the expansion looked at. A value that hits a cap is cut
    /// off there (at most [`MAX_EXPANDED_BYTES`]) and the hit is kept for [`Params::cap_hit`].
    pub fn expanded(&self, name: &str) -> (String, BTreeSet<String>) {
        self.expand_text(self.raw_str(name), name)
    }

    /// `text` expanded as the value of parameter `owner` would be (a restriction list's
    /// text, read once and expanded here); a cap hit is blamed on `owner` unless an
    /// explicit setting on the way is to blame.
    pub fn expand_text(&self, text: &str, owner: &str) -> (String, BTreeSet<String>) {
        let mut out = String::new();
        let mut refs = BTreeSet::new();
        let mut budget = Budget::default();
        let explicit = self.set.contains_key(owner).then_some(owner);
        if let Err(hit) = self.expand_into(text, explicit, &mut out, &mut refs, &mut budget, 0) {
            let blamed = hit.owner.as_deref().unwrap_or(owner);
            let _ = self.cap_hit.set(InputError {
                location: self.location(blamed),
                message: format!("{blamed}: {}", hit.cap.describe()),
            });
        }
        (out, refs)
    }

    /// The first value whose expansion hit a cap, as an error at the setting to blame.
    pub fn cap_hit(&self) -> Option<&InputError> {
        self.cap_hit.get()
    }

    /// The expanded value of `name`.
    pub fn get(&self, name: &str) -> String {
        self.expanded(name).0
    }

    /// A boolean parameter as Postfix reads it (`yes`/`true`, case-insensitive).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name).to_ascii_lowercase().as_str(), "yes" | "true")
    }

    /// `compatibility_level` as (major, minor): `2` → (2, 0), `3.6` → (3, 6); 0 when unset.
    pub fn compatibility_level(&self) -> (u32, u32) {
        let raw = self
            .set
            .get("compatibility_level")
            .map(|p| p.value.clone())
            .unwrap_or_default();
        let mut parts = raw.trim().split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (major, minor)
    }

    /// Postfix 3.7's defaults (`postconf -d`) for the parameters the checks read; the
    /// compatibility-level switches follow postconf(5).
    fn default(&self, name: &str) -> &'static str {
        let level = self.compatibility_level();
        match name {
            "compatibility_level" => "0",
            "mynetworks_style" if level < (2, 0) => "subnet",
            "mynetworks_style" => "host",
            "relay_domains" if level < (2, 0) => "$mydestination",
            "smtpd_relay_restrictions" if level < (1, 0) => "",
            "smtpd_relay_restrictions" => {
                "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"
            }
            "mydestination" => "$myhostname, localhost.$mydomain, localhost",
            "myhostname" => "localhost.localdomain",
            "mydomain" => "localdomain",
            "mail_name" => "Postfix",
            "mail_version" => "3.7",
            "smtpd_banner" => "$myhostname ESMTP $mail_name",
            "disable_vrfy_command"
            | "smtpd_tls_auth_only"
            | "smtpd_sasl_auth_enable"
            | "smtpd_tls_wrappermode"
            | "smtpd_enforce_tls" => "no",
            "smtpd_client_connection_rate_limit" | "smtpd_client_message_rate_limit" => "0",
            "smtpd_sasl_security_options" => "noanonymous",
            "inet_interfaces" => "all",
            _ => "",
        }
    }

    /// Appends `text`, expanded, to `out`. `owner` is the outermost explicit parameter
    /// being expanded, for the blame when a cap is hit.
    fn expand_into(
        &self,
        text: &str,
        owner: Option<&str>,
        out: &mut String,
        refs: &mut BTreeSet<String>,
        budget: &mut Budget,
        depth: usize,
    ) -> Result<(), Hit> {
        let hit = |cap| Hit {
            cap,
            owner: owner.map(String::from),
        };
        if depth > MAX_DEPTH {
            return Err(hit(Cap::Depth));
        }
        budget.walked += text.len();
        if budget.walked > MAX_WALKED_BYTES {
            return Err(hit(Cap::Walked));
        }
        let push = |out: &mut String, piece: &str| {
            if out.len() + piece.len() > MAX_EXPANDED_BYTES {
                return Err(hit(Cap::Bytes));
            }
            out.push_str(piece);
            Ok(())
        };
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            push(out, &rest[..pos])?;
            let after = &rest[pos + 1..];
            let (name, condition, consumed) = reference(after);
            if name.is_empty() {
                if after.starts_with(['{', '(']) && consumed == 0 {
                    // An unclosed `${`: its search for the close walked the rest of the text.
                    budget.walked += after.len();
                    if budget.walked > MAX_WALKED_BYTES {
                        return Err(hit(Cap::Walked));
                    }
                }
                // `$$` is a literal dollar; a lone `$` stays as it is.
                push(out, "$")?;
                rest = after.strip_prefix('$').unwrap_or(after);
                continue;
            }
            budget.expansions += 1;
            if budget.expansions > MAX_EXPANSIONS {
                return Err(hit(Cap::Expansions));
            }
            if !refs.contains(name) {
                refs.insert(name.to_string());
            }
            let inner = owner.or(self.set.contains_key(name).then_some(name));
            let value = self.raw_str(name);
            match condition {
                None => self.expand_into(value, inner, out, refs, budget, depth + 1)?,
                Some((op, t)) => {
                    // The value decides whether `text` is used; it is not itself kept.
                    let mark = out.len();
                    self.expand_into(value, inner, out, refs, budget, depth + 1)?;
                    let empty = out.len() == mark;
                    out.truncate(mark);
                    if (op == '?') != empty {
                        self.expand_into(t, owner, out, refs, budget, depth + 1)?;
                    }
                }
            }
            rest = &after[consumed..];
        }
        push(out, rest)
    }
}

/// After a `$`: the name, an optional `?text` / `:text` condition, and the bytes consumed.
fn reference(after: &str) -> (&str, Option<(char, &str)>, usize) {
    let close = match after.chars().next() {
        Some('{') => '}',
        Some('(') => ')',
        _ => {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            return (&after[..len], None, len);
        }
    };
    let inner_start = 1;
    let Some(end) = after[inner_start..].find(close) else {
        return ("", None, 0);
    };
    let inner = &after[inner_start..inner_start + end];
    let consumed = inner_start + end + 1;
    match inner.find(['?', ':']) {
        Some(i) => {
            let op = if inner.as_bytes().get(i) == Some(&b'?') {
                '?'
            } else {
                ':'
            };
            let text = inner[i + 1..].trim_matches(|c| c == '{' || c == '}');
            (inner[..i].trim(), Some((op, text)), consumed)
        }
        None => (inner.trim(), None, consumed),
    }
}

/// Splits a Postfix list value on commas and white space, keeping `{ ... }` groups (inline
/// tables, `-o { name = value }`) whole.
pub fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' | ' ' | '\t' | '\n' | '\r' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_lines_join_continuations_and_skip_comments() {
        let text = "# header\n\nmynetworks = 127.0.0.0/8,\n    [::1]/128\n# between\n\tfd00::/8\nbiff = no # not a comment\n";
        let lines = logical_lines("main.cf", text).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].line, 3);
        assert_eq!(
            lines[0].text,
            "mynetworks = 127.0.0.0/8, [::1]/128 fd00::/8"
        );
        assert_eq!(lines[0].word_lines, vec![3, 3, 3, 4, 6]);
        assert_eq!(lines[1].text, "biff = no # not a comment");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let table = [
            ("  orphan = 1\n", 1, "continues a setting"),
            ("a = 1\nnot a setting\n", 2, "expected `name = value`"),
            ("a = 1\nbad name! = 2\n", 2, "is not a parameter name"),
        ];
        for (text, line, needle) in table {
            let e = Params::parse("main.cf", text).unwrap_err();
            assert_eq!(e.location, Location::at("main.cf", line), "{text:?}");
            assert!(
                e.to_string().starts_with(&format!("main.cf:{line}: ")),
                "{e}"
            );
            assert!(e.message.contains(needle), "{e}");
        }
    }

    #[test]
    fn later_settings_win_and_keep_their_line() {
        let p = Params::parse("main.cf", "a = 1\nb = 2\na = 3\n").unwrap();
        assert_eq!(p.get("a"), "3");
        assert_eq!(p.location("a"), Location::at("main.cf", 3));
        assert_eq!(p.location("zzz"), Location::default_in("main.cf"));
    }

    #[test]
    fn expansion_table() {
        let p = Params::parse(
            "main.cf",
            "myhostname = mx.example.com\nmydomain = example.com\nempty =\n\
             banner1 = $myhostname ESMTP $mail_name ($mail_version)\n\
             banner2 = ${myhostname} $(mydomain)\n\
             cond1 = ${mydomain?yes}${empty?no}\ncond2 = ${empty:fallback}${mydomain:x}\n\
             loop1 = $loop2\nloop2 = $loop1\ndollar = a$$b\nindirect = $banner1\n",
        )
        .unwrap();
        let table = [
            ("banner1", "mx.example.com ESMTP Postfix (3.7)"),
            ("banner2", "mx.example.com example.com"),
            ("cond1", "yes"),
            ("cond2", "fallback"),
            ("dollar", "a$b"),
        ];
        for (name, want) in table {
            assert_eq!(p.get(name), want, "{name}");
        }
        assert!(p.expanded("indirect").1.contains("mail_version"));
        assert!(!p.expanded("banner2").1.contains("mail_version"));
        assert!(p.cap_hit().is_none());
        // A reference loop ends (it does not hang or overflow), and is reported.
        let _ = p.get("loop1");
        assert_eq!(p.cap_hit().unwrap().location, Location::at("main.cf", 8));
    }

    #[test]
    fn expansion_caps_table() {
        // 21 lines, each four references to the one before: 4^20 copies of p0 if expanded.
        let chain: String = (1..=20)
            .map(|i| format!("p{i} = $p{j} $p{j} $p{j} $p{j}\n", j = i - 1))
            .collect();
        let quadruple = format!("p0 = 192.0.2.0/24\n{chain}mynetworks = $p20\n");
        // Ten levels nest within the cap and still make 4^10 copies.
        let shallow: String = (1..=10)
            .map(|i| format!("p{i} = $p{j} $p{j} $p{j} $p{j}\n", j = i - 1))
            .collect();
        let shallow = format!("p0 = 192.0.2.0/24\n{shallow}mynetworks = $p10\n");
        let big = "x".repeat(600_000);
        let unclosed = format!("${{x?{}}}", "y".repeat(4 << 20));
        let walk_again = "$c ".repeat(20);
        let table: Vec<(String, &str, Location, Cap)> = vec![
            (
                quadruple,
                "mynetworks",
                Location::at("main.cf", 22),
                Cap::Depth,
            ),
            (
                shallow,
                "mynetworks",
                Location::at("main.cf", 12),
                Cap::Expansions,
            ),
            (
                "a = $b $b\nb = $a $a\nmynetworks = $a\n".into(),
                "mynetworks",
                Location::at("main.cf", 3),
                Cap::Depth,
            ),
            (
                "loop1 = $loop2\nloop2 = $loop1\n".into(),
                "loop1",
                Location::at("main.cf", 1),
                Cap::Depth,
            ),
            (
                format!("big = {big}\nwide = $big $big\n"),
                "wide",
                Location::at("main.cf", 2),
                Cap::Bytes,
            ),
            // Blamed on the explicit setting on the way, not the default that names it.
            (
                format!("mydestination = $big $big\nbig = {big}\n"),
                "relay_domains",
                Location::at("main.cf", 1),
                Cap::Bytes,
            ),
            (
                format!("c = {unclosed}\nw = {walk_again}\n"),
                "w",
                Location::at("main.cf", 2),
                Cap::Walked,
            ),
        ];
        for (text, name, at, cap) in table {
            let p = Params::parse("main.cf", &text).unwrap();
            let value = p.get(name);
            assert!(value.len() <= MAX_EXPANDED_BYTES, "{name}: {}", value.len());
            let hit = p.cap_hit().unwrap_or_else(|| panic!("{name}: no cap hit"));
            assert_eq!(hit.location, at, "{name}");
            assert!(
                hit.message.ends_with(&cap.describe()),
                "{name}: {} (want {cap:?})",
                hit.message
            );
        }
        // The messages name the numbers.
        let p = Params::parse("main.cf", "a = $b $b\nb = $a $a\nmynetworks = $a\n").unwrap();
        let _ = p.get("mynetworks");
        assert_eq!(
            p.cap_hit().unwrap().to_string(),
            "main.cf:3: mynetworks: its `$name` references nest deeper than 20, the cap on \
             nesting (a loop such as `a = $b`, `b = $a` never ends)"
        );
    }

    #[test]
    fn defaults_follow_the_compatibility_level() {
        let table = [
            ("", "subnet", "$mydestination", ""),
            (
                "compatibility_level = 1",
                "subnet",
                "$mydestination",
                "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
            ),
            (
                "compatibility_level = 2",
                "host",
                "",
                "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
            ),
            (
                "compatibility_level = 3.6",
                "host",
                "",
                "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
            ),
        ];
        for (text, style, relay, restrictions) in table {
            let p = Params::parse("main.cf", text).unwrap();
            assert_eq!(p.raw("mynetworks_style").unwrap(), style, "{text}");
            assert_eq!(p.raw("relay_domains").unwrap(), relay, "{text}");
            assert_eq!(
                p.raw("smtpd_relay_restrictions").unwrap(),
                restrictions,
                "{text}"
            );
        }
    }

    #[test]
    fn split_list_keeps_brace_groups() {
        assert_eq!(
            split_list(
                "permit_mynetworks,check_sender_access inline:{ a.example=OK, b=OK },\n reject"
            ),
            vec![
                "permit_mynetworks",
                "check_sender_access",
                "inline:{ a.example=OK, b=OK }",
                "reject"
            ]
        );
        assert!(split_list(" , ").is_empty());
    }
}
