//! Progress on stderr: an indicatif bar on a terminal, else a status line every few seconds; both with the live pace of [`super::pulse`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::assess::Verdict;
use crate::probe::Status;
use crate::report::Summary;
use crate::say::say;

use super::pulse::{Pulse, RateMeter, head_text, pulse_text};

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// An indicatif bar (stderr is a terminal).
    Bar,
    /// A one-line status every few seconds (stderr is a pipe or file, or --no-progress).
    Lines,
    /// Nothing (--quiet).
    Quiet,
}

/// How often the non-terminal status line is printed.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// How often the pace beside the bar is worked out again (the rate's sample period).
const PULSE_EVERY: Duration = Duration::from_secs(1);

/// What the progress display watches besides the counts: the probes in flight (kept by
/// the scheduler) and the first stop (Ctrl-C), which holds the ETA.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub in_flight: Arc<AtomicU64>,
    pub stop: CancellationToken,
}

/// Live counts, shared with the status-line task. Named as the summary and the JSON
/// name them: verdicts, then the statuses of endpoints that did not answer.
#[derive(Debug, Default)]
pub struct Counts {
    pub done: AtomicU64,
    /// Finished before this run (a resume): left out of this run's rate.
    before: AtomicU64,
    /// By position in [`Verdict::ALL`].
    verdicts: [AtomicU64; Verdict::ALL.len()],
    /// Answered, but no verdict (cancelled mid-dialogue): the summary's "no verdict".
    no_verdict: AtomicU64,
    /// By position in [`Status::ALL`]; only statuses that are not [`Status::answered`].
    not_answered: [AtomicU64; Status::ALL.len()],
}

impl Counts {
    fn verdict(&self, v: Verdict) -> &AtomicU64 {
        let i = Verdict::ALL.iter().position(|&x| x == v).unwrap_or(0);
        &self.verdicts[i]
    }

    fn status(&self, s: Status) -> &AtomicU64 {
        let i = Status::ALL.iter().position(|&x| x == s).unwrap_or(0);
        &self.not_answered[i]
    }

    /// "open-relay 1 · relay-denied 2 · ... · refused 3": every verdict, then "no verdict"
    /// and the statuses of endpoints that did not answer, when there are any.
    fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut parts: Vec<String> = Verdict::ALL
            .iter()
            .map(|&v| (v, get(self.verdict(v))))
            .filter(|&(v, n)| n > 0 || v.listed_at_zero())
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        let no_verdict = get(&self.no_verdict);
        if no_verdict > 0 {
            parts.push(format!("no verdict {no_verdict}"));
        }
        for s in Status::ALL.into_iter().filter(|s| !s.answered()) {
            let n = get(self.status(s));
            if n > 0 {
                parts.push(format!("{s} {n}"));
            }
        }
        parts.join(" · ")
    }
}

/// The progress display of one scan.
pub struct Progress {
    mode: ProgressMode,
    /// `None`: the total is unknown until the input ends (a streamed domain run).
    total: Option<u64>,
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    ticker: CancellationToken,
    /// `-o -`: stdout carries the records, so transcripts go to stderr.
    stdout_for_records: bool,
}

impl Progress {
    /// The display; its pace ticks (bar or status lines) run on the current tokio
    /// runtime until [`Progress::finish`].
    pub fn new(mode: ProgressMode, total: u128, live: Live) -> Progress {
        Progress::build(mode, Some(u64::try_from(total).unwrap_or(u64::MAX)), live)
    }

    /// The display of a run whose total is unknown until its input ends: counts of
    /// endpoints done, no bar to fill and no ETA.
    pub fn open_ended(mode: ProgressMode, live: Live) -> Progress {
        Progress::build(mode, None, live)
    }

