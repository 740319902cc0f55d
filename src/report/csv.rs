//! The CSV report: one flat row per endpoint for spreadsheets, every cell made safe by the CSV writer (controls shown as escapes, formulas neutralised).

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;

use super::csv_writer::CsvWriter;
use super::meta::{RunEnd, RunMeta};
use super::record::ScanRecord;
use super::summary::Summary;
use super::whole::WholeWrites;
use super::{Phase, ReportError, ReportSink};
use crate::smtp::TlsReport;

/// The header row, in order. Lists (open_tests, auth, capabilities) are joined with `;`.
pub const CSV_COLUMNS: &[&str] = &[
    "ip",
    "port",
    "name",
    "status",
    "verdict",
    "accepts_any_recipient",
    "open_tests",
    "reason",
    "server_name",
    "banner",
    "esmtp",
    "helo_fallback",
    "starttls",
    "auth",
    "pipelining",
    "size_limit",
    "capabilities",
    "tests_run",
    "tests_accepted",
    "tests_rejected",
    "tests_deferred",
    "tls_mode",
    "tls_established",
    "tls_version",
    "tls_cipher",
    "tls_error",
    "tls_discarded_plaintext",
    "cert_subject",
    "cert_issuer",
    "cert_not_after",
    "cert_days_left",
    "cert_self_signed",
    "cert_chain_valid",
    "cert_name_match",
    "duration_ms",
    "started_at",
    "error",
    "mta",
    "severity",
    "findings",
    "domains",
    // New columns go last, so that scripts reading columns by position keep working.
    "depth",
    "software",
    "software_version",
    "blocklisted",
    "blocklist_errors",
];

/// The cells of one record, raw, in [`CSV_COLUMNS`] order. Missing values are empty cells.
pub fn row(r: &ScanRecord) -> Vec<String> {
    fn opt(s: Option<&String>) -> String {
        s.cloned().unwrap_or_default()
    }
    fn join<T: ToString>(items: &[T]) -> String {
        items.iter().map(T::to_string).collect::<Vec<_>>().join(";")
    }
    vec![
        r.ip.to_string(),
        r.port.to_string(),
        opt(r.name.as_ref()),
        r.status.as_str().to_string(),
        r.verdict
            .map(|v| v.as_str().to_string())
            .unwrap_or_default(),
        r.accepts_any_recipient.to_string(),
        join(&r.open_tests),
        opt(r.reason.as_ref()),
        opt(r.server_name.as_ref()),
        opt(r.banner.as_ref()),
        r.esmtp.to_string(),
        r.helo_fallback.to_string(),
        r.starttls.to_string(),
        join(&r.auth),
        r.pipelining.to_string(),
        r.size_limit.map(|n| n.to_string()).unwrap_or_default(),
        join(&r.capabilities),
        r.tests_run.to_string(),
        r.tests_accepted.to_string(),
        r.tests_rejected.to_string(),
        r.tests_deferred.to_string(),
    ]
    .into_iter()
    .chain(tls_cells(r.tls.as_ref()))
    .chain([
        r.duration_ms.to_string(),
        r.started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        opt(r.error.as_ref()),
        r.mta.as_str().to_string(),
        // The worst finding's severity, then every finding id, most severe first.
        r.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        r.findings
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        join(&r.domains),
        r.depth.as_str().to_string(),
        r.software
            .as_ref()
            .map(|s| s.product.as_str().to_string())
            .unwrap_or_default(),
        r.software
            .as_ref()
            .and_then(|s| s.version.clone())
            .unwrap_or_default(),
        blocklist_cells(r, "listed", |a| {
            let lists: Vec<&str> = a.codes.iter().map(|c| c.list.as_str()).collect();
            format!("{}:{}", a.zone, lists.join("+"))
        }),
        blocklist_cells(r, "error", |a| {
            format!("{}:{}", a.zone, a.error.as_deref().unwrap_or(""))
        }),
    ])
    .collect()
}

/// The blocklist answers of one status, `;`-separated (`zen.spamhaus.org:XBL`); empty when
/// none or when the blocklists were not asked.
fn blocklist_cells(
    r: &ScanRecord,
    status: &str,
    cell: impl Fn(&crate::dns::blocklist::BlocklistAnswer) -> String,
) -> String {
    r.blocklists
        .iter()
        .flatten()
        .filter(|a| a.status == status)
        .map(cell)
        .collect::<Vec<_>>()
        .join(";")
}

/// The TLS columns: empty cells when there is no TLS report (or no certificate).
fn tls_cells(tls: Option<&TlsReport>) -> Vec<String> {
    let Some(t) = tls else {
        return vec![String::new(); 13];
    };
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let leaf = t.leaf();
    vec![
        t.mode.as_str().to_string(),
        t.established.to_string(),
        t.version.clone().unwrap_or_default(),
        t.cipher_suite.clone().unwrap_or_default(),
        t.error.clone().unwrap_or_default(),
        t.discarded_plaintext.to_string(),
        leaf.map(|c| c.subject.clone()).unwrap_or_default(),
        leaf.map(|c| c.issuer.clone()).unwrap_or_default(),
        leaf.and_then(|c| c.not_after)
            .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default(),
        leaf.and_then(|c| c.days_left)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        flag(leaf.map(|c| c.self_signed)),
        flag(t.chain_valid),
        flag(t.name_match),
    ]
}

/// Writes `PREFIX.csv`: the header at `begin`, one flushed row per record.
/// The run metadata and summary live in the JSON report; a CSV has no place for them.
pub struct CsvSink {
    path: PathBuf,
    /// Each row is flushed whole into the file, or the file is cut back to the last row.
    out: CsvWriter<WholeWrites>,
    phase: Phase,
}

