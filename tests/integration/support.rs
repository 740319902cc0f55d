//! Test support: run the real binary, start a lab process on a loopback network, read reports.

use std::ffi::OsStr;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use relayscan::report::ScanRecord;
use relayscan_lab::launcher::{LabLauncher, LabReady, RunningLab};

pub mod browser;
pub mod conclusions;
pub mod hostile;
pub mod nets;
pub mod personas;
pub mod skip;

/// The files in `dir`, by name, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that relayscan refused its command line (`what`, for messages): exit 2, a
/// message on stderr holding `expected`, nothing on stdout.
pub fn assert_refused(out: &Output, what: &str, expected: &str) {
    assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(out));
    assert!(stderr(out).contains(expected), "{what}: {}", stderr(out));
    assert_eq!(stdout(out), "", "{what}");
}

/// The relayscan binary under test.
pub fn relayscan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relayscan"))
}

/// Runs relayscan with `args`, failing the test if it does not end within `limit`.
pub fn run(args: &[&str], limit: Duration) -> Output {
    let mut command = relayscan();
    command.args(args);
    run_command(command, args, limit)
}

/// The script that starts relayscan in a network namespace of its own: loopback up, and
/// relayscan only once the namespace is seen to have no route out (exit 99 otherwise).
const NO_ROUTE_OUT: &str = "ip link set lo up || exit 98
if ip route get 192.0.2.1 >/dev/null 2>&1 || ip -6 route get 2001:db8::1 >/dev/null 2>&1; then exit 99; fi
exec \"$@\"";

/// True (after saying SKIPPED) when this machine cannot make the network namespace
/// [`run_without_a_route_out`] needs (not root).
pub fn no_namespace() -> bool {
    skip::unless(&[skip::Need::Root(
        "unshare -n: a network namespace with no route out",
    )])
}

/// Runs relayscan with `args` inside a new network namespace (`unshare -n`, needs root)
/// where only loopback exists, so that nothing it might send could leave the machine:
/// for command lines that must be refused, such as a scan of 0.0.0.0/0. Never falls back
/// to running outside: without the namespace, unshare fails and relayscan never starts.
pub fn run_without_a_route_out(args: &[&str], limit: Duration) -> Output {
    let mut command = Command::new("unshare");
    command
        .args(["-n", "sh", "-c", NO_ROUTE_OUT, "sh"])
        .arg(env!("CARGO_BIN_EXE_relayscan"))
        .args(args);
    run_command(command, args, limit)
}

/// Runs `command` (relayscan `args`, for messages), failing the test if it does not end
/// within `limit`.
pub fn run_command(mut command: Command, args: &[&str], limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relayscan");
    // Both pipes are read while the child runs: one that fills its pipe (64 KiB, e.g. a
    // --transcript of many hosts) would otherwise block on it and never end.
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "relayscan {args:?} did not finish within {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Runs `relayscan scan` with `args`, whose `-o` is `prefix`, and expects exit 0 and one
/// JSONL record for each of `addrs`: returns those, in the order of `addrs`.
pub fn scan_each(args: &[&str], prefix: &Path, addrs: &[IpAddr]) -> Vec<ScanRecord> {
    let out = run(args, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&prefix.with_extension("jsonl"));
    assert_eq!(records.len(), addrs.len(), "{}", stderr(&out));
    addrs
        .iter()
        .map(|&ip| {
            records
                .iter()
                .find(|r| r.ip == ip)
                .unwrap_or_else(|| panic!("no record for {ip}: {}", stderr(&out)))
                .clone()
        })
        .collect()
}

/// Runs `scan` twice at the same time, as it is and with `--no-pipelining`: it gets a name
/// for its reports and the flags to add. Returns [pipelined, one command at a time].
pub fn both_ways<T: Send>(scan: impl Fn(&str, &[&str]) -> T + Sync) -> [T; 2] {
    let scan = &scan;
    std::thread::scope(|s| {
        [
            ("pipelined", &[][..]),
            ("unpipelined", &["--no-pipelining"][..]),
        ]
        .map(|(name, flags)| s.spawn(move || scan(name, flags)))
        .map(|h| h.join().expect("scan thread"))
    })
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes)
            .expect("read a pipe of relayscan");
        bytes
    })
}

