//! `relayscan merge A.jsonl B.jsonl ... -o PREFIX`: one report set from the shards of a
//! scan. Records are deduplicated by endpoint (the most informative one kept), sorted by
//! address and port, the summary recomputed, and the metadata lists the shards.
//!
//! Memory grows with the number of records (a key and a file offset each), never with
//! their size: each winner is read back from its file when it is written.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::commands::AppError;
use crate::cli::MergeArgs;
use crate::exit;
use crate::report::{
    Formats, ReportSink, Reports, RunEnd, RunMeta, RunSettings, ScanRecord, ScanSource, Summary,
};
use crate::scan::resume::report_path;
use crate::target::Shard;

/// What the JSON report beside a shard's JSONL says about its run (records skipped).
#[derive(Debug, Deserialize)]
struct RunHead {
    run: RunMeta,
    summary: Summary,
    #[serde(default)]
    interrupted: bool,
}

/// One input file and what it held.
struct Input {
    path: PathBuf,
    reader: BufReader<File>,
    records: u64,
    head: Option<RunHead>,
}

/// The record kept for one endpoint: where it is, and how good it is.
#[derive(Debug, Clone, Copy)]
struct Kept {
    file: usize,
    offset: u64,
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

pub fn run(args: MergeArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let formats = crate::config::output::formats(&args.format)?;
    refuse_overwriting_inputs(&args.inputs, &args.output, formats)?;

    let mut inputs = Vec::with_capacity(args.inputs.len());
    let mut kept: HashMap<(IpAddr, u16), Kept> = HashMap::new();
    let mut duplicates = 0u64;
    for (file, path) in args.inputs.iter().enumerate() {
        let (input, found) = scan_input(path)?;
        for (key, offset, rank) in found {
            let candidate = Kept { file, offset, rank };
            match kept.get_mut(&key) {
                None => {
                    kept.insert(key, candidate);
                }
                Some(existing) => {
                    duplicates += 1;
                    if rank > existing.rank {
                        *existing = candidate;
                    }
                }
            }
        }
        inputs.push(input);
    }

    let shards: Vec<(Option<u64>, Option<Shard>)> = inputs
        .iter()
        .map(|i| i.head.as_ref().map_or((None, None), shard_of))
        .collect();
    let coverage = Coverage::of(&shards);
    for warning in coverage.warnings() {
        eprintln!("relayscan: warning: {warning}");
    }
    let meta = merged_meta(&inputs, &coverage, duplicates, argv);
    let mut order: Vec<((IpAddr, u16), Kept)> = kept.into_iter().collect();
    order.sort_unstable_by_key(|(key, _)| *key);

    let output = |e: crate::report::ReportError| AppError::Output(e.to_string());
    let mut reports = Reports::create(&args.output, formats).map_err(output)?;
    reports.begin(&meta).map_err(output)?;
    let mut summary = Summary::default();
    for (_, k) in &order {
        let record = read_at(&mut inputs[k.file], k.offset)?;
        summary.add(&record);
        reports.record(&record).map_err(output)?;
    }
    // Every shard's plan, when each one says; else what the records cover.
    let heads: Vec<&RunHead> = inputs.iter().filter_map(|i| i.head.as_ref()).collect();
    summary.planned = if heads.len() == inputs.len() {
        heads.iter().map(|h| h.summary.planned).sum()
    } else {
        u128::from(summary.probed)
    };
    let end = RunEnd {
        finished_at: Utc::now(),
        interrupted: heads.iter().any(|h| h.interrupted),
    };
    reports.finish(&end, &summary).map_err(output)?;
    crate::commands::print_out(&summary.render_table());
    eprintln!(
        "relayscan: merged {} records from {} files ({duplicates} duplicates dropped)",
        summary.probed,
        inputs.len()
    );
    for path in reports.paths() {
        eprintln!("relayscan: wrote {}", path.display());
    }
    Ok(exit::OK)
}

/// `-o` must not name an input: creating the reports would truncate it before it is read.
fn refuse_overwriting_inputs(
    inputs: &[PathBuf],
    output: &Path,
    formats: Formats,
) -> Result<(), AppError> {
    let outputs: Vec<PathBuf> = ["csv", "jsonl", "json"]
        .iter()
        .zip([formats.csv, formats.jsonl, formats.json])
        .filter(|(_, on)| *on)
        .map(|(ext, _)| report_path(output, ext))
        .collect();
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    };
    for input in inputs {
        if outputs.iter().any(|o| same(input, o)) {
            return Err(AppError::Usage(format!(
                "-o {}: would overwrite the input {}; choose another prefix",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

type Found = Vec<((IpAddr, u16), u64, Rank)>;

/// Reads one JSONL file: each record's endpoint, byte offset and rank; and the JSON
/// report beside it, if there is one.
fn scan_input(path: &Path) -> Result<(Input, Found), AppError> {
    let open = |p: &Path| {
        File::open(p).map_err(|e| AppError::Usage(format!("{}: cannot open: {e}", p.display())))
    };
    let mut reader = BufReader::new(open(path)?);
    let mut found = Vec::new();
    let mut offset = 0u64;
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| AppError::Usage(format!("{}: cannot read: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        number += 1;
        if !line.trim().is_empty() {
            let r = parse_record(path, number, &line)?;
            found.push(((r.ip, r.port), offset, Rank::of(&r)));
        }
        offset += n as u64;
    }
    let head = read_head(&path.with_extension("json"));
    let input = Input {
        path: path.to_path_buf(),
        reader,
        records: found.len() as u64,
        head,
    };
    Ok((input, found))
}

fn parse_record(path: &Path, number: u64, line: &str) -> Result<ScanRecord, AppError> {
    serde_json::from_str(line).map_err(|e| {
        AppError::Usage(format!(
            "{}:{number}: not a relayscan record: {e}",
            path.display()
        ))
    })
}

/// The run and summary of a finished JSON report; `None` when absent or unfinished
/// (an interrupted shard's JSON is complete too; a crashed one's is not).
fn read_head(path: &Path) -> Option<RunHead> {
    let file = File::open(path).ok()?;
    serde_json::from_reader(BufReader::new(file)).ok()
}

fn read_at(input: &mut Input, offset: u64) -> Result<ScanRecord, AppError> {
    let err =
        |e: std::io::Error| AppError::Usage(format!("{}: cannot read: {e}", input.path.display()));
    input.reader.seek(SeekFrom::Start(offset)).map_err(err)?;
    let mut line = String::new();
    input.reader.read_line(&mut line).map_err(err)?;
    parse_record(&input.path, 0, &line)
}

/// The seed and shard a run recorded in its settings.
fn shard_of(head: &RunHead) -> (Option<u64>, Option<Shard>) {
    head.run.settings.seed_and_shard()
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
            "file": input.path.display().to_string(),
            "records": input.records,
        });
        if let Some(head) = &input.head {
            let (seed, shard) = shard_of(head);
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
