//! The manual against the code: relative links and anchors in README.md and docs/*.md, the findings tables against the findings catalogue, README's usage block against `relayscan --help`, the flag tables against `relayscan scan --help`, and every `scan` flag (aliases too) named in the options section.

// clippy.toml keeps relayscan's own file writes in one place; tests make fixtures freely.
#![allow(clippy::disallowed_methods)]

mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use markdown::{
    anchors, code_spans, fenced_block_after, link_targets, prose_lines, section, tables,
};

/// The code's finding catalogues, reached through their public paths in this one place:
/// when the findings move (to `src/assess/`), these two lines change and nothing else.
mod catalogue {
    pub use relayscan::assess::FindingId;
    pub use relayscan::assess::domain::DomainFindingId;
}

/// The page whose `## Findings` section holds the findings tables.
const FINDINGS_PAGE: &str = "docs/reports.md";
/// The page whose section holds the full table of `scan` options.
const OPTIONS_PAGE: &str = "docs/usage.md";
const OPTIONS_SECTION: &str = "## Options of `scan` (defaults)";
/// The first line of README's usage block; the rest is `relayscan --help` verbatim.
const HELP_PROMPT: &str = "$ relayscan --help";

/// The folder holding README.md and docs/: the package root today, an ancestor of it
/// once the scanner is a crate of a workspace.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("README.md").is_file() && dir.join("docs").is_dir())
        .expect("README.md and docs/ in the package folder or above it")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every docs/*.md, sorted.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    let mut all = vec![root.join("README.md")];
    all.extend(docs);
    all
}

/// stdout of the real binary; COLUMNS fixes clap's wrapping width (stdout is a pipe).
fn relayscan(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_relayscan"))
        .args(args)
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .output()
        .expect("run relayscan");
    assert!(
        out.status.success(),
        "relayscan {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// One problem per line, for a failure message that lists them all.
fn report(problems: &[String]) -> String {
    problems.join("\n")
}

#[test]
fn relative_links_and_anchors_resolve() {
    let root = repo_root();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages(&root) {
        let text = read(&page);
        let dir = page.parent().expect("a page has a folder");
        let shown = page
            .strip_prefix(&root)
            .unwrap_or(&page)
            .display()
            .to_string();
        for (line, prose) in prose_lines(&text) {
            for target in link_targets(&prose) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
                let file = if path.is_empty() {
                    page.clone()
                } else {
                    dir.join(path)
                };
                if !file.exists() {
                    problems.push(format!("{shown}:{line}: {target}: no such file"));
                    continue;
                }
                if anchor.is_empty() {
                    continue;
                }
                let offered = if file.extension().is_some_and(|e| e == "md") {
                    anchors(&read(&file))
                } else {
                    Default::default()
                };
                if !offered.contains(anchor) {
                    problems.push(format!("{shown}:{line}: {target}: no heading #{anchor}"));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} relative links found");
    assert!(problems.is_empty(), "broken links:\n{}", report(&problems));
}

#[test]
fn every_docs_page_is_in_the_index() {
    let root = repo_root();
    let index = root.join("docs/README.md");
    let linked: Vec<PathBuf> = prose_lines(&read(&index))
        .iter()
        .flat_map(|(_, l)| link_targets(l))
        .map(|t| root.join("docs").join(t.split('#').next().unwrap_or("")))
        .collect();
    let missing: Vec<String> = pages(&root)
        .into_iter()
        .skip(1) // README.md itself
        .filter(|p| *p != index && !linked.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "not linked from docs/README.md:\n{}",
        report(&missing)
    );
    let readme = read(&root.join("README.md"));
    assert!(
        readme.contains("(docs/README.md)"),
        "README.md links the manual's index"
    );
}

/// id -> severity, from the tables under `## Findings` whose first header cell is `first`.
fn findings_table(
    tables: &[markdown::Table],
    first: &str,
    problems: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for table in tables
        .iter()
        .filter(|t| t.header.first().is_some_and(|h| h == first))
    {
        for row in &table.rows {
            let spans = code_spans(&row[0]);
            if spans.is_empty() {
                problems.push(format!("a row without an id: {row:?}"));
            }
            let severity = row.get(1).cloned().unwrap_or_default();
            for id in spans {
                if let Some(before) = ids.insert(id.clone(), severity.clone()) {
                    problems.push(format!("`{id}` listed twice ({before}, {severity})"));
                }
            }
        }
    }
    ids
}

fn compare(
    what: &str,
    code: &BTreeMap<String, String>,
    docs: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    for (id, severity) in code {
        match docs.get(id) {
            None => problems.push(format!("{what} `{id}` ({severity}) is not in the table")),
            Some(s) if s != severity => problems.push(format!(
                "{what} `{id}`: the table says {s}, the code {severity}"
            )),
            Some(_) => {}
        }
    }
    for id in docs.keys().filter(|id| !code.contains_key(*id)) {
        problems.push(format!("{what} `{id}` is in the table but not in the code"));
    }
}

/// id -> severity from a catalogue's `ALL`; the id as reports write it (serde), which
/// `as_str()` must agree with.
fn id_severities<T: serde::Serialize + Copy>(
    all: &[T],
    names: impl Fn(T) -> (&'static str, &'static str),
) -> BTreeMap<String, String> {
    all.iter()
        .map(|&id| {
            let (name, severity) = names(id);
            let serde = serde_json::to_value(id).expect("serialise an id");
            assert_eq!(serde, name, "serde name and as_str() differ");
            (name.to_string(), severity.to_string())
        })
        .collect()
}

#[test]
fn findings_tables_match_the_catalogue() {
    use catalogue::{DomainFindingId, FindingId};
    let text = read(&repo_root().join(FINDINGS_PAGE));
    let lines = section(&text, "## Findings").expect("a ## Findings section");
    let found = tables(&lines);
    let mut problems = Vec::new();
    for t in &found {
        let first = t.header.first().map(String::as_str);
        if !matches!(first, Some("id" | "domain finding")) {
            problems.push(format!("a table with an unknown header: {:?}", t.header));
        }
    }
    let endpoint_docs = findings_table(&found, "id", &mut problems);
    let domain_docs = findings_table(&found, "domain finding", &mut problems);

    let endpoint_code = id_severities(&FindingId::ALL, |id| (id.as_str(), id.severity().as_str()));
    let domain_code = id_severities(&DomainFindingId::ALL, |id| {
        (id.as_str(), id.severity().as_str())
    });
    compare("finding", &endpoint_code, &endpoint_docs, &mut problems);
    compare("domain finding", &domain_code, &domain_docs, &mut problems);
    assert!(
        problems.is_empty(),
        "{FINDINGS_PAGE}, ## Findings, against the code:\n{}",
        report(&problems)
    );
}

#[test]
fn readme_usage_block_is_relayscan_help() {
    let readme = read(&repo_root().join("README.md"));
    let block = fenced_block_after(&readme, HELP_PROMPT)
        .unwrap_or_else(|| panic!("README.md: no code block starting with {HELP_PROMPT:?}"));
    let help = relayscan(&["--help"]);
    let trimmed = |lines: Vec<&str>| -> Vec<String> {
        let mut v: Vec<String> = lines.iter().map(|l| l.trim_end().to_string()).collect();
        while v.last().is_some_and(String::is_empty) {
            v.pop();
        }
        v
    };
    let want = trimmed(help.lines().collect());
    let got = trimmed(block.iter().map(String::as_str).collect());
    assert!(
        got == want,
        "README.md's usage block differs from `relayscan --help`; paste this after {HELP_PROMPT:?}:\n{}",
        want.join("\n")
    );
}

/// The flags named in a table's first column: every word of its code spans that starts with `-`.
fn flags_in(table: &markdown::Table) -> Vec<String> {
    table
        .rows
        .iter()
        .flat_map(|row| code_spans(&row[0]))
        .flat_map(|span| {
            span.split([' ', ','])
                .filter(|w| w.starts_with('-'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `flag` appears in `help` as a whole word: not followed by a letter, digit or `-`.
fn names_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        !help[at + flag.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The long flags `help` offers, with their visible aliases (`[alias: --old-name]`).
fn long_flags(help: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in help.lines() {
        let option = line.trim_start();
        let option = option
            .get(..4)
            .filter(|p| p.starts_with('-') && p.ends_with(", "))
            .map_or(option, |_| &option[4..]);
        if option.starts_with("--") {
            flags.push(
                option
                    .split([' ', '='])
                    .next()
                    .unwrap_or_default()
                    // A counted flag is shown repeatable: `-v, --verbose...`.
                    .trim_end_matches("...")
                    .to_string(),
            );
        }
        for (at, _) in line.match_indices("[alias") {
            let list = line[at..].split(']').next().unwrap_or_default();
            flags.extend(
                list.split([' ', ','])
                    .filter(|w| w.starts_with("--"))
                    .map(str::to_string),
            );
        }
    }
    flags
}

#[test]
fn every_scan_flag_is_in_the_options_section() {
    let help = relayscan(&["scan", "--help"]);
    let flags = long_flags(&help);
    assert!(
        flags.len() > 30,
        "only {} flags in `scan --help`",
        flags.len()
    );
    assert!(
        flags.iter().any(|f| f == "--force-large-ipv6"),
        "aliases read"
    );
    let options = read(&repo_root().join(OPTIONS_PAGE));
    let section = section(&options, OPTIONS_SECTION)
        .unwrap_or_else(|| panic!("{OPTIONS_PAGE}: no {OPTIONS_SECTION:?} section"))
        .join("\n");
    let missing: Vec<String> = flags
        .iter()
        .filter(|f| *f != "--help" && !names_flag(&section, f))
        .map(|f| format!("{OPTIONS_PAGE}: {OPTIONS_SECTION:?} does not name {f}"))
        .collect();
    assert!(missing.is_empty(), "{}", report(&missing));
}

#[test]
fn flag_tables_name_real_scan_flags() {
    let root = repo_root();
    let help = relayscan(&["scan", "--help"]);
    let readme = read(&root.join("README.md"));
    let readme_lines: Vec<&str> = readme.lines().collect();
    let options = read(&root.join(OPTIONS_PAGE));
    let options_lines = section(&options, OPTIONS_SECTION)
        .unwrap_or_else(|| panic!("{OPTIONS_PAGE}: no {OPTIONS_SECTION:?} section"));
    let sources = [
        ("README.md", tables(&readme_lines), "flag"),
        (OPTIONS_PAGE, tables(&options_lines), "option"),
    ];
    let mut problems = Vec::new();
    for (page, found, header) in sources {
        let flags: Vec<String> = found
            .iter()
            .filter(|t| t.header.first().is_some_and(|h| h == header))
            .flat_map(flags_in)
            .collect();
        if flags.len() < 10 {
            problems.push(format!(
                "{page}: only {} flags in its `{header}` table",
                flags.len()
            ));
        }
        for flag in flags.iter().filter(|f| !names_flag(&help, f)) {
            problems.push(format!("{page}: {flag} is not in `relayscan scan --help`"));
        }
    }
    assert!(problems.is_empty(), "{}", report(&problems));
}
