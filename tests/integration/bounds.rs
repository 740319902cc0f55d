//! Every file a user hands relayscan is read bounded: `audit-config` refuses devices, FIFOs (named, or in a folder given) and files over 16 MiB, and cuts off a `$name` expansion that would grow without end; `report`, `merge` and `diff` refuse a JSONL line over 4 MiB. Each refusal is exit 2 naming the file (and line). Nothing is scanned.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{run, stderr};

/// Generous for a debug build on a busy machine; today's main needed minutes and GBs for
/// the main.cf below, so a regression still fails here instead of running for ever.
const LIMIT: Duration = Duration::from_secs(60);

fn audit(paths: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["audit-config", "-q"];
    args.extend(paths);
    let out = run(&args, LIMIT);
    (out.status.code(), stderr(&out))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn audit_config_refuses_devices_and_a_fifo_named_or_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("main.cf");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let table = [
        ("/dev/zero".to_string(), "a character device"),
        ("/dev/urandom".to_string(), "a character device"),
        // No writer: opening it must not wait for one.
        (fifo.display().to_string(), "a FIFO"),
        // A folder is read for its known files: the FIFO main.cf in it is refused by name.
        (dir.path().display().to_string(), "a FIFO"),
    ];
    for (path, what) in table {
        let (code, err) = audit(&[&path]);
        assert_eq!(code, Some(2), "{path}: {err}");
        let named = if path == fifo.display().to_string() || what != "a FIFO" {
            path.clone()
        } else {
            fifo.display().to_string()
        };
        assert_eq!(
            err.lines().last().unwrap_or_default(),
            format!(
                "relayscan: error: {named}: not a regular file ({what}): relayscan reads only regular files"
            )
        );
    }
}

#[test]
fn audit_config_refuses_a_file_over_16_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.cf");
    // Sparse: 16 MiB and one byte that cost no disk.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(16 * 1024 * 1024 + 1).unwrap();
    let (code, err) = audit(&[&path.display().to_string()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: larger than 16 MiB (16777216 bytes), the cap on one input file",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_table_that_is_a_device_is_an_error_at_the_setting_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "main.cf",
        "compatibility_level = 3.6\n\
         smtpd_relay_restrictions = check_client_access hash:/dev/zero, reject_unauth_destination\n",
    );
    let (code, err) = audit(&[&main]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{main}:2: smtpd_relay_restrictions: hash:/dev/zero: /dev/zero: not a regular file \
             (a character device)"
        )),
        "{err}"
    );
}

#[test]
fn a_file_an_exim_opensmtpd_or_sendmail_configuration_names_that_is_refused_is_an_error_at_that_line()
 {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: 16 MiB and one byte that cost no disk.
    let big = dir.path().join("big.conf");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(16 * 1024 * 1024 + 1)
        .unwrap();
    let big = big.display().to_string();
    let device =
        "/dev/zero: not a regular file (a character device): relayscan reads only regular files";
    let over = format!("{big}: larger than 16 MiB (16777216 bytes), the cap on one input file");
    // update-exim4.conf.conf alone is judged with the template beside it: here a folder.
    let debian = dir.path().join("debian");
    std::fs::create_dir_all(debian.join("exim4.conf.template")).unwrap();
    let debconf = write(
        &debian,
        "update-exim4.conf.conf",
        "dc_eximconfig_configtype='internet'\ndc_relay_nets=''\ndc_use_split_config='false'\n",
    );
    let template = format!(
        "{}: not a regular file (a directory): relayscan reads only regular files",
        debian.join("exim4.conf.template").display()
    );
    let table = [
        (
            "exim4.conf",
            "acl_smtp_rcpt = a\n.include /dev/zero\nbegin acl\na:\n  accept hosts = *\n"
                .to_string(),
            2,
            format!(".include /dev/zero: {device}"),
        ),
        (
            "exim.conf",
            format!("acl_smtp_rcpt = a\n\n.include_if_exists {big}\n"),
            3,
            format!(".include_if_exists {big}: {over}"),
        ),
        (
            "smtpd.conf",
            "listen on 0.0.0.0\ntable nets file:/dev/zero\naction \"r\" relay\n".to_string(),
            2,
            format!("table file /dev/zero: {device}"),
        ),
        (
            "smtpd.conf",
            "listen on 0.0.0.0\ninclude \"/dev/zero\"\n".to_string(),
            2,
            format!("include \"/dev/zero\": {device}"),
        ),
        (
            "sendmail.cf",
            "CRexample.org\nFR-o /dev/zero\nScheck_rcpt\n".to_string(),
            2,
            format!("class R file /dev/zero: {device}"),
        ),
    ];
    for (name, text, line, why) in table {
        let path = write(dir.path(), name, &text);
        let (code, err) = audit(&[&path]);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert_eq!(
            err.trim_end(),
            format!("relayscan: error: {path}:{line}: {why}"),
            "{text}"
        );
    }
    let (code, err) = audit(&[&debconf]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!("relayscan: error: {debconf}:3: dc_use_split_config: {template}")
    );
}

