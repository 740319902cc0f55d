//! Progress on stderr: an indicatif bar on a terminal, else a status line every few seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::config::ProgressMode;
use crate::probe::{Status, Verdict};

/// How often the non-terminal status line is printed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// Live counts, shared with the status-line task.
#[derive(Debug, Default)]
pub struct Counts {
    pub done: AtomicU64,
    pub open: AtomicU64,
    pub denied: AtomicU64,
    pub auth: AtomicU64,
    pub inconclusive: AtomicU64,
    pub not_smtp: AtomicU64,
    pub unreachable: AtomicU64,
}

impl Counts {
    fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "open {} · denied {} · auth {} · inconclusive {} · not-smtp {} · unreachable {}",
            get(&self.open),
            get(&self.denied),
            get(&self.auth),
            get(&self.inconclusive),
            get(&self.not_smtp),
            get(&self.unreachable)
        )
    }
}

/// The progress display of one scan.
pub struct Progress {
    mode: ProgressMode,
    total: u64,
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    ticker: CancellationToken,
}

impl Progress {
    pub fn new(mode: ProgressMode, total: u128) -> Progress {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let counts = Arc::new(Counts::default());
        let ticker = CancellationToken::new();
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30.cyan/blue}] {human_pos}/{human_len} {per_sec} ETA {eta}\n{msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar.set_message(counts.line());
            bar
        });
        if mode == ProgressMode::Lines {
            spawn_status_lines(counts.clone(), total, ticker.clone());
        }
        Progress {
            mode,
            total,
            counts,
            bar,
            ticker,
        }
    }

    /// Starts the count at `done`: the endpoints a resumed scan finished before.
    pub fn resume_at(&self, done: u64) {
        self.counts.done.store(done, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.reset_eta();
        }
    }

    /// Counts one finished endpoint.
    pub fn observe(&self, status: Status, verdict: Option<Verdict>) {
        let c = &self.counts;
        c.done.fetch_add(1, Ordering::Relaxed);
        let counter = match verdict {
            Some(Verdict::OpenRelay) => &c.open,
            Some(Verdict::RelayDenied) => &c.denied,
            Some(Verdict::AuthRequired) => &c.auth,
            Some(Verdict::Inconclusive) => &c.inconclusive,
            Some(Verdict::NotSmtp) => &c.not_smtp,
            None if !status.answered() => &c.unreachable,
            None => &c.inconclusive,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(c.line());
        }
    }

    /// Prints text on stdout without tearing the bar.
    pub fn print_stdout(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| print!("{text}")),
            None => print!("{text}"),
        }
    }

    /// Prints a line on stderr (unless quiet) without tearing the bar.
    pub fn note(&self, text: &str) {
        match (&self.bar, self.mode) {
            (_, ProgressMode::Quiet) => {}
            (Some(bar), _) => bar.println(text),
            (None, _) => eprintln!("{text}"),
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
            eprintln!(
                "relayscan: {}/{} endpoints done · {}",
                self.done(),
                self.total,
                self.counts.line()
            );
        }
    }
}

fn spawn_status_lines(counts: Arc<Counts>, total: u64, stop: CancellationToken) {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tick = tokio::time::interval(STATUS_EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let done = counts.done.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let pct = if total == 0 {
                100.0
            } else {
                done as f64 * 100.0 / total as f64
            };
            eprintln!(
                "relayscan: {done}/{total} ({pct:.1}%) · {:.0}/s · {}",
                done as f64 / secs,
                counts.line()
            );
        }
    });
}
