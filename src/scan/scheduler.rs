//! Runs a scan space in its order: concurrency cap (semaphore), global rate (governor),
//! per-subnet rate (keyed governor), Ctrl-C, one writer task that assesses each outcome
//! (and, once every record is in, each mail domain) and also keeps the checkpoint.
//!
//! Probes never wait on report I/O beyond the bounded channel's backpressure, and the
//! writer holds one record at a time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};
use governor::RateLimiter;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::assess::domain::assess as assess_domain;
use crate::assess::{Assessment, assess_outcome};
use crate::dns::dnsbl::Dnsbl;
use crate::dns::{Limited, hickory::HickoryResolver};
use crate::exit::StopSignal;
use crate::probe::{Outcome, ProbeSettings, Status};
use crate::report::domain_totals::DomainTotals;
use crate::report::domains::{DomainArrival, DomainEntry};
use crate::report::telnet::telnet_view;
use crate::report::{ReportError, ReportSink, Reports, RunEnd, ScanRecord, Summary, sanitize};
use crate::say::say;
use crate::scan::backoff::{FdPressure, probe_with_backoff};
use crate::scan::checkpoint::{Checkpoint, Ledger};
use crate::scan::pace::Pace;
use crate::scan::progress::{Live, Progress};
use crate::scan::share::Rate;
use crate::scan::subnet::SubnetLimiter;
use crate::smtp::Direction;
use crate::target::{Endpoint, Space};

/// Records in flight between the probes and the writer.
const CHANNEL_CAPACITY: usize = 1024;

/// How often the checkpoint file is rewritten during a scan (and once more at the end).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// How one scan is paced and what it writes.
#[derive(Debug, Clone)]
pub struct Scheduler {
    pub concurrency: usize,
    /// New connections per second, the whole scan's and this shard's share of it.
    pub rate: Rate,
    /// New connections per second per /24 (IPv4) or /64 (IPv6), if limited; shared by
    /// the shards like `rate`.
    pub subnet_rate: Option<Rate>,
    pub probe: Arc<ProbeSettings>,
    /// Write endpoints that did not answer too (--all).
    pub write_unanswered: bool,
    /// Print each dialogue on stdout (--transcript).
    pub print_transcripts: bool,
    /// A line on stderr per host as it finishes (-v).
    pub host_lines: bool,
    /// Ask the DNS blocklists about every address that answered (--blocklists).
    pub blocklists: Option<Arc<Dnsbl<Limited<HickoryResolver>>>>,
}

/// What reaches the writer: a probe's outcome at its position, or (in a streamed
/// domain run) a mail domain, resolved, sent before any of its endpoints is probed.
// The outcome is the common case and travelled unboxed before domains shared the
// channel; boxing it would cost an allocation per probe to save a domain's few bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Delivery {
    Outcome(u128, Outcome),
    Domain(Box<DomainArrival>),
}

/// The writer's channel (bounded: probes wait on it rather than pile up records).
pub fn delivery_channel() -> (mpsc::Sender<Delivery>, mpsc::Receiver<Delivery>) {
    mpsc::channel(CHANNEL_CAPACITY)
}

/// Where a scan starts from: nothing finished, or a checkpoint's ledger and summary.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub ledger: Ledger,
    pub summary: Summary,
}

/// Keeping a checkpoint: the file and the checkpoint as last saved (its ledger, summary
/// and report length are refreshed on every save).
#[derive(Debug, Clone)]
pub struct Checkpointing {
    pub path: PathBuf,
    pub state: Checkpoint,
}

/// How a scan ended.
#[derive(Debug)]
pub struct ScanResult {
    pub summary: Summary,
    pub interrupted: bool,
    /// Probes cut off by Ctrl-C and left out of the reports, for a resume to probe again.
    pub cut_off: u64,
    /// How this run used its concurrency.
    pub pace: Pace,
    /// The reports are under their names; not when a run stopped before its first record
    /// left an earlier set there.
    pub reports_placed: bool,
    /// The mail domains in totals; `None` without mail domains.
    pub domains: Option<DomainTotals>,
}

/// What the writer hands back: the totals, the probes cut off, the pace, the mail
/// domains, and whether the reports were written (and placed).
type WriterEnd = (
    Summary,
    u64,
    Pace,
    Option<DomainTotals>,
    Result<bool, ReportError>,
);

