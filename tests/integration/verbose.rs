//! `-v` and `-vv` on stderr, as nmap's: a line per host as it finishes; at `-vv` each DNS step of a mail domain too; stdout untouched.

use std::time::Duration;

use relayscan_lab::Persona;

use crate::support::personas::start_lab;
use crate::support::{nets, run, stderr, stdout};

#[test]
fn vv_shows_each_dns_step_and_each_host_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::VERBOSE_DNS,
        dir.path(),
        &[Persona::OpenRelay],
        &["--dns-port", "0"],
    );
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let prefix = dir.path().join("scan");
    let target = format!("customer-open-relay.lab.test:{}", lab.port);
    let scan = |verbosity: &str| {
        let mut args = vec!["scan", "--resolver", &dns, "-d", &target, "--no-progress"];
        args.extend(["-o", prefix.to_str().unwrap()]);
        if !verbosity.is_empty() {
            args.push(verbosity);
        }
        let out = run(&args, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        out
    };
    let out = scan("-vv");
    let err = stderr(&out);
    let host = lab.addr(0);
    let dns_step = err
        .lines()
        .find(|l| l.starts_with("relayscan: dns: customer-open-relay.lab.test: mx; MX "))
        .unwrap_or_else(|| panic!("no DNS step: {err}"));
    assert!(dns_step.contains(&format!(" -> {host}")), "{dns_step}");
    let finished = format!(
        "relayscan: {host}:{} completed · open-relay (tests ",
        lab.port
    );
    assert!(err.contains(&finished), "{err}");
    // The summary stays on stdout, the -v lines stay off it.
    let out_text = stdout(&out);
    assert!(out_text.contains("Scan summary"), "{out_text}");
    assert!(!out_text.contains("relayscan: dns:"), "{out_text}");

    // -v: the hosts, not the DNS steps.
    let err = stderr(&scan("-v"));
    assert!(err.contains(&finished), "{err}");
    assert!(!err.contains("relayscan: dns: "), "{err}");
}
