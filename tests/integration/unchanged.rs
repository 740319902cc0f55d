//! Today's conclusions are main's from before the dialogue redesign (commit 31795cf): the status, verdict, open tests, any-recipient flag and findings of every lab persona, hostile server, Postfix and aiosmtpd policy, in every scan mode main was captured in.
//!
//! tests/fixtures/main-31795cf/conclusions.jsonl holds what main concluded (its README says
//! how it was made; [`CHANGED_SINCE_MAIN`] lists the conclusions changed on purpose since, each
//! with its reason), keyed by bed, mode and server name, so that personas added later, at
//! whatever host number, change nothing here; servers that the fixture lacks are not looked
//! at. The lab (of the fixture's personas only) and the hostile lab are scanned once for
//! the module, every mode at once but the lab's first (see [`LAB`]); Postfix and aiosmtpd are
//! the shared test beds of postfix.rs and postfix_aiosmtpd.rs, each scanned pipelined and
//! with `--no-pipelining`. Each test names every difference in one message.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use relayscan::report::ScanRecord;
use relayscan_lab::Persona;
use relayscan_lab::hostile::Misbehaviour;
use serde::Deserialize;

use crate::support::conclusions::Conclusions;
use crate::support::personas::start_lab;
use crate::support::{LabProcess, hostile, nets, read_jsonl, run, stderr};

/// What main concluded, one line per record it wrote.
const FIXTURE: &str = "tests/fixtures/main-31795cf/conclusions.jsonl";

/// Where a record comes from: which bed, scanned how, which server, on which port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
struct Key {
    /// lab, hostile, postfix or aiosmtpd.
    bed: String,
    /// The capture's name for the flags of the scan.
    mode: String,
    /// The persona, hostile server or policy.
    server: String,
    /// `plain`, or `implicit-tls` (the implicit-TLS persona's TLS-first port).
    port: String,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Key {
            bed,
            mode,
            server,
            port,
        } = self;
        write!(f, "{bed} {mode}: {server} ({port})")
    }
}

/// A line of the fixture.
#[derive(Deserialize)]
struct Expected {
    #[serde(flatten)]
    key: Key,
    /// What the mode adds to the capture's scan command.
    flags: Vec<String>,
    #[serde(flatten)]
    conclusions: Conclusions,
}

static EXPECTED: LazyLock<Vec<Expected>> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"));
    let lines: Vec<Expected> = text
        .lines()
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{FIXTURE}:{}: {e}", n + 1))
        })
        .collect();
    let mut keys: Vec<&Key> = lines.iter().map(|e| &e.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), lines.len(), "{FIXTURE}: a key twice");
    let mut lines = lines;
    for change in CHANGED_SINCE_MAIN {
        change.apply(&mut lines);
    }
    lines
});

/// A conclusion changed on purpose since main: the fixture keeps what main concluded, this
/// says what replaced it and why. It must name a line of the fixture and differ from it
/// (so that a stale entry fails), and today's record must equal it like any other.
struct Changed {
    /// `bed mode: server (port)`, as [`Key`] displays itself.
    key: &'static str,
    /// The conclusions today, as a fixture line spells them.
    now: &'static str,
    why: &'static str,
}

const CHANGED_SINCE_MAIN: &[Changed] = &[Changed {
    key: "lab never: auth-before-tls (plain)",
    now: r#"{"status":"completed","verdict":"auth-required","open_tests":[],"accepts_any_recipient":false,"findings":["auth-before-tls:high"]}"#,
    why: "issue 19: its 530 says \"Authentication required\", a demand for AUTH (smtp::demanded); main took every 530 from a server offering STARTTLS for a demand for TLS, and with --starttls never said inconclusive, against the persona's designed verdict (auth-required) and its own in every other mode",
}];

impl Changed {
    fn apply(&self, lines: &mut [Expected]) {
        let line = lines
            .iter_mut()
            .find(|e| e.key.to_string() == self.key)
            .unwrap_or_else(|| panic!("{FIXTURE} has no {}: {}", self.key, self.why));
        let now: Conclusions =
            serde_json::from_str(self.now).unwrap_or_else(|e| panic!("{}: {e}", self.key));
        assert_ne!(
            line.conclusions, now,
            "{}: main concluded this already; drop the entry",
            self.key
        );
        line.conclusions = now;
    }
}

fn expected(bed: &str) -> impl Iterator<Item = &'static Expected> {
    EXPECTED.iter().filter(move |e| e.key.bed == bed)
}

/// A scan mode: the capture's name for it and the flags it adds.
type Mode = (&'static str, &'static [String]);

