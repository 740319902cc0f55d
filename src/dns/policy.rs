//! A domain's mail policy records, parsed without I/O: SPF (RFC 7208), DMARC (RFC 7489), and the presence of MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) records.
//!
//! Hand-written rather than mail-auth: mail-auth 0.13 brings its own resolver and the
//! DKIM crypto stack, and we need only the record grammar, checked here by tables.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::org_domain::organizational_domain;
use super::spf_tree::SpfTree;
use super::{Answer, LookupError};

/// RFC 7208 §4.6.4: more than 10 mechanisms and modifiers that query DNS is a permerror.
pub const SPF_DNS_LIMIT: u32 = 10;

/// The SPF record of a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spf {
    pub present: bool,
    /// Parsed without error, and exactly one record.
    pub valid: bool,
    /// The record as published (the first one, when there are several).
    pub raw: Option<String>,
    /// The qualifier of the `all` mechanism: `+`, `-`, `~`, `?`; `None` when there is none.
    pub all: Option<char>,
    /// Mechanisms and modifiers in this record that cost a DNS lookup (include, a, mx,
    /// ptr, exists, redirect). Included records are not followed.
    pub dns_lookups: u32,
    pub redirect: Option<String>,
    /// The domains of the `include:` mechanisms, in order (those written with macros,
    /// `%{...}`, are left out: they depend on the message).
    #[serde(default)]
    pub includes: Vec<String>,
    pub problems: Vec<String>,
    /// The TXT lookup failed (SERVFAIL, timeout): the record could not be read.
    pub lookup_error: Option<String>,
    /// The whole tree, includes and redirect followed (empty until followed).
    #[serde(default)]
    pub tree: SpfTree,
}

impl Spf {
    /// The records evaluation goes on to, as (term, domain): each include, then the
    /// redirect (RFC 7208 §6.1: used only when no mechanism matched, but it still counts).
    pub fn targets(&self) -> Vec<(String, String)> {
        let includes = self
            .includes
            .iter()
            .map(|d| (format!("include:{d}"), super::normalize_name(d)));
        let redirect = self
            .redirect
            .iter()
            .filter(|d| !d.contains('%'))
            .map(|d| (format!("redirect={d}"), super::normalize_name(d)));
        includes.chain(redirect).collect()
    }

    /// DNS-querying terms: across the whole tree once it was followed, else this record's.
    pub fn total_lookups(&self) -> u32 {
        self.dns_lookups.max(self.tree.dns_lookups)
    }
}

/// The DMARC record of a domain (`_dmarc.DOMAIN`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dmarc {
    pub present: bool,
    pub valid: bool,
    pub raw: Option<String>,
    /// `none`, `quarantine` or `reject`.
    pub p: Option<String>,
    pub sp: Option<String>,
    /// 0–100; absent means 100.
    pub pct: Option<u8>,
    pub rua: Vec<String>,
    /// Forensic report destinations.
    #[serde(default)]
    pub ruf: Vec<String>,
    pub problems: Vec<String>,
    /// Tags RFC 7489 does not define (receivers ignore them: often a typo).
    #[serde(default)]
    pub unknown_tags: Vec<String>,
    pub lookup_error: Option<String>,
    /// Each report destination on another organisational domain, and whether it
    /// authorises the reports (RFC 7489 §7.1); filled in when looked up.
    #[serde(default)]
    pub report_authorizations: Vec<ReportAuthorization>,
}

/// Whether an external report destination accepts a domain's DMARC reports: the TXT
/// record `DOMAIN._report._dmarc.DEST` starting with `v=DMARC1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAuthorization {
    /// The destination's domain.
    pub destination: String,
    /// The name asked.
    pub record: String,
    pub authorized: bool,
    /// The lookup failed (SERVFAIL, timeout): authorisation unknown.
    pub lookup_error: Option<String>,
}

/// Tags of RFC 7489 §6.3, and those of RFC 9091 and DMARCbis (np, psd, t), which
/// receivers may know.
const DMARC_TAGS: &[&str] = &[
    "v", "p", "sp", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri", "np", "psd", "t",
];

