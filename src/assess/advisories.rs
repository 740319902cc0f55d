//! The advisories table (data/advisories.toml, built in) and the pure match of a server's software against it.
//!
//! Only what the dialogue already showed is used: no extra traffic, no exploit. A server
//! whose version is missing or does not parse matches nothing.

use std::sync::LazyLock;

use serde::Deserialize;

use super::version::Version;
use crate::smtp::fingerprint::{Product, Software};

/// The table as shipped; its schema test is below.
pub const ADVISORIES_TOML: &str = include_str!("../../data/advisories.toml");

/// Said with every match: a banner's version is upstream's number, and distributions
/// backport fixes without changing it.
pub const BACKPORT_CAVEAT: &str = "advisory: distributions backport fixes, verify with your vendor";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Vulnerability,
    EndOfLife,
}

/// One range of affected releases: `from` (inclusive, absent = every earlier release) up
/// to `fixed` (exclusive: the first release without the problem).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    #[serde(default)]
    pub from: Option<String>,
    pub fixed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    pub id: String,
    pub product: Product,
    pub kind: Kind,
    pub cves: Vec<String>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    pub kev: bool,
    pub summary: String,
    pub source: String,
    pub affected: Vec<Affected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    advisory: Vec<Advisory>,
}

/// Every advisory, parsed once. The schema test guarantees the shipped file parses.
pub fn all() -> &'static [Advisory] {
    static TABLE: LazyLock<Vec<Advisory>> = LazyLock::new(|| {
        toml::from_str::<Table>(ADVISORIES_TOML)
            .map(|t| t.advisory)
            .unwrap_or_default()
    });
    &TABLE
}

/// An advisory that applies to a server, with the range its version fell in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    pub advisory: &'a Advisory,
    pub range: &'a Affected,
}

/// The advisories `software` falls under, in table order; none without a parseable version.
pub fn matches<'a>(software: &Software, table: &'a [Advisory]) -> Vec<Match<'a>> {
    let Some(version) = software.version.as_deref().and_then(Version::parse) else {
        return Vec::new();
    };
    table
        .iter()
        .filter(|a| a.product == software.product)
        .filter_map(|advisory| {
            let range = advisory.affected.iter().find(|r| contains(r, &version))?;
            Some(Match { advisory, range })
        })
        .collect()
}

