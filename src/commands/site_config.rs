//! `relayscan config`: the site defaults a scan takes (relayscan.toml, RELAYSCAN_*
//! variables, built-in defaults), one key a line with where its value comes from.

use std::fmt::Write as _;

use super::{AppError, print_out};
use crate::site::{self, Effective, KEYS};

pub fn run() -> Result<i32, AppError> {
    let effective = site::effective().map_err(|e| match e {
        site::ParseError::Clap(e) => AppError::Usage(e.to_string()),
        site::ParseError::Site(message) => AppError::Usage(message),
    })?;
    print_out(&render(site::file_in_use().as_deref(), &effective));
    Ok(crate::exit::OK)
}

/// `# file: PATH` (or none), then `key = value  # source` for every key, as relayscan.toml
/// would spell it, so that the output can be saved as a starting file.
fn render(file: Option<&std::path::Path>, effective: &[Effective]) -> String {
    let mut out = String::new();
    match file {
        Some(path) => {
            let _ = writeln!(out, "# site defaults file: {}", path.display());
        }
        None => {
            let _ = writeln!(
                out,
                "# site defaults file: none (./{0}, $XDG_CONFIG_HOME/relayscan/{0})",
                site::FILE_NAME
            );
        }
    }
    let _ = writeln!(out, "# precedence: flag > environment > file > default");
    let width = KEYS.iter().map(|k| k.name.len()).max().unwrap_or(0);
    for e in effective {
        let value = match (e.key.kind, &e.values[..]) {
            (_, []) => String::new(),
            (site::Kind::Number, [one]) => one.clone(),
            (site::Kind::List, values) => format!("{values:?}"),
            (_, [one, ..]) => format!("{one:?}"),
        };
        let source = match &e.source {
            Some(source) => source.to_string(),
            None => "unset: the scan decides".into(),
        };
        let line = if value.is_empty() {
            format!("# {:<width$} =  # {source} ({})", e.key.name, e.key.env)
        } else {
            format!(
                "{:<width$} = {value}  # {source} ({})",
                e.key.name, e.key.env
            )
        };
        let _ = writeln!(out, "{line}");
    }
    out
}
