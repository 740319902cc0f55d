//! Command-line syntax (clap derive): flags and subcommands only; meaning lives in config.rs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `--version`: the package version, and the git revision when built from a checkout
/// (build.rs), on every subcommand.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("RELAYSCAN_VERSION_SUFFIX"));

/// `relayscan --help`: clap's sections, then where to start and a few examples (the
/// addresses are documentation ranges), then the exit codes (`after_help`).
const TOP_HELP_TEMPLATE: &str = "\
{about-with-newline}
{usage-heading} {usage}

{all-args}

Start with `relayscan demo`: it runs the built-in lab on loopback, scans it and writes
example reports. `relayscan COMMAND --help` shows each command's flags.

Examples:
  relayscan demo                                      # try it: a simulated mail network
  relayscan scan 192.0.2.0/24 --scope 192.0.2.0/24    # port 25 of a /24 you may test
  relayscan scan -d example.com --rcpt-to probe@your.domain --helo scanner.your.domain
  relayscan targets -iL hosts.txt --count             # the dry run: nothing is sent
  relayscan audit-config /etc/postfix                 # a configuration, no traffic{after-help}";

/// Finds open mail relays: probes SMTP servers you own or are authorised to test,
/// stopping before DATA, and writes CSV / JSON evidence.
#[derive(Debug, Parser)]
#[command(
    name = "relayscan",
    version = VERSION,
    propagate_version = true,
    about,
    long_about = None,
    max_term_width = 100,
    help_template = TOP_HELP_TEMPLATE,
    after_help = crate::exit::HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Commands,
    /// Colour the terminal output: auto (when a terminal, and NO_COLOR is unset or empty),
    /// always, never.
    #[arg(
        long,
        value_name = "WHEN",
        value_enum,
        global = true,
        default_value = "auto"
    )]
    pub color: crate::color::ColorWhen,
    /// Site defaults file [default: ./relayscan.toml, else
    /// $XDG_CONFIG_HOME/relayscan/relayscan.toml]; see `relayscan config`.
    #[arg(long, value_name = "FILE", global = true)]
    pub config_file: Option<PathBuf>,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Scan targets for open relays.
    #[command(after_help = crate::exit::HELP)]
    Scan(ScanArgs),
    /// Run the built-in lab (a simulated mail network on loopback) until Ctrl-C.
    #[cfg(feature = "lab")]
    #[command(after_help = crate::exit::PLAIN_HELP)]
    Lab(LabArgs),
    /// Start the lab, scan it, write reports/demo/ and print a summary.
    #[cfg(feature = "lab")]
    #[command(after_help = crate::exit::PLAIN_HELP)]
    Demo(DemoArgs),
    /// Print the endpoints a scan would probe, in scan order, without sending anything.
    #[command(after_help = crate::exit::PLAIN_HELP)]
    Targets(TargetsArgs),
    /// Combine the JSONL reports of several shards into one report set.
    #[command(after_help = crate::exit::PLAIN_HELP)]
    Merge(MergeArgs),
    /// Regenerate reports (HTML, Markdown, CSV, JSON) from a scan's JSONL file.
    #[command(after_help = crate::exit::HELP)]
    Report(ReportArgs),
    /// Compare two scans: new open relays, fixed ones, changed verdicts and findings.
    #[command(after_help = crate::exit::HELP)]
    Diff(DiffArgs),
    /// Audit Postfix, Exim, OpenSMTPD or Sendmail configuration files for relay
    /// misconfigurations (no traffic).
    #[command(after_help = crate::exit::AUDIT_HELP)]
    AuditConfig(AuditArgs),
    /// Read Postfix, Sendmail or Exim mail logs: mail relayed for strangers, refused relay
    /// attempts, failed logins, volume spikes (no traffic).
    #[command(after_help = crate::exit::LOGS_HELP)]
    Logs(LogsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout, or write one page per subcommand with --dir.
    Man(ManArgs),
    /// Print the site defaults a scan takes (relayscan.toml, RELAYSCAN_* variables) and
    /// where each value comes from.
    Config,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: TargetListArgs,
    #[command(flatten)]
    pub common: CommonScanArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Exit 1 when the scan finds an open relay (open-relay), a finding at or above a
    /// severity (critical, high, medium, low), or a finding with this id, of a host or a
    /// domain, whatever its severity (blocklisted-policy, dkim-weak-key; the ids are listed
    /// in docs/reports.md and docs/domains.md).
    #[arg(long, value_name = "LEVEL|ID")]
    pub fail_on: Option<crate::report::FailOn>,
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
    /// Read excludes from FILE. Repeatable.
    #[arg(long, visible_alias = "excludefile", value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Probes in flight at once (capped by the open-file limit).
    #[arg(short = 'c', long, value_name = "N", default_value_t = 100)]
    pub concurrency: usize,
    /// New connections per second, across the whole scan: with --shard I/N across all N
    /// shards, each taking 1/N of it.
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
    #[arg(long, value_name = "ADDRESS", default_value = crate::config::probe::DEFAULT_RCPT_TO)]
    pub rcpt_to: String,
    /// Output prefix: writes PREFIX.csv, PREFIX.jsonl, PREFIX.json; a folder (or a name
    /// ending in /) gets FOLDER/relayscan-<UTC time>.* [default: reports/scan-<time>].
    /// `-o -` streams JSON Lines records to stdout as hosts finish (jsonl only, no
    /// checkpoint); every other line goes to stderr.
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: Option<PathBuf>,
    /// Report formats to write: csv, jsonl, json, html, md [default: csv,jsonl,json; jsonl
    /// with -o -].
    #[arg(long, value_name = "LIST")]
    pub format: Option<String>,
    /// Also write endpoints that did not answer (refused, timed out).
    #[arg(long)]
    pub all: bool,
    /// Print each host's SMTP dialogue, sanitised, as it completes.
    #[arg(long)]
    pub transcript: bool,
    /// Send the relay tests one command at a time even to servers that advertise
    /// PIPELINING (by default they go as one RFC 2920 group: a few round trips, not ~50).
    #[arg(long)]
    pub no_pipelining: bool,
    /// No progress bar; a one-line status every few seconds instead.
    #[arg(long)]
    pub no_progress: bool,
    /// More detail on stderr, as nmap's -v: -v a line per host as it finishes and the
    /// pace's figures; -vv also each DNS step.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress or status lines on stderr (the summary table still goes to stdout;
    /// with -o -, nothing but records does).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// STARTTLS after EHLO: auto (when advertised), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub starttls: String,
    /// Ports that speak TLS first (implicit TLS), same syntax as --ports.
    #[arg(long, value_name = "PORTS", default_value = "465")]
    pub tls_ports: String,
    /// Where the relay tests run: auto (over TLS when established, else plaintext), plain, tls, both.
    #[arg(long, value_name = "WHERE", default_value = "auto")]
    pub relay_over: String,
    /// Which relay tests to send: full (the 16 of the catalogue), quick (tests 1, 2, 3
    /// and 6: the ones that find most open relays), none (banner grab: greeting, EHLO,
    /// STARTTLS and the certificate, not one MAIL or RCPT; verdict not-tested).
    #[arg(long, value_name = "DEPTH", default_value = "full")]
    pub tests: String,
    /// Check every answering address against DNS blocklists, through the mail domains'
    /// resolver: default, a comma list of zones or names (spamhaus-zen, spamcop, ...),
    /// NAME=ZONE for a mirror, or a FILE of them [default: off].
    #[arg(long, value_name = "ZONES|FILE")]
    pub blocklists: Option<String>,
    /// Spamhaus Data Query Service key: query KEY.zen.dq.spamhaus.net instead of
    /// zen.spamhaus.org [default: $RELAYSCAN_DQS_KEY].
    #[arg(long, value_name = "KEY")]
    pub dqs_key: Option<String>,
}

