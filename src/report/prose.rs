//! Remediation prose split into words and code, so that the HTML report can set code in `<code>` and the Markdown report in code spans instead of showing literal backticks. Pure.
//!
//! The catalogue writes code between backticks (`` `postfix reload` ``). Sendmail's m4
//! quotes a word as `` `word' ``, so an m4 call (`` FEATURE(`relay_hosts_only') ``) is
//! taken whole, from its name to its closing parenthesis, as one piece of code. A test
//! holds every remediation text of the catalogue to this: no backtick is left in words.

/// A piece of a remediation text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Words(&'a str),
    Code(&'a str),
}

/// Splits `text` into words and code, in order; empty words are left out. A backtick
/// without a partner stays in the words, as written.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut words_from = 0;
    let mut i = 0;
    fn push<'a>(out: &mut Vec<Piece<'a>>, text: &'a str, from: usize, to: usize) {
        if from < to {
            out.push(Piece::Words(&text[from..to]));
        }
    }
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        if let Some((start, end)) = m4_call(b, words_from, i) {
            push(&mut out, text, words_from, start);
            out.push(Piece::Code(&text[start..=end]));
            i = end + 1;
            words_from = i;
            continue;
        }
        match text[i + 1..].find('`') {
            Some(len) => {
                push(&mut out, text, words_from, i);
                out.push(Piece::Code(&text[i + 1..i + 1 + len]));
                i += len + 2;
                words_from = i;
            }
            None => break,
        }
    }
    push(&mut out, text, words_from, b.len());
    out
}

/// The m4 call whose quote opens at `tick` (`NAME(` just before it, the name starting at or
/// after `from`): the byte range from the name to the matching `)`.
fn m4_call(b: &[u8], from: usize, tick: usize) -> Option<(usize, usize)> {
    let paren = tick.checked_sub(1).filter(|&p| b[p] == b'(')?;
    let mut start = paren;
    while start > from && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
        start -= 1;
    }
    if start == paren {
        return None;
    }
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(paren) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, j));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Piece::{Code, Words};
    use super::*;
    use crate::assess::domain::DomainFindingId;
    use crate::assess::{FindingId, Mta, remediation};

    #[test]
    fn pieces_table() {
        let table: [(&str, &[Piece]); 8] = [
            ("plain words", &[Words("plain words")]),
            (
                "set `a = b`, then `postfix reload`.",
                &[
                    Words("set "),
                    Code("a = b"),
                    Words(", then "),
                    Code("postfix reload"),
                    Words("."),
                ],
            ),
            (
                "use FEATURE(`relay_hosts_only') and",
                &[
                    Words("use "),
                    Code("FEATURE(`relay_hosts_only')"),
                    Words(" and"),
                ],
            ),
            (
                "add `p` (define(`confAUTH_OPTIONS', `A p')) so",
                &[
                    Words("add "),
                    Code("p"),
                    Words(" ("),
                    Code("define(`confAUTH_OPTIONS', `A p')"),
                    Words(") so"),
                ],
            ),
            ("`only code`", &[Code("only code")]),
            ("a lone ` tick", &[Words("a lone ` tick")]),
            (
                "(`not a call`)",
                &[Words("("), Code("not a call"), Words(")")],
            ),
            (
                "NAME(`never closed'",
                &[Words("NAME("), Words("`never closed'")],
            ),
        ];
        for (text, want) in table {
            let got = pieces(text);
            // Words next to words are the same text; compare the joined words too.
            let joined = |p: &[Piece]| -> Vec<String> {
                let mut out: Vec<String> = Vec::new();
                let mut words = String::new();
                for piece in p {
                    match piece {
                        Words(w) => words.push_str(w),
                        Code(c) => {
                            if !words.is_empty() {
                                out.push(std::mem::take(&mut words));
                            }
                            out.push(format!("<{c}>"));
                        }
                    }
                }
                if !words.is_empty() {
                    out.push(words);
                }
                out
            };
            assert_eq!(joined(&got), joined(want), "{text:?}: {got:?}");
        }
    }

    /// Every remediation of the catalogues, for every software: no backtick is left in
    /// the words, so none shows as a literal backtick in a report.
    #[test]
    fn every_remediation_splits_cleanly() {
        let mut texts: Vec<String> = Vec::new();
        for id in FindingId::ALL {
            for mta in Mta::ALL {
                texts.push(remediation(id, mta));
            }
        }
        texts.extend(
            DomainFindingId::ALL
                .iter()
                .map(|id| id.remediation().to_string()),
        );
        let mut code = 0;
        for text in &texts {
            for piece in pieces(text) {
                match piece {
                    Words(w) => assert!(!w.contains('`'), "{w:?} in {text:?}"),
                    Code(c) => {
                        code += 1;
                        assert!(!c.is_empty(), "{text:?}");
                    }
                }
            }
        }
        assert!(code > 50, "{code} code pieces");
    }
}
