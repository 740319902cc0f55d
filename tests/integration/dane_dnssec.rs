//! DANE against a real validating resolver: Debian's unbound validates a zone the test signs itself (BIND's dnssec-keygen and dnssec-signzone), anchored by the zone's own DS, and serves an unsigned zone beside it; the real binary scans domains in both, and one whose TLSA was altered after signing. Never the system resolver; unbound sends no query anywhere (`dns::start_sealed_unbound`).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::mta_sts_dane::starttls_lab_and_key;
use crate::support::{
    domain_entry as domain, domain_finding_detail, domain_finding_ids as ids, nets, read_csv,
    read_json, run, skip, stderr,
};

/// The zone the test signs, and the one it leaves unsigned (no DS, no trust anchor).
const SIGNED: &str = "dnssec.test";
const UNSIGNED: &str = "plain.test";

/// The TLSA records of the host whose answer does not fit a datagram.
const MANY_TLSA: usize = 30;

/// A zone file: SOA and NS, then `records` (`owner TYPE data`, owners absolute).
fn zone_file(origin: &str, records: &[String]) -> String {
    let mut text = format!(
        "$TTL 300\n{origin}. IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300\n{origin}. IN NS ns.{origin}.\nns.{origin}. IN A {}\n",
        nets::DANE_DNSSEC_UNBOUND.host(1)
    );
    for r in records {
        text.push_str(&format!("{r}\n"));
    }
    text
}

/// A domain `d` of `origin` whose one MX is `mx-d` at `host`, with `tlsa` as its TLSA data.
fn mail_domain(d: &str, origin: &str, host: IpAddr, tlsa: &str) -> Vec<String> {
    vec![
        format!("{d}.{origin}. IN MX 10 mx-{d}.{origin}."),
        format!("mx-{d}.{origin}. IN A {host}"),
        format!("_25._tcp.mx-{d}.{origin}. IN TLSA 3 1 1 {tlsa}"),
    ]
}