impl Dmarc {
    /// The domains of the `mailto:` report destinations (rua and ruf) outside the
    /// organisational domain of `domain`, once each: those need an authorisation record.
    pub fn external_destinations(&self, domain: &str) -> Vec<String> {
        let own = organizational_domain(domain);
        let mut out: Vec<String> = Vec::new();
        for uri in self.rua.iter().chain(&self.ruf) {
            let Some(address) = uri
                .get(..7)
                .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                .and_then(|_| uri.get(7..))
            else {
                continue;
            };
            // `mailto:a@b.example!10m`: a size limit may follow (RFC 7489 §6.2).
            let address = address.split('!').next().unwrap_or_default();
            let Some((_, host)) = address.rsplit_once('@') else {
                continue;
            };
            let host = super::normalize_name(host);
            if !host.is_empty() && organizational_domain(&host) != own && !out.contains(&host) {
                out.push(host);
            }
        }
        out
    }
}

/// The authorisation of `destination` to receive the reports of `domain`, from the TXT
/// answer of `DOMAIN._report._dmarc.DEST`.
pub fn report_authorization(
    domain: &str,
    destination: &str,
    answer: &Answer<Vec<String>>,
) -> ReportAuthorization {
    let record = report_authorization_name(domain, destination);
    match texts(answer) {
        Ok(list) => ReportAuthorization {
            destination: destination.to_string(),
            record,
            authorized: !tagged(list, "v=DMARC1", &[';', ' ']).is_empty(),
            lookup_error: None,
        },
        Err(e) => ReportAuthorization {
            destination: destination.to_string(),
            record,
            authorized: false,
            lookup_error: Some(e),
        },
    }
}

/// `DOMAIN._report._dmarc.DEST` (RFC 7489 §7.1).
pub fn report_authorization_name(domain: &str, destination: &str) -> String {
    format!("{domain}._report._dmarc.{destination}")
}

/// A TXT record found by its version tag (MTA-STS, TLS-RPT).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub present: bool,
    pub raw: Option<String>,
    pub lookup_error: Option<String>,
}

/// The TXT strings of an answer, or the lookup error worth reporting. A missing name
/// or type just means "no record".
fn texts(answer: &Answer<Vec<String>>) -> Result<&[String], String> {
    match answer {
        Ok(list) => Ok(list),
        Err(LookupError::NxDomain | LookupError::NoRecords) => Ok(&[]),
        Err(e) => Err(e.to_string()),
    }
}

/// Records that start with `tag` (case-insensitive) followed by the end or `sep`.
fn tagged<'a>(list: &'a [String], tag: &str, sep: &[char]) -> Vec<&'a str> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| {
            s.len() >= tag.len()
                && s.is_char_boundary(tag.len())
                && s[..tag.len()].eq_ignore_ascii_case(tag)
                && s[tag.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| sep.contains(&c))
        })
        .collect()
}

/// SPF from the TXT answer of the domain.
pub fn spf(answer: &Answer<Vec<String>>) -> Spf {
    let list = match texts(answer) {
        Ok(list) => list,
        Err(e) => {
            return Spf {
                lookup_error: Some(e),
                ..Spf::default()
            };
        }
    };
    let records = tagged(list, "v=spf1", &[' ']);
    let Some(first) = records.first() else {
        return Spf::default();
    };
    let mut out = parse_spf(first);
    if records.len() > 1 {
        out.problems.push(format!(
            "{} SPF records (RFC 7208 §4.5: more than one is a permerror)",
            records.len()
        ));
        out.valid = false;
    }
    out
}

