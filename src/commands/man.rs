//! `relayscan man`: the manual page in roff, generated from the clap definition (the same
//! text as `--help`, with the exit codes), printed or written one page per subcommand.

use std::path::Path;

use clap::CommandFactory;

use super::{AppError, print_out};
use crate::cli::{Cli, ManArgs};

pub fn run(args: ManArgs) -> Result<i32, AppError> {
    let command = Cli::command();
    match args.dir {
        None => print_out(&page(command)?),
        Some(dir) => write_pages(command, &dir)?,
    }
    Ok(crate::exit::OK)
}

/// The whole manual in one page: relayscan's own sections as clap_mangen lays them out
/// (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, SUBCOMMANDS, the exit codes, VERSION), then one
/// section per subcommand with its synopsis, description and options, so that
/// `man -l` shows every flag without the per-subcommand pages installed.
fn page(mut command: clap::Command) -> Result<String, AppError> {
    // Gives each subcommand its bin name ("relayscan scan") for its synopsis.
    command.build();
    let mut roff = Vec::new();
    let failed =
        |e: std::io::Error| AppError::Failure(format!("cannot render the manual page: {e}"));
    clap_mangen::Man::new(command.clone())
        .render(&mut roff)
        .map_err(failed)?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut section = Vec::new();
        let man = clap_mangen::Man::new(sub.clone());
        man.render_synopsis_section(&mut section).map_err(failed)?;
        man.render_description_section(&mut section)
            .map_err(failed)?;
        man.render_options_section(&mut section).map_err(failed)?;
        roff.extend_from_slice(
            format!(".SH \"RELAYSCAN {}\"\n", sub.get_name().to_uppercase()).as_bytes(),
        );
        roff.extend_from_slice(&demote_headings(&section));
    }
    Ok(String::from_utf8_lossy(&roff).into_owned())
}

/// A subcommand's `.SH` headings become `.SS` sub-headings under its own `.SH`.
fn demote_headings(roff: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(roff)
        .lines()
        .map(|line| match line.strip_prefix(".SH ") {
            Some(title) => format!(".SS {title}\n"),
            None => format!("{line}\n"),
        })
        .collect::<String>()
        .into_bytes()
}

/// relayscan.1 and relayscan-SUBCOMMAND.1 in `dir` (which must exist), named as
/// `man relayscan-scan` finds them once `dir` is on MANPATH's man1.
fn write_pages(command: clap::Command, dir: &Path) -> Result<(), AppError> {
    if !dir.is_dir() {
        return Err(AppError::Usage(format!(
            "--dir {}: not a folder (create it first)",
            dir.display()
        )));
    }
    clap_mangen::generate_to(command, dir)
        .map_err(|e| AppError::Output(format!("{}: cannot write the pages: {e}", dir.display())))
}