#[cfg(feature = "lab")]
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
    /// Serve the misbehaving servers instead (tarpit, floods, garbage, resets, ...): one
    /// host each; scan them with short timeouts (see docs/lab.md, "Hostile servers").
    #[arg(long, conflicts_with_all = ["persona", "hosts"])]
    pub hostile: bool,
    /// How many addresses to populate, cycling through the personas [default: one each].
    #[arg(long, value_name = "N")]
    pub hosts: Option<usize>,
    /// Append every command the lab receives to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Delay before the replies to each flight of commands (the greeting, each command,
    /// each pipelined group), to simulate a wide-area round trip.
    #[arg(long, value_name = "DURATION", default_value = "0ms")]
    pub reply_delay: String,
    /// How long the slow-greeting persona holds its 220- teaser.
    #[arg(long, value_name = "DURATION", default_value = "1500ms")]
    pub greeting_pause: String,
    /// Port of the implicit-TLS persona's TLS-first listener [default: 4650; 0 with --port 0].
    #[arg(long, value_name = "N")]
    pub tls_port: Option<u16>,
    /// Also serve the lab's DNS zone (lab.test: a mail domain per persona) on the last
    /// address of --bind at this port (0: a free one).
    #[arg(long, value_name = "N")]
    pub dns_port: Option<u16>,
    /// List every host (address, persona, designed verdict, description) instead of one
    /// line per persona.
    #[arg(short, long)]
    pub verbose: bool,
}

