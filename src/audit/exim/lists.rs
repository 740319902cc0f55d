//! Exim's host and domain lists judged for a stranger: split as Exim splits them (`:` with `::` for a literal colon, or `<;` and friends), named lists (`+relay_from_hosts`), negation, and what each item lets in.
//!
//! A stranger is a client outside every address the configuration names, relaying to a
//! foreign domain of its own choosing. A host list matches it only through an item that
//! matches every address (`*`, `0.0.0.0/0`); a domain list only through `*` or a pattern that
//! matches every domain. Exim's end-of-list rule holds: a subject that matches no item is in
//! the set exactly when the last item was negative (spec 10.2).

use std::net::IpAddr;

use super::read::Line;
use crate::audit::model::Location;
use crate::audit::networks::{Reach, parse_network, reach};

/// Whether a condition holds for the stranger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    /// For every stranger.
    Always,
    /// The stranger can make it hold or not (its sender, local part, HELO, TLS).
    Chooses,
    /// For no stranger.
    Never,
    /// Not decidable from the file (an expansion, a lookup's result).
    Unknown,
}

impl Val {
    /// `!condition = ...`.
    pub fn negate(self) -> Val {
        match self {
            Val::Always => Val::Never,
            Val::Never => Val::Always,
            other => other,
        }
    }
}

/// Which kind of list: what the stranger's subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Host,
    Domain,
}

impl Kind {
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Host => "hostlist",
            Kind::Domain => "domainlist",
        }
    }
}

/// Where one list item was written: the line of the list or of the macro that brought it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub item: String,
    pub at: Location,
}

/// A network a host list names, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub len: u8,
    pub origin: Origin,
}

/// A list judged for the stranger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub val: Val,
    /// The item that matches every stranger, when one does.
    pub everyone: Option<Origin>,
    /// Positive network items (host lists): whom the list trusts.
    pub networks: Vec<Network>,
    /// Domain items that match far more than one site's domains (`*.com`, `@mx_any`).
    pub broad: Vec<(Origin, &'static str)>,
}

/// A named list (`hostlist NAME = ...`), as the lookup for `+NAME` finds it.
#[derive(Debug, Clone)]
pub struct Named {
    pub kind: Kind,
    pub value: String,
    /// Where each item came from: the list's line, or a macro's.
    pub locate: Locator,
}

/// Finds where an item of a list value was written: in a macro the line used, else the line.
#[derive(Debug, Clone)]
pub struct Locator {
    pub line: Location,
    /// (macro value, its definition) for the macros substituted into the line.
    pub macros: Vec<(String, Location)>,
}

impl Locator {
    /// Items of `line` are located at the line, or at the macro that brought them.
    pub fn of(line: &Line) -> Locator {
        Locator {
            line: line.at.clone(),
            macros: line
                .macros
                .iter()
                .map(|m| (m.value.clone(), m.at.clone()))
                .collect(),
        }
    }

    pub fn origin(&self, item: &str) -> Origin {
        let at = self
            .macros
            .iter()
            .find(|(value, _)| split(value).iter().any(|i| strip_not(i).1 == item))
            .map(|(_, at)| at.clone())
            .unwrap_or_else(|| self.line.clone());
        Origin {
            item: item.to_string(),
            at,
        }
    }
}

/// Named lists nest (`+a` inside `b`); deeper than this is a loop.
const MAX_DEPTH: usize = 16;

/// The items of an Exim list: `a : b`, `<; a ; b` (any punctuation after `<` is the
/// separator), a doubled separator standing for itself. Items are trimmed; empty ones kept.
pub fn split(value: &str) -> Vec<String> {
    let v = value.trim_start();
    let (sep, body) = match v.strip_prefix('<') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_punctuation()) => {
            let sep = rest.chars().next().unwrap_or(':');
            (sep, &rest[sep.len_utf8()..])
        }
        _ => (':', v),
    };
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == sep {
            if chars.peek() == Some(&sep) {
                chars.next();
                cur.push(sep);
            } else {
                items.push(std::mem::take(&mut cur).trim().to_string());
            }
        } else {
            cur.push(c);
        }
    }
    let last = cur.trim();
    if !last.is_empty() || items.is_empty() {
        items.push(last.to_string());
    }
    items
}

/// `!item` → (true, item); Exim allows blanks after the `!`.
fn strip_not(item: &str) -> (bool, &str) {
    match item.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, item),
    }
}

/// Judges `value`, a list of `kind`, for the stranger; `named` finds `+NAME` lists.
pub fn judge(
    kind: Kind,
    value: &str,
    locate: &Locator,
    named: &dyn Fn(&str) -> Option<Named>,
) -> Judged {
    judge_at(kind, value, locate, named, 0)
}

