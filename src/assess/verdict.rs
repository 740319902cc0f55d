//! The verdict: a pure function of a dialogue's facts, with the decisive reason.
//!
//! Decided by reply codes, never by text found anywhere in a reply (nmap's "530 anywhere
//! in the text" mistake); a 530 alone is read for whether it names TLS or AUTH, since RFC
//! 3207 and RFC 4954 both refuse with it (`smtp::demanded`). A 4xx never makes a server "closed": greylisting defers, it does not refuse.
//! A dialogue whose replies fell out of step with its commands is never an open relay:
//! no reply of it can be trusted to answer the command it came after.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::probe::tls_policy::asks_for_starttls;
use crate::probe::{AttemptResult, Dialogue, Leg, RelayAttempt, Status};
use crate::smtp::{Demand, Reply, demanded};

/// What the probe concluded about relaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Some test got MAIL 2xx and RCPT 2xx for a foreign recipient.
    OpenRelay,
    /// Every relay test was refused permanently.
    RelayDenied,
    /// Relaying was refused with 530: authentication first.
    AuthRequired,
    /// Temporary failures, drops or timeouts: no conclusion either way.
    Inconclusive,
    /// It answered, but not with SMTP.
    NotSmtp,
    /// It spoke SMTP, but the probe sent no relay test (`--tests none`, a banner grab).
    NotTested,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::OpenRelay,
        Verdict::RelayDenied,
        Verdict::AuthRequired,
        Verdict::Inconclusive,
        Verdict::NotSmtp,
        Verdict::NotTested,
    ];

    /// Whether a count of this verdict is shown when it is zero (summary rows, the bar's
    /// counts, the charts): every verdict a probe with relay tests can reach. Not-tested
    /// appears only in a run with banner grabs (`--tests none`), where it is not zero.
    pub fn listed_at_zero(self) -> bool {
        self != Verdict::NotTested
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::OpenRelay => "open-relay",
            Verdict::RelayDenied => "relay-denied",
            Verdict::AuthRequired => "auth-required",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotSmtp => "not-smtp",
            Verdict::NotTested => "not-tested",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`classify`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub verdict: Option<Verdict>,
    pub reason: Option<String>,
    pub open_tests: Vec<u8>,
    pub accepts_any_recipient: bool,
}

impl Classification {
    fn new(verdict: Verdict, reason: String) -> Self {
        Classification {
            verdict: Some(verdict),
            reason: Some(reason),
            open_tests: Vec::new(),
            accepts_any_recipient: false,
        }
    }

    fn none() -> Self {
        Classification {
            verdict: None,
            reason: None,
            open_tests: Vec::new(),
            accepts_any_recipient: false,
        }
    }
}

/// Classifies one probe. `status` is how far the probe got; `None` verdict for endpoints
/// that never answered (refused, timed out, unresolved).
pub fn classify(status: Status, d: &Dialogue) -> Classification {
    let mut class = judge(status, d);
    if let (Some(first), Some(reason)) = (&d.rerun_after, class.reason.as_mut()) {
        let why = if first.desync {
            "the replies to the pipelined tests fell out of step"
        } else {
            "the server hung up on the pipelined tests"
        };
        reason.push_str(&format!(
            "; judged on a rerun one command at a time, after {why} at {}",
            first.step
        ));
    }
    class
}

