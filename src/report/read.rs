//! Reading reports back: records from a JSONL file (line by line, errors naming file:line; host records and domain records) and a run's metadata from its JSON document.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::domains::{DOMAIN_RECORD, DomainEntry};
use super::meta::{RunEnd, RunMeta};
use super::record::ScanRecord;
use super::summary::Summary;
use super::upgrade::upgrade;
use crate::assess::{Facts, draw};
use crate::input::{LineError, LineReader, Meter, Metered, open_stream};

/// The cap on one JSONL line (one record). A record's largest parts are its transcripts,
/// capped at 64 KiB per dialogue (two legs with STARTTLS), and its certificate chain, a few
/// KiB: a real record is well under 200 KiB, so 4 MiB refuses only what no scan wrote,
/// and bounds what one line costs to hold and parse (serde_json's `Value` takes several
/// times a line's size).
pub const MAX_RECORD_LINE_BYTES: usize = 4 * 1024 * 1024;

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
    /// A line over [`MAX_RECORD_LINE_BYTES`], or one that is not UTF-8.
    #[error("{}:{line}: {problem}", .path.display())]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    /// Inputs that cannot be read together: shards of different plans.
    #[error("{0}")]
    Disagree(String),
}

/// The records of a JSONL report, one at a time, so that a file of any size streams.
/// Blank lines are skipped. Each record's place in the file is known, so that a reader
/// that keeps only places (merge) can read the record again later.
pub struct Records {
    path: PathBuf,
    lines: LineReader<BufReader<File>>,
}

/// One line of a JSONL report: a host's record, or a mail domain's (`"record":"domain"`).
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Host(Box<ScanRecord>),
    Domain(Box<DomainEntry>),
}

impl Line {
    /// The host record, when this is one.
    pub fn host(self) -> Option<ScanRecord> {
        match self {
            Line::Host(r) => Some(*r),
            Line::Domain(_) => None,
        }
    }
}

/// A record and where it stands in its file.
#[derive(Debug)]
pub struct Located {
    /// Byte offset of its line, for [`Records::read_at`].
    pub offset: u64,
    /// 1-based line number, for errors.
    pub line: usize,
    pub record: Line,
}

/// Opens `path` for [`Records`].
pub fn records(path: &Path) -> Result<Records, ReadError> {
    let lines = LineReader::open(path, MAX_RECORD_LINE_BYTES).map_err(|cause| ReadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(Records {
        path: path.to_path_buf(),
        lines,
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
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => return Some(Err(line_error(&self.path, e))),
            };
            let (offset, number) = (line.offset, line.number);
            let text = match utf8(&self.path, number, line.bytes) {
                Ok(text) => text,
                Err(e) => return Some(Err(e)),
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(parse(&self.path, number, text).map(|record| Located {
                offset,
                line: number,
                record,
            }));
        }
    }

    /// The record at `offset` (line number `line`), as [`Records::next_located`] found it.
    /// Iterating after this call goes on from after that record.
    pub fn read_at(&mut self, offset: u64, line: usize) -> Result<Line, ReadError> {
        self.lines
            .seek_to(offset, line)
            .map_err(|cause| ReadError::Io {
                path: self.path.clone(),
                cause,
            })?;
        // The end of the file where a record was is as unreadable as a bad line.
        let bytes = match self.lines.next_line() {
            Ok(Some(l)) => l.bytes,
            Ok(None) => &[],
            Err(e) => return Err(line_error(&self.path, e)),
        };
        parse(&self.path, line, utf8(&self.path, line, bytes)?)
    }
}

fn utf8<'a>(path: &Path, line: usize, bytes: &'a [u8]) -> Result<&'a str, ReadError> {
    std::str::from_utf8(bytes).map_err(|e| ReadError::Line {
        path: path.to_path_buf(),
        line,
        problem: format!("not UTF-8 text ({e})"),
    })
}

fn parse(path: &Path, line: usize, text: &str) -> Result<Line, ReadError> {
    parse_any(text).map_err(|cause| ReadError::Record {
        path: path.to_path_buf(),
        line,
        cause,
    })
}

/// A line the reader refused (over the cap) or could not read, named by file and line.
fn line_error(path: &Path, e: LineError) -> ReadError {
    match e {
        LineError::Io { cause, .. } => ReadError::Io {
            path: path.to_path_buf(),
            cause,
        },
        too_long => ReadError::Line {
            path: path.to_path_buf(),
            line: too_long.number(),
            problem: too_long.to_string(),
        },
    }
}

impl Iterator for Records {
    type Item = Result<Line, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_located().map(|r| r.map(|l| l.record))
    }
}

/// One JSONL line: a domain record when its `record` key says `domain`, else a host
/// record (every line of a JSONL written before domain records existed).
pub fn parse_any(text: &str) -> Result<Line, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    let Some(object) = value.as_object_mut() else {
        return host_record(value, text).map(|r| Line::Host(Box::new(r)));
    };
    match object.get("record").and_then(|r| r.as_str()) {
        Some(DOMAIN_RECORD) => {
            object.remove("record");
            let entry: DomainEntry = serde_json::from_value(value)?;
            Ok(Line::Domain(Box::new(entry)))
        }
        Some(other) => Err(serde::de::Error::custom(format!(
            "unknown record type {other:?} (expected a host record, or \"record\":\"{DOMAIN_RECORD}\")"
        ))),
        None => host_record(value, text).map(|r| Line::Host(Box::new(r))),
    }
}

