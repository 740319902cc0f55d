//! The analyzer on whole stories: lines in, conclusions out.

use super::*;

const HINT: YearHint = YearHint {
    year: 2026,
    month: 12,
};

fn settings() -> Settings {
    Settings {
        mynetworks: vec!["192.0.2.0/28".parse().unwrap()],
        local_domains: ["example.com".to_string()].into_iter().collect(),
        thresholds: Thresholds {
            sasl_failures: 2,
            user_external_recipients: 2,
            hourly_messages: 3,
            refused_attempts: 1,
        },
        ..Settings::default()
    }
}

fn analyze(settings: Settings, lines: &[&str]) -> LogReport {
    let mut a = Analyzer::new(settings);
    a.begin_file("mail.log", HINT);
    for (n, line) in lines.iter().enumerate() {
        a.line(n + 1, line);
    }
    a.finish()
}

fn ids(r: &LogReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.finding.id.as_str()).collect()
}

/// A Postfix day: a stranger relayed, a trusted client, an authenticated user, refused
/// attempts from one /24, failed logins. Shapes as the test bed's Postfix 3.7 logs them.
const POSTFIX_DAY: &[&str] = &[
    "Dec 07 05:13:12 mx postfix/smtpd[1]: connect from evil[198.51.100.7]",
    "Dec 07 05:13:12 mx postfix/smtpd[1]: AAAAAA1: client=evil[198.51.100.7]",
    "Dec 07 05:13:12 mx postfix/qmgr[2]: AAAAAA1: from=<spam@sender.test>, size=365, nrcpt=2 (queue active)",
    "Dec 07 05:13:13 mx postfix/smtp[3]: AAAAAA1: to=<victim@far.test>, relay=mx.far.test[203.0.113.5]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
    "Dec 07 05:13:13 mx postfix/local[4]: AAAAAA1: to=<boss@example.com>, relay=local, delay=1, dsn=2.0.0, status=sent (delivered to mailbox)",
    "Dec 07 05:13:13 mx postfix/qmgr[2]: AAAAAA1: removed",
    // A trusted client (inside mynetworks) relays: no incident.
    "Dec 07 05:20:00 mx postfix/smtpd[1]: BBBBBB2: client=office[192.0.2.5]",
    "Dec 07 05:20:00 mx postfix/qmgr[2]: BBBBBB2: from=<me@example.com>, size=1, nrcpt=1 (queue active)",
    "Dec 07 05:20:01 mx postfix/smtp[3]: BBBBBB2: to=<friend@far.test>, relay=x[203.0.113.5]:25, dsn=2.0.0, status=sent (250 ok)",
    "Dec 07 05:20:01 mx postfix/qmgr[2]: BBBBBB2: removed",
    // An authenticated user sends to two outside recipients: mass sending at threshold 2.
    "Dec 07 06:00:00 mx postfix/smtpd[1]: CCCCCC3: client=home[203.0.113.9], sasl_method=PLAIN, sasl_username=alice",
    "Dec 07 06:00:00 mx postfix/qmgr[2]: CCCCCC3: from=<alice@example.com>, size=1, nrcpt=2 (queue active)",
    "Dec 07 06:00:01 mx postfix/smtp[3]: CCCCCC3: to=<a@far.test>, relay=x[203.0.113.5]:25, dsn=2.0.0, status=sent (250 ok)",
    "Dec 07 06:00:01 mx postfix/smtp[3]: CCCCCC3: to=<b@far.test>, relay=x[203.0.113.5]:25, dsn=2.0.0, status=sent (250 ok)",
    "Dec 07 06:00:01 mx postfix/qmgr[2]: CCCCCC3: removed",
    // A stranger's message deferred, never sent: no incident.
    "Dec 07 06:10:00 mx postfix/smtpd[1]: DDDDDD4: client=evil[198.51.100.7]",
    "Dec 07 06:10:01 mx postfix/smtp[3]: DDDDDD4: to=<v@far.test>, relay=none, delay=1, dsn=4.4.1, status=deferred (connect to x: Connection timed out)",
    // Refused attempts from two addresses of one /24.
    "Dec 07 07:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[198.51.100.20]: 554 5.7.1 <x@far.test>: Relay access denied; from=<s@t> to=<x@far.test> proto=ESMTP helo=<a>",
    "Dec 07 07:30:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from b[198.51.100.21]: 554 5.7.1 <y@other.test>: Relay access denied; from=<s@t> to=<y@other.test> proto=ESMTP helo=<b>",
    "Dec 07 08:00:00 mx postfix/smtpd[1]: warning: c[203.0.113.66]: SASL LOGIN authentication failed: authentication failure, sasl_username=root",
    "Dec 07 08:00:01 mx postfix/smtpd[1]: warning: c[203.0.113.66]: SASL LOGIN authentication failed: authentication failure, sasl_username=admin",
    "Dec 07 08:00:02 mx cron[9]: (root) CMD (run-parts /etc/cron.hourly)",
    "garbage that is no log line",
];

