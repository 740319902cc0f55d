//! Reopening the reports of an interrupted run: the records the checkpoint counts are
//! replayed from the old JSONL into a new report set, which replaces the old one in one
//! step once it holds them all, and the resumed scan appends after them. Records written
//! after the checkpoint are dropped (their endpoints are probed again), so the result has
//! no duplicate and no loss. The old JSONL stays as it is until the new set replaces it: a
//! resume that dies while replaying leaves it for the next.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::input::{LineError, LineReader, open_stream};
use crate::report::domains::DomainReport;
use crate::report::file::Replacing;
use crate::report::read::{Line, MAX_RECORD_LINE_BYTES, parse_any};
use crate::report::{Formats, ReportError, ReportSink, Reports, RunMeta};
use crate::say::say;

/// Why reports could not be reopened: bad input (exit 2) or a file we cannot write (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Output(#[from] ReportError),
}

/// `PREFIX.ext`, keeping any dot already in the prefix.
pub fn report_path(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Where relayscan before this version moved the interrupted run's JSONL while it replayed
/// it; a resume that died while replaying left it there.
pub fn replay_source(prefix: &Path) -> PathBuf {
    report_path(prefix, "jsonl.before-resume")
}

/// The JSONL to replay: PREFIX.jsonl, or the copy an earlier resume left when PREFIX.jsonl
/// is missing (said on stderr). Both there is refused: which one holds the run's records
/// is the user's to say, not ours to guess.
fn ledger(prefix: &Path) -> Result<PathBuf, ResumeError> {
    let (jsonl, left) = (report_path(prefix, "jsonl"), replay_source(prefix));
    let exists = |p: &Path| fs::symlink_metadata(p).is_ok();
    match (exists(&jsonl), exists(&left)) {
        (true, false) => Ok(jsonl),
        (true, true) => Err(ResumeError::Input(format!(
            "cannot resume: both {j} and {l} exist; {l} is the copy of the records that an earlier resume left when it stopped while replaying, and {j} may be newer (restored, or written since). Keep the one that holds the interrupted run's records: delete {l} to resume from {j}, or move {l} over {j} to resume from it; nothing was sent",
            j = jsonl.display(),
            l = left.display()
        ))),
        (false, true) => {
            say(&format!(
                "relayscan: warning: {} is missing; resuming from {}, the copy of the records that an earlier resume left when it stopped while replaying",
                jsonl.display(),
                left.display()
            ));
            Ok(left)
        }
        (false, false) => Err(ResumeError::Input(format!(
            "cannot resume: {} is missing (it holds the records of the interrupted run)",
            jsonl.display()
        ))),
    }
}

/// Creates a new report set, begins it with `meta`, replays the first `jsonl_bytes` of the
/// old JSONL into it, and puts it in place of the old set. Returns the reports and how
/// many records were replayed. Call `finish_replay` once a checkpoint with the new length
/// is saved.
pub fn reopen(
    prefix: &Path,
    formats: Formats,
    jsonl_bytes: u64,
    meta: &RunMeta,
    domains: Option<DomainReport>,
) -> Result<(Reports, u64), ResumeError> {
    let source = ledger(prefix)?;
    let reader = open_stream(&source).map_err(|e| ReportError::new("open", &source, e))?;
    let len = reader
        .get_ref()
        .metadata()
        .map_err(|e| ReportError::new("open", &source, e))?
        .len();
    if len < jsonl_bytes {
        return Err(ResumeError::Input(format!(
            "cannot resume: {} holds {len} bytes, fewer than the {jsonl_bytes} the checkpoint counts (records were lost)",
            source.display()
        )));
    }
    // The run's own reports: replacing them is the point, not news.
    let mut reports = Reports::create(prefix, formats, Replacing::Quietly)?;
    reports.hold_until_commit();
    reports.begin(meta)?;
    // Before the replay: the replayed records settle their domains' endpoints, and the
    // replayed domain records are not written again.
    if let Some(domains) = domains {
        reports.attach_domains(domains)?;
    }
    let mut replayed = 0;
    let bad = |line: usize, problem: &dyn std::fmt::Display| {
        ResumeError::Input(format!(
            "cannot resume: {}:{line}: {problem}",
            source.display()
        ))
    };
    let mut lines = LineReader::new(reader.take(jsonl_bytes), MAX_RECORD_LINE_BYTES);
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(LineError::Io { cause, .. }) => {
                return Err(ReportError::new("read", &source, cause).into());
            }
            Err(too_long) => return Err(bad(too_long.number(), &too_long)),
        };
        let text = line
            .text()
            .map_err(|e| bad(line.number, &format!("not UTF-8 text ({e})")))?;
        // Read as every reader does, so that a record of an older schema (a run begun by
        // an older relayscan) is upgraded, not stripped of what moved.
        let record = parse_any(text)
            .map_err(|e| bad(line.number, &format!("not a relayscan record: {e}")))?;
        match record {
            Line::Host(record) => reports.record(&record)?,
            Line::Domain(entry) => reports.domain(&entry)?,
        }
        replayed += 1;
    }
    reports.commit()?;
    Ok((reports, replayed))
}

