//! Exim's log lines: arrivals `<=` (client `H=`, authenticator `A=`), deliveries `=>`/`->`, deferrals `==`, bounces `**`, `Completed`, `rejected RCPT ... relay not permitted`, authenticator failures.
//!
//! Formats, with their source: the Exim specification, chapter "Log files" (sections "Logging
//! message reception", "Logging deliveries", "Deferred deliveries", "Delivery failures",
//! "Log line flags" and "Reducing or increasing what is logged": `H=`, `P=`, `A=`, `S=`);
//! the relay refusal is the default configuration's `acl_check_rcpt` ("relay not
//! permitted"); message ids are 6-6-2 characters before Exim 4.97 and 6-11-4 since.

use super::event::{Delivery, Event, Parsed, angle, bracketed_ip, field};

/// `exim`, `exim4` (Debian), when Exim logs to syslog.
pub fn is_program(program: &str) -> bool {
    program == "exim" || program == "exim4"
}

/// Reads one Exim message (after the mainlog's date, or after `exim[PID]: `).
pub fn parse(message: &str) -> Parsed<'_> {
    if let Some((id, rest)) = message_id(message) {
        return queued(id, rest).map_or(Parsed::Known, Parsed::Event);
    }
    if message.contains(" rejected RCPT ") {
        return refusal(message).map_or(Parsed::Known, Parsed::Event);
    }
    if let Some((_, rest)) = message.split_once(" authenticator failed for ") {
        return match bracketed_ip(rest) {
            Some(client) => Parsed::Event(Event::AuthFailed {
                client,
                user: set_id(rest),
            }),
            None => Parsed::Known,
        };
    }
    // `Connection from [ip] refused: too many connections from that IP address`
    // (smtp_accept_max_per_host) and the ratelimit ACL's own refusals.
    if message.starts_with("Connection from ") && message.contains(" refused") {
        return Parsed::Event(Event::Throttled {
            client: bracketed_ip(message),
        });
    }
    const KNOWN: [&str; 5] = [
        "SMTP connection from ",
        "no host name found for ",
        "Start queue run",
        "End queue run",
        "exim ",
    ];
    if KNOWN.iter().any(|k| message.starts_with(k)) {
        Parsed::Known
    } else {
        Parsed::Foreign
    }
}

/// An Exim message id (`1wS3Xa-000Ab1-2Z`, or `1wS3Xa-000Ab1cdEFG-2Zab` since 4.97) and the
/// rest of the line.
fn message_id(message: &str) -> Option<(&str, &str)> {
    let (id, rest) = message.split_once(' ')?;
    // The dashes' places tell the two shapes apart without splitting (this runs on every
    // line without a program name).
    let b = id.as_bytes();
    let dash = |at: &[usize]| {
        b.iter().enumerate().all(|(i, &c)| {
            if at.contains(&i) {
                c == b'-'
            } else {
                c.is_ascii_alphanumeric()
            }
        })
    };
    let shape = match b.len() {
        16 => dash(&[6, 13]),
        23 => dash(&[6, 18]),
        _ => false,
    };
    shape.then_some((id, rest))
}

fn queued<'a>(id: &'a str, rest: &'a str) -> Option<Event<'a>> {
    if let Some(arrival) = rest.strip_prefix("<= ") {
        let (sender, fields) = arrival.split_once(' ').unwrap_or((arrival, ""));
        let sender = angle(sender).map_or(sender, |a| a.0);
        let client = fields
            .find("H=")
            .filter(|&at| at == 0 || fields.as_bytes()[at - 1] == b' ')
            .and_then(|at| bracketed_ip(&fields[at..]));
        let user = field(fields, "A").map(|a| a.split_once(':').map_or(a, |(_, id)| id));
        return Some(Event::Received {
            id,
            client,
            sender: Some(sender),
            user,
            recipients: None,
        });
    }
    let status = match rest.get(..3)? {
        "=> " | "-> " | ">> " => Delivery::Sent,
        "== " => Delivery::Deferred,
        "** " => Delivery::Bounced,
        _ if rest == "Completed" => return Some(Event::Done { id }),
        _ => return None,
    };
    let rcpt = rest[3..].split(' ').next()?.trim_end_matches(':');
    let rcpt = angle(rcpt).map_or(rcpt, |a| a.0);
    Some(Event::Delivered { id, rcpt, status })
}

