//! `relayscan audit-config [--mta postfix|exim|opensmtpd|sendmail|auto] PATH...`: read configuration files (or `-` for stdin), print the findings, write CSV/JSON/HTML, apply `--fail-on`.

use std::io::Read;
use std::path::Path;

use super::AppError;
use crate::audit::output::{AUDIT_COLUMNS, csv_row, json, render_table};
use crate::audit::sendmail::compile::compile;
use crate::audit::{AuditReport, Env, Source, html, run_in as audit};
use crate::cli::AuditArgs;
use crate::config::output::formats_within;
use crate::exit;
use crate::report::sanitize::csv_cell;
use crate::report::{Formats, with_suffix};

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
    let sources = read_inputs(&args.paths)?;
    let read_table = |p: &Path| read_named(p);
    let env = Env {
        read: &read_table,
        compile_mc: &compile,
    };
    let report = audit(&sources, args.mta, &env).map_err(AppError::Usage)?;
    if !args.quiet {
        super::print_out(&render_table(&report));
    }
    if let Some(prefix) = &args.output {
        write_reports(&report, prefix, formats, &argv)?;
    }
    let tripped = args
        .fail_on
        .is_some_and(|gate| gate.matches(report.verdict(), &report.plain_findings()));
    Ok(exit::of_run(false, tripped))
}

/// Files a configuration names (tables, `.include`s, class R files) are read only when they
/// are regular files, and up to 16 MiB (Debian's whole Exim template is 80 KiB): a
/// `.include /dev/zero` must not hang the audit. Anything else reads as absent (noted).
const MAX_NAMED_FILE: u64 = 16 << 20;

fn read_named(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_NAMED_FILE + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > MAX_NAMED_FILE {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads every PATH (`-` is stdin, at most once); an unreadable file is a usage error that
/// names it.
fn read_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<Source>, AppError> {
    let mut stdin_used = false;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        if path.as_os_str() == "-" {
            if std::mem::replace(&mut stdin_used, true) {
                return Err(AppError::Usage("`-` (stdin) given twice".into()));
            }
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| AppError::Usage(format!("<stdin>: cannot read: {e}")))?;
            out.push(Source::new("<stdin>", text));
            continue;
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::Usage(format!("{}: cannot read: {e}", path.display())))?;
        out.push(Source::new(path.display().to_string(), text));
    }
    Ok(out)
}

fn write_reports(
    report: &AuditReport,
    prefix: &Path,
    formats: Formats,
    argv: &[String],
) -> Result<(), AppError> {
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Output(format!("cannot create folder {}: {e}", dir.display()))
        })?;
    }
    let failed = |path: &Path, e: &dyn std::fmt::Display| {
        AppError::Output(format!("cannot write {}: {e}", path.display()))
    };
    if formats.csv {
        let path = with_suffix(prefix, "csv");
        let mut w = csv::Writer::from_path(&path).map_err(|e| failed(&path, &e))?;
        w.write_record(AUDIT_COLUMNS)
            .map_err(|e| failed(&path, &e))?;
        for f in &report.findings {
            let cells = csv_row(f);
            w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
                .map_err(|e| failed(&path, &e))?;
        }
        w.flush().map_err(|e| failed(&path, &e))?;
        eprintln!("relayscan: wrote {}", path.display());
    }
    if formats.json {
        let path = with_suffix(prefix, "json");
        let mut text =
            serde_json::to_string_pretty(&json(report, argv)).map_err(|e| failed(&path, &e))?;
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| failed(&path, &e))?;
        eprintln!("relayscan: wrote {}", path.display());
    }
    if formats.html {
        let path = with_suffix(prefix, "html");
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        std::fs::write(&path, html::page(report, &now)).map_err(|e| failed(&path, &e))?;
        eprintln!("relayscan: wrote {}", path.display());
    }
    Ok(())
}
