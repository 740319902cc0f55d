//! The Postfix checks: main.cf (or `postconf -n`) and master.cf read together, every smtpd service evaluated with its `-o` overrides, findings located at the setting's file:line.

pub mod maps;
pub mod master;
pub mod params;
pub mod restrictions;

use self::master::{Service, port_label};
use self::params::{Param, Params, split_list};
use self::restrictions::{Context, Decision, ListEval, Why, Widening, evaluate};
use super::model::{AuditFinding, AuditReport, InputError, Source, Trusted};
use super::networks::{Reach, parse_network, reach};
use crate::assess::{FindingId, Mta};

/// Fetches a file the configuration names (a lookup table's source, a `/file` list in
/// mynetworks): `Ok(None)` when it cannot be read (the audit notes that its entries were
/// not checked), `Err` naming the file when it was refused as input (not a regular file,
/// over the size cap), which the audit reports as an error at the setting that names it.
pub type ReadTable<'a> = dyn Fn(&str) -> Result<Option<String>, String> + 'a;

/// Audits one Postfix instance: its main.cf (or `postconf -n` output) and master.cf, either
/// of which may be missing. `read` fetches files the configuration names.
///
/// A value whose `$name` expansion hits a cap (see [`params::MAX_EXPANDED_BYTES`]) and a
/// refused file are errors at the file:line of the setting to blame.
pub fn audit(
    main: Option<&Source>,
    master: Option<&Source>,
    read: &ReadTable<'_>,
    report: &mut AuditReport,
) -> Result<(), InputError> {
    let params = match main {
        Some(s) => Params::parse(&s.name, &s.text)?,
        None => Params::empty("main.cf"),
    };
    let services = match master {
        Some(s) => master::smtpd_services(&s.name, &s.text)?,
        None => Vec::new(),
    };
    if services.is_empty() {
        if let Some(m) = master {
            report.notes.push(format!(
                "{}: no smtpd service; the findings describe main.cf's settings alone",
                m.name
            ));
        }
        check(&params, None, read, report)?;
    }
    for service in &services {
        let mut view = params.clone();
        for o in &service.overrides {
            view.set(
                &o.name,
                Param {
                    value: o.value.clone(),
                    at: o.at.clone(),
                    source: format!("{} -o {}={}", service.name, o.name, o.value),
                },
            );
        }
        check(&view, Some(service), read, report)?;
    }
    Ok(())
}

/// Every check on one smtpd's effective parameters; the first cap hit or refused file
/// ends the audit with an error.
fn check(
    p: &Params,
    service: Option<&Service>,
    read: &ReadTable<'_>,
    report: &mut AuditReport,
) -> Result<(), InputError> {
    let mut out = Findings { p, service, report };
    let everyone = mynetworks(&mut out, read)?;
    relaying(&mut out, everyone, read)?;
    relay_domains(&mut out, read)?;
    auth(&mut out);
    vrfy_banner_rates(&mut out);
    match p.cap_hit() {
        Some(hit) => Err(hit.clone()),
        None => Ok(()),
    }
}

/// Bad input found through setting `name` (a file it names was refused, a cap was hit):
/// an error at that setting.
fn refused(p: &Params, name: &str, why: &str) -> InputError {
    InputError::at(p.location(name), format!("{name}: {why}"))
}

/// Collects findings for one service view, saying which service an override applies to.
struct Findings<'a> {
    p: &'a Params,
    service: Option<&'a Service>,
    report: &'a mut AuditReport,
}

impl Findings<'_> {
    /// A finding located at `name`'s setting, with its line as evidence (plus `more`).
    fn add(&mut self, id: FindingId, name: &str, detail: String, more: Vec<String>) {
        let at = self.p.location(name);
        let mut evidence = vec![self.p.evidence(name)];
        evidence.extend(more);
        let detail = match self.service {
            // Only a setting written in master.cf belongs to one service; main.cf's hold for all.
            Some(s) if at.file == s.at.file => format!(
                "{detail} (on {}: master.cf service {} overrides main.cf)",
                port_label(&s.name),
                s.name
            ),
            _ => detail,
        };
        self.report.findings.push(AuditFinding::new(
            &at,
            name,
            Mta::Postfix,
            id,
            detail,
            evidence,
        ));
    }
}

