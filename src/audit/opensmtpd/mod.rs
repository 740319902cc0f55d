//! The OpenSMTPD checks: smtpd.conf (OpenSMTPD 6.4 and later) read as smtpd reads it — macros, `include`, tables, `listen on`, `action`, and the `match` rules judged in order for a stranger sending to a foreign domain; each finding at its line.
//!
//! smtpd.conf(5): the first `match` whose options all hold decides; `from local` and
//! `for local` are the defaults; a `match` whose action relays (`action "x" relay ...`) and
//! that holds for a client from anywhere sending anywhere makes an open relay.
//! `from mail-from` and `helo` hold for whoever writes that sender or HELO, `tls` for whoever
//! starts TLS; `auth` never holds for a stranger. A match nobody's envelope fits is refused.

mod filters;

use super::ReadFile;
use super::model::{AuditFinding, AuditReport, InputError, Location, Source, Trusted};
use super::networks::{Reach, parse_network, reach};
use crate::assess::{FindingId, Mta};
use std::net::IpAddr;

/// Include depth beyond which `include` loops are cut off.
const MAX_INCLUDE_DEPTH: usize = 10;

/// One logical line, tokenised, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    words: Vec<String>,
    at: Location,
    text: String,
}

/// A table: its entries, each with the line it was written on.
#[derive(Debug, Clone)]
struct Table {
    entries: Vec<(String, Location)>,
}

/// Whether a match option holds for the stranger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Always,
    Chooses,
    Never,
}

