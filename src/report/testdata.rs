//! Hand-built probe outcomes shared by the report tests: one open relay with hostile server text, one refused.

use chrono::{TimeZone, Utc};

use crate::dns::plan::DomainPlan;
use crate::dns::policy::{Presence, parse_dmarc, parse_spf};
use crate::dns::{DomainResolution, MailHost, MailRoute};
use crate::probe::{Dialogue, Hello, Leg, Outcome, RelayAttempt, Status};
use crate::smtp::{Capabilities, Direction, Reply, TranscriptLine};
use crate::target::Endpoint;

/// The server's name as the hostile server announces it: a spreadsheet formula.
pub const HOSTILE_NAME: &str = "=cmd|'/C calc'!A0";
/// The greeting text after the code: a formula, an ANSI escape and a bidi override.
pub const HOSTILE_GREETING: &str = "=cmd|'/C calc'!A0 ESMTP \u{1b}[31mred\u{202e}txt.exe";
/// What `banner` holds for that greeting.
pub const HOSTILE_BANNER_LINE: &str = "220 =cmd|'/C calc'!A0 ESMTP \u{1b}[31mred\u{202e}txt.exe";

pub fn reply(code: u16, line: &str) -> Reply {
    Reply {
        code,
        enhanced: None,
        lines: vec![line.to_string()],
    }
}

fn attempt(id: u8, rcpt_to: &str, rcpt: Reply) -> RelayAttempt {
    let mut a = RelayAttempt::planned(id, "<antispam@example.net>".into(), rcpt_to.into());
    a.rset = Some(reply(250, "2.0.0 Ok"));
    a.mail = Some(reply(250, "2.1.0 Ok"));
    a.rcpt = Some(rcpt);
    a
}

/// An open relay: test 1 refused, test 2 accepted, test 3 greylisted; the control recipient accepted.
pub fn open_relay_outcome() -> Outcome {
    let ehlo = Reply {
        code: 250,
        enhanced: None,
        lines: vec![
            "mx.example.com".into(),
            "PIPELINING".into(),
            "SIZE 10240000".into(),
            "STARTTLS".into(),
            "AUTH PLAIN LOGIN".into(),
        ],
    };
    Outcome {
        endpoint: Endpoint {
            ip: "192.0.2.25".parse().unwrap(),
            port: 25,
            name: Some("mx.example.com".into()),
        },
        started_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
        duration_ms: 1234,
        status: Status::Completed,
        error: None,
        server_name: Some(HOSTILE_NAME.into()),
        dialogue: Dialogue {
            greeting: Some(reply(220, HOSTILE_GREETING)),
            first: Leg {
                capabilities: capabilities_of(&ehlo),
                hello: Some(Hello { ehlo, helo: None }),
                attempts: vec![
                    attempt(
                        1,
                        "<relaytest@example.org>",
                        reply(554, "5.7.1 Relay access denied"),
                    ),
                    attempt(2, "<relaytest@example.org>", reply(250, "2.1.5 Ok")),
                    attempt(3, "<relaytest@example.org>", reply(451, "4.7.1 Greylisted")),
                ],
                control: Some(attempt(
                    0,
                    "<x7q2@nonexistent.invalid>",
                    reply(250, "2.1.5 Ok"),
                )),
                pipelined: true,
                ..Leg::default()
            },
            interruption: None,
            ..Dialogue::default()
        },
        transcript: vec![
            TranscriptLine {
                ms: 3,
                dir: Direction::Server,
                text: format!("220 {HOSTILE_GREETING}"),
            },
            TranscriptLine {
                ms: 4,
                dir: Direction::Client,
                text: "EHLO scanner.example.net".into(),
            },
        ],
        transcript_truncated: false,
        tls: None,
        timing: Default::default(),
        blocklists: None,
    }
}

/// A refused connection over IPv6: no dialogue at all.
pub fn refused_outcome() -> Outcome {
    Outcome {
        endpoint: Endpoint::new("2001:db8::25".parse().unwrap(), 25),
        started_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 1).unwrap(),
        duration_ms: 2,
        status: Status::Refused,
        error: Some("connection refused".into()),
        server_name: None,
        dialogue: Dialogue::default(),
        transcript: vec![],
        transcript_truncated: false,
        tls: None,
        timing: Default::default(),
        blocklists: None,
    }
}

/// A mail domain with MX `hosts` (name, preference, address), SPF `mx -all` and DMARC
/// `p=none` with a `rua` a spreadsheet would run as a formula.
pub fn mail_domain(domain: &str, hosts: &[(&str, u16, &str)]) -> DomainResolution {
    DomainResolution {
        domain: domain.into(),
        route: MailRoute::Mx,
        route_error: None,
        hosts: hosts
            .iter()
            .map(|(name, pref, ip)| MailHost {
                name: name.to_string(),
                preference: Some(*pref),
                addresses: vec![ip.parse().unwrap()],
                error: None,
                cname: None,
                ip_literal: false,
            })
            .collect(),
        null_mx_mixed: false,
        spf: parse_spf("v=spf1 mx -all"),
        dmarc: parse_dmarc("v=DMARC1; p=none; rua=@cmd"),
        mta_sts: Presence::default(),
        tls_rpt: Presence::default(),
        dkim: Default::default(),
        tlsa: Vec::new(),
        mta_sts_policy: None,
    }
}

/// The plan of one [`mail_domain`] with one mail host at preference 10.
pub fn one_domain_plan(domain: &str, host: &str, ip: &str) -> DomainPlan {
    DomainPlan {
        domains: vec![mail_domain(domain, &[(host, 10, ip)])],
        ..DomainPlan::default()
    }
}

fn capabilities_of(ehlo: &Reply) -> Capabilities {
    Capabilities::from_ehlo(ehlo)
}

/// Drives `sink` through a whole run of `records`: a fixed sample run (with markup in its
/// command line and settings, which reports must escape too), then finish at 12:01.
pub fn run_sink(
    sink: &mut dyn super::ReportSink,
    records: &[super::ScanRecord],
    interrupted: bool,
) -> super::Summary {
    let mut meta = super::RunMeta::this_tool(
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
        vec!["relayscan".into(), "scan".into(), "<b>arg</b>".into()],
    );
    meta.targets = vec!["192.0.2.0/24".into()];
    meta.ports = vec![25];
    meta.settings = super::RunSettings::Scan(Box::new(super::RecordedSettings {
        helo: "<i>x</i>".into(),
        ..super::settings::tests::sample()
    }));
    let mut summary = super::Summary::default();
    sink.begin(&meta).unwrap();
    for r in records {
        sink.record(r).unwrap();
        summary.add(r);
    }
    let end = super::RunEnd {
        finished_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 1, 0).unwrap(),
        interrupted,
    };
    sink.finish(&end, &summary).unwrap();
    summary
}

/// The domain entries of `plan` with their real assessments, as the scan's writer makes
/// them, before any record came in (every endpoint `no-answer`).
pub fn domain_entries(plan: DomainPlan) -> Vec<super::domains::DomainEntry> {
    let dir = tempfile::tempdir().unwrap();
    let report = super::domains::DomainReport::new(plan, &[25], &dir.path().join("scan"));
    report
        .observed()
        .into_iter()
        .map(|o| {
            let a = crate::assess::domain::assess(o.resolution, &o.address_facts());
            super::domains::DomainEntry::new(o, a)
        })
        .collect()
}

/// The `|` of a Markdown table row that GFM splits cells on: those not escaped.
pub fn cell_bars(row: &str) -> usize {
    row.char_indices()
        .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
        .count()
}