/// mynetworks (or mynetworks_style when it is unset). Returns the entry that trusts every
/// address, if any.
fn mynetworks(out: &mut Findings<'_>, read: &ReadTable<'_>) -> Result<Option<String>, InputError> {
    let p = out.p;
    if p.explicit("mynetworks").is_none() {
        let style = p.get("mynetworks_style");
        // Only explicit private or loopback interface addresses rule out a public subnet.
        let public_or_unknown = split_list(&p.get("inet_interfaces")).iter().all(|i| {
            i != "loopback-only"
                && parse_network(i)
                    .is_none_or(|(a, _)| reach(a, 24) != Reach::Local || a.is_unspecified())
        });
        let why = match style.trim() {
            "class" => Some(
                "mynetworks_style = class trusts the whole class A/B/C network of every \
                 interface address: on a public address, thousands of strangers' hosts",
            ),
            "subnet" if public_or_unknown => Some(
                "mynetworks is unset and mynetworks_style = subnet (the default below \
                 compatibility_level 2) trusts every host on the subnets of this host's \
                 interfaces: on a public address, the provider's neighbours may relay",
            ),
            _ => None,
        };
        if let Some(why) = why {
            out.add(
                FindingId::TrustedNetworksTooWide,
                "mynetworks_style",
                why.to_string(),
                vec![],
            );
        }
        return Ok(None);
    }
    let mut everyone = None;
    // mynetworks relays only through permit_mynetworks in a relay list.
    let permits = ["smtpd_relay_restrictions", "smtpd_recipient_restrictions"]
        .iter()
        .any(|list| {
            split_list(&p.get(list))
                .iter()
                .any(|r| r == "permit_mynetworks")
        });
    let entries = mynetworks_entries(&p.get("mynetworks"), read, 0)
        .map_err(|why| refused(p, "mynetworks", &why))?;
    for entry in entries {
        let Some((addr, len)) = parse_network(&entry) else {
            continue;
        };
        if permits {
            let at = p.location("mynetworks");
            out.report
                .trusted
                .push(Trusted::new(addr, len, &at, "mynetworks", Mta::Postfix));
        }
        match reach(addr, len) {
            Reach::Everyone => {
                everyone.get_or_insert(entry.clone());
                out.add(
                    FindingId::TrustedNetworksTooWide,
                    "mynetworks",
                    format!(
                        "mynetworks contains {entry}: every address on the internet is trusted"
                    ),
                    vec![],
                );
            }
            Reach::Wide => out.add(
                FindingId::TrustedNetworksTooWide,
                "mynetworks",
                format!("mynetworks contains {entry}, a public network wider than one site's"),
                vec![],
            ),
            Reach::Local => {}
        }
    }
    Ok(everyone)
}

