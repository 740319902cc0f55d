//! Exim ACLs (`begin acl`): statements (`accept`, `deny`, `require`, …) with their conditions and modifiers, and the walk of an ACL for a stranger relaying to a foreign domain.
//!
//! The stranger is unauthenticated, outside every host list item that is not `*` or a /0
//! network, and sends to a domain that is neither local nor in a relay list; it chooses its
//! own sender, local part, HELO name and whether to start TLS. The walk follows Exim's rules
//! (spec chapter 42): `accept` ends the ACL when all its conditions hold (those after
//! `endpass` then decide between accept and deny), `deny`/`defer`/`drop` when all hold,
//! `require` denies when one fails, `warn` never ends it, and the end of an ACL denies.

use super::lists::{Judged, Kind, Locator, Named, Network, Origin, Val, judge};
use super::read::Line;
use crate::audit::model::{InputError, Location};

/// An ACL verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Accept,
    Defer,
    Deny,
    Discard,
    Drop,
    Require,
    Warn,
}

impl Verb {
    fn parse(word: &str) -> Option<Verb> {
        Some(match word {
            "accept" => Verb::Accept,
            "defer" => Verb::Defer,
            "deny" => Verb::Deny,
            "discard" => Verb::Discard,
            "drop" => Verb::Drop,
            "require" => Verb::Require,
            "warn" => Verb::Warn,
            _ => return None,
        })
    }
}

/// One condition or modifier: `[!]name = value`.
#[derive(Debug, Clone)]
pub struct Cond {
    pub negated: bool,
    pub name: String,
    pub value: String,
    pub at: Location,
    pub locate: Locator,
}

/// One statement: a verb and what follows it up to the next verb.
#[derive(Debug, Clone)]
pub struct Statement {
    pub verb: Verb,
    pub at: Location,
    pub text: String,
    pub conds: Vec<Cond>,
    /// How many of `conds` come before `endpass`.
    pub endpass: Option<usize>,
}

/// A named ACL.
#[derive(Debug, Clone)]
pub struct Acl {
    pub name: String,
    pub at: Location,
    pub statements: Vec<Statement>,
}

/// Modifiers: they act, but never decide whether a statement's conditions hold.
const MODIFIERS: [&str; 13] = [
    "message",
    "log_message",
    "logwrite",
    "control",
    "add_header",
    "remove_header",
    "set",
    "delay",
    "queue",
    "udpsend",
    "continue",
    "debug",
    "log_reject_target",
];

/// Reads the lines of the `begin acl` section into ACLs.
pub fn parse(lines: &[Line]) -> Result<Vec<Acl>, InputError> {
    let mut acls: Vec<Acl> = Vec::new();
    for line in lines {
        let t = line.text.trim();
        if let Some(name) = t.strip_suffix(':').filter(|n| is_name(n)) {
            acls.push(Acl {
                name: name.to_string(),
                at: line.at.clone(),
                statements: Vec::new(),
            });
            continue;
        }
        let Some(acl) = acls.last_mut() else {
            return Err(InputError {
                location: line.at.clone(),
                message: format!("{t:?}: expected an ACL name (`acl_check_rcpt:`) first"),
            });
        };
        parse_statement_line(acl, line)?;
    }
    Ok(acls)
}

/// Reads ACL text given in place of a name (`acl_smtp_rcpt = accept hosts = *`).
pub fn inline(name: &str, line: &Line) -> Result<Acl, InputError> {
    let mut acl = Acl {
        name: name.to_string(),
        at: line.at.clone(),
        statements: Vec::new(),
    };
    parse_statement_line(&mut acl, line)?;
    Ok(acl)
}

fn parse_statement_line(acl: &mut Acl, line: &Line) -> Result<(), InputError> {
    let t = line.text.trim();
    let (word, rest) = t
        .split_once(char::is_whitespace)
        .map(|(w, r)| (w, r.trim()))
        .unwrap_or((t, ""));
    let rest = if let Some(verb) = Verb::parse(word) {
        acl.statements.push(Statement {
            verb,
            at: line.at.clone(),
            text: t.to_string(),
            conds: Vec::new(),
            endpass: None,
        });
        rest
    } else {
        t
    };
    let Some(st) = acl.statements.last_mut() else {
        return Err(InputError {
            location: line.at.clone(),
            message: format!("{t:?}: expected an ACL verb (accept, deny, require, ...)"),
        });
    };
    if rest.is_empty() {
        return Ok(());
    }
    if rest == "endpass" {
        st.endpass = Some(st.conds.len());
        return Ok(());
    }
    let Some((name, value)) = rest.split_once('=') else {
        return Err(InputError {
            location: line.at.clone(),
            message: format!("{rest:?}: expected `condition = value`"),
        });
    };
    let name = name.trim();
    let (negated, name) = match name.strip_prefix('!') {
        Some(n) => (true, n.trim()),
        None => (false, name),
    };
    st.conds.push(Cond {
        negated,
        name: name.to_string(),
        value: value.trim().to_string(),
        at: line.at.clone(),
        locate: Locator::of(line),
    });
    Ok(())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How a walk ends for the stranger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// An `accept` (or `discard`) statement lets the recipient through.
    Accept { at: Location, text: String },
    /// A `deny`, `drop`, failed `require`, or the end of the ACL refuses it.
    Deny { at: Option<Location> },
    /// A `defer` answers 4xx.
    Defer { at: Location },
}

