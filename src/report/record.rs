//! The data of record: one flat, versioned [`ScanRecord`] per endpoint, built from a probe's [`Outcome`].

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::assess::{Assessment, Finding, Mta, Software, Verdict};
use crate::dns::blocklist::BlocklistAnswer;
use crate::probe::{AttemptResult, Depth, Dialogue, Outcome, RelayAttempt, Status};
use crate::smtp::{Reply, TlsReport, TranscriptLine};

/// Bumped whenever a field changes meaning or disappears, so that old JSONL files can be told apart.
/// Adding a field with a default does not bump it. Version 2: the dialogue is a list of
/// legs (`first`, `after_starttls`) of one shape, with `rerun_after` and the attempts'
/// `set_aside`, `ambiguous` and `retried`; version 1 records are read and upgraded by
/// `report::read`.
pub const SCHEMA_VERSION: u32 = 2;

/// One endpoint's result as written to every report: the flat, spreadsheet-friendly facts first,
/// then the full dialogue and transcript as evidence.
///
/// Optional values are written as `null` rather than left out, so every record has the same keys.
/// Every field has a serde default so that a reader of an older file still gets a record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScanRecord {
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub ip: IpAddr,
    pub port: u16,
    /// The host name the address came from, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// The mail domains this address serves (`-d`, `--domains`, `@domain` targets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    pub status: Status,
    /// Which relay tests the probe sent (`--tests`); records written before it read as full.
    #[serde(default)]
    pub depth: Depth,
    #[serde(default)]
    pub verdict: Option<Verdict>,
    #[serde(default)]
    pub reason: Option<String>,
    /// Catalogue ids of the relay tests the server accepted.
    #[serde(default)]
    pub open_tests: Vec<u8>,
    /// The control recipient (non-existent domain) was accepted: a possible sink, not proof of relaying.
    #[serde(default)]
    pub accepts_any_recipient: bool,
    #[serde(default)]
    pub server_name: Option<String>,
    /// The greeting's first line with its code, e.g. `220 mx.example.com ESMTP Postfix`.
    #[serde(default)]
    pub banner: Option<String>,
    /// EHLO was accepted.
    #[serde(default)]
    pub esmtp: bool,
    /// EHLO was refused and HELO was used instead.
    #[serde(default)]
    pub helo_fallback: bool,
    /// EHLO keywords as the server announced them.
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub starttls: bool,
    /// AUTH mechanisms offered.
    #[serde(default)]
    pub auth: Vec<String>,
    #[serde(default)]
    pub pipelining: bool,
    /// The SIZE limit in bytes, when announced with a value.
    #[serde(default)]
    pub size_limit: Option<u64>,
    /// Relay tests whose MAIL FROM was answered (the control recipient is not counted).
    #[serde(default)]
    pub tests_run: u32,
    /// Tests with MAIL 2xx and RCPT 2xx.
    #[serde(default)]
    pub tests_accepted: u32,
    /// Tests refused permanently (5xx) at MAIL or RCPT.
    #[serde(default)]
    pub tests_rejected: u32,
    /// Tests refused temporarily (4xx) at MAIL or RCPT: greylisting, deferral.
    #[serde(default)]
    pub tests_deferred: u32,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub dialogue: Dialogue,
    #[serde(default)]
    pub transcript: Vec<TranscriptLine>,
    #[serde(default)]
    pub transcript_truncated: bool,
    /// TLS: STARTTLS or implicit, the handshake, the certificate audit; `null` when the
    /// probe never got as far as TLS could matter.
    #[serde(default)]
    pub tls: Option<TlsReport>,
    /// The mail server software the greeting/EHLO revealed; it picks the remediation text.
    #[serde(default)]
    pub mta: Mta,
    /// The product and version the greeting, EHLO or HELO reply named (`null` when none
    /// did); the advisories are matched against it.
    #[serde(default)]
    pub software: Option<Software>,
    /// What to act on, most severe first (see `assess::findings`).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Where the probe's time went (connect, greeting, EHLO, TLS, tests) and its round trips.
    #[serde(default)]
    pub timing: crate::probe::Timing,
    /// Each DNS blocklist zone's answer about the address (absent without --blocklists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocklists: Option<Vec<BlocklistAnswer>>,
}

