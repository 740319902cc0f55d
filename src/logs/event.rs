//! What one mail-log line says, whatever the MTA: the events the correlator and the conclusions read, and the small field readers the per-MTA parsers share.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;

/// What became of one recipient of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed on: Postfix `status=sent`, Sendmail `stat=Sent`, Exim `=>`/`->`.
    Sent,
    /// Will be retried: Postfix `status=deferred`, Sendmail `stat=Deferred`, Exim `==`.
    Deferred,
    /// Returned to the sender: Postfix `status=bounced`, Exim `**`, Sendmail other `stat=`.
    Bounced,
}

/// One line's meaning. Borrowed from the line: nothing is copied until the correlator keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A message entered the queue from a client (`None`: submitted locally, no network
    /// client), maybe with its sender and the SASL user that sent it, and the number of
    /// its recipients when the line gives it (Sendmail's `nrcpts=`: Sendmail logs no line
    /// when a message leaves the queue, so its story ends when each of these recipients has
    /// a final status).
    Received {
        id: &'a str,
        client: Option<IpAddr>,
        sender: Option<&'a str>,
        user: Option<&'a str>,
        recipients: Option<u32>,
    },
    /// The sender of a queued message (Postfix qmgr's `from=`).
    Sender { id: &'a str, sender: &'a str },
    /// The SASL user of a queued message (Sendmail's `AUTH=server` line).
    Authenticated { id: &'a str, user: &'a str },
    /// One delivery attempt: one recipient, or Sendmail's comma-separated list of the
    /// recipients delivered together (`<a@b>,<c@d>`; see [`recipients`]).
    Delivered {
        id: &'a str,
        rcpt: &'a str,
        status: Delivery,
    },
    /// The message left the queue (Postfix `removed`, Exim `Completed`).
    Done { id: &'a str },
    /// A recipient refused because relaying was denied.
    RelayRefused {
        client: IpAddr,
        sender: Option<&'a str>,
        rcpt: &'a str,
    },
    /// A failed SASL login.
    AuthFailed {
        client: IpAddr,
        user: Option<&'a str>,
    },
    /// The MTA's own rate limit or connection filter stopped a client.
    Throttled { client: Option<IpAddr> },
}

/// What a per-MTA parser made of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A line this reader uses.
    Event(Event<'a>),
    /// A line of this MTA that tells nothing about relaying (`connect from`, statistics).
    Known,
    /// Not this MTA's line.
    Foreign,
}

/// The address inside `<...>` at the start of `s` (`<>` is the null sender, `""`), and
/// what follows the `>`.
pub fn angle(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// `s` split at its first `pair` of ASCII bytes (`": "` separates a syslog tag from its
/// message and a queue id from the rest; `"]: "` ends Postfix's client). The first byte
/// is found by std's memchr and the rest checked after it: `str::split_once(&str)` sets up
/// a Two-Way searcher for every call, 6 to 10% of the reader's instructions under callgrind
/// on the bench's generated log.
pub fn split_pair<'a>(s: &'a str, pair: &str) -> Option<(&'a str, &'a str)> {
    let needle = pair.as_bytes();
    let (&first, _) = needle.split_first()?;
    debug_assert!(pair.is_ascii(), "{pair:?}");
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(at) = s[from..].find(char::from(first)) {
        let start = from + at;
        // Byte by byte: a slice comparison calls memcmp for two bytes.
        if needle
            .iter()
            .enumerate()
            .all(|(k, &c)| b.get(start + k) == Some(&c))
        {
            return Some((&s[..start], &s[start + needle.len()..]));
        }
        from = start + 1;
    }
    None
}

/// The value of `key=` in a `, `-separated or space-separated list (`from=<a@b>, size=1`):
/// up to the next `,` or space, or to the end.
pub fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let value = after_key(s, key)?;
    let end = value
        .bytes()
        .position(|c| c == b',' || c == b' ')
        .unwrap_or(value.len());
    Some(&value[..end])
}

