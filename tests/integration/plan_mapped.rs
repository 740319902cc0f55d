//! One notion of an address from the command line: an IPv4 address written in IPv6
//! (`::ffff:a.b.c.d`) is planned, excluded, skipped and probed as that IPv4 address.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{
    LabProcess, nets, no_namespace, read_jsonl, run, run_without_a_route_out, stderr, stdout,
};

/// `relayscan targets ARGS --sequential`: exit 0; the endpoints (header dropped) and stderr.
/// `targets` sends nothing, but these plans name addresses outside loopback, so it runs
/// where nothing could leave should that ever break.
fn planned(args: &[&str]) -> (Vec<String>, String) {
    let mut all = vec!["targets", "--sequential"];
    all.extend(args);
    let out = run_without_a_route_out(&all, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let listed = stdout(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect();
    (listed, stderr(&out))
}

#[test]
fn an_excluded_address_in_the_mapped_form_is_not_planned() {
    if no_namespace() {
        return;
    }
    let host = nets::PLAN_MAPPED.host(21).to_string();
    let other = nets::PLAN_MAPPED.host(22).to_string();
    let mapped = format!("[::ffff:{host}]:2525");
    // Either spelling excludes the other.
    let (listed, _) = planned(&[&mapped, &other, "--exclude", &host]);
    assert_eq!(listed, [format!("{other}:25")]);
    let (listed, _) = planned(&[&host, &other, "--exclude", &format!("::ffff:{other}")]);
    assert_eq!(listed, [format!("{host}:25")]);
    // Planned, it is shown as the IPv4 address it is probed at.
    let (listed, _) = planned(&[&mapped]);
    assert_eq!(listed, [format!("{host}:2525")]);
}

#[test]
fn mapped_special_blocks_are_skipped_like_their_ipv4_forms() {
    if no_namespace() {
        return;
    }
    let mapped = planned(&["::ffff:223.255.255.254-::ffff:224.0.0.1"]);
    let ipv4 = planned(&["223.255.255.254-224.0.0.1"]);
    assert_eq!(mapped.0, ["223.255.255.254:25", "223.255.255.255:25"]);
    assert_eq!(mapped.0, ipv4.0);
    for (_, err) in [&mapped, &ipv4] {
        assert!(err.contains("left out 2 endpoints in multicast"), "{err}");
    }
    // "This network" inside a wider mapped range, too.
    let (listed, err) = planned(&["::ffff:0.255.255.255-::ffff:1.0.0.0"]);
    assert_eq!(listed, ["1.0.0.0:25"]);
    assert!(err.contains("left out 1 endpoint in"), "{err}");
}

#[test]
fn a_mapped_target_is_probed_as_ipv4_and_its_exclude_holds() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::PLAN_MAPPED.lab_network(),
        dir.path(),
        &["--persona", "closed", "--hosts", "2"],
    );
    let (kept, excluded) = (lab.addr(0), lab.addr(1));
    let prefix = dir.path().join("mapped");
    let out = run(
        &[
            "scan",
            &format!("[::ffff:{kept}]:{}", lab.port),
            &format!("[::ffff:{excluded}]:{}", lab.port),
            "--exclude",
            &excluded.to_string(),
            "--no-progress",
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    let ips: Vec<_> = records.iter().map(|r| r.ip).collect();
    assert_eq!(ips, [kept], "one record, of the address as probed");
    assert_eq!(
        lab.addresses_reached(),
        HashSet::from([kept]),
        "the kept host probed, no traffic to the exclude {excluded}"
    );
}
