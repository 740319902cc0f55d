//! `relayscan demo`: start the lab, scan it, write reports/demo/, and check every persona's verdict.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::net::SocketAddr;

use super::AppError;
use super::scan::{print_closing, scan};
use crate::cli::DemoArgs;
use crate::config::demo::{DemoLab, scan_settings};
use crate::exit;
use crate::lab::PersonaExpectation;
use crate::report::ScanRecord;
use crate::target::parse_args;
use crate::target::{Origin, Target, TargetSpec};
use relayscan_lab::dns::{BLOCKLIST_ZONE, LabDns, dns_address, lab_domains, lab_zone};
use relayscan_lab::{Lab, LabConfig, LabHost, Persona};

pub async fn run(args: DemoArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let bind = args
        .bind
        .parse()
        .map_err(|e| AppError::Usage(format!("--bind {:?}: {e}", args.bind)))?;
    let lab = Lab::start(LabConfig {
        bind,
        port: 0,
        record: true,
        ..LabConfig::default()
    })
    .await
    .map_err(|e| AppError::Failure(format!("cannot start the lab: {e}")))?;
    if !args.quiet {
        eprintln!(
            "relayscan demo: the lab is up ({} personas on port {}):",
            lab.hosts().len(),
            lab.port()
        );
        eprint!("{}", lab.describe());
    }

    // The lab's mail domains, resolved by the lab's own DNS server, on the main port.
    let (mut domain_targets, dns) = start_lab_dns(&lab, bind).await?;
    // Each persona on the port it listens on: the range on the main port, and the hosts
    // that speak implicit TLS on the TLS port too. Scanning every host on both ports
    // would count the closed TLS port of the others as "refused" in a healthy lab.
    let tls_endpoints = lab.tls_hosts().iter().map(|h| h.addr.to_string());
    let words: Vec<String> = std::iter::once(lab.target_range())
        .chain(tls_endpoints)
        .collect();
    let mut targets = parse_args(&words).map_err(|e| AppError::Failure(e.to_string()))?;
    targets.append(&mut domain_targets);
    let demo_lab = DemoLab {
        port: lab.port(),
        tls_port: lab.tls_port(),
        targets,
        dns_server: dns.addr(),
        blocklists: Some(format!("spamhaus-zen={BLOCKLIST_ZONE}")),
        ca_file: write_lab_ca(&lab, &args.output)?,
        mta_sts_port: lab.sts_policy().map(|a| a.port()),
    };
    let settings = scan_settings(&args, demo_lab, std::io::stderr().is_terminal())
        .map_err(|e| AppError::Failure(e.to_string()))?;
    let finished = scan(&settings, argv, 2).await?;
    let received = lab.received();
    let hosts: Vec<_> = lab.hosts().iter().chain(lab.tls_hosts()).copied().collect();
    let lab_hosts: Vec<LabHost> = lab.hosts().to_vec();
    lab.shutdown().await;
    print_closing(&settings, &finished);
    if let Some(signal) = finished.stopped_by {
        return Ok(signal.exit_code());
    }

    let jsonl = finished
        .reports
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .ok_or_else(|| {
            AppError::Failure("the demo writes a JSONL report, but none was written".into())
        })?;
    let observed = read_verdicts(jsonl)?;
    let data_commands = received
        .iter()
        .filter(|c| c.line.trim().eq_ignore_ascii_case("DATA"))
        .count();
    let mut text = String::new();
    let _ = writeln!(text, "\nEach persona against its designed verdict:");
    let _ = writeln!(
        text,
        "{:<20} {:<22} {:<20} {:<20} check",
        "persona", "address", "expected", "observed"
    );
    let mut mismatches = 0;
    for host in &hosts {
        let expected = expectation(host.persona);
        let got = observed
            .get(&host.addr)
            .map(|r| describe(r.verdict.map(|v| v.as_str()), r.accepts_any_recipient))
            .unwrap_or_else(|| "(no record)".into());
        let ok = got == expected;
        mismatches += usize::from(!ok);
        check_row(&mut text, host, [(&expected, 20), (&got, 20)], ok);
    }
    let _ = writeln!(
        text,
        "\nThe lab received {} commands; DATA: {} (relayscan never sends DATA).",
        received.len(),
        data_commands
    );
    let _ = writeln!(
        text,
        "Reports: {}",
        finished
            .reports
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let json = finished
        .reports
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .ok_or_else(|| {
            AppError::Failure("the demo writes a JSON report, but none was written".into())
        })?;
    let (domain_text, domain_mismatches) =
        super::demo_domains::check(json, lab_hosts.as_slice(), &observed)?;
    text.push_str(&domain_text);
    let (software_text, software_mismatches) = super::demo_software::check(&hosts, &observed);
    text.push_str(&software_text);
    let (blocklist_text, blocklist_mismatches) =
        super::demo_blocklists::check(&lab_hosts, &observed);
    text.push_str(&blocklist_text);
    super::print_out(&text);
    if mismatches > 0 || data_commands > 0 {
        eprintln!("relayscan demo: {mismatches} persona(s) did not get their designed verdict");
        return Ok(exit::FAILURE);
    }
    if domain_mismatches > 0 {
        eprintln!(
            "relayscan demo: {domain_mismatches} mail domain(s) did not get their designed result"
        );
        return Ok(exit::FAILURE);
    }
    if software_mismatches > 0 {
        eprintln!(
            "relayscan demo: {software_mismatches} host(s) did not get their designed advisory findings"
        );
        return Ok(exit::FAILURE);
    }
    if blocklist_mismatches > 0 {
        eprintln!(
            "relayscan demo: {blocklist_mismatches} host(s) did not get their designed blocklist answer"
        );
        return Ok(exit::FAILURE);
    }
    Ok(exit::OK)
}

/// Starts the lab's DNS server on the last address of `bind` and returns the lab's mail
/// domains as targets on the lab's port, with the server (it stops when dropped).
async fn start_lab_dns(
    lab: &Lab,
    bind: ipnetwork::Ipv4Network,
) -> Result<(Vec<(Origin, Target)>, LabDns), AppError> {
    let hosts: Vec<LabHost> = lab.hosts().to_vec();
    let ip = dns_address(bind);
    let server = LabDns::start(
        SocketAddr::new(ip.into(), 0),
        lab_zone(&hosts, &lab.made_at_start()),
    )
    .await
    .map_err(|e| AppError::Failure(format!("cannot start the lab DNS server: {e}")))?;
    let targets = domain_targets(&hosts, lab.port());
    Ok((targets, server))
}

/// Writes the lab CA beside the reports (`PREFIX.lab-ca.pem`) for the scan's
/// `--ca-file`, so that the lab's MTA-STS policy host verifies; `None` without a CA.
fn write_lab_ca(
    lab: &Lab,
    prefix: &std::path::Path,
) -> Result<Option<std::path::PathBuf>, AppError> {
    if lab.ca_pem().is_empty() {
        return Ok(None);
    }
    let mut name = prefix.as_os_str().to_owned();
    name.push(".lab-ca.pem");
    let path = std::path::PathBuf::from(name);
    // Quietly: the demo rewrites its CA on every run, as it rewrites its reports.
    use crate::report::file::{Replacing, create_folder_of, write_whole};
    create_folder_of(&path)
        .and_then(|()| {
            write_whole(&path, Replacing::Quietly, |f| {
                std::io::Write::write_all(f, lab.ca_pem().as_bytes())
            })
        })
        .map_err(|e| AppError::Output(e.to_string()))?;
    Ok(Some(path))
}

/// The lab's mail domains as `@domain:PORT` targets (the personas' port).
fn domain_targets(hosts: &[LabHost], port: u16) -> Vec<(Origin, Target)> {
    lab_domains(hosts)
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            (
                Origin::line("lab domains", i + 1),
                Target::new(TargetSpec::Domain(d), Some(port)),
            )
        })
        .collect()
}

