//! `relayscan report IN.jsonl`: regenerates any report (HTML, Markdown, CSV, JSON, JSONL) from the JSON Lines data of record.

use std::path::{Path, PathBuf};

use super::AppError;
use crate::cli::ReportArgs;
use crate::exit;
use crate::report::read::{records, run_of};
use crate::report::{
    Formats, ReportSink, Reports, RunEnd, RunMeta, ScanSource, Summary, with_suffix,
};

pub fn run(args: ReportArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let formats = crate::config::output::formats(&args.format)?;
    let prefix = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension(""));
    refuse_overwriting_input(&args.input, &prefix, formats)?;

    // The run's metadata lives in the JSON document beside the JSONL, when there is one.
    let sibling = args.input.with_extension("json");
    let (meta, end) = match run_of(&sibling) {
        Ok(Some((meta, end))) => (Some(meta), end),
        Ok(None) => (None, None),
        Err(note) => {
            if !args.quiet {
                eprintln!("relayscan: note: {note}; the report names its source instead");
            }
            (None, None)
        }
    };
    let mut input = records(&args.input).map_err(|e| AppError::Usage(e.to_string()))?;
    // The first record is read before any file is created, so that a file that is not a
    // relayscan JSONL at all leaves nothing behind.
    let first = input
        .next()
        .transpose()
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let meta = meta.unwrap_or_else(|| reconstructed_meta(&args.input, first.as_ref(), argv));

    let mut reports =
        Reports::create(&prefix, formats).map_err(|e| AppError::Output(e.to_string()))?;
    let output = |e: crate::report::ReportError| AppError::Output(e.to_string());
    reports.begin(&meta).map_err(output)?;
    let mut summary = Summary::default();
    let mut last_end = meta.started_at;
    for record in first.into_iter().map(Ok).chain(input) {
        let record = record.map_err(|e| AppError::Usage(e.to_string()))?;
        let ended = record.started_at
            + chrono::Duration::milliseconds(i64::try_from(record.duration_ms).unwrap_or(0));
        last_end = last_end.max(ended);
        summary.add(&record);
        reports.record(&record).map_err(output)?;
    }
    summary.planned = u128::from(summary.probed);
    let end = end.unwrap_or(RunEnd {
        finished_at: last_end,
        interrupted: false,
    });
    reports.finish(&end, &summary).map_err(output)?;

    super::print_out(&summary.render_table());
    if !args.quiet {
        for path in reports.paths() {
            eprintln!("relayscan: wrote {}", path.display());
        }
    }
    let tripped = args.fail_on.is_some_and(|gate| gate.tripped(&summary));
    Ok(exit::of_run(false, tripped))
}

/// Run metadata for a JSONL without its JSON document: the tool that regenerates the report,
/// the first record's start, and a note saying where the data came from.
fn reconstructed_meta(
    input: &Path,
    first: Option<&crate::report::ScanRecord>,
    argv: Vec<String>,
) -> RunMeta {
    let started = first.map(|r| r.started_at).unwrap_or_else(chrono::Utc::now);
    let mut meta = RunMeta::this_tool(started, argv);
    meta.source = ScanSource {
        hostname: String::from("(not recorded)"),
        note: format!(
            "regenerated from {}; the scan's own metadata (targets, settings, vantage point) is in its JSON report, which was not found beside it",
            input.display()
        ),
    };
    meta
}

/// `report x.jsonl --format jsonl` would truncate the file it reads: refuse before anything
/// is created.
fn refuse_overwriting_input(input: &Path, prefix: &Path, formats: Formats) -> Result<(), AppError> {
    let Ok(input_abs) = input.canonicalize() else {
        // A missing input is reported, with its name, when it is opened.
        return Ok(());
    };
    let written: Vec<PathBuf> = formats
        .extensions()
        .into_iter()
        .map(|ext| with_suffix(prefix, ext))
        .collect();
    for path in written {
        if path.canonicalize().is_ok_and(|p| p == input_abs) {
            return Err(AppError::Usage(format!(
                "{} is the input: choose another -o PREFIX or --format",
                path.display()
            )));
        }
    }
    Ok(())
}
