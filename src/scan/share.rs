//! A rate of the whole scan (`--rate`, `--subnet-rate`) and the share of it one shard's process takes, as the governor quota that process applies.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

/// New connections per second meant for the whole scan, shared by its `shards` processes
/// (`--shard I/N`: N). Four pods of `--rate 100 --subnet-rate 5 --shard I/4` make 100
/// connections a second in all and at most 5 into one /24, not 400 and 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub whole: NonZeroU32,
    pub shards: NonZeroU32,
}

impl Rate {
    /// `whole` per second shared by `shards` processes (0 counts as 1: an unsharded scan).
    pub fn shared(whole: NonZeroU32, shards: u32) -> Rate {
        Rate {
            whole,
            shards: NonZeroU32::new(shards).unwrap_or(NonZeroU32::MIN),
        }
    }

    /// This process's share, per second, rounded down but at least 1: what a rate of
    /// this process reads as (the pace line).
    pub fn this_process(self) -> NonZeroU32 {
        NonZeroU32::new(self.whole.get() / self.shards.get()).unwrap_or(NonZeroU32::MIN)
    }

    /// The quota this process applies: one connection every shards/whole seconds, so its
    /// share exactly on average and the shards together never more than the whole, with
    /// bursts of one second's share (at least one). Unsharded, `Quota::per_second`.
    pub fn quota(self) -> Quota {
        if self.shards == NonZeroU32::MIN {
            return Quota::per_second(self.whole);
        }
        let nanos = 1_000_000_000u64 * u64::from(self.shards.get()) / u64::from(self.whole.get());
        Quota::with_period(Duration::from_nanos(nanos.max(1)))
            .unwrap_or_else(|| Quota::per_second(self.whole))
            .allow_burst(self.this_process())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn each_shard_takes_its_share_and_together_never_more_than_the_whole() {
        // (whole per second, shards, one process's period, its burst)
        let table = [
            (100, 1, Duration::from_millis(10), 100),
            (100, 4, Duration::from_millis(40), 25),
            // --subnet-rate 5 over 4 pods: 1.25 a second each, bursts of one.
            (5, 4, Duration::from_millis(800), 1),
            // Fewer connections than shards: one every 4 s in each of 8.
            (2, 8, Duration::from_secs(4), 1),
        ];
        for (whole, shards, period, burst) in table {
            let q = Rate::shared(n(whole), shards).quota();
            assert_eq!(
                (q.replenish_interval(), q.burst_size().get()),
                (period, burst),
                "{whole}/s over {shards}"
            );
            let all = f64::from(shards) / period.as_secs_f64();
            assert!(
                all <= f64::from(whole) + 1e-9,
                "{whole}/s over {shards}: {all}"
            );
        }
        assert_eq!(Rate::shared(n(7), 0), Rate::shared(n(7), 1));
        assert_eq!(Rate::shared(n(5), 4).this_process(), n(1));
        assert_eq!(Rate::shared(n(100), 4).this_process(), n(25));
    }
}
