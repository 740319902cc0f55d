//! Runs a plan: concurrency cap (semaphore), global rate (governor), Ctrl-C, one writer task.
//!
//! Probes never wait on report I/O beyond the bounded channel's backpressure, and the
//! writer holds one record at a time.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::probe::{Outcome, ProbeSettings, probe};
use crate::report::{
    ReportError, ReportSink, Reports, RunEnd, RunMeta, ScanRecord, Summary, sanitize,
};
use crate::scan::progress::Progress;
use crate::smtp::Direction;
use crate::target::Plan;

/// Records in flight between the probes and the writer.
const CHANNEL_CAPACITY: usize = 1024;

/// How one scan is paced and what it writes.
#[derive(Debug, Clone)]
pub struct Scheduler {
    pub concurrency: usize,
    pub rate: NonZeroU32,
    pub probe: Arc<ProbeSettings>,
    /// Write endpoints that did not answer too (--all).
    pub write_unanswered: bool,
    /// Print each dialogue on stdout (--transcript).
    pub print_transcripts: bool,
}

/// How a scan ended.
#[derive(Debug)]
pub struct ScanResult {
    pub summary: Summary,
    pub interrupted: bool,
}

/// What stops a scan: only output failures (per-host trouble is data).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// The two stages of stopping: `stop` starts nothing new (first Ctrl-C); `abort` cuts the
/// probes in flight, which then report `cancelled` with what they had (grace ran out).
#[derive(Debug, Clone, Default)]
pub struct Stopping {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

impl Scheduler {
    /// Probes every endpoint of `plan`, streaming records into `reports`.
    /// `probe.session.cancel` must be `stopping.abort`.
    pub async fn run(
        &self,
        plan: &Plan,
        mut reports: Reports,
        meta: RunMeta,
        progress: Progress,
        stopping: Stopping,
    ) -> Result<ScanResult, ScanError> {
        reports.begin(&meta)?;
        let (tx, rx) = mpsc::channel::<Outcome>(CHANNEL_CAPACITY);
        let writer = Writer {
            reports,
            summary: Summary {
                planned: plan.len(),
                ..Summary::default()
            },
            progress,
            write_unanswered: self.write_unanswered,
            print_transcripts: self.print_transcripts,
            stopping: stopping.clone(),
        };
        let writer = tokio::spawn(writer.run(rx));

        let permits = Arc::new(Semaphore::new(self.concurrency));
        let limiter = RateLimiter::direct(Quota::per_second(self.rate));
        let mut tasks = JoinSet::new();
        for endpoint in plan.endpoints() {
            let permit = tokio::select! {
                biased;
                _ = stopping.stop.cancelled() => break,
                _ = stopping.abort.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            tokio::select! {
                biased;
                _ = stopping.stop.cancelled() => break,
                _ = stopping.abort.cancelled() => break,
                _ = limiter.until_ready() => {}
            }
            let settings = self.probe.clone();
            let tx = tx.clone();
            tasks.spawn(async move {
                let outcome = probe(endpoint, &settings).await;
                // The writer only goes away after a report failure; the scan is ending then.
                let _ = tx.send(outcome).await;
                drop(permit);
            });
            while let Some(joined) = tasks.try_join_next() {
                report_panic(joined);
            }
        }
        drop(tx);
        while let Some(joined) = tasks.join_next().await {
            report_panic(joined);
        }
        let interrupted = stopping.stop.is_cancelled() || stopping.abort.is_cancelled();
        let (summary, written) = writer.await.unwrap_or_else(|e| {
            (
                Summary::default(),
                Err(ReportError::internal(format!(
                    "the report writer failed: {e}"
                ))),
            )
        });
        let outcome = written.map(|()| ScanResult {
            summary,
            interrupted,
        });
        Ok(outcome?)
    }
}

fn report_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined
        && e.is_panic()
    {
        eprintln!(
            "relayscan: internal error while probing one endpoint (a bug; please report it): {e}"
        );
    }
}

/// The single consumer of outcomes: summary, progress, transcripts, reports.
struct Writer {
    reports: Reports,
    summary: Summary,
    progress: Progress,
    write_unanswered: bool,
    print_transcripts: bool,
    /// Cancelled here when a report cannot be written, to stop the scan; read for `interrupted`.
    stopping: Stopping,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Outcome>) -> (Summary, Result<(), ReportError>) {
        let mut result = Ok(());
        while let Some(outcome) = rx.recv().await {
            if result.is_err() {
                continue; // drain, so that no probe blocks on a full channel
            }
            self.progress.observe(outcome.status, outcome.verdict);
            if self.print_transcripts && outcome.status.answered() {
                self.progress.print_stdout(&render_transcript(&outcome));
            }
            let record = ScanRecord::from(&outcome);
            self.summary.add(&record);
            if (outcome.status.answered() || self.write_unanswered)
                && let Err(e) = self.reports.record(&record)
            {
                self.stopping.stop.cancel();
                self.stopping.abort.cancel();
                result = Err(e);
            }
        }
        self.progress.finish();
        let end = RunEnd {
            finished_at: chrono::Utc::now(),
            interrupted: self.stopping.stop.is_cancelled(),
        };
        let finished = self.reports.finish(&end, &self.summary);
        (self.summary, result.and(finished))
    }
}

/// One host's dialogue as a person at a terminal would have seen it, sanitised.
pub fn render_transcript(outcome: &Outcome) -> String {
    let verdict = outcome.verdict.map(|v| v.as_str()).unwrap_or("-");
    let mut text = format!(
        "── {} · {} · {} ──\n",
        outcome.endpoint, outcome.status, verdict
    );
    for line in &outcome.transcript {
        let who = match line.dir {
            Direction::Client => "C:",
            Direction::Server => "S:",
            Direction::Note => "  #",
        };
        text.push_str(&format!(
            "{:>6}ms {who} {}\n",
            line.ms,
            sanitize::terminal(&line.text)
        ));
    }
    if let Some(reason) = &outcome.reason {
        text.push_str(&format!("  => {}\n", sanitize::terminal(reason)));
    }
    text.push('\n');
    text
}

/// Grace handling for Ctrl-C: first press stops new work and arms the abort after `grace`;
/// a second press aborts at once.
pub fn install_ctrl_c(stopping: Stopping, grace: Duration, quiet: bool) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        if !quiet {
            eprintln!(
                "\nrelayscan: interrupted: starting nothing new; in-flight probes have {grace:?} to finish (Ctrl-C again to stop now)"
            );
        }
        stopping.stop.cancel();
        tokio::select! {
            _ = tokio::time::sleep(grace) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        stopping.abort.cancel();
    });
}
