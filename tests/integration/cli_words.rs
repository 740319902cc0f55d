//! The command line as nmap users type it: nmap's output and probe flags are refused with
//! a hint before anything is resolved or sent (never read as `-o A` and a target), a
//! target after `--` that starts with `-` is refused, and `--excludefile` works.

use std::time::Duration;

use crate::support::{assert_refused, names_in, nets, relayscan, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn nmap_flags_are_refused_with_a_hint_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let target = nets::CLI_WORDS.host(1).to_string();
    let cases: [(&[&str], &str); 7] = [
        (
            &["-oA", "x"],
            "-oA is an nmap flag that relayscan does not take: relayscan uses -o PREFIX and --format",
        ),
        (&["-oN", "x"], "-oN is an nmap flag"),
        (&["-oX", "x"], "-oX is an nmap flag"),
        (&["-sV"], "-sV is an nmap flag"),
        (&["-Pn"], "-Pn is an nmap flag"),
        (
            &["-T4"],
            "-T4 is an nmap flag that relayscan does not take: relayscan paces with --rate",
        ),
        (&["--", "-x"], "-x: a target cannot start with '-'"),
    ];
    for (extra, expected) in cases {
        let mut command = relayscan();
        command
            .current_dir(dir.path())
            .args(["scan", &target, "-p", "1"])
            .args(extra);
        let out = crate::support::run_command(command, extra, LIMIT);
        assert_refused(&out, &format!("{extra:?}"), expected);
    }
    assert_eq!(
        names_in(dir.path()),
        Vec::<String>::new(),
        "a refused scan wrote files"
    );
}

#[test]
fn nmaps_excludefile_spelling_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let excludes = dir.path().join("excludes.txt");
    std::fs::write(&excludes, format!("{}\n", nets::CLI_WORDS.host(1))).unwrap();
    let block = format!("{}-{}", nets::CLI_WORDS.host(0), nets::CLI_WORDS.host(2));
    let listed = |flag: &str| {
        let mut command = relayscan();
        let args = [
            "targets",
            &block,
            "-p",
            "25",
            "--sequential",
            flag,
            excludes.to_str().unwrap(),
        ];
        command.args(args);
        let out = crate::support::run_command(command, &args, LIMIT);
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        stdout(&out)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let want = [0, 2]
        .map(|n| format!("{}:25", nets::CLI_WORDS.host(n)))
        .to_vec();
    assert_eq!(listed("--excludefile"), want);
    assert_eq!(listed("--exclude-file"), want);
}

/// `git rev-parse --short HEAD` of the checkout the binary was built from, if it is one.
fn checkout_revision() -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    if !std::path::Path::new(root).join(".git").exists() {
        return None;
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn every_subcommand_prints_the_version_and_the_git_revision() {
    let version = env!("CARGO_PKG_VERSION");
    let want = match checkout_revision() {
        Some(rev) => format!("{version} (git {rev})"),
        None => version.to_string(),
    };
    let mut commands = vec!["scan", "targets", "merge", "report", "diff", "audit-config"];
    if cfg!(feature = "lab") {
        commands.extend(["lab", "demo"]);
    }
    for args in [vec!["--version"], vec!["-V"]]
        .into_iter()
        .chain(commands.iter().map(|c| vec![*c, "--version"]))
    {
        let mut command = relayscan();
        command.args(&args);
        let out = crate::support::run_command(command, &args, LIMIT);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let line = stdout(&out);
        assert!(line.starts_with("relayscan"), "{args:?}: {line}");
        assert!(
            line.trim_end().ends_with(&format!(" {want}")),
            "{args:?}: {line}"
        );
    }
}