/// `H=(helo) [ip] F=<s> rejected RCPT <r>: relay not permitted`.
fn refusal(message: &str) -> Option<Event<'_>> {
    let (who, what) = message.split_once(" rejected RCPT ")?;
    let (rcpt, reason) = angle(what)?;
    if !reason.contains("relay not permitted") {
        return None;
    }
    let at = who.find("H=")?;
    let client = bracketed_ip(&who[at..])?;
    let sender = field(who, "F").and_then(|f| Some(angle(f)?.0));
    Some(Event::RelayRefused {
        client,
        sender,
        rcpt,
    })
}

/// `(set_id=bob)` at the end of an authenticator failure.
fn set_id(s: &str) -> Option<&str> {
    let at = s.find("(set_id=")?;
    let rest = &s[at + 8..];
    Some(&rest[..rest.find(')')?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::event::testing::{check, ip};

    #[test]
    fn events_table() {
        let table: Vec<(&str, Parsed<'_>)> = vec![
            (
                "1wS3Xa-000Ab1-2Z <= spam@example.net H=client.example.net (helo) [192.0.2.20]:41000 P=esmtp S=1544 id=x@example.net",
                Parsed::Event(Event::Received {
                    id: "1wS3Xa-000Ab1-2Z",
                    client: Some(ip("192.0.2.20")),
                    sender: Some("spam@example.net"),
                    user: None,
                    recipients: None,
                }),
            ),
            (
                "1wS3Xa-000Ab1cdEFG-2Zab <= bob@example.com H=(laptop) [2001:db8::20] P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_plain:bob S=900",
                Parsed::Event(Event::Received {
                    id: "1wS3Xa-000Ab1cdEFG-2Zab",
                    client: Some(ip("2001:db8::20")),
                    sender: Some("bob@example.com"),
                    user: Some("bob"),
                    recipients: None,
                }),
            ),
            (
                "1wS3Xb-000Ab2-3Y <= <> R=1wS3Xa-000Ab1-2Z U=Debian-exim P=local S=2000",
                Parsed::Event(Event::Received {
                    id: "1wS3Xb-000Ab2-3Y",
                    client: None,
                    sender: Some(""),
                    user: None,
                    recipients: None,
                }),
            ),
            (
                "1wS3Xa-000Ab1-2Z => victim@example.org R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.2] C=\"250 OK\"",
                Parsed::Event(Event::Delivered {
                    id: "1wS3Xa-000Ab1-2Z",
                    rcpt: "victim@example.org",
                    status: Delivery::Sent,
                }),
            ),
            (
                "1wS3Xa-000Ab1-2Z -> second@example.org R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.2]",
                Parsed::Event(Event::Delivered {
                    id: "1wS3Xa-000Ab1-2Z",
                    rcpt: "second@example.org",
                    status: Delivery::Sent,
                }),
            ),
            (
                "1wS3Xa-000Ab1-2Z == victim@example.org R=dnslookup T=remote_smtp defer (-44): SMTP error from remote mail server",
                Parsed::Event(Event::Delivered {
                    id: "1wS3Xa-000Ab1-2Z",
                    rcpt: "victim@example.org",
                    status: Delivery::Deferred,
                }),
            ),
            (
                "1wS3Xa-000Ab1-2Z ** nobody@example.org: Unrouteable address",
                Parsed::Event(Event::Delivered {
                    id: "1wS3Xa-000Ab1-2Z",
                    rcpt: "nobody@example.org",
                    status: Delivery::Bounced,
                }),
            ),
            (
                "1wS3Xa-000Ab1-2Z Completed",
                Parsed::Event(Event::Done {
                    id: "1wS3Xa-000Ab1-2Z",
                }),
            ),
            (
                "H=(helo.example.net) [192.0.2.21]:50000 F=<spam@example.net> rejected RCPT <victim@example.org>: relay not permitted",
                Parsed::Event(Event::RelayRefused {
                    client: ip("192.0.2.21"),
                    sender: Some("spam@example.net"),
                    rcpt: "victim@example.org",
                }),
            ),
            (
                "dovecot_login authenticator failed for (helo) [192.0.2.22]:50001: 535 Incorrect authentication data (set_id=mallory)",
                Parsed::Event(Event::AuthFailed {
                    client: ip("192.0.2.22"),
                    user: Some("mallory"),
                }),
            ),
            (
                "Connection from [192.0.2.23] refused: too many connections from that IP address",
                Parsed::Event(Event::Throttled {
                    client: Some(ip("192.0.2.23")),
                }),
            ),
            (
                "H=(x) [192.0.2.21] F=<a@b> rejected RCPT <c@d>: Unknown user",
                Parsed::Known,
            ),
            ("Start queue run: pid=4711", Parsed::Known),
            ("B3CC99A8335: removed", Parsed::Foreign),
        ];
        check(parse, &table);
        assert!(is_program("exim4"));
    }
}
