//! `relayscan logs` on real Postfix logs: the test bed's instances (open, closed, auth-only) on `nets::LOGS_POSTFIX` write their own `maillog_file`; swaks sends from its own address per role (`nets::LOGS_CLIENTS`) a relayed message, one to a local domain, refused attempts, failed SASL logins, a successful one sending to several outside recipients, and a burst; every conclusion is checked against what was sent.
//!
//! Nothing leaves loopback: the instances deliver through `discard:` (base.cf), which
//! logs `status=sent` without connecting anywhere, and look nothing up in DNS.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::postfix::{Instance, POSTFIX_NEEDS, free_port, wait_listening};
use crate::support::skip::{self, Need};
use crate::support::{nets, run};

/// swaks sends the mail; Postfix is started by tests/mta/postfix-instance.sh.
const SWAKS: &[Need] = &[Need::Tool {
    names: &["/usr/bin/swaks"],
    install: "apt-get install swaks",
}];

/// The account tests/mta/postfix-instance.sh writes into the auth-only instance's Cyrus
/// password database.
const SASL_USER: &str = "sasl-user@postfix.test";
const SASL_PASSWORD: &str = "relay-test-secret";

/// The outside recipients of the logged-in user's one message.
const USER_RECIPIENTS: [&str; 4] = [
    "one@far.invalid",
    "two@far.invalid",
    "three@other.invalid",
    "four@other.invalid",
];

/// The messages of the burst, all from one client within a few seconds: however an hour
/// boundary cuts them, one hour holds at least half.
const BURST: usize = 6;

/// One swaks session from `from_ip` to `server`; `extra` adds the role's options.
fn swaks(server: SocketAddrV4, from_ip: Ipv4Addr, extra: &[&str]) -> std::process::Output {
    Command::new("swaks")
        .args(["--server", &server.to_string()])
        .args(["--local-interface", &from_ip.to_string()])
        .args(["--timeout", "10", "--helo", "logs-test.invalid"])
        .args(extra)
        .output()
        .expect("run swaks")
}