/// What stops a scan: only output failures (per-host trouble is data).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// What one run writes to and how it is stopped: the reports (begun), where it starts,
/// its checkpoint, its progress display, and its stop tokens
/// (`probe.session.cancel` must be `stopping.abort`).
pub struct Run {
    pub reports: Reports,
    pub start: Start,
    pub checkpoint: Option<Checkpointing>,
    pub progress: Progress,
    pub stopping: Stopping,
    /// A streamed domain run's slots for domains waiting (see
    /// `domain_stage::DOMAINS_WAITING`): one given back per domain written.
    pub domain_slots: Option<Arc<Semaphore>>,
}

/// The two stages of stopping: `stop` starts nothing new (first Ctrl-C); `abort` cuts the
/// probes in flight, which then report `cancelled` with what they had (grace ran out).
#[derive(Debug, Clone, Default)]
pub struct Stopping {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
    /// The first stop signal, for the exit code.
    pub signal: Arc<OnceLock<StopSignal>>,
    /// Probes started and not yet finished: what the first stop waits for.
    pub in_flight: Arc<AtomicU64>,
}

impl Stopping {
    /// What the progress display watches.
    pub fn live(&self) -> Live {
        Live {
            in_flight: Arc::clone(&self.in_flight),
            stop: self.stop.clone(),
        }
    }
}

impl Scheduler {
    /// Probes every endpoint of `space` not yet finished in `start`, in the space's
    /// order, streaming records into `reports` (already begun).
    /// `probe.session.cancel` must be `stopping.abort`.
    pub async fn run(
        &self,
        space: &Space,
        reports: Reports,
        start: Start,
        checkpoint: Option<Checkpointing>,
        progress: Progress,
        stopping: Stopping,
    ) -> Result<ScanResult, ScanError> {
        let skip = start.ledger.clone();
        let pending = space
            .iter_from(skip.low())
            .filter(move |(k, _)| !skip.is_finished(*k));
        let (tx, rx) = delivery_channel();
        let run = Run {
            reports,
            start,
            checkpoint,
            progress,
            stopping,
            domain_slots: None,
        };
        self.drive(stream::iter(pending), space.len(), (tx, rx), run)
            .await
    }

    /// Probes the endpoints as `endpoints` yields them (with their positions), paced,
    /// while the writer takes what arrives on `channel` (whose sender may also have been
    /// handed to a stage that feeds the endpoints: the writer ends when every sender is
    /// gone). `total` is the positions in all, for the checkpoint's `complete`.
    pub async fn drive(
        &self,
        endpoints: impl Stream<Item = (u128, Endpoint)>,
        total: u128,
        channel: (mpsc::Sender<Delivery>, mpsc::Receiver<Delivery>),
        run: Run,
    ) -> Result<ScanResult, ScanError> {
        let began = std::time::Instant::now();
        let (tx, rx) = channel;
        let Run {
            reports,
            start,
            checkpoint,
            progress,
            stopping,
            domain_slots,
        } = run;
        let writer = Writer {
            reports,
            ledger: start.ledger,
            summary: start.summary,
            total,
            checkpoint,
            progress,
            write_unanswered: self.write_unanswered,
            print_transcripts: self.print_transcripts,
            host_lines: self.host_lines,
            stopping: stopping.clone(),
            cut_off: 0,
            pace: Pace::new(self.concurrency, self.rate.this_process()),
            domain_slots,
        };
        let writer = tokio::spawn(writer.run(rx));

        let permits = Arc::new(Semaphore::new(self.concurrency));
        // EMFILE shrinks the concurrency (permits taken out) instead of failing hosts.
        let pressure = Arc::new(FdPressure::new(
            Arc::clone(&permits),
            self.concurrency,
            false,
        ));
        let limiter = RateLimiter::direct(self.rate.quota());
        let mut subnets = self.subnet_rate.map(SubnetLimiter::new);
        let mut tasks = JoinSet::new();
        // Boxed, so that dropping it after the loop ends a stage that feeds it.
        let mut endpoints = Box::pin(endpoints);
        loop {
            let (position, endpoint) = tokio::select! {
                biased;
                _ = stopping.stop.cancelled() => break,
                _ = stopping.abort.cancelled() => break,
                next = endpoints.next() => match next {
                    Some(next) => next,
                    None => break,
                },
            };
            let permit = tokio::select! {
                biased;
                _ = stopping.stop.cancelled() => break,
                _ = stopping.abort.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            if let Some(subnets) = subnets.as_mut() {
                tokio::select! {
                    biased;
                    _ = stopping.stop.cancelled() => break,
                    _ = stopping.abort.cancelled() => break,
                    _ = subnets.until_ready(endpoint.ip) => {}
                }
            }
            tokio::select! {
                biased;
                _ = stopping.stop.cancelled() => break,
                _ = stopping.abort.cancelled() => break,
                _ = limiter.until_ready() => {}
            }
            let settings = self.probe.clone();
            let tx = tx.clone();
            let pressure = Arc::clone(&pressure);
            let in_flight = Arc::clone(&stopping.in_flight);
            in_flight.fetch_add(1, Ordering::Relaxed);
            let dnsbl = self.blocklists.clone();
            tasks.spawn(async move {
                let mut outcome = probe_with_backoff(endpoint, &settings, &pressure).await;
                // Only hosts that answered: a blocklist says nothing useful about silence,
                // and 10,000 dark addresses would be 50,000 lookups for nothing.
                if let Some(dnsbl) = dnsbl.filter(|_| outcome.status.answered()) {
                    outcome.blocklists = Some(dnsbl.check(outcome.endpoint.ip).await);
                }
                in_flight.fetch_sub(1, Ordering::Relaxed);
                // The writer only goes away after a report failure; the scan is ending then.
                let _ = tx.send(Delivery::Outcome(position, outcome)).await;
                drop(permit);
            });
            while let Some(joined) = tasks.try_join_next() {
                report_panic(joined);
            }
        }
        // A stage feeding the endpoints sees the scan stop here.
        drop(endpoints);
        drop(tx);
        while let Some(joined) = tasks.join_next().await {
            report_panic(joined);
        }
        let interrupted = stopping.stop.is_cancelled() || stopping.abort.is_cancelled();
        let (summary, cut_off, mut pace, domains, written) = writer.await.unwrap_or_else(|e| {
            (
                Summary::default(),
                0,
                Pace::default(),
                None,
                Err(ReportError::internal(format!(
                    "the report writer failed: {e}"
                ))),
            )
        });
        pace.wall = began.elapsed();
        let outcome = written.map(|reports_placed| ScanResult {
            summary,
            interrupted,
            cut_off,
            pace,
            reports_placed,
            domains,
        });
        Ok(outcome?)
    }
}

fn report_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined
        && e.is_panic()
    {
        say(&format!(
            "relayscan: internal error while probing one endpoint (a bug; please report it): {e}"
        ));
    }
}

