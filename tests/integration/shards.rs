//! Shards of one seed, scanned separately and merged, give the records of one whole scan.

use std::time::Duration;

use crate::resume::{assert_unique, facts, steady_lab};
use crate::support::{nets, read_csv, read_json, read_jsonl, run, stderr};

#[test]
fn three_shards_merged_equal_the_whole_scan() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = 30;
    let lab = steady_lab(nets::SHARDS, dir.path(), hosts, &[]);
    let range = lab.range(hosts);
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
            "-o",
            prefix.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = run(&args, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        prefix
    };
    let whole = read_jsonl(&scan("whole", &["--seed", "3"]).with_extension("jsonl"));
    assert_eq!(whole.len(), hosts);

    let shards: Vec<_> = (1..=3)
        .map(|i| {
            scan(
                &format!("shard{i}"),
                &["--seed", "3", "--shard", &format!("{i}/3")],
            )
        })
        .collect();
    let sizes: Vec<usize> = shards
        .iter()
        .map(|p| read_jsonl(&p.with_extension("jsonl")).len())
        .collect();
    assert_eq!(sizes, [10, 10, 10]);

    let merged = dir.path().join("merged");
    let mut args = vec!["merge"];
    let inputs: Vec<String> = shards
        .iter()
        .map(|p| p.with_extension("jsonl").display().to_string())
        .collect();
    args.extend(inputs.iter().map(String::as_str));
    // One shard twice: its duplicates are dropped.
    args.push(&inputs[0]);
    args.extend(["-o", merged.to_str().unwrap()]);
    let out = run(&args, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(10 duplicates dropped)"),
        "{}",
        stderr(&out)
    );

    let got = read_jsonl(&merged.with_extension("jsonl"));
    assert_unique(&got);
    assert_eq!(facts(&got), facts(&whole));
    let mut sorted = got.clone();
    sorted.sort_by_key(|r| (r.ip, r.port));
    assert_eq!(got, sorted, "merged records are sorted by address and port");
    let (_, rows) = read_csv(&merged.with_extension("csv"));
    assert_eq!(rows.len(), hosts);
    let doc = read_json(&merged.with_extension("json"));
    let whole_doc = read_json(&dir.path().join("whole.json"));
    assert_eq!(
        doc["summary"]["by_verdict"],
        whole_doc["summary"]["by_verdict"]
    );
    assert_eq!(doc["summary"]["probed"], hosts);
    assert_eq!(
        doc["summary"]["planned"], 40,
        "the sum of the inputs' plans, one twice"
    );
    let from = doc["run"]["settings"]["merged_from"].as_array().unwrap();
    let listed: Vec<&str> = from.iter().map(|f| f["shard"].as_str().unwrap()).collect();
    assert_eq!(listed, ["1/3", "2/3", "3/3", "1/3"]);
    assert!(from.iter().all(|f| f["seed"] == 3));
    assert_eq!(
        doc["run"]["settings"]["shards_missing"],
        serde_json::json!([])
    );

    // Two of three: merged, with the gap named.
    let partial = dir.path().join("partial");
    let out = run(
        &[
            "merge",
            &inputs[0],
            &inputs[2],
            "-o",
            partial.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing shards: 2/3"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read_jsonl(&partial.with_extension("jsonl")).len(), 20);

    // Writing over an input is refused; so is a file that is not a report.
    let out = run(
        &["merge", &inputs[0], "-o", shards[0].to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("would overwrite the input"),
        "{}",
        stderr(&out)
    );
    let junk = dir.path().join("junk.jsonl");
    std::fs::write(&junk, format!("{{\"ip\":\"{}\"}}\n", lab.addr(0))).unwrap();
    let out = run(
        &[
            "merge",
            junk.to_str().unwrap(),
            "-o",
            partial.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("junk.jsonl:1: not a relayscan record"),
        "{}",
        stderr(&out)
    );
}
