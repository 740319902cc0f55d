//! Command-line syntax (clap derive): flags and subcommands only; meaning lives in config.rs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Finds open mail relays: probes SMTP servers you own or are authorised to test,
/// stopping before DATA, and writes CSV / JSON evidence.
#[derive(Debug, Parser)]
#[command(name = "relayscan", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Commands,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Scan targets for open relays.
    Scan(ScanArgs),
    /// Run the built-in lab (a simulated mail network on loopback) until Ctrl-C.
    Lab(LabArgs),
    /// Start the lab, scan it, write reports/demo/ and print a summary.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Targets: IP, CIDR, range (192.0.2.5-20), host name, host:port, [v6]:port.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Read targets from FILE, one per line (# comments); "-" reads stdin. Repeatable.
    #[arg(
        short = 'i',
        long = "input-list",
        visible_alias = "iL",
        value_name = "FILE"
    )]
    pub input_lists: Vec<PathBuf>,
    #[command(flatten)]
    pub common: CommonScanArgs,
}

/// The flags shared by `scan` and `demo`.
#[derive(Debug, Args)]
pub struct CommonScanArgs {
    /// Ports to probe when a target names none: 25, 25,587, 2525-2530, smtp, submission.
    #[arg(short = 'p', long, value_name = "PORTS", default_value = "25")]
    pub ports: String,
    /// Never probe these (same syntax as targets); wins over every target. Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub exclude: Vec<String>,
    /// Read excludes from FILE, one per line. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Probes in flight at once (capped by the open-file limit).
    #[arg(short = 'c', long, value_name = "N", default_value_t = 100)]
    pub concurrency: usize,
    /// New connections per second, across the whole scan.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 100)]
    pub rate: u32,
    /// TCP connect timeout (500ms, 5s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub connect_timeout: String,
    /// Longest wait for any one reply.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub read_timeout: String,
    /// Deadline for the whole dialogue with one endpoint (tarpits).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub host_timeout: String,
    /// After Ctrl-C, how long in-flight probes may finish before they are cut off.
    #[arg(long, value_name = "DURATION", default_value = "3s")]
    pub grace: String,
    /// Name to give in EHLO/HELO [default: this machine's host name].
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// Sender for the relay tests (its local part is reused in the catalogue)
    /// [default: antispam@ the --rcpt-to domain].
    #[arg(long, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Foreign recipient for the relay tests: use a mailbox at a domain you control.
    #[arg(long, value_name = "ADDRESS", default_value = "relaytest@example.com")]
    pub rcpt_to: String,
    /// Output prefix: writes PREFIX.csv, PREFIX.jsonl, PREFIX.json [default: reports/scan-<time>].
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: Option<PathBuf>,
    /// Report formats to write.
    #[arg(long, value_name = "LIST", default_value = "csv,jsonl,json")]
    pub format: String,
    /// Also write endpoints that did not answer (refused, timed out).
    #[arg(long)]
    pub all: bool,
    /// Print each host's SMTP dialogue, sanitised, as it completes.
    #[arg(long)]
    pub transcript: bool,
    /// No progress bar; a one-line status every few seconds instead.
    #[arg(long)]
    pub no_progress: bool,
    /// No progress or status lines on stderr (the summary table still goes to stdout).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Loopback network whose addresses hold the personas, from .1 upwards.
    #[arg(long, value_name = "CIDR", default_value = "127.0.2.0/24")]
    pub bind: String,
    /// Port every persona listens on (0: pick a free one).
    #[arg(long, value_name = "N", default_value_t = 2525)]
    pub port: u16,
    /// Only these personas (repeatable) [default: all of them].
    #[arg(long, value_name = "NAME")]
    pub persona: Vec<String>,
    /// How many addresses to populate, cycling through the personas [default: one each].
    #[arg(long, value_name = "N")]
    pub hosts: Option<usize>,
    /// Append every command the lab receives to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Delay before every reply, to simulate a wide-area round trip.
    #[arg(long, value_name = "DURATION", default_value = "0ms")]
    pub reply_delay: String,
    /// How long the slow-greeting persona holds its 220- teaser.
    #[arg(long, value_name = "DURATION", default_value = "1500ms")]
    pub greeting_pause: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Loopback network for the demo lab.
    #[arg(long, value_name = "CIDR", default_value = "127.0.2.0/24")]
    pub bind: String,
    /// Print each host's SMTP dialogue as it completes.
    #[arg(long)]
    pub transcript: bool,
    /// Output prefix for the demo reports.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PREFIX",
        default_value = "reports/demo/relayscan-demo"
    )]
    pub output: PathBuf,
    /// No progress output.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}
