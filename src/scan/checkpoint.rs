//! Checkpoints (`--checkpoint FILE`, `--resume FILE`): which positions of the shard are
//! finished (all below a low-water mark, plus those finished above it), with the plan's
//! fingerprint, the settings, the summary so far and how long the JSONL report was.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::input::{FileError, read_text};
use crate::report::file::{Replacing, write_whole};
use crate::report::{RecordedSettings, ReportError, RunMeta, Summary};
use crate::target::Shard;

/// Bumped when the file's layout changes meaning.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// The cap on a checkpoint file read back. A checkpoint is settings, a summary and the
/// ranges finished out of order, about one per probe in flight: even a million probes in
/// flight (the usual hard limit on open files) at ~50 pretty-printed bytes a range stays
/// under it, while a device or a runaway file is refused.
pub const MAX_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

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
    /// The run's settings; a resume must match those that shape records ([`must_match`]).
    pub settings: RecordedSettings,
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

    /// Reads and checks a checkpoint file; errors name the file and say in words what it
    /// holds instead (serde's "invalid type: floating point" tells a user nothing).
    pub fn load(path: &Path) -> Result<Checkpoint, String> {
        let text = read_text(path, MAX_CHECKPOINT_BYTES).map_err(|e| match e {
            FileError::Io { cause, .. } => {
                format!("{}: cannot read the checkpoint: {cause}", path.display())
            }
            refused => format!("{refused} (the checkpoint)"),
        })?;
        let c: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| format!("{}: {}", path.display(), not_a_checkpoint(&text, &e)))?;
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

    /// Writes the checkpoint whole (see [`crate::report::file::write_whole`]): a crash
    /// leaves the old checkpoint or the new one, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), ReportError> {
        write_whole(path, Replacing::Quietly, |file| {
            let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
            text.push(b'\n');
            file.write_all(&text)
        })
    }
}

/// The settings a resume must keep: all but those that pace the scan without changing
/// what a record says (rates, concurrency, timeouts), and the facts of one run (where its
/// checkpoint is, its resumptions, the names that did not resolve this time), which are
/// cleared here so that two runs compare with `==`.
pub fn must_match(settings: &RecordedSettings) -> RecordedSettings {
    RecordedSettings {
        concurrency: 0,
        rate_per_second: 0,
        subnet_rate_per_second: None,
        connect_timeout_ms: 0,
        read_timeout_ms: 0,
        host_timeout_ms: 0,
        checkpoint: None,
        resumed: Vec::new(),
        unresolved: Vec::new(),
        // The checkpoint's own fingerprint (plan, order, shard) is compared first, and
        // names what differs better; checkpoints from before the field lack it.
        plan: None,
        ..settings.clone()
    }
}

/// One setting that differs between a checkpoint and this run, as recorded (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub setting: String,
    pub was: String,
    pub now: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was {}, now {}", self.setting, self.was, self.now)
    }
}

