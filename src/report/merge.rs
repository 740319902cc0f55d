//! Merging the JSONL reports of a scan's shards into one report set (`relayscan merge`):
//! records deduplicated by endpoint (the most informative one kept), sorted by address and
//! port, the summary recomputed, and the metadata listing the shards. Each mail domain is
//! written once: every shard resolved all the domains but probed only its share of their
//! mail hosts, so a domain's copies are joined endpoint by endpoint and reassessed.
//!
//! Memory grows with the number of records (a key, a place in a file and a rank each),
//! never with their size: each winner is read back from its file when it is written.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::domains::{DomainEntry, join_copies};
use super::read::{Line, ReadError, Records, json_beside, records, run_document};
use super::{
    Formats, ReportSink, Reports, RewriteError, RunEnd, RunMeta, RunSettings, ScanRecord,
    ScanSource, Summary,
};
use crate::target::{Address, Shard};

/// What the JSON report beside a shard's JSONL says about its run.
#[derive(Debug)]
struct Head {
    run: RunMeta,
    summary: Summary,
    interrupted: bool,
}

impl Head {
    /// The finished JSON report beside `jsonl`; `None` when absent, unfinished or without
    /// a summary.
    fn beside(jsonl: &Path) -> Option<Head> {
        let doc = run_document(&json_beside(jsonl)).ok().flatten()?;
        Some(Head {
            summary: doc.summary?,
            run: doc.run,
            interrupted: doc.interrupted,
        })
    }

    /// The seed and shard the run recorded in its settings.
    fn shard(&self) -> (Option<u64>, Option<Shard>) {
        self.run.settings.seed_and_shard()
    }
}

/// One input file: its records (kept open to read the winners back) and what it held.
struct Input {
    records: Records,
    count: u64,
    head: Option<Head>,
}

/// The record kept for one endpoint: where it is, and how good it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kept {
    file: usize,
    offset: u64,
    line: usize,
    rank: Rank,
}

/// Which of two records of one endpoint to keep: one with a verdict beats one that only
/// answered, which beats one that did not answer; then the later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    evidence: u8,
    started_at: DateTime<Utc>,
}

impl Rank {
    fn of(r: &ScanRecord) -> Rank {
        let evidence = match (r.verdict.is_some(), r.status.answered()) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        };
        Rank {
            evidence,
            started_at: r.started_at,
        }
    }
}

/// The best record per endpoint seen so far, and how many others were dropped. Pure.
#[derive(Debug, Default)]
struct Winners {
    /// By canonical address: a shard that wrote `::ffff:192.0.2.1` and one that wrote
    /// 192.0.2.1 probed the same endpoint.
    kept: HashMap<(Address, u16), Kept>,
    duplicates: u64,
}

impl Winners {
    fn offer(&mut self, key: (Address, u16), candidate: Kept) {
        match self.kept.get_mut(&key) {
            None => {
                self.kept.insert(key, candidate);
            }
            Some(existing) => {
                self.duplicates += 1;
                if candidate.rank > existing.rank {
                    *existing = candidate;
                }
            }
        }
    }

    /// The winners by address, then port.
    fn in_order(self) -> Vec<Kept> {
        let mut order: Vec<((Address, u16), Kept)> = self.kept.into_iter().collect();
        order.sort_unstable_by_key(|(key, _)| *key);
        order.into_iter().map(|(_, k)| k).collect()
    }
}

/// Where one copy of a domain record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    file: usize,
    offset: u64,
    line: usize,
}

/// The shards read, ready to be written as one report set.
pub struct Merge {
    inputs: Vec<Input>,
    winners: Winners,
    /// Every copy of each domain record, by domain name.
    domains: HashMap<String, Vec<Place>>,
    coverage: Coverage,
}

/// What a merge wrote.
#[derive(Debug)]
pub struct Merged {
    pub summary: Summary,
    pub files: usize,
    pub duplicates: u64,
    /// The report files, in the order [`Reports::paths`] gives.
    pub paths: Vec<PathBuf>,
}

