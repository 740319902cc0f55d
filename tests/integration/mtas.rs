//! Every common MTA beside Postfix, for real: Exim, OpenSMTPD and Sendmail, one instance per case of tests/mta/cases.json, started and scanned by the real binary inside a network namespace of their own; every verdict must be the case's, and audit-config on the configuration each instance runs must agree with its probe.
//!
//! These daemons ask the system resolver at start-up whatever their configuration says,
//! so nothing of the test bed runs out here: tests/mta/sealed.sh (new network, mount, PID
//! and UTS namespaces: only loopback, a resolv.conf naming a dead loopback address) runs
//! tests/mta/testbed.sh, which starts every case on its own address of `nets::MTA_*`
//! (tests/mta/mta-instance.sh), scans them all four ways (STARTTLS where offered or never,
//! pipelined or not) and stops them; every process in the namespace dies with it. This
//! module reads what it left. Needs root and the MTAs of tests/mta/unpack-mtas.sh
//! (`.ci/run` calls it): elsewhere each test says SKIPPED and why; under `CI=true` a
//! missing MTA fails it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use relayscan::assess::{FindingId, Verdict};
use relayscan::probe::Status;
use relayscan::report::ScanRecord;
use serde::Deserialize;

use crate::audit::{assert_audit_and_probe_agree, audit_json, default_gate_code, findings_of};
use crate::postfix::{assert_never_data, mta_dir};
use crate::support::skip::{self, Need};
use crate::support::{nets, read_jsonl};

/// tests/mta/cases.json.
#[derive(Debug, Deserialize)]
struct Table {
    port: u16,
    cases: Vec<Case>,
}

/// One case of the test bed and what a correct scanner concludes about it.
#[derive(Debug, Deserialize)]
struct Case {
    mta: String,
    case: String,
    address: Ipv4Addr,
    /// The verdict with `--starttls never`.
    plaintext: Verdict,
    /// The verdict with the defaults: STARTTLS where offered, the tests over TLS once
    /// it is established.
    default: Verdict,
    /// Whether that STARTTLS is established: the MTA's TLS works for the case.
    tls: bool,
    /// Words the reason of the default scan must hold.
    reason: Vec<String>,
}

impl Case {
    fn name(&self) -> String {
        format!("{} {} at {}", self.mta, self.case, self.address)
    }

    /// The case's configuration files: tests/mta/MTA/CASE.conf, or CASE.mc and the access
    /// map CASE.access when there is one.
    fn files(&self) -> Vec<PathBuf> {
        let dir = mta_dir().join(&self.mta);
        match self.mta.as_str() {
            "sendmail" => [".mc", ".access"]
                .iter()
                .map(|ext| dir.join(format!("{}{ext}", self.case)))
                .filter(|p| p.exists() || p.extension().is_some_and(|e| e == "mc"))
                .collect(),
            _ => vec![dir.join(format!("{}.conf", self.case))],
        }
    }
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let path = mta_dir().join("cases.json");
    let text = std::fs::read_to_string(&path).expect("tests/mta/cases.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
});

/// The scans of tests/mta/testbed.sh, by the name of their report.
const SCANS: [(&str, Mode); 4] = [
    ("default", Mode::Default),
    ("default-unpipelined", Mode::Default),
    ("plaintext", Mode::Plaintext),
    ("plaintext-unpipelined", Mode::Plaintext),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// STARTTLS where offered.
    Default,
    /// `--starttls never`.
    Plaintext,
}

/// The unpacked MTAs (tests/mta/unpack-mtas.sh's default folder).
const ROOT: &str = "/var/cache/relayscan-mtas/root";

const NEEDS: &[Need] = &[
    Need::Root("the test bed runs in namespaces of its own (unshare), and the MTAs start as root"),
    Need::Tool {
        names: &["unshare"],
        install: "apt-get install util-linux",
    },
    Need::Tool {
        names: &["/usr/bin/swaks"],
        install: "apt-get install swaks",
    },
    Need::Tool {
        names: &["m4"],
        install: "tests/mta/unpack-mtas.sh",
    },
    Need::Tool {
        names: &["/usr/bin/openssl"],
        install: "apt-get install openssl",
    },
    Need::File("/var/cache/relayscan-mtas/root/usr/sbin/exim4"),
    Need::File("/var/cache/relayscan-mtas/root/usr/sbin/smtpd"),
    Need::File("/var/cache/relayscan-mtas/root/usr/libexec/sendmail/sendmail"),
    Need::File("/var/cache/relayscan-mtas/root/usr/share/sendmail/cf/m4/cf.m4"),
];