/// `from <= version < fixed`; a bound that does not parse makes the range match nothing.
fn contains(range: &Affected, version: &Version) -> bool {
    let from_ok = match range.from.as_deref() {
        None => true,
        Some(from) => Version::parse(from).is_some_and(|f| &f <= version),
    };
    from_ok && Version::parse(&range.fixed).is_some_and(|fixed| version < &fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(product: Product, version: Option<&str>) -> Software {
        Software {
            product,
            version: version.map(str::to_string),
        }
    }

    #[test]
    fn the_shipped_table_follows_its_schema() {
        let table: Table = toml::from_str(ADVISORIES_TOML).expect("data/advisories.toml parses");
        assert_eq!(all(), table.advisory.as_slice());
        assert!(
            table.advisory.len() >= 9,
            "seeded with at least nine entries"
        );
        let mut ids = std::collections::HashSet::new();
        for a in &table.advisory {
            assert!(ids.insert(a.id.as_str()), "duplicate id {}", a.id);
            assert!(
                !a.id.is_empty()
                    && a.id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}: id is a lowercase slug",
                a.id
            );
            if a.kind == Kind::Vulnerability {
                assert!(
                    !a.cves.is_empty(),
                    "{}: a vulnerability names its CVEs",
                    a.id
                );
            }
            for cve in &a.cves {
                let mut parts = cve.splitn(3, '-');
                let well_formed = parts.next() == Some("CVE")
                    && parts
                        .next()
                        .is_some_and(|y| y.len() == 4 && y.parse::<u16>().is_ok())
                    && parts
                        .next()
                        .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()));
                assert!(well_formed, "{}: {cve} is not a CVE id", a.id);
            }
            assert!(!a.kev || !a.cves.is_empty(), "{}: KEV lists CVEs", a.id);
            assert!(!a.summary.is_empty(), "{}", a.id);
            assert!(a.source.starts_with("https://"), "{}: source", a.id);
            assert!(!a.affected.is_empty(), "{}: no range", a.id);
            for r in &a.affected {
                let fixed = Version::parse(&r.fixed)
                    .unwrap_or_else(|| panic!("{}: fixed {:?} is no version", a.id, r.fixed));
                if let Some(from) = &r.from {
                    let from = Version::parse(from)
                        .unwrap_or_else(|| panic!("{}: from {from:?} is no version", a.id));
                    assert!(from < fixed, "{}: empty range", a.id);
                }
            }
        }
    }

    #[test]
    fn the_seeded_facts_are_there() {
        let by_id = |id: &str| all().iter().find(|a| a.id == id).unwrap();
        let wizard = by_id("exim-cve-2019-10149");
        assert!(wizard.kev);
        assert_eq!(wizard.affected[0].from.as_deref(), Some("4.87"));
        assert_eq!(wizard.affected[0].fixed, "4.92");
        assert_eq!(by_id("exim-21nails").cves.len(), 21);
        assert_eq!(by_id("exim-21nails").affected[0].fixed, "4.94.2");
        assert_eq!(by_id("exim-cve-2023-42115").affected[0].fixed, "4.96.1");
        let opensmtpd = by_id("opensmtpd-cve-2020-7247");
        assert!(opensmtpd.kev);
        assert_eq!(opensmtpd.affected[0].fixed, "6.6.2p1");
        let smuggling: Vec<&str> = all()
            .iter()
            .flat_map(|a| a.cves.iter().map(String::as_str))
            .filter(|c| c.starts_with("CVE-2023-517"))
            .collect();
        assert_eq!(
            smuggling,
            ["CVE-2023-51766", "CVE-2023-51764", "CVE-2023-51765"]
        );
    }

    #[test]
    fn matches_table() {
        use Product as P;
        let table: &[(Software, &[&str])] = &[
            (
                sw(P::Exim, Some("4.91")),
                &[
                    "exim-cve-2019-10149",
                    "exim-21nails",
                    "exim-cve-2023-42115",
                    "exim-smtp-smuggling",
                ],
            ),
            (
                sw(P::Exim, Some("4.86")),
                &["exim-21nails", "exim-cve-2023-42115", "exim-smtp-smuggling"],
            ),
            (
                sw(P::Exim, Some("4.94.2")),
                &["exim-cve-2023-42115", "exim-smtp-smuggling"],
            ),
            (sw(P::Exim, Some("4.97.1")), &[]),
            (sw(P::Exim, None), &[]),
            (sw(P::Exim, Some("4.92-RC1")), &[]),
            (
                sw(P::OpenSmtpd, Some("6.6.1p1")),
                &["opensmtpd-cve-2020-7247"],
            ),
            (sw(P::OpenSmtpd, Some("6.6.2p1")), &[]),
            (sw(P::OpenSmtpd, Some("6.3.0")), &[]),
            (sw(P::Postfix, Some("3.7.9")), &["postfix-smtp-smuggling"]),
            (sw(P::Postfix, Some("3.7.11")), &[]),
            (sw(P::Postfix, Some("3.8.4")), &["postfix-smtp-smuggling"]),
            (sw(P::Postfix, Some("3.9.0")), &[]),
            (
                sw(P::Postfix, Some("2.11.3")),
                &["postfix-smtp-smuggling", "postfix-eol-branches"],
            ),
            (
                sw(P::Sendmail, Some("8.14.4")),
                &["sendmail-smtp-smuggling", "sendmail-eol-lines"],
            ),
            (
                sw(P::Sendmail, Some("8.15.2")),
                &["sendmail-smtp-smuggling"],
            ),
            (sw(P::Sendmail, Some("8.18.1")), &[]),
            // A product with no advisories, and one named by another product's number.
            (sw(P::Haraka, Some("2.8.28")), &[]),
            (sw(P::MDaemon, Some("4.91")), &[]),
        ];
        for (software, want) in table {
            let got: Vec<&str> = matches(software, all())
                .iter()
                .map(|m| m.advisory.id.as_str())
                .collect();
            assert_eq!(got, *want, "{software:?}");
        }
        let m = &matches(&sw(P::Postfix, Some("3.7.9")), all())[0];
        assert_eq!(m.range.fixed, "3.7.10", "the range of the server's branch");
    }
}