impl Merge {
    /// Reads every input JSONL (each record's endpoint, place and rank) and the JSON report
    /// beside it, if there is one. A line that is not a record is bad input, named by
    /// file:line.
    pub fn read(paths: &[PathBuf]) -> Result<Merge, ReadError> {
        let mut inputs = Vec::with_capacity(paths.len());
        let mut winners = Winners::default();
        let mut domains: HashMap<String, Vec<Place>> = HashMap::new();
        for (file, path) in paths.iter().enumerate() {
            let mut records = records(path)?;
            let mut count = 0u64;
            while let Some(located) = records.next_located() {
                let located = located?;
                let r = match &located.record {
                    Line::Host(r) => r,
                    Line::Domain(e) => {
                        domains.entry(e.domain.clone()).or_default().push(Place {
                            file,
                            offset: located.offset,
                            line: located.line,
                        });
                        continue;
                    }
                };
                let candidate = Kept {
                    file,
                    offset: located.offset,
                    line: located.line,
                    rank: Rank::of(r),
                };
                winners.offer((Address::new(r.ip), r.port), candidate);
                count += 1;
            }
            inputs.push(Input {
                records,
                count,
                head: Head::beside(path),
            });
        }
        let heads: Vec<(&Path, &Head)> = paths
            .iter()
            .zip(&inputs)
            .filter_map(|(p, i)| Some((p.as_path(), i.head.as_ref()?)))
            .collect();
        if let Some(why) = plans_disagree(&heads) {
            return Err(ReadError::Disagree(why));
        }
        let shards: Vec<(Option<u64>, Option<Shard>)> = inputs
            .iter()
            .map(|i| i.head.as_ref().map_or((None, None), Head::shard))
            .collect();
        Ok(Merge {
            coverage: Coverage::of(&shards),
            inputs,
            winners,
            domains,
        })
    }

    /// What the inputs lack or repeat as shards of one scan, one sentence each.
    pub fn warnings(&self) -> Vec<String> {
        self.coverage.warnings()
    }

    /// Writes the merged report set at `prefix`: the winners in order, the summary
    /// recomputed from them.
    pub fn write(
        mut self,
        prefix: &Path,
        formats: Formats,
        argv: Vec<String>,
    ) -> Result<Merged, RewriteError> {
        let duplicates = self.winners.duplicates;
        let meta = merged_meta(&self.inputs, &self.coverage, duplicates, argv);
        let mut reports = Reports::create(prefix, formats, super::file::Replacing::Say)?;
        reports.begin(&meta)?;
        let mut summary = Summary::default();
        for k in std::mem::take(&mut self.winners).in_order() {
            let Some(record) = self.inputs[k.file]
                .records
                .read_at(k.offset, k.line)?
                .host()
            else {
                continue;
            };
            summary.add(&record);
            reports.record(&record)?;
        }
        // Each domain once, by name, its copies joined.
        let mut names: Vec<String> = self.domains.keys().cloned().collect();
        names.sort_unstable();
        for name in names {
            let places = self.domains.remove(&name).unwrap_or_default();
            let mut copies: Vec<DomainEntry> = Vec::with_capacity(places.len());
            for p in places {
                if let Line::Domain(e) = self.inputs[p.file].records.read_at(p.offset, p.line)? {
                    copies.push(*e);
                }
            }
            if let Some(joined) = join_copies(copies) {
                reports.domain(&joined)?;
            }
        }
        let heads: Vec<&Head> = self.inputs.iter().filter_map(|i| i.head.as_ref()).collect();
        summary.planned = planned(&heads, self.inputs.len(), summary.probed);
        let end = RunEnd {
            finished_at: Utc::now(),
            interrupted: heads.iter().any(|h| h.interrupted),
        };
        reports.finish(&end, &summary)?;
        Ok(Merged {
            summary,
            files: self.inputs.len(),
            duplicates,
            paths: reports.paths(),
        })
    }
}

