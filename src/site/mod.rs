//! Site defaults: `RELAYSCAN_*` environment variables and a `relayscan.toml` file give
//! values to a few flags (recipient, HELO name, sender, scope, rates, timeouts, resolver).
//! Precedence: flag > environment > file > built-in default. The file's values become
//! flags on the command line clap reads, so that they are parsed and validated exactly as
//! typed flags are (clap, then `config`); an error about such a flag names the file, line
//! and key, or the variable, instead of the flag (see [`blame`]).

pub mod file;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

use self::file::{Entry, Value};
use crate::cli::Cli;

/// The file's name, in the working folder or in `$XDG_CONFIG_HOME/relayscan/`.
pub const FILE_NAME: &str = "relayscan.toml";

/// What a key takes in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A "string".
    Text,
    /// A whole number.
    Number,
    /// A "string" or an array of them (the flag repeated).
    List,
}

/// One site default: its key in the file (the flag's long name), the clap id of the flag,
/// and its environment variable (`RELAYSCAN_` + the key in capitals).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub id: &'static str,
    pub env: &'static str,
    pub kind: Kind,
}

macro_rules! keys {
    ($( $name:literal $id:ident $env:literal $kind:ident; )+) => {
        /// Every site default, in the order `relayscan config` lists them.
        pub const KEYS: &[Key] = &[$(Key { name: $name, id: stringify!($id), env: $env, kind: Kind::$kind }),+];
    };
}

keys! {
    "rcpt-to" rcpt_to "RELAYSCAN_RCPT_TO" Text;
    "mail-from" mail_from "RELAYSCAN_MAIL_FROM" Text;
    "helo" helo "RELAYSCAN_HELO" Text;
    "scope" scope "RELAYSCAN_SCOPE" List;
    "rate" rate "RELAYSCAN_RATE" Number;
    "concurrency" concurrency "RELAYSCAN_CONCURRENCY" Number;
    "subnet-rate" subnet_rate "RELAYSCAN_SUBNET_RATE" Number;
    "connect-timeout" connect_timeout "RELAYSCAN_CONNECT_TIMEOUT" Text;
    "read-timeout" read_timeout "RELAYSCAN_READ_TIMEOUT" Text;
    "host-timeout" host_timeout "RELAYSCAN_HOST_TIMEOUT" Text;
    "resolver" resolver "RELAYSCAN_RESOLVER" List;
    "dns-rate" dns_rate "RELAYSCAN_DNS_RATE" Number;
    "dns-concurrency" dns_concurrency "RELAYSCAN_DNS_CONCURRENCY" Number;
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(&'static str),
    File { path: PathBuf, line: usize },
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => write!(f, "flag"),
            Source::Env(_) => write!(f, "environment"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Default => write!(f, "default"),
        }
    }
}

/// The values of one run that did not come from a typed flag, by flag.
#[derive(Debug, Default)]
pub struct Provenance {
    /// The file found or given, if any.
    pub file: Option<PathBuf>,
    /// (`--flag`, where its value came from) for values from the environment or the file.
    pub sources: Vec<(String, Source)>,
}

static PROVENANCE: OnceLock<Provenance> = OnceLock::new();

/// `message` about `flag`, naming the file line or the variable that gave the value when
/// it was not a typed flag: `relayscan.toml:3: rate: --rate: must be at least 1`.
pub fn blame(flag: &str, message: String) -> String {
    let source = PROVENANCE
        .get()
        .and_then(|p| p.sources.iter().find(|(f, _)| f == flag))
        .map(|(_, source)| source);
    match source {
        Some(Source::File { path, line }) => {
            let key = flag.trim_start_matches('-');
            format!("{}:{line}: {key}: {message}", path.display())
        }
        Some(Source::Env(name)) => format!("{name}: {message}"),
        _ => message,
    }
}

/// The clap definition with each key's environment variable on every subcommand that has
/// the flag.
pub fn command() -> Command {
    let mut command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |mut sub| {
            for key in KEYS {
                if sub.get_arguments().any(|a| a.get_id() == key.id) {
                    sub = sub.mut_arg(key.id, |arg| arg.env(key.env));
                }
            }
            sub
        });
    }
    command
}

/// Why the command line with its site defaults cannot be used (exit 2).
#[derive(Debug)]
pub enum ParseError {
    /// clap's own error (also --help and --version), printed by clap.
    Clap(clap::Error),
    /// The file (unreadable, bad line, unknown key) or a file value clap refused.
    Site(String),
}

