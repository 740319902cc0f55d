//! The conclusions drawn while a log streams past: one [`Analyzer`] takes every line, keeps bounded tables (per client, per network, per user, per hour) and the open messages, and turns them into a [`LogReport`] at the end.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::bounded::{FewValues, TopTable, Weight};
use super::correlate::{Closed, Correlator, Message};
use super::event::{Delivery, Event, Parsed, domain_of, is_outside, recipients};
use super::model::{
    Bounds, FileSummary, HourRow, Incident, LogFinding, LogReport, RefusedRow, SaslRow,
    ThrottledRow, Totals, Unreadable, UserRow, VolumeRow,
};
use super::prefix::{self, YearHint, format_time};
use super::{LogMta, exim, postfix, sendmail};
use crate::assess::{Finding, FindingId, Mta};

/// Keys each per-client table keeps (top-K by count): 10,000 clients cover a busy
/// server's day; a botnet spraying from more addresses overflows it, and the report says so.
pub const TABLE_CAP: usize = 10_000;

/// Incidents listed in full; more are counted.
pub const MAX_INCIDENTS: usize = 1_000;

/// Unreadable lines quoted.
pub const MAX_SAMPLES: usize = 10;

/// Hours the timeline keeps: 400 days, a year of rotated logs and then some.
pub const MAX_HOURS: usize = 400 * 24;

/// Rows of each table in the report, and findings per kind.
pub const TOP_ROWS: usize = 50;

/// Events between two sweeps of the open messages.
const SWEEP_EVERY: u64 = 1 << 16;

/// When a finding is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Failed SASL logins from one client.
    pub sasl_failures: u64,
    /// Recipients outside the local domains delivered for one authenticated user.
    pub user_external_recipients: u64,
    /// Messages from one client or user in one hour.
    pub hourly_messages: u64,
    /// Refused relay attempts from one client or network.
    pub refused_attempts: u64,
}

impl Default for Thresholds {
    /// Defaults: 10 failed logins is past any typo; 100 outside recipients and 100
    /// messages an hour are Postfix's own example value for
    /// `smtpd_client_message_rate_limit` (per minute there, so a real person stays far
    /// under it per hour); any refused attempt is worth listing.
    fn default() -> Thresholds {
        Thresholds {
            sasl_failures: 10,
            user_external_recipients: 100,
            hourly_messages: 100,
            refused_attempts: 1,
        }
    }
}

/// What a run needs to know besides the lines.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub mta: LogMta,
    /// Clients trusted to relay (`--mynetworks`, or the configuration's).
    pub mynetworks: Vec<IpNetwork>,
    /// Recipient domains that are this server's own, lowercased.
    pub local_domains: HashSet<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub thresholds: Thresholds,
}

#[derive(Debug, Default)]
struct Refused {
    attempts: u64,
    first: Option<i64>,
    last: Option<i64>,
    domains: FewValues<String, 16>,
    clients: FewValues<IpAddr, 16>,
}

impl Weight for Refused {
    fn weight(&self) -> u64 {
        self.attempts
    }
}

#[derive(Debug, Default)]
struct Sasl {
    failures: u64,
    first: Option<i64>,
    last: Option<i64>,
    users: FewValues<String, 8>,
}

impl Weight for Sasl {
    fn weight(&self) -> u64 {
        self.failures
    }
}