/// What the sealed test bed left behind.
struct Bed {
    /// Its folder: one instance folder per case, the reports, startup-ms.
    dir: tempfile::TempDir,
    /// Each scan's records by address.
    records: BTreeMap<&'static str, BTreeMap<IpAddr, ScanRecord>>,
}

impl Bed {
    fn record(&self, scan: &str, case: &Case) -> &ScanRecord {
        self.records
            .get(scan)
            .and_then(|by_ip| by_ip.get(&IpAddr::V4(case.address)))
            .unwrap_or_else(|| panic!("{}: no record in the {scan} scan", case.name()))
    }

    /// Where the instance of `case` keeps `path` (testbed.sh's OUT/MTA-CASE folder).
    fn instance_path(&self, case: &Case, path: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}-{}", case.mta, case.case))
            .join(path)
    }

    /// A file the instance of `case` left, e.g. its log.
    fn instance_file(&self, case: &Case, path: &str) -> String {
        let file = self.instance_path(case, path);
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }

    /// The configuration the instance of `case` runs, as audit-config is to read it: the
    /// case's files, but for Sendmail the .cf the instance was started with (m4's output less
    /// Relay_ok's built-in 127.0.0.1 rule, mta-instance.sh) in place of the .mc.
    fn running_configuration(&self, case: &Case) -> Vec<String> {
        let mut files = case.files();
        if case.mta == "sendmail" {
            files[0] = self.instance_path(case, "sendmail.cf");
        }
        files.iter().map(|f| f.display().to_string()).collect()
    }
}

/// The sealed run; panics with its output when it failed.
static BED: LazyLock<Bed> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = &*TABLE;
    let mut args: Vec<String> = vec![
        mta_dir().join("testbed.sh").display().to_string(),
        dir.path().display().to_string(),
        env!("CARGO_BIN_EXE_relayscan").to_string(),
        table.port.to_string(),
    ];
    args.extend(
        table
            .cases
            .iter()
            .map(|c| format!("{}:{}@{}", c.mta, c.case, c.address)),
    );
    let started = Instant::now();
    let out = Command::new(mta_dir().join("sealed.sh"))
        .args(&args)
        .env("RELAYSCAN_MTA_ROOT", ROOT)
        .env(
            "RELAYSCAN_SWAKS_FROM",
            nets::MTA_SWAKS_CLIENT.host(0).to_string(),
        )
        .output()
        .expect("run tests/mta/sealed.sh");
    let total = started.elapsed();
    assert!(
        out.status.success(),
        "the sealed test bed failed:\n{}",
        both(&out)
    );
    let startup_ms: u64 = std::fs::read_to_string(dir.path().join("startup-ms"))
        .expect("startup-ms")
        .trim()
        .parse()
        .expect("milliseconds");
    let records = SCANS
        .iter()
        .map(|(scan, _)| {
            let by_ip = read_jsonl(&dir.path().join(format!("{scan}.jsonl")))
                .into_iter()
                .map(|r| (r.ip, r))
                .collect();
            (*scan, by_ip)
        })
        .collect();
    // Reported, never asserted: speed is the benches' business, not the tests'.
    let startup = Duration::from_millis(startup_ms);
    eprintln!(
        "mtas: {} cases started in {startup:?}; the sealed run (start, four scans, stop) took {total:?}",
        table.cases.len()
    );
    Bed { dir, records }
});

fn both(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The scanned test bed; `None` after skipping (no root, no unpacked MTAs).
fn bed() -> Option<&'static Bed> {
    if skip::unless(NEEDS) {
        return None;
    }
    Some(&BED)
}

/// The network of `mta` in `nets`.
fn net(mta: &str) -> nets::Net {
    match mta {
        "exim" => nets::MTA_EXIM,
        "opensmtpd" => nets::MTA_OPENSMTPD,
        "sendmail" => nets::MTA_SENDMAIL,
        other => panic!("no network for the MTA {other}"),
    }
}

