//! The Sendmail checks: sendmail.mc features and defines, the rules of sendmail.cf (written, or compiled from the .mc by m4 with sendmail-cf), class R, and RELAY entries in the access database source, each finding at its file:line.
//!
//! A compiled .mc is judged by the rules m4 wrote, each finding placed at the .mc line that
//! caused it (its FEATURE or RELAY_DOMAIN) or, for what sendmail-cf builds in (Relay_ok's
//! 127.0.0.1), at the line of the compiled text. Without m4 the .mc is read by its macro
//! calls alone, a heuristic, and a note says so.

pub mod access;
pub mod cf;
pub mod compile;
pub mod m4;

use std::net::IpAddr;

use self::cf::{CfFacts, Rule};
use super::ReadFile;
use super::model::{AuditFinding, AuditReport, InputError, Location, Source, Trusted};
use super::networks::{Reach, reach};
use crate::assess::{FindingId, Mta};

/// A relay-related FEATURE and what it does, in the finding's words.
const FEATURES: [(&str, FindingId, &str); 6] = [
    (
        "promiscuous_relay",
        FindingId::OpenRelay,
        "FEATURE(`promiscuous_relay') relays mail from anyone to anyone",
    ),
    (
        "loose_relay_check",
        FindingId::OpenRelay,
        "FEATURE(`loose_relay_check') accepts user%other.domain@this.host and relays it: \
         anyone can relay with the percent hack",
    ),
    (
        "relay_local_from",
        FindingId::OpenRelay,
        "FEATURE(`relay_local_from') relays whenever the sender address is in a local \
         domain, and anyone can write such a sender",
    ),
    (
        "relay_entire_domain",
        FindingId::TrustedNetworksTooWide,
        "FEATURE(`relay_entire_domain') relays for every host whose name is in a local \
         domain ($=m), as its reverse DNS claims",
    ),
    (
        "relay_based_on_MX",
        FindingId::RelayDomainsTooBroad,
        "FEATURE(`relay_based_on_MX') relays for any domain whose MX record names this host, \
         and anyone can publish such a record",
    ),
    (
        "accept_unresolvable_domains",
        FindingId::AcceptsUnresolvableDomains,
        "FEATURE(`accept_unresolvable_domains') accepts senders at domains that do not \
         resolve",
    ),
];

/// Audits a sendmail.mc file by its macro calls. With `relay_from_calls` false (the .mc was
/// compiled, and its rules are judged instead) the relay FEATUREs and RELAY_DOMAIN are left
/// to [`audit_compiled`].
pub fn audit_mc(src: &Source, report: &mut AuditReport, relay_from_calls: bool) -> McFacts {
    let calls = m4::calls(&src.text);
    let mut facts = McFacts::default();
    let mut defines: Vec<(&str, &str, usize)> = Vec::new();
    for c in &calls {
        let first = c.args.first().map(String::as_str).unwrap_or("");
        let at = Location::at(&src.name, c.line);
        match c.name.as_str() {
            "FEATURE" => {
                facts.features.push(first.to_string());
                let feature = FEATURES.iter().find(|(name, _, _)| *name == first);
                // Compiled: the rules decide relaying; only what rules cannot show is read here.
                let relay =
                    feature.is_some_and(|(_, id, _)| *id != FindingId::AcceptsUnresolvableDomains);
                if let Some((_, id, why)) = feature.filter(|_| relay_from_calls || !relay) {
                    push(
                        report,
                        &at,
                        &format!("FEATURE({first})"),
                        *id,
                        why.to_string(),
                        &src.text,
                    );
                }
            }
            "RELAY_DOMAIN" if relay_from_calls => {
                for d in c.args.iter().flat_map(|a| a.split_whitespace()) {
                    if !d.trim_start_matches('.').contains('.') {
                        push(
                            report,
                            &at,
                            "RELAY_DOMAIN",
                            FindingId::RelayDomainsTooBroad,
                            format!("RELAY_DOMAIN lists {d:?}, a whole top-level domain"),
                            &src.text,
                        );
                    }
                }
            }
            "define" => {
                if let Some(value) = c.args.get(1) {
                    defines.push((first, value, c.line));
                }
            }
            "TRUST_AUTH_MECH" => defines.push(("TRUST_AUTH_MECH", first, c.line)),
            _ => {}
        }
    }
    // A later define wins, as in m4.
    let define = |name: &str| {
        defines
            .iter()
            .rev()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, l)| (*v, *l))
    };
    let place = |line: Option<usize>| Location {
        file: src.name.clone(),
        line,
    };
    let options = Options {
        privacy: define("confPRIVACY_FLAGS").map(|(v, l)| (v.to_string(), place(Some(l)))),
        greeting: define("confSMTP_LOGIN_MSG").map(|(v, l)| (v.to_string(), place(Some(l)))),
        auth_mechanisms: define("confAUTH_MECHANISMS")
            .or_else(|| define("TRUST_AUTH_MECH"))
            .map(|(v, l)| (v.to_string(), place(Some(l)))),
        auth_options: define("confAUTH_OPTIONS").map(|(v, _)| v.to_string()),
        rate_limited: define("confCONNECTION_RATE_THROTTLE")
            .is_some_and(|(v, _)| v.trim().parse::<u64>().unwrap_or(0) > 0)
            || facts.features.iter().any(|f| f == "ratecontrol"),
        names: OptionNames::MC,
    };
    options.check(&src.name, &src.text, report);
    facts
}

