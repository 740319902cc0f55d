//! EHLO keywords (RFC 5321 §4.1.1.1 and the extensions) parsed from the EHLO reply.

use serde::{Deserialize, Serialize};

use super::literal::parse_address_literal;
use super::reply::{EnhancedCode, Reply};

/// Most keywords kept from one EHLO reply; real servers announce about a dozen.
const MAX_KEYWORDS: usize = 100;

/// Most parameters kept per keyword (AUTH lists rarely exceed ten mechanisms).
const MAX_PARAMS: usize = 64;

/// Longest name accepted by `announced_name` (RFC 1035: 255 octets).
const MAX_NAME: usize = 255;

/// The extensions a server announced in its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub keywords: Vec<Keyword>,
}

/// One EHLO line: `SIZE 10240000` is name "SIZE", params ["10240000"].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyword {
    /// Uppercased, as keywords are case-insensitive.
    pub name: String,
    pub params: Vec<String>,
}

impl Capabilities {
    /// The keywords of an EHLO reply. The first line is the server's name and greeting,
    /// not a keyword. Lines that are not `keyword *(SP param)` are ignored.
    ///
    /// The legacy `AUTH=LOGIN PLAIN` form (old Exchange, for old Outlook) is read as AUTH
    /// with those parameters. A keyword announced twice is kept once, its parameters
    /// merged, so `has`/`params` see one entry.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut keywords: Vec<Keyword> = Vec::new();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(first) = words.next() else {
                continue;
            };
            let (name, legacy_param) = match first.split_once('=') {
                Some((name, value)) => (name, Some(value).filter(|v| !v.is_empty())),
                None => (first, None),
            };
            if !is_ehlo_keyword(name) {
                continue;
            }
            let name = name.to_ascii_uppercase();
            let params: Vec<String> = legacy_param
                .into_iter()
                .chain(words)
                .map(str::to_string)
                .collect();
            let room = keywords.len() < MAX_KEYWORDS;
            match keywords.iter_mut().find(|k| k.name == name) {
                Some(existing) => {
                    for p in params {
                        if existing.params.len() < MAX_PARAMS && !existing.params.contains(&p) {
                            existing.params.push(p);
                        }
                    }
                }
                None if room => {
                    let params = params.into_iter().take(MAX_PARAMS).collect();
                    keywords.push(Keyword { name, params });
                }
                None => {}
            }
        }
        Capabilities { keywords }
    }

    fn keyword(&self, name: &str) -> Option<&Keyword> {
        self.keywords
            .iter()
            .find(|k| k.name.eq_ignore_ascii_case(name))
    }

    /// Whether the keyword was announced (case-insensitive).
    pub fn has(&self, name: &str) -> bool {
        self.keyword(name).is_some()
    }

    /// The keyword's parameters, when it was announced.
    pub fn params(&self, name: &str) -> Option<&[String]> {
        self.keyword(name).map(|k| k.params.as_slice())
    }

    /// The SIZE limit in octets (RFC 1870). `Some(0)` means the server declared no fixed
    /// limit; None when SIZE is absent, has no number, or the number is unreadable.
    pub fn size_limit(&self) -> Option<u64> {
        self.params("SIZE")?.first()?.parse().ok()
    }

    /// The AUTH mechanisms (RFC 4954), uppercased and deduplicated, in announced order.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for mechanism in self.params("AUTH").unwrap_or_default() {
            let m = mechanism.to_ascii_uppercase();
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    /// The keyword names in announced order.
    pub fn names(&self) -> Vec<String> {
        self.keywords.iter().map(|k| k.name.clone()).collect()
    }
}