/// Parses one `v=spf1 ...` record.
pub fn parse_spf(record: &str) -> Spf {
    let mut out = Spf {
        present: true,
        raw: Some(record.to_string()),
        ..Spf::default()
    };
    for term in record.split_ascii_whitespace().skip(1) {
        let lower = term.to_ascii_lowercase();
        if let Some((name, value)) = lower.split_once('=')
            && !name.contains(':')
            && !name.contains('/')
        {
            match name {
                "redirect" => {
                    out.dns_lookups += 1;
                    out.redirect = Some(value.to_string());
                }
                "exp" => {}
                _ if name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    && name.starts_with(|c: char| c.is_ascii_alphabetic()) => {}
                _ => out.problems.push(format!("bad modifier {term:?}")),
            }
            continue;
        }
        let (qualifier, rest) = match lower.chars().next() {
            Some(q @ ('+' | '-' | '~' | '?')) => (q, &lower[1..]),
            _ => ('+', lower.as_str()),
        };
        let (mechanism, argument) = match rest.find([':', '/']) {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        match mechanism {
            "all" if argument.is_none() => out.all = Some(qualifier),
            "include" | "exists" => {
                out.dns_lookups += 1;
                match argument.and_then(|a| a.strip_prefix(':')) {
                    Some(domain) if !domain.is_empty() => {
                        if mechanism == "include" && !domain.contains('%') {
                            out.includes.push(domain.to_string());
                        }
                    }
                    _ => out.problems.push(format!("{term:?} needs a domain")),
                }
            }
            "a" | "mx" | "ptr" => out.dns_lookups += 1,
            "ip4" | "ip6" => {
                let ok = argument
                    .and_then(|a| a.strip_prefix(':'))
                    .is_some_and(|a| valid_ip_network(a, mechanism == "ip4"));
                if !ok {
                    out.problems.push(format!("bad address in {term:?}"));
                }
            }
            _ => out.problems.push(format!("unknown mechanism {term:?}")),
        }
    }
    if out.dns_lookups > SPF_DNS_LIMIT {
        out.problems.push(format!(
            "{} DNS-querying terms (RFC 7208 §4.6.4 allows {SPF_DNS_LIMIT})",
            out.dns_lookups
        ));
    }
    out.valid = out.problems.is_empty();
    out
}

fn valid_ip_network(text: &str, v4: bool) -> bool {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let max = if v4 { 32 } else { 128 };
    let addr_ok = if v4 {
        addr.parse::<Ipv4Addr>().is_ok()
    } else {
        addr.parse::<Ipv6Addr>().is_ok()
    };
    addr_ok && prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= max))
}

/// DMARC from the TXT answer of `_dmarc.DOMAIN`.
pub fn dmarc(answer: &Answer<Vec<String>>) -> Dmarc {
    let list = match texts(answer) {
        Ok(list) => list,
        Err(e) => {
            return Dmarc {
                lookup_error: Some(e),
                ..Dmarc::default()
            };
        }
    };
    let records = tagged(list, "v=DMARC1", &[';', ' ']);
    let Some(first) = records.first() else {
        return Dmarc::default();
    };
    let mut out = parse_dmarc(first);
    if records.len() > 1 {
        out.problems.push(format!(
            "{} DMARC records (RFC 7489 §6.6.3: the policy is then ignored)",
            records.len()
        ));
        out.valid = false;
    }
    out
}

fn policy_word(value: &str, tag: &str, problems: &mut Vec<String>) -> Option<String> {
    let v = value.to_ascii_lowercase();
    if matches!(v.as_str(), "none" | "quarantine" | "reject") {
        Some(v)
    } else {
        problems.push(format!("{tag}={value:?} is not none, quarantine or reject"));
        None
    }
}

/// The `tag=value` pairs of a tag list (DMARC, RFC 7489 §6.4; DKIM, RFC 6376 §3.2), in
/// order and trimmed; a part without `=` is a problem, an empty part is skipped.
pub(crate) fn tag_list<'a>(record: &'a str, problems: &mut Vec<String>) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for part in record.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((tag, value)) => out.push((tag.trim(), value.trim())),
            None => problems.push(format!("{part:?} is not tag=value")),
        }
    }
    out
}