/// One row of a demo check table: the persona, its address, two columns of the given
/// widths (expected and observed), and `ok` or `MISMATCH`.
pub(super) fn check_row(text: &mut String, host: &LabHost, columns: [(&str, usize); 2], ok: bool) {
    let [(a, wa), (b, wb)] = columns;
    let _ = writeln!(
        text,
        "{:<20} {:<22} {a:<wa$} {b:<wb$} {}",
        host.persona.name(),
        host.addr.to_string(),
        if ok { "ok" } else { "MISMATCH" }
    );
}

fn expectation(persona: Persona) -> String {
    describe(
        Some(persona.expected_verdict().as_str()),
        persona.expects_accept_all(),
    )
}

fn describe(verdict: Option<&str>, accept_all: bool) -> String {
    let v = verdict.unwrap_or("-");
    if accept_all {
        format!("{v} (sink?)")
    } else {
        v.to_string()
    }
}

/// Reads the JSONL report back: the demo checks the data of record, not memory.
fn read_verdicts(path: &std::path::Path) -> Result<HashMap<SocketAddr, ScanRecord>, AppError> {
    let mut map = HashMap::new();
    let records =
        crate::report::read::records(path).map_err(|e| AppError::Output(e.to_string()))?;
    for record in records {
        let line = record.map_err(|e| AppError::Failure(e.to_string()))?;
        // The domains' own records are checked by the domain part.
        if let Some(record) = line.host() {
            map.insert(SocketAddr::new(record.ip, record.port), record);
        }
    }
    Ok(map)
}