#[cfg(feature = "lab")]
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

/// How the target plan is ordered, cut and fenced (`scan` and `targets`).
#[derive(Debug, Args, Default)]
pub struct PlanArgs {
    /// Seed of the scan order; the same seed gives the same order [default: random; a scan
    /// records it in its report].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Visit targets sorted (by port, then by address, ascending; not the order given)
    /// instead of a permutation.
    #[arg(long, conflicts_with = "seed")]
    pub sequential: bool,
    /// Scan only shard I of N (1-based); every shard needs the same --seed.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// The authorised scope: a target outside it is refused (a scan stops before any
    /// traffic).
    /// An address, CIDR block or range, or a file of them. Repeatable.
    #[arg(long, value_name = "CIDR|FILE")]
    pub scope: Vec<String>,
    /// Scan more than 65,536 addresses without --scope (IPv4 or IPv6; ports do not count).
    #[arg(long, visible_alias = "force-large-ipv6")]
    pub allow_large: bool,
    #[command(flatten)]
    pub dns: DnsArgs,
}

/// How mail domains are resolved (`scan` and `targets`).
#[derive(Debug, Args, Default, Clone)]
pub struct DnsArgs {
    /// DNS server to ask, IP or IP:PORT (port 53 by default). Repeatable
    /// [default: the system configuration, /etc/resolv.conf].
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Vec<String>,
    /// DNS lookups in flight at once [default: 32].
    #[arg(long, value_name = "N")]
    pub dns_concurrency: Option<usize>,
    /// New DNS lookups per second [default: 200].
    #[arg(long, value_name = "PER_SECOND")]
    pub dns_rate: Option<u32>,
    /// Wait for one DNS answer before asking again (two tries) [default: 2s].
    #[arg(long, value_name = "DURATION")]
    pub dns_timeout: Option<String>,
    /// DKIM selectors to look for at SELECTOR._domainkey.DOMAIN: a comma list, or a FILE
    /// (one a line, # comments) [default: 14 common selectors, data/dkim-selectors.txt].
    /// Each costs one TXT lookup per mail domain (paced by --dns-rate), asked only when
    /// _domainkey.DOMAIN exists (NXDOMAIN there: no key at all, RFC 8020). Selectors are
    /// guessed: no key found under them is not proof that a domain does not sign.
    /// `none`: no DKIM lookups.
    #[arg(long, value_name = "LIST|FILE|none")]
    pub dkim_selectors: Option<String>,
    /// Trust the certificate authorities in FILE (PEM) beside the Mozilla roots: for the
    /// MTA-STS policy hosts (https://mta-sts.DOMAIN) and the mail hosts' chains.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The port MTA-STS policies are fetched from (tests only; the real one is 443).
    #[arg(long, value_name = "PORT", hide = true)]
    pub mta_sts_port: Option<u16>,
}

