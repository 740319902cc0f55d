//! Checkpoints (`--checkpoint FILE`, `--resume FILE`): which positions of the shard are
//! finished (all below a low-water mark, plus those finished above it), with the plan's
//! fingerprint, the settings, the summary so far and how long the JSONL report was.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::{RunMeta, Summary};
use crate::target::Shard;

/// Bumped when the file's layout changes meaning.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// Settings that may change between a run and its resumption: they pace the scan but
/// do not change what a record says. Every other setting must match.
pub const TUNABLE_SETTINGS: &[&str] = &[
    "concurrency",
    "rate_per_second",
    "subnet_rate_per_second",
    "connect_timeout_ms",
    "read_timeout_ms",
    "host_timeout_ms",
    "checkpoint",
    "resumed",
    "unresolved",
];

/// Most positions a checkpoint may list above its low mark (memory: ~50 bytes each).
const MAX_FINISHED_ABOVE: u128 = 10_000_000;

/// The finished positions of one shard: every position below `low`, and `above`.
/// Probes finish out of order, so `above` holds the few finished past the oldest one
/// still in flight; it stays about as large as the probes in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    low: u128,
    above: BTreeSet<u128>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    pub fn finish(&mut self, position: u128) {
        if position < self.low {
            return;
        }
        self.above.insert(position);
        while self.above.remove(&self.low) {
            self.low += 1;
        }
    }

    pub fn is_finished(&self, position: u128) -> bool {
        position < self.low || self.above.contains(&position)
    }

    /// The lowest position not finished.
    pub fn low(&self) -> u128 {
        self.low
    }

    pub fn finished_count(&self) -> u128 {
        self.low + self.above.len() as u128
    }

    /// The finished positions above `low`, as inclusive runs: compact, since probes
    /// mostly finish in the order they started.
    pub fn runs_above(&self) -> Vec<[u128; 2]> {
        let mut runs: Vec<[u128; 2]> = Vec::new();
        for &p in &self.above {
            match runs.last_mut() {
                Some(run) if run[1].checked_add(1) == Some(p) => run[1] = p,
                _ => runs.push([p, p]),
            }
        }
        runs
    }

    /// Rebuilds a ledger from `low` and runs; runs must lie above `low`, ascending.
    pub fn from_parts(low: u128, runs: &[[u128; 2]]) -> Result<Ledger, String> {
        let mut ledger = Ledger {
            low,
            above: BTreeSet::new(),
        };
        let mut floor = low;
        for &[a, b] in runs {
            if a <= floor || b < a {
                return Err(format!(
                    "finished run {a}-{b} is not above {floor} in ascending order"
                ));
            }
            // A real run leaves about what finished past its oldest probe in flight (at
            // most the rate times the host timeout); a file claiming more is not one.
            if (ledger.above.len() as u128).saturating_add(b - a) >= MAX_FINISHED_ABOVE {
                return Err(format!(
                    "more than {MAX_FINISHED_ABOVE} positions finished out of order; not a checkpoint relayscan writes"
                ));
            }
            ledger.above.extend(a..=b);
            floor = b;
        }
        Ok(ledger)
    }
}

/// The checkpoint file. Numbers above 2^53 are fine: serde_json reads u128 exactly.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub format: u32,
    pub tool_version: String,
    /// `Space::fingerprint`: the plan, the order and the shard.
    pub fingerprint: String,
    pub seed: Option<u64>,
    pub shard: Shard,
    /// Settings that shape records (see `TUNABLE_SETTINGS` for those that may change).
    pub settings: serde_json::Value,
    /// Positions in this shard.
    pub total: u128,
    /// Every position below this is finished.
    pub next: u128,
    /// Finished positions above `next`, as inclusive runs.
    pub finished_above: Vec<[u128; 2]>,
    /// The report prefix and formats being written.
    pub output: PathBuf,
    pub formats: String,
    /// Bytes of PREFIX.jsonl that hold exactly the finished records; a resume keeps these
    /// and drops anything after them (written after this checkpoint, probed again).
    pub jsonl_bytes: u64,
    pub summary: Summary,
    /// The first run's metadata, carried into the resumed reports.
    pub run: RunMeta,
    pub saved_at: DateTime<Utc>,
    /// Every position is finished.
    pub complete: bool,
}

impl Checkpoint {
    pub fn ledger(&self) -> Result<Ledger, String> {
        if self.next > self.total {
            return Err(format!(
                "next position {} is past the end ({})",
                self.next, self.total
            ));
        }
        if self
            .finished_above
            .last()
            .is_some_and(|&[_, b]| b >= self.total)
        {
            return Err("a finished position is past the end".into());
        }
        Ledger::from_parts(self.next, &self.finished_above)
    }

