//! Sendmail's log lines: `from=` (with the client in `relay=`), `to=... stat=`, `ruleset=check_rcpt ... Relaying denied`, `AUTH=server` and `AUTH failure`, ratecontrol's refusals.
//!
//! Formats, with their sources: "Sendmail Installation and Operation Guide" (doc/op/op.me,
//! section "The System Log"), the `_FFR`-free log calls of sendmail/deliver.c (`to=`,
//! `stat=`), srvrsmtp.c (`AUTH=server, relay=..., authid=..., mech=..., bits=...`, `AUTH
//! failure`) and parseaddr.c/srvrsmtp.c (`ruleset=check_rcpt, arg1=..., relay=...,
//! reject=550 5.7.1 ... Relaying denied`); the fixture tests/fixtures/logs/sendmail.log
//! is built from these. Lines marked "test bed" below are copied from the sealed test
//! bed's Sendmail 8.17.1.9 (tests/mta/mta-instance.sh logs it through a private syslog).

use super::event::{Delivery, Event, Parsed, after_key, angle, bracketed_ip, field, split_pair};

/// `sendmail`, `sm-mta` (Debian's MTA daemon) and `sm-msp-queue` (the submission queue).
pub fn is_program(program: &str) -> bool {
    matches!(program, "sendmail" | "sm-mta" | "sm-msp-queue")
}

/// Reads one Sendmail message (the text after `sm-mta[PID]: `).
pub fn parse(message: &str) -> Parsed<'_> {
    let Some((id, rest)) = queue_id(message) else {
        return auth_failure(message).map_or_else(|| known(message), Parsed::Event);
    };
    if let Some(from) = rest.strip_prefix("from=") {
        // A transaction that ended with no recipient accepted (every RCPT refused, or
        // QUIT before DATA) is logged with `nrcpts=0`: nothing entered the queue.
        let recipients = field(rest, "nrcpts").and_then(|n| n.parse::<u32>().ok());
        if recipients == Some(0) {
            return Parsed::Known;
        }
        let sender = angle(from).map_or_else(|| field(rest, "from").unwrap_or(""), |a| a.0);
        return Parsed::Event(Event::Received {
            id,
            client: relay_ip(rest),
            sender: Some(sender),
            user: None,
            recipients,
        });
    }
    if let Some(to) = rest.strip_prefix("to=") {
        let Some(status) = stat(rest) else {
            return Parsed::Known;
        };
        // `to=<a@b>,<c@d>, ...`: recipients delivered together share one line; the list
        // goes on whole (event::recipients splits it).
        let rcpt = to.split(", ").next().unwrap_or(to);
        return Parsed::Event(Event::Delivered { id, rcpt, status });
    }
    // `Relaying denied`, or `Relaying temporarily denied. Cannot resolve PTR record for
    // ...` (450 4.4.0, when the client's reverse lookup fails: seen in the test bed).
    let relaying_denied =
        rest.contains("Relaying denied") || rest.contains("Relaying temporarily denied");
    if rest.starts_with("ruleset=check_rcpt") && relaying_denied {
        let Some(client) = relay_ip(rest) else {
            return Parsed::Known;
        };
        let rcpt = field(rest, "arg1").map_or("", |a| angle(a).map_or(a, |x| x.0));
        return Parsed::Event(Event::RelayRefused {
            client,
            sender: None,
            rcpt,
        });
    }
    if rest.starts_with("ruleset=check_relay") && rest.contains("rate limit exceeded") {
        return Parsed::Event(Event::Throttled {
            client: relay_ip(rest),
        });
    }
    if let Some(auth) = rest.strip_prefix("AUTH=server, ") {
        return match field(auth, "authid") {
            Some(user) => Parsed::Event(Event::Authenticated { id, user }),
            None => Parsed::Known,
        };
    }
    auth_failure(rest).map_or(Parsed::Known, Parsed::Event)
}

/// `AUTH failure (LOGIN): authentication failure (-13) SASL(-13): ...: checkpass failed,
/// user=bob, relay=host [ip]`
fn auth_failure(message: &str) -> Option<Event<'_>> {
    if !message.starts_with("AUTH failure") {
        return None;
    }
    Some(Event::AuthFailed {
        client: relay_ip(message)?,
        user: field(message, "user"),
    })
}

/// Lines of Sendmail without a queue id that tell nothing about relaying.
fn known(message: &str) -> Parsed<'_> {
    const KNOWN: [&str; 4] = [
        "starting daemon",
        "STARTTLS=",
        "rejecting connections",
        "alias database",
    ];
    if KNOWN.iter().any(|k| message.starts_with(k)) {
        Parsed::Known
    } else {
        Parsed::Foreign
    }
}

/// A Sendmail queue id (`2B7DAQ6f012345`: 14 letters and digits since 8.12; 8 and more
/// accepted) and the rest of the message.
fn queue_id(message: &str) -> Option<(&str, &str)> {
    let (id, rest) = split_pair(message, ": ")?;
    let ok = id.len() >= 8 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some((id, rest))
}

/// The address in `relay=host [ip]` (a local submission, `relay=root@localhost`, has none).
fn relay_ip(s: &str) -> Option<std::net::IpAddr> {
    let value = after_key(s, "relay")?;
    let end = value.find(", ").unwrap_or(value.len());
    bracketed_ip(&value[..end])
}

