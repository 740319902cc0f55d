//! What a record concludes, the part that must survive any change of the record's shape:
//! status, verdict, open tests, any-recipient and findings, as reports name them.

use std::fmt;

use relayscan::report::ScanRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a record concludes.
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub struct Conclusions {
    pub status: String,
    pub verdict: Option<String>,
    pub open_tests: Vec<u8>,
    pub accepts_any_recipient: bool,
    /// `id:severity`, in the record's order (most severe first).
    pub findings: Vec<String>,
}

impl Conclusions {
    pub fn of(r: &ScanRecord) -> Conclusions {
        Conclusions {
            status: name(r.status),
            verdict: r.verdict.map(name),
            open_tests: r.open_tests.clone(),
            accepts_any_recipient: r.accepts_any_recipient,
            findings: r
                .findings
                .iter()
                .map(|f| format!("{}:{}", name(f.id), name(f.severity)))
                .collect(),
        }
    }

    /// As a record of any schema version says them, read as plain JSON (not by relayscan).
    pub fn of_json(record: &Value) -> Conclusions {
        let text = |v: &Value| v.as_str().map(String::from);
        Conclusions {
            status: text(&record["status"]).expect("a status"),
            verdict: text(&record["verdict"]),
            open_tests: serde_json::from_value(record["open_tests"].clone()).expect("open_tests"),
            accepts_any_recipient: record["accepts_any_recipient"].as_bool().unwrap_or(false),
            findings: record["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}:{}",
                        f["id"].as_str().unwrap_or("?"),
                        f["severity"].as_str().unwrap_or("?")
                    )
                })
                .collect(),
        }
    }
}

impl fmt::Display for Conclusions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} open {:?} any-recipient {} findings {:?}",
            self.status,
            self.verdict.as_deref().unwrap_or("(no verdict)"),
            self.open_tests,
            self.accepts_any_recipient,
            self.findings
        )
    }
}

/// How reports spell `value`: its serde name.
pub fn name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        other => panic!("not serialised as a name: {other:?}"),
    }
}
