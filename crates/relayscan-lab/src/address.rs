//! Pure parsing of SMTP paths (`MAIL FROM:<…>`, `RCPT TO:<…>`) and the local-or-relay classification of recipients.
//!
//! The lab must recognise every trick in the relay test catalogue (quoted local
//! parts, source routes, bang paths, `%` hacks), because a persona that mistook
//! `<relaytest%example.com@[127.0.2.1]>` for a local user would teach the scanner
//! the wrong lesson.

use std::borrow::Cow;
use std::net::Ipv4Addr;

/// A parsed SMTP path (RFC 5321's reverse- or forward-path), borrowing from the command
/// line (the lab parses one per RCPT, so no copies unless a quoted local part must be
/// unescaped). Never fails: anything odd ends up in `local` and makes the recipient a
/// relay attempt, which is what a cautious MTA would assume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPath<'a> {
    /// Source-route hops (`@a,@b:`), without their `@`.
    pub route: Vec<&'a str>,
    /// The local part; the content between the quotes when `quoted`.
    pub local: Cow<'a, str>,
    /// Whether the local part was a quoted string.
    pub quoted: bool,
    /// The domain after the last `@` outside quotes, if any.
    pub domain: Option<&'a str>,
}

impl<'a> MailPath<'a> {
    /// Parses the text between the angle brackets.
    pub fn parse(text: &'a str) -> MailPath<'a> {
        let mut rest = text;
        let mut route = Vec::new();
        if rest.starts_with('@') {
            // RFC 5321 A-d-l: "@a,@b:" before the mailbox. Without a colon it is
            // not a route but a mailbox with an empty local part.
            if let Some(colon) = rest.find(':') {
                route = rest[..colon]
                    .split(',')
                    .map(|hop| hop.trim().trim_start_matches('@'))
                    .collect();
                rest = &rest[colon + 1..];
            }
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let (local, after) = split_quoted(quoted);
            // Text after the closing quote that is not "@domain" is junk we keep
            // in the local part so that it can never look local.
            let (local, domain) = match after.strip_prefix('@') {
                Some(domain) => (local, non_empty_str(domain)),
                None if after.is_empty() => (local, None),
                None => (format!("{local}{after}"), None),
            };
            return MailPath {
                route,
                local: Cow::Owned(local),
                quoted: true,
                domain,
            };
        }
        let (local, domain) = match rest.rfind('@') {
            Some(at) => (Cow::Borrowed(&rest[..at]), non_empty_str(&rest[at + 1..])),
            None => (Cow::Borrowed(rest), None),
        };
        MailPath {
            route,
            local,
            quoted: false,
            domain,
        }
    }

    /// Where the mail would finally go: the innermost domain hidden in the local
    /// part (`a@D`, `a%D`, `D!a`), else the domain. This is the domain a real MTA
    /// would look up, hence the one the `.invalid` check uses.
    pub fn destination_domain(&self) -> Option<&str> {
        let l: &str = &self.local;
        if let Some(at) = l.rfind('@') {
            return non_empty_str(&l[at + 1..]);
        }
        if let Some(pct) = l.rfind('%') {
            return non_empty_str(&l[pct + 1..]);
        }
        if let Some(bang) = l.find('!') {
            return non_empty_str(&l[..bang]);
        }
        self.domain
    }
}

/// Splits `content"rest` at the closing quote, honouring backslash escapes.
/// An unterminated quote takes everything as the local part.
fn split_quoted(s: &str) -> (String, &str) {
    let mut local = String::new();
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            local.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return (local, &s[i + 1..]);
        } else {
            local.push(c);
        }
    }
    (local, "")
}

fn non_empty_str(s: &str) -> Option<&str> {
    if s.is_empty() { None } else { Some(s) }
}

/// Whether `domain` names this host: its host name (any case, optional trailing
/// dot) or its own address literal `[a.b.c.d]`.
pub fn is_own_domain(domain: &str, own_host: &str, own_ip: Ipv4Addr) -> bool {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.eq_ignore_ascii_case(own_host) {
        return true;
    }
    domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .and_then(|literal| literal.parse::<Ipv4Addr>().ok())
        .is_some_and(|ip| ip == own_ip)
}