/// The settings that differ between a checkpoint and this run, leaving out those that
/// may change ([`must_match`]); each named with both values, in the order of the keys.
pub fn settings_differences(saved: &RecordedSettings, now: &RecordedSettings) -> Vec<Difference> {
    let (saved, now) = (must_match(saved), must_match(now));
    if saved == now {
        return Vec::new();
    }
    // Equality decided; the recorded (JSON) form names what differs, as a reader sees it.
    let as_map = |s: &RecordedSettings| match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (saved, now) = (as_map(&saved), as_map(&now));
    let keys: BTreeSet<&String> = saved.keys().chain(now.keys()).collect();
    let show = |v: Option<&serde_json::Value>| v.map_or("(unset)".to_string(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| saved.get(*k) != now.get(*k))
        .map(|k| Difference {
            setting: k.clone(),
            was: show(saved.get(k)),
            now: show(now.get(k)),
        })
        .collect()
}

/// Why `text` is not a checkpoint, in words: not JSON, JSON of another kind (a report,
/// a number), or a checkpoint with a damaged field (serde's words then, with the field).
fn not_a_checkpoint(text: &str, e: &serde_json::Error) -> String {
    const WHAT: &str = "--resume takes the file that --checkpoint FILE wrote";
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return format!("not a relayscan checkpoint: not JSON ({e}); {WHAT}"),
    };
    let kind = match &value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a true/false value",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(fields) => {
            let has = |key: &str| fields.contains_key(key);
            if has("format") && has("next") && has("total") {
                return format!("a damaged relayscan checkpoint: {e}");
            }
            if has("meta") || has("summary") || has("records") || has("ip") {
                "a JSON object of a report, not of a checkpoint"
            } else {
                "a JSON object without a checkpoint's fields (format, next, total)"
            }
        }
    };
    format!("not a relayscan checkpoint: it holds {kind}; {WHAT}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::settings::tests::sample;

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
        let saved = sample();
        let gentler = RecordedSettings {
            rate_per_second: 5,
            concurrency: 2,
            subnet_rate_per_second: Some(1),
            read_timeout_ms: 30_000,
            checkpoint: Some("other.checkpoint".into()),
            unresolved: vec!["mx.example:25: timed out".into()],
            ..sample()
        };
        assert!(settings_differences(&saved, &gentler).is_empty());
        let other = RecordedSettings {
            helo: "b.example".into(),
            write_unanswered: true,
            dns: Some(crate::report::settings::RecordedDns {
                concurrency: 32,
                rate: 200,
                servers: vec![],
                timeout: 2000,
            }),
            ..sample()
        };
        let shown: Vec<String> = settings_differences(&saved, &other)
            .iter()
            .map(Difference::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                r#"dns was (unset), now {"concurrency":32,"rate":200,"servers":[],"timeout":2000}"#,
                r#"helo was "scanner.example", now "b.example""#,
                "write_unanswered was false, now true",
            ]
        );
        // Other blocklists, or a DQS key where there was none: the records would say other
        // things. The key itself is never recorded, so never shown.
        let listed = RecordedSettings {
            blocklists: vec!["zen.spamhaus.org".into(), "bl.spamcop.net".into()],
            ..sample()
        };
        let table = [
            (
                sample(),
                listed.clone(),
                r#"blocklists was (unset), now ["zen.spamhaus.org","bl.spamcop.net"]"#,
            ),
            (
                listed.clone(),
                RecordedSettings {
                    blocklists: vec!["zen.spamhaus.org".into()],
                    ..sample()
                },
                r#"blocklists was ["zen.spamhaus.org","bl.spamcop.net"], now ["zen.spamhaus.org"]"#,
            ),
            (
                listed.clone(),
                RecordedSettings {
                    dqs_key: true,
                    ..listed.clone()
                },
                "dqs_key was (unset), now true",
            ),
        ];
        for (saved, now, want) in table {
            let shown: Vec<String> = settings_differences(&saved, &now)
                .iter()
                .map(Difference::to_string)
                .collect();
            assert_eq!(shown, [want]);
        }
        assert!(settings_differences(&listed, &listed).is_empty());
    }

    /// A checkpoint written by relayscan before its settings had a type (see the
    /// fixture's README) still loads, typed, and asks a resume to match what it says.
    #[test]
    fn reads_a_checkpoint_written_before_the_settings_had_a_type() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/settings/scan.checkpoint");
        let c = Checkpoint::load(&path).unwrap();
        let s = &c.settings;
        assert_eq!(s.helo, "fixture.relayscan.test");
        assert_eq!((s.seed, s.shard), (Some(7), Shard { index: 1, count: 2 }));
        assert_eq!(s.subnet_rate_per_second, Some(50));
        assert_eq!(s.scope, ["127.0.9.0/24"]);
        let dns = s.dns.as_ref().unwrap();
        assert_eq!(
            dns.servers,
            ["127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap()]
        );
        assert!(
            s.resumed.is_empty(),
            "the checkpoint's own copy has no resumptions"
        );
        let crate::report::RunSettings::Scan(run) = &c.run.settings else {
            panic!("the run's settings are a scan's: {:?}", c.run.settings);
        };
        assert_eq!(run.resumed.len(), 1);
        assert_eq!(run.resumed[0].from_position, 3);
        assert!(settings_differences(s, run).is_empty());
        // Written back, the file says what it said.
        let original: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&c).unwrap(), original);
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
            settings: sample(),
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

        for (text, words) in [
            (
                "{\"format\": 1}",
                "it holds a JSON object without a checkpoint's fields",
            ),
            (
                "127.0",
                "it holds a number; --resume takes the file that --checkpoint FILE wrote",
            ),
            (
                "{\"meta\": {}, \"summary\": {}}",
                "a JSON object of a report",
            ),
            ("not json", "not JSON"),
            (
                "{\"format\": 1, \"next\": \"x\", \"total\": 2}",
                "a damaged relayscan checkpoint: ",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Checkpoint::load(&path).unwrap_err();
            assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
            assert!(err.contains(words), "{text}: {err}");
            assert!(!err.contains("floating point"), "{err}");
        }
        let err = Checkpoint::load(&dir.path().join("missing")).unwrap_err();
        assert!(err.contains("cannot read the checkpoint"), "{err}");
        // A device never ends: refused unread, by the input rules.
        let err = Checkpoint::load(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            err,
            "/dev/zero: not a regular file (a character device): relayscan reads only regular \
             files (the checkpoint)"
        );
    }
}
