//! The settings of record: what a report's run metadata and a checkpoint say about how a
//! scan ran, as one typed struct (built by `crate::config`, compared on `--resume`).

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Formats;
use crate::probe::Depth;
use crate::probe::tls_policy::{RelayOver, StartTls};
use crate::target::Shard;

/// A scan's settings as recorded. Fields are declared in alphabetical order so that the
/// JSON on disk keeps the key order it had when this was a `serde_json` map (sorted).
/// Unknown keys are refused: settings of another shape are kept as written
/// ([`RunSettings::Other`]) instead of being cut down to this one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RecordedSettings {
    /// The DNS blocklist zones asked (`--blocklists`), by their public names, in the order
    /// asked. Left out when none were, so that earlier files read and write back unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocklists: Vec<String>,
    /// Where the checkpoint is kept (`--checkpoint`, or the file resumed).
    pub checkpoint: Option<PathBuf>,
    /// Probes in flight at once, after fitting the open-file limit.
    pub concurrency: usize,
    pub connect_timeout_ms: u64,
    /// Always false: relayscan never sends DATA; recorded for the reader of the report.
    pub data_sent: bool,
    /// Which relay tests the probes sent (`--tests`); checkpoints and reports written
    /// before it was recorded ran the full catalogue. Left out when full, so that those
    /// files read and write back unchanged.
    #[serde(default, skip_serializing_if = "Depth::is_full")]
    pub depth: Depth,
    /// How names were resolved, when the run used DNS settings (mail domains, --resolver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<RecordedDns>,
    /// A Spamhaus DQS key moved a zone to the Data Query Service (`--dqs-key`): only
    /// whether one did, never the key, which is a secret. Left out when none did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dqs_key: bool,
    /// `--allow-large`, under the name of its alias `--force-large-ipv6` so that reports
    /// and checkpoints of earlier versions read and compare the same.
    pub force_large_ipv6: bool,
    #[serde(with = "as_text")]
    pub formats: Formats,
    pub helo: String,
    pub host_timeout_ms: u64,
    pub mail_from: String,
    pub order: OrderKind,
    /// The plan's fingerprint ([`crate::target::Plan::fingerprint`]): the endpoints after
    /// the excludes and the names behind them, whatever the shard; shards of one scan
    /// agree on it, and `merge` refuses parts that do not. Absent in reports from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub ports: Vec<u16>,
    pub rate_per_second: u32,
    pub rcpt_to: String,
    pub read_timeout_ms: u64,
    pub relay_over: RelayOver,
    /// Each resumption of the run (only in the run metadata, never in the checkpoint's
    /// own copy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<Resumption>,
    /// `--scope` as given.
    pub scope: Vec<String>,
    pub seed: Option<u64>,
    #[serde(with = "as_text")]
    pub shard: Shard,
    /// Endpoints left out because they fell in multicast, reserved or "this network" blocks.
    pub special_skipped: u128,
    pub starttls: StartTls,
    pub subnet_rate_per_second: Option<u32>,
    /// The implicit-TLS ports (`--tls-ports`).
    pub tls_ports: Vec<u16>,
    /// Names that gave no address: `name:port: why`.
    pub unresolved: Vec<String>,
    /// Endpoints that did not answer are written too (`--all`).
    pub write_unanswered: bool,
}

/// The DNS settings of a run (`--resolver`, `--dns-concurrency`, `--dns-rate`, `--dns-timeout`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RecordedDns {
    pub concurrency: usize,
    pub rate: u32,
    /// Empty: the system configuration.
    pub servers: Vec<SocketAddr>,
    /// Milliseconds.
    pub timeout: u64,
}

/// How the scan visited its space (the seed, when permuted, is recorded beside it).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    Permuted,
    Sequential,
}

/// One `--resume` of the run: when, how, and the lowest position not finished then.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resumption {
    pub at: DateTime<Utc>,
    pub command_line: Vec<String>,
    pub from_position: u128,
}

/// The `settings` of a report's run metadata.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum RunSettings {
    /// A scan's settings, as its checkpoint records them too.
    Scan(Box<RecordedSettings>),
    /// Nothing recorded (a report rebuilt from a JSONL file alone).
    Unrecorded,
    /// Any other shape, kept as written: a merge's list of shards, or the settings of a
    /// relayscan version that recorded other keys.
    Other(serde_json::Value),
}

/// Read through a JSON value rather than `#[serde(untagged)]`, whose buffering cannot
/// hold the u128 counts (`special_skipped`, `from_position`).
impl<'de> Deserialize<'de> for RunSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if value.is_null() {
            return Ok(RunSettings::Unrecorded);
        }
        Ok(match RecordedSettings::deserialize(&value) {
            Ok(scan) => RunSettings::Scan(Box::new(scan)),
            Err(_) => RunSettings::Other(value),
        })
    }
}

impl RunSettings {
    /// The settings as a JSON object, for reports that list them key by key.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The plan's fingerprint, where the settings say.
    pub fn plan(&self) -> Option<String> {
        match self {
            RunSettings::Scan(s) => s.plan.clone(),
            RunSettings::Unrecorded => None,
            RunSettings::Other(v) => v["plan"].as_str().map(str::to_string),
        }
    }