/// A DMARC URI list: comma-separated, blanks dropped.
fn uri_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Parses one `v=DMARC1; p=...` record.
pub fn parse_dmarc(record: &str) -> Dmarc {
    let mut out = Dmarc {
        present: true,
        raw: Some(record.to_string()),
        ..Dmarc::default()
    };
    // The first tag is v=DMARC1, which found the record.
    for (tag, value) in tag_list(record, &mut out.problems).into_iter().skip(1) {
        let tag = tag.to_ascii_lowercase();
        match tag.as_str() {
            "p" => out.p = policy_word(value, "p", &mut out.problems),
            "sp" => out.sp = policy_word(value, "sp", &mut out.problems),
            "pct" => match value.parse::<u8>() {
                Ok(n) if n <= 100 => out.pct = Some(n),
                _ => out.problems.push(format!("pct={value:?} is not 0-100")),
            },
            "rua" => out.rua = uri_list(value),
            "ruf" => out.ruf = uri_list(value),
            "adkim" | "aspf" if !matches!(value.to_ascii_lowercase().as_str(), "r" | "s") => {
                out.problems
                    .push(format!("{tag}={value:?} is not r (relaxed) or s (strict)"));
            }
            "fo" if !value.split(':').all(|o| {
                matches!(
                    o.trim().to_ascii_lowercase().as_str(),
                    "0" | "1" | "d" | "s"
                )
            }) =>
            {
                out.problems
                    .push(format!("fo={value:?} is not a list of 0, 1, d, s"));
            }
            "rf" if !value
                .split(':')
                .all(|f| f.trim().eq_ignore_ascii_case("afrf")) =>
            {
                out.problems.push(format!("rf={value:?} is not afrf"));
            }
            "ri" if value.parse::<u32>().is_err() => {
                out.problems
                    .push(format!("ri={value:?} is not a number of seconds"));
            }
            "np" => {
                policy_word(value, "np", &mut out.problems);
            }
            known if DMARC_TAGS.contains(&known) => {}
            _ => out.unknown_tags.push(format!("{tag}={value}")),
        }
    }
    if out.p.is_none() && !out.problems.iter().any(|p| p.starts_with("p=")) {
        out.problems
            .push("no p= tag (RFC 7489 §6.3: the policy is required)".into());
    }
    out.valid = out.problems.is_empty();
    out
}

