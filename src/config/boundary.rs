//! The rule that keeps flags out of the libraries, checked on the source tree: only the
//! front end (`cli.rs`, `config/`, `commands/`, `main.rs`, and `site/`, which merges
//! the site defaults into the command line) may name `crate::cli`.

use std::path::{Path, PathBuf};

/// Paths under `src/` allowed to use the command-line types.
const FRONT_END: &[&str] = &["cli.rs", "main.rs", "config/", "commands/", "site/"];

/// Ways a module can reach the clap types.
const CLI_PATHS: &[&str] = &["crate::cli", "super::cli", "relayscan::cli"];

/// Every `.rs` file below `dir` (shared with the other source-tree rules).
pub(crate) fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// (path below src/, whether it names the command-line types)
fn files_naming_cli() -> Vec<(String, bool)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let relative = path.strip_prefix(&src).unwrap();
            let relative = relative.to_string_lossy().replace('\\', "/");
            (relative, CLI_PATHS.iter().any(|p| text.contains(p)))
        })
        .collect()
}

#[test]
fn no_library_module_takes_a_command_line_type() {
    let files = files_naming_cli();
    let offenders: Vec<&str> = files
        .iter()
        .filter(|(path, names)| *names && !FRONT_END.iter().any(|f| path.starts_with(f)))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(
        offenders.is_empty(),
        "library modules that name crate::cli (turn the flags into settings in src/config/ instead): {offenders:?}"
    );
    // The search sees the front end's own uses, so an empty list above means something.
    assert!(
        files
            .iter()
            .any(|(path, names)| path == "config/mod.rs" && *names),
        "{files:?}"
    );
}
