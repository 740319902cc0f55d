//! Running out of file descriptors (EMFILE/ENFILE) is the scanner's trouble, not the host's: the probe waits and tries again, and the scan runs fewer probes at once from then on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::probe::{Outcome, ProbeSettings, Status, probe};
use crate::say::say;
use crate::target::Endpoint;

/// The first wait after EMFILE; doubled on every retry up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(50);
const MAX_WAIT: Duration = Duration::from_secs(2);
/// Retries before the host gets the outcome as it is (then it says why).
const MAX_TRIES: u32 = 30;

/// Whether the outcome is our own lack of descriptors at connect, not the host's doing.
pub fn out_of_descriptors(outcome: &Outcome) -> bool {
    outcome.status == Status::Dropped
        && outcome.dialogue.greeting.is_none()
        && outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("too many open files"))
}

/// The wait before retry `attempt` (0-based): doubling from [`FIRST_WAIT`], capped.
pub fn backoff_wait(attempt: u32) -> Duration {
    FIRST_WAIT
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(MAX_WAIT)
}

/// The scan's concurrency as the descriptor supply allows it: each probe that ran out
/// takes one permit out of the semaphore for good, down to one probe in flight.
#[derive(Debug)]
pub struct FdPressure {
    permits: Arc<Semaphore>,
    limit: AtomicUsize,
    warned: AtomicBool,
    quiet: bool,
}

impl FdPressure {
    pub fn new(permits: Arc<Semaphore>, concurrency: usize, quiet: bool) -> FdPressure {
        FdPressure {
            permits,
            limit: AtomicUsize::new(concurrency.max(1)),
            warned: AtomicBool::new(false),
            quiet,
        }
    }

    /// Concurrency now in force.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// One fewer probe at once, unless only one is left.
    fn shrink(&self) {
        let shrunk = self
            .limit
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n > 1).then(|| n - 1)
            })
            .is_ok();
        if shrunk {
            // Taken now if free, else the next one released: either way one fewer.
            match self.permits.clone().try_acquire_owned() {
                Ok(p) => p.forget(),
                Err(_) => {
                    let permits = Arc::clone(&self.permits);
                    tokio::spawn(async move {
                        if let Ok(p) = permits.acquire_owned().await {
                            p.forget();
                        }
                    });
                }
            }
        }
        if !self.quiet && !self.warned.swap(true, Ordering::Relaxed) {
            say(
                "relayscan: out of file descriptors (EMFILE): slowing down and retrying; raise `ulimit -n` or lower -c",
            );
        }
    }
}

/// Probes `endpoint`; when the connect fails for want of descriptors, waits, shrinks the
/// scan's concurrency and tries again, so that the host gets a real answer.
pub async fn probe_with_backoff(
    endpoint: Endpoint,
    settings: &ProbeSettings,
    pressure: &FdPressure,
) -> Outcome {
    let mut attempt = 0;
    loop {
        let outcome = probe(endpoint.clone(), settings).await;
        if !out_of_descriptors(&outcome) || attempt >= MAX_TRIES {
            return outcome;
        }
        // One permit per probe that ran out, not per retry: retries of the same probe
        // would otherwise shrink the scan to one probe at a time.
        if attempt == 0 {
            pressure.shrink();
        }
        let cancel = &settings.session.cancel;
        tokio::select! {
            _ = cancel.cancelled() => return outcome,
            _ = tokio::time::sleep(backoff_wait(attempt)) => {}
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let table = [
            (0, 50),
            (1, 100),
            (2, 200),
            (5, 1600),
            (6, 2000),
            (40, 2000),
            (u32::MAX, 2000),
        ];
        for (attempt, ms) in table {
            assert_eq!(
                backoff_wait(attempt),
                Duration::from_millis(ms),
                "{attempt}"
            );
        }
    }

    #[tokio::test]
    async fn shrinking_stops_at_one_probe() {
        let permits = Arc::new(Semaphore::new(3));
        let pressure = FdPressure::new(Arc::clone(&permits), 3, true);
        for _ in 0..5 {
            pressure.shrink();
        }
        assert_eq!(pressure.limit(), 1);
        assert_eq!(permits.available_permits(), 1);
    }
}
