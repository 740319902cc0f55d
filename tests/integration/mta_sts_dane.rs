//! MTA-STS and DANE end to end: a lab mail host with STARTTLS (banner grabs: `--tests none`,
//! so that its only high finding can be the domain's), the test's own DNS server (TLSA records, one answer with the AD bit, the `_mta-sts` TXT) and an HTTPS server on loopback port 443 serving a policy with a certificate from the test's CA (`--ca-file`). Never the system resolver.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use relayscan::assess::Severity;
use relayscan_lab::Persona;
use relayscan_lab::dns::LabDns;
use relayscan_lab::dns::zone::{Data, Zone};
use relayscan_lab::tls_server::TlsServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::personas::start_lab;
use crate::support::{
    LabProcess, domain_entry as domain, domain_finding_ids as ids, nets, read_csv, read_json,
    read_jsonl, run, stderr,
};

/// The policy the HTTPS server serves: enforce, for a host that is not the MX.
const POLICY: &str =
    "version: STSv1\r\nmode: enforce\r\nmx: elsewhere.dane.test\r\nmax_age: 86400\r\n";

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The zone: `match.dane.test` (a TLSA of the host's key, AD set), `nomatch.dane.test`
/// (a TLSA of another key, no AD), `sts.dane.test` (an MTA-STS policy not naming its MX).
fn zone(mail_host: IpAddr, spki_sha256: &str) -> Zone {
    let IpAddr::V4(v4) = mail_host else {
        panic!("the lab is IPv4")
    };
    let policy_host = nets::MTA_STS_POLICY.host(1);
    let mut z = Zone::new("dane.test");
    z.add("match.dane.test", Data::Mx(10, "mx-match.dane.test".into()))
        .add("mx-match.dane.test", Data::A(v4))
        .add(
            "_25._tcp.mx-match.dane.test",
            Data::Tlsa(3, 1, 1, hex_bytes(spki_sha256)),
        )
        .authenticated("_25._tcp.mx-match.dane.test")
        .add(
            "nomatch.dane.test",
            Data::Mx(10, "mx-nomatch.dane.test".into()),
        )
        .add("mx-nomatch.dane.test", Data::A(v4))
        .add(
            "_25._tcp.mx-nomatch.dane.test",
            Data::Tlsa(3, 1, 1, vec![0; 32]),
        )
        .add("sts.dane.test", Data::Mx(10, "mx-sts.dane.test".into()))
        .add("mx-sts.dane.test", Data::A(v4))
        .add(
            "_mta-sts.sts.dane.test",
            Data::Txt(vec!["v=STSv1; id=1".into()]),
        )
        .add("mta-sts.sts.dane.test", Data::A(policy_host));
    z
}

/// A CA (its PEM) and an HTTPS server on MTA_STS_POLICY .1:443 answering every request
/// with [`POLICY`]; the count of requests it answered.
async fn policy_server(dir: &Path) -> Arc<AtomicUsize> {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["mta-sts.sts.dane.test".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let server = TlsServer::new(
        &[leaf.der().to_vec(), ca_cert.der().to_vec()],
        &key.serialize_der(),
    )
    .unwrap();
    let addr = SocketAddr::new(IpAddr::V4(nets::MTA_STS_POLICY.host(1)), 443);
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (server, count) = (server.clone(), Arc::clone(&count));
            tokio::spawn(async move {
                let Ok(mut tls) = server.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{POLICY}",
                    POLICY.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
                count.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    served
}

/// A lab of one STARTTLS host (`tls-required`) on `net`, and the SHA-256 of the key it
/// presents (hex), as a scan records it: the data of a `3 1 1` TLSA record that matches.
pub(crate) fn starttls_lab_and_key(net: nets::Net, dir: &Path) -> (LabProcess, String) {
    let lab = start_lab(net, dir, &[Persona::TlsRequired], &[]);
    let first = dir.join("first");
    let (target, port) = (lab.addr(0).to_string(), lab.port_arg());
    let out = run(
        &[
            "scan",
            &target,
            "-p",
            &port,
            "-q",
            "-o",
            first.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = read_jsonl(&first.with_extension("jsonl"));
    let spki = records[0].tls.as_ref().unwrap().chain[0]
        .spki_sha256
        .clone();
    assert_eq!(spki.len(), 64, "{spki:?}");
    (lab, spki)
}

#[test]
fn mta_sts_policies_and_tlsa_records_against_what_the_probe_captured() {
    let dir = tempfile::tempdir().unwrap();
    // The host's key as a scan records it: the TLSA of the matching domain.
    let (lab, spki) = starttls_lab_and_key(nets::MTA_STS_DANE_LAB, dir.path());
    let host = lab.addr(0);
    let port = lab.port_arg();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dns_addr = SocketAddr::new(IpAddr::V4(nets::MTA_STS_DANE_DNS.host(1)), 0);
    let dns = runtime
        .block_on(LabDns::start(dns_addr, zone(host, &spki)))
        .unwrap();
    let served = runtime.block_on(policy_server(dir.path()));
    let resolver = dns.addr().to_string();
    let ca = dir.path().join("ca.pem");
    let scan = |name: &str, domains: &[&str], extra: &[&str]| {
        let prefix = dir.path().join(name);
        let mut args = vec![
            "scan",
            "--resolver",
            &resolver,
            "-p",
            &port,
            "-q",
            "--tests",
            "none",
            "--ca-file",
            ca.to_str().unwrap(),
            "--mta-sts-port",
            "443",
            "-o",
            prefix.to_str().unwrap(),
        ];
        for d in domains {
            args.extend(["-d", d]);
        }
        args.extend(extra);
        let out = run(&args, Duration::from_secs(60));
        (out, prefix)
    };

    let (out, prefix) = scan(
        "all",
        &["match.dane.test", "nomatch.dane.test", "sts.dane.test"],
        &[
            "--scope",
            &nets::MTA_STS_DANE_LAB.cidr(),
            "--scope",
            &nets::MTA_STS_POLICY.cidr(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = read_json(&prefix.with_extension("json"));

    // A TLSA of the key the host presented, in an answer with AD: a match, no finding.
    let matched = domain(&doc, "match.dane.test");
    assert_eq!(matched["dane"][0]["matched"], true, "{matched}");
    assert_eq!(matched["dane"][0]["authenticated"], true, "{matched}");
    assert!(
        !ids(matched).iter().any(|i| i.starts_with("dane-")),
        "{matched}"
    );
    // A TLSA of another key, without AD: high, and "protects nothing".
    let nomatch = domain(&doc, "nomatch.dane.test");
    assert_eq!(nomatch["dane"][0]["matched"], false, "{nomatch}");
    for id in ["dane-tlsa-mismatch", "dane-tlsa-unauthenticated"] {
        assert!(ids(nomatch).contains(&id.to_string()), "{id}: {nomatch}");
    }
    // The policy, fetched over HTTPS from the test's server, does not cover the MX.
    let sts = domain(&doc, "sts.dane.test");
    assert_eq!(sts["mta_sts_policy"]["policy"]["mode"], "enforce", "{sts}");
    assert!(
        ids(sts).contains(&"mta-sts-mx-not-covered".to_string()),
        "{sts}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);
    // The domains CSV says the same, in its last two columns.
    let (header, rows) = read_csv(&dir.path().join("all.domains.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = |d: &str| rows.iter().find(|r| r[0] == d).unwrap().clone();
    assert_eq!(
        row("nomatch.dane.test")[col("dane")],
        "mx-nomatch.dane.test=no-match/insecure"
    );
    assert_eq!(
        row("match.dane.test")[col("dane")],
        "mx-match.dane.test=match/dnssec"
    );
    assert_eq!(row("sts.dane.test")[col("mta_sts_policy")], "enforce");

    // Outside the scope, the policy host is never contacted.
    let (out, prefix) = scan(
        "scoped",
        &["sts.dane.test"],
        &["--scope", &nets::MTA_STS_DANE_LAB.cidr()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = read_json(&prefix.with_extension("json"));
    let sts = domain(&doc, "sts.dane.test");
    let error = sts["mta_sts_policy"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("outside the authorised scope"), "{sts}");
    assert!(
        ids(sts).contains(&"mta-sts-policy-missing".to_string()),
        "{sts}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 1, "no second fetch");

    // --fail-on high trips on the TLSA mismatch alone: the matching domain passes.
    let (pass, _) = scan("gate-pass", &["match.dane.test"], &["--fail-on", "high"]);
    let (fail, prefix) = scan("gate-fail", &["nomatch.dane.test"], &["--fail-on", "high"]);
    assert_eq!(pass.status.code(), Some(0), "{}", stderr(&pass));
    assert_eq!(fail.status.code(), Some(1), "{}", stderr(&fail));
    let doc = read_json(&prefix.with_extension("json"));
    let high: Vec<&str> = domain(&doc, "nomatch.dane.test")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["severity"]
                .as_str()
                .and_then(|s| s.parse::<Severity>().ok())
                >= Some(Severity::High)
        })
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(high, ["dane-tlsa-mismatch"]);
    drop(dns);
}