#[test]
fn a_postfix_day_concludes_each_thing_once() {
    let r = analyze(settings(), POSTFIX_DAY);
    assert_eq!(
        ids(&r),
        [
            "relayed-for-stranger",
            "authenticated-mass-sending",
            "sasl-login-failures",
            "relay-attempts-refused",
            "unreadable-log-lines"
        ]
    );
    assert_eq!(r.relayed.len(), 1);
    let i = &r.relayed[0];
    assert_eq!(i.queue_id, "AAAAAA1");
    assert_eq!(i.client, "198.51.100.7");
    assert_eq!(i.sender.as_deref(), Some("spam@sender.test"));
    // The local recipient is not counted as relayed.
    assert_eq!(i.recipients, ["victim@far.test"]);
    assert_eq!(i.time.as_deref(), Some("2026-12-07T05:13:13Z"));
    assert_eq!(i.evidence.len(), 5, "{:?}", i.evidence);
    assert!(
        i.evidence[0]
            .starts_with("mail.log:2: Dec 07 05:13:12 mx postfix/smtpd[1]: AAAAAA1: client=")
    );
    assert_eq!(r.verdict(), Some(crate::assess::Verdict::OpenRelay));
    assert_eq!(r.mta, Mta::Postfix);
    let t = &r.totals;
    assert_eq!(
        (
            t.messages_received,
            t.delivered_external,
            t.relayed_for_stranger,
            t.relay_attempts_refused,
            t.sasl_failures
        ),
        (4, 4, 1, 2, 2)
    );
    assert_eq!(r.refused_networks.len(), 1);
    let net = &r.refused_networks[0];
    assert_eq!(net.source, "198.51.100.0/24");
    assert_eq!((net.attempts, net.clients.len()), (2, 2));
    assert_eq!(net.recipient_domains, ["far.test", "other.test"]);
    assert_eq!(net.first_seen.as_deref(), Some("2026-12-07T07:00:00Z"));
    assert_eq!(net.last_seen.as_deref(), Some("2026-12-07T07:30:00Z"));
    assert_eq!(r.refused_clients.len(), 2);
    assert_eq!(r.sasl_failures[0].users, ["root", "admin"]);
    assert_eq!(r.users[0].user, "alice");
    assert_eq!(r.users[0].external_recipients, 2);
    assert_eq!(r.unreadable.count, 1);
    assert_eq!(
        r.unreadable.samples,
        ["mail.log:23: garbage that is no log line"]
    );
    assert_eq!(r.files[0].other_lines, 1);
    let hours: Vec<(&str, u64, u64, u64)> = r
        .timeline
        .iter()
        .map(|h| (h.hour.as_str(), h.received, h.refused, h.relayed))
        .collect();
    assert_eq!(
        hours,
        [
            ("2026-12-07T05:00:00Z", 2, 0, 1),
            ("2026-12-07T06:00:00Z", 2, 0, 0),
            ("2026-12-07T07:00:00Z", 0, 2, 0),
        ]
    );
}

#[test]
fn a_trusted_or_authenticated_sender_is_no_stranger() {
    let mut s = settings();
    s.mynetworks.push("198.51.100.0/24".parse().unwrap());
    let r = analyze(s, POSTFIX_DAY);
    assert!(r.relayed.is_empty());
    assert_eq!(r.verdict(), None);
    // With everyone trusted, the report says why nothing can be a stranger.
    let mut s = settings();
    s.mynetworks = vec!["0.0.0.0/0".parse().unwrap()];
    let r = analyze(s, POSTFIX_DAY);
    assert!(r.relayed.is_empty());
    assert!(
        r.notes.iter().any(|n| n.contains("trusts every address")),
        "{:?}",
        r.notes
    );
}