#[test]
fn every_case_has_its_files_naming_its_address_and_every_file_its_case() {
    let table = &*TABLE;
    let mut listed: Vec<PathBuf> = Vec::new();
    for case in &table.cases {
        assert!(
            net(&case.mta).contains(case.address),
            "{}: outside {:?}",
            case.name(),
            net(&case.mta)
        );
        let files = case.files();
        let main = std::fs::read_to_string(&files[0])
            .unwrap_or_else(|e| panic!("{}: {e}", files[0].display()));
        assert!(
            main.contains(&case.address.to_string()) && main.contains(&table.port.to_string()),
            "{} must listen on {}:{}",
            files[0].display(),
            case.address,
            table.port
        );
        listed.extend(files);
    }
    let mut on_disk: Vec<PathBuf> = ["exim", "opensmtpd", "sendmail"]
        .iter()
        .flat_map(|mta| {
            std::fs::read_dir(mta_dir().join(mta))
                .expect("tests/mta/MTA")
                .map(|e| e.expect("entry").path())
        })
        .collect();
    on_disk.sort();
    listed.sort();
    assert_eq!(on_disk, listed, "a case file that cases.json does not list");
    let mut addresses: Vec<Ipv4Addr> = table.cases.iter().map(|c| c.address).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(
        addresses.len(),
        table.cases.len(),
        "two cases on one address"
    );
}