/// Everything after the first `key=` that starts a word (at the start, or after a space
/// or a comma), for values that hold spaces (`relay=host [ip]`, `stat=Sent (ok)`).
///
/// Found as each `=` (std's memchr) preceded by `key` at a word boundary, rather than by
/// searching for `key` itself, which set up a Two-Way searcher per call. Under callgrind
/// the two cost about the same on the bench's log (a memchr per `=`); a byte loop that
/// stops at word starts is the next thing to try.
pub fn after_key<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(at) = s[from..].find('=') {
        let eq = from + at;
        from = eq + 1;
        let Some(start) = eq.checked_sub(key.len()) else {
            continue;
        };
        let boundary = start == 0 || matches!(b[start - 1], b' ' | b',');
        if boundary && &b[start..eq] == key.as_bytes() {
            return Some(&s[eq + 1..]);
        }
    }
    None
}

/// The address of `host[1.2.3.4]` (Postfix), `host [1.2.3.4]` / `[1.2.3.4]` (Sendmail,
/// Exim), `[IPv6:2001:db8::1]` (Sendmail); the first bracketed address in `s`.
pub fn bracketed_ip(s: &str) -> Option<IpAddr> {
    let open = s.find('[')?;
    let rest = &s[open + 1..];
    let close = rest.find(']')?;
    let inner = &rest[..close];
    let inner = inner.strip_prefix("IPv6:").unwrap_or(inner);
    parse_ip(inner)
}

/// An address as `str::parse` reads it, IPv4 by hand: std's parser was about 900
/// instructions an address under callgrind, a tenth of the cost of a Postfix `client=`
/// line; four octets of digits cost a few dozen.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    // A byte scan, not `str::contains(char)`: with that call here, callgrind counted 56M
    // more instructions writing identical reports, in a `contains(char)` no longer
    // inlined into the report writers' sanitizers (most likely the cause; not re-measured).
    if s.bytes().any(|c| c == b':') {
        return s.parse().ok();
    }
    // One pass over the bytes: a `split('.')` sets up a searcher per octet.
    let mut octets = [0u8; 4];
    let mut filled = 0;
    let (mut n, mut digits) = (0u16, 0);
    for (i, &c) in s.as_bytes().iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                // std refuses leading zeros (`01`: octal in some other parsers).
                if digits == 3 || (digits == 1 && n == 0) {
                    return None;
                }
                n = n * 10 + u16::from(c - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && filled < 3 && i + 1 < s.len() => {
                octets[filled] = u8::try_from(n).ok()?;
                filled += 1;
                (n, digits) = (0, 0);
            }
            _ => return None,
        }
    }
    if filled != 3 || digits == 0 {
        return None;
    }
    octets[3] = u8::try_from(n).ok()?;
    Some(IpAddr::from(octets))
}

/// The addresses of a delivery's `rcpt`: one address, or a comma-separated list with or
/// without angle brackets.
pub fn recipients(rcpt: &str) -> impl Iterator<Item = &str> {
    rcpt.split(',')
        .map(|r| r.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|r| !r.is_empty())
}

/// The domain of `user@domain`, lowercased (copied only when it has capitals); `None`
/// without an `@`.
pub fn domain_of(addr: &str) -> Option<Cow<'_, str>> {
    let (_, domain) = addr.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    if domain.is_empty() {
        None
    } else if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(domain.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(domain))
    }
}

/// Whether `rcpt` is outside `local` (lowercased domains): an address with a domain that
/// is not one of them. Every domain is outside when there are none.
pub fn is_outside(rcpt: &str, local: &HashSet<String>) -> bool {
    domain_of(rcpt).is_some_and(|d| !local.contains(d.as_ref()))
}

/// What the per-MTA parsers' table tests share.
#[cfg(test)]
pub(crate) mod testing {
    use super::Parsed;

    pub fn ip(s: &str) -> std::net::IpAddr {
        s.parse().expect("an address")
    }

