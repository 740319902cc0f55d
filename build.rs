//! Build script: puts the git revision into `--version` when relayscan is built from a
//! checkout (a `.git` beside Cargo.toml); from a source tarball, or without git, the
//! version is the package version alone.

use std::path::Path;
use std::process::Command;

/// `git ARGS` in the package folder, its trimmed stdout when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    let suffix = if Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists() {
        // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it names (a
        // commit); --git-path finds both in a worktree too.
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        for name in ["HEAD"].into_iter().chain(branch.as_deref()) {
            if let Some(path) = git(&["rev-parse", "--git-path", name]) {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        git(&["rev-parse", "--short", "HEAD"])
            .map(|rev| format!(" (git {rev})"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=RELAYSCAN_VERSION_SUFFIX={suffix}");
}