/// What a .mc file tells the access-database check.
#[derive(Debug, Default, Clone)]
pub struct McFacts {
    pub features: Vec<String>,
}

/// Audits a sendmail.cf file: its options, and its relay rules, classes and access map.
/// A class R file refused as input is an error at the line that names it.
pub fn audit_cf(
    src: &Source,
    read: &ReadFile<'_>,
    report: &mut AuditReport,
) -> Result<McFacts, InputError> {
    let mut opts: Vec<(String, String, usize)> = Vec::new();
    for (i, line) in src.text.lines().enumerate() {
        if let Some((k, v)) = line.strip_prefix("O ").and_then(|r| r.split_once('=')) {
            opts.push((k.trim().to_string(), v.trim().to_string(), i + 1));
        }
    }
    let opt = |name: &str| {
        opts.iter()
            .rev()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, l)| (v.clone(), Location::at(&src.name, *l)))
    };
    let options = Options {
        privacy: opt("PrivacyOptions"),
        greeting: opt("SmtpGreetingMessage"),
        auth_mechanisms: opt("AuthMechanisms"),
        auth_options: opt("AuthOptions").map(|(v, _)| v),
        rate_limited: opt("ConnectionRateThrottle")
            .is_some_and(|(v, _)| v.trim().parse::<u64>().unwrap_or(0) > 0)
            || src.text.contains("ClientRate:"),
        names: OptionNames::CF,
    };
    options.check(&src.name, &src.text, report);
    let places = CfPlaces { cf: src };
    rules(&cf::facts(&src.text), &places, read, report)
}

/// Audits an .mc compiled into `cf_text`: options and non-relay features by its macro calls,
/// relaying by the compiled rules, placed at the .mc's lines where they come from.
pub fn audit_compiled(
    mc: &Source,
    cf_text: &str,
    read: &ReadFile<'_>,
    report: &mut AuditReport,
) -> Result<McFacts, InputError> {
    let mut facts = audit_mc(mc, report, false);
    let compiled = Source::new(format!("{} (compiled)", mc.name), cf_text);
    let places = McPlaces {
        mc,
        calls: m4::calls(&mc.text),
        compiled: &compiled,
    };
    let ruled = rules(&cf::facts(cf_text), &places, read, report)?;
    facts.features.extend(ruled.features);
    Ok(facts)
}

/// Where a .cf fact is written down, for the finding's location and evidence.
trait Places {
    /// The line of the rule a FEATURE wrote (at .cf line `n`).
    fn rule(&self, rule: Rule, n: usize) -> Location;
    /// The line a class R entry (at .cf line `n`) was written on.
    fn class_r(&self, entry: &str, n: usize) -> Location;
    /// A line of the .cf text itself.
    fn cf_line(&self, n: usize) -> Location;
    /// The text of the line at `at`.
    fn quote(&self, at: &Location) -> Option<String>;
    /// The file beside which the files the configuration names are looked for.
    fn home(&self) -> &str;
}

/// A .cf file read as it is.
struct CfPlaces<'a> {
    cf: &'a Source,
}

impl Places for CfPlaces<'_> {
    fn rule(&self, _: Rule, n: usize) -> Location {
        self.cf_line(n)
    }
    fn class_r(&self, _: &str, n: usize) -> Location {
        self.cf_line(n)
    }
    fn cf_line(&self, n: usize) -> Location {
        Location::at(&self.cf.name, n)
    }
    fn quote(&self, at: &Location) -> Option<String> {
        line_of(&self.cf.text, at)
    }
    fn home(&self) -> &str {
        &self.cf.name
    }
}

/// An .mc and the .cf m4 compiled from it: facts are placed at the .mc's FEATURE or
/// RELAY_DOMAIN line when it has one, else at the compiled line.
struct McPlaces<'a> {
    mc: &'a Source,
    calls: Vec<m4::Call>,
    compiled: &'a Source,
}