/// `stat=Sent (...)`, `stat=Deferred: ...`; any other final status is a bounce.
fn stat(s: &str) -> Option<Delivery> {
    let value = after_key(s, "stat")?;
    Some(if value.starts_with("Sent") {
        Delivery::Sent
    } else if value.starts_with("Deferred") || value.starts_with("queued") {
        Delivery::Deferred
    } else {
        Delivery::Bounced
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::event::testing::{check, ip};

    #[test]
    fn events_table() {
        let table: Vec<(&str, Parsed<'_>)> = vec![
            (
                "2B7DAQ6f012345: from=<spam@example.net>, size=1544, class=0, nrcpts=1, msgid=<x@example.net>, proto=ESMTP, daemon=MTA, relay=client.example.net [192.0.2.10]",
                Parsed::Event(Event::Received {
                    id: "2B7DAQ6f012345",
                    client: Some(ip("192.0.2.10")),
                    sender: Some("spam@example.net"),
                    user: None,
                    recipients: Some(1),
                }),
            ),
            (
                "2B7DAQ6f012346: from=root, size=300, class=0, nrcpts=1, msgid=<y@mx>, relay=root@localhost",
                Parsed::Event(Event::Received {
                    id: "2B7DAQ6f012346",
                    client: None,
                    sender: Some("root"),
                    user: None,
                    recipients: Some(1),
                }),
            ),
            (
                "2B7DAQ6f012345: to=<victim@example.org>, delay=00:00:02, xdelay=00:00:01, mailer=esmtp, pri=121544, relay=mx.example.org. [198.51.100.2], dsn=2.0.0, stat=Sent (Ok: queued as 4F2)",
                Parsed::Event(Event::Delivered {
                    id: "2B7DAQ6f012345",
                    rcpt: "<victim@example.org>",
                    status: Delivery::Sent,
                }),
            ),
            (
                "2B7DAQ6f012345: to=<victim@example.org>,<second@example.org>, delay=00:00:02, mailer=esmtp, pri=121544, relay=mx.example.org., dsn=4.0.0, stat=Deferred: Connection refused by mx.example.org.",
                Parsed::Event(Event::Delivered {
                    id: "2B7DAQ6f012345",
                    rcpt: "<victim@example.org>,<second@example.org>",
                    status: Delivery::Deferred,
                }),
            ),
            (
                "2B7DAQ6f012347: ruleset=check_rcpt, arg1=<victim@example.org>, relay=[192.0.2.11], reject=550 5.7.1 <victim@example.org>... Relaying denied",
                Parsed::Event(Event::RelayRefused {
                    client: ip("192.0.2.11"),
                    sender: None,
                    rcpt: "victim@example.org",
                }),
            ),
            (
                "2B7DAQ6f012348: AUTH=server, relay=client.example.net [192.0.2.12], authid=bob, mech=PLAIN, bits=0",
                Parsed::Event(Event::Authenticated {
                    id: "2B7DAQ6f012348",
                    user: "bob",
                }),
            ),
            (
                "2B7DAQ6f012349: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=mallory, relay=[192.0.2.13]",
                Parsed::Event(Event::AuthFailed {
                    client: ip("192.0.2.13"),
                    user: Some("mallory"),
                }),
            ),
            (
                "2B7DAQ6f012350: ruleset=check_relay, arg1=[192.0.2.14], arg2=192.0.2.14, relay=[192.0.2.14], reject=421 4.3.2 Connection rate limit exceeded.",
                Parsed::Event(Event::Throttled {
                    client: Some(ip("192.0.2.14")),
                }),
            ),
            (
                "starting daemon (8.17.1.9): SMTP+queueing@00:10:00",
                Parsed::Known,
            ),
            // Test bed: a refused attempt, then the transaction's from= with nothing queued.
            (
                "6B78LxlD000070: ruleset=check_rcpt, arg1=<x@far.invalid>, relay=localhost [127.0.0.1], reject=550 5.7.1 <x@far.invalid>... Relaying denied",
                Parsed::Event(Event::RelayRefused {
                    client: ip("127.0.0.1"),
                    sender: None,
                    rcpt: "x@far.invalid",
                }),
            ),
            (
                "6B78LxlD000070: from=<a@sender.invalid>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=localhost [127.0.0.1]",
                Parsed::Known,
            ),
            (
                "6B78UppA000070: ruleset=check_rcpt, arg1=<attempt@far.invalid>, relay=[127.10.1.1], reject=450 4.4.0 <attempt@far.invalid>... Relaying temporarily denied. Cannot resolve PTR record for 127.10.1.1",
                Parsed::Event(Event::RelayRefused {
                    client: ip("127.10.1.1"),
                    sender: None,
                    rcpt: "attempt@far.invalid",
                }),
            ),
            (
                "6B78LxSb000069: localhost [127.0.0.1] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA-v4",
                Parsed::Known,
            ),
            ("connect from localhost[127.0.0.1]", Parsed::Foreign),
        ];
        check(parse, &table);
        assert!(is_program("sm-mta"));
        assert!(!is_program("postfix/smtpd"));
    }
}