impl CsvSink {
    /// The sink writing `file`, which becomes `path` (see [`super::file`]).
    pub fn new(path: &Path, file: File) -> CsvSink {
        CsvSink {
            path: path.to_path_buf(),
            out: CsvWriter::new(WholeWrites::new(file)),
            phase: Phase::New,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_row<S: AsRef<str>>(
        &mut self,
        cells: impl IntoIterator<Item = S>,
    ) -> Result<(), ReportError> {
        self.out
            .row(cells)
            .and_then(|()| self.out.flush())
            .map_err(|e| ReportError::new("write", &self.path, e))
    }
}

impl ReportSink for CsvSink {
    fn begin(&mut self, _meta: &RunMeta) -> Result<(), ReportError> {
        self.phase.begin(&self.path)?;
        self.write_row(CSV_COLUMNS)
    }

    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        self.write_row(row(r))
    }

    fn finish(&mut self, _end: &RunEnd, _summary: &Summary) -> Result<(), ReportError> {
        self.phase.finish(&self.path)?;
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_all())
            .map_err(|e| ReportError::new("write", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;
    use chrono::Utc;

    fn meta() -> RunMeta {
        RunMeta::this_tool(Utc::now(), vec!["relayscan".into()])
    }

    fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let mut rd = csv::Reader::from_path(path).unwrap();
        let header = rd.headers().unwrap().iter().map(String::from).collect();
        let rows = rd
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    fn cell<'a>(row: &'a [String], column: &str) -> &'a str {
        let i = CSV_COLUMNS.iter().position(|c| *c == column).unwrap();
        &row[i]
    }

    #[test]
    fn row_matches_columns() {
        let r = ScanRecord::of_outcome(testdata::refused_outcome());
        let cells = row(&r);
        assert_eq!(cells.len(), CSV_COLUMNS.len());
        assert_eq!(cells[0], "2001:db8::25");
        assert_eq!(cells[3], "refused");
        assert_eq!(cells[4], "");
        assert_eq!(cell(&cells, "started_at"), "2025-03-01T12:00:01.000Z");
        assert_eq!(cell(&cells, "error"), "connection refused");
        assert_eq!(
            cell(&cells, "tls_mode"),
            "",
            "no TLS report, empty TLS cells"
        );
    }

    #[test]
    fn writes_header_and_rows_and_neutralises_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.csv");
        let mut sink = CsvSink::new(&path, File::create(&path).unwrap());
        sink.begin(&meta()).unwrap();

        let mut open = ScanRecord::of_outcome(testdata::open_relay_outcome());
        // Any field may hold anything once records are regenerated from JSONL.
        open.banner = Some("=HYPERLINK(\"http://evil.example/\",\"x\")".into());
        open.reason = Some("-1+2".into());
        sink.record(&open).unwrap();

        // Valid after every record, before finish: what a Ctrl-C leaves behind.
        let (header, rows) = read(&path);
        assert_eq!(header, CSV_COLUMNS);
        assert_eq!(rows.len(), 1);

        sink.record(&ScanRecord::of_outcome(testdata::refused_outcome()))
            .unwrap();
        sink.finish(
            &RunEnd {
                finished_at: Utc::now(),
                interrupted: false,
            },
            &Summary::default(),
        )
        .unwrap();

        let (header, rows) = read(&path);
        assert_eq!(header, CSV_COLUMNS);
        assert_eq!(rows.len(), 2);
        let (o, r) = (&rows[0], &rows[1]);
        assert_eq!(cell(o, "ip"), "192.0.2.25");
        assert_eq!(cell(o, "verdict"), "open-relay");
        assert_eq!(cell(o, "open_tests"), "2");
        assert_eq!(cell(o, "accepts_any_recipient"), "true");
        assert_eq!(
            cell(o, "banner"),
            "'=HYPERLINK(\"http://evil.example/\",\"x\")"
        );
        assert_eq!(cell(o, "reason"), "'-1+2");
        assert_eq!(
            cell(o, "server_name"),
            format!("'{}", testdata::HOSTILE_NAME)
        );
        assert_eq!(
            (
                cell(o, "tests_run"),
                cell(o, "tests_accepted"),
                cell(o, "tests_rejected"),
                cell(o, "tests_deferred")
            ),
            ("3", "1", "1", "1")
        );
        assert_eq!(cell(o, "starttls"), "true");
        assert_eq!(cell(o, "auth"), "PLAIN;LOGIN");
        assert_eq!(cell(o, "size_limit"), "10240000");
        assert_eq!(cell(o, "mta"), "unknown");
        assert_eq!(cell(o, "severity"), "critical");
        assert_eq!(
            cell(o, "findings"),
            "open-relay;accepts-any-recipient;auth-before-tls"
        );
        assert_eq!(cell(r, "severity"), "");
        assert_eq!(cell(r, "findings"), "");
        assert_eq!(cell(r, "status"), "refused");
        assert_eq!(cell(r, "verdict"), "");
        assert_eq!(cell(r, "esmtp"), "false");
        assert_eq!(cell(r, "error"), "connection refused");
    }

    #[test]
    fn out_of_order_calls_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.csv");
        let mut sink = CsvSink::new(&path, File::create(&path).unwrap());
        let r = ScanRecord::of_outcome(testdata::refused_outcome());
        let e = sink.record(&r).unwrap_err();
        assert_eq!(e.path, path);
        sink.begin(&meta()).unwrap();
        let end = RunEnd {
            finished_at: Utc::now(),
            interrupted: true,
        };
        sink.finish(&end, &Summary::default()).unwrap();
        assert!(sink.finish(&end, &Summary::default()).is_err());
        assert!(sink.record(&r).is_err());
        // Nothing was written after finish.
        assert_eq!(read(&path).1.len(), 0);
    }
}