impl McPlaces<'_> {
    fn call(&self, name: &str, arg: impl Fn(&str) -> bool) -> Option<Location> {
        self.calls
            .iter()
            .rev()
            .find(|c| c.name == name && c.args.iter().any(|a| arg(a)))
            .map(|c| Location::at(&self.mc.name, c.line))
    }
}

impl Places for McPlaces<'_> {
    fn rule(&self, rule: Rule, n: usize) -> Location {
        self.call("FEATURE", |a| a == rule.feature())
            .unwrap_or_else(|| self.cf_line(n))
    }
    fn class_r(&self, entry: &str, n: usize) -> Location {
        self.call("RELAY_DOMAIN", |a| a.split_whitespace().any(|e| e == entry))
            .unwrap_or_else(|| self.cf_line(n))
    }
    fn cf_line(&self, n: usize) -> Location {
        Location::at(&self.compiled.name, n)
    }
    fn quote(&self, at: &Location) -> Option<String> {
        let text = if at.file == self.mc.name {
            &self.mc.text
        } else {
            &self.compiled.text
        };
        line_of(text, at)
    }
    fn home(&self) -> &str {
        &self.mc.name
    }
}

fn line_of(text: &str, at: &Location) -> Option<String> {
    at.line
        .and_then(|n| text.lines().nth(n.saturating_sub(1)))
        .map(|l| l.trim().to_string())
}

/// The relay findings of a .cf's rules and classes; the features it shows, for the access
/// map's check. A class R file refused as input is an error at the .cf line that names it.
fn rules(
    facts: &CfFacts,
    places: &dyn Places,
    read: &ReadFile<'_>,
    report: &mut AuditReport,
) -> Result<McFacts, InputError> {
    let mut out = McFacts::default();
    let add = |report: &mut AuditReport, at: &Location, setting: &str, id, detail: String| {
        push_quoted(report, at, setting, id, detail, places.quote(at));
    };
    for (rule, n) in &facts.rules {
        out.features.push(rule.feature().to_string());
        let Some((name, id, why)) = FEATURES.iter().find(|(f, _, _)| *f == rule.feature()) else {
            continue;
        };
        let at = places.rule(*rule, *n);
        let in_cf = at == places.cf_line(*n);
        let (setting, detail) = match (rule, in_cf) {
            (Rule::Promiscuous, true) => (
                "check_rcpt".to_string(),
                "the check_rcpt ruleset has no \"Relaying denied\" rule: the file was built \
                 with FEATURE(`promiscuous_relay') (or hand-edited), so it relays for anyone"
                    .to_string(),
            ),
            (_, true) => (
                format!("FEATURE({name})"),
                format!("{why}: the rules have what this FEATURE writes"),
            ),
            (_, false) => (
                format!("FEATURE({name})"),
                format!("{why} (compiled: its rule is at {})", places.cf_line(*n)),
            ),
        };
        if *rule == Rule::Promiscuous {
            let everyone = Trusted::everyone(&at, &setting, Mta::Sendmail);
            report.trusted.extend(everyone);
        }
        add(report, &at, &setting, *id, detail);
    }
    for (literal, n) in &facts.relay_ok_addresses {
        let text = literal.strip_prefix("IPv6:").unwrap_or(literal);
        if let Ok(ip) = text.parse::<IpAddr>() {
            let len = if ip.is_ipv4() { 32 } else { 128 };
            let at = places.cf_line(*n);
            report.trusted.push(Trusted::new(
                ip,
                len,
                &at,
                "Relay_ok (built in)",
                Mta::Sendmail,
            ));
        }
    }
    let mut class_r: Vec<(String, Location)> = facts
        .class_r
        .iter()
        .map(|(e, n)| (e.clone(), places.class_r(e, *n)))
        .collect();
    for (path, optional, n) in &facts.class_r_files {
        let found = super::read_near(read, path, places.home()).map_err(|why| {
            InputError::at(places.cf_line(*n), format!("class R file {path}: {why}"))
        })?;
        match found {
            Some((name, text)) => class_r.extend(text.lines().enumerate().flat_map(|(i, l)| {
                let l = l.split('#').next().unwrap_or("");
                let at = Location::at(&name, i + 1);
                l.split_whitespace()
                    .map(move |e| (e.to_string(), at.clone()))
                    .collect::<Vec<_>>()
            })),
            None if *optional => {}
            None => report.notes.push(format!(
                "{}: class R file {path} not found: its relay domains are not audited",
                places.cf_line(*n)
            )),
        }
    }
    for (entry, at) in &class_r {
        if let Some((addr, len)) = access::prefix(entry) {
            report
                .trusted
                .push(Trusted::new(addr, len, at, "class R", Mta::Sendmail));
            if reach(addr, len) != Reach::Local {
                let detail = format!(
                    "class R (relay domains and networks) lists {entry}, i.e. {addr}/{len}, a \
                     public network wider than one site's: every client in it may relay"
                );
                add(
                    report,
                    at,
                    "class R",
                    FindingId::TrustedNetworksTooWide,
                    detail,
                );
            }
        } else if !entry.trim_start_matches('.').contains('.') {
            let detail =
                format!("class R (relay domains) lists {entry:?}, a whole top-level domain");
            add(
                report,
                at,
                "class R",
                FindingId::RelayDomainsTooBroad,
                detail,
            );
        }
    }
    if facts.access_map.is_some() {
        out.features.push("access_db".into());
    }
    Ok(out)
}

