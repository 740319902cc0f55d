//! The demo's scan: fixed flags for a lab on loopback (quick timeouts, every report
//! format, the lab's own DNS server), validated like any scan's.

use std::net::SocketAddr;

use super::{ConfigError, ScanFlags, ScanSettings};
use crate::cli::{CommonScanArgs, DemoArgs, DnsArgs, PlanArgs, RunArgs};
use crate::target::{Origin, Target, TargetInput};

/// The name the demo gives in EHLO.
pub const DEMO_HELO: &str = "demo.relayscan.test";

/// The lab the demo scans.
#[derive(Debug, Clone)]
pub struct DemoLab {
    /// The port every persona listens on.
    pub port: u16,
    /// The implicit-TLS persona's port, if the lab has one.
    pub tls_port: Option<u16>,
    /// The personas' addresses and the lab's mail domains.
    pub targets: Vec<(Origin, Target)>,
    /// The lab's DNS server, the only one asked.
    pub dns_server: SocketAddr,
    /// The lab's blocklist zone, asked about every answering persona.
    pub blocklists: Option<String>,
    /// The lab CA written as PEM (`--ca-file`): what the MTA-STS policy host's
    /// certificate verifies against.
    pub ca_file: Option<std::path::PathBuf>,
    /// The port of the lab's MTA-STS policy host (hidden `--mta-sts-port`): the lab does
    /// not bind 443.
    pub mta_sts_port: Option<u16>,
}

/// The demo's flags (`-o`, `--transcript`, `-q`) and the lab's facts as scan settings.
/// An error here is ours, not the user's: the flags are fixed.
pub fn scan_settings(
    args: &DemoArgs,
    lab: DemoLab,
    stderr_is_terminal: bool,
) -> Result<ScanSettings, ConfigError> {
    // The main port for the range; the implicit-TLS hosts' targets name their own port.
    let ports = lab.port.to_string();
    let tls_ports = lab.tls_port.map(|tls| tls.to_string()).unwrap_or_default();
    let common = CommonScanArgs {
        ports,
        exclude: Vec::new(),
        exclude_file: Vec::new(),
        concurrency: 64,
        rate: 1000,
        connect_timeout: "2s".into(),
        read_timeout: "5s".into(),
        host_timeout: "20s".into(),
        grace: "1s".into(),
        helo: Some(DEMO_HELO.into()),
        mail_from: None,
        rcpt_to: "relaytest@example.com".into(),
        output: Some(args.output.clone()),
        format: Some("csv,jsonl,json,html,md".into()),
        all: false,
        transcript: args.transcript,
        no_pipelining: false,
        no_progress: false,
        quiet: args.quiet,
        verbose: 0,
        starttls: "auto".into(),
        tls_ports,
        relay_over: "auto".into(),
        tests: "full".into(),
        blocklists: lab.blocklists,
        dqs_key: None,
    };
    // Quick DNS: the lab's silent domain costs two short timeouts, not seconds.
    let plan = PlanArgs {
        dns: DnsArgs {
            resolver: vec![lab.dns_server.to_string()],
            dns_timeout: Some("300ms".into()),
            ca_file: lab.ca_file,
            mta_sts_port: lab.mta_sts_port,
            ..DnsArgs::default()
        },
        ..PlanArgs::default()
    };
    let targets = lab.targets;
    ScanSettings::build(
        ScanFlags {
            common: &common,
            plan: &plan,
            run: &RunArgs::default(),
            fail_on: None,
        },
        || {
            Ok(TargetInput {
                targets,
                excludes: Vec::new(),
                domain_list: None,
            })
        },
        stderr_is_terminal,
        DEMO_HELO,
    )
}
