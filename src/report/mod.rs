//! Reports: the serialised record and the CSV / JSON Lines / JSON / HTML / Markdown writers, fed by one writer task.
//!
//! Every sink follows the same life: [`ReportSink::begin`] once, [`ReportSink::record`] per
//! endpoint, [`ReportSink::finish`] exactly once (also after Ctrl-C). Each record is flushed to
//! the file before `record` returns, so a run killed mid-scan loses nothing already recorded:
//! the CSV and JSONL files are complete and valid after every record, and the HTML file shows
//! every host so far. The JSON document is closed only by `finish`, and the Markdown summary
//! is written then; during a run (or after a crash) read the JSONL file.
//!
//! Files are opened by [`file`]: never through a symlink, and an earlier report set is
//! replaced only once the run's first record is written (or the run finishes).

pub mod csv;
pub mod csv_writer;
pub mod diff;
pub mod diff_files;
pub mod domain_diff;
pub mod domain_spool;
pub mod domain_totals;
pub mod domain_view;
pub mod domains;
pub mod file;
pub mod finding_name;
pub mod gate;
pub mod host_totals;
pub mod html;
pub mod json;
pub mod json_text;
pub mod jsonl;
pub mod markdown;
pub mod merge;
pub mod meta;
pub mod overview;
pub mod prose;
pub mod read;
pub mod record;
pub mod regenerate;
pub mod sanitize;
pub mod schema;
pub mod settings;
pub mod summary;
pub mod telnet;
pub mod upgrade;
pub mod whole;

#[cfg(test)]
pub(crate) mod testdata;

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use self::csv::{CSV_COLUMNS, CsvSink};
pub use self::gate::{FailOn, Gate};
pub use self::html::HtmlSink;
pub use self::json::JsonSink;
pub use self::jsonl::JsonlSink;
pub use self::markdown::MarkdownSink;
pub use self::meta::{RunEnd, RunMeta, ScanSource};
pub use self::record::{SCHEMA_VERSION, ScanRecord};
pub use self::settings::{RecordedSettings, RunSettings};
pub use self::summary::Summary;

/// A report output: begin once, record per endpoint, finish exactly once.
pub trait ReportSink: Send {
    fn begin(&mut self, meta: &RunMeta) -> Result<(), ReportError>;
    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError>;
    fn finish(&mut self, end: &RunEnd, summary: &Summary) -> Result<(), ReportError>;
    /// Whether this sink writes each record as its JSON text: [`Reports`] then encodes a
    /// record once and hands that text to every such sink through
    /// [`ReportSink::record_json`] (the JSONL and JSON reports hold the same text, and
    /// encoding the ~14 KB record is the largest part of writing it).
    fn writes_json(&self) -> bool {
        false
    }
    /// [`ReportSink::record`], given the record's JSON text ([`jsonl::encode`]: one line,
    /// no newline) already encoded.
    fn record_json(&mut self, r: &ScanRecord, _json: &[u8]) -> Result<(), ReportError> {
        self.record(r)
    }
    /// One mail domain's result, assessed, as soon as its mail hosts' verdicts are in
    /// (the rest just before `finish`). Sinks without domains ignore them.
    fn domain(&mut self, _entry: &domains::DomainEntry) -> Result<(), ReportError> {
        Ok(())
    }
}

/// A report file could not be written: which file, what we were doing, and why.
///
/// The cause is part of the message ("cannot write reports/x.csv: No space left on device")
/// and deliberately not reported again as `source()`, so that printing the error chain
/// does not repeat it.
#[derive(thiserror::Error, Debug)]
#[error("cannot {action} {}: {cause}", shown_path(.path))]
pub struct ReportError {
    /// What we were doing: "create", "write", "create folder".
    pub action: &'static str,
    /// The file or folder; empty for a failure of the report writer as a whole.
    pub path: PathBuf,
    pub cause: io::Error,
}

fn shown_path(path: &Path) -> std::path::Display<'_> {
    if path.as_os_str().is_empty() {
        Path::new("reports").display()
    } else {
        path.display()
    }
}

impl ReportError {
    pub fn new(action: &'static str, path: impl Into<PathBuf>, cause: io::Error) -> Self {
        ReportError {
            action,
            path: path.into(),
            cause,
        }
    }