/// The single consumer of outcomes: assessments, summary, progress, transcripts, reports,
/// checkpoint; at the end, the mail domains' assessments.
struct Writer {
    reports: Reports,
    ledger: Ledger,
    summary: Summary,
    /// Positions in the space, for `complete`.
    total: u128,
    checkpoint: Option<Checkpointing>,
    progress: Progress,
    write_unanswered: bool,
    print_transcripts: bool,
    host_lines: bool,
    /// Cancelled here when a report cannot be written, to stop the scan; read for `interrupted`.
    stopping: Stopping,
    cut_off: u64,
    pace: Pace,
    domain_slots: Option<Arc<Semaphore>>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Delivery>) -> WriterEnd {
        let mut result = Ok(());
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.tick().await;
        loop {
            // Without a checkpoint there is nothing to do between records.
            let received = if self.checkpoint.is_none() {
                rx.recv().await
            } else {
                tokio::select! {
                    received = rx.recv() => received,
                    _ = tick.tick() => {
                        if result.is_ok() && let Err(e) = self.save_checkpoint() {
                            self.fail();
                            result = Err(e);
                        }
                        continue;
                    }
                }
            };
            let Some(delivery) = received else {
                break;
            };
            if result.is_err() {
                continue; // drain, so that no probe blocks on a full channel
            }
            let taken = match delivery {
                Delivery::Outcome(position, outcome) => self.take(position, outcome),
                Delivery::Domain(arrival) => {
                    self.reports.add_domain(*arrival);
                    self.write_ready_domains()
                }
            };
            if let Err(e) = taken {
                self.fail();
                result = Err(e);
            }
        }
        if result.is_ok()
            && let Err(e) = self.save_checkpoint()
        {
            result = Err(e);
        }
        self.progress.finish();
        let end = RunEnd {
            finished_at: chrono::Utc::now(),
            interrupted: self.stopping.stop.is_cancelled(),
        };
        // Domains still waiting (endpoints outside this run, or cut off by a stop) are
        // written with what their endpoints gave.
        self.reports.ready_remaining_domains();
        let domains = if result.is_ok() {
            self.write_ready_domains()
        } else {
            Ok(())
        };
        let totals = self.reports.domain_totals().cloned();
        let finished = self.reports.finish(&end, &self.summary);
        (
            self.summary,
            self.cut_off,
            self.pace,
            totals,
            result
                .and(domains)
                .and(finished)
                .map(|()| self.reports.is_placed()),
        )
    }

    /// What each mail domain whose endpoints are all in means, once: its worst verdict
    /// and findings from its resolution and its endpoints' verdicts, written at once as
    /// its record (the domain reports render these assessments as given). Nothing of a
    /// written domain stays here but its totals.
    fn write_ready_domains(&mut self) -> Result<(), ReportError> {
        loop {
            let Some(entry) = self.reports.next_ready_domain().map(|o| {
                let assessment = assess_domain(o.resolution, &o.address_facts());
                DomainEntry::new(o, assessment)
            }) else {
                return Ok(());
            };
            self.reports.domain(&entry)?;
            if let Some(slots) = &self.domain_slots {
                slots.add_permits(1);
            }
        }
    }

    /// One outcome: counted, shown, written, and marked finished in the ledger.
    fn take(&mut self, position: u128, outcome: Outcome) -> Result<(), ReportError> {
        // With a checkpoint, a probe cut off by Ctrl-C is not finished: it is left out of
        // the reports and probed again on resume, so that no endpoint appears twice.
        if outcome.status == Status::Cancelled && self.checkpoint.is_some() {
            self.cut_off += 1;
            return Ok(());
        }
        // What the outcome means, once, before anything shows or writes it.
        let assessment = assess_outcome(&outcome);
        self.progress.observe(outcome.status, assessment.verdict);
        self.pace.observe(outcome.duration_ms);
        let answered = outcome.status.answered();
        if self.host_lines {
            self.progress.note(&host_line(&outcome, &assessment));
        }
        if self.print_transcripts && answered {
            self.progress
                .print_stdout(&render_transcript(&outcome, &assessment));
        }
        // Moved, not cloned: the dialogue and transcript are most of a record's bytes.
        let record = ScanRecord::new(outcome, assessment);
        // A streamed run's plan grows as its domains arrive: each endpoint probed was in it.
        if self.domain_slots.is_some() {
            self.summary.planned += 1;
        }
        self.summary.add(&record);
        if answered || self.write_unanswered {
            self.reports.record(&record)?;
        } else {
            self.reports.settle(record.ip, record.port);
        }
        self.ledger.finish(position);
        self.write_ready_domains()
    }

    fn fail(&self) {
        self.stopping.stop.cancel();
        self.stopping.abort.cancel();
    }

    /// Rewrites the checkpoint: between two records, so the ledger, the summary and the
    /// JSONL length all describe the same moment.
    fn save_checkpoint(&mut self) -> Result<(), ReportError> {
        let Some(c) = self.checkpoint.as_mut() else {
            return Ok(());
        };
        // Wherever the JSONL is: under a temporary name until the first record.
        let jsonl_bytes = self.reports.jsonl_len()?;
        let state = &mut c.state;
        state.next = self.ledger.low();
        state.finished_above = self.ledger.runs_above();
        state.summary = self.summary.clone();
        state.jsonl_bytes = jsonl_bytes;
        state.saved_at = chrono::Utc::now();
        state.complete = self.ledger.finished_count() == self.total;
        state.save(&c.path)
    }
}