/// Why the inputs are not shards of one plan, naming the first two that differ and what
/// differs between them (targets, excludes or ports as given, else what the names
/// resolved to); `None` when every input that records a plan fingerprint agrees. Pure.
fn plans_disagree(heads: &[(&Path, &Head)]) -> Option<String> {
    let planned: Vec<(&Path, &Head, String)> = heads
        .iter()
        .filter_map(|&(p, h)| Some((p, h, h.run.settings.plan()?)))
        .collect();
    let (first_path, first, fp) = planned.first()?;
    let (other_path, other, other_fp) = planned.iter().find(|(_, _, f)| f != fp)?;
    let (a, b) = (&first.run, &other.run);
    let (one, two) = (first_path.display(), other_path.display());
    let differs = |what: &str, x: &[String], y: &[String]| {
        (x != y).then(|| {
            format!(
                "the {what} differ ({one}: {}; {two}: {})",
                x.join(" "),
                y.join(" ")
            )
        })
    };
    let ports = |p: &[u16]| p.iter().map(u16::to_string).collect::<Vec<_>>();
    let what = differs("targets", &a.targets, &b.targets)
        .or_else(|| differs("excludes", &a.excludes, &b.excludes))
        .or_else(|| differs("ports", &ports(&a.ports), &ports(&b.ports)))
        .unwrap_or_else(|| {
            "the same targets, excludes and ports resolved to different addresses (each shard resolves names at its start: write the plan once with `relayscan targets ... -o plan.txt` and give every shard -iL plan.txt)".to_string()
        });
    Some(format!(
        "{one} and {two} are not shards of one plan (plan {fp} and {other_fp}): {what}; nothing was written"
    ))
}

/// Every shard's plan, when each one says; else what the records cover.
fn planned(heads: &[&Head], inputs: usize, probed: u64) -> u128 {
    if heads.len() == inputs {
        heads.iter().map(|h| h.summary.planned).sum()
    } else {
        u128::from(probed)
    }
}

/// Which shards of which scan the inputs are.
#[derive(Debug, Default, PartialEq, Eq)]
struct Coverage {
    /// Distinct shard counts seen (one when the inputs are shards of one scan).
    counts: BTreeSet<u32>,
    seeds: BTreeSet<u64>,
    seen: BTreeSet<u32>,
    missing: Vec<u32>,
    repeated: Vec<u32>,
    /// Inputs without shard metadata (no JSON report beside them).
    unknown: usize,
}

impl Coverage {
    fn of(shards: &[(Option<u64>, Option<Shard>)]) -> Coverage {
        let mut c = Coverage::default();
        for &(seed, shard) in shards {
            let Some(shard) = shard else {
                c.unknown += 1;
                continue;
            };
            c.counts.insert(shard.count);
            c.seeds.extend(seed);
            if !c.seen.insert(shard.index) {
                c.repeated.push(shard.index);
            }
        }
        if let (1, Some(&n)) = (c.counts.len(), c.counts.first()) {
            c.missing = (1..=n).filter(|i| !c.seen.contains(i)).collect();
        }
        c
    }

    fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.counts.len() > 1 {
            w.push(format!(
                "the inputs are shards of different splits ({:?} shards): they may overlap or leave gaps",
                self.counts
            ));
        }
        if self.seeds.len() > 1 {
            w.push(format!(
                "the inputs used different seeds ({:?}): their shards may overlap or leave gaps",
                self.seeds
            ));
        }
        if let (false, Some(n)) = (self.missing.is_empty(), self.counts.first()) {
            let list: Vec<String> = self.missing.iter().map(|i| format!("{i}/{n}")).collect();
            w.push(format!("missing shards: {}", list.join(", ")));
        }
        if !self.repeated.is_empty() {
            w.push(format!(
                "shards given more than once: {:?} (duplicates are dropped)",
                self.repeated
            ));
        }
        w
    }
}

