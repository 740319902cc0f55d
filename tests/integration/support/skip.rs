//! Skipping a test whose tool is missing: one place says SKIPPED and why on stderr, and
//! fails the test instead under `CI=true`, where .ci/run installs every tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Something a test needs from the machine beyond the binary under test.
pub enum Need<'a> {
    /// Root, and why (daemons that start as root and drop privileges, mounts).
    Root(&'a str),
    /// An executable: the first of `names` that is one (absolute paths as they are, bare
    /// names on PATH); `install` says how to get it.
    Tool {
        names: &'a [&'a str],
        install: &'a str,
    },
    /// A module that Debian's /usr/bin/python3 imports (python3-* packages install for
    /// it, not for other Pythons on PATH).
    PythonModule { module: &'a str, install: &'a str },
    /// A file or device that must exist.
    File(&'a str),
}

/// Debian's interpreter.
pub const PYTHON: &str = "/usr/bin/python3";

/// True when the test must stop here: says SKIPPED, the test and `why` on stderr. Under
/// `CI=true` it panics instead: CI installs everything, so a missing tool is a failure.
pub fn because(why: &str) -> bool {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "{test}: {why}; CI=true requires it (.ci/run installs it)"
    );
    eprintln!("SKIPPED: {test}: {why}; under CI=true this fails");
    true
}

/// True (after [`because`]) when any of `needs` is missing; false when all are there.
pub fn unless(needs: &[Need]) -> bool {
    match needs.iter().find_map(missing) {
        Some(why) => because(&why),
        None => false,
    }
}

/// The installed tool of `names`; `None` after [`because`] when there is none.
pub fn tool(names: &[&str], install: &str) -> Option<PathBuf> {
    let found = find_tool(names);
    if found.is_none() {
        because(&format!(
            "{} is not installed ({install})",
            names.join(" or ")
        ));
    }
    found
}

/// What is missing of `need`, in words; `None` when it is there.
fn missing(need: &Need) -> Option<String> {
    match need {
        Need::Root(why) => {
            // SAFETY: geteuid has no preconditions and cannot fail.
            (unsafe { libc::geteuid() } != 0).then(|| format!("needs root: {why}"))
        }
        Need::Tool { names, install } => find_tool(names)
            .is_none()
            .then(|| format!("{} is not installed ({install})", names.join(" or "))),
        Need::PythonModule { module, install } => {
            let imports = Command::new(PYTHON)
                .args(["-c", &format!("import {module}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            (!imports).then(|| format!("{PYTHON} cannot import {module} ({install})"))
        }
        Need::File(path) => (!Path::new(path).exists()).then(|| format!("there is no {path}")),
    }
}

fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        if name.starts_with('/') {
            return Some(PathBuf::from(name)).filter(|p| p.is_file());
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_that_are_met_do_not_skip() {
        // sh and /dev/null are on every machine that runs these tests.
        let met = [
            Need::Tool {
                names: &["no-such-tool-here", "sh"],
                install: "-",
            },
            Need::File("/dev/null"),
        ];
        assert!(met.iter().all(|n| missing(n).is_none()));
        assert!(!unless(&met));
        assert_eq!(find_tool(&["/bin/sh"]), Some(PathBuf::from("/bin/sh")));
    }

    #[test]
    fn a_missing_need_is_named_with_its_remedy() {
        let tool = Need::Tool {
            names: &["no-such-tool-here", "/no/such/path"],
            install: "apt-get install nothing",
        };
        assert_eq!(
            missing(&tool).as_deref(),
            Some("no-such-tool-here or /no/such/path is not installed (apt-get install nothing)")
        );
        assert_eq!(
            missing(&Need::File("/no/such/file")).as_deref(),
            Some("there is no /no/such/file")
        );
    }
}