/// One finished host for `-v`, as nmap prints them: "relayscan: 192.0.2.1:25 completed
/// · open-relay (tests 1, 2, 3) · 120 ms", "relayscan: 192.0.2.2:25 refused · 3 ms".
pub fn host_line(outcome: &Outcome, assessment: &Assessment) -> String {
    let mut line = format!(
        "relayscan: {} {}",
        sanitize::terminal(&outcome.endpoint.to_string()),
        outcome.status
    );
    if let Some(v) = assessment.verdict {
        line.push_str(&format!(" · {v}"));
        if !assessment.open_tests.is_empty() {
            let ids: Vec<String> = assessment.open_tests.iter().map(u8::to_string).collect();
            line.push_str(&format!(" (tests {})", ids.join(", ")));
        }
    }
    let worst = assessment.findings.iter().map(|f| f.severity).max();
    if let Some(worst) = worst {
        line.push_str(&format!(
            " · {} (worst {worst})",
            crate::report::overview::count(assessment.findings.len() as u64, "finding")
        ));
    }
    line.push_str(&format!(" · {} ms", outcome.duration_ms));
    line
}

/// One host's dialogue as a person at a terminal would have seen it, sanitised.
pub fn render_transcript(outcome: &Outcome, assessment: &Assessment) -> String {
    let verdict = assessment.verdict.map(|v| v.as_str()).unwrap_or("-");
    let mut text = format!(
        "── {} · {} · {} ──\n",
        outcome.endpoint, outcome.status, verdict
    );
    // Pipelined tests test by test, as the dialogue paired them (report::telnet).
    for line in telnet_view(&outcome.transcript, &outcome.dialogue) {
        let who = match line.dir {
            Direction::Client => "C:",
            Direction::Server => "S:",
            Direction::Note => "  #",
        };
        let at = line.ms.map_or(String::new(), |ms| format!("{ms}ms"));
        text.push_str(&format!(
            "{at:>8} {who} {}\n",
            sanitize::terminal(&line.text)
        ));
    }
    if let Some(reason) = &assessment.reason {
        text.push_str(&format!("  => {}\n", sanitize::terminal(reason)));
    }
    text.push('\n');
    text
}

