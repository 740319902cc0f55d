//! `-o -` streams JSON Lines records to stdout, as zgrab2 and zmap do: `relayscan scan … -o - |
//! jq` reads one record per line, every human line is on stderr, no file is written, and
//! what stdout cannot carry (other formats, checkpoints) is refused before any traffic.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use relayscan_lab::Persona;

use crate::support::personas::start_lab;
use crate::support::{assert_refused, names_in, nets, run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `relayscan ARGS | jq FILTER` in `dir` through bash (so the pipe is a real one):
/// jq's output and exit code, and relayscan's stderr (kept in `dir/stderr`) with its exit
/// code on a last line (from bash's PIPESTATUS).
fn piped_into_jq(dir: &Path, args: &[String], filter: &str) -> (Output, String) {
    let script = r#"filter="$1"; shift
"$@" 2>stderr | jq -c "$filter"
codes=("${PIPESTATUS[@]}")
echo "relayscan exit ${codes[0]}" >>stderr
exit "${codes[1]}""#;
    let out = Command::new("bash")
        .current_dir(dir)
        .args([
            "-c",
            script,
            "bash",
            filter,
            env!("CARGO_BIN_EXE_relayscan"),
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let err = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    (out, err)
}

#[test]
fn dash_o_dash_streams_one_record_a_line_into_jq_and_writes_no_file() {
    let lab_dir = tempfile::tempdir().unwrap();
    let personas = [Persona::OpenRelay, Persona::Closed];
    let lab = start_lab(nets::STREAM, lab_dir.path(), &personas, &[]);
    let work = tempfile::tempdir().unwrap();
    let scan = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["scan", &lab.range(2), "-p", &lab.port_arg(), "-o", "-"]
            .map(String::from)
            .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };

    let (out, err) = piped_into_jq(
        work.path(),
        &scan(&["--no-progress", "--transcript"]),
        "[.ip, .verdict]",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(err.ends_with("relayscan exit 0\n"), "{err}");
    let mut lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    lines.sort();
    let want = |n: usize, verdict: &str| format!("[\"{}\",\"{verdict}\"]", lab.addr(n));
    assert_eq!(
        lines,
        vec![want(0, "open-relay"), want(1, "relay-denied")],
        "jq's output; relayscan's stderr: {err}"
    );
    // Summary, status and transcripts went to stderr; nothing was written in the folder.
    assert!(err.contains("open-relay"), "no summary on stderr: {err}");
    assert!(err.contains("endpoints done"), "no status line: {err}");
    assert!(err.contains("EHLO"), "no transcript on stderr: {err}");
    assert_eq!(names_in(work.path()), vec!["stderr"]);

    // --format jsonl is the same; -q leaves stderr empty but for the exit line.
    let (out, err) = piped_into_jq(work.path(), &scan(&["--format", "jsonl", "-q"]), ".port");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(err, "relayscan exit 0\n");
    let port = lab.port.to_string();
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        vec![port.as_str(); 2]
    );
    assert_eq!(names_in(work.path()), vec!["stderr"]);
}

#[test]
fn dash_o_dash_refuses_other_formats_and_checkpoints_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("scan.ckpt");
    let checkpoint = checkpoint.to_str().unwrap();
    let target = nets::STREAM.host(200).to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["--format", "csv"], "-o - streams jsonl only"),
        (&["--format", "jsonl,json"], "-o - streams jsonl only"),
        (&["--checkpoint", checkpoint], "--checkpoint with -o -"),
        (&["--resume", checkpoint], "--resume"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["scan", target.as_str(), "-p", "1", "-o", "-"];
        args.extend_from_slice(extra);
        let out = run(&args, LIMIT);
        assert_refused(&out, &format!("{extra:?}"), expected);
    }
    assert!(!Path::new(checkpoint).exists());
}
