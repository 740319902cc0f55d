//! A report set regenerated from the JSON Lines data of record (`relayscan report`): any format, with the run's metadata from the JSON report beside the JSONL when there is one.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::read::{Line, RunDocument, records};
use super::{
    Formats, ReportSink, Reports, RewriteError, RunEnd, RunMeta, ScanRecord, ScanSource, Summary,
};

/// What a regeneration wrote.
#[derive(Debug)]
pub struct Regenerated {
    pub summary: Summary,
    /// The domain records' totals (`None` when the input had none), for `--fail-on`.
    pub domains: Option<super::domain_totals::DomainTotals>,
    /// The report files, in the order [`Reports::paths`] gives.
    pub paths: Vec<PathBuf>,
}

/// Writes the report set at `prefix` from the records of `input`. `run` is the JSON
/// document of the run that wrote `input` (see [`super::read::run_document`]); without
/// it the metadata says where the data came from and the end is the last record's.
///
/// The first record is read before any file is created, so that a file that is not a
/// relayscan JSONL at all leaves nothing behind.
pub fn regenerate(
    input: &Path,
    prefix: &Path,
    formats: Formats,
    run: Option<RunDocument>,
    argv: Vec<String>,
) -> Result<Regenerated, RewriteError> {
    let mut source = records(input)?;
    let first = source.next().transpose()?;
    let first_host = match &first {
        Some(Line::Host(r)) => Some(r.as_ref()),
        _ => None,
    };
    let (meta, end) = match run {
        Some(doc) => {
            let end = doc.end();
            (doc.run, end)
        }
        None => (reconstructed_meta(input, first_host, argv), None),
    };

    let mut reports = Reports::create(prefix, formats, super::file::Replacing::Say)?;
    reports.begin(&meta)?;
    let mut summary = Summary::default();
    let mut last_end = meta.started_at;
    // Domain records go to the domain reports (PREFIX.domains.csv and the sections) as
    // they come: nothing is held for the end.
    for line in first.into_iter().map(Ok).chain(source) {
        match line? {
            Line::Host(record) => {
                last_end = last_end.max(ended(&record));
                summary.add(&record);
                reports.record(&record)?;
            }
            Line::Domain(entry) => reports.domain(&entry)?,
        }
    }
    summary.planned = u128::from(summary.probed);
    let end = end.unwrap_or(RunEnd {
        finished_at: last_end,
        interrupted: false,
    });
    let domains = reports.domain_totals().cloned();
    reports.finish(&end, &summary)?;
    Ok(Regenerated {
        summary,
        domains,
        paths: reports.paths(),
    })
}

/// When the probe of `r` ended.
fn ended(r: &ScanRecord) -> DateTime<Utc> {
    r.started_at + chrono::Duration::milliseconds(i64::try_from(r.duration_ms).unwrap_or(0))
}

/// Run metadata for a JSONL without its JSON document: the tool that regenerates the report,
/// the first record's start, and a note saying where the data came from.
fn reconstructed_meta(input: &Path, first: Option<&ScanRecord>, argv: Vec<String>) -> RunMeta {
    let started = first.map(|r| r.started_at).unwrap_or_else(Utc::now);
    let mut meta = RunMeta::this_tool(started, argv);
    meta.source = ScanSource {
        hostname: String::from("(not recorded)"),
        note: format!(
            "regenerated from {}; the scan's own metadata (targets, settings, vantage point) is in its JSON report, which was not found beside it",
            input.display()
        ),
    };
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::read::run_document;
    use crate::report::testdata;

    fn write_jsonl(path: &Path, records: &[ScanRecord]) {
        let text: String = records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn without_its_json_the_report_names_its_source_and_ends_with_the_last_probe() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("scan.jsonl");
        let mut late = ScanRecord::of_outcome(testdata::refused_outcome());
        late.started_at += chrono::Duration::hours(1);
        late.duration_ms = 1500;
        let records = [ScanRecord::of_outcome(testdata::open_relay_outcome()), late];
        write_jsonl(&input, &records);
        let prefix = dir.path().join("out/again");
        let done = regenerate(&input, &prefix, Formats::DATA, None, vec!["x".into()]).unwrap();
        assert_eq!((done.summary.probed, done.summary.planned), (2, 2));
        assert_eq!(done.paths.len(), 3);
        let doc = run_document(&prefix.with_extension("json"))
            .unwrap()
            .unwrap();
        assert_eq!(doc.run.started_at, records[0].started_at);
        assert_eq!(doc.run.command_line, ["x"]);
        assert!(
            doc.run.source.note.starts_with("regenerated from "),
            "{:?}",
            doc.run.source
        );
        let end = doc.end().unwrap();
        assert_eq!(end.finished_at, ended(&records[1]));
        assert!(!end.interrupted);
    }

    #[test]
    fn with_its_json_the_run_is_the_scans_own() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("scan.jsonl");
        write_jsonl(
            &input,
            &[ScanRecord::of_outcome(testdata::refused_outcome())],
        );
        let mut run = RunMeta::this_tool(Utc::now(), vec!["relayscan".into(), "scan".into()]);
        run.source.hostname = "scanner-7".into();
        let doc = RunDocument {
            run: run.clone(),
            summary: None,
            finished_at: Some(run.started_at),
            interrupted: true,
        };
        let prefix = dir.path().join("again");
        regenerate(&input, &prefix, "json".parse().unwrap(), Some(doc), vec![]).unwrap();
        let back = run_document(&prefix.with_extension("json"))
            .unwrap()
            .unwrap();
        assert_eq!(back.run, run);
        assert!(back.end().unwrap().interrupted);
    }

    #[test]
    fn a_file_that_is_not_a_report_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("notes.jsonl");
        std::fs::write(&input, "hello\n").unwrap();
        let prefix = dir.path().join("out/again");
        let e = regenerate(&input, &prefix, Formats::ALL, None, vec![]).unwrap_err();
        assert!(matches!(e, RewriteError::Read(_)), "{e}");
        assert!(
            e.to_string()
                .contains("notes.jsonl:1: not a relayscan record"),
            "{e}"
        );
        assert!(!dir.path().join("out").exists());
    }
}
