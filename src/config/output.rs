//! What a scan writes and shows: the report prefix and formats, unanswered endpoints
//! (--all), transcripts, progress, the --fail-on gate, and the checkpoint kept or resumed.

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::cli::{CommonScanArgs, RunArgs};
use crate::report::file::{Prefix, resolve_prefix};
use crate::report::{FailOn, Formats};
use crate::scan::checkpoint::Checkpoint;
use crate::scan::progress::ProgressMode;

/// Output, validated.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    /// Reports go to PREFIX.csv, PREFIX.jsonl, ...; a resume keeps its checkpoint's. A
    /// folder given as `-o` is resolved to a timestamped name in it (see `report::file`).
    pub prefix: PathBuf,
    /// What to say about where the reports go, when `-o` named a folder.
    pub prefix_note: Option<String>,
    pub formats: Formats,
    /// `-o -`: the JSONL records go to stdout as hosts finish; no file is written and
    /// every human line (summary, transcripts, notes) goes to stderr.
    pub stream: bool,
    /// Write endpoints that did not answer too (--all).
    pub write_unanswered: bool,
    /// Print each dialogue as it completes (--transcript).
    pub transcript: bool,
    pub progress: ProgressMode,
    /// `-v` (1) and `-vv` (2): a line per host as it finishes and the pace's figures;
    /// then also each DNS step. All on stderr; none under `-q`.
    pub verbosity: u8,
    /// Exit 1 when the results reach this (--fail-on).
    pub fail_on: Option<FailOn>,
    /// Keep a checkpoint in this file (--checkpoint, or the file resumed).
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint being resumed (--resume).
    pub resume: Option<Checkpoint>,
}

impl OutputSettings {
    pub fn from_args(
        common: &CommonScanArgs,
        run: &RunArgs,
        fail_on: Option<FailOn>,
        stderr_is_terminal: bool,
    ) -> Result<OutputSettings, ConfigError> {
        let stream = common.output.as_deref() == Some(Path::new(STDOUT_PREFIX));
        let formats = match (stream, &common.format) {
            (false, asked) => formats(asked.as_deref().unwrap_or(DEFAULT_FORMATS))?,
            (true, asked) => stream_formats(asked.as_deref(), run)?,
        };
        let progress = if common.quiet {
            ProgressMode::Quiet
        } else if common.no_progress || !stderr_is_terminal {
            ProgressMode::Lines
        } else {
            ProgressMode::Bar
        };
        let resume = match &run.resume {
            Some(path) => Some(
                Checkpoint::load(path)
                    .map_err(|e| ConfigError::named("--resume", format!("--resume {e}")))?,
            ),
            None => None,
        };
        let prefix = match (&resume, &common.output) {
            // The reports continue where they are, whatever default prefix this run would pick.
            (Some(saved), Some(o)) if *o != saved.output => {
                return Err(ConfigError::named(
                    "--output",
                    format!(
                        "--output {}: the checkpoint writes to {}; leave -o out or give that prefix",
                        o.display(),
                        saved.output.display()
                    ),
                ));
            }
            (Some(saved), _) => saved.output.clone(),
            (None, Some(o)) => o.clone(),
            (None, None) => PathBuf::from(format!(
                "reports/scan-{}",
                chrono::Local::now().format("%Y%m%d-%H%M%S")
            )),
        };
        let resolved = if stream {
            Prefix {
                prefix,
                in_folder: false,
            }
        } else {
            report_prefix(&prefix, formats)?
        };
        if let Some(path) = &run.checkpoint {
            refuse_to_overwrite(path)?;
        }
        let checkpoint = run.checkpoint.clone().or(run.resume.clone());
        if checkpoint.is_some() && !formats.jsonl {
            return Err(ConfigError::named(
                "--format",
                format!(
                    "--format {formats}: a checkpoint needs the jsonl report (a resume replays it)"
                ),
            ));
        }
        Ok(OutputSettings {
            prefix: resolved.prefix.clone(),
            prefix_note: resolved.note(),
            formats,
            stream,
            write_unanswered: common.all,
            transcript: common.transcript,
            progress,
            verbosity: if common.quiet { 0 } else { common.verbose },
            fail_on,
            checkpoint,
            resume,
        })
    }

