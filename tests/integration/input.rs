//! Bad input: exit 2 naming file:line and the text, and no traffic sent.

use std::time::Duration;

use crate::support::{LabProcess, nets, run, stderr};

#[test]
fn bad_target_line_exits_2_naming_file_and_line_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::BAD_TARGET_LINE.lab_network(),
        dir.path(),
        &["--persona", "open-relay"],
    );
    let list = dir.path().join("targets.txt");
    std::fs::write(&list, format!("# lab\n{}\n\n127.0.0.300\n", lab.addr(0))).unwrap();
    let out = run(
        &[
            "scan",
            "-iL",
            list.to_str().unwrap(),
            "-p",
            &lab.port_arg(),
            "-o",
            dir.path().join("x").to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("targets.txt:4"), "names file:line: {err}");
    assert!(err.contains("127.0.0.300"), "quotes the text: {err}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        lab.received().is_empty(),
        "no traffic before the plan is valid"
    );
    assert!(
        !dir.path().join("x.jsonl").exists(),
        "no reports for a refused plan"
    );
}

#[test]
fn bad_flags_and_arguments_exit_2() {
    // Refused before any traffic; were a refusal to break, nothing listens there.
    let target = nets::NEVER_REACHED.host(1).to_string();
    let backwards = format!("{target}-0");
    let cases: [(&[&str], &str); 6] = [
        (&["scan"], "no targets"),
        (&["scan", &target, "-p", "0"], "--ports"),
        (
            &["scan", &target, "--connect-timeout", "soon"],
            "--connect-timeout",
        ),
        (&["scan", &target, "--rcpt-to", "nobody"], "--rcpt-to"),
        (&["scan", &target, "--format", "pdf"], "--format"),
        (&["scan", &backwards], &backwards),
    ];
    for (args, needle) in cases {
        let out = run(args, Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{args:?} should mention {needle}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn missing_target_file_is_named() {
    let out = run(
        &["scan", "-iL", "/nonexistent/targets.txt"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/targets.txt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn targets_are_read_from_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::STDIN_TARGETS.lab_network(),
        dir.path(),
        &["--persona", "closed"],
    );
    let prefix = dir.path().join("stdin");
    let mut child = crate::support::relayscan()
        .args([
            "scan",
            "-iL",
            "-",
            "-p",
            &lab.port_arg(),
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        child.stdin.take().unwrap(),
        "{}  # the closed persona",
        lab.addr(0)
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = crate::support::read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].verdict,
        Some(relayscan::assess::Verdict::RelayDenied)
    );
}

#[test]
fn example_target_lists_parse_without_scanning() {
    // Parsed only: these are documentation ranges and must never be probed.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("targets");
    for (file, expected) in [
        ("example-targets.txt", 8),
        ("example-excludes.txt", 3),
        ("lab.txt", 1),
    ] {
        let parsed = relayscan::target::read_file(&root.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(parsed.len(), expected, "{file}");
    }
}