/// `p0 = 192.0.2.0/24`, then `pN = $pN-1 $pN-1 $pN-1 $pN-1` for N in 1..=levels, then
/// `mynetworks = $pLEVELS`: 4^levels copies of p0 if expanded in full.
fn quadrupling(levels: usize) -> String {
    let mut text = "p0 = 192.0.2.0/24\n".to_string();
    for i in 1..=levels {
        let j = i - 1;
        text.push_str(&format!("p{i} = $p{j} $p{j} $p{j} $p{j}\n"));
    }
    text.push_str(&format!("mynetworks = $p{levels}\n"));
    text
}

#[test]
fn expansions_that_grow_without_end_are_errors_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let nesting = "its `$name` references nest deeper than 20, the cap on nesting";
    let table = [
        // The 22 lines: 4^20 copies (main: 1.5 GB and 27 s, then an abort).
        ("deep", quadrupling(20), 22, nesting),
        // Ten levels nest within the cap; 4^10 copies are still too many.
        (
            "wide",
            quadrupling(10),
            12,
            "its value takes more than 10000 `$name` expansions, the cap on one value",
        ),
        // A loop that doubles (main: 218 MB).
        (
            "cycle",
            "a = $b $b\nb = $a $a\nmynetworks = $a\n".to_string(),
            3,
            nesting,
        ),
    ];
    for (name, text, line, problem) in table {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        let main = write(&dir.path().join(name), "main.cf", &text);
        let (code, err) = audit(&[&main]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(
            err.starts_with(&format!(
                "relayscan: error: {main}:{line}: mynetworks: {problem}"
            )),
            "{name}: {err}"
        );
    }
}

/// A record main wrote, as one JSONL line.
fn good_line() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/main-31795cf/scan.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().next().unwrap().to_string()
}

/// A JSONL file whose second line is a valid record 5 MiB long (its server name padded).
fn with_a_long_line(dir: &Path, name: &str) -> PathBuf {
    let good = good_line();
    let mut long: serde_json::Value = serde_json::from_str(&good).unwrap();
    long["server_name"] = serde_json::Value::String("x".repeat(5 * 1024 * 1024));
    let path = dir.join(name);
    std::fs::write(&path, format!("{good}\n{long}\n{good}\n")).unwrap();
    path
}

#[test]
fn report_merge_and_diff_refuse_a_jsonl_line_over_4_mib() {
    let dir = tempfile::tempdir().unwrap();
    let long = with_a_long_line(dir.path(), "long.jsonl");
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, format!("{}\n", good_line())).unwrap();
    let long_s = long.display().to_string();
    let good_s = good.display().to_string();
    let prefix = dir.path().join("out").display().to_string();
    let runs: [Vec<&str>; 3] = [
        vec!["report", &long_s, "-o", &prefix, "-q"],
        vec!["merge", &good_s, &long_s, "-o", &prefix],
        vec!["diff", &good_s, &long_s],
    ];
    for args in runs {
        let out = run(&args, LIMIT);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "{long_s}:2: line longer than 4 MiB (4194304 bytes), the cap on one line of this file"
            )),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_target_list_without_newlines_is_refused_at_64_kib() {
    let out = run(&["targets", "-iL", "/dev/zero"], LIMIT);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero:1: line longer than 64 KiB (65536 bytes)"),
        "{err}"
    );
}
