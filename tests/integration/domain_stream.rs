//! A lone `--domains` list is read lazily: domains fed on a pipe held open are resolved,
//! probed and written before the pipe ends; a mail host shared by two domains is probed
//! once; a bad line on standard input stops the run naming `<stdin>:LINE`.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use relayscan_lab::dns::LabDns;
use relayscan_lab::dns::zone::{Data, Zone};

use crate::support::{LabProcess, nets, read_domain_records, read_jsonl, relayscan, stderr};

fn zone(lab: &LabProcess) -> Zone {
    let mut zone = Zone::new("stream.test");
    zone.add_host("mx0.stream.test", lab.addr(0))
        .add_host("mx1.stream.test", lab.addr(1))
        .add("a.stream.test", Data::Mx(10, "mx0.stream.test".into()))
        .add("b.stream.test", Data::Mx(10, "mx1.stream.test".into()))
        .add("c.stream.test", Data::Mx(10, "mx0.stream.test".into()));
    zone
}

/// `relayscan scan --domains -` through `resolver`, its stdin a pipe for the test to feed.
fn scan_stdin(resolver: &str, prefix: &Path, extra: &[&str]) -> Child {
    relayscan()
        .args([
            "scan",
            "--domains",
            "-",
            "--resolver",
            resolver,
            "--no-progress",
        ])
        .args(extra)
        .arg("-o")
        .arg(prefix)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn domains_on_a_pipe_held_open_are_written_before_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let lab = LabProcess::start(
        nets::DOMAIN_STREAM.lab_network(),
        dir.path(),
        &["--persona", "closed", "--hosts", "2"],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dns_at = SocketAddr::new(IpAddr::V4(nets::DOMAIN_STREAM.host(254)), 0);
    let dns = runtime
        .block_on(LabDns::start(dns_at, zone(&lab)))
        .expect("the zone's DNS server");
    let resolver = dns.addr().to_string();
    let prefix = dir.path().join("scan");
    let port = lab.port_arg();
    let mut child = scan_stdin(
        &resolver,
        &prefix,
        &["--dkim-selectors", "none", "-p", &port],
    );
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "a.stream.test").unwrap();
    stdin.flush().unwrap();
    // The first domain's record appears while the pipe is still open: a state, not a time.
    let jsonl = prefix.with_extension("jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&jsonl).is_ok_and(|t| t.contains("\"domain\":\"a.stream.test\""))
    {
        assert!(
            Instant::now() < deadline,
            "no record for a.stream.test in 60 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan ended with its input open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the scan ended with its input open"
    );
    writeln!(stdin, "b.stream.test\nc.stream.test").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let domains: Vec<String> = read_domain_records(&jsonl)
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(domains[0], "a.stream.test", "{domains:?}");
    let mut sorted = domains.clone();
    sorted.sort();
    assert_eq!(sorted, ["a.stream.test", "b.stream.test", "c.stream.test"]);
    // mx0 serves a and c: probed once, and c's record carries its verdict.
    let hosts = read_jsonl(&jsonl);
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    let verdict = |name: &str| {
        let d = read_domain_records(&jsonl)
            .into_iter()
            .find(|d| d["domain"] == name)
            .unwrap();
        d["mx"][0]["addresses"][0]["endpoints"][0]["verdict"].clone()
    };
    assert_eq!(verdict("c.stream.test"), "relay-denied");
    assert_eq!(verdict("a.stream.test"), verdict("c.stream.test"));
    // The closing line counts what was read, not a total guessed beforehand.
    let err = stderr(&out);
    assert!(
        err.contains("3 mail domains read lazily; 2 endpoints probed"),
        "{err}"
    );
    drop(lab);
    drop(dns);
}

/// A bad line on standard input cannot be refused before the run starts: the run stops
/// where it is met, with exit 2 and the line named.
#[test]
fn a_bad_line_on_stdin_stops_the_run_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("scan");
    let dns_at = SocketAddr::new(IpAddr::V4(nets::DOMAIN_STREAM.host(253)), 0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dns = runtime
        .block_on(LabDns::start(dns_at, Zone::new("stream.test")))
        .expect("the zone's DNS server");
    let resolver = dns.addr().to_string();
    let mut child = scan_stdin(&resolver, &prefix, &[]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "gone.stream.test\n192.0.2.7").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("<stdin>:2: \"192.0.2.7\": not a mail domain"),
        "{err}"
    );
    drop(dns);
}