/// Audits one smtpd.conf, reading its tables and includes through `read`.
pub fn audit(
    src: &Source,
    read: &ReadFile<'_>,
    report: &mut AuditReport,
) -> Result<(), InputError> {
    let mut files = Vec::new();
    let mut macros = Vec::new();
    let statements = statements(src, read, &mut macros, &mut files, 0)?;
    let quote = |at: &Location| -> Option<String> {
        let (_, text) = files.iter().find(|(f, _)| *f == at.file)?;
        let l: &str = text.lines().nth(at.line?.checked_sub(1)?)?;
        Some(format!("{at}: {}", l.trim()))
    };
    let mut tables: Vec<(String, Table)> = Vec::new();
    let mut actions: Vec<(String, String)> = Vec::new();
    let mut listeners: Vec<&Statement> = Vec::new();
    let mut filter_statements: Vec<&Statement> = Vec::new();
    for st in &statements {
        let w = &st.words;
        match w.first().map(String::as_str) {
            Some("table") => {
                let (Some(name), Some(_)) = (w.get(1), w.get(2)) else {
                    return Err(bad(
                        st,
                        "expected `table NAME [TYPE:]CONFIG` or `table NAME { ... }`",
                    ));
                };
                let table = table_of(&w[2..], st, src, read, report)?;
                tables.push((name.clone(), table));
            }
            Some("action") => {
                let (Some(name), Some(method)) = (w.get(1), w.get(2)) else {
                    return Err(bad(st, "expected `action NAME METHOD ...`"));
                };
                actions.push((name.trim_matches('"').to_string(), method.clone()));
            }
            Some("listen") => listeners.push(st),
            Some("filter") => filter_statements.push(st),
            _ => {}
        }
    }
    let loopback_only = !listeners.is_empty()
        && listeners.iter().all(|l| {
            let iface = l.words.get(2).map(String::as_str).unwrap_or("");
            iface == "socket"
                || iface == "localhost"
                || iface == "lo"
                || iface.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        });
    let table = |name: &str| tables.iter().find(|(n, _)| n == name).map(|(_, t)| t);
    let defs: Vec<(String, filters::Def)> = filter_statements
        .iter()
        .filter_map(|st| filters::define(st, &table))
        .collect();
    let stops = stranger_stops(&listeners, &defs);
    let mut decided = false;
    for st in statements.iter().filter(|s| s.words[0] == "match") {
        let m = parse_match(st)?;
        let relays = match &m.action {
            Some(name) => {
                let method = actions
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, m)| m.as_str())
                    .ok_or_else(|| bad(st, &format!("no `action \"{name}\"` is defined")))?;
                method == "relay"
            }
            None => false,
        };
        let mut vals = Vec::new();
        let mut from_everyone = false;
        let mut needs_tls = false;
        let mut trusted: Vec<(IpAddr, u8, Location)> = Vec::new();
        for opt in &m.options {
            let v = judge(opt, st, &table, &mut trusted, report, relays);
            needs_tls |= opt.name == "tls" && !opt.negated;
            from_everyone |= opt.name == "from" && v == Val::Always;
            vals.push(v);
        }
        if relays {
            for (addr, len, at) in &trusted {
                report
                    .trusted
                    .push(Trusted::new(*addr, *len, at, "match from", Mta::OpenSmtpd));
                if reach(*addr, *len) == Reach::Wide {
                    let detail = format!(
                        "`{}` relays for {addr}/{len}, a public network wider than one site's",
                        st.text
                    );
                    let evidence = [quote(at), quote(&st.at)].into_iter().flatten().collect();
                    report.findings.push(AuditFinding::new(
                        at,
                        "match from src",
                        Mta::OpenSmtpd,
                        FindingId::TrustedNetworksTooWide,
                        detail,
                        evidence,
                    ));
                }
            }
        }
        if decided || vals.contains(&Val::Never) {
            continue;
        }
        decided = true;
        if !relays {
            if m.action.is_some() && m.for_any {
                report.notes.push(format!(
                    "{}: `{}` takes mail for every domain from strangers but delivers it here \
                     (its action does not relay)",
                    st.at, st.text
                ));
            }
            continue;
        }
        if let Some(why) = &stops {
            report.notes.push(format!(
                "{}: `{}` would relay for a stranger, but {why}",
                st.at, st.text
            ));
            continue;
        }
        let tls = if needs_tls {
            " once it has started TLS"
        } else {
            ""
        };
        let mut detail = format!(
            "`{}` is the first rule a stranger (unauthenticated, from anywhere){tls} matches \
             with mail for any domain, and its action relays",
            st.text
        );
        if loopback_only {
            detail.push_str(
                " (smtpd listens only on loopback or the local socket: only this host's \
                 processes reach it)",
            );
        }
        if from_everyone {
            let everyone = Trusted::everyone(&st.at, "match from", Mta::OpenSmtpd);
            report.trusted.extend(everyone);
        }
        report.findings.push(AuditFinding::new(
            &st.at,
            "match",
            Mta::OpenSmtpd,
            FindingId::OpenRelay,
            detail,
            quote(&st.at).into_iter().collect(),
        ));
    }
    Ok(())
}

/// Why no stranger reaches the `match` rules, if none does: no listener on the network, or
/// every one demands AUTH or has a filter that refuses or defers every stranger first.
fn stranger_stops(listeners: &[&Statement], defs: &[(String, filters::Def)]) -> Option<String> {
    let network: Vec<&&Statement> = listeners
        .iter()
        .filter(|l| l.words.get(2).is_none_or(|i| i != "socket"))
        .collect();
    if network.is_empty() {
        return Some(
            "there is no `listen on` an address: smtpd takes mail only from its local socket"
                .into(),
        );
    }
    let mut why = Vec::new();
    for l in network {
        if l.words.iter().any(|w| w == "auth") {
            why.push(format!("{} demands AUTH (`auth`)", l.at));
        } else if let Some((at, reply)) = filters::stopping(l, defs) {
            why.push(format!(
                "{} has a filter ({at}) answering every stranger {reply:?}",
                l.at
            ));
        } else {
            return None;
        }
    }
    Some(format!(
        "every listener stops strangers first: {}",
        why.join("; ")
    ))
}

fn bad(st: &Statement, message: &str) -> InputError {
    InputError {
        location: st.at.clone(),
        message: format!("{:?}: {message}", st.text),
    }
}