#[test]
fn since_and_until_bound_the_window() {
    let mut s = settings();
    s.since = prefix::iso_time("2026-12-07T06:00:00Z").map(|t| t.0);
    s.until = prefix::iso_time("2026-12-07T07:15:00Z").map(|t| t.0);
    let r = analyze(s, POSTFIX_DAY);
    assert!(r.relayed.is_empty());
    assert_eq!(r.totals.relay_attempts_refused, 1);
    assert_eq!(r.totals.sasl_failures, 0);
    assert_eq!(r.files[0].outside_window, 14);
    assert_eq!(r.since.as_deref(), Some("2026-12-07T06:00:00Z"));
}

#[test]
fn a_burst_is_a_volume_spike_with_the_mtas_remediation() {
    let mut lines = Vec::new();
    for n in 0..5 {
        lines.push(format!(
            "Dec 07 09:0{n}:00 mx postfix/smtpd[1]: EEEEE{n}0: client=burst[192.0.2.3]"
        ));
    }
    lines.push("Dec 07 10:00:00 mx postfix/smtpd[1]: FFFFFF0: client=burst[192.0.2.3]".into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let r = analyze(settings(), &refs);
    assert_eq!(ids(&r), ["volume-spike"]);
    let v = &r.volume[0];
    assert_eq!(
        (v.kind, v.who.as_str(), v.messages, v.peak_per_hour),
        ("client", "192.0.2.3", 6, 5)
    );
    assert_eq!(v.peak_hour.as_deref(), Some("2026-12-07T09:00:00Z"));
    assert!(
        r.findings[0]
            .finding
            .remediation
            .contains("smtpd_client_message_rate_limit")
    );
}

/// Sendmail lines as documented (see sendmail.rs for the sources).
#[test]
fn a_sendmail_story() {
    let r = analyze(
        settings(),
        &[
            "Dec  7 05:00:00 mx sm-mta[10]: 2B7DAQ6f012345: from=<spam@sender.test>, size=1544, class=0, nrcpts=1, msgid=<x@y>, proto=ESMTP, daemon=MTA, relay=evil.test [198.51.100.8]",
            "Dec  7 05:00:02 mx sm-mta[11]: 2B7DAQ6f012345: to=<victim@far.test>, delay=00:00:02, xdelay=00:00:01, mailer=esmtp, pri=121544, relay=mx.far.test. [203.0.113.5], dsn=2.0.0, stat=Sent (ok)",
            "Dec  7 05:01:00 mx sm-mta[12]: 2B7DAQ6f012347: ruleset=check_rcpt, arg1=<v@far.test>, relay=[198.51.100.9], reject=550 5.7.1 <v@far.test>... Relaying denied",
        ],
    );
    assert_eq!(ids(&r), ["relayed-for-stranger", "relay-attempts-refused"]);
    assert_eq!(r.mta, Mta::Sendmail);
    assert_eq!(r.relayed[0].client, "198.51.100.8");
    assert!(
        r.findings[0]
            .finding
            .remediation
            .contains("promiscuous_relay")
    );
}

/// Sendmail logs no line when a message leaves the queue: its story ends when each of the
/// `nrcpts=` recipients has a final status (sent or bounced; deferred is retried), so it
/// leaves the open table there, as a Postfix `removed` or an Exim `Completed` does.
#[test]
fn a_sendmail_story_ends_when_every_recipient_is_final() {
    let mut a = Analyzer::new(settings());
    a.begin_file("mail.log", HINT);
    let lines = [
        "Dec  7 05:00:00 mx sm-mta[10]: 2B7DAQ6f012345: from=<spam@sender.test>, size=1544, class=0, nrcpts=3, msgid=<x@y>, proto=ESMTP, daemon=MTA, relay=evil.test [198.51.100.8]",
        "Dec  7 05:00:02 mx sm-mta[11]: 2B7DAQ6f012345: to=<a@far.test>,<b@far.test>, delay=00:00:02, mailer=esmtp, pri=121544, relay=mx.far.test. [203.0.113.5], dsn=2.0.0, stat=Sent (ok)",
        "Dec  7 05:00:03 mx sm-mta[11]: 2B7DAQ6f012345: to=<c@far.test>, delay=00:00:03, mailer=esmtp, pri=121544, relay=mx.far.test., dsn=4.0.0, stat=Deferred: Connection refused by mx.far.test.",
        "Dec  7 05:30:00 mx sm-mta[12]: 2B7DAQ6f012345: to=<c@far.test>, delay=00:30:00, mailer=esmtp, pri=211544, relay=mx.far.test. [203.0.113.5], dsn=5.1.1, stat=User unknown",
    ];
    for (n, line) in lines.iter().enumerate() {
        a.line(n + 1, line);
        let open = a.messages.get("2B7DAQ6f012345").is_some();
        // Two of three final after the second line, the deferred one not final: open
        // until the bounce.
        assert_eq!(open, n + 1 < lines.len(), "after line {}", n + 1);
    }
    assert_eq!(
        a.incidents.len(),
        1,
        "concluded at the bounce, not at the end"
    );
    let r = a.finish();
    let i = &r.relayed[0];
    assert_eq!((i.recipient_count, i.evidence.len()), (2, 4));
    assert_eq!(i.recipients, ["a@far.test", "b@far.test"]);
    assert_eq!(i.sender.as_deref(), Some("spam@sender.test"));
    assert_eq!(r.bounds.messages_evicted + r.bounds.messages_expired, 0);
}

/// Exim's mainlog, lines as in the Exim specification's "Log files" chapter.
#[test]
fn an_exim_story() {
    let r = analyze(
        settings(),
        &[
            "2026-12-07 05:00:00 1wS3Xa-000Ab1-2Z <= spam@sender.test H=(evil) [198.51.100.8]:4000 P=esmtp S=100",
            "2026-12-07 05:00:01 1wS3Xa-000Ab1-2Z => victim@far.test R=dnslookup T=remote_smtp H=mx.far.test [203.0.113.5]",
            "2026-12-07 05:00:01 1wS3Xa-000Ab1-2Z Completed",
            "2026-12-07 05:02:00 H=(x) [198.51.100.9] F=<s@t> rejected RCPT <v@far.test>: relay not permitted",
        ],
    );
    assert_eq!(ids(&r), ["relayed-for-stranger", "relay-attempts-refused"]);
    assert_eq!(r.mta, Mta::Exim);
    assert!(r.findings[0].finding.remediation.contains("exim -bp"));
}

#[test]
fn journalctl_cat_lines_read_without_a_prefix() {
    let r = analyze(
        settings(),
        &[
            "AAAAAA1: client=evil[198.51.100.7]",
            "AAAAAA1: to=<victim@far.test>, relay=x[203.0.113.5]:25, dsn=2.0.0, status=sent (250 ok)",
            "AAAAAA1: removed",
        ],
    );
    assert_eq!(r.relayed.len(), 1);
    assert_eq!(r.relayed[0].time, None);
}

#[test]
fn mta_choice_reads_only_that_mta() {
    let mut s = settings();
    s.mta = LogMta::Exim;
    let r = analyze(s, POSTFIX_DAY);
    assert!(r.relayed.is_empty());
    assert_eq!(r.files[0].mail_lines, 0);
}

#[test]
fn networks_are_slash_24_and_slash_48() {
    for (ip, want) in [
        ("198.51.100.77", "198.51.100.0/24"),
        ("2001:db8:1:2::5", "2001:db8:1::/48"),
    ] {
        assert_eq!(network_of(ip.parse().unwrap()).to_string(), want);
    }
}

#[test]
fn many_clients_overflow_and_the_report_says_so() {
    let mut a = Analyzer::new(settings());
    a.begin_file("big.log", HINT);
    for n in 0..(2 * TABLE_CAP as u32 + 10) {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n);
        a.line(
            n as usize + 1,
            &format!("Dec 07 07:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[{ip}]: 554 5.7.1 <x@far.test>: Relay access denied; from=<s@t> to=<x@far.test> proto=ESMTP helo=<a>"),
        );
    }
    let r = a.finish();
    assert!(
        r.bounds.overflowed.contains(&"refused_clients".to_string()),
        "{:?}",
        r.bounds
    );
    assert_eq!(r.totals.relay_attempts_refused, 2 * TABLE_CAP as u64 + 10);
    assert_eq!(r.refused_clients.len(), TOP_ROWS);
}