/// Parses `argv` with the environment and the site file: returns the command line and
/// where its defaults came from (also kept for [`blame`]).
pub fn parse(argv: &[String]) -> Result<Cli, ParseError> {
    let command = command();
    let first = command
        .clone()
        .try_get_matches_from(argv)
        .map_err(|e| from_environment(e, argv))?;
    let given = first.get_one::<PathBuf>("config_file").cloned();
    let path = match given {
        Some(path) => Some(path),
        None => find_file(
            Path::new("."),
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        ),
    };
    let entries = match &path {
        Some(path) => read(path)?,
        None => Vec::new(),
    };
    let file_path = path.clone().unwrap_or_default();
    let (argv, provenance) = match first.subcommand() {
        // `relayscan config` shows what a scan would take.
        Some(("config", _)) => (
            argv.to_vec(),
            Provenance {
                file: path,
                ..Provenance::default()
            },
        ),
        Some((name, sub)) => {
            let defined = command.find_subcommand(name).cloned().unwrap_or_default();
            with_defaults(argv, (&defined, sub), &entries, &file_path, path.clone())
        }
        None => (argv.to_vec(), Provenance::default()),
    };
    let matches = command
        .try_get_matches_from(&argv)
        .map_err(|e| refused(e, &provenance))?;
    let _ = PROVENANCE.set(provenance);
    Cli::from_arg_matches(&matches).map_err(ParseError::Clap)
}

/// clap's message without its `error: ` prefix, usage and tips.
fn first_line(e: &clap::Error) -> String {
    let message = e.to_string();
    let first = message.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// clap's refusal of a value, blamed on the RELAYSCAN_* variable that gave it when the
/// flag was not typed (clap names only the flag).
fn from_environment(e: clap::Error, argv: &[String]) -> ParseError {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return ParseError::Clap(e);
    };
    let typed = |flag: &str| {
        argv.iter()
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    };
    let blamed = KEYS.iter().find(|key| {
        let flag = format!("--{}", key.name);
        (arg == &flag || arg.starts_with(&format!("{flag} ")))
            && !typed(&flag)
            && std::env::var_os(key.env).is_some()
    });
    match blamed {
        Some(key) => ParseError::Site(format!("{}: {}", key.env, first_line(&e))),
        None => ParseError::Clap(e),
    }
}

/// clap's refusal of a command line that holds site defaults: clap's own when none came
/// from the environment or the file, else its first line and where the defaults came from.
fn refused(e: clap::Error, provenance: &Provenance) -> ParseError {
    if provenance.sources.is_empty() {
        return ParseError::Clap(e);
    }
    let from: Vec<String> = provenance
        .sources
        .iter()
        .map(|(flag, source)| format!("{flag} from {source}"))
        .collect();
    ParseError::Site(format!(
        "{} (site defaults: {})",
        first_line(&e),
        from.join(", ")
    ))
}

/// `argv` with the file's values as flags (before any `--`) for every key the subcommand
/// has and neither a flag nor the environment gave.
fn with_defaults(
    argv: &[String],
    (defined, sub): (&Command, &ArgMatches),
    entries: &[Entry],
    path: &Path,
    file: Option<PathBuf>,
) -> (Vec<String>, Provenance) {
    let mut extra: Vec<String> = Vec::new();
    let mut sources = Vec::new();
    for key in KEYS {
        // `targets` has --scope but no --rcpt-to: a key applies where the flag exists.
        if !defined.get_arguments().any(|a| a.get_id() == key.id) {
            continue;
        }
        let flag = format!("--{}", key.name);
        match sub.value_source(key.id) {
            Some(ValueSource::CommandLine) => continue,
            Some(ValueSource::EnvVariable) => {
                sources.push((flag, Source::Env(key.env)));
                continue;
            }
            _ => {}
        }
        if let Some(entry) = entries.iter().find(|e| e.key == key.name) {
            for value in values(&entry.value) {
                extra.push(format!("{flag}={value}"));
            }
            sources.push((
                flag,
                Source::File {
                    path: path.to_path_buf(),
                    line: entry.line,
                },
            ));
        }
    }
    let at = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
    let mut out = argv[..at].to_vec();
    out.extend(extra);
    out.extend_from_slice(&argv[at..]);
    (out, Provenance { file, sources })
}