/// The walk of one ACL for the stranger.
#[derive(Debug, Clone)]
pub struct Walk {
    pub end: End,
    /// The list items that matched every stranger on the way to an accept.
    pub because: Vec<Origin>,
    /// The path needed TLS (`encrypted = *`): relaying only after STARTTLS.
    pub needs_tls: bool,
    /// Networks trusted by the `hosts =` of accept statements the walk passed.
    pub trusted: Vec<(Network, Location)>,
    /// Domain items matching more than a site's domains, seen on the way.
    pub broad: Vec<(Origin, &'static str)>,
    /// Statements that could not be judged.
    pub notes: Vec<String>,
}

/// What the walk needs besides the ACL: named lists and the other ACLs (`acl = NAME`).
pub struct Scope<'a> {
    pub named: &'a dyn Fn(&str) -> Option<Named>,
    pub acls: &'a [Acl],
}

/// Nested `acl =` calls deeper than this are a loop (Exim allows 20).
const MAX_NESTING: usize = 20;

/// Walks `acl` for the stranger.
pub fn walk(acl: &Acl, scope: &Scope<'_>) -> Walk {
    walk_at(acl, scope, 0)
}

fn walk_at(acl: &Acl, scope: &Scope<'_>, depth: usize) -> Walk {
    let mut w = Walk {
        end: End::Deny { at: None },
        because: Vec::new(),
        needs_tls: false,
        trusted: Vec::new(),
        broad: Vec::new(),
        notes: Vec::new(),
    };
    for st in &acl.statements {
        let judged: Vec<(Judgement, &Cond)> = st
            .conds
            .iter()
            .filter(|c| !MODIFIERS.contains(&c.name.as_str()))
            .map(|c| (judge_cond(c, scope, depth), c))
            .collect();
        let before = st.endpass.map_or(st.conds.len(), |n| {
            st.conds[..n]
                .iter()
                .filter(|c| !MODIFIERS.contains(&c.name.as_str()))
                .count()
        });
        for (j, _) in &judged {
            w.broad.extend(j.broad.iter().cloned());
        }
        let (gate, after) = judged.split_at(before.min(judged.len()));
        let vals = |js: &[(Judgement, &Cond)]| js.iter().map(|(j, _)| j.val).collect::<Vec<_>>();
        let gate_vals = vals(gate);
        match st.verb {
            Verb::Accept | Verb::Discard => {
                trusted_by(st, &judged, &mut w);
                if gate_vals.contains(&Val::Never) {
                    continue;
                }
                if let Some((_, c)) = gate.iter().find(|(j, _)| j.val == Val::Unknown) {
                    w.notes.push(format!(
                        "{}: `{}{} = {}` cannot be judged from the file; if it holds, this \
                         `{}` lets a stranger relay",
                        c.at,
                        if c.negated { "!" } else { "" },
                        c.name,
                        c.value,
                        st.text
                    ));
                    continue;
                }
                collect_path(gate, &mut w);
                if vals(after).contains(&Val::Never) {
                    w.end = End::Deny {
                        at: Some(st.at.clone()),
                    };
                    return w;
                }
                collect_path(after, &mut w);
                w.end = End::Accept {
                    at: st.at.clone(),
                    text: st.text.clone(),
                };
                return w;
            }
            Verb::Deny | Verb::Drop | Verb::Defer => {
                if gate_vals.iter().all(|v| *v == Val::Always) {
                    w.end = match st.verb {
                        Verb::Defer => End::Defer { at: st.at.clone() },
                        _ => End::Deny {
                            at: Some(st.at.clone()),
                        },
                    };
                    return w;
                }
            }
            Verb::Require => {
                if gate_vals.contains(&Val::Never) {
                    w.end = End::Deny {
                        at: Some(st.at.clone()),
                    };
                    return w;
                }
                collect_path(gate, &mut w);
            }
            Verb::Warn => {}
        }
    }
    w
}

