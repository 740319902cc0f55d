//! Help and error texts that name what the user gave: an empty -iL file by its name, a
//! file that is not a checkpoint in words (not serde's), and help that says what
//! `targets` does (it sends nothing and writes no report) and how --sequential orders.

use std::time::Duration;

use crate::support::{assert_refused, run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn an_empty_target_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing yet\n\n").unwrap();
    let empty = empty.to_str().unwrap();
    for command in ["scan", "targets"] {
        let out = run(&[command, "-iL", empty, "-p", "1"], LIMIT);
        assert_refused(
            &out,
            command,
            &format!("no targets: {empty} holds none (only blank lines or # comments)"),
        );
    }
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_said_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("number.json", "127.0", "it holds a number"),
        (
            "report.json",
            "{\"meta\": {}, \"summary\": {}}",
            "it holds a JSON object of a report",
        ),
        ("text.txt", "hello", "not JSON"),
    ];
    for (name, text, words) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = run(&["scan", "--resume", path.to_str().unwrap()], LIMIT);
        assert_refused(
            &out,
            name,
            &format!("{}: not a relayscan checkpoint", path.display()),
        );
        assert!(stderr(&out).contains(words), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--resume takes the file that --checkpoint FILE wrote"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("floating point"), "{}", stderr(&out));
    }
}

#[test]
fn help_says_what_targets_does_and_how_sequential_orders() {
    let out = run(&["targets", "--help"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let help = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for words in [
        "[default: random; a scan records it in its report]",
        "a target outside it is refused (a scan stops before any traffic)",
        "Visit targets sorted (by port, then by address, ascending; not the order given)",
        "nmap's spelling -iL FILE works too",
    ] {
        assert!(help.contains(words), "no {words:?} in\n{help}");
    }
    assert!(!help.contains("input order"), "{help}");
}