/// The times the MTA's own limits (postscreen, anvil, ratecontrol, Exim's connection
/// limits) stopped one client.
#[derive(Debug, Default)]
struct Throttled {
    times: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl Weight for Throttled {
    fn weight(&self) -> u64 {
        self.times
    }
}

#[derive(Debug, Default)]
struct User {
    messages: u64,
    external: u64,
    clients: FewValues<IpAddr, 8>,
}

impl Weight for User {
    fn weight(&self) -> u64 {
        self.external.max(self.messages)
    }
}

/// Messages per hour of one key, kept as the current hour and the peak so far: O(1) per
/// key, exact for a log in time order.
#[derive(Debug, Default)]
struct Rate {
    total: u64,
    hour: Option<i64>,
    in_hour: u64,
    peak: u64,
    peak_hour: Option<i64>,
}

impl Rate {
    fn tick(&mut self, hour: Option<i64>) {
        self.total += 1;
        if hour != self.hour {
            self.hour = hour;
            self.in_hour = 0;
        }
        self.in_hour += 1;
        if self.in_hour > self.peak {
            self.peak = self.in_hour;
            self.peak_hour = hour;
        }
    }
}

impl Weight for Rate {
    fn weight(&self) -> u64 {
        self.peak
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Hour {
    received: u64,
    refused: u64,
    relayed: u64,
}

/// The state of one run.
pub struct Analyzer {
    settings: Settings,
    files: Vec<FileSummary>,
    hint: YearHint,
    now: Option<i64>,
    first_seen: Option<i64>,
    events: u64,
    messages: Correlator,
    refused_clients: TopTable<IpAddr, Refused>,
    refused_networks: TopTable<IpNetwork, Refused>,
    sasl: TopTable<IpAddr, Sasl>,
    throttled: TopTable<IpAddr, Throttled>,
    users: TopTable<String, User>,
    client_rate: TopTable<IpAddr, Rate>,
    user_rate: TopTable<String, Rate>,
    hours: BTreeMap<i64, Hour>,
    hours_dropped: u64,
    incidents: Vec<Incident>,
    incidents_total: u64,
    unreadable: Unreadable,
    totals: Totals,
    mta_lines: [u64; 3],
}

impl Analyzer {
    pub fn new(settings: Settings) -> Analyzer {
        Analyzer {
            settings,
            files: Vec::new(),
            hint: YearHint::of(0),
            now: None,
            first_seen: None,
            events: 0,
            messages: Correlator::default(),
            refused_clients: TopTable::new(TABLE_CAP),
            refused_networks: TopTable::new(TABLE_CAP),
            sasl: TopTable::new(TABLE_CAP),
            throttled: TopTable::new(TABLE_CAP),
            users: TopTable::new(TABLE_CAP),
            client_rate: TopTable::new(TABLE_CAP),
            user_rate: TopTable::new(TABLE_CAP),
            hours: BTreeMap::new(),
            hours_dropped: 0,
            incidents: Vec::new(),
            incidents_total: 0,
            unreadable: Unreadable::default(),
            totals: Totals::default(),
            mta_lines: [0; 3],
        }
    }

    /// Starts the next input, named `name`, whose RFC 3164 dates end by `hint` (its
    /// modification time, or now for stdin).
    pub fn begin_file(&mut self, name: &str, hint: YearHint) {
        self.hint = hint;
        self.files.push(FileSummary {
            file: name.to_string(),
            ..FileSummary::default()
        });
    }

    /// The summary of the input being read (for the "not a mail log" check).
    pub fn current_file(&self) -> Option<&FileSummary> {
        self.files.last()
    }

    fn file(&mut self) -> &mut FileSummary {
        if self.files.is_empty() {
            self.begin_file("<input>", self.hint);
        }
        self.files.last_mut().expect("one file at least")
    }

    /// A line that could not be read at all (too long, unreadable bytes): counted, sampled.
    pub fn unreadable(&mut self, number: usize, why: &str) {
        self.file().lines += 1;
        self.totals.lines += 1;
        self.note_unreadable(number, why);
    }

    fn note_unreadable(&mut self, number: usize, text: &str) {
        self.file().unreadable += 1;
        self.unreadable.count += 1;
        if self.unreadable.samples.len() < MAX_SAMPLES {
            let name = self.file().file.clone();
            let text = super::first_chars(text, 200);
            self.unreadable
                .samples
                .push(format!("{name}:{number}: {text}"));
        }
    }

    /// One line of the current input, numbered from 1, without its line ending.
    pub fn line(&mut self, number: usize, text: &str) {
        self.file().lines += 1;
        self.totals.lines += 1;
        let (time, program, message) = match prefix::parse(text, self.hint) {
            Some(p) => (p.time, p.program, p.message),
            // `journalctl -o cat`: the message alone.
            None => (None, None, text),
        };
        if let Some(t) = time {
            let outside = self.settings.since.is_some_and(|s| t < s)
                || self.settings.until.is_some_and(|u| t >= u);
            if outside {
                self.file().outside_window += 1;
                return;
            }
            self.now = Some(t);
            self.first_seen.get_or_insert(t);
        }
        let (mta, parsed) = match program {
            Some(p) => match self.reader_for(p) {
                Some(mta) => (mta, read(mta, message)),
                None => {
                    self.file().other_lines += 1;
                    return;
                }
            },
            None => self.guess(message),
        };
        match parsed {
            Parsed::Foreign if program.is_none() && time.is_none() => {
                self.note_unreadable(number, text);
            }
            Parsed::Foreign => self.file().other_lines += 1,
            Parsed::Known => {
                self.count_mta(mta);
                self.file().mail_lines += 1;
            }
            Parsed::Event(event) => {
                self.count_mta(mta);
                let file = self.file();
                file.mail_lines += 1;
                file.events += 1;
                self.event(event, number, text);
            }
        }
    }

    /// The reader for a program name, as `--mta` allows.
    fn reader_for(&self, program: &str) -> Option<Mta> {
        let mta = if postfix::is_program(program) {
            Mta::Postfix
        } else if sendmail::is_program(program) {
            Mta::Sendmail
        } else if exim::is_program(program) {
            Mta::Exim
        } else {
            return None;
        };
        self.settings.mta.allows(mta).then_some(mta)
    }

    /// A message without a program (Exim's mainlog, `journalctl -o cat`): each allowed
    /// reader in turn.
    fn guess<'a>(&self, message: &'a str) -> (Mta, Parsed<'a>) {
        for mta in [Mta::Postfix, Mta::Exim, Mta::Sendmail] {
            if !self.settings.mta.allows(mta) {
                continue;
            }
            let parsed = read(mta, message);
            if parsed != Parsed::Foreign {
                return (mta, parsed);
            }
        }
        (Mta::Unknown, Parsed::Foreign)
    }

    fn count_mta(&mut self, mta: Mta) {
        let slot = match mta {
            Mta::Postfix => 0,
            Mta::Sendmail => 1,
            _ => 2,
        };
        self.mta_lines[slot] += 1;
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        trusted(&self.settings.mynetworks, ip)
    }

    /// The message `id` (opened when absent, its times brought up to now), and what says
    /// whether its details are worth keeping.
    fn message(&mut self, id: &str) -> (&mut Message, Keeping<'_>) {
        let now = self.now;
        let m = self.messages.entry(id);
        m.first = m.first.or(now);
        m.last = now.or(m.last);
        let keeping = Keeping {
            listing: self.incidents.len() < MAX_INCIDENTS,
            mynetworks: &self.settings.mynetworks,
            local_domains: &self.settings.local_domains,
            file: self.files.last().map_or("", |f| f.file.as_str()),
        };
        (m, keeping)
    }

    fn hour(&mut self) -> Option<&mut Hour> {
        let hour = self.now?.div_euclid(3600) * 3600;
        if !self.hours.contains_key(&hour) && self.hours.len() >= MAX_HOURS {
            let (&oldest, _) = self.hours.iter().next()?;
            if oldest > hour {
                self.hours_dropped += 1;
                return None;
            }
            self.hours.remove(&oldest);
            self.hours_dropped += 1;
        }
        Some(self.hours.entry(hour).or_default())
    }

    fn event(&mut self, event: Event<'_>, number: usize, text: &str) {
        let now = self.now;
        let hour = now.map(|t| t.div_euclid(3600));
        match event {
            Event::Received {
                id,
                client,
                sender,
                user,
                recipients: announced,
            } => {
                self.totals.messages_received += 1;
                if let Some(h) = self.hour() {
                    h.received += 1;
                }
                if let Some(ip) = client {
                    self.client_rate.entry(&ip).tick(hour);
                }
                if let Some(u) = user {
                    self.user_rate.entry(u).tick(hour);
                    let entry = self.users.entry(u);
                    entry.messages += 1;
                    if let Some(ip) = client {
                        entry.clients.add(&ip);
                    }
                }
                let (m, keeping) = self.message(id);
                m.received = true;
                m.client = client.or(m.client);
                m.pending = announced.or(m.pending);
                if let Some(u) = user {
                    m.user = Some(u.into());
                }
                if let Some(s) = sender.filter(|_| keeping.wanted(m)) {
                    m.details_mut().sender = Some(s.to_string());
                }
                keeping.line(m, number, text);
            }
            Event::Sender { id, sender } => {
                let (m, keeping) = self.message(id);
                if keeping.wanted(m) {
                    m.details_mut().sender = Some(sender.to_string());
                    keeping.line(m, number, text);
                }
            }
            Event::Authenticated { id, user } => {
                let (m, _) = self.message(id);
                m.user = Some(user.into());
                // A SASL user's message is never a stranger's: nothing to list.
                m.details = None;
                self.user_rate.entry(user).tick(hour);
                self.users.entry(user).messages += 1;
            }
            Event::Delivered { id, rcpt, status } => {
                let (m, keeping) = self.message(id);
                let named = keeping.wanted(m);
                let mut outside = 0;
                let mut settled = 0;
                for rcpt in recipients(rcpt) {
                    settled += 1;
                    if status == Delivery::Sent && is_outside(rcpt, keeping.local_domains) {
                        outside += 1;
                        m.add_external(rcpt, now, named);
                    }
                }
                keeping.line(m, number, text);
                // Sent or bounced is final for these recipients; deferred is retried.
                let finished = status != Delivery::Deferred && m.settle(settled);
                let user = m.user.as_ref().filter(|_| outside > 0).cloned();
                self.totals.delivered_external += outside;
                if let Some(u) = user {
                    self.users.entry(&*u).external += outside;
                }
                if finished {
                    self.close_message(id);
                }
            }
            Event::Done { id } => {
                let (m, keeping) = self.message(id);
                keeping.line(m, number, text);
                self.close_message(id);
            }
            Event::RelayRefused { client, rcpt, .. } => {
                self.totals.relay_attempts_refused += 1;
                if let Some(h) = self.hour() {
                    h.refused += 1;
                }
                let domain = domain_of(rcpt).unwrap_or(std::borrow::Cow::Borrowed(rcpt));
                let net = network_of(client);
                for r in [
                    self.refused_clients.entry(&client),
                    self.refused_networks.entry(&net),
                ] {
                    r.attempts += 1;
                    r.first = r.first.or(now);
                    r.last = now.or(r.last);
                    r.domains.add(domain.as_ref());
                }
                self.refused_networks.entry(&net).clients.add(&client);
            }
            Event::AuthFailed { client, user } => {
                self.totals.sasl_failures += 1;
                let s = self.sasl.entry(&client);
                s.failures += 1;
                s.first = s.first.or(now);
                s.last = now.or(s.last);
                if let Some(u) = user {
                    s.users.add(u);
                }
            }
            Event::Throttled { client } => {
                self.totals.throttled += 1;
                // A line without an address (none of the known ones lack it) counts in the
                // total only.
                if let Some(ip) = client {
                    let t = self.throttled.entry(&ip);
                    t.times += 1;
                    t.first = t.first.or(now);
                    t.last = now.or(t.last);
                }
            }
        }
        self.events += 1;
        if self.events.is_multiple_of(SWEEP_EVERY) || self.messages.over_cap() {
            for closed in self.messages.sweep(now) {
                self.finish_message(closed);
            }
        }
    }

    /// The message `id` is finished (Postfix's `removed`, Exim's `Completed`, or a final
    /// status for each of Sendmail's `nrcpts=` recipients): its conclusions are drawn and
    /// it leaves the table.
    fn close_message(&mut self, id: &str) {
        if let Some(closed) = self.messages.close(id) {
            self.finish_message(closed);
        }
    }

    /// A message that left the queue (or was forgotten): relayed for a stranger when it
    /// came from a network client, unauthenticated, outside mynetworks, and reached a
    /// recipient outside the local domains.
    fn finish_message(&mut self, closed: Closed) {
        let Closed { id, message: m } = closed;
        let Some(client) = m.client else {
            return;
        };
        if m.user.is_some() || self.trusted(client) || m.external_count == 0 {
            return;
        }
        self.totals.relayed_for_stranger += 1;
        if let Some(t) = m.first_external {
            let hour = t.div_euclid(3600) * 3600;
            if let Some(h) = self.hours.get_mut(&hour) {
                h.relayed += 1;
            } else if self.hours.len() < MAX_HOURS {
                self.hours.entry(hour).or_default().relayed += 1;
            }
        }
        self.incidents_total += 1;
        if self.incidents.len() < MAX_INCIDENTS {
            let details = m.details.map(|d| *d).unwrap_or_default();
            self.incidents.push(Incident {
                queue_id: id.to_string(),
                client: client.to_string(),
                sender: details.sender,
                recipients: details.external,
                recipient_count: m.external_count,
                time: m.first_external.map(format_time),
                evidence: details.evidence.lines(),
            });
        }
    }

    /// The conclusions, once every input has been read.
    pub fn finish(mut self) -> LogReport {
        for closed in self.messages.drain() {
            self.finish_message(closed);
        }
        let mta = self.main_mta();
        let s = &self.settings;
        let t = s.thresholds;
        let mut findings = Vec::new();
        for i in &self.incidents {
            findings.push(LogFinding {
                subject: i.client.clone(),
                time: i.time.clone(),
                finding: Finding::new(
                    FindingId::RelayedForStranger,
                    mta,
                    format!(
                        "message {} from {} (not authenticated, outside mynetworks), sender <{}>, delivered to {} recipient(s) outside the local domains: {}",
                        i.queue_id,
                        i.client,
                        i.sender.as_deref().unwrap_or("?"),
                        i.recipient_count,
                        i.recipients.join(", ")
                    ),
                    i.evidence.clone(),
                ),
            });
        }
        let users: Vec<UserRow> = self
            .users
            .top(TOP_ROWS)
            .into_iter()
            .map(|(name, u)| UserRow {
                user: name.clone(),
                messages: u.messages,
                external_recipients: u.external,
                clients: u.clients.names(),
                more_clients: u.clients.more,
            })
            .collect();
        for u in users
            .iter()
            .filter(|u| u.external_recipients >= t.user_external_recipients)
        {
            findings.push(LogFinding {
                subject: u.user.clone(),
                time: None,
                finding: Finding::new(
                    FindingId::AuthenticatedMassSending,
                    mta,
                    format!(
                        "user {} sent {} message(s) to {} recipient(s) outside the local domains (threshold {}), from {}",
                        u.user,
                        u.messages,
                        u.external_recipients,
                        t.user_external_recipients,
                        u.clients.join(", ")
                    ),
                    Vec::new(),
                ),
            });
        }
        let sasl: Vec<SaslRow> = self
            .sasl
            .top(TOP_ROWS)
            .into_iter()
            .map(|(ip, v)| SaslRow {
                client: ip.to_string(),
                failures: v.failures,
                first_seen: v.first.map(format_time),
                last_seen: v.last.map(format_time),
                users: v.users.values.clone(),
                more_users: v.users.more,
            })
            .collect();
        for r in sasl.iter().filter(|r| r.failures >= t.sasl_failures) {
            findings.push(LogFinding {
                subject: r.client.clone(),
                time: r.first_seen.clone(),
                finding: Finding::new(
                    FindingId::SaslLoginFailures,
                    mta,
                    format!(
                        "{} failed SASL login(s) from {} between {} and {} (threshold {}), user names tried: {}",
                        r.failures,
                        r.client,
                        r.first_seen.as_deref().unwrap_or("?"),
                        r.last_seen.as_deref().unwrap_or("?"),
                        t.sasl_failures,
                        if r.users.is_empty() { "none logged".to_string() } else { r.users.join(", ") }
                    ),
                    Vec::new(),
                ),
            });
        }
        let throttled_clients: Vec<ThrottledRow> = self
            .throttled
            .top(TOP_ROWS)
            .into_iter()
            .map(|(ip, t)| ThrottledRow {
                client: ip.to_string(),
                times: t.times,
                first_seen: t.first.map(format_time),
                last_seen: t.last.map(format_time),
            })
            .collect();
        let mut volume: Vec<VolumeRow> = rate_rows("client", &self.client_rate);
        volume.extend(rate_rows("user", &self.user_rate));
        volume.sort_by(|a, b| {
            b.peak_per_hour
                .cmp(&a.peak_per_hour)
                .then(a.who.cmp(&b.who))
        });
        volume.truncate(TOP_ROWS);
        for v in volume
            .iter()
            .filter(|v| v.peak_per_hour >= t.hourly_messages)
        {
            findings.push(LogFinding {
                subject: v.who.clone(),
                time: v.peak_hour.clone(),
                finding: Finding::new(
                    FindingId::VolumeSpike,
                    mta,
                    format!(
                        "{} {} sent {} message(s) in the hour from {} (threshold {}), {} in all",
                        v.kind,
                        v.who,
                        v.peak_per_hour,
                        v.peak_hour.as_deref().unwrap_or("?"),
                        t.hourly_messages,
                        v.messages
                    ),
                    Vec::new(),
                ),
            });
        }
        let refused_clients = refused_rows(&self.refused_clients, |ip| ip.to_string());
        let refused_networks = refused_rows(&self.refused_networks, |n| n.to_string());
        for r in refused_networks
            .iter()
            .filter(|r| r.attempts >= t.refused_attempts)
            .take(10)
        {
            findings.push(LogFinding {
                subject: r.source.clone(),
                time: r.first_seen.clone(),
                finding: Finding::new(
                    FindingId::RelayAttemptsRefused,
                    mta,
                    format!(
                        "{} relay attempt(s) refused from {} ({} client(s): {}) between {} and {}, to {}",
                        r.attempts,
                        r.source,
                        r.clients.len() as u64 + r.more_clients,
                        r.clients.join(", "),
                        r.first_seen.as_deref().unwrap_or("?"),
                        r.last_seen.as_deref().unwrap_or("?"),
                        r.recipient_domains.join(", ")
                    ),
                    Vec::new(),
                ),
            });
        }
        if self.unreadable.count > 0 {
            findings.push(LogFinding {
                subject: String::new(),
                time: None,
                finding: Finding::new(
                    FindingId::UnreadableLogLines,
                    mta,
                    format!(
                        "{} line(s) could not be read; the first {} are quoted",
                        self.unreadable.count,
                        self.unreadable.samples.len()
                    ),
                    self.unreadable.samples.clone(),
                ),
            });
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.finding.severity));
        let mut overflowed = Vec::new();
        for (name, over) in [
            ("refused_clients", self.refused_clients.overflowed()),
            ("refused_networks", self.refused_networks.overflowed()),
            ("sasl_failures", self.sasl.overflowed()),
            ("throttled_clients", self.throttled.overflowed()),
            ("users", self.users.overflowed()),
            ("volume (clients)", self.client_rate.overflowed()),
            ("volume (users)", self.user_rate.overflowed()),
        ] {
            if over {
                overflowed.push(name.to_string());
            }
        }
        let mut notes = Vec::new();
        if s.mynetworks.iter().any(|n| n.prefix() == 0) {
            notes.push(
                "mynetworks trusts every address (a /0): no client is a stranger, so no relaying \
                 can be called unauthorised; give --mynetworks the networks you mean to trust"
                    .to_string(),
            );
        }
        if s.local_domains.is_empty() {
            notes.push("no --local-domains: every recipient domain counts as outside".to_string());
        }
        let mut mynetworks: Vec<String> = s.mynetworks.iter().map(|n| n.to_string()).collect();
        mynetworks.dedup();
        let mut local_domains: Vec<String> = s.local_domains.iter().cloned().collect();
        local_domains.sort();
        let timeline = self
            .hours
            .iter()
            .map(|(&h, v)| HourRow {
                hour: format_time(h),
                received: v.received,
                refused: v.refused,
                relayed: v.relayed,
            })
            .collect();
        let mut totals = self.totals;
        totals.first_seen = self.first_seen.map(format_time);
        totals.last_seen = self.now.map(format_time);
        LogReport {
            files: self.files,
            mta,
            since: s.since.map(format_time),
            until: s.until.map(format_time),
            mynetworks,
            local_domains,
            totals,
            findings,
            relayed: self.incidents,
            refused_clients,
            refused_networks,
            sasl_failures: sasl,
            throttled_clients,
            users,
            volume,
            timeline,
            unreadable: self.unreadable,
            bounds: Bounds {
                table_cap: TABLE_CAP,
                overflowed,
                messages_expired: self.messages.expired,
                messages_evicted: self.messages.evicted,
                incidents_not_listed: self.incidents_total.saturating_sub(MAX_INCIDENTS as u64),
                hours_dropped: self.hours_dropped,
            },
            notes,
        }
    }