/// Pacing and resuming of one scan.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// New connections per second to any one /24 (IPv4) or /64 (IPv6) [default: no
    /// limit]; with --shard I/N for all N shards together, each taking 1/N of it.
    #[arg(long, value_name = "PER_SECOND")]
    pub subnet_rate: Option<u32>,
    /// Keep a checkpoint in FILE (every few seconds and at the end) to resume from.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Resume the scan FILE was written for (same targets and options), appending to its reports.
    #[arg(long, value_name = "FILE", conflicts_with = "checkpoint")]
    pub resume: Option<PathBuf>,
}

/// Targets on the command line and in files (`scan` and `targets`).
#[derive(Debug, Args)]
pub struct TargetListArgs {
    /// Targets: IP, CIDR, range (192.0.2.5-20), host name, host:port, [v6]:port.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Read targets from FILE, one per line (# comments); "-" reads stdin. nmap's spelling
    /// -iL FILE works too. Repeatable.
    #[arg(
        short = 'i',
        long = "input-list",
        visible_alias = "iL",
        value_name = "FILE"
    )]
    pub input_lists: Vec<PathBuf>,
    /// A mail domain (DOMAIN, or DOMAIN:PORT to probe its mail hosts on PORT): scan its MX
    /// hosts (or, without MX, its own address). Repeatable.
    #[arg(short = 'd', long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Read mail domains from FILE, one per line (# comments); "-" reads stdin. Repeatable.
    #[arg(long = "domains", value_name = "FILE")]
    pub domain_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(flatten)]
    pub input: TargetListArgs,
    /// Ports for targets that name none.
    #[arg(short = 'p', long, value_name = "PORTS", default_value = "25")]
    pub ports: String,
    /// Never list these. Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub exclude: Vec<String>,
    /// Read excludes from FILE. Repeatable.
    #[arg(long, visible_alias = "excludefile", value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print only the number of endpoints.
    #[arg(long)]
    pub count: bool,
    /// Write the list to FILE instead of stdout: the resolved plan, once, for every shard
    /// of a scan to read with -iL FILE (names resolved here, not at each shard's start,
    /// so the shards' plans agree and `merge` accepts their parts).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "count"
    )]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSONL reports of the shards (PREFIX.jsonl); PREFIX.json beside each adds its run metadata.
    #[arg(value_name = "JSONL", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output prefix: writes PREFIX.csv, PREFIX.jsonl, PREFIX.json.
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: PathBuf,
    /// Report formats to write.
    #[arg(long, value_name = "LIST", default_value = "csv,jsonl,json")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A scan's JSON Lines report; its PREFIX.json beside it adds the run metadata.
    #[arg(value_name = "IN.jsonl")]
    pub input: PathBuf,
    /// Report formats to write: html, md, csv, json, jsonl.
    #[arg(long, value_name = "LIST", default_value = "html,md")]
    pub format: String,
    /// Output prefix [default: IN without its extension].
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: Option<PathBuf>,
    /// Exit 1 when the records hold an open relay (open-relay), a finding at or above a
    /// severity (critical, high, medium, low), or a finding with this id, of a host or a
    /// domain, whatever its severity (blocklisted-policy, dkim-weak-key).
    #[arg(long, value_name = "LEVEL|ID")]
    pub fail_on: Option<crate::report::FailOn>,
    /// Do not list the files written.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier scan's JSON Lines report.
    #[arg(value_name = "OLD.jsonl")]
    pub old: PathBuf,
    /// The later scan's JSON Lines report.
    #[arg(value_name = "NEW.jsonl")]
    pub new: PathBuf,
    /// Also write the changes to PREFIX.csv and PREFIX.json.
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: Option<PathBuf>,
    /// Formats written with -o: csv, json.
    #[arg(long, value_name = "LIST", default_value = "csv,json")]
    pub format: String,
    /// Exit 1 when NEW brings a new open relay (open-relay), a new finding at or above a
    /// severity (critical, high, medium, low), or a new finding with this id, of a host or
    /// a domain (blocklisted-policy, dkim-weak-key).
    #[arg(long, value_name = "LEVEL|ID")]
    pub fail_on: Option<crate::report::FailOn>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Configuration files: Postfix main.cf, master.cf or `postconf -n` output; an Exim
    /// configure file and/or Debian's update-exim4.conf.conf; OpenSMTPD smtpd.conf; Sendmail
    /// .mc (compiled with m4 and sendmail-cf when both are installed), .cf or access source.
    /// A folder: the files of those names in it (main.cf, master.cf, update-exim4.conf.conf,
    /// exim4.conf, exim.conf, configure, smtpd.conf, sendmail.mc, sendmail.cf, access).
    /// `-` reads stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Which MTA the files belong to: postfix, exim, opensmtpd, sendmail, or auto (by name,
    /// else content).
    #[arg(long, value_enum, default_value = "auto")]
    pub mta: crate::audit::MtaChoice,
    /// Also write the findings to PREFIX.csv, PREFIX.json, PREFIX.html.
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: Option<PathBuf>,
    /// Formats written with -o: csv, json, html.
    #[arg(long, value_name = "LIST", default_value = "csv,json,html")]
    pub format: String,
    /// Exit 1 when a setting lets anyone relay (open-relay), a finding is at or above a
    /// severity (critical, high, medium, low), or a finding has this id (vrfy-enabled);
    /// never: always exit 0 after the audit.
    #[arg(long, value_name = "LEVEL|ID", default_value = "high")]
    pub fail_on: crate::report::Gate,
    /// Do not print the findings table.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Mail logs: plain or gzip-compressed files (told by their first bytes), or `-` for
    /// stdin (`journalctl -u postfix -o short-iso | relayscan logs -`).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Whose lines to read: postfix, sendmail, exim, or auto (each line by its program).
    #[arg(long, value_enum, default_value = "auto")]
    pub mta: crate::logs::LogMta,
    /// Networks trusted to relay without authentication (CIDR, comma-separated): a message
    /// from a client outside them, unauthenticated, is a stranger's.
    #[arg(long, value_name = "CIDR,...", value_delimiter = ',')]
    pub mynetworks: Vec<String>,
    /// An MTA configuration audit-config reads (Postfix main.cf, Exim, Sendmail): the
    /// networks it trusts to relay are added to --mynetworks.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The server's own recipient domains (comma-separated, or a file of one per line);
    /// mail to any other domain is relayed.
    #[arg(long, value_name = "LIST|FILE")]
    pub local_domains: Option<String>,
    /// Read only lines at or after this time (2026-12-07, 2026-12-07T05:00:00Z; UTC unless
    /// an offset is given).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Read only lines before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Failed SASL logins from one client that raise sasl-login-failures.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub sasl_failures: u64,
    /// Outside recipients of one authenticated user that raise authenticated-mass-sending.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub user_recipients: u64,
    /// Messages in one hour from one client or user that raise volume-spike.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub hourly_messages: u64,
    /// Also write the conclusions to PREFIX.csv (one row per finding), PREFIX.json,
    /// PREFIX.html, PREFIX.md.
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub output: Option<PathBuf>,
    /// Formats written with -o: csv, json, html, md.
    #[arg(long, value_name = "LIST", default_value = "csv,json,html,md")]
    pub format: String,
    /// Exit 1 when mail was relayed for a stranger (open-relay), a finding is at or above a
    /// severity (critical, high, medium, low), or a finding has this id (volume-spike);
    /// never: always exit 0.
    #[arg(long, value_name = "LEVEL|ID", default_value = "critical")]
    pub fail_on: crate::report::Gate,
    /// Do not print the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write relayscan.1 and relayscan-SUBCOMMAND.1 into DIR instead of printing relayscan.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `lab` and `demo` run the lab crate: they exist exactly when the `lab` feature is on
    /// (`cargo test --no-default-features` checks the other side).
    /// clap's own checks of the definition (conflicting names, propagated --version).
    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lab_and_demo_exist_exactly_with_the_lab_feature() {
        let cli = Cli::command();
        let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
        assert!(names.contains(&"scan"), "{names:?}");
        for name in ["lab", "demo"] {
            assert_eq!(
                names.contains(&name),
                cfg!(feature = "lab"),
                "{name}: {names:?}"
            );
        }
    }
}