fn judge_at(
    kind: Kind,
    value: &str,
    locate: &Locator,
    named: &dyn Fn(&str) -> Option<Named>,
    depth: usize,
) -> Judged {
    let mut out = Judged {
        val: Val::Never,
        everyone: None,
        networks: Vec::new(),
        broad: Vec::new(),
    };
    let items = split(value);
    let mut last_negative = false;
    for raw in &items {
        let (negative, item) = strip_not(raw);
        last_negative = negative;
        let (matches, everyone) = match item.strip_prefix('+') {
            Some(name) if depth < MAX_DEPTH => match named(name).filter(|n| n.kind == kind) {
                Some(list) => {
                    let inner = judge_at(kind, &list.value, &list.locate, named, depth + 1);
                    if !negative {
                        out.networks.extend(inner.networks);
                    }
                    out.broad.extend(inner.broad);
                    (inner.val == Val::Always, inner.everyone)
                }
                None => (false, None),
            },
            Some(_) => (false, None),
            None => {
                let origin = locate.origin(item);
                let every = item_matches_everyone(kind, item);
                if !every && !negative {
                    match kind {
                        Kind::Host => {
                            if let Some((addr, len)) = parse_network(item) {
                                out.networks.push(Network { addr, len, origin });
                            }
                        }
                        Kind::Domain => {
                            if let Some(why) = broad_domain(item) {
                                out.broad.push((origin, why));
                            }
                        }
                    }
                    (false, None)
                } else {
                    (every, every.then_some(origin))
                }
            }
        };
        if matches {
            if negative {
                // Every stranger matches a negative item: none is in the set.
                out.val = Val::Never;
                return out;
            }
            out.val = Val::Always;
            out.everyone = everyone;
            return out;
        }
    }
    if last_negative {
        out.val = Val::Always;
        out.everyone = items.last().map(|i| locate.origin(strip_not(i).1));
    }
    out
}

/// Whether one item matches every stranger: `*`, a /0 network, a regex that matches all.
fn item_matches_everyone(kind: Kind, item: &str) -> bool {
    if item == "*" {
        return true;
    }
    match kind {
        Kind::Host => parse_network(item).is_some_and(|(a, l)| reach(a, l) == Reach::Everyone),
        Kind::Domain => matches!(item, "^" | "^.*" | "^.*$" | "^.+" | "^.+$"),
    }
}

/// Why a domain item covers more than a site's domains, if it does.
fn broad_domain(item: &str) -> Option<&'static str> {
    match item {
        "@mx_any" | "@mx_primary" | "@mx_secondary" => Some(
            "relays to any domain whose MX record names this host, and anyone can publish such \
             a record",
        ),
        _ => {
            let tail = item.strip_prefix('*')?.trim_start_matches('.');
            (!tail.contains('.')).then_some("matches every domain under a top-level domain")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_table() {
        let table: [(&str, &[&str]); 6] = [
            ("a : b:c", &["a", "b", "c"]),
            (" : 127.0.0.1 : ::::1", &["", "127.0.0.1", "::1"]),
            ("<; 192.0.2.0/24 ; ::1", &["192.0.2.0/24", "::1"]),
            ("<, a, b", &["a", "b"]),
            (":", &[""]),
            ("", &[""]),
        ];
        for (value, want) in table {
            assert_eq!(split(value), want.to_vec(), "{value:?}");
        }
    }

    fn at(line: usize) -> Locator {
        Locator {
            line: Location::at("exim.conf", line),
            macros: Vec::new(),
        }
    }

    #[test]
    fn judge_table() {
        let named = |name: &str| -> Option<Named> {
            let (kind, value) = match name {
                "relay_from_hosts" => (Kind::Host, "192.0.2.0/24 : 0.0.0.0/0"),
                "local_domains" => (Kind::Domain, "@ : localhost : example.org"),
                "loop" => (Kind::Host, "+loop"),
                _ => return None,
            };
            Some(Named {
                kind,
                value: value.into(),
                locate: at(9),
            })
        };
        use Kind::*;
        let table = [
            (Host, "*", Val::Always),
            (Host, "127.0.0.1 : ::::1", Val::Never),
            (Host, ":", Val::Never),
            (Host, "<; 0.0.0.0/0", Val::Always),
            (Host, "::0/0", Val::Never), // a colon list: `::0/0` is `:0/0`
            (Host, "<; ::/0", Val::Always),
            (Host, "+relay_from_hosts", Val::Always),
            (Host, "!+relay_from_hosts", Val::Never),
            (Host, "! 192.0.2.1 : *", Val::Always),
            (Host, "!192.0.2.1", Val::Always),
            (Host, "+loop", Val::Never),
            (Host, "net-lsearch;/etc/exim4/hosts", Val::Never),
            (Domain, "+local_domains", Val::Never),
            (Domain, "!+local_domains", Val::Always),
            (Domain, "*", Val::Always),
            (Domain, "*.com : @mx_any", Val::Never),
            (Domain, "^.*$", Val::Always),
            (Domain, "+local_domains : *", Val::Always),
        ];
        for (kind, value, want) in table {
            assert_eq!(judge(kind, value, &at(1), &named).val, want, "{value}");
        }
        let j = judge(Host, "+relay_from_hosts", &at(1), &named);
        assert_eq!(j.everyone.unwrap().at, Location::at("exim.conf", 9));
        assert_eq!(j.networks.len(), 1);
        let broad = judge(Domain, "example.net : *.com : @mx_any", &at(3), &named).broad;
        let items: Vec<&str> = broad.iter().map(|(o, _)| o.item.as_str()).collect();
        assert_eq!(items, ["*.com", "@mx_any"]);
    }

    #[test]
    fn items_from_macros_are_located_at_the_macro() {
        let locate = Locator {
            line: Location::at("exim.conf", 20),
            macros: vec![(
                "0.0.0.0/0 : 127.0.0.1".into(),
                Location::at("update-exim4.conf.conf", 9),
            )],
        };
        let j = judge(Kind::Host, "0.0.0.0/0 : 127.0.0.1", &locate, &|_| None);
        assert_eq!(
            j.everyone.unwrap().at,
            Location::at("update-exim4.conf.conf", 9)
        );
    }
}
