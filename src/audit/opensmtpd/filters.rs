//! What stands between a stranger and OpenSMTPD's `match` rules: a listener that demands AUTH (`listen on ... auth`), and built-in filters (`filter NAME phase PHASE match CONDITIONS reject|disconnect "CODE text"`, and chains of them) attached to the listener that refuse or defer every stranger before its recipient is taken.
//!
//! smtpd.conf(5): a built-in filter's conditions are `[!] src`, `rdns`, `fcrdns`, `helo`,
//! `auth`, `mail-from`, `rcpt-to`, ...; it acts only on the listeners that name it (or a
//! chain holding it). For the stranger `!src <trusted>` holds, `auth` does not, and what it
//! writes itself (HELO, sender, recipient) or may or may not have (a PTR record) is its
//! choice, so a filter on those never surely stops it.

use std::net::IpAddr;

use super::{Statement, Table, Val};
use crate::audit::model::Location;
use crate::audit::networks::{Reach, parse_network, reach};

/// The phases up to the recipient: a refusal there comes before any relaying.
const EARLY_PHASES: [&str; 6] = ["connect", "helo", "ehlo", "auth", "mail-from", "rcpt-to"];
/// The decisions that end the transaction.
const STOPS: [&str; 2] = ["reject", "disconnect"];
const DECISIONS: [&str; 6] = [
    "bypass",
    "disconnect",
    "junk",
    "reject",
    "rewrite",
    "report",
];
const CONDITIONS: [&str; 9] = [
    "src",
    "rdns",
    "fcrdns",
    "helo",
    "auth",
    "mail-from",
    "rcpt-to",
    "data",
    "commit",
];

/// One filter definition.
#[derive(Debug, Clone)]
pub(super) enum Def {
    /// A built-in filter that stops every stranger: where, and the reply it gives.
    Stops { at: Location, reply: String },
    /// A built-in filter a stranger can pass, or a filter process (not judged).
    Passes,
    /// `filter NAME chain { a, b }`.
    Chain(Vec<String>),
}

/// The filter a `filter` statement defines, judged for the stranger.
pub(super) fn define<'t>(
    st: &Statement,
    table: &dyn Fn(&str) -> Option<&'t Table>,
) -> Option<(String, Def)> {
    let w = &st.words;
    let name = w.get(1)?.trim_matches('"').to_string();
    match w.get(2).map(String::as_str) {
        Some("chain") => {
            let members = w[3..]
                .iter()
                .filter(|x| !matches!(x.as_str(), "{" | "}" | ","))
                .map(|x| x.trim_matches('"').to_string())
                .collect();
            Some((name, Def::Chain(members)))
        }
        Some("phase") => {
            let phase = w.get(3).map(String::as_str).unwrap_or("");
            let start = w.iter().position(|x| x == "match")? + 1;
            let end = start
                + w[start..]
                    .iter()
                    .position(|x| DECISIONS.contains(&x.as_str()))?;
            let decision = w[end].as_str();
            let all_hold = conditions(&w[start..end])
                .iter()
                .all(|c| judge(c, table) == Val::Always);
            let stops = EARLY_PHASES.contains(&phase) && STOPS.contains(&decision) && all_hold;
            let reply = w
                .get(end + 1)
                .map(|r| r.trim_matches('"').to_string())
                .unwrap_or_default();
            let def = if stops {
                Def::Stops {
                    at: st.at.clone(),
                    reply,
                }
            } else {
                Def::Passes
            };
            Some((name, def))
        }
        _ => Some((name, Def::Passes)),
    }
}

/// One condition: `[!] KEYWORD [regex] [VALUE]`.
struct Condition<'a> {
    negated: bool,
    keyword: &'a str,
    value: Option<&'a str>,
}

fn conditions(words: &[String]) -> Vec<Condition<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let negated = words[i] == "!";
        if negated {
            i += 1;
        }
        let Some(keyword) = words.get(i) else { break };
        i += 1;
        if words.get(i).is_some_and(|x| x == "regex") {
            i += 1;
        }
        let value = words
            .get(i)
            .filter(|x| *x != "!" && !CONDITIONS.contains(&x.as_str()))
            .map(String::as_str);
        if value.is_some() {
            i += 1;
        }
        out.push(Condition {
            negated,
            keyword,
            value,
        });
    }
    out
}

fn judge<'t>(c: &Condition<'_>, table: &dyn Fn(&str) -> Option<&'t Table>) -> Val {
    let val = match c.keyword {
        "src" => {
            let everyone = |e: &str| {
                parse_network(e).is_some_and(|(a, l): (IpAddr, u8)| reach(a, l) == Reach::Everyone)
            };
            let value = c.value.unwrap_or("");
            let any = match value.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
                Some(name) => {
                    table(name).is_some_and(|t| t.entries.iter().any(|(e, _)| everyone(e)))
                }
                None => everyone(value.trim_matches('"')),
            };
            if any { Val::Always } else { Val::Never }
        }
        "auth" => Val::Never,
        _ => Val::Chooses,
    };
    match (c.negated, val) {
        (true, Val::Always) => Val::Never,
        (true, Val::Never) => Val::Always,
        (_, v) => v,
    }
}

/// The filter that stops every stranger on this listener, if one does: the listener's
/// `filter NAME`, a chain's members followed.
pub(super) fn stopping<'d>(
    listener: &Statement,
    defs: &'d [(String, Def)],
) -> Option<(&'d Location, &'d str)> {
    let w = &listener.words;
    let named = w
        .iter()
        .position(|x| x == "filter")
        .and_then(|i| w.get(i + 1))?
        .trim_matches('"');
    let mut pending = vec![named.to_string()];
    let mut seen = 0;
    // Chains nest rarely; 64 lookups bound a loop of chains naming each other.
    while let Some(name) = pending.pop().filter(|_| seen < 64) {
        seen += 1;
        match defs.iter().rev().find(|(n, _)| *n == name).map(|(_, d)| d) {
            Some(Def::Stops { at, reply }) => return Some((at, reply)),
            Some(Def::Chain(members)) => pending.extend(members.iter().cloned()),
            _ => {}
        }
    }
    None
}
