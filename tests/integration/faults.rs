//! Faults of our own side: a full disk or a read-only folder stops the scan with exit 3 naming the file, every report ends with a whole record, and EMFILE slows the scan instead of failing hosts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::skip::{self, Need};
use crate::support::{LabProcess, nets, read_csv, read_jsonl, run, stderr};

fn scan_args<'a>(range: &'a str, port: &'a str, prefix: &'a str) -> Vec<&'a str> {
    vec![
        "scan",
        range,
        "-p",
        port,
        "-o",
        prefix,
        "--no-progress",
        "-q",
        "--format",
        "csv,jsonl,json,html",
        "-c",
        "50",
        "--rate",
        "1000",
        "--all",
    ]
}

/// Scans the first `count` hosts of `lab` into `prefix`.
fn scan_lab(lab: &LabProcess, count: usize, prefix: &Path) -> Output {
    let (range, port) = (lab.range(count), lab.port_arg());
    run(
        &scan_args(&range, &port, prefix.to_str().expect("utf-8 path")),
        Duration::from_secs(120),
    )
}

/// A tmpfs at `dir/name`, unmounted when dropped; `None` after skipping (not root, or no
/// CAP_SYS_ADMIN to mount).
fn tmpfs(dir: &Path, name: &str, options: &str) -> Option<Mounted> {
    if skip::unless(&[Need::Root("mount -t tmpfs")]) {
        return None;
    }
    let at = dir.join(name);
    std::fs::create_dir(&at).expect("mount point");
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(&at)
        .output();
    match out {
        Ok(out) if out.status.success() => Some(Mounted(at)),
        Ok(out) => {
            skip::because(&format!(
                "mount -t tmpfs failed (needs CAP_SYS_ADMIN): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            None
        }
        Err(e) => {
            skip::because(&format!("cannot run mount: {e}"));
            None
        }
    }
}

/// A mounted tmpfs; a failing test leaves no mount behind.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

#[test]
fn a_report_name_linked_to_a_full_device_is_replaced_never_written_through() {
    // This setup was how a full disk was met at the first record (ENOSPC from /dev/full);
    // reports are never written through a symlink now, so the link is replaced by the
    // report. A disk that fills is met by the tmpfs test below.
    if skip::unless(&[Need::File("/dev/full")]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let jsonl = dir.path().join("r.jsonl");
    std::os::unix::fs::symlink("/dev/full", &jsonl).expect("symlink to /dev/full");
    let lab = LabProcess::start(nets::FULL_DEVICE.lab_network(), dir.path(), &[]);
    let prefix = dir.path().join("r");
    let out = scan_lab(&lab, lab.hosts, &prefix);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let kind = std::fs::symlink_metadata(&jsonl)
        .expect("r.jsonl")
        .file_type();
    assert!(kind.is_file(), "{kind:?}");
    assert_eq!(read_jsonl(&jsonl).len(), lab.hosts);
    let (_, rows) = read_csv(&prefix.with_extension("csv"));
    assert_eq!(rows.len(), lab.hosts);
}

#[test]
fn a_disk_filling_up_mid_scan_leaves_every_report_ending_with_a_whole_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Room for the first record whichever host ends first, not for 200. Measured on this
    // lab: the four heads take 13 KB, one host at most 155 KB (HTML 35 KB, a JSONL line
    // and its JSON twin 50 KB each, its CSV row 1 KB), 200 hosts 6.5 MB. At 48 KB the
    // first record overflowed whenever a large host happened to end first.
    let Some(disk) = tmpfs(dir.path(), "disk", "size=384k") else {
        return;
    };
    let lab = LabProcess::start(
        nets::DISK_FILLS.lab_network(),
        dir.path(),
        &["--hosts", "200", "--greeting-pause", "10ms"],
    );
    let prefix = disk.0.join("r");
    let out = scan_lab(&lab, lab.hosts, &prefix);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot write") && err.contains("No space left"),
        "{err}"
    );

    // Each streamed report ends with a whole record: the readers take every line/row.
    let jsonl = prefix.with_extension("jsonl");
    let text = std::fs::read_to_string(&jsonl).expect("jsonl");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a partial JSON line"
    );
    let records = read_jsonl(&jsonl);
    let (_, rows) = read_csv(&prefix.with_extension("csv"));
    assert!(rows.len() < 200, "the disk filled before the end");
    assert!(records.len() < 200);
    assert!(
        !records.is_empty(),
        "the disk filled mid-scan, not at the start"
    );
    for row in &rows {
        assert_eq!(
            row.len(),
            rows.first().map_or(0, Vec::len),
            "ragged CSV row"
        );
    }
    let html = std::fs::read_to_string(prefix.with_extension("html")).expect("html");
    // Every host's <tbody> that was begun was ended: no half a host in the page.
    let begun = html.matches("<tr class=\"row\">").count();
    let ended = html.matches("</details></td></tr>\n</tbody>").count();
    assert_eq!(begun, ended, "half a host in the HTML report");
}