/// Whether a TXT record starting with `tag` (`v=STSv1`, `v=TLSRPTv1`) is published.
pub fn presence(answer: &Answer<Vec<String>>, tag: &str) -> Presence {
    match texts(answer) {
        Err(e) => Presence {
            lookup_error: Some(e),
            ..Presence::default()
        },
        Ok(list) => {
            let raw = tagged(list, tag, &[';', ' '])
                .first()
                .map(|s| s.to_string());
            Presence {
                present: raw.is_some(),
                raw,
                lookup_error: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(list: &[&str]) -> Answer<Vec<String>> {
        Ok(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn spf_table() {
        // (TXT records, present, valid, all, dns lookups, a problem mentions)
        type Case = (
            Answer<Vec<String>>,
            bool,
            bool,
            Option<char>,
            u32,
            &'static str,
        );
        let table: Vec<Case> = vec![
            (txt(&["v=spf1 -all"]), true, true, Some('-'), 0, ""),
            (
                txt(&["v=spf1 ip4:192.0.2.0/24 mx ~all"]),
                true,
                true,
                Some('~'),
                1,
                "",
            ),
            (txt(&["v=spf1 +all"]), true, true, Some('+'), 0, ""),
            (txt(&["v=spf1 all"]), true, true, Some('+'), 0, ""),
            (txt(&["V=SPF1 ?ALL"]), true, true, Some('?'), 0, ""),
            (
                txt(&["v=spf1 include:_spf.example.com"]),
                true,
                true,
                None,
                1,
                "",
            ),
            (
                txt(&["v=spf1 redirect=_spf.example.com"]),
                true,
                true,
                None,
                1,
                "",
            ),
            (
                txt(&[
                    "v=spf1 a mx ptr exists:%{i}.x.example include:a.example include:b.example include:c.example include:d.example include:e.example include:f.example include:g.example -all",
                ]),
                true,
                false,
                Some('-'),
                11,
                "RFC 7208 §4.6.4",
            ),
            (
                txt(&["v=spf1 ip4:192.0.2.300 -all"]),
                true,
                false,
                Some('-'),
                0,
                "bad address",
            ),
            (
                txt(&["v=spf1 ip6:2001:db8::/129 -all"]),
                true,
                false,
                Some('-'),
                0,
                "bad address",
            ),
            (
                txt(&["v=spf1 ip6:2001:db8::/32 -all"]),
                true,
                true,
                Some('-'),
                0,
                "",
            ),
            (
                txt(&["v=spf1 foo:bar -all"]),
                true,
                false,
                Some('-'),
                0,
                "unknown mechanism",
            ),
            (
                txt(&["v=spf1 include -all"]),
                true,
                false,
                Some('-'),
                1,
                "needs a domain",
            ),
            (
                txt(&["v=spf1 -all", "v=spf1 +all"]),
                true,
                false,
                Some('-'),
                0,
                "2 SPF records",
            ),
            (
                txt(&["google-site-verification=x", "v=spf10 -all"]),
                false,
                false,
                None,
                0,
                "",
            ),
            (Err(LookupError::NoRecords), false, false, None, 0, ""),
            (Err(LookupError::NxDomain), false, false, None, 0, ""),
            (txt(&["v=spf1"]), true, true, None, 0, ""),
        ];
        for (answer, present, valid, all, lookups, problem) in table {
            let got = spf(&answer);
            assert_eq!(
                (got.present, got.valid, got.all, got.dns_lookups),
                (present, valid, all, lookups),
                "{answer:?}: {got:?}"
            );
            if !problem.is_empty() {
                assert!(
                    got.problems.iter().any(|p| p.contains(problem)),
                    "{answer:?}: {:?}",
                    got.problems
                );
            }
            assert!(got.lookup_error.is_none());
        }
        let failed = spf(&Err(LookupError::Timeout));
        assert!(!failed.present && failed.lookup_error.unwrap().contains("timed out"));
        assert_eq!(
            spf(&txt(&["v=spf1 -all"])).raw.as_deref(),
            Some("v=spf1 -all")
        );
    }

    #[test]
    fn dmarc_table() {
        // (record, valid, p, sp, pct, rua count, a problem mentions)
        type Case = (
            &'static str,
            bool,
            Option<&'static str>,
            Option<&'static str>,
            Option<u8>,
            usize,
            &'static str,
        );
        let table: Vec<Case> = vec![
            (
                "v=DMARC1; p=reject; rua=mailto:d@example.com",
                true,
                Some("reject"),
                None,
                None,
                1,
                "",
            ),
            ("v=DMARC1;p=none", true, Some("none"), None, None, 0, ""),
            (
                "v=DMARC1; p=Quarantine; sp=reject; pct=50; rua=mailto:a@x.example,mailto:b@y.example",
                true,
                Some("quarantine"),
                Some("reject"),
                Some(50),
                2,
                "",
            ),
            (
                "v=DMARC1; rua=mailto:a@x.example",
                false,
                None,
                None,
                None,
                1,
                "no p= tag",
            ),
            (
                "v=DMARC1; p=block",
                false,
                None,
                None,
                None,
                0,
                "p=\"block\"",
            ),
            (
                "v=DMARC1; p=none; pct=150",
                false,
                Some("none"),
                None,
                None,
                0,
                "pct",
            ),
            (
                "v=DMARC1; p=none; junk",
                false,
                Some("none"),
                None,
                None,
                0,
                "tag=value",
            ),
        ];
        for (record, valid, p, sp, pct, rua, problem) in table {
            let got = dmarc(&txt(&[record]));
            assert!(got.present, "{record}");
            assert_eq!(
                (
                    got.valid,
                    got.p.as_deref(),
                    got.sp.as_deref(),
                    got.pct,
                    got.rua.len()
                ),
                (valid, p, sp, pct, rua),
                "{record}: {got:?}"
            );
            if !problem.is_empty() {
                assert!(
                    got.problems.iter().any(|x| x.contains(problem)),
                    "{record}: {:?}",
                    got.problems
                );
            }
        }
        assert!(!dmarc(&txt(&["v=spf1 -all"])).present);
        // Invalid values of the other tags, and unknown tags (which do not invalidate).
        for (record, problem) in [
            ("v=DMARC1; p=none; adkim=x", "adkim=\"x\""),
            ("v=DMARC1; p=none; aspf=relaxed", "aspf="),
            ("v=DMARC1; p=none; fo=2", "fo="),
            ("v=DMARC1; p=none; rf=iodef", "rf="),
            ("v=DMARC1; p=none; ri=daily", "ri="),
            ("v=DMARC1; p=none; np=foo", "np="),
            ("v=DMARC1; p=foo", "p=\"foo\""),
            ("v=DMARC1; p=none; pct=200", "pct="),
        ] {
            let got = parse_dmarc(record);
            assert!(!got.valid, "{record}");
            assert!(
                got.problems.iter().any(|p| p.contains(problem)),
                "{record}: {:?}",
                got.problems
            );
        }
        let unknown = parse_dmarc(
            "v=DMARC1; p=reject; adkim=s; aspf=r; fo=0:d; rf=afrf; ri=86400; pcx=50; foo=bar",
        );
        assert!(unknown.valid, "{unknown:?}");
        assert_eq!(unknown.unknown_tags, ["pcx=50", "foo=bar"]);
        let two = dmarc(&txt(&["v=DMARC1; p=none", "v=DMARC1; p=reject"]));
        assert!(two.present && !two.valid);
        assert!(dmarc(&Err(LookupError::ServFail)).lookup_error.is_some());
    }

    #[test]
    fn external_report_destinations_and_their_authorisation() {
        // (record, the domain it is published for, the domain's external destinations)
        let table: [(&str, &str, &[&str]); 8] = [
            (
                "v=DMARC1; p=none; rua=mailto:d@example.com",
                "mail.example.com",
                &[],
            ),
            (
                "v=DMARC1; p=none; rua=mailto:d@reports.example.com",
                "mail.example.com",
                &[],
            ),
            (
                "v=DMARC1; p=none; rua=mailto:a@dmarc.vendor.example!10m,mailto:b@Other.Example.; ruf=mailto:c@dmarc.vendor.example",
                "mail.example.com",
                &["dmarc.vendor.example", "other.example"],
            ),
            (
                "v=DMARC1; p=none; rua=https://vendor.example/r",
                "mail.example.com",
                &[],
            ),
            (
                "v=DMARC1; p=none; ruf=mailto:nobody",
                "mail.example.com",
                &[],
            ),
            // The organisational domain is the public suffix plus one label: under co.uk a
            // sub-domain of the same customer is its own, another customer is external.
            (
                "v=DMARC1; p=none; rua=mailto:d@reports.example.co.uk",
                "example.co.uk",
                &[],
            ),
            (
                "v=DMARC1; p=none; rua=mailto:d@other.co.uk",
                "example.co.uk",
                &["other.co.uk"],
            ),
            // A private suffix separates its sites' owners too.
            (
                "v=DMARC1; p=none; rua=mailto:d@bob.github.io",
                "alice.github.io",
                &["bob.github.io"],
            ),
        ];
        for (record, domain, want) in table {
            assert_eq!(
                parse_dmarc(record).external_destinations(domain),
                want,
                "{record}"
            );
        }
        let ok = report_authorization("a.example", "v.example", &txt(&["v=DMARC1"]));
        assert!(ok.authorized && ok.record == "a.example._report._dmarc.v.example");
        let missing = report_authorization("a.example", "v.example", &Err(LookupError::NxDomain));
        assert!(!missing.authorized && missing.lookup_error.is_none());
        let other = report_authorization("a.example", "v.example", &txt(&["v=spf1 -all"]));
        assert!(!other.authorized);
        let failed = report_authorization("a.example", "v.example", &Err(LookupError::Timeout));
        assert!(!failed.authorized && failed.lookup_error.is_some());
    }

    #[test]
    fn presence_table() {
        assert!(presence(&txt(&["v=STSv1; id=20240101"]), "v=STSv1").present);
        assert!(
            presence(
                &txt(&["v=TLSRPTv1; rua=mailto:t@example.com"]),
                "v=TLSRPTv1"
            )
            .present
        );
        assert!(!presence(&txt(&["v=STSv10"]), "v=STSv1").present);
        assert!(!presence(&Err(LookupError::NxDomain), "v=STSv1").present);
        let failed = presence(&Err(LookupError::Timeout), "v=STSv1");
        assert!(!failed.present && failed.lookup_error.is_some());
    }
}
