//! SPF evaluated across its whole tree (RFC 7208 §4.6.4): every `include:` and `redirect=` followed, DNS-querying terms counted against 10 and void lookups against 2, loops found, depth bounded. The walk is pure ([`walk`], over answers already fetched); [`follow`] is the thin async layer that fetches them level by level through the resolver.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::policy::{SPF_DNS_LIMIT, spf};
use super::{Answer, LookupError, Resolve};

/// RFC 7208 §4.6.4: more than 2 lookups that give NXDOMAIN or no answer is a permerror.
pub const SPF_VOID_LIMIT: u32 = 2;

/// Levels of include/redirect followed below the domain's own record. Evaluation stops
/// at 10 DNS-querying terms, so a deeper chain is over the limit anyway: 11 levels see it.
pub const MAX_DEPTH: usize = 11;

/// Distinct records fetched for one domain at most. A tree over the limit is reported as
/// such once 10 lookups are counted; 40 records leaves room for wide trees of shared
/// includes without letting one hostile record fan out without end.
pub const MAX_RECORDS: usize = 40;

/// What the whole SPF tree of a domain costs and where it breaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfTree {
    /// DNS-querying terms across the domain's record and every record it includes or
    /// redirects to (each occurrence counted, as a receiver evaluates it).
    pub dns_lookups: u32,
    /// include/redirect targets that gave NXDOMAIN or no TXT record.
    pub void_lookups: u32,
    /// Each record followed, as `depth name: N lookups` (or why it was not usable), in
    /// evaluation order: the evidence behind the counts.
    pub chain: Vec<String>,
    /// Each loop as its path: `a.example -> b.example -> a.example`.
    pub loops: Vec<String>,
    /// Targets that break evaluation: no SPF record there, a failed lookup, the bounds.
    pub problems: Vec<String>,
}

impl SpfTree {
    pub fn over_lookup_limit(&self) -> bool {
        self.dns_lookups > SPF_DNS_LIMIT
    }

    pub fn over_void_limit(&self) -> bool {
        self.void_lookups > SPF_VOID_LIMIT
    }
}

/// How a TXT answer reads as an SPF target.
enum Target {
    Record(super::policy::Spf),
    /// NXDOMAIN or no records: a void lookup.
    Void(String),
    /// SERVFAIL, timeout, refused: a temperror.
    Failed(String),
}

fn read_target(answer: &Answer<Vec<String>>) -> Target {
    match answer {
        Err(e @ (LookupError::NxDomain | LookupError::NoRecords)) => Target::Void(e.to_string()),
        Err(e) => Target::Failed(e.to_string()),
        Ok(list) if list.is_empty() => Target::Void(LookupError::NoRecords.to_string()),
        Ok(_) => Target::Record(spf(answer)),
    }
}

/// Walks the SPF tree of `domain` over `answers` (TXT answers by normalised name; the
/// domain's own included). A name missing from `answers` was not fetched (past the
/// bounds) and is reported as such. Pure.
pub fn walk(domain: &str, answers: &HashMap<String, Answer<Vec<String>>>) -> SpfTree {
    let mut tree = SpfTree::default();
    let mut path = vec![domain.to_string()];
    let Some(answer) = answers.get(domain) else {
        return tree;
    };
    let Target::Record(root) = read_target(answer) else {
        return tree;
    };
    if !root.present {
        return tree;
    }
    tree.dns_lookups = root.dns_lookups;
    tree.chain
        .push(format!("{domain}: {} lookups", root.dns_lookups));
    let mut visits = 1;
    for (term, target) in root.targets() {
        visit(&term, &target, answers, &mut path, &mut tree, &mut visits);
    }
    tree
}

