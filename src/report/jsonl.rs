//! The JSON Lines report: one complete [`ScanRecord`] per line, raw server text kept, and one domain record per mail domain as it completes (`"record":"domain"`); the file to read during a run.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::domains::{DomainEntry, DomainLine};
use super::meta::{RunEnd, RunMeta};
use super::record::ScanRecord;
use super::summary::Summary;
use super::whole::WholeWrites;
use super::{Phase, ReportError, ReportSink};

/// Writes `PREFIX.jsonl`: records only, so every line is a record and the file can be
/// concatenated, split or regenerated into the other reports. Run metadata and the summary
/// are in the JSON report.
pub struct JsonlSink {
    path: PathBuf,
    file: WholeWrites,
    phase: Phase,
    /// A file to sync at the finish; not stdout (a pipe cannot be synced).
    sync_at_finish: bool,
    /// Reused between records, for a record handed over without its JSON text.
    line: Vec<u8>,
}

impl JsonlSink {
    /// The sink writing `file`, which becomes `path` (see [`super::file`]).
    pub fn new(path: &Path, file: File) -> JsonlSink {
        JsonlSink {
            path: path.to_path_buf(),
            file: WholeWrites::new(file),
            phase: Phase::New,
            sync_at_finish: true,
            line: Vec::with_capacity(4096),
        }
    }

    /// The sink writing records to stdout (`-o -`), given as a file (see
    /// [`super::file::stdout_file`]); errors name it `-`.
    pub fn stream(stdout: File) -> JsonlSink {
        JsonlSink {
            sync_at_finish: false,
            ..JsonlSink::new(Path::new("-"), stdout)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One domain record as one line: `{"record":"domain", ...}`.
pub fn domain_to_line(e: &DomainEntry, buf: &mut Vec<u8>) -> serde_json::Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, &DomainLine::of(e))?;
    buf.push(b'\n');
    Ok(())
}

/// One record's JSON text, a whole line but its newline, in `buf` (cleared first); the
/// JSON report holds the same text. Written by [`super::json_text`], serde_json's text
/// at a fraction of its cost; control characters inside strings are escaped, so a
/// server's CR or LF can never split a record across lines.
pub fn encode(r: &ScanRecord, buf: &mut Vec<u8>) -> serde_json::Result<()> {
    buf.clear();
    super::json_text::write(buf, r)
}

impl ReportSink for JsonlSink {
    fn begin(&mut self, _meta: &RunMeta) -> Result<(), ReportError> {
        self.phase.begin(&self.path)
    }

    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError> {
        let mut line = std::mem::take(&mut self.line);
        let written = match encode(r, &mut line) {
            Ok(()) => self.record_json(r, &line),
            Err(e) => Err(ReportError::new("write", &self.path, e.into())),
        };
        self.line = line;
        written
    }

    fn writes_json(&self) -> bool {
        true
    }

    fn record_json(&mut self, _r: &ScanRecord, json: &[u8]) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        // One write per record (`flush`), so the line is with the kernel when we return;
        // a failed write is cut back, so the file always ends with a whole line.
        self.file
            .write_all(json)
            .and_then(|()| self.file.write_all(b"\n"))
            .and_then(|()| self.file.flush())
            .map_err(|e| ReportError::new("write", &self.path, e))
    }

    /// A domain's record, as a line of its own beside the host records.
    fn domain(&mut self, e: &DomainEntry) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        let err = |e: std::io::Error| ReportError::new("write", &self.path, e);
        domain_to_line(e, &mut self.line).map_err(|e| err(e.into()))?;
        self.file.write_whole(&self.line).map_err(err)
    }

    fn finish(&mut self, _end: &RunEnd, _summary: &Summary) -> Result<(), ReportError> {
        self.phase.finish(&self.path)?;
        if !self.sync_at_finish {
            return Ok(());
        }
        self.file
            .sync_all()
            .map_err(|e| ReportError::new("write", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;
    use chrono::Utc;

    fn read(path: &Path) -> Vec<ScanRecord> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn records_read_back_equal_after_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.jsonl");
        let mut sink = JsonlSink::new(&path, File::create(&path).unwrap());
        sink.begin(&RunMeta::this_tool(Utc::now(), vec![])).unwrap();
        let records = [
            ScanRecord::of_outcome(testdata::open_relay_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
        ];
        for (i, r) in records.iter().enumerate() {
            sink.record(r).unwrap();
            // Readable before finish: what a Ctrl-C leaves behind.
            assert_eq!(read(&path), records[..=i]);
        }
        let end = RunEnd {
            finished_at: Utc::now(),
            interrupted: false,
        };
        sink.finish(&end, &Summary::default()).unwrap();
        assert_eq!(read(&path), records);
        assert!(sink.finish(&end, &Summary::default()).is_err());
    }

    #[test]
    fn server_text_is_raw_and_on_one_line() {
        let mut r = ScanRecord::of_outcome(testdata::open_relay_outcome());
        r.reason = Some("=1+2\r\n250 fake".into());
        let mut buf = Vec::new();
        encode(&r, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains('\n'), "{text}");
        // Raw: no CSV neutralising, no terminal escaping, only JSON's own escapes.
        assert!(text.contains(r#""reason":"=1+2\r\n250 fake""#), "{text}");
        assert!(
            text.contains(r#""server_name":"=cmd|'/C calc'!A0""#),
            "{text}"
        );
        assert!(text.contains("\\u001b[31m"), "{text}");
        let back: ScanRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
