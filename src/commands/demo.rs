//! `relayscan demo`: start the lab, scan it, write reports/demo/, and check every persona's verdict.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::net::IpAddr;

use super::AppError;
use super::scan::{TargetInput, print_closing, scan};
use crate::cli::{CommonScanArgs, DemoArgs};
use crate::config::ScanConfig;
use crate::exit;
use crate::lab::{Lab, LabConfig, Persona};
use crate::report::ScanRecord;
use crate::target::parse_args;

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

    let common = CommonScanArgs {
        ports: lab.port().to_string(),
        exclude: Vec::new(),
        exclude_file: Vec::new(),
        concurrency: 64,
        rate: 1000,
        connect_timeout: "2s".into(),
        read_timeout: "5s".into(),
        host_timeout: "20s".into(),
        grace: "1s".into(),
        helo: Some("demo.relayscan.test".into()),
        mail_from: None,
        rcpt_to: "relaytest@example.com".into(),
        output: Some(args.output.clone()),
        format: "csv,jsonl,json".into(),
        all: false,
        transcript: args.transcript,
        no_progress: false,
        quiet: args.quiet,
    };
    let config = ScanConfig::from_args(
        &common,
        std::io::stderr().is_terminal(),
        "demo.relayscan.test",
    )
    .map_err(|e| AppError::Failure(e.to_string()))?;
    let targets =
        parse_args(&[lab.target_range()]).map_err(|e| AppError::Failure(e.to_string()))?;
    let input = TargetInput {
        targets,
        excludes: Vec::new(),
    };
    let finished = scan(&config, input, argv, 2).await?;
    let received = lab.received();
    let hosts = lab.hosts().to_vec();
    lab.shutdown().await;
    print_closing(&config, &finished);
    if finished.interrupted {
        return Ok(exit::INTERRUPTED);
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
    println!("\nEach persona against its designed verdict:");
    println!(
        "{:<18} {:<22} {:<20} {:<20} check",
        "persona", "address", "expected", "observed"
    );
    let mut mismatches = 0;
    for host in &hosts {
        let expected = expectation(host.persona);
        let got = observed
            .get(&host.addr.ip())
            .map(|r| describe(r.verdict.map(|v| v.as_str()), r.accepts_any_recipient))
            .unwrap_or_else(|| "(no record)".into());
        let ok = got == expected;
        mismatches += usize::from(!ok);
        println!(
            "{:<18} {:<22} {:<20} {:<20} {}",
            host.persona.name(),
            host.addr.to_string(),
            expected,
            got,
            if ok { "ok" } else { "MISMATCH" }
        );
    }
    println!(
        "\nThe lab received {} commands; DATA: {} (relayscan never sends DATA).",
        received.len(),
        data_commands
    );
    println!(
        "Reports: {}",
        finished
            .reports
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if mismatches > 0 || data_commands > 0 {
        eprintln!("relayscan demo: {mismatches} persona(s) did not get their designed verdict");
        return Ok(exit::FAILURE);
    }
    Ok(exit::OK)
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
fn read_verdicts(path: &std::path::Path) -> Result<HashMap<IpAddr, ScanRecord>, AppError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AppError::Output(format!("cannot read {}: {e}", path.display())))?;
    let mut map = HashMap::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line =
            line.map_err(|e| AppError::Output(format!("cannot read {}: {e}", path.display())))?;
        let record: ScanRecord = serde_json::from_str(&line).map_err(|e| {
            AppError::Failure(format!("{}:{}: not a record: {e}", path.display(), n + 1))
        })?;
        map.insert(record.ip, record);
    }
    Ok(map)
}
