//! `scan --resume FILE` with no targets: the targets and flags are the checkpoint's own
//! command line (as nmap's `--resume` does), with `--checkpoint` replaced by `--resume FILE`;
//! the resume then checks plan and settings against the checkpoint as for any resume.

use std::path::Path;

use clap::FromArgMatches;

use super::AppError;
use crate::cli::{Cli, Commands, ScanArgs};
use crate::scan::checkpoint::Checkpoint;

/// Whether `args` is `scan --resume FILE` with nothing to scan of its own.
pub fn applies(args: &ScanArgs) -> bool {
    let input = &args.input;
    args.run.resume.is_some()
        && input.targets.is_empty()
        && input.input_lists.is_empty()
        && input.domains.is_empty()
        && input.domain_files.is_empty()
}

/// The checkpoint's scan, as arguments and the command line to record.
pub fn from_checkpoint(path: &Path) -> Result<(ScanArgs, Vec<String>), AppError> {
    let saved = Checkpoint::load(path).map_err(|e| AppError::Usage(format!("--resume {e}")))?;
    let argv = resume_command_line(&saved.run.command_line, path);
    let refused = |why: String| {
        AppError::Usage(format!(
            "--resume {}: the checkpoint's command line cannot be reused ({why}); give the targets and flags again",
            path.display()
        ))
    };
    let matches = crate::site::command()
        .try_get_matches_from(&argv)
        .map_err(|e| refused(e.kind().to_string()))?;
    match Cli::from_arg_matches(&matches).map_err(|e| refused(e.kind().to_string()))? {
        Cli {
            command: Commands::Scan(args),
            ..
        } => Ok((args, argv)),
        _ => Err(refused("not a scan".into())),
    }
}

/// `saved` (a scan's command line) without its `--checkpoint FILE` (or
/// `--checkpoint=FILE`), with `--resume PATH` instead, before any `--`.
fn resume_command_line(saved: &[String], path: &Path) -> Vec<String> {
    let mut out = Vec::with_capacity(saved.len() + 2);
    let mut words = saved.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            out.push("--resume".to_string());
            out.push(path.display().to_string());
            out.push(word.clone());
            out.extend(words.cloned());
            return out;
        }
        if word == "--checkpoint" {
            words.next();
            continue;
        }
        if word.starts_with("--checkpoint=") {
            continue;
        }
        out.push(word.clone());
    }
    out.push("--resume".to_string());
    out.push(path.display().to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(String::from).collect()
    }

    #[test]
    fn resume_command_line_table() {
        let table = [
            (
                "relayscan scan 192.0.2.0/28 -p 25 --checkpoint run.ckpt -o out/x",
                "relayscan scan 192.0.2.0/28 -p 25 -o out/x --resume new.ckpt",
            ),
            (
                "relayscan scan --checkpoint=run.ckpt 192.0.2.1",
                "relayscan scan 192.0.2.1 --resume new.ckpt",
            ),
            (
                "relayscan scan --checkpoint run.ckpt -- 192.0.2.1",
                "relayscan scan --resume new.ckpt -- 192.0.2.1",
            ),
        ];
        for (saved, want) in table {
            assert_eq!(
                resume_command_line(&words(saved), Path::new("new.ckpt")),
                words(want),
                "{saved}"
            );
        }
    }
}