/// Removes the copy an earlier resume left, once the new checkpoint stands.
pub fn finish_replay(prefix: &Path) -> Result<(), ReportError> {
    let source = replay_source(prefix);
    match fs::remove_file(&source) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ReportError::new("remove", &source, e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{RunEnd, ScanRecord, Summary};
    use chrono::Utc;

    fn sample(n: u16) -> ScanRecord {
        let text = format!(
            r#"{{"ip":"192.0.2.{n}","port":25,"status":"refused","started_at":"2025-03-01T12:00:00Z"}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    fn line(r: &ScanRecord) -> String {
        serde_json::to_string(r).unwrap() + "\n"
    }

    #[test]
    fn keeps_the_counted_records_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("scan");
        let kept = [sample(1), sample(2)];
        let counted: String = kept.iter().map(line).collect();
        let after = line(&sample(3));
        fs::write(report_path(&prefix, "jsonl"), format!("{counted}{after}")).unwrap();

        let meta = RunMeta::this_tool(Utc::now(), vec![]);
        let (mut reports, replayed) =
            reopen(&prefix, Formats::ALL, counted.len() as u64, &meta, None).unwrap();
        assert_eq!(replayed, 2);
        assert!(!replay_source(&prefix).exists(), "no copy is made");
        assert_eq!(
            fs::read_to_string(report_path(&prefix, "jsonl")).unwrap(),
            counted,
            "the replayed set is in place"
        );
        reports.record(&sample(4)).unwrap();
        let end = RunEnd {
            finished_at: Utc::now(),
            interrupted: false,
        };
        reports.finish(&end, &Summary::default()).unwrap();
        finish_replay(&prefix).unwrap();
        assert!(!replay_source(&prefix).exists());
        finish_replay(&prefix).unwrap();

        let ips = |text: &str| -> Vec<String> {
            text.lines()
                .map(|l| {
                    serde_json::from_str::<ScanRecord>(l)
                        .unwrap()
                        .ip
                        .to_string()
                })
                .collect()
        };
        let jsonl = fs::read_to_string(report_path(&prefix, "jsonl")).unwrap();
        assert_eq!(ips(&jsonl), ["192.0.2.1", "192.0.2.2", "192.0.2.4"]);
        let csv = fs::read_to_string(report_path(&prefix, "csv")).unwrap();
        assert_eq!(csv.lines().count(), 4, "header and three rows");
        let doc: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(report_path(&prefix, "json")).unwrap())
                .unwrap();
        assert_eq!(doc["records"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_record_of_an_older_schema_is_replayed_upgraded_with_every_attempt() {
        // The first record main wrote at 31795cf (schema 1), an open relay: 16 attempts
        // and a control at the top of its dialogue.
        let fixture = include_str!("../../tests/fixtures/main-31795cf/scan.jsonl");
        let old = fixture.lines().next().unwrap().to_string() + "\n";
        let v1: serde_json::Value = serde_json::from_str(&old).unwrap();
        assert_eq!(v1["schema_version"], 1);
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("scan");
        fs::write(report_path(&prefix, "jsonl"), &old).unwrap();
        let meta = RunMeta::this_tool(Utc::now(), vec![]);
        let (mut reports, replayed) =
            reopen(&prefix, Formats::ALL, old.len() as u64, &meta, None).unwrap();
        assert_eq!(replayed, 1);
        let end = RunEnd {
            finished_at: Utc::now(),
            interrupted: false,
        };
        reports.finish(&end, &Summary::default()).unwrap();
        let text = fs::read_to_string(report_path(&prefix, "jsonl")).unwrap();
        let new: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(new["schema_version"], crate::report::SCHEMA_VERSION);
        let first = &new["dialogue"]["first"];
        assert_eq!(first["attempts"], v1["dialogue"]["attempts"]);
        assert_eq!(first["attempts"].as_array().unwrap().len(), 16);
        assert_eq!(first["control"], v1["dialogue"]["control"]);
        assert_eq!(new["verdict"], v1["verdict"]);
        assert_eq!(new["findings"], v1["findings"]);
    }

    #[test]
    fn a_replay_that_fails_leaves_the_old_reports_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("scan");
        let old = format!("{}{{\"not\":\"a record\"}}\n", line(&sample(1)));
        fs::write(report_path(&prefix, "jsonl"), &old).unwrap();
        fs::write(report_path(&prefix, "csv"), "old csv").unwrap();
        let meta = RunMeta::this_tool(Utc::now(), vec![]);
        let Err(e) = reopen(&prefix, Formats::ALL, old.len() as u64, &meta, None) else {
            panic!("replayed a line that is not a record");
        };
        assert!(
            e.to_string()
                .contains("scan.jsonl:2: not a relayscan record"),
            "{e}"
        );
        assert_eq!(
            fs::read_to_string(report_path(&prefix, "jsonl")).unwrap(),
            old
        );
        assert_eq!(
            fs::read_to_string(report_path(&prefix, "csv")).unwrap(),
            "old csv"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "no leftover");
    }

    #[test]
    fn a_copy_left_by_an_earlier_resume_is_used_alone_and_refused_beside_the_jsonl() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("scan");
        let counted = line(&sample(1));
        fs::write(replay_source(&prefix), &counted).unwrap();
        let meta = RunMeta::this_tool(Utc::now(), vec![]);
        let (_, replayed) =
            reopen(&prefix, Formats::ALL, counted.len() as u64, &meta, None).unwrap();
        assert_eq!(replayed, 1);
        assert_eq!(
            fs::read_to_string(report_path(&prefix, "jsonl")).unwrap(),
            counted
        );
        // Now both are there: neither is preferred.
        let Err(e) = reopen(&prefix, Formats::ALL, counted.len() as u64, &meta, None) else {
            panic!("chose between the JSONL and the copy");
        };
        let e = e.to_string();
        assert!(
            e.contains(&format!(
                "both {} and {} exist",
                report_path(&prefix, "jsonl").display(),
                replay_source(&prefix).display()
            )),
            "{e}"
        );
        finish_replay(&prefix).unwrap();
        assert!(!replay_source(&prefix).exists());
    }

    #[test]
    fn missing_short_or_corrupt_ledgers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("scan");
        let meta = RunMeta::this_tool(Utc::now(), vec![]);
        let err = |bytes| match reopen(&prefix, Formats::ALL, bytes, &meta, None) {
            Ok(_) => panic!("reopened with {bytes} bytes"),
            Err(e) => e,
        };
        let err0 = err(0);
        assert!(err0.to_string().contains("scan.jsonl is missing"), "{err0}");

        fs::write(report_path(&prefix, "jsonl"), "short\n").unwrap();
        let short = err(100);
        assert!(short.to_string().contains("fewer than the 100"), "{short}");

        fs::write(report_path(&prefix, "jsonl"), "{\"not\":\"a record\"}\n").unwrap();
        let corrupt = err(19);
        assert!(
            corrupt
                .to_string()
                .contains("scan.jsonl:1: not a relayscan record"),
            "{corrupt}"
        );
    }

    #[test]
    fn a_line_over_the_cap_is_refused_by_file_and_line_unread() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("scan");
        // A valid record padded past the cap: read whole, it would replay.
        let mut long = serde_json::to_value(sample(2)).unwrap();
        long["server_name"] = "x".repeat(MAX_RECORD_LINE_BYTES).into();
        let text = format!("{}{long}\n", line(&sample(1)));
        fs::write(report_path(&prefix, "jsonl"), &text).unwrap();
        let meta = RunMeta::this_tool(Utc::now(), vec![]);
        let Err(e) = reopen(&prefix, Formats::ALL, text.len() as u64, &meta, None) else {
            panic!("a line over the cap was replayed");
        };
        assert!(matches!(e, ResumeError::Input(_)), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "cannot resume: {}:2: line longer than 4 MiB (4194304 bytes), the cap on one \
                 line of this file",
                report_path(&prefix, "jsonl").display()
            )
        );
    }
}
