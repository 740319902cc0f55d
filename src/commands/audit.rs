//! `relayscan audit-config [--mta postfix|exim|opensmtpd|sendmail|auto] PATH...`: read configuration files (a folder's known ones, or `-` for stdin), print the findings, write CSV/JSON/HTML, apply `--fail-on` (default high).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::AppError;
use crate::audit::output::{AUDIT_COLUMNS, csv_row, json, render_table};
use crate::audit::sendmail::compile::compile;
use crate::audit::{AuditReport, Env, FOLDER_FILES, Source, html, run_in as audit};
use crate::cli::AuditArgs;
use crate::config::output::formats_within;
use crate::input::{MAX_INPUT_FILE_BYTES, read_text, read_text_from};
use crate::report::csv_writer::CsvWriter;
use crate::report::file::{Replacing, create_folder_of, write_whole};
use crate::report::{Formats, with_suffix};
use crate::say::say;

pub fn run(args: AuditArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let writes = Formats {
        csv: true,
        json: true,
        html: true,
        ..Formats::NONE
    };
    let formats = formats_within(
        &args.format,
        writes,
        "audit-config writes csv, json and html",
    )?;
    let prefix = match &args.output {
        Some(given) => Some(super::output_prefix(given, formats, args.quiet)?),
        None => None,
    };
    let sources = read_inputs(&args.paths)?;
    let env = Env {
        read: &read_named,
        compile_mc: &compile,
    };
    let report = audit(&sources, args.mta, &env).map_err(AppError::Usage)?;
    super::finish_offline(
        args.quiet,
        || render_table(&report, crate::color::Paint::stdout()),
        || match &prefix {
            Some(prefix) => write_reports(&report, prefix, formats, &argv),
            None => Ok(()),
        },
        args.fail_on,
        report.verdict(),
        &report.plain_findings(),
    )
}

/// Reads a file a configuration names (a lookup table, an include): a missing or unreadable
/// one is `None` (the audit notes it); one refused as input (a device, a file over the cap)
/// is an error at the line that names it.
pub fn read_named(p: &Path) -> Result<Option<String>, String> {
    match read_text(p, MAX_INPUT_FILE_BYTES) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.is_refused() => Err(e.to_string()),
        Err(_) => Ok(None),
    }
}

/// Reads every PATH (`-` is stdin, at most once; a folder, its known configuration files),
/// each a regular file of at most
/// [`MAX_INPUT_FILE_BYTES`]; an unreadable or refused file is a usage error that names it.
fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Source>, AppError> {
    let mut stdin_used = false;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        if path.as_os_str() == "-" {
            if std::mem::replace(&mut stdin_used, true) {
                return Err(AppError::Usage("`-` (stdin) given twice".into()));
            }
            let text = read_text_from(std::io::stdin().lock(), "<stdin>", MAX_INPUT_FILE_BYTES)
                .map_err(|e| AppError::Usage(e.to_string()))?;
            out.push(Source::new("<stdin>", text));
            continue;
        }
        let files = if path.is_dir() {
            folder_files(path)?
        } else {
            vec![path.clone()]
        };
        for file in files {
            let text = read_text(&file, MAX_INPUT_FILE_BYTES)
                .map_err(|e| AppError::Usage(e.to_string()))?;
            out.push(Source::new(file.display().to_string(), text));
        }
    }
    Ok(out)
}

/// The known configuration files ([`FOLDER_FILES`]) present in folder `dir`, said on
/// stderr; none is a usage error naming the folder. A present name that is no regular file
/// (a FIFO main.cf) is taken, so that reading it refuses it by name.
fn folder_files(dir: &Path) -> Result<Vec<PathBuf>, AppError> {
    let taken: Vec<&str> = FOLDER_FILES
        .into_iter()
        .filter(|name| dir.join(name).symlink_metadata().is_ok())
        .collect();
    if taken.is_empty() {
        return Err(AppError::Usage(format!(
            "{}: a folder with no configuration file audit-config reads (looked for {})",
            dir.display(),
            FOLDER_FILES.join(", ")
        )));
    }
    say(&format!(
        "relayscan: {}: auditing {}",
        dir.display(),
        taken.join(", ")
    ));
    Ok(taken.into_iter().map(|name| dir.join(name)).collect())
}

fn write_reports(
    report: &AuditReport,
    prefix: &Path,
    formats: Formats,
    argv: &[String],
) -> Result<(), AppError> {
    create_folder_of(prefix)?;
    if formats.csv {
        let path = with_suffix(prefix, "csv");
        write_whole(&path, Replacing::Say, |file| {
            let mut w = CsvWriter::new(std::io::BufWriter::new(file));
            w.row(AUDIT_COLUMNS)?;
            for f in &report.findings {
                w.row(csv_row(f))?;
            }
            w.flush()
        })?;
        say(&format!("relayscan: wrote {}", path.display()));
    }
    if formats.json {
        let path = with_suffix(prefix, "json");
        write_whole(&path, Replacing::Say, |file| {
            serde_json::to_writer_pretty(&mut *file, &json(report, argv))?;
            file.write_all(b"\n")
        })?;
        say(&format!("relayscan: wrote {}", path.display()));
    }
    if formats.html {
        let path = with_suffix(prefix, "html");
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        write_whole(&path, Replacing::Say, |file| {
            file.write_all(html::page(report, &now).as_bytes())
        })?;
        say(&format!("relayscan: wrote {}", path.display()));
    }
    Ok(())
}
