//! `relayscan completions SHELL`: the shell's completion script, generated from the clap
//! definition, so that it never lists a flag the binary does not take.

use clap::CommandFactory;

use super::{AppError, print_out};
use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> Result<i32, AppError> {
    let mut script = Vec::new();
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    print_out(&String::from_utf8_lossy(&script));
    Ok(crate::exit::OK)
}
