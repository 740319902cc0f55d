//! The shell around relayscan: `completions SHELL` gives a script the shell accepts and
//! that completes relayscan's subcommands, and `man` gives a roff page with every
//! subcommand that `man -l` renders.

use std::process::Command;
use std::time::Duration;

use crate::support::{run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(30);

/// Every subcommand a user can type (with the lab feature, which the integration tests need).
const SUBCOMMANDS: [&str; 11] = [
    "scan",
    "lab",
    "demo",
    "targets",
    "merge",
    "report",
    "diff",
    "audit-config",
    "completions",
    "man",
    "config",
];

fn printed(args: &[&str]) -> String {
    let out = run(args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "{args:?}");
    stdout(&out)
}

/// What bash's completion offers for the words typed so far (the last one being completed),
/// with the script `relayscan completions bash` printed sourced into a fresh bash.
fn bash_completes(script: &std::path::Path, typed: &[&str]) -> Vec<String> {
    let words = typed.join(" ");
    let program = format!(
        "source {script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{words}'\nCOMP_POINT=${{#COMP_LINE}}\n_relayscan relayscan \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        cword = typed.len() - 1,
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn the_bash_completion_script_parses_and_completes_subcommands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("relayscan.bash");
    std::fs::write(&script, printed(&["completions", "bash"])).unwrap();

    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    assert_eq!(bash_completes(&script, &["relayscan", "tar"]), ["targets"]);
    let all = bash_completes(&script, &["relayscan", "''"]);
    for name in SUBCOMMANDS {
        assert!(all.iter().any(|w| w == name), "{name} not offered: {all:?}");
    }
    assert!(
        bash_completes(&script, &["relayscan", "scan", "--rcpt"]).contains(&"--rcpt-to".into())
    );
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_refused() {
    for (shell, marker) in [
        ("zsh", "#compdef relayscan"),
        ("fish", "complete -c relayscan"),
        ("elvish", "relayscan"),
        ("powershell", "relayscan"),
    ] {
        assert!(printed(&["completions", shell]).contains(marker), "{shell}");
    }
    let out = run(&["completions", "tcsh"], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("tcsh"), "{}", stderr(&out));
}

#[test]
fn the_man_page_holds_every_subcommand_and_renders() {
    let page = printed(&["man"]);
    assert!(page.starts_with(".ie"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains(".TH relayscan 1"), "no title line");
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "SUBCOMMANDS"] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "no {section}");
    }
    for name in SUBCOMMANDS {
        let heading = format!("\n.SH \"RELAYSCAN {}\"\n", name.to_uppercase());
        assert!(page.contains(&heading), "no section for {name}");
    }
    assert!(page.contains("Exit codes:"), "no exit codes");

    let man_installed = Command::new("man").arg("--version").output().is_ok();
    if man_installed {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relayscan.1");
        std::fs::write(&file, &page).unwrap();
        let out = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        for words in ["RELAYSCAN AUDIT-CONFIG", "--rcpt-to", "relayscan scan"] {
            assert!(text.contains(words), "man -l shows no {words}");
        }
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names = crate::support::names_in(dir.path());
    assert!(names.contains(&"relayscan.1".to_string()), "{names:?}");
    for name in SUBCOMMANDS {
        let page = format!("relayscan-{name}.1");
        assert!(names.contains(&page), "no {page}: {names:?}");
    }
    let missing = dir.path().join("missing");
    let out = run(&["man", "--dir", missing.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
}

#[test]
fn help_starts_with_the_demo_gives_examples_and_every_command_lists_its_exit_codes() {
    let top = printed(&["--help"]);
    assert!(top.contains("Start with `relayscan demo`"), "{top}");
    assert!(top.contains("Examples:\n  relayscan demo"), "{top}");
    assert!(top.contains("Exit codes:"), "{top}");
    for name in SUBCOMMANDS
        .iter()
        .filter(|n| !["completions", "man", "config"].contains(n))
    {
        let help = printed(&[name, "--help"]);
        assert!(
            help.contains("Exit codes:\n  0    clean:"),
            "{name} --help:\n{help}"
        );
        assert!(help.contains("\n  2    usage or input error"), "{name}");
    }
}
