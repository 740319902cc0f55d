//! `relayscan demo`: the README's first command works and checks itself.

use std::time::Duration;

use relayscan::lab::Persona;

use crate::support::{nets, run, stderr, stdout};

#[test]
fn demo_scans_the_lab_and_every_persona_matches() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("demo").join("relayscan-demo");
    let out = run(
        &[
            "demo",
            "--bind",
            &nets::DEMO.cidr(),
            "-q",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(90),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for persona in Persona::ALL {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{} ", persona.name())))
            .unwrap_or_else(|| panic!("no demo line for {}:\n{text}", persona.name()));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
    assert!(text.contains("DATA: 0"), "{text}");
    for ext in ["csv", "jsonl", "json"] {
        assert!(prefix.with_extension(ext).exists(), "demo writes .{ext}");
    }
}