/// Whether a domain is under the reserved `.invalid` TLD (RFC 2606), which the
/// lab uses as "this domain does not exist".
pub fn is_invalid_domain(domain: &str) -> bool {
    let d = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    d == "invalid" || d.ends_with(".invalid")
}

/// What a recipient asks of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcptClass {
    /// A mailbox on this host.
    Local,
    /// Anything that would make the host pass the mail on.
    Relay,
}

/// LOCAL only for a plain `user@own-host` or `user@[own address]`; every
/// routing trick is a relay attempt, as a careful MTA would treat it.
pub fn classify(path: &MailPath, own_host: &str, own_ip: Ipv4Addr) -> RcptClass {
    let own = path
        .domain
        .is_some_and(|d| is_own_domain(d, own_host, own_ip));
    let tricky_local = path.quoted || path.local.contains(['%', '!', '@', '"']);
    if own && !tricky_local && path.route.is_empty() {
        RcptClass::Local
    } else {
        RcptClass::Relay
    }
}

/// Splits the argument after `FROM:` / `TO:` into the path text (without the
/// angle brackets) and the ESMTP parameters. `None` when there is no path.
/// Angle brackets are optional because sloppy clients omit them.
pub fn split_path_arg(arg: &str) -> Option<(&str, &str)> {
    let arg = arg.trim_start();
    if let Some(inner) = arg.strip_prefix('<') {
        // Without a '>' nothing closes the path.
        let close = memchr::memchr(b'>', inner.as_bytes())?;
        // The usual path has no quote before its '>': that '>' closes it, found with
        // one byte search instead of the char-by-char walk below.
        if let (Some(path), Some(rest)) = (inner.get(..close), inner.get(close + 1..))
            && memchr::memchr(b'"', path.as_bytes()).is_none()
        {
            return Some((path, rest.trim()));
        }
        // A '>' inside a quoted local part does not close the path.
        let mut in_quotes = false;
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && in_quotes {
                escaped = true;
            } else if c == '"' {
                in_quotes = !in_quotes;
            } else if c == '>' && !in_quotes {
                return Some((&inner[..i], inner[i + 1..].trim()));
            }
        }
        return None;
    }
    let end = arg.find(char::is_whitespace).unwrap_or(arg.len());
    if end == 0 {
        return None;
    }
    Some((&arg[..end], arg[end..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "closed.lab.test";
    const IP: Ipv4Addr = Ipv4Addr::new(127, 0, 2, 2);

    #[test]
    fn parse_paths() {
        // (text, route, local, quoted, domain, destination)
        type Row = (
            &'static str,
            &'static [&'static str],
            &'static str,
            bool,
            Option<&'static str>,
            Option<&'static str>,
        );
        let table: [Row; 12] = [
            (
                "user@example.com",
                &[],
                "user",
                false,
                Some("example.com"),
                Some("example.com"),
            ),
            (
                "relaytest%example.com@[127.0.2.2]",
                &[],
                "relaytest%example.com",
                false,
                Some("[127.0.2.2]"),
                Some("example.com"),
            ),
            (
                "\"relaytest@example.com\"",
                &[],
                "relaytest@example.com",
                true,
                None,
                Some("example.com"),
            ),
            (
                "\"relaytest%example.com\"",
                &[],
                "relaytest%example.com",
                true,
                None,
                Some("example.com"),
            ),
            (
                "relaytest@example.com@[127.0.2.2]",
                &[],
                "relaytest@example.com",
                false,
                Some("[127.0.2.2]"),
                Some("example.com"),
            ),
            (
                "\"relaytest@example.com\"@[127.0.2.2]",
                &[],
                "relaytest@example.com",
                true,
                Some("[127.0.2.2]"),
                Some("example.com"),
            ),
            (
                "@[127.0.2.2]:relaytest@example.com",
                &["[127.0.2.2]"],
                "relaytest",
                false,
                Some("example.com"),
                Some("example.com"),
            ),
            (
                "@a.test,@b.test:x@example.com",
                &["a.test", "b.test"],
                "x",
                false,
                Some("example.com"),
                Some("example.com"),
            ),
            (
                "example.com!relaytest",
                &[],
                "example.com!relaytest",
                false,
                None,
                Some("example.com"),
            ),
            (
                "example.com!relaytest@closed.lab.test",
                &[],
                "example.com!relaytest",
                false,
                Some("closed.lab.test"),
                Some("example.com"),
            ),
            (
                "\"a\\\"b\"@x.test",
                &[],
                "a\"b",
                true,
                Some("x.test"),
                Some("x.test"),
            ),
            ("", &[], "", false, None, None),
        ];
        for (text, route, local, quoted, domain, dest) in table {
            let p = MailPath::parse(text);
            assert_eq!(p.route, route, "{text}");
            assert_eq!(p.local, local, "{text}");
            assert_eq!(p.quoted, quoted, "{text}");
            assert_eq!(p.domain, domain, "{text}");
            assert_eq!(p.destination_domain(), dest, "{text}");
        }
    }

    #[test]
    fn parse_never_panics_on_odd_input() {
        for text in [
            "\"",
            "\"unterminated@x",
            "@",
            "@:",
            "@x",
            "é@ü",
            "\"a\"junk",
            "a@",
        ] {
            let p = MailPath::parse(text);
            // Whatever it is, it must not be taken for a local mailbox.
            assert_eq!(classify(&p, HOST, IP), RcptClass::Relay, "{text}");
        }
    }

    #[test]
    fn classify_recipients() {
        use RcptClass::*;
        let table = [
            ("postmaster@closed.lab.test", Local),
            ("postmaster@CLOSED.LAB.TEST.", Local),
            ("someone@[127.0.2.2]", Local),
            ("someone@[127.0.2.3]", Relay),
            ("relaytest@example.com", Relay),
            ("relaytest%example.com@[127.0.2.2]", Relay),
            ("relaytest%example.com@closed.lab.test", Relay),
            ("\"relaytest@example.com\"", Relay),
            ("\"relaytest%example.com\"", Relay),
            ("relaytest@example.com@[127.0.2.2]", Relay),
            ("\"relaytest@example.com\"@[127.0.2.2]", Relay),
            ("relaytest@example.com@closed.lab.test", Relay),
            ("@[127.0.2.2]:relaytest@example.com", Relay),
            ("@closed.lab.test:relaytest@closed.lab.test", Relay),
            ("example.com!relaytest", Relay),
            ("example.com!relaytest@[127.0.2.2]", Relay),
            ("example.com!relaytest@closed.lab.test", Relay),
            ("\"plain\"@closed.lab.test", Relay),
            ("postmaster", Relay),
        ];
        for (text, want) in table {
            assert_eq!(classify(&MailPath::parse(text), HOST, IP), want, "{text}");
        }
    }

    #[test]
    fn own_and_invalid_domains() {
        assert!(is_own_domain("closed.lab.test", HOST, IP));
        assert!(is_own_domain("[127.0.2.2]", HOST, IP));
        assert!(!is_own_domain("[127.0.2.2", HOST, IP));
        assert!(!is_own_domain("[IPv6:::1]", HOST, IP));
        assert!(!is_own_domain("lab.test", HOST, IP));
        assert!(is_invalid_domain("nx-1234.invalid"));
        assert!(is_invalid_domain("X.INVALID."));
        assert!(!is_invalid_domain("invalid.example"));
        assert!(!is_invalid_domain("notinvalid"));
    }

    #[test]
    fn split_path_arguments() {
        let table = [
            ("<a@b>", Some(("a@b", ""))),
            (
                " <a@b> SIZE=100 BODY=8BITMIME",
                Some(("a@b", "SIZE=100 BODY=8BITMIME")),
            ),
            ("<>", Some(("", ""))),
            (
                "<\"x>y\"@b> NOTIFY=NEVER",
                Some(("\"x>y\"@b", "NOTIFY=NEVER")),
            ),
            ("a@b SIZE=1", Some(("a@b", "SIZE=1"))),
            // A quote after the closing '>' is a parameter, not part of the path.
            ("<a@b> X=\"q\"", Some(("a@b", "X=\"q\""))),
            // Escaped quotes inside a quoted local part, then a '>' in it.
            ("<\"a\\\">b\"@c> P", Some(("\"a\\\">b\"@c", "P"))),
            // A quote that never closes hides every '>'.
            ("<\"a>b@c>", None),
            ("<a@b", None),
            ("", None),
            ("   ", None),
        ];
        for (arg, want) in table {
            assert_eq!(split_path_arg(arg), want, "{arg:?}");
        }
    }
}