fn default_schema_version() -> u32 {
    SCHEMA_VERSION
}

impl ScanRecord {
    /// `ip:port`, with brackets around IPv6 addresses.
    pub fn endpoint(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }
}

impl ScanRecord {
    /// The record of one probe: its outcome and what it means. Moves the dialogue and the
    /// transcript (most of a record's bytes) instead of copying them.
    pub fn new(o: Outcome, assessment: Assessment) -> Self {
        let d = &o.dialogue;
        // The flat columns describe the first leg: what the port offers to anyone.
        let caps = &d.first.capabilities;
        let hello = d.first.hello.as_ref();
        // Tests count wherever they ran: in plaintext and after STARTTLS.
        let tally = TestTally::of(d.attempts());
        let banner = d.greeting.as_ref().map(summary_line);
        let esmtp = hello.is_some_and(|h| h.esmtp());
        let helo_fallback = hello.is_some_and(|h| h.helo.is_some());
        let (capabilities, starttls, auth, pipelining, size_limit) = (
            caps.names(),
            caps.starttls(),
            caps.auth_mechanisms(),
            caps.pipelining(),
            caps.size_limit(),
        );
        ScanRecord {
            schema_version: SCHEMA_VERSION,
            ip: o.endpoint.ip,
            port: o.endpoint.port,
            name: o.endpoint.name,
            domains: Vec::new(),
            status: o.status,
            depth: o.dialogue.depth,
            verdict: assessment.verdict,
            reason: assessment.reason,
            open_tests: assessment.open_tests,
            accepts_any_recipient: assessment.accepts_any_recipient,
            server_name: o.server_name,
            banner,
            esmtp,
            helo_fallback,
            capabilities,
            starttls,
            auth,
            pipelining,
            size_limit,
            tests_run: tally.run,
            tests_accepted: tally.accepted,
            tests_rejected: tally.rejected,
            tests_deferred: tally.deferred,
            started_at: o.started_at,
            duration_ms: o.duration_ms,
            error: o.error,
            dialogue: o.dialogue,
            transcript: o.transcript,
            transcript_truncated: o.transcript_truncated,
            tls: o.tls,
            mta: assessment.mta,
            software: assessment.software,
            findings: assessment.findings,
            timing: o.timing,
            blocklists: o.blocklists,
        }
    }

    /// A probe's outcome assessed and recorded in one step.
    pub fn of_outcome(o: Outcome) -> Self {
        let assessment = crate::assess::assess_outcome(&o);
        ScanRecord::new(o, assessment)
    }
}

/// The code and first line of a reply, as a person would quote it: `220 mx.example.com ESMTP`.
///
/// The first line, not the last: a multi-line greeting names the host on its first line,
/// and the teasers of Postfix postscreen put the host name there too.
pub fn summary_line(r: &Reply) -> String {
    let first = r.lines.first().map(String::as_str).unwrap_or("").trim_end();
    let mut out = r.code.to_string();
    // The parser may or may not leave the enhanced code in the text; quote it once either way.
    if let Some(enhanced) = r.enhanced {
        let enhanced = enhanced.to_string();
        if !first.starts_with(&enhanced) {
            out.push(' ');
            out.push_str(&enhanced);
        }
    }
    if !first.is_empty() {
        out.push(' ');
        out.push_str(first);
    }
    out
}

/// How the relay tests went, counted from the replies rather than from the verdict,
/// so that an auditor can check the verdict against the numbers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct TestTally {
    run: u32,
    accepted: u32,
    rejected: u32,
    deferred: u32,
}