fn visit(
    term: &str,
    name: &str,
    answers: &HashMap<String, Answer<Vec<String>>>,
    path: &mut Vec<String>,
    tree: &mut SpfTree,
    visits: &mut usize,
) {
    let indent = "  ".repeat(path.len());
    if path.iter().any(|p| p == name) {
        tree.loops.push(format!("{} -> {name}", path.join(" -> ")));
        tree.chain.push(format!("{indent}{term}: loop"));
        return;
    }
    if path.len() > MAX_DEPTH {
        tree.problems.push(format!(
            "{term} not followed: deeper than {MAX_DEPTH} levels"
        ));
        return;
    }
    *visits += 1;
    let Some(answer) = answers.get(name).filter(|_| *visits <= MAX_RECORDS) else {
        tree.problems.push(format!(
            "{term} not followed: more than {MAX_RECORDS} records in the tree"
        ));
        return;
    };
    match read_target(answer) {
        Target::Void(why) => {
            tree.void_lookups += 1;
            tree.chain.push(format!("{indent}{term}: void ({why})"));
            tree.problems.push(format!("{term}: no SPF record ({why})"));
        }
        Target::Failed(why) => {
            tree.chain.push(format!("{indent}{term}: {why}"));
            tree.problems.push(format!("{term}: {why}"));
        }
        Target::Record(record) if !record.present => {
            tree.chain.push(format!("{indent}{term}: no SPF record"));
            tree.problems
                .push(format!("{term}: TXT records, but no v=spf1 among them"));
        }
        Target::Record(record) => {
            tree.dns_lookups += record.dns_lookups;
            tree.chain
                .push(format!("{indent}{term}: {} lookups", record.dns_lookups));
            path.push(name.to_string());
            for (term, target) in record.targets() {
                visit(&term, &target, answers, path, tree, visits);
            }
            path.pop();
        }
    }
}