/// One `match` rule: its options and its action (`None` for `reject`).
struct Match {
    options: Vec<Opt>,
    action: Option<String>,
    /// `for any` among the options.
    for_any: bool,
}

/// One match option: `[!] from src <t>`, `[!] for any`, `[!] auth`, `tls`, ...
#[derive(Debug, Clone)]
struct Opt {
    negated: bool,
    /// `from`, `for`, `auth`, `tls`, `helo`, `mail-from`, `rcpt-to`, `tag`.
    name: String,
    /// For `from` and `for`: `any`, `local`, `src`, `domain`, `rdns`, ...
    kind: String,
    /// The value: a string or `<table>`; `regex` noted in `regex`.
    value: Option<String>,
    regex: bool,
}

fn parse_match(st: &Statement) -> Result<Match, InputError> {
    let w = &st.words[1..];
    let mut options = Vec::new();
    let mut action = None;
    let mut rejects = false;
    let mut i = 0;
    let mut has_from = false;
    let mut has_for = false;
    while i < w.len() {
        let mut negated = false;
        if w[i] == "!" {
            negated = true;
            i += 1;
        }
        let word = w.get(i).map(String::as_str).unwrap_or("");
        i += 1;
        match word {
            "action" => {
                let name = w.get(i).ok_or_else(|| bad(st, "`action` without a name"))?;
                action = Some(name.trim_matches('"').to_string());
                i += 1;
            }
            "reject" => rejects = true,
            "from" | "for" => {
                let kind = w.get(i).cloned().unwrap_or_default();
                i += 1;
                let takes_value = matches!(
                    kind.as_str(),
                    "src" | "domain" | "rcpt-to" | "mail-from" | "auth" | "rdns"
                );
                let mut regex = false;
                let mut value = None;
                if takes_value && w.get(i).is_some_and(|v| v == "regex") {
                    regex = true;
                    i += 1;
                }
                // `auth` and `rdns` may stand alone.
                let next_is_option = |v: &String| OPTION_WORDS.contains(&v.as_str());
                if takes_value && w.get(i).is_some_and(|v| !next_is_option(v)) {
                    value = w.get(i).cloned();
                    i += 1;
                }
                has_from |= word == "from";
                has_for |= word == "for";
                options.push(Opt {
                    negated,
                    name: word.to_string(),
                    kind,
                    value,
                    regex,
                });
            }
            "auth" | "tls" | "helo" | "mail-from" | "rcpt-to" | "tag" => {
                let mut regex = false;
                if w.get(i).is_some_and(|v| v == "regex") {
                    regex = true;
                    i += 1;
                }
                let value = if word == "tls" || (word == "auth" && !is_value(w.get(i))) {
                    None
                } else {
                    i += 1;
                    w.get(i - 1).cloned()
                };
                options.push(Opt {
                    negated,
                    name: word.to_string(),
                    kind: String::new(),
                    value,
                    regex,
                });
            }
            other => return Err(bad(st, &format!("unknown match option {other:?}"))),
        }
    }
    if action.is_none() && !rejects {
        return Err(bad(st, "a match needs `action NAME` or `reject`"));
    }
    // smtpd.conf(5): `from local` and `for local` when absent.
    for (present, name) in [(has_from, "from"), (has_for, "for")] {
        if !present {
            options.push(Opt {
                negated: false,
                name: name.into(),
                kind: "local".into(),
                value: None,
                regex: false,
            });
        }
    }
    let for_any = options
        .iter()
        .any(|o| o.name == "for" && o.kind == "any" && !o.negated);
    Ok(Match {
        options,
        action,
        for_any,
    })
}

/// Whether the next word is an option's value (`auth <users>`) rather than the next option.
fn is_value(w: Option<&String>) -> bool {
    w.is_some_and(|v| !OPTION_WORDS.contains(&v.as_str()))
}

