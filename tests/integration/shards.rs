//! Shards of one seed, scanned separately and merged, give the records of one whole scan.
//!
//! The lab is scanned once for the module, whole and in three shards at the same time;
//! `merge` runs once on the shards (one given twice), and the tests that merge otherwise
//! work on copies of the shard reports.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::LazyLock;
use std::time::Duration;

use relayscan::report::ScanRecord;

use crate::resume::{assert_unique, facts, steady_lab};
use crate::support::{nets, read_csv, read_json, read_jsonl, run, stderr};

const HOSTS: usize = 30;

/// The whole scan and the three shards; the lab has stopped.
struct Scanned {
    whole: Vec<ScanRecord>,
    whole_json: serde_json::Value,
    /// Each shard's JSONL and the JSON document beside it (merge reads the run from it).
    shards: Vec<(String, String)>,
}

static SCANNED: LazyLock<Scanned> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = steady_lab(nets::SHARDS, dir.path(), HOSTS, &[]);
    let range = lab.range(HOSTS);
    let port = lab.port_arg();
    let scan = |name: &str, extra: &[&str]| {
        let prefix = dir.path().join(name);
        let mut args = vec![
            "scan",
            &range,
            "-p",
            &port,
            "--rate",
            "1000",
            "--no-progress",
        ];
        args.extend(["-o", prefix.to_str().unwrap(), "--seed", "3"]);
        args.extend(extra);
        let out = run(&args, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        prefix
    };
    let (whole, shards) = std::thread::scope(|s| {
        let whole = s.spawn(|| scan("whole", &[]));
        let shards: Vec<_> = (1..=3)
            .map(|i| {
                let scan = &scan;
                s.spawn(move || scan(&format!("shard{i}"), &["--shard", &format!("{i}/3")]))
            })
            .collect();
        let shards: Vec<PathBuf> = shards.into_iter().map(|h| h.join().unwrap()).collect();
        (whole.join().unwrap(), shards)
    });
    Scanned {
        whole: read_jsonl(&whole.with_extension("jsonl")),
        whole_json: read_json(&whole.with_extension("json")),
        shards: shards
            .iter()
            .map(|p| {
                let text = |ext| std::fs::read_to_string(p.with_extension(ext)).unwrap();
                (text("jsonl"), text("json"))
            })
            .collect(),
    }
});

/// Writes the shards' reports into `dir` as shard1.jsonl, shard1.json and so on; returns
/// the JSONL paths.
fn shard_files(dir: &Path) -> Vec<String> {
    SCANNED
        .shards
        .iter()
        .enumerate()
        .map(|(i, (jsonl, json))| {
            let path = dir.join(format!("shard{}.jsonl", i + 1));
            std::fs::write(&path, jsonl).unwrap();
            std::fs::write(path.with_extension("json"), json).unwrap();
            path.display().to_string()
        })
        .collect()
}

/// `relayscan merge INPUTS -o OUTPUT`.
fn merge(inputs: &[&str], output: &Path) -> Output {
    let mut args = vec!["merge"];
    args.extend(inputs);
    args.extend(["-o", output.to_str().unwrap()]);
    run(&args, Duration::from_secs(30))
}

/// The three shards merged, with the first given twice.
struct Merged {
    stderr: String,
    records: Vec<ScanRecord>,
    csv_rows: usize,
    json: serde_json::Value,
}

static MERGED: LazyLock<Merged> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let inputs = shard_files(dir.path());
    let mut args: Vec<&str> = inputs.iter().map(String::as_str).collect();
    args.push(&inputs[0]);
    let merged = dir.path().join("merged");
    let out = merge(&args, &merged);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    Merged {
        stderr: stderr(&out),
        records: read_jsonl(&merged.with_extension("jsonl")),
        csv_rows: read_csv(&merged.with_extension("csv")).1.len(),
        json: read_json(&merged.with_extension("json")),
    }
});

#[test]
fn three_shards_of_one_seed_hold_a_third_each() {
    assert_eq!(SCANNED.whole.len(), HOSTS);
    let sizes: Vec<usize> = SCANNED
        .shards
        .iter()
        .map(|(jsonl, _)| jsonl.lines().count())
        .collect();
    assert_eq!(sizes, [10, 10, 10]);
}

