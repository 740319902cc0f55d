//! The subcommands: each turns parsed arguments into work and an [`AppError`] into an exit code.

pub mod audit;
pub mod completions;
#[cfg(feature = "lab")]
pub mod demo;
#[cfg(feature = "lab")]
pub mod demo_blocklists;
#[cfg(feature = "lab")]
pub mod demo_domains;
#[cfg(feature = "lab")]
pub mod demo_software;
pub mod diff;
pub mod hints;
#[cfg(feature = "lab")]
pub mod lab;
#[cfg(feature = "lab")]
pub mod lab_hostile;
pub mod logs;
pub mod man;
pub mod merge;
pub mod report;
pub mod resume_alone;
pub mod scan;
pub mod scan_streamed;
pub mod site_config;
pub mod targets;

use std::path::{Path, PathBuf};

use crate::exit;
use crate::report::Formats;

/// Why a command failed, by who must act: the user (usage), the disk (output), or us.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad arguments or input; nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// A report could not be written.
    #[error("{0}")]
    Output(String),
    /// Anything else.
    #[error("{0}")]
    Failure(String),
}

/// A flag that does not make sense stops the run before any traffic. A value that came
/// from relayscan.toml or a RELAYSCAN_* variable is blamed on it, not on the flag.
impl From<crate::config::ConfigError> for AppError {
    fn from(e: crate::config::ConfigError) -> Self {
        AppError::Usage(crate::site::blame(&e.flag, e.to_string()))
    }
}

/// No plan could be built (a target outside the scope, an unusable resolver): nothing
/// was sent.
impl From<crate::target::BuildError> for AppError {
    fn from(e: crate::target::BuildError) -> Self {
        AppError::Usage(e.to_string())
    }
}

/// A report that cannot be read is bad input (nothing was sent).
impl From<crate::report::read::ReadError> for AppError {
    fn from(e: crate::report::read::ReadError) -> Self {
        AppError::Usage(e.to_string())
    }
}

/// A report that cannot be written is an output failure.
impl From<crate::report::ReportError> for AppError {
    fn from(e: crate::report::ReportError) -> Self {
        AppError::Output(e.to_string())
    }
}

/// Reports written from reports: bad input, or an output failure.
impl From<crate::report::RewriteError> for AppError {
    fn from(e: crate::report::RewriteError) -> Self {
        match e {
            crate::report::RewriteError::Read(e) => e.into(),
            crate::report::RewriteError::Write(e) => e.into(),
        }
    }
}

impl AppError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Usage(_) => exit::USAGE,
            AppError::Output(_) => exit::OUTPUT,
            AppError::Failure(_) => exit::FAILURE,
        }
    }
}

/// Runs the parsed command line; returns the exit code.
pub async fn run(cli: crate::cli::Cli, argv: Vec<String>) -> i32 {
    use crate::cli::Commands;
    crate::color::choose(cli.color);
    let result = match cli.command {
        Commands::Scan(args) => scan::run(args, argv).await,
        #[cfg(feature = "lab")]
        Commands::Lab(args) => lab::run(args).await,
        #[cfg(feature = "lab")]
        Commands::Demo(args) => demo::run(args, argv).await,
        Commands::Targets(args) => targets::run(args).await,
        Commands::Merge(args) => merge::run(args, argv),
        Commands::Report(args) => report::run(args, argv),
        Commands::Diff(args) => diff::run(args),
        Commands::AuditConfig(args) => audit::run(args, argv),
        Commands::Logs(args) => logs::run(args, argv),
        Commands::Completions(args) => completions::run(args),
        Commands::Man(args) => man::run(args),
        Commands::Config => site_config::run(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let error = crate::color::Paint::stderr().alarm("error");
            crate::say::say(&format!("relayscan: {error}: {e}"));
            e.exit_code()
        }
    }
}

/// `-o PREFIX` of a command that writes `formats`, resolved before anything is read or sent
/// (see `report::file`): a folder gets a timestamped name in it, said on stderr unless
/// `quiet`; a device, a fifo or a socket is refused (exit 2).
pub fn output_prefix(given: &Path, formats: Formats, quiet: bool) -> Result<PathBuf, AppError> {
    let resolved = crate::config::output::report_prefix(given, formats)?;
    if let (Some(note), false) = (resolved.note(), quiet) {
        crate::say::say(&note);
    }
    Ok(resolved.prefix)
}

/// The end of a run that reads files and sends nothing (audit-config, logs): the summary on
/// stdout unless `quiet`, the reports, then the exit code from the `--fail-on` gate.
pub fn finish_offline(
    quiet: bool,
    summary: impl FnOnce() -> String,
    write_reports: impl FnOnce() -> Result<(), AppError>,
    gate: crate::report::Gate,
    verdict: Option<crate::assess::Verdict>,
    findings: &[crate::assess::Finding],
) -> Result<i32, AppError> {
    if !quiet {
        print_out(&summary());
    }
    write_reports()?;
    let tripped = gate
        .threshold()
        .is_some_and(|gate| gate.matches(verdict, findings));
    Ok(exit::of_run(None, tripped))
}

/// Writes text to stdout, ignoring a closed pipe (`relayscan ... | head`): by then the
/// reports are written, and a panic or error there would only hide the exit code.
pub fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