    /// A failure of the report writer that concerns no single file (e.g. the writer task
    /// panicked): "cannot write reports: <message>".
    pub fn internal(message: impl Into<String>) -> Self {
        ReportError::new("write", PathBuf::new(), io::Error::other(message.into()))
    }

    /// A call out of order (record before begin, finish twice): a bug in the caller,
    /// reported with the file it concerns rather than as a panic mid-scan.
    fn misuse(path: &Path, what: &str) -> Self {
        ReportError::new(
            "write",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, what.to_string()),
        )
    }
}

/// A report set written from other reports (`merge`, `report`) failed: an input that is
/// not a relayscan report (bad input), or a report that cannot be written.
#[derive(thiserror::Error, Debug)]
pub enum RewriteError {
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// Which report files to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    pub csv: bool,
    pub jsonl: bool,
    pub json: bool,
    pub html: bool,
    pub md: bool,
}

impl Formats {
    pub const ALL: Formats = Formats {
        csv: true,
        jsonl: true,
        json: true,
        html: true,
        md: true,
    };
    pub const NONE: Formats = Formats {
        csv: false,
        jsonl: false,
        json: false,
        html: false,
        md: false,
    };
    /// What `scan` writes unless told otherwise: the data (CSV, JSONL, JSON).
    pub const DATA: Formats = Formats {
        csv: true,
        jsonl: true,
        json: true,
        html: false,
        md: false,
    };

    /// The extensions of the files these formats write, in the order they are written.
    pub fn extensions(&self) -> Vec<&'static str> {
        self.each()
            .into_iter()
            .filter_map(|(on, ext)| on.then_some(ext))
            .collect()
    }

    /// (enabled, extension) in the order the files are written and listed.
    fn each(&self) -> [(bool, &'static str); 5] {
        [
            (self.csv, "csv"),
            (self.jsonl, "jsonl"),
            (self.json, "json"),
            (self.html, "html"),
            (self.md, "md"),
        ]
    }
}

impl Default for Formats {
    fn default() -> Self {
        Formats::DATA
    }
}

const FORMATS_EXPECTED: &str = "expected csv, jsonl, json, html or md, separated by commas";

/// Parses `csv,jsonl,json,html,md` (any subset, any order). The error is a message naming the bad
/// word, ready for a command-line error ("unknown report format \"xml\" (expected ...)").
impl FromStr for Formats {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(format!("no report format given ({FORMATS_EXPECTED})"));
        }
        let mut f = Formats::NONE;
        for word in s.split(',').map(str::trim) {
            match word {
                "csv" => f.csv = true,
                "jsonl" => f.jsonl = true,
                "json" => f.json = true,
                "html" => f.html = true,
                "md" => f.md = true,
                // "csv,,json" is a typo, not a request for nothing.
                _ => {
                    return Err(format!(
                        "unknown report format {word:?} ({FORMATS_EXPECTED})"
                    ));
                }
            }
        }
        Ok(f)
    }
}

impl fmt::Display for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.extensions().join(","))
    }
}

/// Where a sink is in its life; enforces begin → record* → finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    New,
    Begun,
    Finished,
}

impl Phase {
    pub(crate) fn begin(&mut self, path: &Path) -> Result<(), ReportError> {
        match self {
            Phase::New => {
                *self = Phase::Begun;
                Ok(())
            }
            _ => Err(ReportError::misuse(path, "begin() called twice")),
        }
    }

    pub(crate) fn check_record(&self, path: &Path) -> Result<(), ReportError> {
        match self {
            Phase::Begun => Ok(()),
            Phase::New => Err(ReportError::misuse(path, "record() before begin()")),
            Phase::Finished => Err(ReportError::misuse(path, "record() after finish()")),
        }
    }

    /// Marks the sink finished before the closing write, so that a failed finish is not
    /// retried into a document with two tails.
    pub(crate) fn finish(&mut self, path: &Path) -> Result<(), ReportError> {
        match self {
            Phase::Begun => {
                *self = Phase::Finished;
                Ok(())
            }
            Phase::New => Err(ReportError::misuse(path, "finish() before begin()")),
            Phase::Finished => Err(ReportError::misuse(path, "finish() called twice")),
        }
    }
}