/// The words that start a match option (or end the options): never an option's value.
const OPTION_WORDS: [&str; 11] = [
    "!",
    "from",
    "for",
    "action",
    "reject",
    "auth",
    "tls",
    "helo",
    "mail-from",
    "rcpt-to",
    "tag",
];

/// Judges one option for the stranger; records the networks a `from src` names.
fn judge<'t>(
    opt: &Opt,
    st: &Statement,
    table: &dyn Fn(&str) -> Option<&'t Table>,
    trusted: &mut Vec<(IpAddr, u8, Location)>,
    report: &mut AuditReport,
    relays: bool,
) -> Val {
    let entries = |v: &str| -> Vec<(String, Location)> {
        match v.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
            Some(name) => table(name).map(|t| t.entries.clone()).unwrap_or_default(),
            None => vec![(v.trim_matches('"').to_string(), st.at.clone())],
        }
    };
    let val = match (opt.name.as_str(), opt.kind.as_str()) {
        ("from", "any") => Val::Always,
        ("from", "local") => {
            for (net, len) in [("127.0.0.0", 8), ("::1", 128)] {
                if let Ok(ip) = net.parse() {
                    trusted.push((ip, len, st.at.clone()));
                }
            }
            Val::Never
        }
        ("from", "socket") | ("from", "auth") => Val::Never,
        ("from", "src") if !opt.regex => {
            let mut everyone = false;
            for (e, at) in entries(opt.value.as_deref().unwrap_or("")) {
                if let Some((addr, len)) = parse_network(&e) {
                    everyone |= reach(addr, len) == Reach::Everyone;
                    trusted.push((addr, len, at));
                }
            }
            if everyone { Val::Always } else { Val::Never }
        }
        // Whoever has a PTR record, or writes such a sender or HELO.
        ("from", "rdns") if opt.value.is_none() => Val::Chooses,
        ("from", "mail-from") | ("helo", _) | ("mail-from", _) | ("tls", _) | ("tag", _) => {
            Val::Chooses
        }
        ("for", "any") => Val::Always,
        ("for", "domain") if !opt.regex => {
            let list = entries(opt.value.as_deref().unwrap_or(""));
            for (e, at) in &list {
                let tld = e
                    .strip_prefix('*')
                    .is_some_and(|t| !t.trim_start_matches('.').contains('.'));
                if tld && e != "*" && relays {
                    report.findings.push(AuditFinding::new(
                        at,
                        "match for domain",
                        Mta::OpenSmtpd,
                        FindingId::RelayDomainsTooBroad,
                        format!(
                            "`{}` relays to {e:?}: every domain under a top-level domain",
                            st.text
                        ),
                        Vec::new(),
                    ));
                }
            }
            if list.iter().any(|(e, _)| e == "*") {
                Val::Always
            } else {
                Val::Never
            }
        }
        // `from rdns NAME`, `from src` of named networks (or a regex), `for local`, `for
        // domain` of named domains, `for rcpt-to`, `auth`, `rcpt-to`: none is the stranger's.
        _ => Val::Never,
    };
    if opt.negated {
        match val {
            Val::Always => Val::Never,
            Val::Never => Val::Always,
            Val::Chooses => Val::Chooses,
        }
    } else {
        val
    }
}