/// Fetches the records the tree of `domain` needs, one level at a time (each level's
/// lookups at once, through the caller's paced and cached resolver), then walks it.
/// `own` is the TXT answer of the domain, already fetched.
pub async fn follow<R: Resolve>(dns: &R, domain: &str, own: &Answer<Vec<String>>) -> SpfTree {
    let mut answers: HashMap<String, Answer<Vec<String>>> = HashMap::new();
    answers.insert(domain.to_string(), own.clone());
    let mut frontier = vec![domain.to_string()];
    for _ in 0..=MAX_DEPTH {
        let mut next: Vec<String> = Vec::new();
        for name in &frontier {
            if let Some(Target::Record(record)) = answers.get(name).map(read_target) {
                for (_, target) in record.targets() {
                    if !answers.contains_key(&target) && !next.contains(&target) {
                        next.push(target);
                    }
                }
            }
        }
        next.truncate(MAX_RECORDS.saturating_sub(answers.len()));
        if next.is_empty() {
            break;
        }
        let got = futures::future::join_all(next.iter().map(|n| dns.txt(n))).await;
        answers.extend(next.iter().cloned().zip(got));
        frontier = next;
    }
    walk(domain, &answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(records: &[(&str, &str)]) -> HashMap<String, Answer<Vec<String>>> {
        records
            .iter()
            .map(|(name, txt)| match *txt {
                "" => (name.to_string(), Err(LookupError::NxDomain)),
                _ => (name.to_string(), Ok(vec![txt.to_string()])),
            })
            .collect()
    }

    #[test]
    fn trees_by_table() {
        // (records, "" for NXDOMAIN; total lookups, void lookups, loops, a problem mentions)
        type Case = (
            Vec<(&'static str, &'static str)>,
            u32,
            u32,
            usize,
            &'static str,
        );
        let table: Vec<Case> = vec![
            (vec![("d.example", "v=spf1 -all")], 0, 0, 0, ""),
            (
                vec![
                    ("d.example", "v=spf1 include:a.example mx -all"),
                    ("a.example", "v=spf1 a mx include:b.example -all"),
                    ("b.example", "v=spf1 ip4:192.0.2.0/24 -all"),
                ],
                5,
                0,
                0,
                "",
            ),
            // Three includes of four lookups each: 3 + 12 = 15 over the whole tree,
            // although the domain's own record has only 3.
            (
                vec![
                    (
                        "d.example",
                        "v=spf1 include:a.example include:b.example include:c.example -all",
                    ),
                    ("a.example", "v=spf1 a mx ptr exists:x.a.example -all"),
                    ("b.example", "v=spf1 a mx ptr exists:x.b.example -all"),
                    ("c.example", "v=spf1 a mx ptr exists:x.c.example -all"),
                ],
                15,
                0,
                0,
                "",
            ),
            (
                vec![
                    ("d.example", "v=spf1 include:a.example -all"),
                    ("a.example", "v=spf1 include:b.example -all"),
                    ("b.example", "v=spf1 include:a.example -all"),
                ],
                3,
                0,
                1,
                "",
            ),
            (
                vec![("d.example", "v=spf1 redirect=d.example")],
                1,
                0,
                1,
                "",
            ),
            (
                vec![
                    (
                        "d.example",
                        "v=spf1 include:gone1.example include:gone2.example include:gone3.example -all",
                    ),
                    ("gone1.example", ""),
                    ("gone2.example", ""),
                    ("gone3.example", ""),
                ],
                3,
                3,
                0,
                "gone3.example: no SPF record",
            ),
            (
                vec![
                    ("d.example", "v=spf1 include:other.example -all"),
                    ("other.example", "google-site-verification=x"),
                ],
                1,
                0,
                0,
                "no v=spf1",
            ),
            (
                vec![
                    ("d.example", "v=spf1 redirect=_spf.d.example"),
                    ("_spf.d.example", "v=spf1 mx -all"),
                ],
                2,
                0,
                0,
                "",
            ),
        ];
        for (records, lookups, void, loops, problem) in table {
            let got = walk("d.example", &zone(&records));
            assert_eq!(
                (got.dns_lookups, got.void_lookups, got.loops.len()),
                (lookups, void, loops),
                "{records:?}: {got:?}"
            );
            if !problem.is_empty() {
                assert!(
                    got.problems.iter().any(|p| p.contains(problem)),
                    "{records:?}: {:?}",
                    got.problems
                );
            }
            assert_eq!(got.over_lookup_limit(), lookups > 10);
            assert_eq!(got.over_void_limit(), void > 2);
        }
    }

    #[test]
    fn the_chain_and_loops_are_evidence() {
        let got = walk(
            "d.example",
            &zone(&[
                ("d.example", "v=spf1 include:a.example -all"),
                ("a.example", "v=spf1 mx include:d.example -all"),
            ]),
        );
        assert_eq!(got.loops, ["d.example -> a.example -> d.example"]);
        assert_eq!(
            got.chain,
            [
                "d.example: 1 lookups",
                "  include:a.example: 2 lookups",
                "    include:d.example: loop"
            ]
        );
    }

    #[test]
    fn failures_and_bounds_are_problems_not_panics() {
        let mut answers = zone(&[("d.example", "v=spf1 include:slow.example -all")]);
        answers.insert("slow.example".into(), Err(LookupError::Timeout));
        let got = walk("d.example", &answers);
        assert_eq!(got.void_lookups, 0);
        assert!(got.problems[0].contains("timed out"), "{got:?}");

        // A chain deeper than the bound: l0 -> l1 -> ... -> l20.
        let names: Vec<String> = (0..=20).map(|i| format!("l{i}.example")).collect();
        let mut answers: HashMap<String, Answer<Vec<String>>> = HashMap::new();
        answers.insert(
            "d.example".into(),
            Ok(vec!["v=spf1 include:l0.example -all".into()]),
        );
        for pair in names.windows(2) {
            answers.insert(
                pair[0].clone(),
                Ok(vec![format!("v=spf1 include:{} -all", pair[1])]),
            );
        }
        let got = walk("d.example", &answers);
        assert!(got.over_lookup_limit(), "{got:?}");
        assert!(
            got.problems.iter().any(|p| p.contains("deeper than")),
            "{got:?}"
        );

        // No record, or a failed lookup, at the domain itself: nothing to walk.
        assert_eq!(walk("d.example", &HashMap::new()), SpfTree::default());
        let mut failed = HashMap::new();
        failed.insert("d.example".to_string(), Err(LookupError::ServFail));
        assert_eq!(walk("d.example", &failed), SpfTree::default());
    }

    #[tokio::test]
    async fn follow_fetches_each_level_through_the_resolver() {
        use crate::dns::domain::tests::Table;
        let mut t = Table::default();
        for (name, txt) in [
            (
                "d.example",
                "v=spf1 include:a.example include:b.example -all",
            ),
            ("a.example", "v=spf1 include:c.example -all"),
            ("b.example", "v=spf1 include:c.example mx -all"),
            ("c.example", "v=spf1 a -all"),
        ] {
            t.txt.insert(name.into(), Ok(vec![txt.into()]));
        }
        let own = t.txt["d.example"].clone();
        let got = follow(&t, "d.example", &own).await;
        // 2 + 1 + (1 + 1) + 2 x c's 1.
        assert_eq!(got.dns_lookups, 7, "{got:?}");
        assert!(got.loops.is_empty() && got.problems.is_empty(), "{got:?}");
    }
}