    /// Reads and checks a checkpoint file; errors name the file.
    pub fn load(path: &Path) -> Result<Checkpoint, String> {
        let text = fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the checkpoint: {e}", path.display()))?;
        let c: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a relayscan checkpoint: {e}", path.display()))?;
        if c.format != CHECKPOINT_FORMAT {
            return Err(format!(
                "{}: checkpoint format {} (this relayscan reads {CHECKPOINT_FORMAT})",
                path.display(),
                c.format
            ));
        }
        c.ledger().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(c)
    }

    /// Writes the checkpoint atomically: a temporary file beside it, synced, renamed over
    /// it, so a crash leaves the old checkpoint or the new one, never half of one.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    }
}

/// The settings that differ between a checkpoint and this run, ignoring tunables:
/// `(key, checkpoint's value, this run's value)`.
pub fn settings_differences(
    saved: &serde_json::Value,
    now: &serde_json::Value,
) -> Vec<(String, String, String)> {
    let empty = serde_json::Map::new();
    let saved = saved.as_object().unwrap_or(&empty);
    let now = now.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = saved.keys().chain(now.keys()).collect();
    let show = |v: Option<&serde_json::Value>| v.map_or("(unset)".to_string(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| !TUNABLE_SETTINGS.contains(&k.as_str()))
        .filter(|k| saved.get(*k) != now.get(*k))
        .map(|k| (k.clone(), show(saved.get(k)), show(now.get(k))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ledger_advances_its_low_mark_in_any_finish_order() {
        let mut l = Ledger::new();
        // (finish, low after, finished above after)
        let steps: &[(u128, u128, &[[u128; 2]])] = &[
            (2, 0, &[[2, 2]]),
            (3, 0, &[[2, 3]]),
            (5, 0, &[[2, 3], [5, 5]]),
            (0, 1, &[[2, 3], [5, 5]]),
            (1, 4, &[[5, 5]]),
            (1, 4, &[[5, 5]]),
            (4, 6, &[]),
        ];
        for &(p, low, runs) in steps {
            l.finish(p);
            assert_eq!((l.low(), l.runs_above()), (low, runs.to_vec()), "after {p}");
        }
        assert_eq!(l.finished_count(), 6);
        assert!(l.is_finished(5) && !l.is_finished(6));
        let back = Ledger::from_parts(l.low(), &l.runs_above()).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn from_parts_refuses_nonsense() {
        let l = Ledger::from_parts(10, &[[12, 14], [20, 20]]).unwrap();
        assert_eq!(l.finished_count(), 14);
        assert!(l.is_finished(9) && !l.is_finished(10) && l.is_finished(13));
        assert!(!l.is_finished(15) && l.is_finished(20));
        for runs in [
            &[[10u128, 12]][..],
            &[[12, 11]],
            &[[20, 21], [15, 16]],
            &[[11, 10_000_000_000]],
        ] {
            assert!(Ledger::from_parts(10, runs).is_err(), "{runs:?}");
        }
    }

    #[test]
    fn only_record_shaping_settings_must_match() {
        let saved = json!({"helo": "a.example", "rate_per_second": 100, "concurrency": 10, "rcpt_to": "x@example.com"});
        let same_but_gentler = json!({"helo": "a.example", "rate_per_second": 5, "concurrency": 2, "rcpt_to": "x@example.com"});
        assert!(settings_differences(&saved, &same_but_gentler).is_empty());
        let other = json!({"helo": "b.example", "rate_per_second": 100, "rcpt_to": "x@example.com", "write_unanswered": true});
        assert_eq!(
            settings_differences(&saved, &other),
            [
                (
                    "helo".to_string(),
                    "\"a.example\"".to_string(),
                    "\"b.example\"".to_string()
                ),
                (
                    "write_unanswered".to_string(),
                    "(unset)".to_string(),
                    "true".to_string()
                ),
            ]
        );
    }

    #[test]
    fn save_and_load_round_trip_with_huge_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.checkpoint");
        let c = Checkpoint {
            format: CHECKPOINT_FORMAT,
            tool_version: "0.1.0".into(),
            fingerprint: "0123456789abcdef".into(),
            seed: Some(u64::MAX),
            shard: Shard { index: 2, count: 3 },
            settings: json!({"helo": "a.example"}),
            total: u128::MAX - 1,
            next: 1 << 100,
            finished_above: vec![[(1 << 100) + 2, (1 << 100) + 5]],
            output: "reports/x".into(),
            formats: "csv,jsonl,json".into(),
            jsonl_bytes: 1234,
            summary: Summary::default(),
            run: RunMeta::this_tool(Utc::now(), vec!["relayscan".into()]),
            saved_at: Utc::now(),
            complete: false,
        };
        c.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), c);
        assert!(!path.with_extension("checkpoint.tmp").exists());

        let mut broken = c.clone();
        broken.next = broken.total + 1;
        broken.save(&path).unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(err.contains("past the end"), "{err}");

        std::fs::write(&path, "{\"format\": 1}").unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(err.contains("not a relayscan checkpoint"), "{err}");
        let err = Checkpoint::load(&dir.path().join("missing")).unwrap_err();
        assert!(err.contains("cannot read the checkpoint"), "{err}");
    }
}