    fn build(mode: ProgressMode, total: Option<u64>, live: Live) -> Progress {
        let counts = Arc::new(Counts::default());
        let ticker = CancellationToken::new();
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            // The rate and ETA are ours (the prefix): indicatif's are unsmoothed, count
            // a resume's earlier probes, and run on after Ctrl-C.
            let template = match total {
                Some(_) => {
                    "{elapsed_precise} [{bar:30.cyan/blue}] {human_pos}/{human_len} {prefix}\n{msg}"
                }
                None => "{elapsed_precise} {human_pos} endpoints done {prefix}\n{msg}",
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar.set_prefix(pulse_text(&Pulse {
                rate: None,
                remaining: total.unwrap_or(0),
                in_flight: 0,
                stopping: false,
                held_eta: None,
            }));
            bar.set_message(counts.line());
            bar
        });
        if mode != ProgressMode::Quiet {
            let ticks = Ticks {
                counts: counts.clone(),
                total,
                live,
                bar: bar.clone(),
                stop: ticker.clone(),
            };
            tokio::spawn(ticks.run());
        }
        Progress {
            mode,
            total,
            counts,
            bar,
            ticker,
            stdout_for_records: false,
        }
    }

    /// Starts the counts where a resumed scan's summary left them.
    pub fn resume_from(&self, summary: &Summary) {
        let c = &self.counts;
        let set = |counter: &AtomicU64, n: u64| counter.store(n, Ordering::Relaxed);
        set(&c.done, summary.probed);
        set(&c.before, summary.probed);
        for v in Verdict::ALL {
            set(c.verdict(v), summary.verdict_count(v));
        }
        let verdicts: u64 = summary.by_verdict.values().sum();
        set(&c.no_verdict, summary.answered.saturating_sub(verdicts));
        for s in Status::ALL.into_iter().filter(|s| !s.answered()) {
            set(c.status(s), summary.status_count(s));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(summary.probed);
            bar.set_message(c.line());
        }
    }

    /// Counts one finished endpoint.
    pub fn observe(&self, status: Status, verdict: Option<Verdict>) {
        let c = &self.counts;
        c.done.fetch_add(1, Ordering::Relaxed);
        let counter = match verdict {
            Some(v) => c.verdict(v),
            None if !status.answered() => c.status(status),
            None => &c.no_verdict,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(c.line());
        }
    }

    /// Sends what would go to stdout (transcripts) to stderr: stdout carries the
    /// records (`-o -`).
    pub fn keep_stdout_for_records(&mut self) {
        self.stdout_for_records = true;
    }

    /// Prints text on stdout (stderr when stdout carries the records) without tearing
    /// the bar.
    /// A closed stdout (`relayscan scan --transcript | head`) must not stop the scan:
    /// the write error is ignored, the reports still get every record.
    pub fn print_stdout(&self, text: &str) {
        let write = || {
            use std::io::Write;
            let mut out: Box<dyn Write> = if self.stdout_for_records {
                Box::new(std::io::stderr().lock())
            } else {
                Box::new(std::io::stdout().lock())
            };
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Prints a line on stderr (unless quiet) without tearing the bar.
    pub fn note(&self, text: &str) {
        match (&self.bar, self.mode) {
            (_, ProgressMode::Quiet) => {}
            (Some(bar), _) => bar.println(text),
            (None, _) => say(text),
        }
    }

    pub fn done(&self) -> u64 {
        self.counts.done.load(Ordering::Relaxed)
    }

    /// Stops the bar or the status lines, leaving a last status line.
    pub fn finish(&self) {
        self.ticker.cancel();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode != ProgressMode::Quiet {
            // Not eprintln!: this runs before the reports are closed, and after SIGHUP
            // the terminal is gone; a panic here would leave them unfinished.
            let done = match self.total {
                Some(total) => format!("{}/{total}", self.done()),
                None => self.done().to_string(),
            };
            say(&format!(
                "relayscan: {done} endpoints done · {}",
                self.counts.line()
            ));
        }
    }
}

/// The periodic part of the display: the pace beside the bar every second, or a
/// status line every [`STATUS_EVERY`].
struct Ticks {
    counts: Arc<Counts>,
    total: Option<u64>,
    live: Live,
    bar: Option<ProgressBar>,
    stop: CancellationToken,
}

impl Ticks {
    async fn run(self) {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        let mut held_eta = None;
        let mut tick = tokio::time::interval(PULSE_EVERY);
        let lines_every = STATUS_EVERY.as_secs().max(1);
        let mut n: u64 = 0;
        // The first tick is at once: nothing has finished yet.
        tick.tick().await;
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let c = &self.counts;
            let done = c.done.load(Ordering::Relaxed);
            let this_run = done.saturating_sub(c.before.load(Ordering::Relaxed));
            let rate = meter.sample(this_run, start.elapsed().as_secs_f64());
            let stopping = self.live.stop.is_cancelled();
            let mut pulse = Pulse {
                rate,
                remaining: self.total.unwrap_or(0).saturating_sub(done),
                in_flight: self.live.in_flight.load(Ordering::Relaxed),
                stopping,
                held_eta,
            };
            if !stopping {
                held_eta = pulse.eta();
                pulse.held_eta = held_eta;
            }
            let text = match self.total {
                Some(_) => pulse_text(&pulse),
                None => head_text(&pulse),
            };
            match &self.bar {
                Some(bar) => bar.set_prefix(text),
                None => {
                    // The first line after STATUS_EVERY, then one every STATUS_EVERY.
                    n += 1;
                    if n.is_multiple_of(lines_every) {
                        say(&status_line(done, self.total, &text, &c.line()));
                    }
                }
            }
        }
    }
}

/// "relayscan: 250/1000 (25.0%) · 33/s · 100 in flight · ETA 22s · open-relay 1 · …"
fn status_line(done: u64, total: Option<u64>, pulse: &str, counts: &str) -> String {
    let Some(total) = total else {
        return format!("relayscan: {done} endpoints done · {pulse} · {counts}");
    };
    let pct = if total == 0 {
        100.0
    } else {
        done as f64 * 100.0 / total as f64
    };
    format!("relayscan: {done}/{total} ({pct:.1}%) · {pulse} · {counts}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScanRecord;

    #[test]
    fn a_resumed_count_matches_counting_each_record() {
        let record = |status: &str, verdict: Option<&str>| -> ScanRecord {
            let verdict = verdict.map_or("null".to_string(), |v| format!("\"{v}\""));
            serde_json::from_str(&format!(
                r#"{{"ip":"192.0.2.1","port":25,"status":"{status}","verdict":{verdict},"started_at":"2025-03-01T12:00:00Z"}}"#
            ))
            .unwrap()
        };
        let records = [
            record("completed", Some("open-relay")),
            record("completed", Some("relay-denied")),
            record("completed", Some("auth-required")),
            record("completed", Some("inconclusive")),
            record("dropped", None),
            record("completed", Some("not-smtp")),
            record("refused", None),
            record("connect-timeout", None),
        ];
        let counted = Progress::new(ProgressMode::Quiet, 8, Live::default());
        let mut summary = Summary::default();
        for r in &records {
            counted.observe(r.status, r.verdict);
            summary.add(r);
        }
        let resumed = Progress::new(ProgressMode::Quiet, 8, Live::default());
        resumed.resume_from(&summary);
        assert_eq!(resumed.counts.line(), counted.counts.line());
        assert_eq!(resumed.done(), 8);
        assert_eq!(
            counted.counts.line(),
            "open-relay 1 · relay-denied 1 · auth-required 1 · inconclusive 1 · not-smtp 1 \
             · no verdict 1 · refused 1 · connect-timeout 1"
        );
    }
}
