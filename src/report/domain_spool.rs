//! The domain entries of a whole-document report (JSON, HTML, Markdown) kept on disk, not in memory, until the document's end is written.
//!
//! A domain's record is written as soon as its mail hosts are in, but the JSON document
//! puts its `domains` section after the records, and the HTML and Markdown pages after the
//! summary. A hosting provider's million domains are about 12 KiB each in memory (measured
//! in issue 18: 20,000 domains peaked at 289 MiB), so each sink appends its entries to an
//! unnamed temporary file (one JSON line each) and reads them back one at a time at the end.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::ReportError;
use super::domains::DomainEntry;
use super::read::MAX_RECORD_LINE_BYTES;
use crate::input::LineReader;

/// Domain entries spooled to an unnamed temporary file (gone when dropped).
pub struct DomainSpool {
    /// Created at the first entry: most runs have no domains.
    file: Option<BufWriter<File>>,
    count: u64,
    /// The report the spool belongs to, for errors.
    report: PathBuf,
}

impl DomainSpool {
    pub fn new(report: &Path) -> DomainSpool {
        DomainSpool {
            file: None,
            count: 0,
            report: report.to_path_buf(),
        }
    }

    /// How many entries are spooled.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn err(&self, e: std::io::Error) -> ReportError {
        ReportError::new("write", &self.report, e)
    }

    pub fn push(&mut self, entry: &DomainEntry) -> Result<(), ReportError> {
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let file = tempfile::tempfile().map_err(|e| self.err(e))?;
                self.file.insert(BufWriter::new(file))
            }
        };
        let written = serde_json::to_writer(&mut *file, entry)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"));
        written.map_err(|e| self.err(e))?;
        self.count += 1;
        Ok(())
    }

    /// Calls `each` on every entry in the order pushed, reading one line at a time.
    pub fn for_each(
        &mut self,
        mut each: impl FnMut(DomainEntry) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        let Some(writer) = self.file.take() else {
            return Ok(());
        };
        let mut file = writer.into_inner().map_err(|e| self.err(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| self.err(e))?;
        // Read as every JSONL line is: bounded (an entry is a few KiB).
        let mut lines = LineReader::of_file(file, MAX_RECORD_LINE_BYTES);
        loop {
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.err(std::io::Error::other(e.to_string()))),
            };
            let entry: DomainEntry = line
                .text()
                .map_err(std::io::Error::other)
                .and_then(|t| serde_json::from_str(t).map_err(std::io::Error::from))
                .map_err(|e| self.err(e))?;
            each(entry)?;
        }
    }

    /// Every entry, for a page that sorts them (HTML, Markdown): these hold the domains
    /// at their finish, which is why the data formats (JSONL, JSON, CSV) never do. In
    /// name order: domains are spooled as they settle, an order that differs from run to
    /// run, and the pages' stable sorts (most severe first) keep this one within a rank.
    pub fn all(&mut self) -> Result<Vec<DomainEntry>, ReportError> {
        let mut out = Vec::new();
        self.for_each(|e| {
            out.push(e);
            Ok(())
        })?;
        out.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(out)
    }
}

/// The section `render` makes of every entry spooled, and how many there are; `None`
/// when none was.
pub fn section_of(
    spool: &mut DomainSpool,
    render: impl FnOnce(&[DomainEntry]) -> String,
) -> Result<Option<(String, usize)>, ReportError> {
    if spool.is_empty() {
        return Ok(None);
    }
    let all = spool.all()?;
    Ok(Some((render(&all), all.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn entries_come_back_in_order_and_equal() {
        let entries = testdata::domain_entries(crate::dns::plan::DomainPlan {
            domains: vec![
                testdata::mail_domain("a.example", &[("mx.a.example", 10, "192.0.2.1")]),
                testdata::mail_domain("b.example", &[("mx.b.example", 10, "192.0.2.2")]),
            ],
            ..Default::default()
        });
        let mut spool = DomainSpool::new(Path::new("scan.json"));
        assert!(spool.all().unwrap().is_empty(), "nothing spooled, no file");
        for e in &entries {
            spool.push(e).unwrap();
        }
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.all().unwrap(), entries);
    }
}
