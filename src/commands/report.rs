//! `relayscan report IN.jsonl`: regenerates any report (HTML, Markdown, CSV, JSON, JSONL) from the JSON Lines data of record (see `report::regenerate`).

use super::AppError;
use crate::cli::ReportArgs;
use crate::exit;
use crate::report::overwritten_input;
use crate::report::read::{json_beside, run_document};
use crate::report::regenerate::regenerate;

pub fn run(args: ReportArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let formats = crate::config::output::formats(&args.format)?;
    let given = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension(""));
    let prefix = super::output_prefix(&given, formats, args.quiet)?;
    // `report x.jsonl --format jsonl` would truncate the file it reads.
    if let Some((_, output)) = overwritten_input([args.input.as_path()], &prefix, formats) {
        return Err(AppError::Usage(format!(
            "{} is the input: choose another -o PREFIX or --format",
            output.display()
        )));
    }
    // The run's metadata lives in the JSON document beside the JSONL, when there is one.
    let run = run_document(&json_beside(&args.input)).unwrap_or_else(|note| {
        if !args.quiet {
            eprintln!("relayscan: note: {note}; the report names its source instead");
        }
        None
    });
    let regenerated = regenerate(&args.input, &prefix, formats, run, argv)?;
    super::print_out(
        &regenerated
            .summary
            .render_table(crate::color::Paint::stdout()),
    );
    if !args.quiet {
        for path in &regenerated.paths {
            eprintln!("relayscan: wrote {}", path.display());
        }
    }
    let tripped = args.fail_on.is_some_and(|gate| {
        gate.tripped(&regenerated.summary)
            || regenerated
                .domains
                .as_ref()
                .is_some_and(|d| gate.tripped_by_domains(d))
    });
    Ok(exit::of_run(None, tripped))
}
