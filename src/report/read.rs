//! Reading reports back: records from a JSONL file (line by line, errors naming file:line) and a run's metadata from its JSON document.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::{RunEnd, RunMeta};
use super::record::ScanRecord;
use super::upgrade::upgrade;
use crate::assess::{Facts, draw};

/// A JSONL file that cannot be read, or a line that is not a record: bad input, named by
/// file and line.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}: {cause}", .path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}:{line}: not a relayscan record: {cause}", .path.display())]
    Record {
        path: PathBuf,
        line: usize,
        cause: serde_json::Error,
    },
}

/// The records of a JSONL report, one at a time, so that a file of any size streams.
/// Blank lines are skipped.
pub struct Records {
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    line: usize,
}

/// Opens `path` for [`Records`].
pub fn records(path: &Path) -> Result<Records, ReadError> {
    let file = File::open(path).map_err(|cause| ReadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(Records {
        path: path.to_path_buf(),
        lines: BufReader::new(file).lines(),
        line: 0,
    })
}

impl Iterator for Records {
    type Item = Result<ScanRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let text = match self.lines.next()? {
                Ok(text) => text,
                Err(cause) => {
                    return Some(Err(ReadError::Io {
                        path: self.path.clone(),
                        cause,
                    }));
                }
            };
            self.line += 1;
            if text.trim().is_empty() {
                continue;
            }
            return Some(parse_line(&text).map_err(|cause| ReadError::Record {
                path: self.path.clone(),
                line: self.line,
                cause,
            }));
        }
    }
}

/// One JSONL line as a record, upgraded from the schema it was written in. A record
/// written before findings existed has no `findings` key: its findings are drawn from its
/// own facts, so old files report like new ones.
pub fn parse_line(text: &str) -> Result<ScanRecord, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    upgrade(&mut value).map_err(serde::de::Error::custom)?;
    let has_findings = value.get("findings").is_some();
    let mut record: ScanRecord = serde_json::from_value(value)?;
    if !has_findings {
        let drawn = draw(&Facts {
            status: record.status,
            verdict: record.verdict,
            reason: record.reason.as_deref(),
            open_tests: &record.open_tests,
            accepts_any_recipient: record.accepts_any_recipient,
            dialogue: &record.dialogue,
            tls: record.tls.as_ref(),
        });
        record.mta = drawn.mta;
        record.findings = drawn.findings;
    }
    Ok(record)
}

/// The parts of a JSON report that describe the run; the records are skipped unread.
#[derive(Deserialize)]
struct RunDocument {
    run: RunMeta,
    finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    interrupted: bool,
}

/// The run metadata and end of the JSON document at `path`, when it is there and complete.
/// `Err` says why not, for a note to the user; a missing document is `Ok(None)`.
pub fn run_of(path: &Path) -> Result<Option<(RunMeta, Option<RunEnd>)>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let doc: RunDocument = serde_json::from_reader(BufReader::new(file)).map_err(|e| {
        format!(
            "{} is not a complete relayscan JSON report: {e}",
            path.display()
        )
    })?;
    let end = doc.finished_at.map(|finished_at| RunEnd {
        finished_at,
        interrupted: doc.interrupted,
    });
    Ok(Some((doc.run, end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn records_stream_skip_blank_lines_and_name_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.jsonl");
        let good =
            serde_json::to_string(&ScanRecord::of_outcome(testdata::open_relay_outcome())).unwrap();
        std::fs::write(&path, format!("{good}\n\n{good}\n{{\"ip\":\"x\"}}\n")).unwrap();
        let mut it = records(&path).unwrap();
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_ok());
        let e = it.next().unwrap().unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:4: not a relayscan record", path.display())),
            "{e}"
        );
        assert!(it.next().is_none());
        let missing = records(&dir.path().join("nope.jsonl")).err().unwrap();
        assert!(missing.to_string().starts_with("cannot read "), "{missing}");
    }

    #[test]
    fn old_records_without_findings_get_them_drawn_from_their_facts() {
        let record = ScanRecord::of_outcome(testdata::open_relay_outcome());
        let mut value = serde_json::to_value(&record).unwrap();
        let obj = value.as_object_mut().unwrap();
        obj.remove("findings");
        obj.remove("mta");
        let back = parse_line(&value.to_string()).unwrap();
        assert_eq!(back.findings, record.findings);
        assert!(!back.findings.is_empty());

        // A record that says it has no findings is taken at its word.
        value["findings"] = serde_json::json!([]);
        assert!(parse_line(&value.to_string()).unwrap().findings.is_empty());
    }

    #[test]
    fn run_of_reads_complete_documents_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.json");
        assert!(matches!(run_of(&path), Ok(None)));
        let meta = RunMeta::this_tool(Utc::now(), vec!["relayscan".into()]);
        let doc = serde_json::json!({
            "schema_version": 1, "run": meta, "records": [{"ignored": true}],
            "summary": {}, "finished_at": "2025-03-01T12:00:00Z", "interrupted": true
        });
        std::fs::write(&path, doc.to_string()).unwrap();
        let (back, end) = run_of(&path).unwrap().unwrap();
        assert_eq!(back, meta);
        assert!(end.unwrap().interrupted);
        // What an interrupted writer leaves: no tail.
        std::fs::write(&path, "{\"schema_version\":1,\n\"run\":{}").unwrap();
        assert!(run_of(&path).unwrap_err().contains("not a complete"));
    }
}