proptest::proptest! {
    /// No line, cut anywhere or made of anything, panics the reader; every line is counted
    /// once, as mail, other, outside the window or unreadable.
    #[test]
    fn any_line_is_data_never_a_panic(
        picks in proptest::collection::vec((0usize..POSTFIX_DAY.len(), 0usize..400, ".{0,40}"), 1..40),
        noise in proptest::collection::vec(".{0,200}", 0..20),
    ) {
        let mut lines: Vec<String> = picks
            .iter()
            .map(|(i, cut, tail)| {
                let line = POSTFIX_DAY[*i];
                let cut = (0..=(*cut).min(line.len())).rev().find(|c| line.is_char_boundary(*c)).unwrap_or(0);
                format!("{}{tail}", &line[..cut])
            })
            .collect();
        lines.extend(noise);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let r = analyze(settings(), &refs);
        let f = &r.files[0];
        proptest::prop_assert_eq!(f.lines, lines.len() as u64);
        proptest::prop_assert_eq!(f.mail_lines + f.other_lines + f.outside_window + f.unreadable, f.lines);
    }
}

#[test]
fn throttles_are_counted_per_client() {
    let lines = [
        "Dec 07 05:00:00 mx postfix/postscreen[7]: PREGREET 11 after 0.08 from [198.51.100.9]:41234: EHLO x\\r\\n",
        "Dec 07 05:00:01 mx postfix/postscreen[7]: DNSBL rank 3 for [198.51.100.9]:41235",
        "Dec 07 05:10:00 mx postfix/smtpd[8]: warning: Connection rate limit exceeded: 31 from x[198.51.100.9] for service smtp",
        "Dec 07 05:20:00 mx postfix/smtpd[8]: warning: Message delivery request rate limit exceeded: 101 from y[2001:db8::7] for service smtp",
        "Dec 07 05:30:00 mx sm-mta[9]: 2B7DAQ6f012350: ruleset=check_relay, arg1=[192.0.2.14], arg2=192.0.2.14, relay=[192.0.2.14], reject=421 4.3.2 Connection rate limit exceeded.",
    ];
    let r = analyze(settings(), &lines);
    assert_eq!(r.totals.throttled, 5);
    let rows: Vec<(&str, u64, Option<&str>, Option<&str>)> = r
        .throttled_clients
        .iter()
        .map(|t| {
            (
                t.client.as_str(),
                t.times,
                t.first_seen.as_deref(),
                t.last_seen.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "198.51.100.9",
                3,
                Some("2026-12-07T05:00:00Z"),
                Some("2026-12-07T05:10:00Z")
            ),
            (
                "192.0.2.14",
                1,
                Some("2026-12-07T05:30:00Z"),
                Some("2026-12-07T05:30:00Z")
            ),
            (
                "2001:db8::7",
                1,
                Some("2026-12-07T05:20:00Z"),
                Some("2026-12-07T05:20:00Z")
            ),
        ]
    );
}