    fn main_mta(&self) -> Mta {
        let [p, s, e] = self.mta_lines;
        if p == 0 && s == 0 && e == 0 {
            Mta::Unknown
        } else if p >= s && p >= e {
            Mta::Postfix
        } else if s >= e {
            Mta::Sendmail
        } else {
            Mta::Exim
        }
    }
}

/// Whether a message's details (its lines, its sender, the names of its recipients) are
/// worth keeping: only while it may still be listed as relayed for a stranger. The rest
/// (times, client, user, counts) is always kept: the conclusions need it.
struct Keeping<'a> {
    /// The list of incidents has room ([`MAX_INCIDENTS`]): details of a message that
    /// cannot be listed would be dropped unread.
    listing: bool,
    mynetworks: &'a [IpNetwork],
    local_domains: &'a HashSet<String>,
    /// The input being read, for `file:line:` evidence.
    file: &'a str,
}

impl Keeping<'_> {
    /// Whether `m` may still be listed: room in the list, and neither a SASL login nor a
    /// trusted client has cleared it.
    fn wanted(&self, m: &Message) -> bool {
        self.listing && m.user.is_none() && m.client.is_none_or(|ip| !trusted(self.mynetworks, ip))
    }

    /// Keeps line `number` (`text`) as evidence about `m` when it is wanted, and drops
    /// what was kept once it is not (a login or a full list cleared it).
    fn line(&self, m: &mut Message, number: usize, text: &str) {
        if self.wanted(m) {
            m.details_mut().evidence.keep(self.file, number, text);
        } else {
            m.details = None;
        }
    }
}