#[test]
fn merged_shards_equal_the_whole_scan() {
    assert_unique(&MERGED.records);
    assert_eq!(
        facts(&MERGED.records, nets::SHARDS),
        facts(&SCANNED.whole, nets::SHARDS)
    );
}

#[test]
fn merge_drops_the_duplicates_of_a_shard_given_twice() {
    assert!(
        MERGED.stderr.contains("(10 duplicates dropped)"),
        "{}",
        MERGED.stderr
    );
    assert_eq!(MERGED.records.len(), HOSTS);
}

#[test]
fn merged_records_are_sorted_by_address_and_port() {
    let mut sorted = MERGED.records.clone();
    sorted.sort_by_key(|r| (r.ip, r.port));
    assert_eq!(MERGED.records, sorted);
}

#[test]
fn the_merged_reports_hold_each_endpoint_once_and_the_whole_scan_s_summary() {
    assert_eq!(MERGED.csv_rows, HOSTS);
    let doc = &MERGED.json;
    assert_eq!(
        doc["summary"]["by_verdict"],
        SCANNED.whole_json["summary"]["by_verdict"]
    );
    assert_eq!(doc["summary"]["probed"], HOSTS);
    assert_eq!(
        doc["summary"]["planned"], 40,
        "the sum of the inputs' plans, one twice"
    );
}

#[test]
fn the_merged_run_lists_its_inputs_and_no_missing_shard() {
    let settings = &MERGED.json["run"]["settings"];
    let from = settings["merged_from"].as_array().unwrap();
    let listed: Vec<&str> = from.iter().map(|f| f["shard"].as_str().unwrap()).collect();
    assert_eq!(listed, ["1/3", "2/3", "3/3", "1/3"]);
    assert!(from.iter().all(|f| f["seed"] == 3));
    assert_eq!(settings["shards_missing"], serde_json::json!([]));
}

#[test]
fn two_shards_of_three_are_merged_with_the_gap_named() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = shard_files(dir.path());
    let partial = dir.path().join("partial");
    let out = merge(&[&inputs[0], &inputs[2]], &partial);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing shards: 2/3"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read_jsonl(&partial.with_extension("jsonl")).len(), 20);
    let doc = read_json(&partial.with_extension("json"));
    assert_eq!(
        doc["run"]["settings"]["shards_missing"],
        serde_json::json!([2]),
        "shard 2 of the 3"
    );
}

#[test]
fn merge_refuses_to_write_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = shard_files(dir.path());
    let before = std::fs::read(&inputs[0]).unwrap();
    let out = merge(&[&inputs[0]], &dir.path().join("shard1"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("would overwrite the input"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&inputs[0]).unwrap(), before);
}

#[test]
fn merge_refuses_a_file_that_is_not_a_report_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.jsonl");
    let ip = SCANNED.whole[0].ip;
    std::fs::write(&junk, format!("{{\"ip\":\"{ip}\"}}\n")).unwrap();
    let out = merge(&[junk.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("junk.jsonl:1: not a relayscan record"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_shard_records_the_whole_scan_s_plan_fingerprint() {
    let whole = SCANNED.whole_json["run"]["settings"]["plan"].clone();
    assert!(whole.as_str().is_some_and(|p| p.len() == 16), "{whole}");
    for (i, (_, json)) in SCANNED.shards.iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(doc["run"]["settings"]["plan"], whole, "shard {}", i + 1);
    }
}

#[test]
fn merge_refuses_shards_of_different_plans_naming_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = shard_files(dir.path());
    // Shard 2 as if run on an edited target list: another plan.
    let json = Path::new(&inputs[1]).with_extension("json");
    let mut doc = read_json(&json);
    doc["run"]["targets"] = serde_json::json!(["127.0.23.1-127.0.23.20"]);
    doc["run"]["settings"]["plan"] = serde_json::json!("00000000000000ff");
    std::fs::write(&json, doc.to_string()).unwrap();
    let merged = dir.path().join("merged");
    let out = merge(&[&inputs[0], &inputs[1]], &merged);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("are not shards of one plan")
            && err.contains("the targets differ")
            && err.contains("127.0.23.1-127.0.23.20")
            && err.contains("shard2.jsonl"),
        "{err}"
    );
    assert!(!merged.with_extension("jsonl").exists(), "nothing written");
}
