//! The JSON report: one document (run, records, summary) streamed to disk without holding records in memory.
//!
//! Layout, one record per line for readability:
//!
//! ```text
//! {"schema_version":2,
//! "run":{...RunMeta...},
//! "records":[
//! {...ScanRecord...},
//! {...ScanRecord...}
//! ],
//! "summary":{...Summary...},
//! "finished_at":"2025-03-01T12:00:00Z",
//! "interrupted":false}
//! ```
//!
//! Until `finish` the document is unterminated, so it does not parse; during a run, or after a
//! crash, read the JSONL report, which holds the same records and is valid after every record.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::domain_spool::DomainSpool;
use super::meta::{RunEnd, RunMeta};
use super::record::{SCHEMA_VERSION, ScanRecord};
use super::summary::Summary;
use super::{Phase, ReportError, ReportSink};

/// Writes `PREFIX.json` progressively: the head at `begin`, each record as it comes, the tail
/// at `finish`. Each call is one write to the file.
pub struct JsonSink {
    path: PathBuf,
    file: File,
    phase: Phase,
    records: u64,
    buf: Vec<u8>,
    /// The mail domains given so far, on disk until the tail is written.
    domains: DomainSpool,
}

impl JsonSink {
    /// The sink writing `file`, which becomes `path` (see [`super::file`]).
    pub fn new(path: &Path, file: File) -> JsonSink {
        JsonSink {
            path: path.to_path_buf(),
            file,
            phase: Phase::New,
            records: 0,
            buf: Vec::with_capacity(4096),
            domains: DomainSpool::new(path),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_buf(&mut self) -> Result<(), ReportError> {
        self.file
            .write_all(&self.buf)
            .map_err(|e| ReportError::new("write", &self.path, e))
    }

    /// Writes the record in `buf` and counts it.
    fn write_item(&mut self) -> Result<(), ReportError> {
        self.write_buf()?;
        self.records += 1;
        Ok(())
    }

    fn err(&self, e: serde_json::Error) -> ReportError {
        ReportError::new("write", &self.path, e.into())
    }
}

fn head(meta: &RunMeta, buf: &mut Vec<u8>) -> serde_json::Result<()> {
    buf.clear();
    write!(buf, "{{\"schema_version\":{SCHEMA_VERSION},\n\"run\":")
        .map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *buf, meta)?;
    buf.extend_from_slice(b",\n\"records\":[");
    Ok(())
}

/// The separator goes before every record but the first, so the text written so far is
/// always a prefix of a valid document, whatever call comes next.
fn begin_item(first: bool, buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(if first { b"\n" } else { b",\n" });
}

fn item(r: &ScanRecord, first: bool, buf: &mut Vec<u8>) -> serde_json::Result<()> {
    begin_item(first, buf);
    super::json_text::write(buf, r)
}

/// The end of the document after the records: the `domains` section when there are
/// domains (written entry by entry from the spool by the sink), then the rest.
fn tail(end: &RunEnd, summary: &Summary, buf: &mut Vec<u8>) -> serde_json::Result<()> {
    buf.extend_from_slice(b"\"summary\":");
    serde_json::to_writer(&mut *buf, summary)?;
    buf.extend_from_slice(b",\n\"finished_at\":");
    serde_json::to_writer(&mut *buf, &end.finished_at)?;
    buf.extend_from_slice(b",\n\"interrupted\":");
    serde_json::to_writer(&mut *buf, &end.interrupted)?;
    buf.extend_from_slice(b"}\n");
    Ok(())
}

impl ReportSink for JsonSink {
    fn domain(&mut self, entry: &super::domains::DomainEntry) -> Result<(), ReportError> {
        self.domains.push(entry)
    }

    fn begin(&mut self, meta: &RunMeta) -> Result<(), ReportError> {
        self.phase.begin(&self.path)?;
        head(meta, &mut self.buf).map_err(|e| self.err(e))?;
        self.write_buf()
    }

    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        item(r, self.records == 0, &mut self.buf).map_err(|e| self.err(e))?;
        self.write_item()
    }

    fn writes_json(&self) -> bool {
        true
    }

