//! The verdict: a pure function of a dialogue's facts, with the decisive reason.
//!
//! Decided by reply codes only, never by reply text (nmap's "530 anywhere in the text"
//! mistake). A 4xx never makes a server "closed": greylisting defers, it does not refuse.

use super::tls_policy::asks_for_starttls;
use super::{Dialogue, RelayAttempt, Status, Verdict};
use crate::smtp::Reply;

/// What [`classify`] concluded, ready to copy into an Outcome.
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
}

/// How one relay attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttemptResult<'a> {
    /// MAIL 2xx and RCPT 2xx: the server took the envelope.
    Accepted(&'a Reply),
    /// MAIL or RCPT refused with 4xx.
    Deferred(&'a Reply),
    /// MAIL or RCPT refused with 5xx.
    Refused(&'a Reply),
    /// The dialogue ended before this attempt got its answers.
    Unanswered,
}

fn attempt_result(a: &RelayAttempt) -> AttemptResult<'_> {
    match (&a.mail, &a.rcpt) {
        (Some(mail), _) if !mail.is_positive() => refusal(mail),
        (Some(_), Some(rcpt)) if rcpt.is_positive() => AttemptResult::Accepted(rcpt),
        (Some(_), Some(rcpt)) => refusal(rcpt),
        _ => AttemptResult::Unanswered,
    }
}

fn refusal(reply: &Reply) -> AttemptResult<'_> {
    if reply.is_transient() {
        AttemptResult::Deferred(reply)
    } else if reply.is_permanent() {
        AttemptResult::Refused(reply)
    } else {
        // 1xx/3xx to MAIL or RCPT is a protocol violation: it took nothing, refused nothing.
        AttemptResult::Unanswered
    }
}

fn describe(a: &RelayAttempt, reply: &Reply) -> String {
    let name = if a.id == 0 {
        "control".to_string()
    } else {
        format!("test {}", a.id)
    };
    format!(
        "{name} (MAIL FROM:{} RCPT TO:{}): {}",
        a.mail_from,
        a.rcpt_to,
        reply.summary()
    )
}