/// A `relayscan lab` process; killed when dropped. Started by the lab crate's launcher,
/// which the benchmarks share.
pub struct LabProcess {
    lab: RunningLab,
    pub port: u16,
    pub network: Ipv4Addr,
    pub log: PathBuf,
    pub hosts: usize,
    /// The implicit-TLS port, when the lab has a persona that speaks TLS first.
    pub tls_port: Option<u16>,
    /// The lab's DNS server, when started with `--dns-port`.
    pub dns: Option<std::net::SocketAddr>,
}

impl LabProcess {
    /// Starts `relayscan lab --bind NET/24 --port 0` with extra flags, waits until ready.
    pub fn start(network: Ipv4Addr, dir: &Path, extra: &[&str]) -> LabProcess {
        let log = dir.join(format!("lab-{network}.jsonl"));
        let lab = LabLauncher::new(env!("CARGO_BIN_EXE_relayscan"), format!("{network}/24"))
            .args([OsStr::new("--log"), log.as_os_str()])
            .args(extra)
            .start()
            .unwrap_or_else(|e| panic!("{e}"));
        let LabReady {
            hosts,
            port,
            tls_port,
            dns,
        } = lab.ready;
        LabProcess {
            lab,
            port,
            network,
            log,
            hosts,
            tls_port,
            dns,
        }
    }

    /// The address holding the n-th host (0-based), as the lab assigns them: .1 upwards.
    pub fn addr(&self, n: usize) -> IpAddr {
        self.lab.host_ip(n)
    }

    /// The first `count` lab addresses as a range target.
    pub fn range(&self, count: usize) -> String {
        format!("{}-{}", self.addr(0), self.addr(count - 1))
    }

    pub fn port_arg(&self) -> String {
        self.port.to_string()
    }

    /// The lab addresses that received any command so far.
    pub fn addresses_reached(&self) -> std::collections::HashSet<IpAddr> {
        self.received()
            .iter()
            .map(|c| {
                let host = c["host"].as_str().expect("a lab log line names its host");
                host.parse::<std::net::SocketAddr>()
                    .unwrap_or_else(|e| panic!("lab host {host:?}: {e}"))
                    .ip()
            })
            .collect()
    }

    /// Every command line the lab received so far.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("lab log line is JSON"))
            .collect()
    }
}

/// Reads a JSONL report into records.
pub fn read_jsonl(path: &Path) -> Vec<ScanRecord> {
    jsonl_lines(path)
        .into_iter()
        .filter(|(_, v)| v.get("record").is_none())
        .map(|(n, v)| {
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{}:{n}: {e}", path.display()))
        })
        .collect()
}

/// The domain records of a JSONL report (`"record":"domain"`), in file order.
pub fn read_domain_records(path: &Path) -> Vec<serde_json::Value> {
    jsonl_lines(path)
        .into_iter()
        .filter(|(_, v)| v["record"] == "domain")
        .map(|(_, v)| v)
        .collect()
}

/// Every line of a JSONL report as JSON, with its 1-based line number.
fn jsonl_lines(path: &Path) -> Vec<(usize, serde_json::Value)> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(n, l)| {
            let v = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            (n + 1, v)
        })
        .collect()
}

/// Reads a CSV report into header + rows, with the csv crate.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let header = reader
        .headers()
        .expect("csv header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("csv row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Reads the JSON document report.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The entry of `domain` in the JSON report's `domains` section.
pub fn domain_entry<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["domains"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["domain"] == name))
        .unwrap_or_else(|| panic!("{name} missing from the domains section: {doc}"))
}

/// The detail of finding `id` of a JSON domain entry; panics, showing the entry, when it
/// has none.
pub fn domain_finding_detail<'a>(d: &'a serde_json::Value, id: &str) -> &'a str {
    d["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["id"] == id))
        .and_then(|x| x["detail"].as_str())
        .unwrap_or_else(|| panic!("no {id} in {d}"))
}

pub fn domain_finding_ids(d: &serde_json::Value) -> Vec<String> {
    d["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