#[test]
fn a_read_only_folder_stops_the_scan_before_any_traffic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(ro) = tmpfs(dir.path(), "ro", "size=16k,ro") else {
        return;
    };
    let lab = LabProcess::start(nets::READ_ONLY.lab_network(), dir.path(), &[]);
    let prefix = ro.0.join("r");
    let out = scan_lab(&lab, 3, &prefix);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot create {}", ro.0.join("r.csv").display()))
            && err.contains("Read-only file system"),
        "{err}"
    );
    assert!(
        lab.received().is_empty(),
        "no traffic after a report failed to open"
    );
}

#[test]
fn running_out_of_file_descriptors_slows_the_scan_instead_of_failing_hosts() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = LabProcess::start(
        nets::EMFILE.lab_network(),
        dir.path(),
        &[
            "--persona",
            "closed",
            "--hosts",
            "120",
            "--reply-delay",
            "20ms",
        ],
    );
    let prefix = dir.path().join("r");
    let (range, port) = (lab.range(lab.hosts), lab.port_arg());
    let mut cmd = crate::support::relayscan();
    cmd.args(scan_args(&range, &port, prefix.to_str().expect("utf-8")));
    // SAFETY: only async-signal-safe calls (setrlimit, dup) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // 100 descriptors at most, 70 of them already taken: relayscan sizes its
            // concurrency to the limit, not to what is free, so connects hit EMFILE.
            let limit = libc::rlimit {
                rlim_cur: 100,
                rlim_max: 100,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for _ in 0..70 {
                libc::dup(0);
            }
            Ok(())
        });
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run relayscan");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("out of file descriptors (EMFILE)"), "{err}");
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), 120, "{err}");
    for r in &records {
        assert_eq!(
            r.status,
            relayscan::probe::Status::Completed,
            "{}: {:?}",
            r.endpoint(),
            r.error
        );
        assert_eq!(r.verdict, Some(relayscan::assess::Verdict::RelayDenied));
    }
}

#[test]
fn ctrl_c_under_full_load_leaves_complete_valid_reports() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 250 hosts of every persona, all in flight at once, each reply 50 ms late.
    let lab = LabProcess::start(
        nets::CTRL_C_LOAD.lab_network(),
        dir.path(),
        &["--hosts", "250", "--reply-delay", "50ms"],
    );
    let prefix = dir.path().join("load");
    let child = crate::support::relayscan()
        .args(["scan", &lab.range(250), "-p", &lab.port_arg(), "-c", "250"])
        .args(["--rate", "100000", "--grace", "300ms", "--no-progress"])
        .args(["--all", "--format", "csv,jsonl,json,html,md", "-o"])
        .arg(&prefix)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn relayscan");
    std::thread::sleep(Duration::from_millis(1200));
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));

    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert!(!records.is_empty() && records.len() <= 250);
    let (_, rows) = read_csv(&prefix.with_extension("csv"));
    assert_eq!(
        rows.len(),
        records.len(),
        "CSV and JSONL hold the same hosts"
    );
    let doc = crate::support::read_json(&prefix.with_extension("json"));
    assert_eq!(doc["interrupted"], true);
    assert_eq!(doc["records"].as_array().map(Vec::len), Some(records.len()));
    let html = std::fs::read_to_string(prefix.with_extension("html")).expect("html");
    assert!(
        html.trim_end().ends_with("</html>"),
        "the HTML page is finished"
    );
    assert_eq!(html.matches("<tr class=\"row\">").count(), records.len());
    // The Markdown was finished too: its headline counts the records written, and it says
    // the run was interrupted.
    let md = std::fs::read_to_string(prefix.with_extension("md")).expect("md");
    let open = records
        .iter()
        .filter(|r| r.verdict == Some(relayscan::assess::Verdict::OpenRelay))
        .count();
    let plural = if open == 1 { "" } else { "s" };
    assert!(
        md.starts_with(&format!("# relayscan report: {open} open relay{plural},")),
        "{md}"
    );
    assert!(md.contains("(interrupted) |"), "{md}");
}
