//! `relayscan diff OLD.jsonl NEW.jsonl`: what changed between two scans, on the terminal and as CSV/JSON (see `report::diff` and `report::diff_files`).

use super::AppError;
use crate::cli::DiffArgs;
use crate::config::output::formats_within;
use crate::exit;
use crate::report::diff_files::{DIFF_FORMATS, diff_files, write_diff};

pub fn run(args: DiffArgs) -> Result<i32, AppError> {
    let formats = formats_within(&args.format, DIFF_FORMATS, "diff writes csv and json only")?;
    let prefix = match &args.output {
        Some(given) => Some(super::output_prefix(given, formats, false)?),
        None => None,
    };
    let diff = diff_files(&args.old, &args.new)?;
    super::print_out(&diff.render_table());
    if let Some(prefix) = &prefix {
        let inputs = (args.old.as_path(), args.new.as_path());
        write_diff(&diff, inputs, prefix, formats, |path| {
            eprintln!("relayscan: wrote {}", path.display());
        })?;
    }
    let tripped = args.fail_on.is_some_and(|gate| diff.trips(gate));
    Ok(exit::of_run(None, tripped))
}