    pub fn quiet(&self) -> bool {
        self.progress == ProgressMode::Quiet
    }
}

/// The `-o` that streams records to stdout, as zgrab2 and zmap do.
pub const STDOUT_PREFIX: &str = "-";

/// What `scan` writes without --format (to files).
const DEFAULT_FORMATS: &str = "csv,jsonl,json";

/// The formats of `-o -`: JSONL only (one record a line is what a pipe can take as hosts
/// finish; CSV, JSON, HTML and Markdown need a file), and no checkpoint (a resume
/// replays a JSONL file that stdout is not).
fn stream_formats(asked: Option<&str>, run: &RunArgs) -> Result<Formats, ConfigError> {
    let jsonl = Formats {
        jsonl: true,
        ..Formats::NONE
    };
    if let Some(text) = asked {
        formats_within(
            text,
            jsonl,
            "-o - streams jsonl only; write other formats with -o PREFIX, or run `relayscan report` on the saved stream",
        )?;
    }
    let refuse = |flag: &str| {
        ConfigError::named(
            flag,
            format!(
                "{flag} with -o -: a checkpoint needs a JSONL file to resume from; give -o PREFIX"
            ),
        )
    };
    if run.checkpoint.is_some() {
        return Err(refuse("--checkpoint"));
    }
    if run.resume.is_some() {
        return Err(refuse("--resume"));
    }
    Ok(jsonl)
}

/// `-o PREFIX` for the reports of `formats` (and the domain report), resolved before any
/// traffic: a folder gets a timestamped name in it; a device, a fifo or a socket is refused
/// (see `report::file::resolve_prefix`).
pub fn report_prefix(given: &Path, formats: Formats) -> Result<Prefix, ConfigError> {
    let mut exts = formats.extensions();
    exts.push("domains.csv");
    resolve_prefix(given, &exts, chrono::Utc::now()).map_err(|e| ConfigError::named("--output", e))
}

/// `--format LIST`, for every command that writes reports.
pub fn formats(text: &str) -> Result<Formats, ConfigError> {
    text.parse()
        .map_err(|e: String| ConfigError::new("--format", e))
}

/// `--format LIST` for a command that writes only the `allowed` formats; `writes` says
/// which, for the error (`diff writes csv and json only`).
pub fn formats_within(text: &str, allowed: Formats, writes: &str) -> Result<Formats, ConfigError> {
    let asked = formats(text)?;
    let allowed = allowed.extensions();
    if asked.extensions().iter().any(|ext| !allowed.contains(ext)) {
        return Err(ConfigError::named(
            "--format",
            format!("--format {asked}: {writes}"),
        ));
    }
    Ok(asked)
}

/// `--checkpoint FILE` may replace a finished checkpoint, never an unfinished one (that
/// scan is resumed with --resume) nor a file that is not a checkpoint (a typo).
fn refuse_to_overwrite(path: &Path) -> Result<(), ConfigError> {
    if !path.exists() {
        return Ok(());
    }
    match Checkpoint::load(path) {
        Ok(c) if c.complete => Ok(()),
        Ok(_) => Err(ConfigError::named(
            "--checkpoint",
            format!(
                "--checkpoint {}: holds an unfinished scan; continue it with --resume {0}, or delete the file to start over",
                path.display()
            ),
        )),
        Err(e) => Err(ConfigError::named(
            "--checkpoint",
            format!("--checkpoint {e}; refusing to overwrite it"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_commands_that_write_some() {
        let csv_json = Formats {
            csv: true,
            json: true,
            ..Formats::NONE
        };
        let within = |text: &str| {
            formats_within(text, csv_json, "diff writes csv and json only")
                .map_err(|e| e.to_string())
        };
        assert_eq!(within("json,csv"), Ok(csv_json));
        assert_eq!(within("csv").map(|f| f.to_string()), Ok("csv".to_string()));
        assert_eq!(
            within("csv,html"),
            Err("--format csv,html: diff writes csv and json only".to_string())
        );
        assert_eq!(
            within("pdf"),
            Err("--format: unknown report format \"pdf\" (expected csv, jsonl, json, html or md, separated by commas)".to_string())
        );
    }
}