/// A table's entries: inline `{ a, b }` or `{ k = v }`, or a `file:` (or bare path) list read
/// through `read`, beside smtpd.conf when not where it says; a file refused as input is an
/// error at the `table` line.
fn table_of(
    spec: &[String],
    st: &Statement,
    src: &Source,
    read: &ReadFile<'_>,
    report: &mut AuditReport,
) -> Result<Table, InputError> {
    if spec.first().is_some_and(|w| w == "{") {
        let entries = spec[1..]
            .iter()
            .take_while(|w| *w != "}")
            .filter(|w| *w != "," && *w != "=")
            .map(|w| (w.trim_matches('"').to_string(), st.at.clone()))
            .collect();
        return Ok(Table { entries });
    }
    let config = spec[0].trim_matches('"');
    let path = match config.split_once(':') {
        Some(("file", p)) => p,
        Some((_, _)) => {
            report.notes.push(format!(
                "{}: table type of {config:?} is not read (only file: and inline tables)",
                st.at
            ));
            return Ok(Table {
                entries: Vec::new(),
            });
        }
        None => config,
    };
    let found = super::read_near(read, path, &src.name)
        .map_err(|why| InputError::at(st.at.clone(), format!("table file {path}: {why}")))?;
    let Some((name, text)) = found else {
        report.notes.push(format!(
            "{}: table file {path} cannot be read: its entries are not audited",
            st.at
        ));
        return Ok(Table {
            entries: Vec::new(),
        });
    };
    let entries = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let key = l.split('#').next()?.split_whitespace().next()?;
            Some((key.to_string(), Location::at(&name, i + 1)))
        })
        .collect();
    Ok(Table { entries })
}

/// The statements of a file and its includes: comments and `\` continuations removed,
/// `name = value` macros defined and `$name` expanded, words split with quotes, `<table>`,
/// `{`, `}` and `,` kept apart.
fn statements(
    src: &Source,
    read: &ReadFile<'_>,
    macros: &mut Vec<(String, String)>,
    files: &mut Vec<(String, String)>,
    depth: usize,
) -> Result<Vec<Statement>, InputError> {
    files.push((src.name.clone(), src.text.clone()));
    let mut out = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    for (i, raw) in src.text.lines().enumerate() {
        let line = strip_comment(raw);
        let (text, start) = match pending.take() {
            Some((mut t, n)) => {
                t.push(' ');
                t.push_str(line.trim());
                (t, n)
            }
            None => (line.trim().to_string(), i + 1),
        };
        if let Some(head) = text.strip_suffix('\\') {
            pending = Some((head.to_string(), start));
            continue;
        }
        if text.is_empty() {
            continue;
        }
        let at = Location::at(&src.name, start);
        let expanded = expand(&text, macros);
        let words = words(&expanded).map_err(|m| InputError {
            location: at.clone(),
            message: format!("{text:?}: {m}"),
        })?;
        if words.len() >= 3 && words[1] == "=" && !words[0].contains(['<', '"']) {
            macros.retain(|(n, _)| *n != words[0]);
            macros.push((words[0].clone(), words[2..].join(" ")));
            continue;
        }
        if words[0] == "include" {
            let file = words.get(1).map(|w| w.trim_matches('"')).unwrap_or("");
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(InputError {
                    location: at,
                    message: format!("include nested deeper than {MAX_INCLUDE_DEPTH} files"),
                });
            }
            let found = super::read_near(read, file, &src.name)
                .map_err(|why| InputError::at(at.clone(), format!("include {file:?}: {why}")))?;
            match found {
                Some((name, t)) => out.extend(statements(
                    &Source::new(name, t),
                    read,
                    macros,
                    files,
                    depth + 1,
                )?),
                None => {
                    return Err(InputError {
                        location: at,
                        message: format!("include {file:?}: cannot read it"),
                    });
                }
            }
            continue;
        }
        out.push(Statement {
            words,
            at,
            text: expanded,
        });
    }
    Ok(out)
}

/// A line without its `#` comment (outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `$name` replaced by its macro's value.
fn expand(text: &str, macros: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in macros.iter().rev() {
        out = out.replace(&format!("${name}"), value.trim_matches('"'));
    }
    out
}

/// Splits a line into words: quoted strings (quotes kept), `<table>`, and `{ } , =` alone.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                flush(&mut cur, &mut out);
                let mut s = String::from('"');
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(x) => s.push(x),
                        None => return Err("unclosed quote".into()),
                    }
                }
                s.push('"');
                out.push(s);
            }
            '{' | '}' | ',' | '=' => {
                flush(&mut cur, &mut out);
                out.push(c.to_string());
            }
            '!' if cur.is_empty() => out.push("!".into()),
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests;