/// `PREFIX.ext`, appending rather than replacing: a prefix like `reports/scan-2025.03` keeps its dot.
pub fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// The first of `inputs` that writing `formats` at `prefix` would overwrite, and the report
/// that would: the input would be replaced by a report of itself, or lost. Only an
/// existing input can be overwritten (a missing one is reported, with its name, when it
/// is opened).
pub fn overwritten_input<'a>(
    inputs: impl IntoIterator<Item = &'a Path>,
    prefix: &Path,
    formats: Formats,
) -> Option<(&'a Path, PathBuf)> {
    // (the report as named, the file it is) for the reports that exist already
    let existing: Vec<(PathBuf, PathBuf)> = formats
        .extensions()
        .into_iter()
        .map(|ext| with_suffix(prefix, ext))
        .filter_map(|path| path.canonicalize().ok().map(|file| (path, file)))
        .collect();
    inputs.into_iter().find_map(|input| {
        let file = input.canonicalize().ok()?;
        let (output, _) = existing.iter().find(|(_, f)| *f == file)?;
        Some((input, output.clone()))
    })
}

/// All the report files of one run, written in step.
pub struct Reports {
    sinks: Vec<Box<dyn ReportSink>>,
    paths: Vec<PathBuf>,
    /// The files, under temporary names until the first record is in every one of them.
    files: file::ReportSet,
    /// The first record puts the files under their names; not while a resume replays.
    commit_at_record: bool,
    /// With mail domains: annotates records, and says when each domain is complete.
    domains: Option<domains::DomainReport>,
    /// The record's JSON text, encoded once for every sink that writes it; reused.
    json: Vec<u8>,
    /// Where PREFIX.domains.csv goes (`None` on stdout), and the file once open: at
    /// `attach_domains`, or at the first domain record (`report`, `merge`).
    domain_csv_path: Option<PathBuf>,
    domain_csv: Option<domains::DomainCsv>,
    /// The domains written (or replayed), in totals; `None` before the first.
    domain_totals: Option<domain_totals::DomainTotals>,
}

