//! Site defaults through the real binary: relayscan.toml (working folder, then
//! $XDG_CONFIG_HOME/relayscan/, or --config-file) and RELAYSCAN_* variables, precedence
//! flag > environment > file > default as `relayscan config` prints it, and errors that
//! name the file, line and key. Only `targets` (sends nothing) and scans refused before
//! any traffic run here.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::support::{nets, relayscan, run_command, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);

/// relayscan `args` in `cwd`, with `env` and no RELAYSCAN_* or XDG variable of the caller.
fn run_in(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = relayscan();
    command
        .current_dir(cwd)
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", cwd);
    for key in relayscan::site::KEYS {
        command.env_remove(key.env);
    }
    command.envs(env.iter().copied()).args(args);
    run_command(command, args, LIMIT)
}

/// The line of `relayscan config` for `key`.
fn config_line(out: &Output, key: &str) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    stdout(out)
        .lines()
        .find(|l| l.trim_start_matches("# ").starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no {key} in\n{}", stdout(out)))
        .to_string()
}

#[test]
fn precedence_is_flag_then_environment_then_file_then_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("relayscan.toml"),
        "# site\nrcpt-to = \"probe@example.net\"\nhelo = \"file.example.net\"\nrate = 7\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[("RELAYSCAN_HELO", "env.example.net")],
        &["config"],
    );
    let line = config_line(&out, "rcpt-to");
    assert!(
        line.contains("\"probe@example.net\"") && line.contains("relayscan.toml:2"),
        "{line}"
    );
    let line = config_line(&out, "helo");
    assert!(
        line.contains("\"env.example.net\"") && line.contains("environment"),
        "{line}"
    );
    let line = config_line(&out, "rate");
    assert!(
        line.contains("= 7") && line.contains("relayscan.toml:4"),
        "{line}"
    );
    let line = config_line(&out, "concurrency");
    assert!(line.contains("= 100") && line.contains("default"), "{line}");

    // A flag wins over the file, the environment over the file: a rate of 0 from either
    // is refused, and the message names where the value came from.
    std::fs::write(dir.path().join("relayscan.toml"), "rate = 0\n").unwrap();
    let target = nets::SITE_DEFAULTS.host(1).to_string();
    let scan = ["scan", target.as_str(), "-p", "1", "-q"];
    let out = run_in(dir.path(), &[], &scan);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("relayscan.toml:1: rate: --rate: must be at least 1"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &[("RELAYSCAN_RATE", "0")], &["config"]);
    assert!(config_line(&out, "rate").contains("environment"));
    // The flag's rate wins: the scan runs (port 1 of a loopback address where nothing
    // listens: refused at once).
    let mut with_flag = scan.to_vec();
    with_flag.extend(["--rate", "5", "-o", "out/x", "--format", "jsonl"]);
    let out = run_in(dir.path(), &[], &with_flag);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_in(dir.path(), &[("RELAYSCAN_RATE", "5")], &with_flag);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(dir.path().join("relayscan.toml"), "").unwrap();
    let out = run_in(dir.path(), &[("RELAYSCAN_RATE", "0")], &scan);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("RELAYSCAN_RATE: --rate: must be at least 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_files_scope_fences_a_dry_run_and_xdg_and_config_file_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("relayscan")).unwrap();
    std::fs::write(
        xdg.join("relayscan/relayscan.toml"),
        format!("scope = [\"{}\"]\n", nets::SITE_DEFAULTS.cidr()),
    )
    .unwrap();
    let inside = nets::SITE_DEFAULTS.host(5).to_string();
    let outside = nets::SITE_OUTSIDE.host(5).to_string();
    let xdg_env = [("XDG_CONFIG_HOME", xdg.to_str().unwrap())];
    let out = run_in(dir.path(), &xdg_env, &["targets", &inside, &outside]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&outside) && stderr(&out).contains("scope"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &xdg_env, &["targets", &inside, "-p", "25"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("{inside}:25")));

    // --scope on the command line replaces the file's.
    let wide = format!("{}-{}", inside, outside);
    let out = run_in(
        dir.path(),
        &xdg_env,
        &["targets", &inside, &outside, "--scope", &wide, "--count"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // --config-file names another file, which wins over the search.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "rcpt-to = \"other@example.net\"\n").unwrap();
    let out = run_in(
        dir.path(),
        &xdg_env,
        &["config", "--config-file", other.to_str().unwrap()],
    );
    assert!(stdout(&out).contains(&format!("site defaults file: {}", other.display())));
    assert!(config_line(&out, "rcpt-to").contains("other.toml:1"));
    assert!(config_line(&out, "scope").contains("unset"));
}

#[test]
fn bad_files_are_refused_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let target = nets::SITE_DEFAULTS.host(1).to_string();
    let cases: [(&str, &str); 5] = [
        (
            "# ok\nrates = 5\n",
            "relayscan.toml:2: unknown key \"rates\"",
        ),
        (
            "rate = \"fast\"\n",
            "relayscan.toml:1: rate: \"fast\" is not a whole number",
        ),
        (
            "helo = 5\n",
            "relayscan.toml:1: helo: 5 is not a \"string\"",
        ),
        ("[scan]\n", "relayscan.toml:1: tables"),
        (
            "\n\nconnect-timeout = \"forever\"\n",
            "relayscan.toml:3: connect-timeout: --connect-timeout",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(dir.path().join("relayscan.toml"), text).unwrap();
        let out = run_in(dir.path(), &[], &["scan", &target, "-p", "1", "-q"]);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{text:?}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
    }
    // A value clap itself refuses names its file line, or its variable.
    std::fs::write(dir.path().join("relayscan.toml"), "rate = 5000000000\n").unwrap();
    let out = run_in(dir.path(), &[], &["targets", &target]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "targets has no --rate: {}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &[], &["scan", &target, "-p", "1", "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("'5000000000' for '--rate")
            && stderr(&out).contains("--rate from ./relayscan.toml:1"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(dir.path().join("relayscan.toml")).unwrap();
    let out = run_in(
        dir.path(),
        &[("RELAYSCAN_CONCURRENCY", "x")],
        &["scan", &target, "-p", "1", "-q"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("RELAYSCAN_CONCURRENCY: invalid value 'x' for '--concurrency"),
        "{}",
        stderr(&out)
    );
    let out = run_in(
        dir.path(),
        &[],
        &["config", "--config-file", "missing.toml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}