/// The options .mc and .cf files share, under their two spellings.
struct Options {
    privacy: Option<(String, Location)>,
    greeting: Option<(String, Location)>,
    auth_mechanisms: Option<(String, Location)>,
    auth_options: Option<String>,
    rate_limited: bool,
    names: OptionNames,
}

struct OptionNames {
    privacy: &'static str,
    greeting: &'static str,
    auth_options: &'static str,
    rate: &'static str,
}

impl OptionNames {
    const MC: OptionNames = OptionNames {
        privacy: "confPRIVACY_FLAGS",
        greeting: "confSMTP_LOGIN_MSG",
        auth_options: "confAUTH_OPTIONS",
        rate: "confCONNECTION_RATE_THROTTLE",
    };
    const CF: OptionNames = OptionNames {
        privacy: "PrivacyOptions",
        greeting: "SmtpGreetingMessage",
        auth_options: "AuthOptions",
        rate: "ConnectionRateThrottle",
    };
}

impl Options {
    fn check(&self, file: &str, text: &str, report: &mut AuditReport) {
        let n = &self.names;
        let default = Location::default_in(file);
        // Sendmail's default PrivacyOptions is `authwarnings`: VRFY answers.
        let (privacy, at) = self
            .privacy
            .clone()
            .unwrap_or_else(|| ("authwarnings".into(), default.clone()));
        let flags = privacy.to_ascii_lowercase();
        if !(flags.contains("novrfy") || flags.contains("goaway")) {
            push(
                report,
                &at,
                n.privacy,
                FindingId::VrfyEnabled,
                format!(
                    "{} = {privacy:?} has neither novrfy nor goaway: VRFY tells strangers which mailboxes exist",
                    n.privacy
                ),
                text,
            );
        }
        // The default greeting is `$j Sendmail $v/$Z; $b`: the version twice.
        let (greeting, at) = self
            .greeting
            .clone()
            .unwrap_or_else(|| ("$j Sendmail $v/$Z; $b".into(), default.clone()));
        if greeting.contains("$v") || greeting.contains("$Z") {
            push(
                report,
                &at,
                n.greeting,
                FindingId::BannerVersion,
                format!(
                    "{} = {greeting:?}: $v and $Z put the version in the greeting",
                    n.greeting
                ),
                text,
            );
        }
        if let Some((mechs, at)) = &self.auth_mechanisms {
            let upper = mechs.to_ascii_uppercase();
            let plaintext = upper
                .split([' ', ','])
                .any(|m| m == "PLAIN" || m == "LOGIN");
            let needs_tls = self
                .auth_options
                .as_deref()
                .is_some_and(|o| o.split([' ', ',']).any(|f| f == "p"));
            if plaintext && !needs_tls {
                push(
                    report,
                    at,
                    n.auth_options,
                    FindingId::AuthBeforeTls,
                    format!(
                        "AUTH offers {mechs:?} and {} lacks `p`: PLAIN/LOGIN work before STARTTLS, passwords in clear text",
                        n.auth_options
                    ),
                    text,
                );
            }
        }
        if !self.rate_limited {
            push(
                report,
                &default,
                n.rate,
                FindingId::NoRateLimits,
                format!(
                    "neither {} nor FEATURE(`ratecontrol') limits how fast a client may connect",
                    n.rate
                ),
                text,
            );
        }
    }
}

/// A Sendmail finding with the file's line as evidence.
fn push(
    report: &mut AuditReport,
    at: &Location,
    setting: &str,
    id: FindingId,
    detail: String,
    text: &str,
) {
    push_quoted(report, at, setting, id, detail, line_of(text, at));
}

/// A Sendmail finding quoting `line` (the text at `at`) as evidence.
fn push_quoted(
    report: &mut AuditReport,
    at: &Location,
    setting: &str,
    id: FindingId,
    detail: String,
    line: Option<String>,
) {
    let evidence = line.map(|l| format!("{at}: {l}")).into_iter().collect();
    report.findings.push(AuditFinding::new(
        at,
        setting,
        Mta::Sendmail,
        id,
        detail,
        evidence,
    ));
}

#[cfg(test)]
mod tests;
