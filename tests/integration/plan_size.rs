//! The size rule of engagement from the command line: a scan of more than 65,536
//! addresses without `--scope` is refused before any traffic, `--allow-large` (or its
//! alias `--force-large-ipv6`) or a covering scope lets it through, and the dry run only
//! notes it. Every command line here runs inside a network namespace of the test's own
//! with no route out (`unshare -n`), so that nothing could leave even if the refusal broke.

use std::path::Path;
use std::time::Duration;

use crate::support::{no_namespace, run_without_a_route_out, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(60);

/// The files in `dir`, by name.
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn large_scans_without_a_scope_are_refused_before_any_traffic() {
    if no_namespace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("refused").display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["0.0.0.0/0", "-p", "2525"],
            "the targets hold 3,741,319,168 addresses",
        ),
        (
            &["10.0.0.0/8", "-p", "25"],
            "the targets hold 16,777,216 addresses",
        ),
        (
            &["[2001:db8::/64]:25"],
            "the targets hold 18,446,744,073,709,551,616 addresses",
        ),
        // Ports do not count, excludes do: a /15 less a /24 is still too large.
        (
            &["10.0.0.0/15", "-p", "25,587", "--exclude", "10.0.0.0/24"],
            "the targets hold 130,816 addresses",
        ),
    ];
    for (targets, want) in cases {
        let mut args = vec!["scan"];
        args.extend(*targets);
        args.extend(["--no-progress", "-o", &prefix]);
        let out = run_without_a_route_out(&args, LIMIT);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{targets:?}: {err}");
        assert!(err.contains(want), "{targets:?}: {err}");
        for needed in ["--scope", "--allow-large", "nothing was sent"] {
            assert!(err.contains(needed), "{targets:?} names {needed}: {err}");
        }
        assert!(!err.contains("probed"), "{targets:?}: {err}");
        assert!(files_in(dir.path()).is_empty(), "no report of {targets:?}");
    }
}

#[test]
fn allow_large_or_a_covering_scope_passes_the_size_check() {
    if no_namespace() {
        return;
    }
    // The scan passes the size rule and then stops at its reports, before any probe:
    // their folder cannot be made (a file is in the way), an output failure (exit 3).
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "a file where the report folder would go").unwrap();
    let prefix = blocker.join("scan").display().to_string();
    // Large only by count: inside the namespace loopback is all there is.
    let loopback = "127.0.0.0/8";
    for extra in [
        &["--allow-large"][..],
        &["--force-large-ipv6"],
        &["--scope", loopback],
    ] {
        let mut args = vec!["scan", loopback, "-p", "25", "--no-progress", "-o", &prefix];
        args.extend(extra);
        let out = run_without_a_route_out(&args, LIMIT);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {err}");
        assert!(
            !err.contains("addresses (after excludes"),
            "{extra:?}: {err}"
        );
        assert!(err.contains("blocker"), "{extra:?}: {err}");
    }
    // Without either, the same command is refused by the size rule.
    let out = run_without_a_route_out(
        &["scan", loopback, "-p", "25", "--no-progress", "-o", &prefix],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("16,777,216 addresses"));
}

#[test]
fn the_dry_run_is_never_refused_and_notes_the_refusal() {
    if no_namespace() {
        return;
    }
    let out = run_without_a_route_out(&["targets", "0.0.0.0/0", "-p", "2525", "--count"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "3741319168");
    assert!(
        stderr(&out).contains(
            "note: a scan of this plan would be refused: the targets hold 3,741,319,168 addresses"
        ),
        "{}",
        stderr(&out)
    );
    // Within the limit, or scoped, no note.
    for args in [
        &["targets", "10.0.0.0/16", "--count"][..],
        &["targets", "10.0.0.0/15", "--scope", "10.0.0.0/8", "--count"],
    ] {
        let out = run_without_a_route_out(args, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("would be refused"), "{args:?}");
    }
}
