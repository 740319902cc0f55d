//! The manual against the code: relative links and anchors in README.md and docs/*.md, and an index that lists every page.

mod markdown;

use std::path::{Path, PathBuf};

use markdown::{anchors, link_targets, prose_lines};

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
