//! What a run was (tool, settings, targets, where it ran from) and how it ended, for the report headers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::settings::RunSettings;

/// The facts an auditor needs to reproduce or weigh a run, written before the first record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunMeta {
    pub tool: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub command_line: Vec<String>,
    /// How the run was set up (a scan's [`super::RecordedSettings`]).
    pub settings: RunSettings,
    /// Target specs as given (addresses, ranges, names, domains).
    pub targets: Vec<String>,
    pub excludes: Vec<String>,
    pub ports: Vec<u16>,
    pub source: ScanSource,
}

impl RunMeta {
    /// The tool name and version of this build, the rest as given.
    pub fn this_tool(started_at: DateTime<Utc>, command_line: Vec<String>) -> RunMeta {
        RunMeta {
            tool: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at,
            command_line,
            settings: RunSettings::Unrecorded,
            targets: vec![],
            excludes: vec![],
            ports: vec![],
            source: ScanSource::default(),
        }
    }
}

/// Where the scan ran from. A server that relays for a client inside its own network is
/// trusting it, not open to the world, so a finding is only as good as this.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSource {
    pub hostname: String,
    /// Free text from the user, e.g. "external VPS, AS64500" or "inside the DMZ".
    pub note: String,
}

/// How a run ended, written once by `finish`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunEnd {
    pub finished_at: DateTime<Utc>,
    /// Stopped by Ctrl-C (or a fatal error) before every planned endpoint was probed.
    pub interrupted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn run_meta_round_trips_and_names_this_tool() {
        let mut m = RunMeta::this_tool(
            Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
            vec!["relayscan".into(), "192.0.2.0/24".into()],
        );
        m.settings = RunSettings::Scan(Box::new(crate::report::settings::tests::sample()));
        m.ports = vec![25, 587];
        m.source = ScanSource {
            hostname: "scanner-1".into(),
            note: "external".into(),
        };
        assert_eq!(m.tool, "relayscan");
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            text.contains(r#""started_at":"2025-03-01T12:00:00Z""#),
            "{text}"
        );
        assert!(text.contains(r#""source":{"hostname":"scanner-1","note":"external"}"#));
        let back: RunMeta = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
    }
}
