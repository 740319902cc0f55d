//! Reading reports back: records from a JSONL file (line by line, errors naming file:line) and a run's metadata from its JSON document.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::{RunEnd, RunMeta};
use super::record::ScanRecord;
use super::summary::Summary;
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
/// Blank lines are skipped. Each record's place in the file is known, so that a reader
/// that keeps only places (merge) can read the record again later.
pub struct Records {
    path: PathBuf,
    reader: BufReader<File>,
    /// Bytes read so far: where the next line starts.
    offset: u64,
    /// Lines read so far (1-based number of the last one).
    line: usize,
    text: String,
}

/// A record and where it stands in its file.
#[derive(Debug)]
pub struct Located {
    /// Byte offset of its line, for [`Records::read_at`].
    pub offset: u64,
    /// 1-based line number, for errors.
    pub line: usize,
    pub record: ScanRecord,
}

/// Opens `path` for [`Records`].
pub fn records(path: &Path) -> Result<Records, ReadError> {
    let file = File::open(path).map_err(|cause| ReadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(Records {
        path: path.to_path_buf(),
        reader: BufReader::new(file),
        offset: 0,
        line: 0,
        text: String::new(),
    })
}

impl Records {
    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next record with its place in the file.
    pub fn next_located(&mut self) -> Option<Result<Located, ReadError>> {
        loop {
            let offset = self.offset;
            match self.read_line() {
                Ok(0) => return None,
                Ok(n) => self.offset += n as u64,
                Err(e) => return Some(Err(e)),
            }
            self.line += 1;
            if self.text.trim().is_empty() {
                continue;
            }
            let line = self.line;
            return Some(self.parse(line).map(|record| Located {
                offset,
                line,
                record,
            }));
        }
    }

    /// The record at `offset` (line number `line`), as [`Records::next_located`] found it.
    /// Iterating after this call goes on from after that record.
    pub fn read_at(&mut self, offset: u64, line: usize) -> Result<ScanRecord, ReadError> {
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(|cause| self.io(cause))?;
        let n = self.read_line()?;
        (self.offset, self.line) = (offset + n as u64, line);
        self.parse(line)
    }

    /// Reads one line into `text`; returns its length in bytes (0 at the end).
    fn read_line(&mut self) -> Result<usize, ReadError> {
        self.text.clear();
        self.reader
            .read_line(&mut self.text)
            .map_err(|cause| self.io(cause))
    }

    fn parse(&self, line: usize) -> Result<ScanRecord, ReadError> {
        parse_line(&self.text).map_err(|cause| ReadError::Record {
            path: self.path.clone(),
            line,
            cause,
        })
    }

    fn io(&self, cause: std::io::Error) -> ReadError {
        ReadError::Io {
            path: self.path.clone(),
            cause,
        }
    }
}

impl Iterator for Records {
    type Item = Result<ScanRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_located().map(|r| r.map(|l| l.record))
    }
}

/// One JSONL line as a record, upgraded from the schema it was written in. A record
/// written before findings existed has no `findings` key: its findings are drawn from its
/// own facts, so old files report like new ones.
pub fn parse_line(text: &str) -> Result<ScanRecord, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    upgrade(&mut value).map_err(serde::de::Error::custom)?;
    let has_findings = value.get("findings").is_some();
    let mut record: ScanRecord = match serde_json::from_value(value) {
        Ok(record) => record,
        // On the error path only: the text as it stands names the column of the fault.
        Err(e) => return Err(serde_json::from_str::<ScanRecord>(text).err().unwrap_or(e)),
    };
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
#[derive(Debug, Deserialize)]
pub struct RunDocument {
    pub run: RunMeta,
    /// Written by `finish`, with `finished_at`; `None` too when it does not read as a
    /// summary (merge then counts that run's plan as unknown; `report` does not need it).
    #[serde(default, deserialize_with = "summary_if_valid")]
    pub summary: Option<Summary>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub interrupted: bool,
}

