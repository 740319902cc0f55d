//! A checkpoint and reports written by relayscan before its recorded settings had a type
//! (tests/fixtures/settings, see its README) resume with this binary; other settings are
//! refused, each difference named with both values. The checkpoint is complete, so a
//! resume replays the records and probes nothing.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use super::support::{read_json, read_jsonl, run, stderr};

/// The fixture's flags but --helo and --resume, as its resumed run gave them (seed and
/// prefix left to the checkpoint).
const FLAGS: &[&str] = &[
    "scan",
    "127.0.9.1-6",
    "-p",
    "1",
    "--shard",
    "1/2",
    "--scope",
    "127.0.9.0/24",
    "--subnet-rate",
    "50",
    "--resolver",
    "127.0.0.1:1",
    "--all",
    "-q",
    "--format",
    "csv,jsonl,json",
];

/// The fixture's hello name.
const HELO: &str = "fixture.relayscan.test";

/// A scratch folder holding a copy of the fixture. The checkpoint names its reports by a
/// prefix relative to where it ran (`settings/scan`): the copy names them here instead.
fn copy_of_the_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/settings");
    for file in ["scan.jsonl", "scan.json"] {
        std::fs::copy(from.join(file), dir.path().join(file)).unwrap();
    }
    let mut checkpoint = read_json(&from.join("scan.checkpoint"));
    checkpoint["output"] = dir.path().join("scan").display().to_string().into();
    std::fs::write(
        dir.path().join("scan.checkpoint"),
        serde_json::to_vec_pretty(&checkpoint).unwrap(),
    )
    .unwrap();
    dir
}

/// Resumes the copy in `dir` with the fixture's flags and `extra` (a resume of a complete
/// checkpoint takes well under a second).
fn resume_in(dir: &Path, extra: &[&str]) -> Output {
    let checkpoint = report(dir, "checkpoint").display().to_string();
    let mut args = FLAGS.to_vec();
    args.extend(extra);
    args.extend(["--resume", &checkpoint]);
    run(&args, Duration::from_secs(60))
}

fn report(dir: &Path, ext: &str) -> PathBuf {
    dir.join(format!("scan.{ext}"))
}

#[test]
fn a_checkpoint_written_before_typed_settings_resumes() {
    let dir = copy_of_the_fixture();
    // Pacing may change between a run and its resumption.
    let out = resume_in(
        dir.path(),
        &[
            "--helo",
            HELO,
            "--rate",
            "5",
            "-c",
            "3",
            "--read-timeout",
            "20s",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = read_json(&report(dir.path(), "json"));
    let settings = &doc["run"]["settings"];
    assert_eq!(settings["helo"], HELO);
    assert_eq!(settings["seed"], 7);
    assert_eq!(
        settings["resumed"].as_array().map(Vec::len),
        Some(2),
        "the fixture's resumption and this one"
    );
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let fixture =
        read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/settings/scan.json"));
    assert_eq!(
        keys(settings),
        keys(&fixture["run"]["settings"]),
        "the same keys as before"
    );
    assert_eq!(read_jsonl(&report(dir.path(), "jsonl")).len(), 3);
    let checkpoint = read_json(&report(dir.path(), "checkpoint"));
    assert_eq!(checkpoint["complete"], true);
    assert_eq!(
        checkpoint["settings"]["rate_per_second"], 100,
        "the first run's settings stay"
    );
}

#[test]
fn other_settings_are_refused_naming_each_with_both_values() {
    let dir = copy_of_the_fixture();
    let before = std::fs::read(report(dir.path(), "checkpoint")).unwrap();
    let out = resume_in(
        dir.path(),
        &["--helo", "other.example", "--starttls", "never"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "settings differ from the checkpoint (helo was \"fixture.relayscan.test\", now \"other.example\"; starttls was \"auto\", now \"never\"); nothing was sent"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(report(dir.path(), "checkpoint")).unwrap(),
        before,
        "the checkpoint is left as it was"
    );
}

/// The copy of the JSONL that a resume of an older relayscan left beside the reports when
/// it stopped while replaying.
fn stale_copy(dir: &Path) -> PathBuf {
    report(dir, "jsonl.before-resume")
}

#[test]
fn a_copy_left_by_a_failed_resume_beside_a_restored_jsonl_is_refused_naming_both() {
    let dir = copy_of_the_fixture();
    let jsonl = report(dir.path(), "jsonl");
    let restored = std::fs::read_to_string(&jsonl).unwrap();
    // Records of the same length as the restored file's, in another order: a copy that
    // replays without error, and not the file the user restored.
    let mut lines: Vec<&str> = restored.lines().collect();
    lines.reverse();
    let stale = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    std::fs::write(stale_copy(dir.path()), &stale).unwrap();

    let out = resume_in(dir.path(), &["--helo", HELO]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for named in [&jsonl, &stale_copy(dir.path())] {
        assert!(err.contains(&named.display().to_string()), "{err}");
    }
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(std::fs::read_to_string(&jsonl).unwrap(), restored);
    assert_eq!(
        std::fs::read_to_string(stale_copy(dir.path())).unwrap(),
        stale
    );
}

#[test]
fn a_copy_left_by_a_failed_resume_alone_is_resumed_from_with_a_word() {
    let dir = copy_of_the_fixture();
    let jsonl = report(dir.path(), "jsonl");
    std::fs::rename(&jsonl, stale_copy(dir.path())).unwrap();

    let out = resume_in(dir.path(), &["--helo", HELO]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&stale_copy(dir.path()).display().to_string()),
        "{err}"
    );
    assert_eq!(read_jsonl(&jsonl).len(), 3);
    assert!(
        !stale_copy(dir.path()).exists(),
        "the copy is dropped once replayed"
    );
}
