//! `--color auto|always|never` and `NO_COLOR` through the real binary: the audit table's
//! severities and the error prefix are coloured with `--color always` (also into a pipe,
//! also despite NO_COLOR), never with `--color never`, and under `auto` only on a terminal
//! (a pty from util-linux's `script`) where NO_COLOR is unset or empty.

use std::process::Command;
use std::time::Duration;

use crate::support::skip;
use crate::support::{relayscan, run_command, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);
const ESC: char = '\u{1b}';

/// A Postfix main.cf whose mynetworks trusts everyone: a critical finding to colour.
const OPEN_MAIN_CF: &str = "compatibility_level = 3.6\nmynetworks = 0.0.0.0/0\n\
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n";

fn audit(dir: &std::path::Path, color: Option<&str>, no_color: Option<&str>) -> String {
    let main_cf = dir.join("main.cf");
    std::fs::write(&main_cf, OPEN_MAIN_CF).unwrap();
    let mut command = relayscan();
    command.env_remove("NO_COLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    if let Some(when) = color {
        command.args(["--color", when]);
    }
    let args = [
        "audit-config",
        main_cf.to_str().unwrap(),
        "--fail-on",
        "never",
    ];
    command.args(args);
    let out = run_command(command, &args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("critical"), "{}", stdout(&out));
    stdout(&out)
}

#[test]
fn color_always_colours_a_pipe_and_never_or_no_color_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let always = audit(dir.path(), Some("always"), None);
    assert!(
        always.contains("\u{1b}[1;31mcritical\u{1b}[0m"),
        "{always:?}"
    );
    // A flag given for this run wins over the environment (no-color.org).
    assert!(audit(dir.path(), Some("always"), Some("1")).contains(ESC));
    for (color, no_color) in [
        (Some("never"), None),
        (None, Some("1")),
        (None, None),
        (Some("auto"), None),
        (Some("never"), Some("")),
    ] {
        let text = audit(dir.path(), color, no_color);
        assert!(
            !text.contains(ESC),
            "--color {color:?} NO_COLOR={no_color:?}: {text:?}"
        );
    }
}

#[test]
fn the_error_prefix_follows_color_too() {
    for (when, coloured) in [("always", true), ("never", false)] {
        let mut command = relayscan();
        let args = ["--color", when, "targets", "-p", "0", "--count"];
        command.env_remove("NO_COLOR").args(args);
        let out = run_command(command, &args, LIMIT);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(
            err.contains("\u{1b}[1;31merror\u{1b}[0m"),
            coloured,
            "{err:?}"
        );
        assert_eq!(err.contains(ESC), coloured, "{err:?}");
    }
    // --color is global: it may also follow the subcommand.
    let mut command = relayscan();
    let args = ["targets", "-p", "0", "--count", "--color", "always"];
    command.env_remove("NO_COLOR").args(args);
    let out = run_command(command, &args, LIMIT);
    assert!(stderr(&out).contains(ESC), "{}", stderr(&out));
}

#[test]
fn auto_colours_a_terminal_unless_no_color_is_set_and_not_empty() {
    let Some(script) = skip::tool(&["script"], "apt-get install bsdutils") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let main_cf = dir.path().join("main.cf");
    std::fs::write(&main_cf, OPEN_MAIN_CF).unwrap();
    let line = format!(
        "{} audit-config {} --fail-on never",
        env!("CARGO_BIN_EXE_relayscan"),
        main_cf.display()
    );
    for (no_color, coloured) in [(None, true), (Some(""), true), (Some("1"), false)] {
        let mut command = Command::new(&script);
        // script runs the line on a pty: stdout is a terminal for relayscan.
        command
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let out = run_command(command, &["(script)", &line], LIMIT);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("critical"), "{text:?}");
        assert_eq!(
            text.contains(ESC),
            coloured,
            "NO_COLOR={no_color:?}: {text:?}"
        );
    }
}