fn summary_if_valid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Summary>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

impl RunDocument {
    /// How the run ended, when the document says.
    pub fn end(&self) -> Option<RunEnd> {
        self.finished_at.map(|finished_at| RunEnd {
            finished_at,
            interrupted: self.interrupted,
        })
    }
}

/// Where a scan wrote its JSON report beside its JSONL: `scan.jsonl` -> `scan.json`.
pub fn json_beside(jsonl: &Path) -> PathBuf {
    jsonl.with_extension("json")
}

/// The run part of the JSON document at `path`, when it is there and complete (an
/// interrupted run's document is complete too; a crashed one's is not). `Err` says why
/// not, for a note to the user; a missing document is `Ok(None)`.
pub fn run_document(path: &Path) -> Result<Option<RunDocument>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let doc = serde_json::from_reader(BufReader::new(file)).map_err(|e| {
        format!(
            "{} is not a complete relayscan JSON report: {e}",
            path.display()
        )
    })?;
    Ok(Some(doc))
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
        assert_eq!(
            e.to_string(),
            format!(
                "{}:4: not a relayscan record: invalid IP address syntax at line 1 column 9",
                path.display()
            )
        );
        assert!(it.next().is_none());
        let missing = records(&dir.path().join("nope.jsonl")).err().unwrap();
        assert!(missing.to_string().starts_with("cannot read "), "{missing}");
    }

    #[test]
    fn a_located_record_reads_again_at_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.jsonl");
        let open = ScanRecord::of_outcome(testdata::open_relay_outcome());
        let refused = ScanRecord::of_outcome(testdata::refused_outcome());
        let line = |r: &ScanRecord| serde_json::to_string(r).unwrap();
        let text = format!("\n{}\r\n\n{}\n", line(&open), line(&refused));
        std::fs::write(&path, &text).unwrap();
        let mut it = records(&path).unwrap();
        let first = it.next_located().unwrap().unwrap();
        let second = it.next_located().unwrap().unwrap();
        assert!(it.next_located().is_none());
        // (offset, line): blank lines count as lines, CRLF as two bytes.
        assert_eq!((first.offset, first.line), (1, 2));
        let after_first = 1 + line(&open).len() as u64 + 2;
        assert_eq!((second.offset, second.line), (after_first + 1, 4));
        assert_eq!(it.read_at(second.offset, second.line).unwrap(), refused);
        assert_eq!(it.read_at(first.offset, first.line).unwrap(), open);
        // A wrong place is bad input named by file and line, not a panic.
        let e = it.read_at(3, 2).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:2: not a relayscan record", path.display())),
            "{e}"
        );
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
    fn run_document_reads_complete_documents_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.json");
        assert!(matches!(run_document(&path), Ok(None)));
        let meta = RunMeta::this_tool(Utc::now(), vec!["relayscan".into()]);
        let doc = serde_json::json!({
            "schema_version": 1, "run": meta, "records": [{"ignored": true}],
            "summary": {}, "finished_at": "2025-03-01T12:00:00Z", "interrupted": true
        });
        std::fs::write(&path, doc.to_string()).unwrap();
        let back = run_document(&path).unwrap().unwrap();
        assert_eq!(back.run, meta);
        assert!(back.end().unwrap().interrupted);
        assert_eq!(back.summary, None, "{{}} is not a summary");
        let mut doc = doc;
        doc["summary"] = serde_json::to_value(Summary::default()).unwrap();
        std::fs::write(&path, doc.to_string()).unwrap();
        let back = run_document(&path).unwrap().unwrap();
        assert_eq!(back.summary, Some(Summary::default()));
        // What an interrupted writer leaves: no tail.
        std::fs::write(&path, "{\"schema_version\":1,\n\"run\":{}").unwrap();
        assert!(run_document(&path).unwrap_err().contains("not a complete"));
    }
}
