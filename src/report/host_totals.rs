//! Run totals of what the hosts' DNS blocklist answers and software said: per zone, the listed endpoints and the failed lookups; per product and version, the endpoints with advisories. Counted record by record into the [`super::Summary`], bounded, for the JSON summary and the HTML and Markdown sections.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::overview::count;
use super::record::ScanRecord;
use crate::assess::{FindingId, Severity};
use crate::dns::blocklist::ListedCode;

/// Most listings (one per endpoint and zone), failed lookups and hosts with advisories kept
/// by name: about 300 bytes each, so a hostile range cannot grow the summary past a few
/// hundred KiB (the same bound as the open relays kept).
pub const HOSTS_KEPT: usize = 1000;
/// Most distinct (product, version) pairs counted by name; versions are server text, and a
/// range of servers making them up must not grow the summary without bound.
pub const VERSIONS_KEPT: usize = 500;

/// Keeps the first [`HOSTS_KEPT`] items and counts the rest.
fn keep<T>(list: &mut Vec<T>, more: &mut u64, item: T) {
    if list.len() < HOSTS_KEPT {
        list.push(item);
    } else {
        *more += 1;
    }
}

/// What the DNS blocklists said over a run (`--blocklists`); empty when none were asked.
#[derive(Default, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlocklistTotals {
    /// Each zone asked, by its public name.
    pub zones: BTreeMap<String, ZoneTotals>,
    /// The first [`HOSTS_KEPT`] listings, in the order found.
    pub listed: Vec<Listed>,
    #[serde(default)]
    pub listed_more: u64,
    /// The first [`HOSTS_KEPT`] lookups that gave no answer to rely on (a refused query, a
    /// timeout): neither listed nor not listed.
    pub errors: Vec<LookupFailed>,
    #[serde(default)]
    pub errors_more: u64,
}

/// One zone's answers over a run, and where its owner requests removal.
#[derive(Default, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ZoneTotals {
    pub listed: u64,
    pub not_listed: u64,
    pub errors: u64,
    #[serde(default)]
    pub removal: Option<String>,
}

/// One endpoint listed by one zone: the codes and their meanings, the finding it raised.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub endpoint: String,
    pub zone: String,
    pub codes: Vec<ListedCode>,
    /// `blocklisted` or `blocklisted-policy` (see `assess::blocklists::finding_id`).
    pub finding: FindingId,
    pub severity: Severity,
    #[serde(default)]
    pub removal: Option<String>,
}

/// One lookup of one endpoint's address that gave no answer to rely on, and why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LookupFailed {
    pub endpoint: String,
    pub zone: String,
    pub error: String,
}

/// What the reports say under the blocklist heading, after [`BlocklistTotals::lead`].
pub const BLOCKLIST_NOTE: &str =
    "A failed lookup (a refused query, a timeout) says neither listed nor not listed.";
/// What the reports say under the software heading, after [`SoftwareTotals::lead`].
pub const ADVISORY_NOTE: &str = "Advisory: distributions backport fixes, verify with your vendor; an unknown version is never reported as vulnerable.";

impl BlocklistTotals {
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Every listing, kept or only counted.
    pub fn listed_total(&self) -> u64 {
        self.listed.len() as u64 + self.listed_more
    }

    /// Every failed lookup, kept or only counted.
    pub fn errors_total(&self) -> u64 {
        self.errors.len() as u64 + self.errors_more
    }

    /// "2 listings and 1 failed lookup over 5 zones."
    pub fn lead(&self) -> String {
        format!(
            "{} and {} over {}.",
            count(self.listed_total(), "listing"),
            count(self.errors_total(), "failed lookup"),
            count(self.zones.len() as u64, "zone"),
        )
    }

    pub fn add(&mut self, r: &ScanRecord) {
        for a in r.blocklists.iter().flatten() {
            let zone = self.zones.entry(a.zone.clone()).or_default();
            zone.removal.clone_from(&a.removal);
            if let Some(finding) = crate::assess::blocklists::finding_id(a) {
                zone.listed += 1;
                let listed = Listed {
                    endpoint: r.endpoint(),
                    zone: a.zone.clone(),
                    codes: a.codes.clone(),
                    finding,
                    severity: finding.severity(),
                    removal: a.removal.clone(),
                };
                keep(&mut self.listed, &mut self.listed_more, listed);
            } else if let Some(error) = &a.error {
                zone.errors += 1;
                let failed = LookupFailed {
                    endpoint: r.endpoint(),
                    zone: a.zone.clone(),
                    error: error.clone(),
                };
                keep(&mut self.errors, &mut self.errors_more, failed);
            } else {
                zone.not_listed += 1;
            }
        }
    }