#[test]
fn every_case_gets_its_verdict_pipelined_or_not_with_starttls_or_without() {
    let Some(bed) = bed() else { return };
    let mut wrong = Vec::new();
    for case in &TABLE.cases {
        for (scan, mode) in SCANS {
            let r = bed.record(scan, case);
            let want = match mode {
                Mode::Default => case.default,
                Mode::Plaintext => case.plaintext,
            };
            if r.status != Status::Completed || r.verdict != Some(want) {
                wrong.push(format!(
                    "{} ({scan}): {:?} {:?}, want {want}: {}",
                    case.name(),
                    r.status,
                    r.verdict,
                    r.reason.as_deref().unwrap_or("")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn reasons_quote_what_each_server_said() {
    let Some(bed) = bed() else { return };
    for case in &TABLE.cases {
        for scan in ["default", "default-unpipelined"] {
            let reason = bed.record(scan, case).reason.clone().unwrap_or_default();
            for word in &case.reason {
                assert!(
                    reason.contains(word.as_str()),
                    "{} ({scan}): {word:?} not in {reason:?}",
                    case.name()
                );
            }
        }
    }
}

#[test]
fn opensmtpd_asking_for_auth_is_auth_required_in_its_own_words() {
    // The one wrong verdict: STARTTLS offered, the handshake fails, and every MAIL
    // gets a 530 that names AUTH. Not "asks for STARTTLS": it asked for authentication.
    let Some(bed) = bed() else { return };
    let case = TABLE
        .cases
        .iter()
        .find(|c| c.mta == "opensmtpd" && c.case == "auth")
        .expect("the OpenSMTPD auth case");
    for (scan, _) in SCANS {
        let r = bed.record(scan, case);
        assert_eq!(
            r.verdict,
            Some(Verdict::AuthRequired),
            "{scan}: {:?}",
            r.reason
        );
        let reason = r.reason.as_deref().unwrap_or("");
        assert!(
            reason.contains("530 5.5.1 Invalid command: Must issue an AUTH command first")
                && !reason.contains("STARTTLS"),
            "{scan}: {reason}"
        );
    }
    let r = bed.record("default", case);
    assert!(r.starttls, "OpenSMTPD offers STARTTLS here");
    let tls = r.tls.as_ref().expect("a TLS report");
    assert!(
        !tls.established,
        "Debian 12's OpenSMTPD fails the handshake"
    );
}

#[test]
fn starttls_is_established_where_the_mta_can() {
    let Some(bed) = bed() else { return };
    for case in &TABLE.cases {
        let established = |scan| {
            bed.record(scan, case)
                .tls
                .as_ref()
                .is_some_and(|t| t.established)
        };
        assert_eq!(established("default"), case.tls, "{}", case.name());
        assert_eq!(
            established("default-unpipelined"),
            case.tls,
            "{}",
            case.name()
        );
        assert!(
            !established("plaintext"),
            "{}: --starttls never",
            case.name()
        );
    }
}

#[test]
fn each_record_names_its_mta() {
    let Some(bed) = bed() else { return };
    for case in &TABLE.cases {
        let r = bed.record("default", case);
        assert_eq!(
            serde_json::to_value(r.mta).expect("mta"),
            case.mta.as_str(),
            "{}: {:?}",
            case.name(),
            r.banner
        );
    }
}

/// Issue 19: the findings name the MTA and give its own remediation, for the open relays
/// of each MTA (Exim's relay_from_hosts, OpenSMTPD's match rules, Sendmail's FEATUREs).
#[test]
fn an_open_relays_finding_gives_its_own_mtas_remedy() {
    let Some(bed) = bed() else { return };
    let mut seen = BTreeMap::new();
    for case in TABLE
        .cases
        .iter()
        .filter(|c| c.default == Verdict::OpenRelay)
    {
        let r = bed.record("default", case);
        let finding = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::OpenRelay)
            .unwrap_or_else(|| panic!("{}: no open-relay finding", case.name()));
        let (prefix, names) = match case.mta.as_str() {
            "exim" => ("Exim: ", "relay_from_hosts"),
            "opensmtpd" => ("OpenSMTPD: ", "match from any for any"),
            "sendmail" => ("Sendmail: ", "promiscuous_relay"),
            other => panic!("no remedy expected for {other}"),
        };
        assert!(
            finding.remediation.starts_with(prefix) && finding.remediation.contains(names),
            "{}: {}",
            case.name(),
            finding.remediation
        );
        *seen.entry(case.mta.clone()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 3, "an open relay of every MTA: {seen:?}");
}

/// The address every probe of the test bed comes from: the scanner binds none, and Linux
/// gives a connection to any 127.x address on lo the source of the route `local
/// 127.0.0.0/8 dev lo src 127.0.0.1`.
const PROBE_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn audit_and_probe_agree_on_every_case() {
    // audit-config runs no daemon (Sendmail's .cf is the one the bed compiled): safe here.
    let Some(bed) = bed() else { return };
    let mut rows = Vec::new();
    for case in &TABLE.cases {
        let files = bed.running_configuration(case);
        let (code, table, report) = audit_json(&files, &[]);
        assert_eq!(
            code,
            default_gate_code(&report),
            "{}: {files:?}: {table}",
            case.name()
        );
        let audit_open = report["verdict"] == "open-relay";
        let (_, trusted) = findings_of(&report);
        let networks: Vec<ipnetwork::IpNetwork> = trusted
            .iter()
            .map(|n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect();
        let trusts = |ip: IpAddr| networks.iter().any(|n| n.contains(ip));
        for (scan, _) in SCANS {
            let record = bed.record(scan, case);
            let server = format!("{} ({scan})", case.name());
            assert_audit_and_probe_agree(&server, audit_open, &trusts, &[PROBE_SOURCE], record);
        }
        rows.push(format!(
            "{:<28} audit {:<10} trusted covers {PROBE_SOURCE}: {:<5} probe {:?}",
            format!("{} {}", case.mta, case.case),
            if audit_open { "open-relay" } else { "-" },
            trusts(PROBE_SOURCE),
            bed.record("default", case).verdict,
        ));
    }
    eprintln!("{}", rows.join("\n"));
}

#[test]
fn no_mta_ever_sees_data() {
    // Not in any transcript, and the MTAs' own records agree: Exim's log would count a
    // message, Sendmail's traffic log (-X) holds every line it read, OpenSMTPD logs each
    // refused command and every message it takes.
    let Some(bed) = bed() else { return };
    for case in &TABLE.cases {
        for (scan, _) in SCANS {
            assert_never_data(bed.record(scan, case), &format!("{} ({scan})", case.name()));
        }
        let (log, data) = match case.mta.as_str() {
            "exim" => ("log/exim4/mainlog", " <= "),
            "sendmail" => ("log/traffic", "<<< DATA"),
            _ => ("daemon.log", "DATA"),
        };
        let text = bed.instance_file(case, log);
        assert!(!text.is_empty(), "{}: {log} is empty", case.name());
        assert!(
            !text.lines().any(|l| l.to_ascii_uppercase().contains(data)),
            "{}: {log} shows {data:?}\n{text}",
            case.name()
        );
    }
}

/// `relayscan logs` on the logs real Exim (its mainlog) and real Sendmail (through a
/// private syslog, mta-instance.sh) wrote while the four scans probed them: every refusal
/// line the MTA logged is read as a refused attempt from the scanner's address, nothing is
/// unreadable, and with no DATA ever sent nothing was relayed. Where relaying is denied
/// in plaintext, the two sources are the scanner (localhost) and swaks's address with its
/// two attempts to two domains (testbed.sh); the open cases refused nothing.
#[test]
fn relayscan_logs_reads_what_real_exim_and_sendmail_logged_of_the_scans() {
    let Some(bed) = bed() else { return };
    for case in TABLE.cases.iter().filter(|c| c.mta != "opensmtpd") {
        // Where the MTA logs, and the words of its relay refusals.
        let (path, refusal): (&str, &[&str]) = match case.mta.as_str() {
            "exim" => (
                "log/exim4/mainlog",
                &[" rejected RCPT ", "relay not permitted"],
            ),
            // `Relaying denied`, or `Relaying temporarily denied` (no PTR for swaks's address).
            _ => (
                "log/maillog",
                &["ruleset=check_rcpt", "Relaying ", "denied"],
            ),
        };
        let log = bed.instance_path(case, path);
        let text = bed.instance_file(case, path);
        let name = case.name();
        assert!(!text.is_empty(), "{name}: {path} is empty");
        let refusals = text
            .lines()
            .filter(|l| refusal.iter().all(|w| l.contains(w)))
            .count() as u64;
        let report = bed
            .dir
            .path()
            .join(format!("logs-{}-{}", case.mta, case.case));
        let out = crate::support::run(
            &[
                "logs",
                log.to_str().unwrap(),
                "--mta",
                &case.mta,
                "--format",
                "json",
                "-o",
                report.to_str().unwrap(),
                "-q",
            ],
            Duration::from_secs(30),
        );
        // No message was relayed (the scans never send DATA): the default gate passes.
        assert_eq!(out.status.code(), Some(0), "{name}: {}", both(&out));
        let doc: serde_json::Value = serde_json::from_slice(
            &std::fs::read(report.with_extension("json")).expect("the JSON report"),
        )
        .expect("JSON");
        let r = &doc["report"];
        assert_eq!(r["mta"], case.mta.as_str(), "{name}");
        assert_eq!(r["unreadable"]["count"], 0, "{name}: {}", r["unreadable"]);
        assert_eq!(r["totals"]["relayed_for_stranger"], 0, "{name}");
        assert_eq!(
            r["totals"]["relay_attempts_refused"], refusals,
            "{name}: {text}"
        );
        if matches!(case.plaintext, Verdict::RelayDenied) {
            // The scanner's address (the kernel's source for loopback, localhost) and
            // swaks's: nobody else.
            assert!(refusals > 2, "{name}: too few refusals logged\n{text}");
            let sources = r["refused_clients"].as_array().unwrap();
            let by = |ip: Ipv4Addr| sources.iter().find(|s| s["source"] == ip.to_string());
            assert_eq!(sources.len(), 2, "{name}: {sources:?}");
            let swaks = by(nets::MTA_SWAKS_CLIENT.host(0)).expect("swaks's address");
            assert_eq!(swaks["attempts"], 2, "{name}: {swaks}");
            let domains: Vec<&str> = swaks["recipient_domains"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| d.as_str())
                .collect();
            assert_eq!(domains, ["far.invalid", "other.invalid"], "{name}");
            let scanner = by(Ipv4Addr::LOCALHOST).expect("the scanner's address");
            assert_eq!(scanner["attempts"], refusals - 2, "{name}");
        }
        if matches!(case.plaintext, Verdict::OpenRelay) {
            assert_eq!(refusals, 0, "{name}: {text}");
        }
    }
}