/// Grace handling for Ctrl-C, and for SIGHUP (what a dropped SSH session sends) and
/// SIGTERM (what systemd and Kubernetes send before they kill) alike: the first signal
/// stops new work, is kept for the exit code, and arms the abort after `grace`; a second
/// signal aborts at once. The handlers are in place when this returns.
pub fn install_stop_signals(stopping: Stopping, grace: Duration, quiet: bool) {
    let Ok(mut signals) = StopSignals::listen() else {
        return;
    };
    tokio::spawn(async move {
        let first = signals.next().await;
        let _ = stopping.signal.set(first);
        if !quiet {
            // Not eprintln!: after SIGHUP the terminal is gone, and a panic here would
            // leave the scan running with nothing to stop it.
            let in_flight = stopping.in_flight.load(Ordering::Relaxed);
            say(&format!("\n{}", stopping_line(first, in_flight, grace)));
        }
        stopping.stop.cancel();
        tokio::select! {
            _ = tokio::time::sleep(grace) => {}
            _ = signals.next() => {}
        }
        stopping.abort.cancel();
    });
}

/// What the first stop signal prints at once: "relayscan: interrupted by SIGINT;
/// stopping: 10 probes in flight finish within the grace of 3s; Ctrl-C again to abort now".
fn stopping_line(signal: StopSignal, in_flight: u64, grace: Duration) -> String {
    format!(
        // Debug writes a duration as --grace takes it: "3s", "500ms", "1.5s".
        "relayscan: interrupted by {}; stopping: {} in flight {} within the grace of {grace:?}; Ctrl-C again to abort now",
        signal.name(),
        crate::report::overview::count(in_flight, "probe"),
        if in_flight == 1 { "finishes" } else { "finish" },
    )
}

/// SIGINT, SIGHUP and SIGTERM, listened for.
struct StopSignals {
    /// None when SIGHUP was ignored at start: `nohup relayscan ...` asked to outlive its
    /// terminal, and a handler would undo that.
    hang_up: Option<Signal>,
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn listen() -> std::io::Result<StopSignals> {
        let hang_up = if ignored_at_start(libc::SIGHUP) {
            None
        } else {
            Some(signal(SignalKind::hangup())?)
        };
        Ok(StopSignals {
            hang_up,
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next of them to arrive.
    async fn next(&mut self) -> StopSignal {
        let hang_up = async {
            match self.hang_up.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = hang_up => StopSignal::HangUp,
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
        }
    }
}

/// Whether `signo` is ignored (SIG_IGN), as a parent like `nohup` leaves it.
fn ignored_at_start(signo: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into `old`,
    // a zeroed sigaction owned here.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signo, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_line_says_status_verdict_findings_and_time() {
        let open = crate::report::testdata::open_relay_outcome();
        let line = host_line(&open, &assess_outcome(&open));
        assert!(
            line.starts_with("relayscan: 192.0.2.25:25 completed · open-relay (tests "),
            "{line}"
        );
        assert!(line.contains("findings (worst critical)"), "{line}");
        assert!(
            line.ends_with(&format!(" · {} ms", open.duration_ms)),
            "{line}"
        );
        let refused = crate::report::testdata::refused_outcome();
        let line = host_line(&refused, &assess_outcome(&refused));
        assert_eq!(
            line,
            format!(
                "relayscan: {} refused · {} ms",
                refused.endpoint, refused.duration_ms
            )
        );
    }

    #[test]
    fn the_first_stop_says_what_it_waits_for_and_how_to_abort() {
        let table = [
            (
                StopSignal::Interrupt,
                10,
                Duration::from_secs(3),
                "relayscan: interrupted by SIGINT; stopping: 10 probes in flight finish within the grace of 3s; Ctrl-C again to abort now",
            ),
            (
                StopSignal::Terminate,
                1,
                Duration::from_millis(500),
                "relayscan: interrupted by SIGTERM; stopping: 1 probe in flight finishes within the grace of 500ms; Ctrl-C again to abort now",
            ),
        ];
        for (signal, in_flight, grace, want) in table {
            assert_eq!(stopping_line(signal, in_flight, grace), want);
        }
    }
}