    /// The listings kept, most severe first, then by endpoint and zone.
    pub fn listed_by_severity(&self) -> Vec<&Listed> {
        let mut sorted: Vec<&Listed> = self.listed.iter().collect();
        sorted.sort_by(|a, b| {
            (std::cmp::Reverse(a.severity), &a.endpoint, &a.zone).cmp(&(
                std::cmp::Reverse(b.severity),
                &b.endpoint,
                &b.zone,
            ))
        });
        sorted
    }
}

/// Whether a finding comes from the advisories table (a known version of the software).
pub fn from_advisories(id: FindingId) -> bool {
    matches!(
        id,
        FindingId::KnownExploitedSoftware
            | FindingId::VulnerableSoftware
            | FindingId::EndOfLifeSoftware
    )
}

/// The software the hosts named over a run; empty when none named any.
#[derive(Default, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SoftwareTotals {
    /// Endpoints by `product version` (`exim 4.92`; the product alone when no version was
    /// shown), at most [`VERSIONS_KEPT`] of them.
    pub versions: BTreeMap<String, u64>,
    /// Endpoints whose (product, version) came after the first [`VERSIONS_KEPT`].
    #[serde(default)]
    pub versions_more: u64,
    /// The first [`HOSTS_KEPT`] endpoints with advisory findings, in the order found.
    pub advised: Vec<Advised>,
    #[serde(default)]
    pub advised_more: u64,
}

/// One endpoint whose software version has advisories.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Advised {
    pub endpoint: String,
    /// `product version`, as in [`SoftwareTotals::versions`].
    pub software: String,
    /// The advisory findings, most severe first.
    pub findings: Vec<FindingId>,
    pub severity: Severity,
    /// The most severe finding's detail (the advisories, their CVEs, the fixed version).
    pub detail: String,
}

