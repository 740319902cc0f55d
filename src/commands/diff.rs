//! `relayscan diff OLD.jsonl NEW.jsonl`: what changed between two scans, on the terminal and as CSV/JSON.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::AppError;
use crate::cli::DiffArgs;
use crate::config::output::formats_within;
use crate::exit;
use crate::report::diff::{DIFF_COLUMNS, DIFF_SCHEMA_VERSION, Diff, Differ, csv_row};
use crate::report::read::records;
use crate::report::sanitize::csv_cell;
use crate::report::{Formats, with_suffix};

pub fn run(args: DiffArgs) -> Result<i32, AppError> {
    let writes = Formats {
        csv: true,
        json: true,
        ..Formats::NONE
    };
    let formats = formats_within(&args.format, writes, "diff writes csv and json only")?;
    let usage = |e: crate::report::read::ReadError| AppError::Usage(e.to_string());
    let mut differ = Differ::default();
    for record in records(&args.old).map_err(usage)? {
        differ.old(&record.map_err(usage)?);
    }
    for record in records(&args.new).map_err(usage)? {
        differ.new_record(&record.map_err(usage)?);
    }
    let diff = differ.finish();
    super::print_out(&diff.render_table());
    if let Some(prefix) = &args.output {
        write_reports(&diff, &args.old, &args.new, prefix, formats)?;
    }
    let tripped = args.fail_on.is_some_and(|gate| diff.trips(gate));
    Ok(exit::of_run(false, tripped))
}

fn write_reports(
    diff: &Diff,
    old: &Path,
    new: &Path,
    prefix: &Path,
    formats: Formats,
) -> Result<(), AppError> {
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Output(format!("cannot create folder {}: {e}", dir.display()))
        })?;
    }
    if formats.csv {
        let path = with_suffix(prefix, "csv");
        let err = |e: csv::Error| AppError::Output(format!("cannot write {}: {e}", path.display()));
        let mut w = csv::Writer::from_path(&path).map_err(err)?;
        w.write_record(DIFF_COLUMNS).map_err(err)?;
        for row in &diff.rows {
            let cells = csv_row(row);
            w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
                .map_err(err)?;
        }
        w.flush()
            .map_err(|e| AppError::Output(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("relayscan: wrote {}", path.display());
    }
    if formats.json {
        let path = with_suffix(prefix, "json");
        let doc = serde_json::json!({
            "schema_version": DIFF_SCHEMA_VERSION,
            "old": old.display().to_string(),
            "new": new.display().to_string(),
            "counts": diff.counts(),
            "changes": diff.rows,
        });
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&path)?;
            serde_json::to_writer_pretty(&mut f, &doc)?;
            f.write_all(b"\n")?;
            f.sync_all()
        };
        write().map_err(|e| AppError::Output(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("relayscan: wrote {}", path.display());
    }
    Ok(())
}