    /// The seed and shard of the run, where its settings say.
    pub fn seed_and_shard(&self) -> (Option<u64>, Option<Shard>) {
        match self {
            RunSettings::Scan(s) => (s.seed, Some(s.shard)),
            RunSettings::Unrecorded => (None, None),
            RunSettings::Other(v) => (
                v["seed"].as_u64(),
                v["shard"].as_str().and_then(|t| t.parse().ok()),
            ),
        }
    }
}

/// Serialises a value as its `Display` text and reads it back with `FromStr`.
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr<Err: Display>,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Settings as a scan with the command line's defaults records them.
    pub(crate) fn sample() -> RecordedSettings {
        RecordedSettings {
            blocklists: Vec::new(),
            checkpoint: None,
            concurrency: 100,
            connect_timeout_ms: 5000,
            data_sent: false,
            depth: Depth::Full,
            dns: None,
            dqs_key: false,
            force_large_ipv6: false,
            formats: Formats::DATA,
            helo: "scanner.example".into(),
            host_timeout_ms: 60_000,
            mail_from: "antispam@example.com".into(),
            order: OrderKind::Permuted,
            plan: None,
            ports: vec![25],
            rate_per_second: 100,
            rcpt_to: "relaytest@example.com".into(),
            read_timeout_ms: 10_000,
            relay_over: RelayOver::Auto,
            resumed: Vec::new(),
            scope: Vec::new(),
            seed: Some(7),
            shard: Shard::WHOLE,
            special_skipped: 0,
            starttls: StartTls::Auto,
            subnet_rate_per_second: None,
            tls_ports: vec![465],
            unresolved: Vec::new(),
            write_unanswered: false,
        }
    }

    /// The keys on disk are sorted, as they were when the settings were a JSON map.
    #[test]
    fn keys_are_written_in_sorted_order() {
        let mut s = sample();
        s.blocklists = vec!["zen.spamhaus.org".into()];
        s.dqs_key = true;
        s.dns = Some(RecordedDns {
            concurrency: 32,
            rate: 200,
            servers: vec!["127.0.0.1:53".parse().unwrap()],
            timeout: 2000,
        });
        let text = serde_json::to_string(&s).unwrap();
        let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
        let on_disk: Vec<&str> = doc.keys().map(String::as_str).collect();
        let mut order: Vec<(usize, &str)> = on_disk
            .iter()
            .map(|k| (text.find(&format!("\"{k}\":")).unwrap(), *k))
            .collect();
        order.sort();
        let written: Vec<&str> = order.into_iter().map(|(_, k)| k).collect();
        assert_eq!(written, on_disk, "{text}");
    }

    #[test]
    fn run_settings_read_each_shape() {
        let scan = serde_json::to_value(sample()).unwrap();
        let table = [
            (scan.clone(), "scan"),
            (serde_json::Value::Null, "unrecorded"),
            (
                serde_json::json!({"merged_from": [], "data_sent": false}),
                "other",
            ),
            // A key this version does not know: kept as written, not cut down.
            (
                {
                    let mut v = scan;
                    v["pipelining"] = true.into();
                    v
                },
                "other",
            ),
        ];
        for (value, want) in table {
            let got: RunSettings = serde_json::from_value(value.clone()).unwrap();
            let kind = match &got {
                RunSettings::Scan(_) => "scan",
                RunSettings::Unrecorded => "unrecorded",
                RunSettings::Other(_) => "other",
            };
            assert_eq!(kind, want, "{value}");
            assert_eq!(got.to_json(), value, "written back as read");
        }
    }

    #[test]
    fn seed_and_shard_from_any_shape() {
        let typed = RunSettings::Scan(Box::new(RecordedSettings {
            shard: Shard { index: 2, count: 3 },
            ..sample()
        }));
        assert_eq!(
            typed.seed_and_shard(),
            (Some(7), Some(Shard { index: 2, count: 3 }))
        );
        let other = RunSettings::Other(serde_json::json!({"seed": 9, "shard": "1/4"}));
        assert_eq!(
            other.seed_and_shard(),
            (Some(9), Some(Shard { index: 1, count: 4 }))
        );
        assert_eq!(RunSettings::Unrecorded.seed_and_shard(), (None, None));
    }

    /// Reports written by relayscan before its settings had a type (see the fixtures'
    /// README) read back typed where they hold a scan's settings, and write back as they
    /// were read.
    #[test]
    fn reads_reports_written_before_the_settings_had_a_type() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/settings");
        for (file, want_scan) in [
            ("scan.json", true),
            ("fresh.json", true),
            ("merged.json", false),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            let run: super::super::RunMeta = serde_json::from_value(doc["run"].clone()).unwrap();
            assert_eq!(
                matches!(run.settings, RunSettings::Scan(_)),
                want_scan,
                "{file}: {:?}",
                run.settings
            );
            assert_eq!(serde_json::to_value(&run).unwrap(), doc["run"], "{file}");
        }
        let text = std::fs::read_to_string(dir.join("fresh.json")).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let settings: RecordedSettings =
            serde_json::from_value(doc["run"]["settings"].clone()).unwrap();
        assert_eq!(
            (settings.order, settings.seed),
            (OrderKind::Sequential, None)
        );
        assert_eq!(
            settings.unresolved,
            ["mx.fixture.test:1: timed out (no name server answered)"]
        );
        assert_eq!(settings.formats, "json".parse().unwrap());
    }
}
