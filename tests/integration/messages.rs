//! Help and error texts that name what the user gave: an empty -iL file by its name, a
//! file that is not a checkpoint in words (not serde's), and help that says what
//! `targets` does (it sends nothing and writes no report) and how --sequential orders;
//! `scan --resume FILE` alone, and the hint when mail domains answer nowhere on port 25.

use std::time::Duration;

use relayscan_lab::Persona;

use crate::support::personas::start_lab;
use crate::support::{assert_refused, nets, read_jsonl, run, stderr, stdout};

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

#[test]
fn resume_alone_takes_the_targets_and_flags_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("scan");
    let checkpoint = dir.path().join("scan.checkpoint");
    let range = format!(
        "{}-{}",
        nets::RESUME_ALONE.host(1),
        nets::RESUME_ALONE.host(4)
    );
    let out = run(
        &[
            "scan",
            &range,
            "-p",
            "1",
            "--seed",
            "5",
            "--rcpt-to",
            "probe@example.net",
            "--all",
            "-q",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "-o",
            prefix.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read_jsonl(&prefix.with_extension("jsonl")).len(), 4);

    // No targets, no flags: the checkpoint's own (a different --rcpt-to or seed would be
    // refused as "settings differ" / "another plan").
    let out = run(
        &["scan", "--resume", checkpoint.to_str().unwrap(), "-q"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read_jsonl(&prefix.with_extension("jsonl")).len(), 4);

    // A flag that differs from the checkpoint is still refused.
    let out = run(
        &[
            "scan",
            &range,
            "-p",
            "2",
            "--resume",
            checkpoint.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_refused(&out, "another port", "another plan");
}

#[test]
fn a_domain_that_answers_nowhere_on_port_25_gets_a_port_hint() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::DOMAIN_PORT_HINT,
        dir.path(),
        &[Persona::OpenRelay],
        &["--dns-port", "0"],
    );
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let prefix = dir.path().join("scan");
    let domain = "customer-open-relay.lab.test";
    let base = [
        "scan",
        "--resolver",
        &dns,
        "-d",
        domain,
        "--no-progress",
        "-o",
    ];
    let mut args = base.to_vec();
    args.push(prefix.to_str().unwrap());
    let out = run(&args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("hint: no mail host of the domains answered on port 25")
            && err.contains(&format!("-d {domain}:PORT (or @{domain}:PORT, or -p PORT)")),
        "{err}"
    );
    // On the lab's port the host answers: no hint.
    let port = lab.port.to_string();
    let prefix = dir.path().join("on-port");
    let mut args = base.to_vec();
    args.extend([prefix.to_str().unwrap(), "-p", &port]);
    let out = run(&args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hint"), "{}", stderr(&out));
}
