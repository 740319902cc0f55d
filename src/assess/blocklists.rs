//! Findings from the DNS blocklists' answers about an address: one per zone that lists it, its severity by the kind of list.

use super::findings::{Finding, FindingId};
use crate::dns::blocklist::{BlocklistAnswer, ListKind};
use crate::smtp::fingerprint::Mta;

/// The finding one zone's answer raises: `blocklisted` (high) when any code names spam or
/// an exploited host, else `blocklisted-policy` (info); none for errors and "not listed".
/// The reports' blocklist sections rank listings by it too.
pub fn finding_id(answer: &BlocklistAnswer) -> Option<FindingId> {
    if answer.codes.is_empty() {
        return None;
    }
    let policy_only = answer.codes.iter().all(|c| c.kind == ListKind::Policy);
    Some(if policy_only {
        FindingId::BlocklistedPolicy
    } else {
        FindingId::Blocklisted
    })
}

/// One finding per listing zone ([`finding_id`]) with the codes' meanings and the removal
/// page.
pub fn findings(answers: &[BlocklistAnswer], mta: Mta) -> Vec<Finding> {
    answers
        .iter()
        .filter_map(|a| Some((a, finding_id(a)?)))
        .map(|(a, id)| {
            let meanings: Vec<String> = a
                .codes
                .iter()
                .map(|c| format!("{} {} ({})", c.code, c.list, c.meaning))
                .collect();
            let removal = a
                .removal
                .as_deref()
                .map(|r| format!("; removal: {r}"))
                .unwrap_or_default();
            let detail = format!("listed in {}: {}{removal}", a.zone, meanings.join("; "));
            let evidence = a
                .codes
                .iter()
                .map(|c| format!("DNS: {} answered {} ({})", a.zone, c.code, c.list))
                .collect();
            Finding::new(id, mta, detail, evidence)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::blocklist::{ListedCode, Listing, select};

    fn answer(zone: &str, codes: &[(&str, &str, ListKind)]) -> BlocklistAnswer {
        let z = &select(zone, None).unwrap()[0];
        let codes = codes
            .iter()
            .map(|(code, list, kind)| ListedCode {
                code: code.parse().unwrap(),
                list: list.to_string(),
                kind: *kind,
                meaning: format!("{list} meaning"),
            })
            .collect::<Vec<_>>();
        let listing = if codes.is_empty() {
            Listing::NotListed
        } else {
            Listing::Listed(codes)
        };
        BlocklistAnswer::new(z, listing)
    }

    #[test]
    fn one_finding_per_listing_zone_by_kind() {
        use ListKind::*;
        let table: Vec<(Vec<BlocklistAnswer>, Vec<FindingId>)> = vec![
            (vec![answer("spamhaus-zen", &[])], vec![]),
            (
                vec![answer("spamhaus-zen", &[("127.0.0.4", "XBL", Exploited)])],
                vec![FindingId::Blocklisted],
            ),
            (
                vec![answer("spamhaus-zen", &[("127.0.0.10", "PBL", Policy)])],
                vec![FindingId::BlocklistedPolicy],
            ),
            // A policy code beside an exploited one: the worse decides.
            (
                vec![answer(
                    "spamhaus-zen",
                    &[
                        ("127.0.0.4", "XBL", Exploited),
                        ("127.0.0.11", "PBL", Policy),
                    ],
                )],
                vec![FindingId::Blocklisted],
            ),
            (
                vec![
                    answer("spamcop", &[("127.0.0.2", "SCBL", Spam)]),
                    answer("psbl", &[]),
                ],
                vec![FindingId::Blocklisted],
            ),
        ];
        for (answers, want) in table {
            let got: Vec<FindingId> = findings(&answers, Mta::Unknown)
                .iter()
                .map(|f| f.id)
                .collect();
            assert_eq!(got, want, "{answers:?}");
        }
        let f = &findings(
            &[answer("spamhaus-zen", &[("127.0.0.4", "XBL", Exploited)])],
            Mta::Postfix,
        )[0];
        assert_eq!(
            f.detail,
            "listed in zen.spamhaus.org: 127.0.0.4 XBL (XBL meaning); removal: https://check.spamhaus.org/"
        );
        assert_eq!(
            f.evidence,
            ["DNS: zen.spamhaus.org answered 127.0.0.4 (XBL)"]
        );
        assert_eq!(f.severity, crate::assess::Severity::High);
    }
}
