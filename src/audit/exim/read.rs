//! Exim's configuration file as Exim reads it before parsing: comments, `\` continuations, macros (`NAME = value`, `==` to redefine), `.ifdef`/`.ifndef`/`.elifdef`/`.elifndef`/`.else`/`.endif`, and `.include`/`.include_if_exists` — each logical line kept with the file:line it starts on.
//!
//! Exim's rules (spec chapter 6): macro substitution runs on each physical line, for every
//! macro defined so far in the order of definition, before continuations are joined and
//! before `.include` is read; a macro is defined by a line that starts with an upper-case
//! letter in the main section or between drivers. Included files are looked for where the
//! name says, then (for a configuration copied elsewhere) beside the including file.

use crate::audit::ReadFile;
use crate::audit::model::{InputError, Location};

/// One macro: its name, its value, and the line that defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    pub name: String,
    pub value: String,
    pub at: Location,
}

/// One logical line after preprocessing, with the macros whose values it took in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub at: Location,
    /// The macros substituted into this line (their definitions locate what they bring).
    pub macros: Vec<Macro>,
}

/// Include depth beyond which `.include` loops are cut off (Exim's own limit is also small).
const MAX_INCLUDE_DEPTH: usize = 10;
/// Logical lines read at most, over all included files: Debian's whole template is ~2,000.
const MAX_LINES: usize = 200_000;

/// The preprocessed configuration: its logical lines, every macro, and notes on what could
/// not be read.
#[derive(Debug, Default)]
pub struct Preprocessed {
    pub lines: Vec<Line>,
    pub macros: Vec<Macro>,
    pub notes: Vec<String>,
    /// Every file read (name, text), for quoting lines as evidence.
    pub files: Vec<(String, String)>,
}

/// Reads `text` (the file `name`), starting with the macros in `seed` (Debian's
/// update-exim4.conf.conf values), reading included files through `read`. An included
/// file refused as input is an error at its `.include` line.
pub fn preprocess(
    name: &str,
    text: &str,
    seed: Vec<Macro>,
    read: &ReadFile<'_>,
) -> Result<Preprocessed, InputError> {
    let mut state = State {
        out: Preprocessed {
            macros: seed,
            ..Preprocessed::default()
        },
        conds: Vec::new(),
        read,
    };
    state.file(name, text, 0)?;
    if let Some(open) = state.conds.last() {
        return Err(InputError {
            location: open.at.clone(),
            message: "this conditional has no .endif".into(),
        });
    }
    Ok(state.out)
}

/// One open `.ifdef` … `.endif`.
struct Cond {
    /// Lines are kept in the current branch.
    active: bool,
    /// Some branch of this conditional was taken (later `.elif`/`.else` branches are not).
    taken: bool,
    /// The enclosing conditional was active.
    outer: bool,
    at: Location,
}

struct State<'a> {
    out: Preprocessed,
    conds: Vec<Cond>,
    read: &'a ReadFile<'a>,
}