/// The modes of `bed`, in the fixture's order, which is the capture's.
fn modes(bed: &str) -> Vec<Mode> {
    let mut modes: Vec<Mode> = Vec::new();
    for e in expected(bed) {
        match modes.iter().find(|(mode, _)| *mode == e.key.mode) {
            None => modes.push((&e.key.mode, &e.flags)),
            Some((mode, flags)) => assert_eq!(
                *flags, e.flags,
                "{FIXTURE}: {bed} mode {mode} with two sets of flags"
            ),
        }
    }
    assert!(!modes.is_empty(), "{FIXTURE} has no {bed} line");
    modes
}

/// The servers of `bed`, in the fixture's order (main's host order).
fn servers(bed: &str) -> Vec<&'static str> {
    let mut servers: Vec<&str> = Vec::new();
    for e in expected(bed) {
        if !servers.contains(&e.key.server.as_str()) {
            servers.push(&e.key.server);
        }
    }
    servers
}

/// Fails naming every difference between what this binary concluded (`seen`) and what
/// main did for `bed`: changed, missing and extra records. Records of servers that the
/// fixture lacks (added since) are left out.
fn assert_unchanged(bed: &str, seen: &[(Key, Conclusions)]) {
    let known = servers(bed);
    let mut differences = Vec::new();
    let mut today: BTreeMap<&Key, &Conclusions> = BTreeMap::new();
    for (key, conclusions) in seen {
        if known.contains(&key.server.as_str()) && today.insert(key, conclusions).is_some() {
            differences.push(format!("{key}: two records"));
        }
    }
    let mut compared = 0;
    for e in expected(bed) {
        compared += 1;
        match today.remove(&e.key) {
            None => differences.push(format!("{}: no record; main had {}", e.key, e.conclusions)),
            Some(now) if *now != e.conclusions => differences.push(format!(
                "{}:\n    main:  {}\n    today: {now}",
                e.key, e.conclusions
            )),
            Some(_) => {}
        }
    }
    for (key, now) in today {
        differences.push(format!("{key}: a record main did not write: {now}"));
    }
    assert!(
        differences.is_empty(),
        "{} of {compared} {bed} conclusions differ from main's ({FIXTURE}):\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Scans of a lab whose host n plays `servers[n]`, with the capture's flags (rate, seed,
/// the plain and implicit-TLS ports).
struct LabScan<'a> {
    lab: &'a LabProcess,
    servers: &'a [&'a str],
    bed: &'a str,
    dir: &'a Path,
}

impl LabScan<'_> {
    /// Scans `targets` with the capture's flags, `extra` and the mode's; returns each
    /// record's key and conclusions.
    fn run(
        &self,
        name: &str,
        mode: Mode,
        targets: &[String],
        extra: &[String],
    ) -> Vec<(Key, Conclusions)> {
        let lab = self.lab;
        let prefix = self.dir.join(name);
        let (ports, tls_ports) = match lab.tls_port {
            Some(tls) => (format!("{},{tls}", lab.port), tls.to_string()),
            None => (lab.port_arg(), String::from("465")),
        };
        let mut args = vec!["scan"];
        args.extend(targets.iter().map(String::as_str));
        args.extend(["-p", &ports, "--tls-ports", &tls_ports]);
        args.extend(["--rate", "1000", "-q", "--seed", "7", "--format", "jsonl"]);
        args.extend(["-o", prefix.to_str().expect("utf-8 path")]);
        args.extend(extra.iter().chain(mode.1).map(String::as_str));
        let out = run(&args, Duration::from_secs(120));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        read_jsonl(&prefix.with_extension("jsonl"))
            .iter()
            .map(|r| {
                let host = (0..self.servers.len())
                    .find(|&n| lab.addr(n) == r.ip)
                    .unwrap_or_else(|| panic!("{} is no host of the {} lab", r.ip, self.bed));
                let port = if Some(r.port) == lab.tls_port {
                    "implicit-tls"
                } else {
                    "plain"
                };
                let key = Key {
                    bed: self.bed.into(),
                    mode: mode.0.into(),
                    server: self.servers[host].into(),
                    port: port.into(),
                };
                (key, Conclusions::of(r))
            })
            .collect()
    }
}