/// RFC 5321 ehlo-keyword: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
fn is_ehlo_keyword(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The server's name from a greeting or EHLO reply: the first word of the first line,
/// when it looks like a domain (`mx.example.org`) or is an address literal that parses
/// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`): `220 [x:DATA] ESMTP` gives none, so the relay
/// tests fall back as for a greeting without a name instead of writing `antispam@[x:DATA]`.
///
/// A domain must contain a dot: single words there are far more often product names or
/// filler ("ESMTP", "Service", "localhost") than a name usable in relay tests.
pub fn announced_name(reply: &Reply) -> Option<String> {
    let mut words = reply.first_line().split_ascii_whitespace();
    let mut word = words.next()?;
    // "421 4.3.2 mx.example.com Service not available": the name follows the enhanced code.
    if reply.enhanced.is_some() && EnhancedCode::try_from(word.to_string()).is_ok() {
        word = words.next()?;
    }
    if word.len() > MAX_NAME {
        return None;
    }
    let looks_right = if word.starts_with('[') {
        parse_address_literal(word).is_some()
    } else {
        looks_like_domain(word)
    };
    looks_right.then(|| word.to_string())
}

/// LDH labels joined by dots, at least two labels, a trailing root dot allowed.
fn looks_like_domain(word: &str) -> bool {
    let name = word.strip_suffix('.').unwrap_or(word);
    let labels: Vec<&str> = name.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn postfix() -> Capabilities {
        Capabilities::from_ehlo(&reply(
            250,
            &[
                "mx.example.org",
                "PIPELINING",
                "SIZE 10240000",
                "VRFY",
                "ETRN",
                "STARTTLS",
                "AUTH PLAIN LOGIN",
                "AUTH=PLAIN LOGIN",
                "ENHANCEDSTATUSCODES",
                "8BITMIME",
                "DSN",
                "SMTPUTF8",
                "CHUNKING",
            ],
        ))
    }

    #[test]
    fn postfix_like_ehlo() {
        let caps = postfix();
        assert_eq!(
            caps.names(),
            vec![
                "PIPELINING",
                "SIZE",
                "VRFY",
                "ETRN",
                "STARTTLS",
                "AUTH",
                "ENHANCEDSTATUSCODES",
                "8BITMIME",
                "DSN",
                "SMTPUTF8",
                "CHUNKING"
            ]
        );
        assert!(!caps.has("mx.example.org"), "the first line is the name");
        assert_eq!(caps.size_limit(), Some(10_240_000));
        assert_eq!(caps.auth_mechanisms(), vec!["PLAIN", "LOGIN"]);
        assert!(caps.starttls());
        assert!(caps.pipelining());
        let has_cases = [
            ("pipelining", true),
            ("Size", true),
            ("8bitmime", true),
            ("AUTH", true),
            ("XCLIENT", false),
            ("", false),
        ];
        for (name, want) in has_cases {
            assert_eq!(caps.has(name), want, "{name}");
        }
        assert_eq!(caps.params("size"), Some(&["10240000".to_string()][..]));
        assert_eq!(caps.params("VRFY"), Some(&[][..]));
        assert_eq!(caps.params("XCLIENT"), None);
    }

    #[test]
    fn lowercase_and_legacy_auth() {
        let caps = Capabilities::from_ehlo(&reply(
            250,
            &[
                "Hello there",
                "starttls",
                "auth=login",
                "auth cram-md5 Login",
                "size",
                "8bitmime",
            ],
        ));
        assert_eq!(caps.names(), vec!["STARTTLS", "AUTH", "SIZE", "8BITMIME"]);
        assert!(caps.starttls());
        assert!(!caps.pipelining());
        // Legacy form first, then the standard form merged in; uppercased, deduped.
        assert_eq!(caps.auth_mechanisms(), vec!["LOGIN", "CRAM-MD5"]);
        // SIZE without a number: announced, but no limit to report.
        assert!(caps.has("SIZE"));
        assert_eq!(caps.size_limit(), None);
    }

    #[test]
    fn junk_lines_are_ignored() {
        let caps = Capabilities::from_ehlo(&reply(
            250,
            &[
                "mx.example.org Hello [192.0.2.7]",
                "",
                "   ",
                "-DASH",
                "!!! welcome !!!",
                "ключ",
                "X_UNDERSCORE",
                "=VALUE",
                "SIZE 0",
                "XCLIENT NAME ADDR",
            ],
        ));
        assert_eq!(caps.names(), vec!["SIZE", "XCLIENT"]);
        assert_eq!(caps.size_limit(), Some(0));
        assert_eq!(caps.auth_mechanisms(), Vec::<String>::new());
        let big = Capabilities::from_ehlo(&reply(250, &["mx", "SIZE 99999999999999999999999"]));
        assert_eq!(big.size_limit(), None);
    }

    #[test]
    fn caps_are_bounded() {
        let mut lines = vec!["mx.example.org".to_string()];
        lines.extend((0..300).map(|i| format!("X{i}")));
        lines.push(format!("AUTH {}", ["M"; 10].join(" ")));
        let caps = Capabilities::from_ehlo(&Reply {
            code: 250,
            enhanced: None,
            lines,
        });
        assert_eq!(caps.keywords.len(), 100);
        assert!(!caps.has("AUTH"), "keywords past the cap are dropped");

        let many: Vec<String> = (0..200).map(|i| format!("M{i}")).collect();
        let caps =
            Capabilities::from_ehlo(&reply(250, &["mx", &format!("AUTH {}", many.join(" "))]));
        assert_eq!(caps.auth_mechanisms().len(), 64);
    }

    #[test]
    fn single_line_ehlo_has_no_keywords() {
        let caps = Capabilities::from_ehlo(&reply(250, &["mx.example.org"]));
        assert_eq!(caps, Capabilities::default());
        assert!(caps.names().is_empty());
    }

    #[test]
    fn serde_round_trip() {
        let caps = postfix();
        let json = serde_json::to_string(&caps).unwrap_or_default();
        assert!(
            json.contains(r#"{"name":"SIZE","params":["10240000"]}"#),
            "{json}"
        );
        let back: Capabilities = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, caps);
    }

    #[test]
    fn announced_names() {
        let long = format!("{}.example", "a".repeat(260));
        let cases: Vec<(&str, Option<&str>)> = vec![
            ("mx.example.org ESMTP Postfix", Some("mx.example.org")),
            ("mx.example.org", Some("mx.example.org")),
            ("mail.example.org. ready", Some("mail.example.org.")),
            ("[192.0.2.1] ready", Some("[192.0.2.1]")),
            ("[IPv6:2001:db8::1] hi", Some("[IPv6:2001:db8::1]")),
            // Bracketed but no address: no name, as for a greeting that gives none.
            ("[x:DATA] ESMTP", None),
            ("[2001:db8::1] hi", None),
            ("[192.0.2.300] ready", None),
            ("[mx.example.org] ready", None),
            ("ESMTP ready", None),
            ("localhost ESMTP", None),
            ("", None),
            ("<mx.example.org> hi", None),
            ("mx..example.org", None),
            ("-mx.example.org", None),
            ("mx_1.example.org", None),
            ("[] x", None),
            ("[192.0.2.1", None),
            ("[a b]", None),
            ("bücher.example", None),
            (long.as_str(), None),
        ];
        for (first, want) in cases {
            let r = reply(220, &[first, "second.example.org line"]);
            assert_eq!(announced_name(&r), want.map(str::to_string), "{first:?}");
        }
        assert_eq!(
            announced_name(&Reply {
                code: 220,
                enhanced: None,
                lines: vec![]
            }),
            None
        );
        let busy = Reply {
            code: 421,
            enhanced: Some(EnhancedCode::try_from("4.3.2".to_string()).unwrap()),
            lines: vec!["4.3.2 busy.example.org Service not available".into()],
        };
        assert_eq!(announced_name(&busy).as_deref(), Some("busy.example.org"));
    }
}