impl Reports {
    /// Creates the parent folder of `prefix` and the files `PREFIX.csv`, `PREFIX.jsonl`,
    /// `PREFIX.json`, `PREFIX.html`, `PREFIX.md` for the formats asked for, under
    /// temporary names that become theirs at the first record (or at the finish); an
    /// earlier set there is replaced then, with a word unless `replacing` says quietly.
    pub fn create(
        prefix: &Path,
        formats: Formats,
        replacing: file::Replacing,
    ) -> Result<Reports, ReportError> {
        if prefix.file_name().is_none() {
            return Err(ReportError::new(
                "create",
                prefix,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the report prefix must end in a file name",
                ),
            ));
        }
        file::create_folder_of(prefix)?;
        let mut reports = Reports {
            sinks: Vec::new(),
            paths: Vec::new(),
            files: file::ReportSet::new(replacing),
            commit_at_record: true,
            domains: None,
            json: Vec::new(),
            domain_csv_path: Some(with_suffix(prefix, "domains.csv")),
            domain_csv: None,
            domain_totals: None,
        };
        for ext in formats.extensions() {
            let path = with_suffix(prefix, ext);
            let file = reports.files.create(&path)?;
            let sink: Box<dyn ReportSink> = match ext {
                "csv" => Box::new(CsvSink::new(&path, file)),
                "jsonl" => Box::new(JsonlSink::new(&path, file)),
                "json" => Box::new(JsonSink::new(&path, file)),
                "html" => Box::new(HtmlSink::new(&path, file)),
                _ => Box::new(MarkdownSink::new(&path, file)),
            };
            reports.sinks.push(sink);
            reports.paths.push(path);
        }
        Ok(reports)
    }

    /// The JSONL records on stdout (`-o -`), one line per record as it comes, and no
    /// file: nothing to place, nothing to replace.
    pub fn to_stdout() -> Result<Reports, ReportError> {
        let file = file::stdout_file()?;
        Ok(Reports {
            sinks: vec![Box::new(JsonlSink::stream(file))],
            paths: Vec::new(),
            // No file staged: the empty set counts as placed.
            files: file::ReportSet::new(file::Replacing::Quietly),
            commit_at_record: false,
            domains: None,
            json: Vec::new(),
            domain_csv_path: None,
            domain_csv: None,
            domain_totals: None,
        })
    }

    /// The files being written, in the order csv, jsonl, json, html, md (then
    /// domains.csv).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }

    /// Keeps the files under their temporary names until [`Reports::commit`], whatever
    /// is recorded: a resume replays the old records first, and the old set must stand
    /// until the new one holds them all.
    pub fn hold_until_commit(&mut self) {
        self.commit_at_record = false;
    }

    /// Whether the files are under their own names (not so after a run stopped before
    /// its first record left an earlier set in place, or one that failed).
    pub fn is_placed(&self) -> bool {
        self.files.is_committed()
    }

    /// Puts every file under its own name now, replacing an earlier set. Otherwise that
    /// happens at the first record.
    pub fn commit(&mut self) -> Result<(), ReportError> {
        self.commit_at_record = true;
        self.files.commit()
    }

    /// The length of the JSONL report so far (0 without one), wherever it is now.
    pub fn jsonl_len(&self) -> Result<u64, ReportError> {
        let Some(path) = self
            .paths
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        else {
            return Ok(0);
        };
        let now = self.files.current(path);
        std::fs::metadata(now)
            .map(|m| m.len())
            .map_err(|e| ReportError::new("read", path, e))
    }

    /// Adds the per-domain report: records then list the domains their address
    /// serves, [`Reports::next_ready_domain`] gives each domain once its endpoints are
    /// settled, and [`ReportSink::domain`] writes its record (every domain's before
    /// `finish`). PREFIX.domains.csv is created now (not on stdout).
    pub fn attach_domains(&mut self, report: domains::DomainReport) -> Result<(), ReportError> {
        self.domains = Some(report);
        self.open_domain_csv()
    }

    fn open_domain_csv(&mut self) -> Result<(), ReportError> {
        let Some(path) = self
            .domain_csv_path
            .as_ref()
            .filter(|_| self.domain_csv.is_none())
        else {
            return Ok(());
        };
        let file = self.files.create(path)?;
        self.domain_csv = Some(domains::DomainCsv::new(path, file)?);
        self.paths.push(path.clone());
        Ok(())
    }

    /// The domains written so far (replayed ones too), in totals; `None` before the first.
    pub fn domain_totals(&self) -> Option<&domain_totals::DomainTotals> {
        self.domain_totals.as_ref()
    }

    /// An endpoint finished without a record (see [`domains::DomainReport::settle`]).
    pub fn settle(&mut self, ip: std::net::IpAddr, port: u16) {
        if let Some(d) = &mut self.domains {
            d.settle(ip, port);
        }
    }

    /// One domain of a streamed run, resolved (see [`domains::DomainReport::add`]).
    pub fn add_domain(&mut self, arrival: domains::DomainArrival) {
        if let Some(d) = &mut self.domains {
            d.add(arrival);
        }
    }

    /// The next mail domain whose endpoints are all settled and whose record is not
    /// written yet, for its assessment; `None` without one (or without mail domains).
    pub fn next_ready_domain(&mut self) -> Option<domains::DomainObserved<'_>> {
        self.domains.as_mut()?.next_ready()
    }

    /// At the end of the run: every domain not written yet becomes ready (with what its
    /// endpoints gave, `no-answer` for the rest).
    pub fn ready_remaining_domains(&mut self) {
        if let Some(d) = &mut self.domains {
            d.ready_the_rest();
        }
    }

    /// Calls `f` on every sink even when one fails, so that one full disk or one bad file
    /// does not leave the other reports behind; returns the first error.
    fn each(
        &mut self,
        mut f: impl FnMut(&mut dyn ReportSink) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        let mut first = Ok(());
        for sink in &mut self.sinks {
            let r = f(sink.as_mut());
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl ReportSink for Reports {
    fn begin(&mut self, meta: &RunMeta) -> Result<(), ReportError> {
        self.each(|s| s.begin(meta))
    }

    /// Writes the record to every file; the first record puts the set under its names.
    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError> {
        let annotated = self.domains.as_mut().and_then(|d| d.take(r));
        let r = annotated.as_ref().unwrap_or(r);
        // Encoded once for the JSONL and the JSON report alike. Should encoding fail, each
        // sink encodes on its own and reports the error with its file.
        let mut json = std::mem::take(&mut self.json);
        let encoded =
            self.sinks.iter().any(|s| s.writes_json()) && jsonl::encode(r, &mut json).is_ok();
        let written = self.each(|s| match encoded {
            true => s.record_json(r, &json),
            false => s.record(r),
        });
        self.json = json;
        written?;
        if self.commit_at_record {
            self.files.commit()?;
        }
        Ok(())
    }

    /// Writes the domain's row of PREFIX.domains.csv (opened at the first domain when
    /// no plan was attached: a report regenerated or merged) and hands the entry to every
    /// sink; the domain is then never written again.
    fn domain(&mut self, entry: &domains::DomainEntry) -> Result<(), ReportError> {
        if let Some(d) = &mut self.domains {
            d.written(&entry.domain);
        }
        self.domain_totals
            .get_or_insert_with(Default::default)
            .add(entry);
        self.open_domain_csv()?;
        let csv = match &mut self.domain_csv {
            Some(csv) => csv.row(entry),
            None => Ok(()),
        };
        let sinks = self.each(|s| s.domain(entry));
        csv.and(sinks)
    }

    fn finish(&mut self, end: &RunEnd, summary: &Summary) -> Result<(), ReportError> {
        // Domains never written are a bug in the caller; the other files are still closed.
        let domains = match (&self.domains, &self.domain_csv_path) {
            (Some(report), path) if !report.all_written() => Err(ReportError::misuse(
                path.as_deref().unwrap_or(Path::new("-")),
                "finish() before every domain was written: the domains were never assessed",
            )),
            _ => Ok(()),
        };
        let finished = self.each(|s| s.finish(end, summary));
        // A run without a record leaves its reports, but an earlier set outweighs one
        // stopped at once (Ctrl-C on the wrong command); a failed run leaves the earlier.
        let placed = match (&domains, &finished) {
            _ if end.interrupted && !self.files.is_committed() && self.files.keep_earlier() => {
                Ok(())
            }
            (Ok(()), Ok(())) if self.commit_at_record => self.files.commit(),
            _ => Ok(()),
        };
        domains.and(finished).and(placed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn formats_from_str_table() {
        let f = |csv, jsonl, json, html, md| {
            Some(Formats {
                csv,
                jsonl,
                json,
                html,
                md,
            })
        };
        // (input, parsed, or None and a word the error must quote)
        let table = [
            ("csv,jsonl,json", f(true, true, true, false, false), ""),
            ("csv", f(true, false, false, false, false), ""),
            ("json", f(false, false, true, false, false), ""),
            ("jsonl", f(false, true, false, false, false), ""),
            (" json , csv ", f(true, false, true, false, false), ""),
            ("csv,csv", f(true, false, false, false, false), ""),
            ("html,md", f(false, false, false, true, true), ""),
            ("md", f(false, false, false, false, true), ""),
            (
                "csv,jsonl,json,html,md",
                f(true, true, true, true, true),
                "",
            ),
            ("csv,xml", None, "\"xml\""),
            ("CSV", None, "\"CSV\""),
            ("csv,,json", None, "\"\""),
            ("", None, "no report format"),
            (" ", None, "no report format"),
        ];
        for (input, want, quoted) in table {
            match (input.parse::<Formats>(), want) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{input:?}"),
                (Err(e), None) => assert!(e.contains(quoted), "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!("csv,jsonl,json".parse::<Formats>(), Ok(Formats::DATA));
        assert_eq!(
            "md,html,json,jsonl,csv".parse::<Formats>(),
            Ok(Formats::ALL)
        );
        let e = "pdf".parse::<Formats>().unwrap_err();
        assert!(e.contains("html or md"), "{e}");
    }

    #[test]
    fn internal_error_names_the_reports() {
        let e = ReportError::internal("the report writer failed: panic");
        assert_eq!(
            e.to_string(),
            "cannot write reports: the report writer failed: panic"
        );
    }

    #[test]
    fn formats_display_round_trips() {
        for f in [
            Formats::ALL,
            "json".parse().unwrap(),
            "jsonl,csv".parse().unwrap(),
        ] {
            assert_eq!(f.to_string().parse::<Formats>(), Ok(f));
        }
        assert_eq!(Formats::ALL.to_string(), "csv,jsonl,json,html,md");
        assert_eq!(Formats::default().to_string(), "csv,jsonl,json");
    }

    #[test]
    fn suffix_is_appended_not_replaced() {
        let table = [
            ("reports/scan", "csv", "reports/scan.csv"),
            ("reports/scan-2025.03", "json", "reports/scan-2025.03.json"),
            ("scan", "jsonl", "scan.jsonl"),
        ];
        for (prefix, ext, want) in table {
            assert_eq!(with_suffix(Path::new(prefix), ext), PathBuf::from(want));
        }
    }

    #[test]
    fn an_input_is_overwritten_only_by_a_report_of_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        for name in ["scan.jsonl", "scan.json", "other.jsonl", "x.html"] {
            fs::write(at(name), "").unwrap();
        }
        let jsonl: Formats = "jsonl".parse().unwrap();
        let html: Formats = "html".parse().unwrap();
        let (scan, other, x) = (at("scan.jsonl"), at("other.jsonl"), at("x.html"));
        let gone = at("gone.jsonl");
        let via_dot = dir.path().join(".").join("scan");
        // (inputs, prefix, formats, the input overwritten and the report named as written)
        type Case<'a> = (Vec<&'a Path>, PathBuf, Formats, Option<(&'a Path, PathBuf)>);
        let table: Vec<Case> = vec![
            (
                vec![&scan],
                at("scan"),
                Formats::DATA,
                Some((&scan, scan.clone())),
            ),
            (
                vec![&other, &scan],
                via_dot.clone(),
                jsonl,
                Some((&scan, with_suffix(&via_dot, "jsonl"))),
            ),
            (vec![&scan], at("scan"), "csv,json".parse().unwrap(), None),
            (vec![&scan], at("new"), Formats::ALL, None),
            (vec![&x], at("x"), html, Some((&x, x.clone()))),
            // A missing input is reported when it is opened.
            (vec![&gone], at("gone"), jsonl, None),
        ];
        for (inputs, prefix, formats, want) in table {
            let got = overwritten_input(inputs.iter().copied(), &prefix, formats);
            assert_eq!(
                got,
                want,
                "{inputs:?} -o {} --format {formats}",
                prefix.display()
            );
        }
    }

    #[test]
    fn report_error_message_names_path_and_cause() {
        let e = ReportError::new(
            "write",
            "reports/x.csv",
            io::Error::new(io::ErrorKind::StorageFull, "No space left on device"),
        );
        assert_eq!(
            e.to_string(),
            "cannot write reports/x.csv: No space left on device"
        );
    }

    #[test]
    fn phase_enforces_begin_record_finish() {
        let p = Path::new("r.csv");
        let mut phase = Phase::New;
        assert!(phase.check_record(p).is_err());
        let mut copy = phase;
        assert!(copy.finish(p).is_err());
        phase.begin(p).unwrap();
        assert!(phase.begin(p).is_err());
        phase.check_record(p).unwrap();
        phase.finish(p).unwrap();
        let e = phase.finish(p).unwrap_err();
        assert!(e.to_string().contains("finish() called twice"), "{e}");
        assert!(phase.check_record(p).is_err());
    }

    mod reports {
        use super::super::*;
        use crate::assess::Verdict;
        use crate::report::testdata;
        use chrono::Utc;
        use std::fs;

        fn end() -> RunEnd {
            RunEnd {
                finished_at: Utc::now(),
                interrupted: false,
            }
        }

        #[test]
        fn writes_every_format_under_a_new_folder() {
            let dir = tempfile::tempdir().unwrap();
            let prefix = dir.path().join("a/b/scan-2025.03");
            let mut reports =
                Reports::create(&prefix, Formats::ALL, file::Replacing::Quietly).unwrap();
            let paths = reports.paths();
            let names: Vec<_> = paths
                .iter()
                .map(|p| p.file_name().unwrap().to_str().unwrap())
                .collect();
            assert_eq!(
                names,
                [
                    "scan-2025.03.csv",
                    "scan-2025.03.jsonl",
                    "scan-2025.03.json",
                    "scan-2025.03.html",
                    "scan-2025.03.md"
                ]
            );
            assert!(paths.iter().all(|p| p.starts_with(dir.path().join("a/b"))));

            let records = [
                ScanRecord::of_outcome(testdata::open_relay_outcome()),
                ScanRecord::of_outcome(testdata::refused_outcome()),
            ];
            let mut summary = Summary::default();
            reports
                .begin(&RunMeta::this_tool(Utc::now(), vec![]))
                .unwrap();
            for r in &records {
                reports.record(r).unwrap();
                summary.add(r);
            }
            reports.finish(&end(), &summary).unwrap();
            let e = reports.finish(&end(), &summary).unwrap_err();
            assert!(e.to_string().contains("called twice"), "{e}");

            let csv_rows = ::csv::Reader::from_path(&paths[0])
                .unwrap()
                .records()
                .count();
            assert_eq!(csv_rows, 2);
            let jsonl: Vec<ScanRecord> = fs::read_to_string(&paths[1])
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(jsonl, records);
            let doc: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&paths[2]).unwrap()).unwrap();
            assert_eq!(doc["summary"]["probed"], 2);
            assert_eq!(doc["records"].as_array().unwrap().len(), 2);
            let html = fs::read_to_string(&paths[3]).unwrap();
            assert_eq!(html.matches("<tbody class=\"host\"").count(), 2);
            let md = fs::read_to_string(&paths[4]).unwrap();
            assert!(md.starts_with("# relayscan report: 1 open relay"), "{md}");
        }

        #[test]
        fn the_jsonl_and_the_json_report_hold_the_same_text_of_each_record() {
            let dir = tempfile::tempdir().unwrap();
            let prefix = dir.path().join("scan");
            let mut reports =
                Reports::create(&prefix, Formats::DATA, file::Replacing::Quietly).unwrap();
            let paths = reports.paths();
            let records = [
                ScanRecord::of_outcome(testdata::open_relay_outcome()),
                ScanRecord::of_outcome(testdata::refused_outcome()),
            ];
            reports
                .begin(&RunMeta::this_tool(Utc::now(), vec![]))
                .unwrap();
            for r in &records {
                reports.record(r).unwrap();
            }
            reports.finish(&end(), &Summary::default()).unwrap();
            // Encoded once, by serde_json as ever: each JSONL line is serde's text of the
            // record, and the JSON report's records are those lines (`,` between them).
            let jsonl = fs::read_to_string(&paths[1]).unwrap();
            let lines: Vec<&str> = jsonl.lines().collect();
            let serde: Vec<String> = records
                .iter()
                .map(|r| serde_json::to_string(r).unwrap())
                .collect();
            assert_eq!(lines, serde);
            let json = fs::read_to_string(&paths[2]).unwrap();
            let in_json = format!("\"records\":[\n{},\n{}\n],", lines[0], lines[1]);
            assert!(json.contains(&in_json), "{json}");
        }

        #[test]
        fn only_the_formats_asked_for() {
            let dir = tempfile::tempdir().unwrap();
            let prefix = dir.path().join("scan");
            let reports =
                Reports::create(&prefix, "jsonl".parse().unwrap(), file::Replacing::Quietly)
                    .unwrap();
            assert_eq!(reports.paths(), [dir.path().join("scan.jsonl")]);
            assert!(!dir.path().join("scan.csv").exists());
            assert!(!dir.path().join("scan.json").exists());
        }

        #[test]
        fn error_names_the_folder_that_cannot_be_created() {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("plain-file");
            fs::write(&file, "not a folder").unwrap();
            let prefix = file.join("sub/scan");
            let Err(e) = Reports::create(&prefix, Formats::ALL, file::Replacing::Quietly) else {
                panic!("created reports under a regular file");
            };
            assert_eq!(e.action, "create folder");
            assert_eq!(e.path, file.join("sub"));
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!(
                    "cannot create folder {}: ",
                    file.join("sub").display()
                )),
                "{msg}"
            );
        }

        #[test]
        fn error_names_the_file_that_cannot_be_created() {
            let dir = tempfile::tempdir().unwrap();
            // A folder where the CSV file should go.
            fs::create_dir(dir.path().join("scan.csv")).unwrap();
            let Err(e) = Reports::create(
                &dir.path().join("scan"),
                Formats::ALL,
                file::Replacing::Quietly,
            ) else {
                panic!("created a file over a folder");
            };
            assert_eq!(e.action, "create");
            assert_eq!(e.path, dir.path().join("scan.csv"));
        }

        #[test]
        fn prefix_without_file_name_is_refused() {
            let Err(e) = Reports::create(
                Path::new("reports/.."),
                Formats::ALL,
                file::Replacing::Quietly,
            ) else {
                panic!("accepted a prefix without a file name");
            };
            assert!(e.to_string().contains("file name"), "{e}");
        }

        /// Reports with one mail domain whose mail host answered as an open relay.
        fn with_a_domain(prefix: &Path) -> Reports {
            let mut reports =
                Reports::create(prefix, "json".parse().unwrap(), file::Replacing::Quietly).unwrap();
            let plan = testdata::one_domain_plan("d.example", "mx.d.example", "192.0.2.1");
            reports
                .attach_domains(domains::DomainReport::new(plan, &[25], prefix))
                .unwrap();
            reports
                .begin(&RunMeta::this_tool(Utc::now(), vec![]))
                .unwrap();
            let mut open = ScanRecord::of_outcome(testdata::open_relay_outcome());
            (open.ip, open.port) = ("192.0.2.1".parse().unwrap(), 25);
            reports.record(&open).unwrap();
            reports
        }

        #[test]
        fn domain_reports_render_the_assessments_they_are_given() {
            use crate::assess::domain::{DomainAssessment, DomainFinding, DomainFindingId};
            let dir = tempfile::tempdir().unwrap();
            let prefix = dir.path().join("scan");
            let mut reports = with_a_domain(&prefix);
            // Its one endpoint is in: the domain is ready, once.
            let observed = reports.next_ready_domain().unwrap();
            assert_eq!(observed.address_facts()[0].verdicts, [Verdict::OpenRelay]);
            // Not what the facts say: whatever is given is what is written.
            let given = DomainAssessment {
                worst_verdict: Some(Verdict::AuthRequired),
                findings: vec![DomainFinding::new(
                    DomainFindingId::SpfNoAll,
                    "given".into(),
                )],
                dane: vec![],
            };
            let entries = vec![domains::DomainEntry::new(observed, given.clone())];
            assert!(reports.next_ready_domain().is_none());
            reports.domain(&entries[0]).unwrap();
            reports.finish(&end(), &Summary::default()).unwrap();

            let doc: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(with_suffix(&prefix, "json")).unwrap())
                    .unwrap();
            assert_eq!(doc["domains"], serde_json::to_value(&entries).unwrap());
            assert_eq!(doc["domains"][0]["worst_verdict"], "auth-required");
            assert_eq!(doc["domains"][0]["findings"][0]["id"], "spf-no-all");
            let csv = fs::read_to_string(with_suffix(&prefix, "domains.csv")).unwrap();
            assert!(
                csv.lines().nth(1).unwrap().contains(",auth-required,"),
                "{csv}"
            );
        }

        #[test]
        fn finishing_without_the_domains_assessed_is_a_named_error_that_closes_the_rest() {
            let dir = tempfile::tempdir().unwrap();
            let prefix = dir.path().join("scan");
            let mut reports = with_a_domain(&prefix);
            let e = reports.finish(&end(), &Summary::default()).unwrap_err();
            assert!(e.to_string().contains("never assessed"), "{e}");
            assert_eq!(e.path, with_suffix(&prefix, "domains.csv"));
            let doc: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(with_suffix(&prefix, "json")).unwrap())
                    .unwrap();
            assert_eq!(doc["summary"]["probed"], 0, "the JSON is finished");
            assert!(doc.get("domains").is_none());
        }
    }
}