/// The fixture's personas, each mode of the capture; the lab has stopped.
///
/// The capture scanned one lab, mode after mode in the fixture's order, so only its first
/// mode met a greylister that had seen none of the catalogue's (client, sender, recipient)
/// triplets, and every later mode met one that had seen them all. Here too the first mode
/// runs alone, then the others at once: each meets the greylister as its capture did.
///
/// Default timeouts (10 s a reply, 60 s a host), not the capture's 2 s and 4 s: every
/// persona ends its dialogue by itself (no lab line of the fixture has a timeout status,
/// checked here), so the timeouts decided nothing, and under load 2 s could cut the slow
/// greeting's 1.5 s teaser short.
static LAB: LazyLock<Vec<(Key, Conclusions)>> = LazyLock::new(|| {
    let timed_out: Vec<String> = expected("lab")
        .filter(|e| e.conclusions.status.ends_with("-timeout"))
        .map(|e| e.key.to_string())
        .collect();
    assert!(timed_out.is_empty(), "timeouts decided {timed_out:?}");
    let servers = servers("lab");
    let personas: Vec<Persona> = servers
        .iter()
        .map(|name| {
            Persona::from_name(name)
                .unwrap_or_else(|| panic!("{FIXTURE}: {name} is no lab persona any more"))
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    // --tls-port 0: the implicit-TLS persona also listens TLS-first, as in the capture.
    let lab = start_lab(
        nets::UNCHANGED_LAB,
        dir.path(),
        &personas,
        &["--tls-port", "0"],
    );
    let scan = LabScan {
        lab: &lab,
        servers: &servers,
        bed: "lab",
        dir: dir.path(),
    };
    let targets = [lab.range(personas.len())];
    let modes = modes("lab");
    let (first, later) = modes.split_first().expect("lab modes");
    let mut seen = scan.run(first.0, *first, &targets, &[]);
    std::thread::scope(|s| {
        let handles: Vec<_> = later
            .iter()
            .map(|&mode| {
                let (scan, targets) = (&scan, &targets);
                s.spawn(move || scan.run(mode.0, mode, targets, &[]))
            })
            .collect();
        for h in handles {
            seen.extend(h.join().expect("scan thread"));
        }
    });
    seen
});

/// Every hostile server, each mode of the capture, all at once; the lab has stopped. Each
/// mode is the two scans of `support::hostile` (the tarpit at a 4 s deadline, the others
/// at one that load cannot reach) instead of the capture's one at 2 s and 4 s: the tarpit
/// still ends at the deadline (host-timeout) and the silent server at the 2 s read timeout
/// (io-timeout), the others by themselves.
static HOSTILE: LazyLock<Vec<(Key, Conclusions)>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = LabProcess::start(
        nets::UNCHANGED_HOSTILE.lab_network(),
        dir.path(),
        &["--hostile"],
    );
    let servers: Vec<&str> = Misbehaviour::ALL.iter().map(|m| m.name()).collect();
    let scan = LabScan {
        lab: &lab,
        servers: &servers,
        bed: "hostile",
        dir: dir.path(),
    };
    let parts = hostile::parts();
    let modes = modes("hostile");
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for &mode in &modes {
            for (n, part) in parts.iter().enumerate() {
                let scan = &scan;
                handles.push(s.spawn(move || {
                    let name = format!("{}-{n}", mode.0);
                    scan.run(&name, mode, &part.targets(scan.lab), &part.timeout_flags())
                }));
            }
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("scan thread"))
            .collect()
    })
});

/// The records of a real-MTA test bed, (policy, pipelined, `--no-pipelining`) each, keyed
/// by the fixture's two modes of `bed`, which must be those two scans.
fn mta_conclusions<'a>(
    bed: &str,
    scanned: impl Iterator<Item = (&'a str, &'a ScanRecord, &'a ScanRecord)>,
) -> Vec<(Key, Conclusions)> {
    let modes = modes(bed);
    let flags: Vec<&[String]> = modes.iter().map(|&(_, flags)| flags).collect();
    assert_eq!(
        flags,
        [&[][..], &[String::from("--no-pipelining")][..]],
        "{FIXTURE}: the {bed} test bed is scanned as it is and with --no-pipelining"
    );
    let key = |mode: &str, policy: &str| Key {
        bed: bed.into(),
        mode: mode.into(),
        server: policy.into(),
        port: "plain".into(),
    };
    scanned
        .flat_map(|(policy, pipelined, unpipelined)| {
            [
                (key(modes[0].0, policy), Conclusions::of(pipelined)),
                (key(modes[1].0, policy), Conclusions::of(unpipelined)),
            ]
        })
        .collect()
}

#[test]
fn every_lab_persona_concludes_as_main_did_in_every_mode() {
    assert_unchanged("lab", &LAB);
}

#[test]
fn every_hostile_server_concludes_as_main_did_with_and_without_pipelining() {
    assert_unchanged("hostile", &HOSTILE);
}

#[test]
fn postfix_concludes_as_main_did_with_and_without_pipelining() {
    let Some(bed) = crate::postfix::test_bed() else {
        return;
    };
    let scanned = bed
        .iter()
        .map(|s| (s.policy.as_str(), &s.record, &s.unpipelined));
    assert_unchanged("postfix", &mta_conclusions("postfix", scanned));
}

#[test]
fn aiosmtpd_concludes_as_main_did_with_and_without_pipelining() {
    let Some(bed) = crate::postfix_aiosmtpd::test_bed() else {
        return;
    };
    let scanned = bed.iter().map(|s| (s.policy, &s.record, &s.unpipelined));
    assert_unchanged("aiosmtpd", &mta_conclusions("aiosmtpd", scanned));
}
