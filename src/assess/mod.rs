//! One step from what a probe saw to what it means: the verdict, the findings and their remediation, computed once per outcome before its record is written.
//!
//! `probe` produces an [`Outcome`] (facts only); [`assess`] turns it into an
//! [`Assessment`]; the report's record is built from the two. Readers of old reports go
//! through the same functions, so a report regenerated from JSON Lines and a live scan
//! agree.

pub mod advisories;
pub mod blocklists;
pub mod config;
pub mod domain;
pub mod findings;
pub mod logs;
pub mod remediation;
pub mod tls;
pub mod verdict;
pub mod version;

pub use findings::{Facts, Finding, FindingId, FindingSet, Severity, draw, severity_counts};
pub use remediation::{COMMON_ADVICE, remediation};
pub use tls::EXPIRING_DAYS;
pub use verdict::{Classification, Verdict, classify};

pub use crate::smtp::fingerprint::{Mta, Product, Software};

use crate::probe::{Dialogue, Outcome, Status};
use crate::smtp::TlsReport;

/// What one probe means: the verdict with its reason, and the findings to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub verdict: Option<Verdict>,
    /// The decisive reply or event behind the verdict.
    pub reason: Option<String>,
    /// Catalogue ids of the tests the server accepted (MAIL 2xx and RCPT 2xx).
    pub open_tests: Vec<u8>,
    /// The control RCPT (random mailbox, non-existent domain) was accepted: a possible sink.
    pub accepts_any_recipient: bool,
    /// The mail server software the greeting/EHLO revealed; it picks the remediation text.
    pub mta: Mta,
    /// The product and version the greeting, EHLO or HELO reply named.
    pub software: Option<Software>,
    /// What to act on, most severe first.
    pub findings: Vec<Finding>,
}

/// Assesses one probe's facts. Pure: the same facts give the same assessment.
pub fn assess(status: Status, dialogue: &Dialogue, tls: Option<&TlsReport>) -> Assessment {
    let class = classify(status, dialogue);
    let drawn = draw(&Facts {
        status,
        verdict: class.verdict,
        reason: class.reason.as_deref(),
        open_tests: &class.open_tests,
        accepts_any_recipient: class.accepts_any_recipient,
        dialogue,
        tls,
    });
    Assessment {
        verdict: class.verdict,
        reason: class.reason,
        open_tests: class.open_tests,
        accepts_any_recipient: class.accepts_any_recipient,
        mta: drawn.mta,
        software: drawn.software,
        findings: drawn.findings,
    }
}

/// The assessment of a probe's outcome, with what the DNS blocklists said about it.
pub fn assess_outcome(outcome: &Outcome) -> Assessment {
    let mut a = assess(outcome.status, &outcome.dialogue, outcome.tls.as_ref());
    if let Some(answers) = &outcome.blocklists {
        a.findings.extend(blocklists::findings(answers, a.mta));
        a.findings
            .sort_by_key(|x| (std::cmp::Reverse(x.severity), x.id));
    }
    a
}