/// The flag values of a file value.
fn values(value: &Value) -> Vec<String> {
    match value {
        Value::Text(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::List(items) => items.clone(),
    }
}

/// The first of `./relayscan.toml`, `$XDG_CONFIG_HOME/relayscan/relayscan.toml` (with
/// `$HOME/.config` when XDG_CONFIG_HOME is unset or empty) that exists.
pub fn find_file(cwd: &Path, xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let config_home = xdg
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| PathBuf::from(h).join(".config")));
    let mut candidates = vec![cwd.join(FILE_NAME)];
    if let Some(dir) = config_home {
        candidates.push(dir.join("relayscan").join(FILE_NAME));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The file's entries, every key known and of its kind.
fn read(path: &Path) -> Result<Vec<Entry>, ParseError> {
    let named = |line: usize, problem: &str| {
        let place = match line {
            0 => path.display().to_string(),
            n => format!("{}:{n}", path.display()),
        };
        ParseError::Site(format!("{place}: {problem}"))
    };
    let text = crate::input::read_text(path, file::MAX_BYTES as u64)
        .map_err(|e| ParseError::Site(e.to_string()))?;
    let entries = file::parse(&text).map_err(|e| named(e.line, &e.problem))?;
    for entry in &entries {
        let Some(key) = KEYS.iter().find(|k| k.name == entry.key) else {
            let known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
            return Err(named(
                entry.line,
                &format!("unknown key {:?} (known: {})", entry.key, known.join(", ")),
            ));
        };
        let fits = matches!(
            (key.kind, &entry.value),
            (Kind::Text, Value::Text(_))
                | (Kind::Number, Value::Number(_))
                | (Kind::List, Value::Text(_) | Value::List(_))
        );
        if !fits {
            let wanted = match key.kind {
                Kind::Text => "a \"string\"",
                Kind::Number => "a whole number",
                Kind::List => "a \"string\" or an array of them",
            };
            return Err(named(
                entry.line,
                &format!("{}: {} is not {wanted}", entry.key, entry.value),
            ));
        }
    }
    Ok(entries)
}

/// One key's effective value for a scan, for `relayscan config`.
#[derive(Debug)]
pub struct Effective {
    pub key: &'static Key,
    /// As the flag takes them; empty when unset.
    pub values: Vec<String>,
    /// `None` when nothing sets it (the scan decides: e.g. --helo, this machine's name).
    pub source: Option<Source>,
}

/// The site file this run uses (found or given), once [`parse`] has run.
pub fn file_in_use() -> Option<PathBuf> {
    PROVENANCE.get().and_then(|p| p.file.clone())
}

/// What `relayscan scan` with no flags would take for every key, and from where.
pub fn effective() -> Result<Vec<Effective>, ParseError> {
    let path = file_in_use();
    let entries = match &path {
        Some(path) => read(path)?,
        None => Vec::new(),
    };
    let file_path = path.clone().unwrap_or_default();
    let command = command();
    let base = ["relayscan".to_string(), "scan".to_string()];
    let first = command
        .clone()
        .try_get_matches_from(base.clone())
        .map_err(ParseError::Clap)?;
    let defined = command.find_subcommand("scan").cloned().unwrap_or_default();
    let sub = first
        .subcommand_matches("scan")
        .cloned()
        .unwrap_or_default();
    let (argv, provenance) = with_defaults(&base, (&defined, &sub), &entries, &file_path, path);
    let matches = command
        .try_get_matches_from(argv)
        .map_err(|e| refused(e, &provenance))?;
    let scan = matches
        .subcommand_matches("scan")
        .cloned()
        .unwrap_or_default();
    Ok(KEYS
        .iter()
        .map(|key| {
            let values: Vec<String> = scan
                .get_raw(key.id)
                .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let flag = format!("--{}", key.name);
            let source = provenance
                .sources
                .iter()
                .find(|(f, _)| *f == flag)
                .map(|(_, s)| s.clone())
                .or_else(|| (!values.is_empty()).then_some(Source::Default));
            Effective {
                key,
                values,
                source,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key is a flag of `scan`, spelled as its long name, with its variable.
    #[test]
    fn every_key_is_a_scan_flag_with_its_variable() {
        let command = command();
        let scan = command.find_subcommand("scan").expect("scan");
        for key in KEYS {
            let arg = scan
                .get_arguments()
                .find(|a| a.get_id() == key.id)
                .unwrap_or_else(|| panic!("{}: no such scan flag", key.name));
            assert_eq!(arg.get_long(), Some(key.name), "{}", key.name);
            let env = format!("RELAYSCAN_{}", key.name.to_uppercase().replace('-', "_"));
            assert_eq!(key.env, env);
            assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new(key.env)));
        }
    }

    #[test]
    fn find_file_prefers_the_working_folder_then_xdg_then_home() {
        let dir = tempfile::tempdir().unwrap();
        let (cwd, xdg, home) = (
            dir.path().join("cwd"),
            dir.path().join("xdg"),
            dir.path().join("home"),
        );
        for folder in [
            &cwd,
            &xdg.join("relayscan"),
            &home.join(".config/relayscan"),
        ] {
            std::fs::create_dir_all(folder).unwrap();
        }
        let find = || find_file(&cwd, Some(xdg.clone().into()), Some(home.clone().into()));
        assert_eq!(find(), None);
        let in_home = home.join(".config/relayscan").join(FILE_NAME);
        std::fs::write(&in_home, "").unwrap();
        assert_eq!(
            find_file(&cwd, None, Some(home.clone().into())),
            Some(in_home.clone())
        );
        assert_eq!(
            find_file(&cwd, Some("".into()), Some(home.clone().into())),
            Some(in_home)
        );
        std::fs::write(xdg.join("relayscan").join(FILE_NAME), "").unwrap();
        assert_eq!(find(), Some(xdg.join("relayscan").join(FILE_NAME)));
        std::fs::write(cwd.join(FILE_NAME), "").unwrap();
        assert_eq!(find(), Some(cwd.join(FILE_NAME)));
    }
}