fn judge(status: Status, d: &Dialogue) -> Classification {
    if !status.answered() {
        return Classification::none();
    }
    let interruption = d.interruption.as_ref();
    let Some(greeting) = &d.greeting else {
        return match interruption {
            Some(i) if i.status == Status::ProtocolError && !i.desync => Classification::new(
                Verdict::NotSmtp,
                format!("not an SMTP greeting: {}", i.detail),
            ),
            Some(i) => Classification::new(
                Verdict::Inconclusive,
                format!("no SMTP greeting: {}", i.detail),
            ),
            None => Classification::new(Verdict::Inconclusive, "no SMTP greeting".into()),
        };
    };
    // A banner grab sent no relay test: whatever the greeting and EHLO said, relaying
    // was not asked about (a server that speaks SMTP is not-tested, never inconclusive).
    if !d.depth.sends_tests() {
        let how = if greeting.is_positive() {
            String::new()
        } else {
            format!(
                "; the server turned us away at connect: {}",
                greeting.summary()
            )
        };
        return Classification::new(
            Verdict::NotTested,
            format!("banner grab only (--tests none): no relay test was sent{how}"),
        );
    }
    if !greeting.is_positive() {
        return Classification::new(
            Verdict::Inconclusive,
            format!(
                "the server turned us away at connect: {}",
                greeting.summary()
            ),
        );
    }
    // Before anything is read as a relay: replies out of step prove nothing.
    if let Some(i) = interruption.filter(|i| i.desync) {
        return Classification::new(
            Verdict::Inconclusive,
            format!(
                "the server's replies fell out of step with our commands at {}, so no reply can be paired with the command it seems to answer: {}",
                i.step, i.detail
            ),
        );
    }
    if let Some(open) = open_relay(d) {
        return open;
    }

    let tls_leg = d.after_starttls.as_ref().filter(|l| !l.attempts.is_empty());
    // "530 Must issue a STARTTLS command first" is not "authentication required": the
    // tests over TLS decide, and without them there is no conclusion.
    let asked = d.first.attempts.iter().find_map(|a| match a.result() {
        AttemptResult::Refused(reply) if asks_for_starttls(reply, &d.first.capabilities) => {
            Some((a, reply))
        }
        _ => None,
    });
    let (judged, label): (Vec<&RelayAttempt>, &str) = match (asked, tls_leg) {
        (Some(_), Some(tls)) => (tls.attempts.iter().collect(), tls.channel.label()),
        (Some((a, reply)), None) => {
            return Classification::new(
                Verdict::Inconclusive,
                format!(
                    "the server asks for STARTTLS before relaying, and the tests did not run over TLS ({}); {}",
                    no_tls_because(d),
                    a.describe(reply)
                ),
            );
        }
        (None, Some(tls)) if d.first.attempts.is_empty() => {
            (tls.attempts.iter().collect(), tls.channel.label())
        }
        (None, _) => (d.attempts().collect(), ""),
    };
    let results: Vec<(&RelayAttempt, AttemptResult<'_>)> =
        judged.iter().map(|a| (*a, a.result())).collect();
    let total = results.len();

    let deferred: Vec<(&RelayAttempt, &Reply)> = results
        .iter()
        .filter_map(|(a, r)| match r {
            AttemptResult::Deferred(reply) => Some((*a, *reply)),
            _ => None,
        })
        .collect();
    if let Some((a, reply)) = deferred.first() {
        return Classification::new(
            Verdict::Inconclusive,
            format!(
                "{} of {total} tests deferred with 4xx{label} (greylisting or a temporary policy), so relaying is neither proven nor refused; first {}",
                deferred.len(),
                a.describe(reply)
            ),
        );
    }

    let finished = results
        .iter()
        .all(|(_, r)| !matches!(r, AttemptResult::Unanswered));
    if let Some(i) = interruption {
        return Classification::new(
            Verdict::Inconclusive,
            format!(
                "the dialogue stopped at {} before every test had run: {}",
                i.step, i.detail
            ),
        );
    }
    if results.is_empty() || !finished {
        let why = d
            .first
            .hello
            .as_ref()
            .and_then(|h| h.refusal())
            .map(|r| format!(": the server refused EHLO and HELO ({})", r.summary()))
            .unwrap_or_default();
        return Classification::new(
            Verdict::Inconclusive,
            format!("no relay test could be completed{why}"),
        );
    }

    // Every test was refused permanently. A 530 that asks for authentication means
    // "authenticate first"; one asking for STARTTLS was dealt with above, and over TLS
    // there is no STARTTLS left to offer.
    let refusals: Vec<(&RelayAttempt, &Reply)> = results
        .iter()
        .filter_map(|(a, r)| match r {
            AttemptResult::Refused(reply) => Some((*a, *reply)),
            _ => None,
        })
        .collect();
    let first_530 = refusals
        .iter()
        .find(|(_, r)| demanded(r, false) == Some(Demand::Auth));
    match (first_530, refusals.first()) {
        (Some((a, reply)), _) => Classification::new(
            Verdict::AuthRequired,
            format!(
                "relaying needs authentication (530){label}; {}",
                a.describe(reply)
            ),
        ),
        (None, Some((a, reply))) => Classification::new(
            Verdict::RelayDenied,
            format!(
                "all {total} tests refused permanently{label}; first {}",
                a.describe(reply)
            ),
        ),
        (None, None) => Classification::new(
            Verdict::Inconclusive,
            "no relay test could be completed".into(),
        ),
    }
}

/// The open-relay verdict, when a test relayed on some leg. The first leg speaks first: a
/// server open to anyone in plaintext is worse than one open over TLS.
fn open_relay(d: &Dialogue) -> Option<Classification> {
    let leg = d.relaying_leg()?;
    let first = leg.relayed().next()?;
    let AttemptResult::Relayed(reply) = first.result() else {
        return None;
    };
    let mut open_tests: Vec<u8> = d.attempts().filter(|a| a.relayed()).map(|a| a.id).collect();
    open_tests.sort_unstable();
    open_tests.dedup();
    let accepts_any_recipient = d.legs().any(Leg::accepted_any_recipient);
    let label = leg.channel.label();
    let mut reason = format!(
        "relayed {} of {} tests{label}; first {}",
        leg.relayed().count(),
        leg.attempts.len(),
        first.describe(reply)
    );
    if !std::ptr::eq(leg, &d.first)
        && let Some((a, refused)) = d.first.attempts.iter().find_map(|a| match a.result() {
            AttemptResult::Refused(r) | AttemptResult::Deferred(r) => Some((a, r)),
            _ => None,
        })
    {
        reason.push_str(&format!(
            "; in plaintext it refused: {}",
            a.describe(refused)
        ));
    }
    if accepts_any_recipient {
        reason.push_str("; it also accepted a recipient at a domain that cannot exist: possibly an accept-all sink that bounces later");
    }
    Some(Classification {
        verdict: Some(Verdict::OpenRelay),
        reason: Some(reason),
        open_tests,
        accepts_any_recipient,
    })
}

/// Why the relay tests did not run over TLS, from what the dialogue shows.
fn no_tls_because(d: &Dialogue) -> String {
    match (&d.starttls, &d.after_starttls) {
        (None, _) => "STARTTLS was not tried".into(),
        (Some(r), _) if !r.is_ready() => format!("STARTTLS was refused: {}", r.summary()),
        (Some(_), None) => "the TLS handshake failed".into(),
        (Some(_), Some(_)) => "the dialogue over TLS ended before them".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Channel, Hello, Interruption};
    use crate::smtp::EnhancedCode;

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.to_string()],
        }
    }

    fn attempt(id: u8, mail: Option<(u16, &str)>, rcpt: Option<(u16, &str)>) -> RelayAttempt {
        let mut a = RelayAttempt::planned(id, "<a@example.org>".into(), "<b@example.com>".into());
        a.rset = Some(reply(250, "2.0.0 Ok"));
        a.mail = mail.map(|(c, t)| reply(c, t));
        a.rcpt = rcpt.map(|(c, t)| reply(c, t));
        a
    }

    fn hello(code: u16, text: &str) -> Option<Hello> {
        Some(Hello {
            ehlo: reply(code, text),
            helo: None,
        })
    }

    fn leg(channel: Channel, attempts: Vec<RelayAttempt>) -> Leg {
        Leg {
            hello: hello(250, "mx.example.net"),
            attempts,
            ..Leg::new(channel)
        }
    }

    fn greeted(attempts: Vec<RelayAttempt>) -> Dialogue {
        Dialogue {
            greeting: Some(reply(220, "mx.example.net ESMTP")),
            first: leg(Channel::Plaintext, attempts),
            ..Dialogue::default()
        }
    }

    #[test]
    fn a_banner_grab_is_not_tested_unless_it_is_not_smtp_or_silent() {
        use crate::probe::Depth;
        let grab = |mut d: Dialogue| {
            d.depth = Depth::None;
            d
        };
        let mut turned_away = grab(greeted(Vec::new()));
        turned_away.greeting = Some(reply(554, "no thanks"));
        let not_smtp = grab(interrupted(
            Dialogue::default(),
            Status::ProtocolError,
            "greeting",
        ));
        let table = [
            (
                Status::Completed,
                grab(greeted(Vec::new())),
                Some(Verdict::NotTested),
            ),
            (Status::Completed, turned_away, Some(Verdict::NotTested)),
            (Status::ProtocolError, not_smtp, Some(Verdict::NotSmtp)),
            (Status::Refused, grab(Dialogue::default()), None),
            // The same dialogue at full depth, with no test run, is inconclusive.
            (
                Status::Completed,
                greeted(Vec::new()),
                Some(Verdict::Inconclusive),
            ),
        ];
        for (status, d, want) in table {
            let c = classify(status, &d);
            assert_eq!(c.verdict, want, "{d:?}");
            if want == Some(Verdict::NotTested) {
                let reason = c.reason.unwrap();
                assert!(
                    reason.starts_with("banner grab only (--tests none)"),
                    "{reason}"
                );
            }
        }
    }

    fn interrupted(mut d: Dialogue, status: Status, step: &str) -> Dialogue {
        d.interruption = Some(Interruption {
            status,
            step: step.into(),
            detail: "connection closed by server".into(),
            desync: false,
        });
        d
    }

    const OK: Option<(u16, &str)> = Some((250, "2.1.0 Ok"));
    const DENIED: Option<(u16, &str)> = Some((554, "5.7.1 Relay access denied"));
    const GREY: Option<(u16, &str)> = Some((450, "4.2.0 Greylisted"));
    const AUTH: Option<(u16, &str)> = Some((530, "5.7.0 Authentication required"));
    // 250 whose text contains "530": nmap's text matching calls this auth-required.
    const OK_530: Option<(u16, &str)> = Some((250, "2.1.5 Ok id=15301"));

    /// name, how far the probe got, what it saw, the expected verdict and open tests.
    type Case = (
        &'static str,
        Status,
        Dialogue,
        Option<Verdict>,
        &'static [u8],
    );

    #[test]
    fn verdict_table() {
        let cases: Vec<Case> = vec![
            (
                "refused connection has no verdict",
                Status::Refused,
                Dialogue::default(),
                None,
                &[],
            ),
            (
                "unresolved has no verdict",
                Status::Unresolved,
                Dialogue::default(),
                None,
                &[],
            ),
            (
                "one accepted test is an open relay",
                Status::Completed,
                greeted(vec![attempt(1, OK, DENIED), attempt(2, OK, OK)]),
                Some(Verdict::OpenRelay),
                &[2],
            ),
            (
                "text containing 530 is judged by its code",
                Status::Completed,
                greeted(vec![attempt(1, OK, OK_530)]),
                Some(Verdict::OpenRelay),
                &[1],
            ),
            (
                "all 5xx is relay denied",
                Status::Completed,
                greeted(vec![attempt(1, OK, DENIED), attempt(2, DENIED, None)]),
                Some(Verdict::RelayDenied),
                &[],
            ),
            (
                "530 by code is auth required",
                Status::Completed,
                greeted(vec![attempt(1, OK, AUTH), attempt(2, OK, DENIED)]),
                Some(Verdict::AuthRequired),
                &[],
            ),
            (
                "greylisting is inconclusive, never closed",
                Status::Completed,
                greeted(vec![attempt(1, OK, GREY), attempt(2, OK, GREY)]),
                Some(Verdict::Inconclusive),
                &[],
            ),
            (
                "one 4xx among 5xx keeps it inconclusive",
                Status::Completed,
                greeted(vec![attempt(1, OK, DENIED), attempt(2, OK, GREY)]),
                Some(Verdict::Inconclusive),
                &[],
            ),
            (
                "a drop mid-dialogue is inconclusive",
                Status::Dropped,
                interrupted(
                    greeted(vec![attempt(1, None, None)]),
                    Status::Dropped,
                    "test 1 MAIL",
                ),
                Some(Verdict::Inconclusive),
                &[],
            ),
            (
                "an open test before a drop still counts",
                Status::Dropped,
                interrupted(
                    greeted(vec![attempt(1, OK, OK), attempt(2, None, None)]),
                    Status::Dropped,
                    "test 2 RSET",
                ),
                Some(Verdict::OpenRelay),
                &[1],
            ),
            (
                "garbage instead of a greeting is not SMTP",
                Status::ProtocolError,
                interrupted(Dialogue::default(), Status::ProtocolError, "greeting"),
                Some(Verdict::NotSmtp),
                &[],
            ),
            (
                "silence instead of a greeting is inconclusive",
                Status::IoTimeout,
                interrupted(Dialogue::default(), Status::IoTimeout, "greeting"),
                Some(Verdict::Inconclusive),
                &[],
            ),
            (
                "554 greeting is inconclusive",
                Status::Completed,
                Dialogue {
                    greeting: Some(reply(554, "5.7.1 blocked")),
                    ..Dialogue::default()
                },
                Some(Verdict::Inconclusive),
                &[],
            ),
            (
                "421 greeting is inconclusive",
                Status::Completed,
                Dialogue {
                    greeting: Some(reply(421, "4.3.2 busy")),
                    ..Dialogue::default()
                },
                Some(Verdict::Inconclusive),
                &[],
            ),
            (
                "EHLO and HELO refused is inconclusive",
                Status::Completed,
                Dialogue {
                    greeting: Some(reply(220, "x")),
                    first: Leg {
                        hello: Some(Hello {
                            ehlo: reply(500, "no"),
                            helo: Some(reply(501, "no")),
                        }),
                        ..Leg::default()
                    },
                    ..Dialogue::default()
                },
                Some(Verdict::Inconclusive),
                &[],
            ),
        ];
        for (name, status, dialogue, verdict, open) in cases {
            let c = classify(status, &dialogue);
            assert_eq!(c.verdict, verdict, "{name}: {:?}", c.reason);
            assert_eq!(c.open_tests, open, "{name}");
            assert_eq!(
                c.reason.is_some(),
                verdict.is_some(),
                "{name}: every verdict has a reason"
            );
        }
    }

    #[test]
    fn accepted_control_flags_a_possible_sink() {
        let mut d = greeted(vec![attempt(1, OK, OK)]);
        let c = classify(Status::Completed, &d);
        assert!(!c.accepts_any_recipient);
        d.first.control = Some(attempt(0, OK, OK));
        let c = classify(Status::Completed, &d);
        assert_eq!(c.verdict, Some(Verdict::OpenRelay));
        assert!(c.accepts_any_recipient);
        assert!(c.reason.unwrap().contains("accept-all"));
        d.first.control = Some(attempt(0, OK, Some((550, "5.1.2 Domain not found"))));
        assert!(!classify(Status::Completed, &d).accepts_any_recipient);
    }

    /// A dialogue whose plaintext EHLO advertised STARTTLS, with plaintext tests
    /// `plain`, the STARTTLS reply `starttls` and, when given, tests over TLS.
    fn with_tls(
        plain: Vec<RelayAttempt>,
        starttls: Option<(u16, &str)>,
        over_tls: Option<Vec<RelayAttempt>>,
    ) -> Dialogue {
        let ehlo = Reply {
            code: 250,
            enhanced: None,
            lines: vec!["mx.example.net".into(), "STARTTLS".into()],
        };
        let mut d = greeted(plain);
        d.first.capabilities = crate::smtp::Capabilities::from_ehlo(&ehlo);
        d.first.hello = Some(Hello { ehlo, helo: None });
        d.starttls = starttls.map(|(c, t)| reply(c, t));
        d.after_starttls = over_tls.map(|attempts| leg(Channel::Starttls, attempts));
        d
    }

    const MUST_STARTTLS: Option<(u16, &str)> =
        Some((530, "5.7.0 Must issue a STARTTLS command first"));
    const GO: Option<(u16, &str)> = Some((220, "2.0.0 Ready to start TLS"));
    /// OpenSMTPD 6.8's answer to MAIL on a listener with `auth`.
    const MUST_AUTH: Option<(u16, &str)> = Some((
        530,
        "5.5.1 Invalid command: Must issue an AUTH command first",
    ));

    /// name, dialogue, verdict, open tests, words the reason must hold.
    type TlsCase = (
        &'static str,
        Dialogue,
        Verdict,
        &'static [u8],
        &'static [&'static str],
    );

    #[test]
    fn tls_verdicts() {
        let cases: Vec<TlsCase> = vec![
            (
                "open only after STARTTLS, refused before",
                with_tls(
                    vec![attempt(1, MUST_STARTTLS, None)],
                    GO,
                    Some(vec![attempt(1, OK, OK), attempt(2, OK, DENIED)]),
                ),
                Verdict::OpenRelay,
                &[1],
                &["after STARTTLS", "in plaintext it refused", "530"],
            ),
            (
                "open over TLS when the tests ran there only",
                with_tls(vec![], GO, Some(vec![attempt(3, OK, OK)])),
                Verdict::OpenRelay,
                &[3],
                &["relayed 1 of 1 tests after STARTTLS"],
            ),
            (
                "open in plaintext speaks first",
                with_tls(
                    vec![attempt(2, OK, OK)],
                    GO,
                    Some(vec![attempt(1, OK, OK), attempt(2, OK, OK)]),
                ),
                Verdict::OpenRelay,
                &[1, 2],
                &["relayed 1 of 1 tests; first test 2"],
            ),
            (
                "530 asking for STARTTLS, denied over TLS",
                with_tls(
                    vec![attempt(1, MUST_STARTTLS, None)],
                    GO,
                    Some(vec![attempt(1, OK, DENIED)]),
                ),
                Verdict::RelayDenied,
                &[],
                &["after STARTTLS", "554"],
            ),
            (
                "530 asking for STARTTLS, auth required over TLS",
                with_tls(
                    vec![attempt(1, MUST_STARTTLS, None)],
                    GO,
                    Some(vec![attempt(1, OK, AUTH)]),
                ),
                Verdict::AuthRequired,
                &[],
                &["(530) after STARTTLS"],
            ),
            (
                "530 asking for STARTTLS, never tried",
                with_tls(vec![attempt(1, MUST_STARTTLS, None)], None, None),
                Verdict::Inconclusive,
                &[],
                &["asks for STARTTLS", "STARTTLS was not tried"],
            ),
            (
                "530 asking for STARTTLS, STARTTLS refused",
                with_tls(
                    vec![attempt(1, OK, MUST_STARTTLS)],
                    Some((454, "4.7.0 TLS not available")),
                    None,
                ),
                Verdict::Inconclusive,
                &[],
                &["STARTTLS was refused: 454"],
            ),
            (
                "530 asking for STARTTLS, handshake failed",
                with_tls(vec![attempt(1, OK, MUST_STARTTLS)], GO, None),
                Verdict::Inconclusive,
                &[],
                &["the TLS handshake failed"],
            ),
            (
                "530 naming STARTTLS from a server that does not offer it",
                greeted(vec![attempt(1, MUST_STARTTLS, None)]),
                Verdict::Inconclusive,
                &[],
                &["asks for STARTTLS", "STARTTLS was not tried"],
            ),
            (
                "OpenSMTPD: 530 naming AUTH, STARTTLS offered, handshake failed",
                with_tls(vec![attempt(1, MUST_AUTH, None)], GO, None),
                Verdict::AuthRequired,
                &[],
                &[
                    "relaying needs authentication (530)",
                    "530 5.5.1 Invalid command: Must issue an AUTH command first",
                ],
            ),
            (
                "530 naming AUTH, STARTTLS offered, never tried",
                with_tls(vec![attempt(1, OK, AUTH)], None, None),
                Verdict::AuthRequired,
                &[],
                &["530 5.7.0 Authentication required"],
            ),
            (
                "530 naming neither, STARTTLS offered, handshake failed",
                with_tls(
                    vec![attempt(1, OK, Some((530, "5.7.0 Access denied")))],
                    GO,
                    None,
                ),
                Verdict::Inconclusive,
                &[],
                &["asks for STARTTLS", "the TLS handshake failed"],
            ),
            (
                "a 554 5.7.0 from a server that offers STARTTLS asks for it too",
                with_tls(
                    vec![attempt(1, OK, Some((554, "5.7.0 Encryption required")))],
                    None,
                    None,
                ),
                Verdict::Inconclusive,
                &[],
                &["asks for STARTTLS"],
            ),
        ];
        for (name, mut d, verdict, open, words) in cases {
            // The parser fills `enhanced`; the table writes it in the text.
            for a in d.first.attempts.iter_mut() {
                for r in [&mut a.mail, &mut a.rcpt].into_iter().flatten() {
                    r.enhanced = r
                        .lines
                        .first()
                        .and_then(|l| l.split(' ').next())
                        .and_then(|t| EnhancedCode::try_from(t.to_string()).ok());
                }
            }
            let c = classify(Status::Completed, &d);
            assert_eq!(c.verdict, Some(verdict), "{name}: {:?}", c.reason);
            assert_eq!(c.open_tests, open, "{name}");
            let reason = c.reason.unwrap_or_default();
            for w in words {
                assert!(reason.contains(w), "{name}: {w:?} not in {reason:?}");
            }
        }
        // Without STARTTLS on offer, 530 is what it always was.
        let c = classify(Status::Completed, &greeted(vec![attempt(1, OK, AUTH)]));
        assert_eq!(c.verdict, Some(Verdict::AuthRequired));
    }

    #[test]
    fn a_sink_over_tls_is_flagged_too() {
        let mut d = with_tls(vec![], GO, Some(vec![attempt(1, OK, OK)]));
        if let Some(after) = d.after_starttls.as_mut() {
            after.control = Some(attempt(0, OK, OK));
        }
        let c = classify(Status::Completed, &d);
        assert!(c.accepts_any_recipient);
    }

    #[test]
    fn reasons_quote_the_decisive_reply() {
        let d = greeted(vec![attempt(7, OK, DENIED)]);
        let reason = classify(Status::Completed, &d).reason.unwrap();
        assert!(reason.contains("test 7"), "{reason}");
        assert!(reason.contains("554"), "{reason}");
    }

    #[test]
    fn replies_out_of_step_are_never_an_open_relay() {
        // Every test "accepted": the 250s were MAIL's, read as RCPT's after a stray line.
        let mut d = greeted((1..=16).map(|id| attempt(id, OK, OK)).collect());
        d.interruption = Some(Interruption {
            status: Status::ProtocolError,
            step: "test 2 RSET".into(),
            detail: "replies out of step with our commands: \"554 5.7.1 Relay access denied\" cannot answer RSET".into(),
            desync: true,
        });
        let c = classify(Status::ProtocolError, &d);
        assert_eq!(c.verdict, Some(Verdict::Inconclusive), "{:?}", c.reason);
        assert!(c.open_tests.is_empty() && !c.accepts_any_recipient);
        let reason = c.reason.unwrap_or_default();
        assert!(
            reason.contains("out of step") && reason.contains("test 2 RSET"),
            "{reason}"
        );
        // Out of step before any greeting is no proof of "not SMTP" either.
        let early = Dialogue {
            interruption: d.interruption.clone(),
            ..Dialogue::default()
        };
        assert_eq!(
            classify(Status::ProtocolError, &early).verdict,
            Some(Verdict::Inconclusive)
        );
    }

    #[test]
    fn a_rerun_is_judged_and_says_so() {
        let mut d = greeted(vec![attempt(1, OK, DENIED), attempt(2, OK, DENIED)]);
        d.rerun_after = Some(Interruption {
            status: Status::ProtocolError,
            step: "test 2 RSET".into(),
            detail: "replies out of step".into(),
            desync: true,
        });
        let c = classify(Status::Completed, &d);
        assert_eq!(c.verdict, Some(Verdict::RelayDenied));
        let reason = c.reason.unwrap_or_default();
        assert!(
            reason.contains("rerun one command at a time") && reason.contains("test 2 RSET"),
            "{reason}"
        );
    }

    #[test]
    fn an_ambiguous_attempt_decides_nothing() {
        let mut shaky = attempt(1, OK, OK);
        shaky.ambiguous = true;
        let d = greeted(vec![shaky, attempt(2, OK, DENIED)]);
        let c = classify(Status::Completed, &d);
        assert_eq!(c.verdict, Some(Verdict::Inconclusive), "{:?}", c.reason);
        assert!(c.open_tests.is_empty());
    }
}
