//! The conclusions of one `relayscan logs` run as data: the inputs, the totals, the findings (the scan's model), the per-client and per-network tables, the hourly timeline, and what was bounded or unreadable.

use serde::Serialize;

use crate::assess::{Finding, Mta, Verdict};

/// Bumped when a JSON field or CSV column changes meaning or disappears
/// (schema/logs-report.schema.json).
pub const LOGS_SCHEMA_VERSION: u32 = 1;

/// One input file and what was in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub lines: u64,
    /// Lines of a mail program (read, whether or not they carry an event).
    pub mail_lines: u64,
    /// Lines whose event was used.
    pub events: u64,
    /// Lines of other programs (a whole syslog has cron and kernel lines).
    pub other_lines: u64,
    /// Lines outside --since/--until.
    pub outside_window: u64,
    pub unreadable: u64,
}

/// One message relayed for a stranger: the critical conclusion, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub queue_id: String,
    pub client: String,
    pub sender: Option<String>,
    /// The recipients outside the local domains that were delivered (the first 20).
    pub recipients: Vec<String>,
    pub recipient_count: u64,
    /// When the first of them was delivered (RFC 3339, UTC).
    pub time: Option<String>,
    /// `file:line: text` of the lines that show it.
    pub evidence: Vec<String>,
}

/// Relay attempts refused, per client address or per network (/24, /48).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedRow {
    /// `192.0.2.7`, or `192.0.2.0/24`.
    pub source: String,
    pub attempts: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The recipient domains tried (the first 16), and how many more there were.
    pub recipient_domains: Vec<String>,
    pub more_domains: u64,
    /// Per network: the client addresses seen in it (the first 16).
    pub clients: Vec<String>,
    pub more_clients: u64,
}

/// Failed SASL logins of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaslRow {
    pub client: String,
    pub failures: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The user names tried (the first 8).
    pub users: Vec<String>,
    pub more_users: u64,
}

/// How often the MTA's own limits stopped one client: postscreen's drops (`PREGREET`,
/// `DNSBL rank`, ...), anvil's `... limit exceeded`, Sendmail's ratecontrol, Exim's
/// refused connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThrottledRow {
    pub client: String,
    pub times: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// What one SASL-authenticated user sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub user: String,
    pub messages: u64,
    /// Recipients outside the local domains delivered for this user.
    pub external_recipients: u64,
    /// Client addresses the user sent from (the first 8).
    pub clients: Vec<String>,
    pub more_clients: u64,
}

/// Messages per hour of one client or user: the peak and the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeRow {
    /// `client` or `user`.
    pub kind: &'static str,
    pub who: String,
    pub messages: u64,
    pub peak_per_hour: u64,
    /// The hour of the peak (RFC 3339, UTC, the start of the hour).
    pub peak_hour: Option<String>,
}

/// One hour of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HourRow {
    pub hour: String,
    pub received: u64,
    pub refused: u64,
    pub relayed: u64,
}

/// Lines that could not be read: counted, and the first few quoted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub count: u64,
    /// `file:line: text` (sanitised where printed).
    pub samples: Vec<String>,
}

/// What the bounded tables and the correlator had to drop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bounds {
    /// The entries each per-client table keeps (top-K by count).
    pub table_cap: usize,
    /// The tables that held more keys than that: their counts are lower bounds.
    pub overflowed: Vec<String>,
    /// Messages forgotten after 5 days without a line, or evicted at the cap of open ones.
    pub messages_expired: u64,
    pub messages_evicted: u64,
    /// Incidents beyond the ones listed, counted only.
    pub incidents_not_listed: u64,
    /// Hours dropped from the start of the timeline (it keeps the last 400 days).
    pub hours_dropped: u64,
}

/// The totals of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub lines: u64,
    pub messages_received: u64,
    pub delivered_external: u64,
    pub relayed_for_stranger: u64,
    pub relay_attempts_refused: u64,
    pub sasl_failures: u64,
    pub throttled: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// One finding of the log, in the scan's model, with whom it is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogFinding {
    /// The client address, network or user name the finding is about.
    pub subject: String,
    pub time: Option<String>,
    pub finding: Finding,
}

/// Everything one run concluded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LogReport {
    pub files: Vec<FileSummary>,
    /// The MTA most lines came from.
    pub mta: Mta,
    pub since: Option<String>,
    pub until: Option<String>,
    pub mynetworks: Vec<String>,
    pub local_domains: Vec<String>,
    pub totals: Totals,
    /// Most severe first.
    pub findings: Vec<LogFinding>,
    pub relayed: Vec<Incident>,
    pub refused_clients: Vec<RefusedRow>,
    pub refused_networks: Vec<RefusedRow>,
    pub sasl_failures: Vec<SaslRow>,
    /// The clients the MTA's limits stopped most often.
    pub throttled_clients: Vec<ThrottledRow>,
    pub users: Vec<UserRow>,
    pub volume: Vec<VolumeRow>,
    pub timeline: Vec<HourRow>,
    pub unreadable: Unreadable,
    pub bounds: Bounds,
    pub notes: Vec<String>,
}

impl LogReport {
    /// `OpenRelay` when mail was relayed for a stranger: the log proves what a scan infers.
    pub fn verdict(&self) -> Option<Verdict> {
        (!self.relayed.is_empty() || self.totals.relayed_for_stranger > 0)
            .then_some(Verdict::OpenRelay)
    }

    /// The scan model's findings, for the `--fail-on` gate.
    pub fn plain_findings(&self) -> Vec<Finding> {
        self.findings.iter().map(|f| f.finding.clone()).collect()
    }

    /// How many findings of each severity (every severity listed).
    pub fn counts(&self) -> std::collections::BTreeMap<&'static str, usize> {
        crate::assess::severity_counts(self.findings.iter().map(|f| &f.finding))
    }
}