/// Sends a whole message; it must be accepted.
fn send(server: SocketAddrV4, from_ip: Ipv4Addr, to: &str) {
    let out = swaks(
        server,
        from_ip,
        &[
            "--from",
            "spammer@sender.invalid",
            "--to",
            to,
            "--body",
            "relay test",
        ],
    );
    assert!(
        out.status.success(),
        "swaks to {to} via {server}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Waits until `instance`'s log holds `count` lines containing `needle` (postlogd writes
/// them as Postfix's processes finish); 20 s at most.
fn wait_logged(instance: &Instance, needle: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while instance.log().matches(needle).count() < count {
        assert!(
            Instant::now() < deadline,
            "{count} × {needle:?} never logged:\n{}",
            instance.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The ids of a report's findings, in order.
fn finding_ids(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["finding"]["id"].as_str().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn real_postfix_logs_give_every_conclusion() {
    if skip::unless(POSTFIX_NEEDS) || skip::unless(SWAKS) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port(nets::LOGS_POSTFIX.host(1));
    let at = |n: u32| SocketAddrV4::new(nets::LOGS_POSTFIX.host(n), port);
    let (open_at, closed_at, auth_at) = (at(1), at(2), at(3));
    let open = Instance::start("open", dir.path().join("open"), open_at);
    let closed = Instance::start("closed", dir.path().join("closed"), closed_at);
    let auth = Instance::start("auth-only", dir.path().join("auth"), auth_at);
    for (addr, what) in [
        (open_at, "open"),
        (closed_at, "closed"),
        (auth_at, "auth-only"),
    ] {
        wait_listening(addr, what);
    }
    let client = |n: u32| nets::LOGS_CLIENTS.host(n);
    let (stranger, local_sender, prober_a, prober_b, guesser, burster, user_client) = (
        client(10),
        client(11),
        client(20),
        client(21),
        client(30),
        client(40),
        client(50),
    );

    // Relayed through the open instance for a stranger, to a domain that is not local.
    send(open_at, stranger, "victim@far.invalid");
    // A stranger's mail to a local domain is no relaying.
    send(open_at, local_sender, "boss@postfix.test");
    // Refused by the closed instance: twice from one address, once from its neighbour.
    for (ip, to) in [
        (prober_a, "x@far.invalid"),
        (prober_a, "y@other.invalid"),
        (prober_b, "z@far.invalid"),
    ] {
        swaks(
            closed_at,
            ip,
            &[
                "--quit-after",
                "RCPT",
                "--from",
                "p@sender.invalid",
                "--to",
                to,
            ],
        );
    }
    // A successful SASL login, then one message to several outside recipients: a stolen
    // account's mass sending.
    let to = USER_RECIPIENTS.join(",");
    let out = swaks(
        auth_at,
        user_client,
        &[
            "--auth",
            "PLAIN",
            "--auth-user",
            SASL_USER,
            "--auth-password",
            SASL_PASSWORD,
            "--from",
            "owner@postfix.test",
            "--to",
            &to,
            "--body",
            "mass sending test",
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("235 2.7.0 Authentication successful"),
        "swaks with {SASL_USER}: {said}"
    );
    // Failed SASL logins (a user the password database does not hold).
    for _ in 0..3 {
        swaks(
            auth_at,
            guesser,
            &[
                "--quit-after",
                "AUTH",
                "--auth",
                "LOGIN",
                "--auth-user",
                "mallory",
                "--auth-password",
                "guess",
            ],
        );
    }
    // The burst.
    for n in 0..BURST {
        send(open_at, burster, &format!("burst{n}@far.invalid"));
    }
    wait_logged(&open, ": removed", 2 + BURST);
    wait_logged(&closed, "Relay access denied", 3);
    wait_logged(&auth, "authentication failed", 3);
    wait_logged(&auth, ": removed", 1);
    let logs: Vec<String> = [&open, &closed, &auth]
        .iter()
        .map(|i| i.dir().join("maillog").display().to_string())
        .collect();
    drop((open, auth));
    let closed_cf = dir.path().join("closed/main.cf");
    let prefix = dir.path().join("report/logs");
    let user_recipients = USER_RECIPIENTS.len().to_string();
    let mut args: Vec<&str> = vec!["logs"];
    args.extend(logs.iter().map(String::as_str));
    args.extend([
        "--config",
        closed_cf.to_str().unwrap(),
        "--local-domains",
        "postfix.test",
        "--sasl-failures",
        "3",
        "--hourly-messages",
        "3",
        "--user-recipients",
        &user_recipients,
        "-o",
        prefix.to_str().unwrap(),
    ]);
    let out = run(&args, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Relayed for strangers: the default gate (critical) trips.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // --config's networks come from audit-config: base.cf's mynetworks.
    assert!(
        stderr.contains("trusted to relay: 127.255.255.254/32"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(prefix.with_extension("json")).unwrap())
        .expect("the JSON report");
    let r = &doc["report"];
    assert_eq!(doc["verdict"], "open-relay");
    assert_eq!(r["mta"], "postfix");

    // Relayed for a stranger: the first message and every message of the burst, never the
    // one to the local domain; each with its client= and status=sent lines as evidence.
    let relayed = r["relayed"].as_array().unwrap();
    assert_eq!(relayed.len(), 1 + BURST, "{relayed:#?}");
    assert_eq!(r["totals"]["relayed_for_stranger"], 1 + BURST as u64);
    let from = |ip: Ipv4Addr| {
        relayed
            .iter()
            .filter(|i| i["client"] == ip.to_string())
            .count()
    };
    assert_eq!(
        (from(stranger), from(burster), from(local_sender)),
        (1, BURST, 0)
    );
    for i in relayed {
        let evidence = strings(&i["evidence"]).join("\n");
        let ip = i["client"].as_str().unwrap();
        assert!(
            evidence.contains("client=") && evidence.contains(&format!("[{ip}]")),
            "{evidence}"
        );
        assert!(evidence.contains("status=sent"), "{evidence}");
        assert_eq!(i["sender"], "spammer@sender.invalid");
        assert!(
            strings(&i["recipients"])[0].ends_with("@far.invalid"),
            "{i}"
        );
    }
    let victim = relayed
        .iter()
        .find(|i| i["client"] == stranger.to_string())
        .unwrap();
    assert_eq!(strings(&victim["recipients"]), ["victim@far.invalid"]);

    // Refused attempts: per client and per /24.
    let refused = r["refused_clients"].as_array().unwrap();
    let attempts = |ip: Ipv4Addr| {
        refused
            .iter()
            .find(|c| c["source"] == ip.to_string())
            .map(|c| c["attempts"].as_u64().unwrap())
    };
    assert_eq!(
        (attempts(prober_a), attempts(prober_b)),
        (Some(2), Some(1)),
        "{refused:#?}"
    );
    let net = &r["refused_networks"][0];
    assert_eq!(net["source"], "127.4.1.0/24");
    assert_eq!(net["attempts"], 3);
    assert_eq!(
        strings(&net["recipient_domains"]),
        ["far.invalid", "other.invalid"]
    );
    assert_eq!(strings(&net["clients"]).len(), 2);

    // Failed SASL logins.
    let sasl = &r["sasl_failures"][0];
    assert_eq!(sasl["client"], guesser.to_string());
    assert_eq!(sasl["failures"], 3);
    // Postfix logs the name in its SASL realm (smtpd_sasl_local_domain, auth-only.cf).
    assert_eq!(strings(&sasl["users"]), ["mallory@postfix.test"]);

    // The logged-in user: one message, every outside recipient, from its client; never a
    // stranger.
    let users = r["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{users:#?}");
    assert_eq!(users[0]["user"], SASL_USER);
    assert_eq!(users[0]["messages"], 1);
    assert_eq!(
        users[0]["external_recipients"],
        USER_RECIPIENTS.len() as u64
    );
    assert_eq!(strings(&users[0]["clients"]), [user_client.to_string()]);
    assert_eq!(from(user_client), 0);

    // The burst's peak hour.
    let volume = r["volume"].as_array().unwrap();
    let burst = volume
        .iter()
        .find(|v| v["who"] == burster.to_string())
        .unwrap();
    assert_eq!(burst["messages"], BURST as u64);
    assert!(
        burst["peak_per_hour"].as_u64().unwrap() >= (BURST / 2) as u64,
        "{burst}"
    );

    // The findings, each kind once per subject.
    let ids = finding_ids(r);
    let count = |id: &str| ids.iter().filter(|i| **i == id).count();
    assert_eq!(count("relayed-for-stranger"), 1 + BURST, "{ids:?}");
    assert_eq!(count("relay-attempts-refused"), 1, "{ids:?}");
    assert_eq!(count("sasl-login-failures"), 1, "{ids:?}");
    assert_eq!(count("volume-spike"), 1, "{ids:?}");
    assert_eq!(count("authenticated-mass-sending"), 1, "{ids:?}");
    assert_eq!(count("unreadable-log-lines"), 0, "{ids:?}");
    let volume_fix = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"]["id"] == "volume-spike")
        .unwrap();
    assert!(
        volume_fix["finding"]["remediation"]
            .as_str()
            .unwrap()
            .contains("smtpd_client_message_rate_limit")
    );

    // The timeline adds up to the same story.
    let sum = |key: &str| -> u64 {
        r["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!((sum("relayed"), sum("refused")), (1 + BURST as u64, 3));

    // The other formats: one CSV row per finding, the pages.
    let csv = std::fs::read_to_string(prefix.with_extension("csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + ids.len(), "{csv}");
    let md = std::fs::read_to_string(prefix.with_extension("md")).unwrap();
    assert!(md.contains("## Timeline (per hour, UTC)"), "{md}");
    let html = std::fs::read_to_string(prefix.with_extension("html")).unwrap();
    assert!(html.contains("relayed-for-stranger"));
    assert!(
        stdout.contains(&format!("{} relayed for a stranger", 1 + BURST)),
        "{stdout}"
    );

    // The open instance's own configuration trusts everyone: nobody is a stranger, and the
    // report says why; the same log, gzipped, read from stdin.
    let open_cf = dir.path().join("open/main.cf");
    let gz = dir.path().join("open.log.gz");
    let packed = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c {} > {}", logs[0], gz.display()))
        .status()
        .expect("gzip");
    assert!(packed.success());
    let out = crate::support::relayscan()
        .args(["logs", "-", "--config", open_cf.to_str().unwrap()])
        .stdin(std::fs::File::open(&gz).unwrap())
        .output()
        .expect("run relayscan");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 relayed for a stranger"), "{stdout}");
    assert!(
        stdout.contains("mynetworks trusts every address"),
        "{stdout}"
    );

    // A file that is no mail log is named, exit 2.
    let out = run(
        &["logs", closed_cf.to_str().unwrap()],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: not a mail log", closed_cf.display())),
        "{stderr}"
    );
    drop(closed);
}

/// Sendmail and Exim, from fixtures written from their documented formats
/// (tests/fixtures/logs/SOURCES.md): the same story told by each MTA gives the same
/// conclusions.
#[test]
fn documented_sendmail_and_exim_logs_give_the_same_conclusions() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    for (file, mta) in [("sendmail.log", "sendmail"), ("exim_mainlog", "exim")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let prefix = dir.path().join("r");
        let log = fixtures.join(file);
        let out = run(
            &[
                "logs",
                log.to_str().unwrap(),
                "--mynetworks",
                "192.0.2.0/24",
                "--local-domains",
                "example.com",
                "--sasl-failures",
                "3",
                "--user-recipients",
                "3",
                "--format",
                "json",
                "-o",
                prefix.to_str().unwrap(),
                "-q",
            ],
            Duration::from_secs(30),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value =
            serde_json::from_slice(&std::fs::read(prefix.with_extension("json")).unwrap()).unwrap();
        let r = &doc["report"];
        assert_eq!(r["mta"], mta, "{file}");
        assert_eq!(r["files"][0]["unreadable"], 0, "{file}");
        // One message relayed for the stranger (the office is in mynetworks, alice
        // authenticated, the deferred one never left).
        let relayed = r["relayed"].as_array().unwrap();
        assert_eq!(relayed.len(), 1, "{file}: {relayed:#?}");
        assert_eq!(relayed[0]["client"], "198.51.100.8", "{file}");
        assert_eq!(relayed[0]["sender"], "spam@sender.invalid", "{file}");
        assert_eq!(
            strings(&relayed[0]["recipients"]),
            ["victim@far.invalid", "second@far.invalid"],
            "{file}"
        );
        assert_eq!(
            relayed[0]["time"].as_str().unwrap().get(..16),
            Some("2026-12-07T04:00"),
            "{file}"
        );
        let net = &r["refused_networks"][0];
        assert_eq!(
            (net["source"].as_str(), net["attempts"].as_u64()),
            (Some("198.51.100.0/24"), Some(2)),
            "{file}"
        );
        assert_eq!(
            strings(&net["recipient_domains"]),
            ["far.invalid", "other.invalid"],
            "{file}"
        );
        let sasl = &r["sasl_failures"][0];
        assert_eq!(sasl["client"], "198.51.100.30", "{file}");
        assert_eq!(sasl["failures"], 3, "{file}");
        assert_eq!(strings(&sasl["users"]), ["mallory", "admin"], "{file}");
        let alice = &r["users"][0];
        assert_eq!(
            (
                alice["user"].as_str(),
                alice["external_recipients"].as_u64()
            ),
            (Some("alice"), Some(3)),
            "{file}"
        );
        let ids = finding_ids(r);
        assert_eq!(
            ids,
            [
                "relayed-for-stranger",
                "authenticated-mass-sending",
                "sasl-login-failures",
                "relay-attempts-refused"
            ],
            "{file}"
        );
    }
}