impl TestTally {
    fn of<'a>(attempts: impl IntoIterator<Item = &'a RelayAttempt>) -> Self {
        let mut t = TestTally::default();
        // Id 0 is the control recipient: it says whether anything is accepted, not whether
        // relaying is, so it is kept out of the counts.
        for a in attempts.into_iter().filter(|a| a.id != 0 && a.ran()) {
            t.run += 1;
            // How the attempt ended is decided in one place: each test lands in at most
            // one bucket, and one cut short (or ambiguous) lands in none.
            match a.result() {
                AttemptResult::Relayed(_) => t.accepted += 1,
                AttemptResult::Deferred(_) => t.deferred += 1,
                AttemptResult::Refused(_) => t.rejected += 1,
                AttemptResult::Unanswered => {}
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;
    use crate::smtp::EnhancedCode;

    fn reply(code: u16, line: &str) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![line.to_string()],
        }
    }

    fn attempt(id: u8, mail: Option<u16>, rcpt: Option<u16>) -> RelayAttempt {
        let mut a = RelayAttempt::planned(id, "<>".into(), "<relaytest@example.net>".into());
        a.rset = Some(reply(250, "ok"));
        a.mail = mail.map(|c| reply(c, "mail"));
        a.rcpt = rcpt.map(|c| reply(c, "rcpt"));
        a
    }

    #[test]
    fn tally_table() {
        // (attempts as (id, MAIL code, RCPT code), expected (run, accepted, rejected, deferred))
        type Row = (Vec<(u8, Option<u16>, Option<u16>)>, (u32, u32, u32, u32));
        let table: Vec<Row> = vec![
            (vec![], (0, 0, 0, 0)),
            (vec![(1, Some(250), Some(250))], (1, 1, 0, 0)),
            (vec![(1, Some(250), Some(554))], (1, 0, 1, 0)),
            (vec![(1, Some(550), None)], (1, 0, 1, 0)),
            (vec![(1, Some(250), Some(451))], (1, 0, 0, 1)),
            (vec![(1, Some(421), None)], (1, 0, 0, 1)),
            // MAIL refused temporarily: RCPT (if any) is irrelevant.
            (vec![(1, Some(451), Some(250))], (1, 0, 0, 1)),
            // Cut short after MAIL: run, but no conclusion.
            (vec![(1, Some(250), None)], (1, 0, 0, 0)),
            // Never answered at MAIL: not run.
            (vec![(1, None, None)], (0, 0, 0, 0)),
            // The control recipient is not a relay test.
            (vec![(0, Some(250), Some(250))], (0, 0, 0, 0)),
            (
                vec![
                    (1, Some(250), Some(550)),
                    (2, Some(250), Some(250)),
                    (3, Some(250), Some(450)),
                    (4, Some(250), Some(250)),
                ],
                (4, 2, 1, 1),
            ),
        ];
        for (attempts, (run, accepted, rejected, deferred)) in table {
            let attempts: Vec<_> = attempts
                .iter()
                .map(|&(id, m, r)| attempt(id, m, r))
                .collect();
            let want = TestTally {
                run,
                accepted,
                rejected,
                deferred,
            };
            assert_eq!(TestTally::of(&attempts), want, "{attempts:?}");
        }
    }

    #[test]
    fn summary_line_table() {
        let enhanced = EnhancedCode {
            class: 5,
            subject: 7,
            detail: 1,
        };
        let table = [
            (
                reply(220, "mx.example.com ESMTP Postfix"),
                "220 mx.example.com ESMTP Postfix",
            ),
            (
                Reply {
                    code: 220,
                    enhanced: None,
                    lines: vec!["mx.example.com ESMTP".into(), "second line".into()],
                },
                "220 mx.example.com ESMTP",
            ),
            (
                Reply {
                    code: 554,
                    enhanced: None,
                    lines: vec![],
                },
                "554",
            ),
            (
                Reply {
                    code: 554,
                    enhanced: Some(enhanced),
                    lines: vec!["5.7.1 go away".into()],
                },
                "554 5.7.1 go away",
            ),
            (
                Reply {
                    code: 554,
                    enhanced: Some(enhanced),
                    lines: vec!["go away".into()],
                },
                "554 5.7.1 go away",
            ),
        ];
        for (r, want) in table {
            assert_eq!(summary_line(&r), want);
        }
    }

    #[test]
    fn from_open_relay_outcome() {
        let r = ScanRecord::of_outcome(testdata::open_relay_outcome());
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        assert_eq!(r.endpoint(), "192.0.2.25:25");
        assert_eq!(r.name.as_deref(), Some("mx.example.com"));
        assert_eq!(r.status, Status::Completed);
        assert_eq!(r.verdict, Some(Verdict::OpenRelay));
        assert_eq!(r.open_tests, vec![2]);
        assert!(r.accepts_any_recipient);
        assert_eq!(r.banner.as_deref(), Some(testdata::HOSTILE_BANNER_LINE));
        assert!(r.esmtp);
        assert!(!r.helo_fallback);
        assert_eq!(r.capabilities, ["PIPELINING", "SIZE", "STARTTLS", "AUTH"]);
        assert!(r.starttls && r.pipelining);
        assert_eq!(r.auth, ["PLAIN", "LOGIN"]);
        assert_eq!(r.size_limit, Some(10_240_000));
        assert_eq!(
            (
                r.tests_run,
                r.tests_accepted,
                r.tests_rejected,
                r.tests_deferred
            ),
            (3, 1, 1, 1)
        );
        assert_eq!(r.dialogue.first.attempts.len(), 3);
        assert_eq!(r.transcript.len(), 2);
        assert_eq!(r.error, None);
    }

    #[test]
    fn from_refused_outcome() {
        let r = ScanRecord::of_outcome(testdata::refused_outcome());
        assert_eq!(r.endpoint(), "[2001:db8::25]:25");
        assert_eq!(r.status, Status::Refused);
        assert_eq!(r.verdict, None);
        assert_eq!(r.banner, None);
        assert!(!r.esmtp && !r.helo_fallback && !r.starttls && !r.pipelining);
        assert!(r.capabilities.is_empty() && r.auth.is_empty());
        assert_eq!(r.size_limit, None);
        assert_eq!(r.tests_run, 0);
        assert_eq!(r.error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn helo_fallback_when_ehlo_refused() {
        let mut o = testdata::open_relay_outcome();
        o.dialogue.first.hello = Some(crate::probe::Hello {
            ehlo: reply(502, "command not implemented"),
            helo: Some(reply(250, "mx.example.com")),
        });
        let r = ScanRecord::of_outcome(o);
        assert!(!r.esmtp);
        assert!(r.helo_fallback);
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        for o in [testdata::open_relay_outcome(), testdata::refused_outcome()] {
            let r = ScanRecord::of_outcome(o);
            let text = serde_json::to_string(&r).unwrap();
            let back: ScanRecord = serde_json::from_str(&text).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn the_record_carries_the_assessment_of_its_outcome() {
        let o = testdata::open_relay_outcome();
        let assessment = crate::assess::assess_outcome(&o);
        let r = ScanRecord::new(o, assessment.clone());
        assert_eq!(
            (r.verdict, &r.reason, &r.open_tests, r.mta, &r.findings),
            (
                assessment.verdict,
                &assessment.reason,
                &assessment.open_tests,
                assessment.mta,
                &assessment.findings
            )
        );
    }

    #[test]
    fn flat_keys_come_first_and_nulls_are_kept() {
        let r = ScanRecord::of_outcome(testdata::refused_outcome());
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"schema_version":2,"ip":"2001:db8::25","port":25,"#));
        assert!(text.contains(r#""verdict":null"#), "{text}");
        assert!(text.find(r#""error""#) < text.find(r#""dialogue""#));
    }
}
