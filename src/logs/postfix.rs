//! Postfix's log lines: smtpd's `client=` and refusals, qmgr's `from=` and `removed`, the delivery agents' `to=... status=`, SASL failures, anvil and postscreen limits.
//!
//! Formats, with their sources: Postfix's own documentation (smtpd(8), qmgr(8), smtp(8),
//! postscreen(8), anvil(8); "Postfix Debugging Howto" and "Postfix SMTP relay and access
//! control" give the reject line), and lines copied from the test bed's Postfix 3.7
//! (tests/mta/postfix-instance.sh), which the table tests below quote.

use super::event::{Delivery, Event, Parsed, angle, bracketed_ip, field, split_pair};

/// Whether `program` is one of Postfix's (`postfix/smtpd`, a second instance's
/// `postfix-out/smtp`).
pub fn is_program(program: &str) -> bool {
    program.starts_with("postfix")
}

/// Reads one Postfix message (the text after `postfix/smtpd[PID]: `).
pub fn parse(message: &str) -> Parsed<'_> {
    if let Some(rest) = message.strip_prefix("NOQUEUE: ") {
        return refusal(rest).map_or(Parsed::Known, Parsed::Event);
    }
    if let Some(rest) = message.strip_prefix("warning: ") {
        return warning(rest).map_or(Parsed::Known, Parsed::Event);
    }
    if let Some((id, rest)) = queue_id(message) {
        return queued(id, rest).map_or(Parsed::Known, Parsed::Event);
    }
    if postscreen_drop(message) {
        return Parsed::Event(Event::Throttled {
            client: bracketed_ip(message),
        });
    }
    const KNOWN: [&str; 8] = [
        "connect from ",
        "disconnect from ",
        "lost connection ",
        "timeout after ",
        "statistics: ",
        "CONNECT from ",
        "PASS ",
        "daemon started",
    ];
    if KNOWN.iter().any(|k| message.starts_with(k)) {
        Parsed::Known
    } else {
        Parsed::Foreign
    }
}

/// `QUEUEID: rest`: a short queue id is 6 or more upper-case hex digits (`B3CC99A8335`); a
/// long one (`enable_long_queue_ids`) is 12 or more letters and digits with at least one
/// digit (`4Fq1xS0y2Vz9sKb`), so that `kernel: ...` or `warning: ...` is never an id.
fn queue_id(message: &str) -> Option<(&str, &str)> {
    let (id, rest) = split_pair(message, ": ")?;
    let b = id.as_bytes();
    let short = b.len() >= 6
        && b.iter()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c));
    let long = b.len() >= 12
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b.iter().any(u8::is_ascii_digit);
    (short || long).then_some((id, rest))
}

fn queued<'a>(id: &'a str, rest: &'a str) -> Option<Event<'a>> {
    if let Some(client) = rest.strip_prefix("client=") {
        // `client=host[ip], sasl_method=LOGIN, sasl_username=bob`
        let ip = bracketed_ip(client.split(',').next()?)?;
        return Some(Event::Received {
            id,
            client: Some(ip),
            sender: None,
            user: field(client, "sasl_username"),
            recipients: None,
        });
    }
    if let Some(from) = rest.strip_prefix("from=") {
        // qmgr: `from=<a@b>, size=365, nrcpt=1 (queue active)`
        return Some(Event::Sender {
            id,
            sender: angle(from)?.0,
        });
    }
    if let Some(to) = rest.strip_prefix("to=") {
        let rcpt = angle(to)?.0;
        let status = match field(to, "status")? {
            "sent" => Delivery::Sent,
            "deferred" => Delivery::Deferred,
            _ => Delivery::Bounced,
        };
        return Some(Event::Delivered { id, rcpt, status });
    }
    if rest == "removed" {
        return Some(Event::Done { id });
    }
    if rest.starts_with("reject: ") {
        return refusal(rest);
    }
    None
}

/// `reject: RCPT from host[ip]: 554 5.7.1 <rcpt>: Relay access denied; from=<s> to=<r> ...`
/// (`defer_unauth_destination` answers 454 4.7.1 with the same text).
fn refusal(rest: &str) -> Option<Event<'_>> {
    let rest = rest.strip_prefix("reject: ")?;
    let rest = rest.strip_prefix("RCPT from ")?;
    let (_, reason) = split_pair(rest, "]: ")?;
    let (_, text) = split_pair(reason, ">: ")?;
    if !text.starts_with("Relay access denied") {
        return None;
    }
    let client = bracketed_ip(rest)?;
    let sender = field(text, "from").and_then(|f| Some(angle(f)?.0));
    let rcpt = angle(field(text, "to")?)?.0;
    Some(Event::RelayRefused {
        client,
        sender,
        rcpt,
    })
}

/// smtpd's warnings: SASL failures and anvil's limits.
fn warning(rest: &str) -> Option<Event<'_>> {
    // `host[ip]: SASL LOGIN authentication failed: authentication failure, sasl_username=bob`
    if let Some((who, what)) = rest.split_once(": SASL ")
        && what.contains("authentication failed")
    {
        return Some(Event::AuthFailed {
            client: bracketed_ip(who)?,
            user: field(what, "sasl_username"),
        });
    }
    // `Connection rate limit exceeded: 31 from host[ip] for service smtp` and the message,
    // recipient, newtls and concurrency limits (smtpd_client_*_limit, anvil(8)).
    if rest.contains(" limit exceeded: ") {
        return Some(Event::Throttled {
            client: bracketed_ip(rest),
        });
    }
    None
}

