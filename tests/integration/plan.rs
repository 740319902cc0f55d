//! The target plan from the command line: `relayscan targets` (the dry run), seeds,
//! shards, the scope and the refusals that come before any traffic.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use crate::support::{LabProcess, nets, read_json, run, stderr, stdout};

/// `relayscan targets ARGS`: the endpoints listed (header comment dropped).
fn listed(args: &[&str]) -> Vec<String> {
    let mut all = vec!["targets"];
    all.extend(args);
    let out = run(&all, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// `relayscan targets ARGS` that must succeed; its output.
fn targets(args: &[&str]) -> std::process::Output {
    let mut all = vec!["targets"];
    all.extend(args);
    let out = run(&all, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    out
}

/// The /24 on ports 25 and 587 with `extra`.
fn listed_24(extra: &[&str]) -> Vec<String> {
    let net = nets::PLAN_LISTING.cidr();
    let mut args = vec![net.as_str(), "-p", "25,587"];
    args.extend(extra);
    listed(&args)
}

/// The /24 on two ports, in the order of seed 5.
static SEEDED: LazyLock<Vec<String>> = LazyLock::new(|| listed_24(&["--seed", "5"]));

fn as_set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

#[test]
fn a_seed_gives_the_same_order_every_time() {
    assert_eq!(SEEDED.len(), 512);
    assert_eq!(*SEEDED, listed_24(&["--seed", "5"]));
}

#[test]
fn another_seed_gives_another_order() {
    assert_ne!(*SEEDED, listed_24(&["--seed", "6"]));
}

#[test]
fn sequential_lists_the_same_endpoints_by_address_then_port() {
    let sequential = listed_24(&["--sequential"]);
    assert_eq!(
        sequential.first(),
        Some(&format!("{}:25", nets::PLAN_LISTING.host(0)))
    );
    assert_eq!(
        sequential.last(),
        Some(&format!("{}:587", nets::PLAN_LISTING.host(255)))
    );
    assert_eq!(as_set(&SEEDED), as_set(&sequential));
    assert_ne!(*SEEDED, sequential);
}

#[test]
fn shards_of_one_seed_are_disjoint_and_together_the_whole_list() {
    let mut union = BTreeSet::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        for e in listed_24(&["--seed", "5", "--shard", &shard]) {
            assert!(union.insert(e.clone()), "{e} in two shards");
        }
    }
    assert_eq!(union, as_set(&SEEDED));
}

#[test]
fn the_plan_written_once_reads_back_as_the_same_endpoints_for_every_shard() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.txt");
    let net = nets::PLAN_LISTING.cidr();
    let out = targets(&[&net, "-p", "25,587", "-o", file.to_str().unwrap()]);
    assert!(stdout(&out).is_empty(), "the list goes to the file");
    assert!(
        stderr(&out).contains("wrote 512 endpoints"),
        "{}",
        stderr(&out)
    );
    let from_file = |extra: &[&str]| {
        let mut args = vec!["-iL", file.to_str().unwrap(), "--seed", "5"];
        args.extend(extra);
        listed(&args)
    };
    assert_eq!(as_set(&from_file(&[])), as_set(&SEEDED));
    // Its shards split it as the shards of the range do.
    let shards: Vec<BTreeSet<String>> = (1..=2)
        .map(|i| as_set(&from_file(&["--shard", &format!("{i}/2")])))
        .collect();
    assert!(shards[0].is_disjoint(&shards[1]));
    assert_eq!(shards[0].len() + shards[1].len(), 512);
}

#[test]
fn without_a_seed_a_random_one_is_chosen_and_shown() {
    // So that the order can be repeated.
    let sixteen = format!("{}/28", nets::PLAN_LISTING.host(0));
    let out = targets(&[&sixteen]);
    let header = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(
        header.starts_with("# relayscan targets: 16 endpoints, order permuted (seed "),
        "{header}"
    );
}

#[test]
fn count_covers_the_whole_loopback_range_without_listing_it() {
    let out = targets(&["127.0.0.0/8", "-p", "25,465,587", "--count"]);
    assert_eq!(stdout(&out).trim(), "50331648");
}

#[test]
fn multicast_and_reserved_blocks_are_left_out_of_a_wide_range_with_a_note() {
    let out = targets(&["192.0.0.0/2", "--count"]);
    assert_eq!(stdout(&out).trim(), "536870912");
    assert!(
        stderr(&out).contains("left out 536870912 endpoints in multicast"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_multicast_address_named_explicitly_is_listed() {
    let out = targets(&["224.0.0.251", "-p", "5353"]);
    assert_eq!(stdout(&out).lines().nth(1), Some("224.0.0.251:5353"));
}

/// A scope file authorising the lab's first two hosts.
fn scope_file(dir: &Path, lab: &LabProcess) -> String {
    let scope = dir.join("scope.txt");
    std::fs::write(&scope, format!("# authorised\n{}-2\n", lab.addr(0))).unwrap();
    scope.display().to_string()
}

#[test]
fn refusals_come_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::PLAN_REFUSALS.lab_network(),
        dir.path(),
        &["--persona", "open-relay", "--hosts", "3"],
    );
    let scope = scope_file(dir.path(), &lab);
    let range = lab.range(3);
    let port = lab.port_arg();
    let prefix = dir.path().join("refused").display().to_string();
    let outside = format!(
        "\"{}-{}\" reaches {}, outside the authorised scope",
        lab.addr(0),
        lab.addr(2),
        lab.addr(2)
    );
    let cases: &[(&[&str], &str)] = &[
        (&["--scope", &scope], &outside),
        (&["--shard", "2/3"], "--shard: 2/3 needs --seed N"),
        (&["--shard", "4/3", "--seed", "1"], "--shard: \"4/3\""),
        (&["--subnet-rate", "0"], "--subnet-rate: must be at least 1"),
        (
            &["--checkpoint", "x.checkpoint", "--format", "csv"],
            "a checkpoint needs the jsonl report",
        ),
        (&["--checkpoint", &scope], "not a relayscan checkpoint"),
        (
            &["--scope", "no-such-scope.txt"],
            "--scope \"no-such-scope.txt\": neither",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["scan", &range, "-p", &port, "--no-progress", "-o", &prefix];
        args.extend(*extra);
        let out = run(&args, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{extra:?}: {}", stderr(&out));
    }
    assert!(lab.received().is_empty(), "nothing reached the lab");
    assert!(!Path::new(&format!("{prefix}.jsonl")).exists(), "no report");
}

#[test]
fn a_scan_inside_its_scope_records_the_scope_the_subnet_rate_and_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::PLAN_SCOPE.lab_network(),
        dir.path(),
        &["--persona", "open-relay", "--hosts", "2"],
    );
    let scope = scope_file(dir.path(), &lab);
    let prefix = dir.path().join("scoped");
    let out = run(
        &[
            "scan",
            &lab.range(2),
            "-p",
            &lab.port_arg(),
            "--scope",
            &scope,
            "--subnet-rate",
            "50",
            "--seed",
            "9",
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = read_json(&prefix.with_extension("json"));
    assert_eq!(doc["summary"]["probed"], 2);
    let settings = &doc["run"]["settings"];
    assert_eq!(settings["subnet_rate_per_second"], 50);
    assert_eq!(settings["scope"][0], scope.as_str());
    assert_eq!(settings["seed"], 9);
    assert_eq!(settings["order"], "permuted");
}