impl State<'_> {
    fn active(&self) -> bool {
        self.conds.last().is_none_or(|c| c.active)
    }

    fn defined(&self, name: &str) -> bool {
        self.out.macros.iter().any(|m| m.name == name)
    }

    fn file(&mut self, name: &str, text: &str, depth: usize) -> Result<(), InputError> {
        self.out.files.push((name.to_string(), text.to_string()));
        let mut pending: Option<Line> = None;
        for (i, raw) in text.lines().enumerate() {
            let at = Location::at(name, i + 1);
            // `.ifdef NAME` tests the name itself: no substitution on conditional lines.
            let conditional = [".if", ".elif"]
                .iter()
                .any(|d| raw.trim_start().starts_with(d));
            let (expanded, used) = if self.active() && !conditional {
                self.substitute(raw)
            } else {
                (raw.to_string(), Vec::new())
            };
            // Continuation: a line ending in `\` joins the next, whose leading blanks go.
            let piece = match &pending {
                Some(_) => expanded.trim_start().to_string(),
                None => expanded.clone(),
            };
            let (piece, continues) = match piece.trim_end().strip_suffix('\\') {
                Some(head) => (head.to_string(), true),
                None => (piece, false),
            };
            let line = match pending.take() {
                Some(mut l) => {
                    l.text.push_str(&piece);
                    l.macros.extend(used);
                    l
                }
                None => {
                    // A comment line (first non-blank `#`) or a blank one ends nothing.
                    let t = piece.trim_start();
                    if t.is_empty() || t.starts_with('#') {
                        continue;
                    }
                    Line {
                        text: piece,
                        at,
                        macros: used,
                    }
                }
            };
            if continues {
                pending = Some(line);
                continue;
            }
            self.logical(line, depth)?;
        }
        if let Some(line) = pending {
            self.logical(line, depth)?;
        }
        Ok(())
    }

    /// Replaces every defined macro's name in `raw`, in the order of definition.
    fn substitute(&self, raw: &str) -> (String, Vec<Macro>) {
        let mut text = raw.to_string();
        let mut used = Vec::new();
        // A definition line is not substituted in its own name (`NAME == ...` redefines).
        let defining = definition(raw).map(|(n, _, _)| n.to_string());
        for m in &self.out.macros {
            if defining.as_deref() == Some(m.name.as_str()) || !text.contains(&m.name) {
                continue;
            }
            text = text.replace(&m.name, &m.value);
            used.push(m.clone());
        }
        (text, used)
    }

    fn logical(&mut self, line: Line, depth: usize) -> Result<(), InputError> {
        let t = line.text.trim();
        if let Some(directive) = t.strip_prefix('.') {
            let (word, arg) = directive
                .split_once(char::is_whitespace)
                .map(|(w, a)| (w, a.trim()))
                .unwrap_or((directive, ""));
            return self.directive(word, arg, &line, depth);
        }
        if !self.active() {
            return Ok(());
        }
        if let Some((name, value, redefine)) = definition(&line.text) {
            let m = Macro {
                name: name.to_string(),
                value: value.to_string(),
                at: line.at.clone(),
            };
            match self.out.macros.iter_mut().find(|x| x.name == name) {
                // `=` on a defined name is an error for Exim; the first value stays then.
                Some(old) if redefine => *old = m,
                Some(_) => {}
                None => self.out.macros.push(m),
            }
            return Ok(());
        }
        if self.out.lines.len() >= MAX_LINES {
            return Err(InputError {
                location: line.at,
                message: format!("more than {MAX_LINES} lines with the included files"),
            });
        }
        self.out.lines.push(line);
        Ok(())
    }

    fn directive(
        &mut self,
        word: &str,
        arg: &str,
        line: &Line,
        depth: usize,
    ) -> Result<(), InputError> {
        let bad = |message: &str| InputError {
            location: line.at.clone(),
            message: message.to_string(),
        };
        match word {
            "ifdef" | "ifndef" => {
                let outer = self.active();
                let yes = self.defined(arg) == (word == "ifdef");
                self.conds.push(Cond {
                    active: outer && yes,
                    taken: yes,
                    outer,
                    at: line.at.clone(),
                });
            }
            "elifdef" | "elifndef" => {
                let yes = self.defined(arg) == (word == "elifdef");
                let c = self
                    .conds
                    .last_mut()
                    .ok_or_else(|| bad(".elifdef without .ifdef"))?;
                c.active = c.outer && !c.taken && yes;
                c.taken |= yes;
            }
            "else" => {
                let c = self
                    .conds
                    .last_mut()
                    .ok_or_else(|| bad(".else without .ifdef"))?;
                c.active = c.outer && !c.taken;
                c.taken = true;
            }
            "endif" => {
                self.conds
                    .pop()
                    .ok_or_else(|| bad(".endif without .ifdef"))?;
            }
            "include" | "include_if_exists" if self.active() => {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(bad(&format!(
                        ".include nested deeper than {MAX_INCLUDE_DEPTH} files"
                    )));
                }
                let found = self
                    .included(arg, &line.at.file)
                    .map_err(|why| bad(&format!(".{word} {arg}: {why}")))?;
                match found {
                    Some((name, text)) => self.file(&name, &text, depth + 1)?,
                    None if word == "include" => self.out.notes.push(format!(
                        "{}: .include {arg}: cannot read it; its settings are not audited",
                        line.at
                    )),
                    None => {}
                }
            }
            "include" | "include_if_exists" => {}
            _ if self.active() => {
                return Err(bad(&format!("unknown directive .{word}")));
            }
            _ => {}
        }
        Ok(())
    }

    /// An included file's name and text: the path as written (relative to the including
    /// file), else the same file name beside the including file.
    fn included(&self, arg: &str, from: &str) -> Result<Option<(String, String)>, String> {
        crate::audit::read_near(self.read, arg.trim_matches('"'), from)
    }
}