fn trusted(mynetworks: &[IpNetwork], ip: IpAddr) -> bool {
    mynetworks.iter().any(|n| n.contains(ip))
}

/// One MTA's reading of a message.
fn read(mta: Mta, message: &str) -> Parsed<'_> {
    match mta {
        Mta::Postfix => postfix::parse(message),
        Mta::Sendmail => sendmail::parse(message),
        _ => exim::parse(message),
    }
}

/// The /24 of an IPv4 address, the /48 of an IPv6 one: a site's usual allocation, so that
/// attempts from one network's many addresses add up.
pub fn network_of(ip: IpAddr) -> IpNetwork {
    let prefix = if ip.is_ipv4() { 24 } else { 48 };
    let net = IpNetwork::new(ip, prefix).expect("24 and 48 are valid prefixes");
    IpNetwork::new(net.network(), prefix).expect("the same prefix")
}

fn refused_rows<K: std::hash::Hash + Eq + Clone + Ord>(
    table: &TopTable<K, Refused>,
    name: impl Fn(&K) -> String,
) -> Vec<RefusedRow> {
    table
        .top(TOP_ROWS)
        .into_iter()
        .map(|(k, r)| RefusedRow {
            source: name(k),
            attempts: r.attempts,
            first_seen: r.first.map(format_time),
            last_seen: r.last.map(format_time),
            recipient_domains: r.domains.values.clone(),
            more_domains: r.domains.more,
            clients: r.clients.names(),
            more_clients: r.clients.more,
        })
        .collect()
}

fn rate_rows<K: std::hash::Hash + Eq + Clone + Ord + ToString>(
    kind: &'static str,
    table: &TopTable<K, Rate>,
) -> Vec<VolumeRow> {
    table
        .top(TOP_ROWS)
        .into_iter()
        .map(|(k, r)| VolumeRow {
            kind,
            who: k.to_string(),
            messages: r.total,
            peak_per_hour: r.peak,
            peak_hour: r.peak_hour.map(|h| format_time(h * 3600)),
        })
        .collect()
}

#[cfg(test)]
mod tests;