/// Records what let the stranger through these conditions.
fn collect_path(conds: &[(Judgement, &Cond)], w: &mut Walk) {
    for (j, c) in conds {
        w.because.extend(j.everyone.iter().cloned());
        if c.name == "encrypted" && !c.negated {
            w.needs_tls = true;
        }
    }
}

/// The networks an accept statement trusts: its `hosts =` items, when every other
/// condition of the statement can hold for a client inside them.
fn trusted_by(st: &Statement, judged: &[(Judgement, &Cond)], w: &mut Walk) {
    if st.verb != Verb::Accept {
        return;
    }
    let others_hold = judged
        .iter()
        .filter(|(_, c)| c.name != "hosts")
        .all(|(j, _)| matches!(j.val, Val::Always | Val::Chooses));
    if !others_hold {
        return;
    }
    for (j, c) in judged {
        if c.name == "hosts" && !c.negated {
            w.trusted
                .extend(j.networks.iter().map(|n| (n.clone(), st.at.clone())));
        }
    }
}

/// One condition judged, with what its lists say.
#[derive(Debug, Clone)]
struct Judgement {
    val: Val,
    everyone: Option<Origin>,
    networks: Vec<Network>,
    broad: Vec<(Origin, &'static str)>,
}

impl Judgement {
    fn plain(val: Val) -> Judgement {
        Judgement {
            val,
            everyone: None,
            networks: Vec::new(),
            broad: Vec::new(),
        }
    }
}

fn judge_cond(c: &Cond, scope: &Scope<'_>, depth: usize) -> Judgement {
    let list = |kind: Kind| {
        let Judged {
            val,
            everyone,
            networks,
            broad,
        } = judge(kind, &c.value, &c.locate, scope.named);
        Judgement {
            val,
            everyone,
            networks,
            broad,
        }
    };
    let mut j = match c.name.as_str() {
        "hosts" => list(Kind::Host),
        "domains" => list(Kind::Domain),
        // The stranger has not authenticated, whatever the list of mechanisms.
        "authenticated" => Judgement::plain(Val::Never),
        // A client certificate the stranger does not have.
        "verify" if c.value.trim().starts_with("certificate") => Judgement::plain(Val::Never),
        // What the stranger writes itself, or can pass by writing something real: its
        // sender and local part, its HELO, a routable foreign recipient, STARTTLS.
        "local_parts" | "senders" | "sender_domains" | "recipients" | "verify" | "encrypted"
        | "ratelimit" | "dnslists" => Judgement::plain(Val::Chooses),
        "acl" => Judgement::plain(nested(c, scope, depth)),
        _ => Judgement::plain(Val::Unknown),
    };
    if c.negated {
        j.val = j.val.negate();
        j.everyone = None;
    }
    j
}

/// `acl = NAME`: true when the named ACL accepts the stranger.
fn nested(c: &Cond, scope: &Scope<'_>, depth: usize) -> Val {
    let name = c.value.split_whitespace().next().unwrap_or("");
    let Some(acl) = scope.acls.iter().find(|a| a.name == name) else {
        return Val::Unknown;
    };
    if depth >= MAX_NESTING {
        return Val::Unknown;
    }
    let w = walk_at(acl, scope, depth + 1);
    match w.end {
        End::Accept { .. } if !w.because.is_empty() => Val::Always,
        End::Accept { .. } => Val::Chooses,
        _ if !w.notes.is_empty() => Val::Unknown,
        _ => Val::Never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::exim::read::preprocess;

    fn acls(text: &str) -> Vec<Acl> {
        let p = preprocess("acl", text, Vec::new(), &|_| Ok(None)).unwrap();
        parse(&p.lines).unwrap()
    }

    fn named(name: &str) -> Option<Named> {
        let (kind, value) = match name {
            "relay_from_hosts" => (Kind::Host, "192.0.2.0/24 : 127.0.0.1"),
            "open_hosts" => (Kind::Host, "<; 0.0.0.0/0 ; ::/0"),
            "local_domains" => (Kind::Domain, "@ : localhost"),
            "relay_to_domains" => (Kind::Domain, ""),
            "any_domain" => (Kind::Domain, "*"),
            _ => return None,
        };
        Some(Named {
            kind,
            value: value.into(),
            locate: Locator {
                line: Location::at("lists", 1),
                macros: Vec::new(),
            },
        })
    }

    /// The statement line the walk of the first ACL ends on, and whether it accepts.
    fn end(text: &str) -> (bool, Option<usize>) {
        let all = acls(text);
        let w = walk(
            &all[0],
            &Scope {
                named: &named,
                acls: &all,
            },
        );
        match w.end {
            End::Accept { at, .. } => (true, at.line),
            End::Deny { at } => (false, at.and_then(|a| a.line)),
            End::Defer { at } => (false, at.line),
        }
    }

    #[test]
    fn walk_table() {
        const STOCK: &str = "acl_check_rcpt:\n  accept hosts = :\n  deny domains = !+local_domains\n    local_parts = ^[./|] : ^.*[@%!`#&?]\n  accept local_parts = postmaster\n    domains = +local_domains\n  accept hosts = +relay_from_hosts\n  accept authenticated = *\n  require message = relay not permitted\n    domains = +local_domains : +relay_to_domains\n  require verify = recipient\n  accept\n";
        let table = [
            (STOCK, (false, Some(9))),
            // An accept with no condition before the domain check.
            (
                "rcpt:\n  accept\n  require domains = +local_domains\n",
                (true, Some(2)),
            ),
            ("rcpt:\n  accept hosts = *\n", (true, Some(2))),
            ("rcpt:\n  accept hosts = +open_hosts\n", (true, Some(2))),
            ("rcpt:\n  accept hosts = 0.0.0.0/0\n", (true, Some(2))),
            ("rcpt:\n  accept hosts = 192.0.2.0/24\n", (false, None)),
            // Negated: everyone outside relay_from_hosts.
            (
                "rcpt:\n  accept hosts = !+relay_from_hosts\n",
                (true, Some(2)),
            ),
            (
                "rcpt:\n  accept !hosts = +relay_from_hosts\n",
                (true, Some(2)),
            ),
            (
                "rcpt:\n  deny !authenticated = *\n  accept\n",
                (false, Some(2)),
            ),
            // The stranger picks its sender: a sender-based accept is open.
            ("rcpt:\n  accept senders = *@example.com\n", (true, Some(2))),
            // A require on relay_to_domains = * passes for every domain.
            (
                "rcpt:\n  require domains = +local_domains : +any_domain\n  accept\n",
                (true, Some(3)),
            ),
            // endpass: what follows decides accept or deny.
            (
                "rcpt:\n  accept domains = +any_domain\n    endpass\n    authenticated = *\n",
                (false, Some(2)),
            ),
            ("rcpt:\n  defer hosts = *\n  accept\n", (false, Some(2))),
            ("rcpt:\n  warn hosts = *\n", (false, None)),
            // A nested ACL that accepts everyone makes `acl =` true.
            (
                "rcpt:\n  accept acl = everyone\neveryone:\n  accept hosts = *\n",
                (true, Some(2)),
            ),
            // Undecidable: noted, not taken.
            (
                "rcpt:\n  accept condition = ${if eq{1}{1}}\n",
                (false, None),
            ),
        ];
        for (text, want) in table {
            assert_eq!(end(text), want, "{text}");
        }
    }

    #[test]
    fn walk_reports_causes_trust_and_notes() {
        let all = acls(
            "rcpt:\n  accept hosts = +relay_from_hosts\n  accept condition = ${x}\n  accept encrypted = *\n    hosts = +open_hosts\n",
        );
        let w = walk(
            &all[0],
            &Scope {
                named: &named,
                acls: &all,
            },
        );
        assert!(matches!(w.end, End::Accept { .. }));
        assert!(w.needs_tls);
        assert_eq!(w.because[0].item, "0.0.0.0/0");
        let trusted: Vec<String> = w
            .trusted
            .iter()
            .map(|(n, _)| format!("{}/{}", n.addr, n.len))
            .collect();
        assert_eq!(trusted, ["192.0.2.0/24", "127.0.0.1/32"]);
        assert_eq!(w.notes.len(), 1);
        assert!(
            w.notes[0].starts_with("acl:3: `condition = ${x}`"),
            "{:?}",
            w.notes
        );
    }

    #[test]
    fn bad_acl_lines_name_the_line() {
        let p = preprocess("acl", "  accept\n", Vec::new(), &|_| Ok(None)).unwrap();
        let e = parse(&p.lines).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("acl:1: \"accept\": expected an ACL name")
        );
        let p = preprocess("acl", "a:\n  hosts = *\n", Vec::new(), &|_| Ok(None)).unwrap();
        let e = parse(&p.lines).unwrap_err();
        assert!(e.to_string().contains("expected an ACL verb"), "{e}");
        let p = preprocess("acl", "a:\n  accept\n  nonsense\n", Vec::new(), &|_| {
            Ok(None)
        })
        .unwrap();
        let e = parse(&p.lines).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("acl:3: \"nonsense\": expected `condition = value`")
        );
    }
}