/// The merged run's metadata: the shards' targets and ports, and a list of the inputs.
fn merged_meta(
    inputs: &[Input],
    coverage: &Coverage,
    duplicates: u64,
    argv: Vec<String>,
) -> RunMeta {
    let mut meta = RunMeta::this_tool(Utc::now(), argv);
    let mut targets = BTreeSet::new();
    let mut excludes = BTreeSet::new();
    let mut ports = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut from = Vec::new();
    for input in inputs {
        let mut entry = serde_json::json!({
            "file": input.records.path().display().to_string(),
            "records": input.count,
        });
        if let Some(head) = &input.head {
            let (seed, shard) = head.shard();
            entry["seed"] = serde_json::json!(seed);
            entry["shard"] = serde_json::json!(shard.map(|s| s.to_string()));
            entry["started_at"] = serde_json::json!(head.run.started_at);
            entry["planned"] = serde_json::json!(head.summary.planned);
            entry["interrupted"] = serde_json::json!(head.interrupted);
            entry["host"] = serde_json::json!(head.run.source.hostname);
            targets.extend(head.run.targets.iter().cloned());
            excludes.extend(head.run.excludes.iter().cloned());
            ports.extend(head.run.ports.iter().copied());
            hosts.insert(head.run.source.hostname.clone());
        }
        from.push(entry);
    }
    meta.settings = RunSettings::Other(serde_json::json!({
        "merged_from": from,
        "duplicates_dropped": duplicates,
        "shards_missing": coverage.missing,
        "data_sent": false,
    }));
    meta.targets = targets.into_iter().collect();
    meta.excludes = excludes.into_iter().collect();
    meta.ports = ports.into_iter().collect();
    meta.source = ScanSource {
        hostname: hosts.into_iter().collect::<Vec<_>>().join(","),
        note: format!("merged from {} shard reports", inputs.len()),
    };
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: &str, verdict: Option<&str>, at: &str) -> ScanRecord {
        let verdict = verdict.map_or("null".to_string(), |v| format!("\"{v}\""));
        let text = format!(
            r#"{{"ip":"192.0.2.1","port":25,"status":"{status}","verdict":{verdict},"started_at":"{at}"}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn the_most_informative_record_wins() {
        let early = "2025-03-01T12:00:00Z";
        let late = "2025-03-01T13:00:00Z";
        // (a, b, a beats b)
        let cases = [
            (
                record("completed", Some("open-relay"), early),
                record("refused", None, late),
                true,
            ),
            (
                record("dropped", None, early),
                record("refused", None, late),
                true,
            ),
            (
                record("completed", Some("relay-denied"), late),
                record("completed", Some("open-relay"), early),
                true,
            ),
            (
                record("refused", None, early),
                record("connect-timeout", None, late),
                false,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(
                Rank::of(&a) > Rank::of(&b),
                want,
                "{:?} vs {:?}",
                a.status,
                b.status
            );
        }
    }

    #[test]
    fn the_best_record_per_endpoint_is_kept_and_the_rest_counted() {
        let at = |h: u32| {
            "2025-03-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
                + chrono::Duration::hours(h.into())
        };
        let kept = |file, evidence, hour| Kept {
            file,
            offset: 0,
            line: 1,
            rank: Rank {
                evidence,
                started_at: at(hour),
            },
        };
        let key = |ip: &str, port| (Address::new(ip.parse::<std::net::IpAddr>().unwrap()), port);
        let a = key("192.0.2.1", 25);
        let b = key("192.0.2.1", 24);
        let c = key("192.0.2.0", 587);
        let c_mapped = key("::ffff:192.0.2.0", 587);
        let mut w = Winners::default();
        // (endpoint, offered) in input order
        let offers = [
            (a, kept(0, 1, 5)),
            (b, kept(0, 0, 1)),
            (a, kept(1, 2, 0)), // a verdict beats a later answer
            (a, kept(2, 2, 0)), // a tie keeps the first
            (c, kept(2, 0, 3)),
            (b, kept(1, 0, 2)),        // the later of two silences
            (c_mapped, kept(3, 0, 1)), // c spelt in IPv6: the same endpoint, earlier
        ];
        for (key, k) in offers {
            w.offer(key, k);
        }
        assert_eq!(w.duplicates, 4);
        assert_eq!(w.in_order(), [kept(2, 0, 3), kept(1, 0, 2), kept(1, 2, 0)]);
    }

    #[test]
    fn the_plan_is_the_shards_plans_only_when_every_shard_says() {
        let head = |planned| Head {
            run: RunMeta::this_tool(Utc::now(), vec![]),
            summary: Summary {
                planned,
                ..Summary::default()
            },
            interrupted: false,
        };
        let (h1, h2) = (head(10), head(7));
        // (heads, inputs, probed, planned)
        let table: [(&[&Head], usize, u64, u128); 3] =
            [(&[&h1, &h2], 2, 5, 17), (&[&h1], 2, 5, 5), (&[], 1, 0, 0)];
        for (heads, inputs, probed, want) in table {
            assert_eq!(planned(heads, inputs, probed), want, "{inputs} {probed}");
        }
    }

    #[test]
    fn shards_of_different_plans_are_refused_naming_what_differs() {
        let head = |targets: &[&str], ports: &[u16], plan: Option<&str>| {
            let mut run = RunMeta::this_tool(Utc::now(), Vec::new());
            run.targets = targets.iter().map(|t| t.to_string()).collect();
            run.ports = ports.to_vec();
            run.settings = RunSettings::Scan(Box::new(crate::report::RecordedSettings {
                plan: plan.map(str::to_string),
                ..crate::report::settings::tests::sample()
            }));
            Head {
                run,
                summary: Summary::default(),
                interrupted: false,
            }
        };
        let (a, b) = (Path::new("a.jsonl"), Path::new("b.jsonl"));
        let same = head(&["192.0.2.0/28"], &[25], Some("00000000000000aa"));
        let agree = head(&["192.0.2.0/28"], &[25], Some("00000000000000aa"));
        assert_eq!(plans_disagree(&[(a, &same), (b, &agree)]), None);
        // Reports from before the fingerprint say nothing: not refused.
        let old = head(&["198.51.100.0/28"], &[25], None);
        assert_eq!(plans_disagree(&[(a, &same), (b, &old)]), None);
        let other_targets = head(&["192.0.2.0/27"], &[25], Some("00000000000000bb"));
        let why = plans_disagree(&[(a, &same), (b, &other_targets)]).expect("refused");
        assert!(
            why.contains("a.jsonl and b.jsonl are not shards of one plan")
                && why
                    .contains("the targets differ (a.jsonl: 192.0.2.0/28; b.jsonl: 192.0.2.0/27)"),
            "{why}"
        );
        let other_ports = head(&["192.0.2.0/28"], &[587], Some("00000000000000bb"));
        let why = plans_disagree(&[(a, &same), (b, &other_ports)]).expect("refused");
        assert!(
            why.contains("the ports differ (a.jsonl: 25; b.jsonl: 587)"),
            "{why}"
        );
        let resolved_apart = head(&["192.0.2.0/28"], &[25], Some("00000000000000cc"));
        let why = plans_disagree(&[(a, &same), (b, &resolved_apart)]).expect("refused");
        assert!(why.contains("resolved to different addresses"), "{why}");
    }

    #[test]
    fn coverage_names_missing_repeated_and_mixed_shards() {
        let s = |i, n| Some(Shard { index: i, count: n });
        let whole = Coverage::of(&[(Some(7), s(1, 3)), (Some(7), s(2, 3)), (Some(7), s(3, 3))]);
        assert!(whole.warnings().is_empty(), "{:?}", whole.warnings());

        let gaps = Coverage::of(&[(Some(7), s(1, 4)), (Some(7), s(3, 4)), (Some(7), s(3, 4))]);
        assert_eq!(gaps.missing, [2, 4]);
        assert_eq!(
            gaps.warnings(),
            [
                "missing shards: 2/4, 4/4".to_string(),
                "shards given more than once: [3] (duplicates are dropped)".to_string()
            ]
        );

        let mixed = Coverage::of(&[(Some(1), s(1, 2)), (Some(2), s(2, 3)), (None, None)]);
        assert_eq!(mixed.unknown, 1);
        assert!(mixed.missing.is_empty());
        let w = mixed.warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("different splits") && w[1].contains("different seeds"));
    }
}