/// `NAME = value` or `NAME == value` (a redefinition): the line starts with an upper-case
/// letter and the name is letters, digits and underscores.
pub fn definition(line: &str) -> Option<(&str, &str, bool)> {
    if !line.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let (value, redefine) = match rest.strip_prefix("==") {
        Some(v) => (v, true),
        None => (rest.strip_prefix('=')?, false),
    };
    Some((name, value.trim(), redefine))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn texts(p: &Preprocessed) -> Vec<(String, usize)> {
        p.lines
            .iter()
            .map(|l| (l.text.trim().to_string(), l.at.line.unwrap()))
            .collect()
    }

    #[test]
    fn macros_conditionals_and_continuations() {
        let text = "# a comment\nNETS = 192.0.2.0/24\n.ifdef NETS\nhostlist relay_from_hosts = NETS : \\\n   198.51.100.7\n.else\nhostlist relay_from_hosts = *\n.endif\n\
                    .ifndef NETS\nnever = 1\n.elifdef MISSING\nnever = 2\n.else\n  .ifdef NETS\n  yes = 1\n  .endif\n.endif\nNETS == 203.0.113.0/24\nagain = NETS\n";
        let p = preprocess("exim.conf", text, Vec::new(), &|_| Ok(None)).unwrap();
        assert_eq!(
            texts(&p),
            vec![
                (
                    "hostlist relay_from_hosts = 192.0.2.0/24 : 198.51.100.7".to_string(),
                    4
                ),
                ("yes = 1".into(), 15),
                ("again = 203.0.113.0/24".into(), 19),
            ]
        );
        assert_eq!(p.lines[0].macros[0].at, Location::at("exim.conf", 2));
        assert_eq!(p.lines[2].macros[0].at, Location::at("exim.conf", 18));
    }

    #[test]
    fn seeded_macros_win_over_ifndef_defaults() {
        let seed = vec![Macro {
            name: "MAIN_RELAY_NETS".into(),
            value: "0.0.0.0/0".into(),
            at: Location::at("update-exim4.conf.conf", 9),
        }];
        let text = ".ifndef MAIN_RELAY_NETS\nMAIN_RELAY_NETS = 127.0.0.1\n.endif\nhostlist relay_from_hosts = MAIN_RELAY_NETS\n";
        let p = preprocess("t", text, seed, &|_| Ok(None)).unwrap();
        assert_eq!(p.lines[0].text, "hostlist relay_from_hosts = 0.0.0.0/0");
        assert_eq!(p.lines[0].macros[0].at.file, "update-exim4.conf.conf");
    }

    #[test]
    fn includes_are_read_relative_then_beside() {
        let read = |p: &Path| {
            Ok(match p.to_str() {
                Some("conf/acl.inc") => Some("accept hosts = *\n".to_string()),
                Some("conf/local") => Some("x = 1\n".to_string()),
                _ => None,
            })
        };
        let text = ".include acl.inc\n.include_if_exists /etc/exim4/local\n.include_if_exists nothing\n.include /etc/exim4/gone\n";
        let p = preprocess("conf/exim4.conf", text, Vec::new(), &read).unwrap();
        assert_eq!(
            texts(&p),
            vec![("accept hosts = *".to_string(), 1), ("x = 1".into(), 1)]
        );
        assert_eq!(p.lines[0].at.file, "conf/acl.inc");
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
        assert!(p.notes[0].starts_with("conf/exim4.conf:4: .include /etc/exim4/gone"));
    }

    #[test]
    fn bad_conditionals_name_the_line() {
        let table = [
            (".endif\n", "t:1: .endif without .ifdef"),
            ("a = 1\n.ifdef X\n", "t:2: this conditional has no .endif"),
            (".frobnicate\n", "t:1: unknown directive .frobnicate"),
        ];
        for (text, want) in table {
            let e = preprocess("t", text, Vec::new(), &|_| Ok(None)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let looping = |_: &Path| Ok(Some(".include self\n".to_string()));
        let e = preprocess("t", ".include self\n", Vec::new(), &looping).unwrap_err();
        assert!(e.to_string().contains("nested deeper"), "{e}");
    }

    #[test]
    fn a_refused_include_is_an_error_at_its_line() {
        let refusing = |p: &Path| Err(format!("{}: not a regular file", p.display()));
        for word in ["include", "include_if_exists"] {
            let text = format!("x = 1\n.{word} /dev/zero\n");
            let e = preprocess("conf/exim4.conf", &text, Vec::new(), &refusing).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("conf/exim4.conf:2: .{word} /dev/zero: /dev/zero: not a regular file")
            );
        }
    }
}