/// One JSONL line as a host record, upgraded from the schema it was written in. A record
/// written before findings existed has no `findings` key: its findings are drawn from its
/// own facts, so old files report like new ones.
pub fn parse_line(text: &str) -> Result<ScanRecord, serde_json::Error> {
    host_record(serde_json::from_str(text)?, text)
}

fn host_record(mut value: serde_json::Value, text: &str) -> Result<ScanRecord, serde_json::Error> {
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
        record.software = drawn.software;
        record.findings = drawn.findings;
    }
    Ok(record)
}

/// The parts of a JSON report that describe the run; the records are skipped unread.
#[derive(Debug)]
pub struct RunDocument {
    pub run: RunMeta,
    /// Written by `finish`, with `finished_at`; `None` too when it does not read as a
    /// summary (merge then counts that run's plan as unknown; `report` does not need it).
    pub summary: Option<Summary>,
    pub finished_at: Option<DateTime<Utc>>,
    pub interrupted: bool,
}

/// The most bytes of a JSON report that [`run_document`] keeps: its keys and its `run`,
/// `summary`, `finished_at` and `interrupted` parts. Those are a run's settings, command
/// line and counts, kilobytes; the records, however many, are skipped unread and not
/// counted. A document whose kept parts are larger is not one relayscan wrote.
pub const MAX_RUN_PARTS_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a JSON report's top-level object, metering what it keeps (see
/// [`MAX_RUN_PARTS_BYTES`]) and skipping everything else without holding it.
struct DocumentSeed(Meter);

impl<'de> serde::de::DeserializeSeed<'de> for DocumentSeed {
    type Value = RunDocument;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<RunDocument, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DocumentSeed {
    type Value = RunDocument;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a relayscan JSON report")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RunDocument, A::Error> {
        let meter = self.0;
        let (mut run, mut summary, mut finished_at, mut interrupted) = (None, None, None, false);
        loop {
            meter.set(true);
            let Some(key) = map.next_key::<String>()? else {
                break;
            };
            match key.as_str() {
                "run" => run = Some(map.next_value::<RunMeta>()?),
                // A summary that does not read as one is left out, not an error.
                "summary" => {
                    let value = map.next_value::<serde_json::Value>()?;
                    summary = serde_json::from_value(value).ok();
                }
                "finished_at" => finished_at = map.next_value()?,
                "interrupted" => interrupted = map.next_value()?,
                _ => {
                    meter.set(false);
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        meter.set(false);
        Ok(RunDocument {
            run: run.ok_or_else(|| serde::de::Error::missing_field("run"))?,
            summary,
            finished_at,
            interrupted,
        })
    }
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
    let reader = match open_stream(path) {
        Ok(reader) => reader,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let meter = Meter::new(MAX_RUN_PARTS_BYTES);
    let mut json = serde_json::Deserializer::from_reader(Metered::new(reader, meter.clone()));
    let doc = serde::de::DeserializeSeed::deserialize(DocumentSeed(meter), &mut json)
        .and_then(|doc| json.end().map(|()| doc))
        .map_err(|e| {
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
        let at = |it: &mut Records, l: &Located| it.read_at(l.offset, l.line).unwrap().host();
        assert_eq!(at(&mut it, &second), Some(refused));
        assert_eq!(at(&mut it, &first), Some(open));
        // A wrong place is bad input named by file and line, not a panic.
        let e = it.read_at(3, 2).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:2: not a relayscan record", path.display())),
            "{e}"
        );
    }

    #[test]
    fn domain_records_read_beside_host_records_and_unknown_types_are_named() {
        let entry = testdata::domain_entries(testdata::one_domain_plan(
            "d.example",
            "mx.d.example",
            "192.0.2.1",
        ))
        .remove(0);
        let mut line = Vec::new();
        super::super::jsonl::domain_to_line(&entry, &mut line).unwrap();
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.starts_with("{\"record\":\"domain\",\"domain\":\"d.example\""));
        assert_eq!(parse_any(text).unwrap(), Line::Domain(Box::new(entry)));
        let host = ScanRecord::of_outcome(testdata::refused_outcome());
        let host_text = serde_json::to_string(&host).unwrap();
        assert_eq!(parse_any(&host_text).unwrap().host(), Some(host));
        let e = parse_any(r#"{"record":"mailbox"}"#).unwrap_err();
        assert!(
            e.to_string().contains("unknown record type \"mailbox\""),
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

    #[test]
    fn run_document_keeps_at_most_16_mib_and_skips_records_of_any_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.json");
        let meta = RunMeta::this_tool(Utc::now(), vec!["relayscan".into()]);
        let big = "x".repeat(MAX_RUN_PARTS_BYTES as usize + 1);
        // Records past the cap are skipped uncounted.
        let doc = serde_json::json!({
            "schema_version": 1, "run": meta, "records": [{"text": big}],
            "finished_at": "2025-03-01T12:00:00Z"
        });
        std::fs::write(&path, doc.to_string()).unwrap();
        let back = run_document(&path).unwrap().unwrap();
        assert_eq!(back.run, meta);
        assert!(back.end().is_some());
        // A kept part past the cap (here the command line) is refused, read no further.
        let mut doc = doc;
        doc["run"]["command_line"] = serde_json::json!([big]);
        doc["records"] = serde_json::json!([]);
        std::fs::write(&path, doc.to_string()).unwrap();
        let e = run_document(&path).unwrap_err();
        assert!(
            e.contains("its kept parts are larger than 16 MiB (16777216 bytes)"),
            "{e}"
        );
        // So is a key.
        std::fs::write(&path, format!("{{\"{big}\": 1}}")).unwrap();
        let e = run_document(&path).unwrap_err();
        assert!(e.contains("larger than 16 MiB"), "{e}");
    }
}