    fn record_json(&mut self, _r: &ScanRecord, json: &[u8]) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        begin_item(self.records == 0, &mut self.buf);
        self.buf.extend_from_slice(json);
        self.write_item()
    }

    fn finish(&mut self, end: &RunEnd, summary: &Summary) -> Result<(), ReportError> {
        self.phase.finish(&self.path)?;
        self.buf.clear();
        self.buf.extend_from_slice(b"\n],\n");
        if !self.domains.is_empty() {
            // One entry at a time from the spool: the section is never whole in memory.
            self.buf.extend_from_slice(b"\"domains\":[");
            let mut spool = std::mem::replace(&mut self.domains, DomainSpool::new(&self.path));
            let mut first = true;
            spool.for_each(|entry| {
                if !first {
                    self.buf.push(b',');
                }
                first = false;
                serde_json::to_writer(&mut self.buf, &entry).map_err(|e| self.err(e))?;
                self.write_buf()?;
                self.buf.clear();
                Ok(())
            })?;
            self.buf.extend_from_slice(b"],\n");
        }
        tail(end, summary, &mut self.buf).map_err(|e| self.err(e))?;
        self.write_buf()?;
        self.file
            .sync_all()
            .map_err(|e| ReportError::new("write", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    fn meta() -> RunMeta {
        let mut m = RunMeta::this_tool(
            Utc.with_ymd_and_hms(2025, 3, 1, 11, 59, 0).unwrap(),
            vec!["relayscan".into(), "scan".into()],
        );
        m.ports = vec![25];
        m
    }

    fn write(records: &[ScanRecord], interrupted: bool) -> (Value, Summary) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.json");
        let mut sink = JsonSink::new(&path, File::create(&path).unwrap());
        let mut summary = Summary {
            planned: 2,
            ..Summary::default()
        };
        sink.begin(&meta()).unwrap();
        for r in records {
            sink.record(r).unwrap();
            summary.add(r);
            // Unterminated until finish, by design.
            let partial = std::fs::read_to_string(&path).unwrap();
            assert!(serde_json::from_str::<Value>(&partial).is_err());
        }
        let end = RunEnd {
            finished_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 1, 0).unwrap(),
            interrupted,
        };
        sink.finish(&end, &summary).unwrap();
        assert!(sink.finish(&end, &summary).is_err());
        let text = std::fs::read_to_string(&path).unwrap();
        (serde_json::from_str(&text).unwrap(), summary)
    }

    #[test]
    fn document_parses_with_run_records_and_summary() {
        let records = [
            ScanRecord::of_outcome(testdata::open_relay_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
        ];
        let (doc, summary) = write(&records, false);
        let keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // serde_json's map is sorted; order on disk is checked by `layout_order`.
        assert_eq!(
            keys,
            [
                "finished_at",
                "interrupted",
                "records",
                "run",
                "schema_version",
                "summary"
            ]
        );
        assert_eq!(doc["schema_version"], crate::report::SCHEMA_VERSION);
        assert_eq!(doc["interrupted"], false);
        assert_eq!(doc["finished_at"], "2025-03-01T12:01:00Z");
        let run: RunMeta = serde_json::from_value(doc["run"].clone()).unwrap();
        assert_eq!(run, meta());
        let back: Vec<ScanRecord> = serde_json::from_value(doc["records"].clone()).unwrap();
        assert_eq!(back, records);
        let s = &doc["summary"];
        assert_eq!(s["planned"], 2);
        assert_eq!(s["probed"], 2);
        assert_eq!(s["answered"], 1);
        assert_eq!(s["by_verdict"]["open-relay"], 1);
        assert_eq!(s["by_status"]["refused"], 1);
        assert_eq!(s["by_status"]["completed"], 1);
        assert_eq!(s["accept_all"], 1);
        assert_eq!(s["open_relays"][0], "192.0.2.25:25");
        let back: Summary = serde_json::from_value(s.clone()).unwrap();
        assert_eq!(back, summary);
    }

    #[test]
    fn empty_interrupted_run_is_a_valid_document() {
        let (doc, _) = write(&[], true);
        assert_eq!(doc["records"], Value::Array(vec![]));
        assert_eq!(doc["interrupted"], true);
        assert_eq!(doc["summary"]["probed"], 0);
    }

    #[test]
    fn layout_order() {
        let mut buf = Vec::new();
        let mut text = String::new();
        head(&meta(), &mut buf).unwrap();
        text.push_str(std::str::from_utf8(&buf).unwrap());
        for first in [true, false] {
            item(
                &ScanRecord::of_outcome(testdata::refused_outcome()),
                first,
                &mut buf,
            )
            .unwrap();
            text.push_str(std::str::from_utf8(&buf).unwrap());
        }
        let end = RunEnd {
            finished_at: Utc::now(),
            interrupted: false,
        };
        buf.clear();
        buf.extend_from_slice(b"\n],\n");
        tail(&end, &Summary::default(), &mut buf).unwrap();
        text.push_str(std::str::from_utf8(&buf).unwrap());
        assert!(text.starts_with(&format!(
            "{{\"schema_version\":{},\n\"run\":{{\"tool\":\"relayscan\"",
            crate::report::SCHEMA_VERSION
        )));
        let at = |k: &str| text.find(k).unwrap();
        assert!(at("\"run\"") < at("\"records\":[\n{"));
        assert!(at("\"records\"") < at("},\n{\"schema_version\""));
        assert!(at("\n],\n\"summary\"") < at("\"finished_at\""));
        assert!(text.ends_with("\"interrupted\":false}\n"));
        serde_json::from_str::<Value>(&text).unwrap();
    }
}
