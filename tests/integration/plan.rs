//! The target plan from the command line: `relayscan targets` (the dry run), seeds,
//! shards, the scope and the refusals that come before any traffic.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{LabProcess, nets, run, stderr, stdout};

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

#[test]
fn the_dry_run_lists_the_scan_order() {
    let net = nets::PLAN_LISTING.cidr();
    let seeded = listed(&[&net, "-p", "25,587", "--seed", "5"]);
    assert_eq!(seeded.len(), 512);
    assert_eq!(seeded, listed(&[&net, "-p", "25,587", "--seed", "5"]));
    assert_ne!(seeded, listed(&[&net, "-p", "25,587", "--seed", "6"]));
    let sequential = listed(&[&net, "-p", "25,587", "--sequential"]);
    assert_eq!(
        sequential.first(),
        Some(&format!("{}:25", nets::PLAN_LISTING.host(0)))
    );
    assert_eq!(
        sequential.last(),
        Some(&format!("{}:587", nets::PLAN_LISTING.host(255)))
    );
    let as_set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(as_set(&seeded), as_set(&sequential));
    assert_ne!(seeded, sequential);

    // Shards of one seed: disjoint, and together the whole list.
    let mut union = BTreeSet::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let part = listed(&[&net, "-p", "25,587", "--seed", "5", "--shard", &shard]);
        for e in part {
            assert!(union.insert(e.clone()), "{e} in two shards");
        }
    }
    assert_eq!(union, as_set(&seeded));

    // Without --seed a random one is chosen and shown, so the order can be repeated.
    let sixteen = format!("{}/28", nets::PLAN_LISTING.host(0));
    let out = run(&["targets", &sixteen], Duration::from_secs(30));
    let header = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(
        header.starts_with("# relayscan targets: 16 endpoints, order permuted (seed "),
        "{header}"
    );

    let out = run(
        &["targets", "127.0.0.0/8", "-p", "25,465,587", "--count"],
        Duration::from_secs(30),
    );
    assert_eq!(stdout(&out).trim(), "50331648");
    // Multicast and reserved blocks leave a wide range, with a note.
    let out = run(
        &["targets", "192.0.0.0/2", "--count"],
        Duration::from_secs(30),
    );
    assert_eq!(stdout(&out).trim(), "536870912");
    assert!(
        stderr(&out).contains("left out 536870912 endpoints in multicast"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &["targets", "224.0.0.251", "-p", "5353"],
        Duration::from_secs(30),
    );
    assert!(
        stdout(&out).contains("224.0.0.251:5353"),
        "named explicitly: {}",
        stdout(&out)
    );
}

#[test]
fn refusals_come_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::PLAN_REFUSALS.lab_network(),
        dir.path(),
        &["--persona", "open-relay", "--hosts", "3"],
    );
    let scope_file = dir.path().join("scope.txt");
    std::fs::write(&scope_file, format!("# authorised\n{}-2\n", lab.addr(0))).unwrap();
    let range = lab.range(3);
    let port = lab.port_arg();
    let scope = scope_file.display().to_string();
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
    let out = run(
        &["scan", "[2001:db8::/64]:25", "--no-progress"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--force-large-ipv6"),
        "{}",
        stderr(&out)
    );
    assert!(lab.received().is_empty(), "nothing reached the lab");

    // Inside the scope, with a per-subnet limit: scanned, and both recorded.
    let out = run(
        &[
            "scan",
            &lab.range(2),
            "-p",
            &port,
            "--scope",
            &scope,
            "--subnet-rate",
            "50",
            "--seed",
            "9",
            "--no-progress",
            "-o",
            &prefix,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = crate::support::read_json(&dir.path().join("refused.json"));
    assert_eq!(doc["summary"]["probed"], 2);
    let settings = &doc["run"]["settings"];
    assert_eq!(settings["subnet_rate_per_second"], 50);
    assert_eq!(settings["scope"][0], scope.as_str());
    assert_eq!(settings["seed"], 9);
    assert_eq!(settings["order"], "permuted");
}