    /// Each line of `table` reads as its expected meaning.
    pub fn check(parse: fn(&str) -> Parsed<'_>, table: &[(&str, Parsed<'_>)]) {
        for (line, want) in table {
            assert_eq!(parse(line), *want, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_readers_table() {
        assert_eq!(angle("<a@b>, size=1"), Some(("a@b", ", size=1")));
        assert_eq!(angle("<>"), Some(("", "")));
        assert_eq!(angle("a@b"), None);
        let s = "to=<a@b>, orig_to=<c@d>, relay=none, status=sent (x)";
        assert_eq!(field(s, "to"), Some("<a@b>"));
        assert_eq!(field(s, "relay"), Some("none"));
        assert_eq!(field(s, "status"), Some("sent"));
        assert_eq!(field(s, "size"), None);
        for (s, key, want) in [
            ("b=3", "b", Some("3")),
            ("xb=1 b=2", "b", Some("2")),
            ("a=1,b=2,c=3", "b", Some("2")),
            ("=1 b=", "b", Some("")),
            ("\u{e9}b=1 b=x y", "b", Some("x")),
            ("b", "b", None),
            ("ab=1", "b", None),
        ] {
            assert_eq!(field(s, key), want, "{s:?} {key}");
        }
        assert_eq!(after_key("x, relay=h [1] y", "relay"), Some("h [1] y"));
        assert_eq!(after_key("xrelay=h", "relay"), None);
        assert_eq!(
            split_pair("c[192.0.2.1]: 554 <a>: Relay", "]: "),
            Some(("c[192.0.2.1", "554 <a>: Relay"))
        );
        assert_eq!(split_pair("a]:b", "]: "), None);
        for (line, want) in [
            ("a: b", Some(("a", "b"))),
            ("a:b: c: d", Some(("a:b", "c: d"))),
            ("a:b", None),
            ("a:", None),
            (": ", Some(("", ""))),
            ("\u{e9}: x", Some(("\u{e9}", "x"))),
        ] {
            assert_eq!(split_pair(line, ": "), want, "{line:?}");
        }
        assert_eq!(field("xrelay=1 relay=2", "relay"), Some("2"));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        for (s, want) in [
            ("localhost[192.0.2.1]", Some(v4)),
            ("mx.example.com [192.0.2.1] (may be forged)", Some(v4)),
            ("[IPv6:2001:db8::1]", Some(v6)),
            ("unknown[2001:db8::1]", Some(v6)),
            ("root@localhost", None),
            ("[not-an-ip]", None),
        ] {
            assert_eq!(bracketed_ip(s), want, "{s}");
        }
        for s in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.-4",
            "1000.2.3.4",
            "",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "\u{e9}.1.1.1",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4.",
            "0.00.0.0",
            "198.51.100.255",
            "1.2.3.256",
        ] {
            assert_eq!(parse_ip(s), s.parse().ok(), "{s:?}");
        }
        assert_eq!(domain_of("Bob@Far.Invalid."), Some("far.invalid".into()));
        assert!(matches!(
            domain_of("bob@far.invalid"),
            Some(Cow::Borrowed("far.invalid"))
        ));
        assert_eq!(domain_of("postmaster"), None);
        assert_eq!(domain_of("bob@."), None);
        let local: HashSet<String> = ["example.com".to_string()].into();
        for (rcpt, outside) in [
            ("a@example.com", false),
            ("a@EXAMPLE.com.", false),
            ("a@far.invalid", true),
            ("postmaster", false),
        ] {
            assert_eq!(is_outside(rcpt, &local), outside, "{rcpt}");
        }
        assert!(is_outside("a@example.com", &HashSet::new()));
        let all: Vec<&str> = recipients("<a@b>,<c@d>").collect();
        assert_eq!(all, ["a@b", "c@d"]);
        assert_eq!(recipients("a@b").collect::<Vec<_>>(), ["a@b"]);
    }
}