/// The entries of a mynetworks value, with `/file` lists read in; `!` exclusions and
/// tables are skipped (an exclusion only narrows).
fn mynetworks_entries(
    value: &str,
    read: &ReadTable<'_>,
    depth: usize,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in split_list(value) {
        if item.starts_with('!') {
            continue;
        }
        if item.starts_with('/') && depth < 4 {
            if let Some(text) = read(&item)? {
                let body: String = text
                    .lines()
                    .map(|l| l.split('#').next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(" ");
                out.extend(mynetworks_entries(&body, read, depth + 1)?);
            }
            continue;
        }
        out.push(item);
    }
    Ok(out)
}

/// smtpd_relay_restrictions, then smtpd_recipient_restrictions, for a stranger.
fn relaying(
    out: &mut Findings<'_>,
    everyone: Option<String>,
    read: &ReadTable<'_>,
) -> Result<(), InputError> {
    let p = out.p;
    let ctx = Context {
        params: p,
        mynetworks_everyone: everyone,
        read,
    };
    const RELAY: &str = "smtpd_relay_restrictions";
    const RCPT: &str = "smtpd_recipient_restrictions";
    let relay = evaluate(&ctx, RELAY, &p.raw(RELAY).unwrap_or_default());
    let rcpt = evaluate(&ctx, RCPT, &p.raw(RCPT).unwrap_or_default());
    for (list, eval) in [(RELAY, &relay), (RCPT, &rcpt)] {
        if let Some(why) = eval.errors.first() {
            return Err(refused(p, list, why));
        }
    }
    for unread in relay.unread.iter().chain(&rcpt.unread) {
        out.report.notes.push(format!(
            "{}: {unread}; its entries were not checked",
            p.location(RELAY).file
        ));
    }
    widenings(out, RELAY, &relay);
    if !relay.has_required && !rcpt.has_required {
        out.report.notes.push(format!(
            "{}: neither {RELAY} nor {RCPT} holds reject_unauth_destination, \
             defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains: \
             smtpd refuses to run (fatal) until one does",
            p.location(RELAY)
        ));
        return Ok(());
    }
    let Decision::Permit(relay_why) = &relay.decision else {
        return Ok(());
    };
    widenings(out, RCPT, &rcpt);
    let Decision::Permit(rcpt_why) = &rcpt.decision else {
        return Ok(());
    };
    // Name the list that actively lets the stranger through; an empty or undecided list
    // only passes the request on.
    let (list, why) = if *relay_why == Why::EndOfList {
        (RCPT, rcpt_why)
    } else {
        (RELAY, relay_why)
    };
    let both = vec![p.evidence(if list == RELAY { RCPT } else { RELAY })];
    match why {
        Why::Mynetworks(entry) => out.add(
            FindingId::OpenRelay,
            "mynetworks",
            format!(
                "mynetworks contains {entry}, so permit_mynetworks in {list} lets every client relay"
            ),
            vec![p.evidence(list)],
        ),
        Why::Permit => out.add(
            FindingId::OpenRelay,
            list,
            format!("{list}: `permit` comes before any relay check, so every client may relay"),
            both,
        ),
        Why::Forgeable(restriction, table, key) => out.add(
            FindingId::OpenRelay,
            list,
            format!(
                "{list}: {restriction} {table} answers OK for {key:?}, which the client chooses \
                 itself: anyone who sends with that {} relays",
                if restriction.contains("helo") { "HELO name" } else { "sender address" }
            ),
            both,
        ),
        Why::Everyone(restriction, table) => out.add(
            FindingId::OpenRelay,
            list,
            format!("{list}: {restriction} {table} answers OK for every client, so every client may relay"),
            both,
        ),
        Why::EndOfList => out.add(
            FindingId::OpenRelay,
            list,
            format!(
                "no relay check refuses a stranger: {RELAY} and {RCPT} both end without \
                 reject_unauth_destination (or defer_unauth_destination) in effect, and the end \
                 of a list permits"
            ),
            both,
        ),
    }
    Ok(())
}

fn widenings(out: &mut Findings<'_>, list: &str, eval: &ListEval) {
    for w in &eval.widenings {
        match w {
            Widening::MxBackup => out.add(
                FindingId::RelayDomainsTooBroad,
                list,
                format!(
                    "{list}: permit_mx_backup without relay_recipient_maps relays for any domain \
                     whose MX record names this host, and anyone can publish such a record"
                ),
                vec![],
            ),
            Widening::WideClient(table, key) => out.add(
                FindingId::TrustedNetworksTooWide,
                list,
                format!("{list}: check_client_access {table} answers OK for {key}, a wide public network"),
                vec![],
            ),
            Widening::BroadRecipient(table, key) => out.add(
                FindingId::RelayDomainsTooBroad,
                list,
                format!("{list}: check_recipient_access {table} answers OK for {key:?}, a whole top-level domain"),
                vec![],
            ),
        }
    }
}

/// relay_domains entries that match far more than the domains this server serves.
fn relay_domains(out: &mut Findings<'_>, read: &ReadTable<'_>) -> Result<(), InputError> {
    let value = out.p.get("relay_domains");
    for item in split_list(&value) {
        let broad = if let Some((kind, _)) = item.split_once(':') {
            match maps::load(&item, read) {
                maps::Table::Static(_) => Some(format!("{item} matches every domain")),
                maps::Table::Entries(entries) => entries
                    .iter()
                    .find(|e| too_broad_domain(&e.key))
                    .map(|e| format!("{kind} table {item} lists {:?}", e.key)),
                maps::Table::Unknown(_) => None,
                maps::Table::Refused(why) => return Err(refused(out.p, "relay_domains", &why)),
            }
        } else if too_broad_domain(&item) {
            Some(format!("{item:?} matches every domain under it"))
        } else {
            None
        };
        if let Some(why) = broad {
            out.add(
                FindingId::RelayDomainsTooBroad,
                "relay_domains",
                format!(
                    "relay_domains: {why}; anyone may relay to those domains through this server"
                ),
                vec![],
            );
        }
    }
    Ok(())
}

/// `*`, `.`, or a single label (a top-level domain: `com`, `.com`).
fn too_broad_domain(d: &str) -> bool {
    let d = d.trim().trim_start_matches('@').trim_start_matches('.');
    // `localhost` is in Postfix's default mydestination, which relay_domains inherits.
    d.is_empty()
        || d == "*"
        || (!d.contains('.') && !d.contains('/') && !d.contains(':') && d != "localhost")
}

/// AUTH offered before TLS.
fn auth(out: &mut Findings<'_>) {
    let p = out.p;
    if !p.flag("smtpd_sasl_auth_enable") || p.flag("smtpd_tls_auth_only") {
        return;
    }
    let tls_first = p.flag("smtpd_tls_wrappermode")
        || p.flag("smtpd_enforce_tls")
        || p.get("smtpd_tls_security_level").trim() == "encrypt";
    let no_plaintext = p.get("smtpd_sasl_security_options").contains("noplaintext");
    if tls_first || no_plaintext {
        return;
    }
    out.add(
        FindingId::AuthBeforeTls,
        "smtpd_sasl_auth_enable",
        "SMTP AUTH is on and smtpd_tls_auth_only is not yes: PLAIN and LOGIN are offered \
         before STARTTLS, so passwords can cross the network in clear text"
            .to_string(),
        vec![p.evidence("smtpd_tls_auth_only")],
    );
}

fn vrfy_banner_rates(out: &mut Findings<'_>) {
    let p = out.p;
    if !p.flag("disable_vrfy_command") {
        out.add(
            FindingId::VrfyEnabled,
            "disable_vrfy_command",
            "disable_vrfy_command is not yes (Postfix's default is no): VRFY tells strangers \
             which mailboxes exist"
                .to_string(),
            vec![],
        );
    }
    let (banner, refs) = p.expanded("smtpd_banner");
    if refs.contains("mail_version") {
        out.add(
            FindingId::BannerVersion,
            "smtpd_banner",
            format!("smtpd_banner uses $mail_version: the greeting reads {banner:?}"),
            vec![],
        );
    }
    let limit = |name: &str| p.get(name).trim().parse::<u64>().unwrap_or(0);
    if limit("smtpd_client_connection_rate_limit") == 0
        && limit("smtpd_client_message_rate_limit") == 0
    {
        out.add(
            FindingId::NoRateLimits,
            "smtpd_client_connection_rate_limit",
            "smtpd_client_connection_rate_limit and smtpd_client_message_rate_limit are 0 \
             (the default): anvil limits no client"
                .to_string(),
            vec![p.evidence("smtpd_client_message_rate_limit")],
        );
    }
}

#[cfg(test)]
mod tests;
