//! The Sendmail checks: sendmail.mc features and defines, sendmail.cf options and rules, and RELAY entries in the access database source, each finding at its file:line.

pub mod access;
pub mod m4;

use super::model::{AuditFinding, AuditReport, Location, Source};
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

/// Audits a sendmail.mc file.
pub fn audit_mc(src: &Source, report: &mut AuditReport) -> McFacts {
    let calls = m4::calls(&src.text);
    let mut facts = McFacts::default();
    let mut defines: Vec<(&str, &str, usize)> = Vec::new();
    for c in &calls {
        let first = c.args.first().map(String::as_str).unwrap_or("");
        let at = Location::at(&src.name, c.line);
        match c.name.as_str() {
            "FEATURE" => {
                facts.features.push(first.to_string());
                if let Some((_, id, why)) = FEATURES.iter().find(|(name, _, _)| *name == first) {
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
            "RELAY_DOMAIN" => {
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

/// Audits a sendmail.cf file: its options, its relay classes, and whether any rule refuses
/// relaying at all.
pub fn audit_cf(src: &Source, report: &mut AuditReport) {
    let mut opts: Vec<(String, String, usize)> = Vec::new();
    for (i, line) in src.text.lines().enumerate() {
        let n = i + 1;
        if let Some(rest) = line.strip_prefix("O ") {
            if let Some((k, v)) = rest.split_once('=') {
                opts.push((k.trim().to_string(), v.trim().to_string(), n));
            }
        } else if let Some(domains) = line.strip_prefix("CR") {
            for d in domains.split_whitespace() {
                if !d.trim_start_matches('.').contains('.') {
                    push(
                        report,
                        &Location::at(&src.name, n),
                        "class R",
                        FindingId::RelayDomainsTooBroad,
                        format!("class R (relay domains) lists {d:?}, a whole top-level domain"),
                        &src.text,
                    );
                }
            }
        }
    }
    if src.text.contains("Scheck_rcpt") && !src.text.contains("Relaying denied") {
        let line = src
            .text
            .lines()
            .position(|l| l.starts_with("Scheck_rcpt"))
            .map(|i| i + 1);
        let at = Location {
            file: src.name.clone(),
            line,
        };
        push(
            report,
            &at,
            "check_rcpt",
            FindingId::OpenRelay,
            "the check_rcpt ruleset has no \"Relaying denied\" rule: the file was built with \
             FEATURE(`promiscuous_relay') (or hand-edited), so it relays for anyone"
                .to_string(),
            &src.text,
        );
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
    let evidence = at
        .line
        .and_then(|n| text.lines().nth(n.saturating_sub(1)))
        .map(|l| format!("{at}: {}", l.trim()))
        .into_iter()
        .collect();
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