/// Runs `tool` with `args` in `dir`; its stdout.
fn run_tool(tool: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Signs `zone` (written to `dir`) with a fresh ECDSA P-256 key (one key signs all, `-z`),
/// one record a line (`-O full`); the signed file and the zone's DS record.
fn sign(keygen: &Path, signzone: &Path, dir: &Path, origin: &str, zone: &str) -> (PathBuf, String) {
    std::fs::write(dir.join("zone"), zone).unwrap();
    let key = run_tool(
        keygen,
        dir,
        &[
            "-q",
            "-a",
            "ECDSAP256SHA256",
            "-f",
            "KSK",
            "-n",
            "ZONE",
            origin,
        ],
    );
    let key = key.trim();
    let dnskey = std::fs::read_to_string(dir.join(format!("{key}.key"))).unwrap();
    std::fs::write(dir.join("zone"), format!("{zone}{dnskey}")).unwrap();
    run_tool(
        signzone,
        dir,
        &[
            "-q", "-z", "-O", "full", "-o", origin, "-f", "signed", "zone", key,
        ],
    );
    // `dnssec.test.  IN DS 6561 13 2 4F4A...4239 10B76929`: the digest is cut in two.
    let ds = std::fs::read_to_string(dir.join(format!("dsset-{origin}."))).unwrap();
    let words: Vec<&str> = ds.split_whitespace().collect();
    assert_eq!(words[1..3], ["IN", "DS"], "{ds}");
    let ds = format!(
        "{} DS {} {}",
        words[0],
        words[3..6].join(" "),
        words[6..].concat()
    );
    (dir.join("signed"), ds)
}

/// Replaces the data of the TLSA record owned by `owner` in the signed file (its RRSIG
/// stays): the answer is bogus, and a validating resolver must refuse it.
fn tamper(signed: &Path, owner: &str, data: &str) {
    let text = std::fs::read_to_string(signed).unwrap();
    let mut changed = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() == Some(&owner) && words.get(3) == Some(&"TLSA") {
                changed += 1;
                format!("{owner} 300 IN TLSA 3 1 1 {data}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert_eq!(changed, 1, "one TLSA at {owner} in {}", signed.display());
    std::fs::write(signed, lines.join("\n") + "\n").unwrap();
}

/// The header flags of unbound's answer to a TLSA question for `name` whose header has
/// RD and, if `ad`, AD set, with an EDNS OPT record offering 1,232 bytes and DO clear, as
/// relayscan asks: (RCODE, AD, TC).
fn raw_tlsa_answer(resolver: SocketAddr, name: &str, ad: bool) -> (u8, bool, bool) {
    let flags: u16 = 0x0100 | if ad { 0x0020 } else { 0 };
    let mut query = vec![0x12, 0x34];
    query.extend(flags.to_be_bytes());
    query.extend([0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.split('.') {
        query.push(label.len() as u8);
        query.extend(label.as_bytes());
    }
    query.extend([0, 0, 52, 0, 1]);
    // OPT: root owner, type 41, class = payload size, TTL 0 (DO clear), no data.
    query.extend([0, 0, 41]);
    query.extend(1232u16.to_be_bytes());
    query.extend([0, 0, 0, 0, 0, 0]);
    let socket = UdpSocket::bind((nets::DANE_DNSSEC_UNBOUND.host(2), 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.send_to(&query, resolver).unwrap();
    let mut buf = [0u8; 1500];
    let n = socket.recv(&mut buf).unwrap();
    assert!(n >= 12 && buf[..2] == [0x12, 0x34], "{:?}", &buf[..n]);
    (buf[3] & 0x0f, buf[3] & 0x20 != 0, buf[2] & 0x02 != 0)
}

#[test]
fn tlsa_answers_are_authenticated_only_when_a_validating_resolver_says_so() {
    let (Some(unbound), Some(keygen), Some(signzone)) = (
        skip::tool(
            &["/usr/sbin/unbound", "/usr/bin/unbound"],
            "apt-get install unbound",
        ),
        skip::tool(&["dnssec-keygen"], "apt-get install bind9-utils"),
        skip::tool(&["dnssec-signzone"], "apt-get install bind9-utils"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (lab, spki) = starttls_lab_and_key(nets::DANE_DNSSEC_LAB, dir.path());
    let host = lab.addr(0);
    let port = lab.port_arg();

    // Signed: a TLSA of the host's key (good), and one altered after signing (bogus).
    let signing = dir.path().join("signing");
    std::fs::create_dir(&signing).unwrap();
    let mut records = mail_domain("good", SIGNED, host, &spki);
    records.extend(mail_domain("bogus", SIGNED, host, &spki));
    // And a host with 30 TLSA records of SHA-512 digests: more than a UDP answer of
    // 1,232 bytes holds (the TC bit is checked below), so its TLSA comes over TCP.
    records.extend(mail_domain("many", SIGNED, host, &spki));
    records.extend(
        (1..MANY_TLSA).map(|n| format!("_25._tcp.mx-many.{SIGNED}. IN TLSA 3 1 2 {n:0128x}")),
    );
    let (signed, ds) = sign(
        &keygen,
        &signzone,
        &signing,
        SIGNED,
        &zone_file(SIGNED, &records),
    );
    tamper(
        &signed,
        &format!("_25._tcp.mx-bogus.{SIGNED}."),
        &"00".repeat(32),
    );
    // Unsigned: the same matching TLSA, which nothing authenticates.
    let unsigned = dir.path().join("unsigned");
    std::fs::write(
        &unsigned,
        zone_file(UNSIGNED, &mail_domain("good", UNSIGNED, host, &spki)),
    )
    .unwrap();

    // unbound validates (validator before iterator) with the signed zone's DS as its only
    // trust anchor; both zones are its own data for recursion (`for-upstream`), never
    // answered as an authority (`for-downstream: no`), so every answer passes the
    // validator (unbound.conf(5), auth-zone). Without a root anchor, plain.test is
    // insecure: answered, AD clear.
    let server = [
        "module-config: \"validator iterator\"".to_string(),
        format!("trust-anchor: \"{ds}\""),
        format!("local-zone: \"{SIGNED}.\" transparent"),
        format!("local-zone: \"{UNSIGNED}.\" transparent"),
    ];
    let auth_zone = |origin: &str, file: &Path| {
        format!(
            "auth-zone:\n  name: \"{origin}.\"\n  zonefile: \"{}\"\n  for-downstream: no\n  for-upstream: yes\n",
            file.display()
        )
    };
    let clauses = auth_zone(SIGNED, &signed) + &auth_zone(UNSIGNED, &unsigned);
    let ub_dir = dir.path().join("unbound");
    std::fs::create_dir(&ub_dir).unwrap();
    let resolver = crate::dns::start_sealed_unbound(
        &unbound,
        &ub_dir,
        nets::DANE_DNSSEC_UNBOUND.host(1),
        &server,
        &clauses,
    );

    // The premise: unbound sets AD only when asked (RFC 6840 §5.7-5.8), which hickory's stub
    // never does; bogus data is SERVFAIL either way.
    let good_tlsa = format!("_25._tcp.mx-good.{SIGNED}");
    assert_eq!(
        raw_tlsa_answer(resolver.addr, &good_tlsa, false),
        (0, false, false)
    );
    assert_eq!(
        raw_tlsa_answer(resolver.addr, &good_tlsa, true),
        (0, true, false)
    );
    let bogus_tlsa = format!("_25._tcp.mx-bogus.{SIGNED}");
    assert_eq!(
        raw_tlsa_answer(resolver.addr, &bogus_tlsa, true),
        (2, false, false)
    );
    // A name outside the test's zones is refused on the spot, never chased upstream
    // (example.com: a documentation name; unbound answers .test itself, NXDOMAIN).
    assert_eq!(
        raw_tlsa_answer(resolver.addr, "_25._tcp.mx.example.com", true),
        (5, false, false)
    );
    let many_tlsa = format!("_25._tcp.mx-many.{SIGNED}");
    assert!(raw_tlsa_answer(resolver.addr, &many_tlsa, true).2, "TC");

    let prefix = dir.path().join("scan");
    let resolver_arg = resolver.addr.to_string();
    let (good, bogus, plain, many) = (
        format!("good.{SIGNED}"),
        format!("bogus.{SIGNED}"),
        format!("good.{UNSIGNED}"),
        format!("many.{SIGNED}"),
    );
    let out = run(
        &[
            "scan",
            "--resolver",
            &resolver_arg,
            "-p",
            &port,
            "-q",
            "--tests",
            "none",
            "-d",
            &good,
            "-d",
            &bogus,
            "-d",
            &plain,
            "-d",
            &many,
            "-o",
            prefix.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = read_json(&prefix.with_extension("json"));

    // Validated and matching: authenticated, no DANE finding.
    let validated = domain(&doc, &good);
    assert_eq!(validated["dane"][0]["authenticated"], true, "{validated}");
    assert_eq!(validated["dane"][0]["matched"], true, "{validated}");
    assert!(
        !ids(validated)
            .iter()
            .any(|i| i.starts_with("dane-") || i == "dns-lookup-failed"),
        "{validated}"
    );
    // The same record in a zone nothing signs: it matches, and protects nothing.
    let insecure = domain(&doc, &plain);
    assert_eq!(insecure["dane"][0]["authenticated"], false, "{insecure}");
    assert_eq!(insecure["dane"][0]["matched"], true, "{insecure}");
    assert!(
        ids(insecure).contains(&"dane-tlsa-unauthenticated".to_string()),
        "{insecure}"
    );
    assert!(
        !ids(insecure).contains(&"dane-tlsa-mismatch".to_string()),
        "{insecure}"
    );
    // Altered after signing: the resolver refuses it (SERVFAIL), and relayscan reports a
    // failed lookup, never "no TLSA" and never a match or a mismatch.
    let refused = domain(&doc, &bogus);
    let error = refused["dane"][0]["lookup_error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("SERVFAIL"), "{refused}");
    assert_eq!(refused["dane"][0]["records"], serde_json::json!([]));
    assert_eq!(
        domain_finding_detail(refused, "dns-lookup-failed"),
        format!("TLSA of {bogus_tlsa}: SERVFAIL (the name server failed)")
    );
    assert!(
        !ids(refused).iter().any(|i| i.starts_with("dane-")),
        "{refused}"
    );
    // Truncated over UDP, asked again over TCP: every record, still authenticated.
    let whole = domain(&doc, &many);
    assert_eq!(
        whole["dane"][0]["records"].as_array().map(Vec::len),
        Some(MANY_TLSA),
        "{whole}"
    );
    assert_eq!(whole["dane"][0]["authenticated"], true, "{whole}");
    assert_eq!(whole["dane"][0]["matched"], true, "{whole}");
    // The domains CSV says the same in its DANE column.
    let (header, rows) = read_csv(&dir.path().join("scan.domains.csv"));
    let col = header.iter().position(|h| h == "dane").unwrap();
    let cell = |d: &str| rows.iter().find(|r| r[0] == d).unwrap()[col].clone();
    assert_eq!(cell(&good), format!("mx-good.{SIGNED}=match/dnssec"));
    assert_eq!(cell(&plain), format!("mx-good.{UNSIGNED}=match/insecure"));
    assert_eq!(
        cell(&bogus),
        format!("mx-bogus.{SIGNED}=lookup-failed/insecure")
    );
    drop(resolver);
}