/// Classifies one probe. `status` is how far the probe got; `None` verdict for endpoints
/// that never answered (refused, timed out, unresolved).
pub fn classify(status: Status, d: &Dialogue) -> Classification {
    if !status.answered() {
        return Classification {
            verdict: None,
            reason: None,
            open_tests: Vec::new(),
            accepts_any_recipient: false,
        };
    }
    let interruption = d.interruption.as_ref();
    let Some(greeting) = &d.greeting else {
        return match interruption {
            Some(i) if i.status == Status::ProtocolError => Classification::new(
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
    if !greeting.is_positive() {
        return Classification::new(
            Verdict::Inconclusive,
            format!(
                "the server turned us away at connect: {}",
                greeting.summary()
            ),
        );
    }

    let tls_leg: &[RelayAttempt] = d.after_tls.as_ref().map_or(&[], |a| a.attempts.as_slice());
    if let Some(open) = open_relay(d, tls_leg) {
        return open;
    }

    // "530 Must issue a STARTTLS command first" is not "authentication required": the
    // tests over TLS decide, and without them there is no conclusion.
    let asked = d.attempts.iter().find_map(|a| {
        let reply = match attempt_result(a) {
            AttemptResult::Refused(r) => r,
            _ => return None,
        };
        asks_for_starttls(reply, &d.capabilities).then_some((a, reply))
    });
    let (judged, leg): (Vec<&RelayAttempt>, &str) = match asked {
        Some(_) if !tls_leg.is_empty() => (tls_leg.iter().collect(), " after STARTTLS"),
        Some((a, reply)) => {
            return Classification::new(
                Verdict::Inconclusive,
                format!(
                    "the server asks for STARTTLS before relaying, and the tests did not run over TLS ({}); {}",
                    no_tls_because(d),
                    describe(a, reply)
                ),
            );
        }
        None if d.attempts.is_empty() && !tls_leg.is_empty() => {
            (tls_leg.iter().collect(), " after STARTTLS")
        }
        None => (d.attempts.iter().chain(tls_leg).collect(), ""),
    };
    let results: Vec<(&RelayAttempt, AttemptResult<'_>)> =
        judged.iter().map(|a| (*a, attempt_result(a))).collect();
    let total = results.len();

    if let Some((a, AttemptResult::Deferred(reply))) = results
        .iter()
        .find(|(_, r)| matches!(r, AttemptResult::Deferred(_)))
    {
        let deferred = results
            .iter()
            .filter(|(_, r)| matches!(r, AttemptResult::Deferred(_)))
            .count();
        return Classification::new(
            Verdict::Inconclusive,
            format!(
                "{deferred} of {total} tests deferred with 4xx{leg} (greylisting or a temporary policy), so relaying is neither proven nor refused; first {}",
                describe(a, reply)
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
            .helo
            .as_ref()
            .or(d.ehlo.as_ref())
            .filter(|r| !r.is_positive())
            .map(|r| format!(": the server refused EHLO and HELO ({})", r.summary()))
            .unwrap_or_default();
        return Classification::new(
            Verdict::Inconclusive,
            format!("no relay test could be completed{why}"),
        );
    }

    // Every test was refused permanently. 530 (by code) means "authenticate first".
    let refusals = results.iter().filter_map(|(a, r)| match r {
        AttemptResult::Refused(reply) => Some((*a, *reply)),
        _ => None,
    });
    let mut first_refusal = None;
    let mut first_530 = None;
    for (a, reply) in refusals {
        first_refusal.get_or_insert((a, reply));
        if reply.code == 530 {
            first_530.get_or_insert((a, reply));
        }
    }
    match (first_530, first_refusal) {
        (Some((a, reply)), _) => Classification::new(
            Verdict::AuthRequired,
            format!(
                "relaying needs authentication (530){leg}; {}",
                describe(a, reply)
            ),
        ),
        (None, Some((a, reply))) => Classification::new(
            Verdict::RelayDenied,
            format!(
                "all {total} tests refused permanently{leg}; first {}",
                describe(a, reply)
            ),
        ),
        (None, None) => Classification::new(
            Verdict::Inconclusive,
            "no relay test could be completed".into(),
        ),
    }
}

/// The open-relay verdict, when a test relayed in plaintext or after STARTTLS. The
/// plaintext leg speaks first: a server open to anyone is worse than one open over TLS.
fn open_relay(d: &Dialogue, tls_leg: &[RelayAttempt]) -> Option<Classification> {
    let accepted = |a: &RelayAttempt| matches!(attempt_result(a), AttemptResult::Accepted(_));
    let mut open_tests: Vec<u8> = d
        .attempts
        .iter()
        .chain(tls_leg)
        .filter(|a| accepted(a))
        .map(|a| a.id)
        .collect();
    open_tests.sort_unstable();
    open_tests.dedup();
    let (leg, attempts, label) = if d.attempts.iter().any(accepted) {
        ("", d.attempts.as_slice(), "")
    } else if tls_leg.iter().any(accepted) {
        ("tls", tls_leg, " after STARTTLS")
    } else {
        return None;
    };
    let first = attempts.iter().find(|a| accepted(a))?;
    let AttemptResult::Accepted(reply) = attempt_result(first) else {
        return None;
    };
    let controls = [
        d.control.as_ref(),
        d.after_tls.as_ref().and_then(|a| a.control.as_ref()),
    ];
    let accepts_any_recipient = controls
        .into_iter()
        .flatten()
        .any(|c| matches!(attempt_result(c), AttemptResult::Accepted(_)));
    let mut reason = format!(
        "relayed {} of {} tests{label}; first {}",
        attempts.iter().filter(|a| accepted(a)).count(),
        attempts.len(),
        describe(first, reply)
    );
    if leg == "tls"
        && let Some((a, refused)) = d.attempts.iter().find_map(|a| match attempt_result(a) {
            AttemptResult::Refused(r) | AttemptResult::Deferred(r) => Some((a, r)),
            _ => None,
        })
    {
        reason.push_str(&format!(
            "; in plaintext it refused: {}",
            describe(a, refused)
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
    match (&d.starttls, &d.after_tls) {
        (None, _) => "STARTTLS was not tried".into(),
        (Some(r), _) if r.code != 220 => format!("STARTTLS was refused: {}", r.summary()),
        (Some(_), None) => "the TLS handshake failed".into(),
        (Some(_), Some(_)) => "the dialogue over TLS ended before them".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AfterTls, Interruption};
    use crate::smtp::EnhancedCode;

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.to_string()],
        }
    }

    fn attempt(id: u8, mail: Option<(u16, &str)>, rcpt: Option<(u16, &str)>) -> RelayAttempt {
        RelayAttempt {
            id,
            mail_from: "<a@example.org>".into(),
            rcpt_to: "<b@example.com>".into(),
            rset: Some(reply(250, "2.0.0 Ok")),
            mail: mail.map(|(c, t)| reply(c, t)),
            rcpt: rcpt.map(|(c, t)| reply(c, t)),
        }
    }

    fn greeted(attempts: Vec<RelayAttempt>) -> Dialogue {
        Dialogue {
            greeting: Some(reply(220, "mx.example.net ESMTP")),
            ehlo: Some(reply(250, "mx.example.net")),
            attempts,
            ..Dialogue::default()
        }
    }

    fn interrupted(mut d: Dialogue, status: Status, step: &str) -> Dialogue {
        d.interruption = Some(Interruption {
            status,
            step: step.into(),
            detail: "connection closed by server".into(),
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
                    ehlo: Some(reply(500, "no")),
                    helo: Some(reply(501, "no")),
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
        d.control = Some(attempt(0, OK, OK));
        let c = classify(Status::Completed, &d);
        assert_eq!(c.verdict, Some(Verdict::OpenRelay));
        assert!(c.accepts_any_recipient);
        assert!(c.reason.unwrap().contains("accept-all"));
        d.control = Some(attempt(0, OK, Some((550, "5.1.2 Domain not found"))));
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
        Dialogue {
            capabilities: crate::smtp::Capabilities::from_ehlo(&ehlo),
            ehlo: Some(ehlo),
            starttls: starttls.map(|(c, t)| reply(c, t)),
            after_tls: over_tls.map(|attempts| AfterTls {
                ehlo: Some(reply(250, "mx.example.net")),
                attempts,
                ..AfterTls::default()
            }),
            ..greeted(plain)
        }
    }

    const MUST_STARTTLS: Option<(u16, &str)> =
        Some((530, "5.7.0 Must issue a STARTTLS command first"));
    const GO: Option<(u16, &str)> = Some((220, "2.0.0 Ready to start TLS"));

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
                    vec![attempt(1, OK, AUTH)],
                    Some((454, "4.7.0 TLS not available")),
                    None,
                ),
                Verdict::Inconclusive,
                &[],
                &["STARTTLS was refused: 454"],
            ),
            (
                "530 asking for STARTTLS, handshake failed",
                with_tls(vec![attempt(1, OK, AUTH)], GO, None),
                Verdict::Inconclusive,
                &[],
                &["the TLS handshake failed"],
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
            for a in d.attempts.iter_mut() {
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
        if let Some(after) = d.after_tls.as_mut() {
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
}
