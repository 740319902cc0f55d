//! Report files are written safely: never through a symlink, a folder as prefix gets
//! timestamped names inside it, a device or a fifo as prefix is refused before any
//! traffic, and an earlier report set is replaced only once the new run has its first
//! record, with a word on stderr (a run killed, or stopped by Ctrl-C, before it keeps it).

use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::{
    LabProcess, names_in, nets, read_csv, read_json, read_jsonl, relayscan, run, stderr,
};

const LIMIT: Duration = Duration::from_secs(60);

/// A lab of one closed server on `net`.
fn one_host(net: nets::Net, dir: &Path, extra: &[&str]) -> LabProcess {
    let mut args = vec!["--persona", "closed", "--hosts", "1"];
    args.extend_from_slice(extra);
    LabProcess::start(net.lab_network(), dir, &args)
}

/// `relayscan scan` of the lab's host with `-o output`, every format.
fn scan_args(lab: &LabProcess, output: &Path) -> Vec<String> {
    [
        "scan",
        &lab.addr(0).to_string(),
        "-p",
        &lab.port_arg(),
        "--no-progress",
        "--format",
        "csv,jsonl,json,html,md",
        "-o",
        output.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn scan(lab: &LabProcess, output: &Path) -> std::process::Output {
    let args = scan_args(lab, output);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, LIMIT)
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn report_names_that_are_symlinks_are_replaced_never_followed_and_folders_get_named_files() {
    let dir = tempfile::tempdir().unwrap();
    let lab = one_host(nets::REPORT_FILES, dir.path(), &[]);
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let prefix = reports.join("scan");
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
    // scan.csv points at a file of someone else's; scan.jsonl at a file that does not
    // exist; scan.json is an earlier report.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    symlink(&victim, with("csv")).unwrap();
    let nowhere = dir.path().join("nowhere");
    symlink(&nowhere, with("jsonl")).unwrap();
    std::fs::write(with("json"), "{\"earlier\": true}\n").unwrap();

    let out = scan(&lab, &prefix);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    assert!(!nowhere.exists(), "a dangling symlink created its target");
    assert!(!is_symlink(&with("csv")) && !is_symlink(&with("jsonl")));
    assert_eq!(read_csv(&with("csv")).1.len(), 1);
    assert_eq!(read_jsonl(&with("jsonl")).len(), 1);
    assert_eq!(
        read_json(&with("json"))["records"].as_array().map(Vec::len),
        Some(1)
    );
    let err = stderr(&out);
    assert!(
        err.contains("replaced") && err.contains(&with("json").display().to_string()),
        "{err}"
    );
    // Nothing but the reports, the symlinks' replacements, is left in the folder.
    assert_eq!(
        names_in(&reports),
        [
            "scan.csv",
            "scan.html",
            "scan.json",
            "scan.jsonl",
            "scan.md"
        ]
    );

    // A folder, named with and without its trailing slash: timestamped reports inside it.
    for (name, given) in [("by-slash", "by-slash/"), ("by-name", "by-name")] {
        let folder = dir.path().join(name);
        std::fs::create_dir(&folder).unwrap();
        let out = scan(&lab, &dir.path().join(given));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let names = names_in(&folder);
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("relayscan-") && !n.starts_with('.')),
            "{names:?}"
        );
        let stem = names[0].split('.').next().unwrap().to_string();
        let err = stderr(&out);
        assert!(
            err.contains(&folder.join(&stem).display().to_string()),
            "{err}"
        );
        assert_eq!(read_jsonl(&folder.join(format!("{stem}.jsonl"))).len(), 1);
    }
}

#[test]
fn a_device_or_a_fifo_as_prefix_is_refused_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let lab = one_host(nets::REPORT_FILES_REFUSED, dir.path(), &[]);
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for prefix in [fifo.clone(), PathBuf::from("/dev/full")] {
        let out = scan(&lab, &prefix);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&prefix.display().to_string()) && err.contains("not a regular file"),
            "{err}"
        );
        assert!(!Path::new(&format!("{}.csv", prefix.display())).exists());
    }
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(names_in(dir.path()).iter().all(|n| !n.starts_with("pipe.")));
    assert!(lab.received().is_empty(), "{:?}", lab.received());
}

#[test]
fn an_earlier_report_set_survives_a_scan_that_dies_before_its_first_record() {
    let dir = tempfile::tempdir().unwrap();
    // 300 ms per reply: the first record is seconds away when the scan is killed.
    let lab = one_host(
        nets::REPORT_FILES_SLOW,
        dir.path(),
        &["--reply-delay", "300ms"],
    );
    let prefix = dir.path().join("scan");
    let earlier: Vec<(PathBuf, String)> = ["csv", "jsonl", "json", "html", "md"]
        .iter()
        .map(|ext| {
            let path = PathBuf::from(format!("{}.{ext}", prefix.display()));
            let text = format!("the earlier {ext} report\n");
            std::fs::write(&path, &text).unwrap();
            (path, text)
        })
        .collect();
    let mut args = scan_args(&lab, &prefix);
    args.push("--no-pipelining".into());
    let mut child = relayscan()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    child.kill().unwrap();
    child.wait().unwrap();
    let unchanged = || {
        for (path, text) in &earlier {
            assert_eq!(
                &std::fs::read_to_string(path).unwrap(),
                text,
                "{}",
                path.display()
            );
        }
    };
    unchanged();
    // What kill -9 left behind: the new files under their hidden names.
    let left_by_the_kill = names_in(dir.path());

    // Ctrl-C at once (the wrong command): the probe cut off is left for a resume, so the
    // run has no record, and the earlier set stays.
    let checkpoint = dir.path().join("scan.checkpoint");
    args.extend(
        [
            "--grace",
            "200ms",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let child = relayscan()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopped before the first record: kept the earlier"),
        "{}",
        stderr(&out)
    );
    unchanged();
    let mut now = names_in(dir.path());
    now.retain(|n| n != "scan.checkpoint");
    assert_eq!(now, left_by_the_kill, "the stopped run left no file");
}
