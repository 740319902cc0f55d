//! `relayscan logs [--mta ...] [--mynetworks ...] [--config main.cf] [--local-domains ...] FILE...`: read mail logs as a stream, print the conclusions, write CSV/JSON/HTML/Markdown, apply `--fail-on` (default critical).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use ipnetwork::IpNetwork;

use super::AppError;
use crate::audit::{MtaChoice, Source};
use crate::cli::LogsArgs;
use crate::config::output::formats_within;
use crate::input::{MAX_INPUT_FILE_BYTES, log_stream, open_log, read_text};
use crate::logs::output::{LOG_COLUMNS, csv_row, html, json, markdown, render_table};
use crate::logs::prefix::parse_when;
use crate::logs::read::read_log;
use crate::logs::{Analyzer, LogReport, Settings, Thresholds};
use crate::report::csv_writer::CsvWriter;
use crate::report::file::{Replacing, create_folder_of, write_whole};
use crate::report::{Formats, with_suffix};
use crate::say::say;

pub fn run(args: LogsArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let writes = Formats {
        csv: true,
        json: true,
        html: true,
        md: true,
        ..Formats::NONE
    };
    let formats = formats_within(&args.format, writes, "logs writes csv, json, html and md")?;
    let prefix = match &args.output {
        Some(given) => Some(super::output_prefix(given, formats, args.quiet)?),
        None => None,
    };
    let settings = settings(&args)?;
    let mut analyzer = Analyzer::new(settings);
    let mut stdin_used = false;
    for path in &args.files {
        let (name, stream) = if path.as_os_str() == "-" {
            if std::mem::replace(&mut stdin_used, true) {
                return Err(AppError::Usage("`-` (stdin) given twice".into()));
            }
            let stdin = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin());
            ("<stdin>".to_string(), log_stream(stdin))
        } else {
            (path.display().to_string(), open_log(path))
        };
        let stream = stream.map_err(|e| AppError::Usage(format!("{name}: cannot read: {e}")))?;
        read_log(&mut analyzer, &name, stream).map_err(|e| AppError::Usage(e.to_string()))?;
    }
    let report = analyzer.finish();
    super::finish_offline(
        args.quiet,
        || render_table(&report),
        || match &prefix {
            Some(prefix) => write_reports(&report, prefix, formats, &argv),
            None => Ok(()),
        },
        args.fail_on,
        report.verdict(),
        &report.plain_findings(),
    )
}

/// The flags as a run's settings; a bad value is a usage error naming the flag.
fn settings(args: &LogsArgs) -> Result<Settings, AppError> {
    let mut mynetworks = Vec::new();
    for given in &args.mynetworks {
        let net: IpNetwork = given.trim().parse().map_err(|_| {
            AppError::Usage(format!(
                "--mynetworks {given}: not an address or CIDR network"
            ))
        })?;
        mynetworks.push(net);
    }
    if let Some(config) = &args.config {
        mynetworks.extend(trusted_by(config)?);
    }
    let when = |flag: &str, v: &Option<String>| -> Result<Option<i64>, AppError> {
        v.as_deref()
            .map(|s| parse_when(s).map_err(|e| AppError::Usage(format!("{flag} {e}"))))
            .transpose()
    };
    let since = when("--since", &args.since)?;
    let until = when("--until", &args.until)?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(AppError::Usage("--since must be before --until".into()));
    }
    Ok(Settings {
        mta: args.mta,
        mynetworks,
        local_domains: local_domains(args.local_domains.as_deref())?,
        since,
        until,
        thresholds: Thresholds {
            sasl_failures: args.sasl_failures,
            user_external_recipients: args.user_recipients,
            hourly_messages: args.hourly_messages,
            ..Thresholds::default()
        },
    })
}

/// The networks the configuration at `path` trusts to relay, as audit-config reads them
/// (Postfix `mynetworks`, Exim `relay_from_hosts`, Sendmail's class R...).
fn trusted_by(path: &Path) -> Result<Vec<IpNetwork>, AppError> {
    let text = read_text(path, MAX_INPUT_FILE_BYTES)
        .map_err(|e| AppError::Usage(format!("--config {e}")))?;
    let source = Source::new(path.display().to_string(), text);
    let audit = crate::audit::run(&[source], MtaChoice::Auto, &super::audit::read_named)
        .map_err(|e| AppError::Usage(format!("--config {e}")))?;
    let nets: Vec<IpNetwork> = audit
        .trusted
        .iter()
        .filter_map(|t| t.network.parse().ok())
        .collect();
    say(&format!(
        "relayscan: {}: trusted to relay: {}",
        path.display(),
        if nets.is_empty() {
            "no network".to_string()
        } else {
            nets.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    Ok(nets)
}

/// `--local-domains`: a file of one domain a line (`#` comments) when one is there by that
/// name, else a comma-separated list; lowercased, a trailing dot dropped.
fn local_domains(given: Option<&str>) -> Result<HashSet<String>, AppError> {
    let Some(given) = given else {
        return Ok(HashSet::new());
    };
    let path = Path::new(given);
    let text = if path.is_file() {
        read_text(path, MAX_INPUT_FILE_BYTES)
            .map_err(|e| AppError::Usage(format!("--local-domains {e}")))?
    } else {
        given.replace(',', "\n")
    };
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end_matches('.').to_ascii_lowercase())
        .collect())
}

fn write_reports(
    report: &LogReport,
    prefix: &Path,
    formats: Formats,
    argv: &[String],
) -> Result<(), AppError> {
    create_folder_of(prefix)?;
    let write = |ext: &str, body: &dyn Fn(&mut std::fs::File) -> std::io::Result<()>| {
        let path = with_suffix(prefix, ext);
        write_whole(&path, Replacing::Say, |file| body(file))?;
        say(&format!("relayscan: wrote {}", path.display()));
        Ok::<(), AppError>(())
    };
    if formats.csv {
        write("csv", &|file| {
            let mut w = CsvWriter::new(std::io::BufWriter::new(file));
            w.row(LOG_COLUMNS)?;
            for f in &report.findings {
                w.row(csv_row(report, f))?;
            }
            w.flush()
        })?;
    }
    if formats.json {
        write("json", &|file| {
            serde_json::to_writer_pretty(&mut *file, &json(report, argv))?;
            file.write_all(b"\n")
        })?;
    }
    if formats.html {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        write("html", &|file| {
            file.write_all(html(report, &now).as_bytes())
        })?;
    }
    if formats.md {
        write("md", &|file| file.write_all(markdown(report).as_bytes()))?;
    }
    Ok(())
}