impl SoftwareTotals {
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty() && self.versions_more == 0
    }

    /// Every endpoint with advisories, kept or only counted.
    pub fn advised_total(&self) -> u64 {
        self.advised.len() as u64 + self.advised_more
    }

    /// "1 endpoint with advisories."
    pub fn lead(&self) -> String {
        format!(
            "{} with advisories.",
            count(self.advised_total(), "endpoint")
        )
    }

    pub fn add(&mut self, r: &ScanRecord) {
        let Some(software) = &r.software else {
            return;
        };
        let name = match &software.version {
            Some(v) => format!("{} {v}", software.product),
            None => software.product.to_string(),
        };
        if let Some(n) = self.versions.get_mut(&name) {
            *n += 1;
        } else if self.versions.len() < VERSIONS_KEPT {
            self.versions.insert(name.clone(), 1);
        } else {
            self.versions_more += 1;
        }
        let mut advisories: Vec<(Severity, FindingId, &str)> = r
            .findings
            .iter()
            .filter(|f| from_advisories(f.id))
            .map(|f| (f.severity, f.id, f.detail.as_str()))
            .collect();
        advisories.sort_by_key(|&(s, id, _)| (std::cmp::Reverse(s), id));
        let Some(&(severity, _, detail)) = advisories.first() else {
            return;
        };
        let advised = Advised {
            endpoint: r.endpoint(),
            software: name,
            findings: advisories.iter().map(|&(_, id, _)| id).collect(),
            severity,
            detail: detail.to_string(),
        };
        keep(&mut self.advised, &mut self.advised_more, advised);
    }

    /// The hosts with advisories kept, most severe first, then by endpoint.
    pub fn advised_by_severity(&self) -> Vec<&Advised> {
        let mut sorted: Vec<&Advised> = self.advised.iter().collect();
        sorted.sort_by(|a, b| {
            (std::cmp::Reverse(a.severity), &a.endpoint)
                .cmp(&(std::cmp::Reverse(b.severity), &b.endpoint))
        });
        sorted
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dns::blocklist::{BlocklistAnswer, ListKind};
    use crate::report::testdata;

    /// Totals of one refused-outcome record asked in `zone`: listed by XBL with `meaning`,
    /// one failed lookup with `error`, and an Exim 4.92 with a known-exploited advisory.
    pub(crate) fn hostile_summary(
        zone: &str,
        meaning: &str,
        error: &str,
    ) -> crate::report::Summary {
        use crate::assess::{Finding, Mta, Product, Software};
        let mut r = ScanRecord::of_outcome(testdata::refused_outcome());
        let mut listed = answer(zone, "listed", Some(ListKind::Exploited), None);
        listed.codes[0].meaning = meaning.into();
        r.blocklists = Some(vec![listed, answer("e.test", "error", None, Some(error))]);
        r.software = Some(Software {
            product: Product::Exim,
            version: Some(meaning.into()),
        });
        r.findings = vec![Finding::new(
            FindingId::KnownExploitedSoftware,
            Mta::Exim,
            meaning.into(),
            vec![],
        )];
        let mut summary = crate::report::Summary::default();
        summary.add(&r);
        summary
    }

    fn answer(
        zone: &str,
        status: &str,
        kind: Option<ListKind>,
        error: Option<&str>,
    ) -> BlocklistAnswer {
        BlocklistAnswer {
            zone: zone.into(),
            status: status.into(),
            codes: kind
                .map(|kind| ListedCode {
                    code: "127.0.0.4".parse().unwrap(),
                    list: "XBL".into(),
                    kind,
                    meaning: "exploited".into(),
                })
                .into_iter()
                .collect(),
            error: error.map(str::to_string),
            removal: Some("https://removal.example/".into()),
        }
    }

    #[test]
    fn blocklist_answers_are_counted_per_zone_and_listings_kept_by_severity() {
        let mut r = ScanRecord::of_outcome(testdata::refused_outcome());
        let mut totals = BlocklistTotals::default();
        totals.add(&r);
        assert!(
            totals.is_empty(),
            "a record without blocklists adds nothing"
        );
        r.blocklists = Some(vec![
            answer("a.test", "listed", Some(ListKind::Policy), None),
            answer("b.test", "listed", Some(ListKind::Exploited), None),
            answer(
                "c.test",
                "error",
                None,
                Some("query refused (127.255.255.254): public resolver"),
            ),
            answer("d.test", "not-listed", None, None),
        ]);
        totals.add(&r);
        let counts: Vec<(&str, [u64; 3])> = totals
            .zones
            .iter()
            .map(|(z, t)| (z.as_str(), [t.listed, t.not_listed, t.errors]))
            .collect();
        assert_eq!(
            counts,
            [
                ("a.test", [1, 0, 0]),
                ("b.test", [1, 0, 0]),
                ("c.test", [0, 0, 1]),
                ("d.test", [0, 1, 0])
            ]
        );
        let ranked: Vec<(&str, FindingId, Severity)> = totals
            .listed_by_severity()
            .iter()
            .map(|l| (l.zone.as_str(), l.finding, l.severity))
            .collect();
        assert_eq!(
            ranked,
            [
                ("b.test", FindingId::Blocklisted, Severity::High),
                ("a.test", FindingId::BlocklistedPolicy, Severity::Info)
            ]
        );
        assert_eq!(totals.errors.len(), 1);
        assert!(totals.errors[0].error.contains("public resolver"));
        for _ in 0..HOSTS_KEPT {
            totals.add(&r);
        }
        assert_eq!(totals.listed.len(), HOSTS_KEPT);
        assert_eq!(
            totals.listed_more,
            (HOSTS_KEPT as u64 + 1) * 2 - HOSTS_KEPT as u64
        );
        assert_eq!(totals.zones["b.test"].listed, HOSTS_KEPT as u64 + 1);
    }

    #[test]
    fn software_is_counted_by_version_and_advised_hosts_kept() {
        use crate::assess::{Finding, Mta, Product, Software};
        let mut totals = SoftwareTotals::default();
        let mut r = ScanRecord::of_outcome(testdata::refused_outcome());
        totals.add(&r);
        assert!(totals.is_empty());
        r.software = Some(Software {
            product: Product::Exim,
            version: Some("4.92".into()),
        });
        r.findings = vec![
            Finding::new(
                FindingId::EndOfLifeSoftware,
                Mta::Exim,
                "eol".into(),
                vec![],
            ),
            Finding::new(
                FindingId::KnownExploitedSoftware,
                Mta::Exim,
                "CVE-2019-10149".into(),
                vec![],
            ),
            Finding::new(FindingId::BannerVersion, Mta::Exim, "banner".into(), vec![]),
        ];
        totals.add(&r);
        r.software = Some(Software {
            product: Product::Postfix,
            version: None,
        });
        r.findings.clear();
        totals.add(&r);
        totals.add(&r);
        let versions: Vec<(&str, u64)> = totals
            .versions
            .iter()
            .map(|(v, n)| (v.as_str(), *n))
            .collect();
        assert_eq!(versions, [("exim 4.92", 1), ("postfix", 2)]);
        assert_eq!(totals.advised.len(), 1);
        let a = &totals.advised[0];
        assert_eq!(
            (a.software.as_str(), a.severity, a.detail.as_str()),
            ("exim 4.92", Severity::Critical, "CVE-2019-10149")
        );
        assert_eq!(
            a.findings,
            [
                FindingId::KnownExploitedSoftware,
                FindingId::EndOfLifeSoftware
            ]
        );
        // Made-up versions past the cap are counted, not kept.
        for n in 0..VERSIONS_KEPT {
            r.software = Some(Software {
                product: Product::Exim,
                version: Some(format!("9.{n}")),
            });
            totals.add(&r);
        }
        assert_eq!(totals.versions.len(), VERSIONS_KEPT);
        assert_eq!(totals.versions_more, 2);
    }
}