/// postscreen's drops and refusals: `PREGREET 11 after 0.1 from [ip]:port`, `DNSBL rank 3
/// for [ip]:port`, `COMMAND PIPELINING from [ip]:port`, `BARE NEWLINE from [ip]:port`.
fn postscreen_drop(message: &str) -> bool {
    [
        "PREGREET ",
        "DNSBL rank ",
        "COMMAND PIPELINING ",
        "BARE NEWLINE ",
        "NON-SMTP COMMAND ",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::event::testing::{check, ip};

    #[test]
    fn events_table() {
        let lo = Some(ip("127.0.0.1"));
        // Lines copied from the test bed's Postfix 3.7 log, then Postfix's documented ones.
        let table: Vec<(&str, Parsed<'_>)> = vec![
            (
                "B3CC99A8335: client=localhost[127.0.0.1]",
                Parsed::Event(Event::Received {
                    id: "B3CC99A8335",
                    client: lo,
                    sender: None,
                    user: None,
                    recipients: None,
                }),
            ),
            (
                "4Fq1xS0y2Vz9sKb: client=mail.example.com[192.0.2.7], sasl_method=PLAIN, sasl_username=bob@example.com",
                Parsed::Event(Event::Received {
                    id: "4Fq1xS0y2Vz9sKb",
                    client: Some(ip("192.0.2.7")),
                    sender: None,
                    user: Some("bob@example.com"),
                    recipients: None,
                }),
            ),
            (
                "B3CC99A8335: from=<a@sender.test>, size=365, nrcpt=1 (queue active)",
                Parsed::Event(Event::Sender {
                    id: "B3CC99A8335",
                    sender: "a@sender.test",
                }),
            ),
            (
                "B3CC99A8335: to=<bob@far.invalid>, relay=none, delay=0.03, delays=0.02/0.01/0/0, dsn=2.0.0, status=sent (far.invalid)",
                Parsed::Event(Event::Delivered {
                    id: "B3CC99A8335",
                    rcpt: "bob@far.invalid",
                    status: Delivery::Sent,
                }),
            ),
            (
                "3F2A1B: to=<x@example.org>, orig_to=<y@example.org>, relay=mx.example.org[198.51.100.2]:25, delay=5, delays=0/0/5/0, dsn=4.4.1, status=deferred (connect to mx.example.org[198.51.100.2]:25: Connection timed out)",
                Parsed::Event(Event::Delivered {
                    id: "3F2A1B",
                    rcpt: "x@example.org",
                    status: Delivery::Deferred,
                }),
            ),
            (
                "3F2A1B: to=<x@example.org>, relay=none, delay=0, dsn=5.4.4, status=bounced (Host or domain name not found)",
                Parsed::Event(Event::Delivered {
                    id: "3F2A1B",
                    rcpt: "x@example.org",
                    status: Delivery::Bounced,
                }),
            ),
            (
                "B3CC99A8335: removed",
                Parsed::Event(Event::Done { id: "B3CC99A8335" }),
            ),
            (
                "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <bob@far.invalid>: Relay access denied; from=<a@sender.test> to=<bob@far.invalid> proto=ESMTP helo=<vm>",
                Parsed::Event(Event::RelayRefused {
                    client: ip("127.0.0.1"),
                    sender: Some("a@sender.test"),
                    rcpt: "bob@far.invalid",
                }),
            ),
            (
                "NOQUEUE: reject: RCPT from unknown[2001:db8::5]: 454 4.7.1 <r@example.net>: Relay access denied; from=<> to=<r@example.net> proto=ESMTP helo=<x>",
                Parsed::Event(Event::RelayRefused {
                    client: ip("2001:db8::5"),
                    sender: Some(""),
                    rcpt: "r@example.net",
                }),
            ),
            // Another refusal is no relay attempt.
            (
                "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table; from=<a@b> to=<nobody@example.com> proto=ESMTP helo=<vm>",
                Parsed::Known,
            ),
            (
                "warning: localhost[127.0.0.1]: SASL LOGIN authentication failed: authentication failure, sasl_username=mallory",
                Parsed::Event(Event::AuthFailed {
                    client: ip("127.0.0.1"),
                    user: Some("mallory"),
                }),
            ),
            (
                "warning: unknown[192.0.2.9]: SASL PLAIN authentication failed: UGFzc3dvcmQ6",
                Parsed::Event(Event::AuthFailed {
                    client: ip("192.0.2.9"),
                    user: None,
                }),
            ),
            (
                "warning: Message delivery request rate limit exceeded: 101 from unknown[192.0.2.9] for service smtp",
                Parsed::Event(Event::Throttled {
                    client: Some(ip("192.0.2.9")),
                }),
            ),
            (
                "PREGREET 11 after 0.08 from [192.0.2.4]:41234: EHLO x\\r\\n",
                Parsed::Event(Event::Throttled {
                    client: Some(ip("192.0.2.4")),
                }),
            ),
            ("connect from localhost[127.0.0.1]", Parsed::Known),
            (
                "B3CC99A8335: message-id=<20261207051312.001996@vm>",
                Parsed::Known,
            ),
            (
                "warning: /tmp/x/main.cf, line 35: overriding",
                Parsed::Known,
            ),
            ("kernel: eth0 link up", Parsed::Foreign),
        ];
        check(parse, &table);
    }

    #[test]
    fn programs() {
        assert!(is_program("postfix/smtpd"));
        assert!(is_program("postfix-out/smtp"));
        assert!(!is_program("sm-mta"));
    }
}