/// Once the incident list is full, a message's lines, sender and recipient names are no
/// longer kept (they could never be listed), but every relayed message is still counted.
#[test]
fn details_are_kept_only_while_an_incident_can_be_listed() {
    let mut a = Analyzer::new(settings());
    a.begin_file("mail.log", HINT);
    let mut number = 0;
    let mut line = |a: &mut Analyzer, text: String| {
        number += 1;
        a.line(number, &text);
    };
    let extra = 3;
    for n in 0..MAX_INCIDENTS + extra {
        let id = format!("{:X}", 0xA00000 + n);
        line(
            &mut a,
            format!("Dec 07 05:13:12 mx postfix/smtpd[1]: {id}: client=evil[198.51.100.7]"),
        );
        line(
            &mut a,
            format!(
                "Dec 07 05:13:12 mx postfix/qmgr[2]: {id}: from=<s@sender.test>, size=1, nrcpt=1 (queue active)"
            ),
        );
        line(
            &mut a,
            format!(
                "Dec 07 05:13:13 mx postfix/smtp[3]: {id}: to=<v{n}@far.test>, relay=x[203.0.113.5]:25, dsn=2.0.0, status=sent (250 ok)"
            ),
        );
        if n + 1 < MAX_INCIDENTS + extra {
            line(
                &mut a,
                format!("Dec 07 05:13:13 mx postfix/qmgr[2]: {id}: removed"),
            );
        }
    }
    let last = format!("{:X}", 0xA00000 + MAX_INCIDENTS + extra - 1);
    let open = a.messages.get(&last).expect("still open");
    assert!(open.details.is_none());
    assert_eq!(
        (open.external_count, open.client),
        (1, Some("198.51.100.7".parse().unwrap()))
    );
    let r = a.finish();
    assert_eq!(r.relayed.len(), MAX_INCIDENTS);
    assert_eq!(
        r.totals.relayed_for_stranger,
        (MAX_INCIDENTS + extra) as u64
    );
    assert_eq!(r.bounds.incidents_not_listed, extra as u64);
    let first = &r.relayed[0];
    assert_eq!(first.evidence.len(), 4);
    assert_eq!(first.sender.as_deref(), Some("s@sender.test"));
    assert_eq!(first.recipients, ["v0@far.test"]);
}
