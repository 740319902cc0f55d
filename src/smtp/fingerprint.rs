//! Which mail server software a host runs, and which version it discloses, read from its greeting and EHLO reply.
//!
//! Pure functions over server text. The text is hostile input: it is only searched, never
//! trusted beyond choosing which remediation text to show.

use serde::{Deserialize, Serialize};

use crate::smtp::{Capabilities, Reply};

/// The mail transfer agent a server reveals; it picks the remediation text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mta {
    Postfix,
    Sendmail,
    Exim,
    /// Microsoft Exchange (or IIS SMTP, which greets the same way).
    Exchange,
    #[serde(rename = "opensmtpd")]
    OpenSmtpd,
    /// Nothing recognisable: the remediation is generic.
    #[default]
    Unknown,
}

impl Mta {
    pub const ALL: [Mta; 6] = [
        Mta::Postfix,
        Mta::Sendmail,
        Mta::Exim,
        Mta::Exchange,
        Mta::OpenSmtpd,
        Mta::Unknown,
    ];

    /// The serialised name: `postfix`, `opensmtpd`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mta::Postfix => "postfix",
            Mta::Sendmail => "sendmail",
            Mta::Exim => "exim",
            Mta::Exchange => "exchange",
            Mta::OpenSmtpd => "opensmtpd",
            Mta::Unknown => "unknown",
        }
    }

    /// The product name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Mta::Postfix => "Postfix",
            Mta::Sendmail => "Sendmail",
            Mta::Exim => "Exim",
            Mta::Exchange => "Microsoft Exchange",
            Mta::OpenSmtpd => "OpenSMTPD",
            Mta::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Mta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// EHLO keywords only Exchange announces (its link-state and anonymous-TLS extensions).
const EXCHANGE_KEYWORDS: [&str; 4] = ["X-EXPS", "XEXCH50", "X-ANONYMOUSTLS", "X-LINK2STATE"];

/// The words of a text, lowercased, split at anything that is not a letter or digit.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The MTA named in the greeting (every line) or the EHLO reply (first line, then keywords).
///
/// Whole words only, so that "proximity" is not Exim. The greeting wins over EHLO because
/// it is where the software names itself; Exchange also shows in its EHLO keywords.
pub fn detect(greeting: Option<&Reply>, ehlo: Option<&Reply>, caps: &Capabilities) -> Mta {
    let texts = greeting
        .into_iter()
        .flat_map(|r| r.lines.iter())
        .chain(ehlo.and_then(|r| r.lines.first()));
    for text in texts {
        let ws: Vec<String> = words(text).collect();
        let has = |w: &str| ws.iter().any(|x| x == w);
        let found = if has("postfix") {
            Mta::Postfix
        } else if has("sendmail") {
            Mta::Sendmail
        } else if has("exim") {
            Mta::Exim
        } else if has("opensmtpd") {
            Mta::OpenSmtpd
        } else if has("microsoft") && (has("esmtp") || has("exchange") || has("smtp")) {
            Mta::Exchange
        } else {
            Mta::Unknown
        };
        if found != Mta::Unknown {
            return found;
        }
    }
    if EXCHANGE_KEYWORDS.iter().any(|k| caps.has(k)) {
        return Mta::Exchange;
    }
    Mta::Unknown
}

/// Words that may stand before a version number without naming a product.
const NOT_A_PRODUCT: [&str; 4] = ["at", "on", "since", "from"];

/// The product and version a greeting discloses, e.g. `Exim 4.96` or
/// `Version: 6.0.3790.4675`: a word followed by a number with at least one dot.
///
/// Dates and times in greetings (`Tue, 1 Mar 2025 12:00:00 +0000`) have no dotted number,
/// and address literals (`[192.0.2.7]`) are bracketed, so neither is taken for a version.
pub fn disclosed_version(greeting: &Reply) -> Option<String> {
    for line in &greeting.lines {
        let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
        for pair in tokens.windows(2) {
            let [product, version] = pair else { continue };
            let product = product.trim_end_matches([':', ',', ';']);
            let is_word = !product.is_empty()
                && product
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
                && !NOT_A_PRODUCT.contains(&product.to_ascii_lowercase().as_str());
            if is_word && let Some(v) = version_token(version) {
                return Some(format!("{product} {v}"));
            }
        }
    }
    None
}

/// `8.15.2/8.15.2;` → `8.15.2/8.15.2`, `(3.7.2)` → `3.7.2`, `v1.2` → `1.2`; None for anything
/// that does not start with a dotted number.
fn version_token(token: &str) -> Option<&str> {
    let t = token
        .trim_start_matches('(')
        .trim_end_matches([')', ';', ',', ':']);
    let digits = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let mut chars = digits.chars();
    let starts_with_digit = chars.next().is_some_and(|c| c.is_ascii_digit());
    let head: String = digits
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let dotted = head.split('.').filter(|p| !p.is_empty()).count() >= 2;
    let sane = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_/+".contains(c));
    (starts_with_digit && dotted && sane && t.len() <= 40).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::findings::tests::replies as reply;

    #[test]
    fn detect_table() {
        let table: &[(&str, &[&str], Mta)] = &[
            (
                "mx.example.com ESMTP Postfix (Debian/GNU)",
                &["mx.example.com"],
                Mta::Postfix,
            ),
            (
                "mx.example.com ESMTP Sendmail 8.15.2/8.15.2; Tue, 1 Mar 2025 12:00:00 GMT",
                &["mx.example.com Hello"],
                Mta::Sendmail,
            ),
            (
                "mx.example.com ESMTP Exim 4.96 Tue, 01 Mar 2025 12:00:00 +0000",
                &["mx.example.com Hello"],
                Mta::Exim,
            ),
            (
                "mail.example.com Microsoft ESMTP MAIL Service ready at Tue, 1 Mar 2025",
                &["mail.example.com Hello [192.0.2.9]"],
                Mta::Exchange,
            ),
            (
                "mx.example.org ESMTP OpenSMTPD",
                &["mx.example.org Hello"],
                Mta::OpenSmtpd,
            ),
            // Named only in the EHLO reply.
            (
                "mx.example.net ESMTP",
                &["mx.example.net Postfix at your service"],
                Mta::Postfix,
            ),
            // Exchange hidden behind a neutral banner, betrayed by its keywords.
            (
                "mail.example.com ESMTP ready",
                &["mail.example.com", "X-EXPS GSSAPI NTLM", "XEXCH50"],
                Mta::Exchange,
            ),
            // Whole words only.
            (
                "proximity.example ESMTP postfixed-not",
                &["x"],
                Mta::Unknown,
            ),
            ("mx.example.com ESMTP relayscan-lab", &["x"], Mta::Unknown),
            ("", &[], Mta::Unknown),
        ];
        for (greeting, ehlo, want) in table {
            let g = reply(220, &[greeting]);
            let e = reply(250, ehlo);
            let caps = Capabilities::from_ehlo(&e);
            assert_eq!(detect(Some(&g), Some(&e), &caps), *want, "{greeting:?}");
        }
        assert_eq!(detect(None, None, &Capabilities::default()), Mta::Unknown);
    }

    #[test]
    fn version_table() {
        let table = [
            (
                "mx.example.com ESMTP Exim 4.96 Tue, 01 Mar 2025 12:00:00 +0000",
                Some("Exim 4.96"),
            ),
            (
                "mx.example.com ESMTP Sendmail 8.15.2/8.15.2; Tue, 1 Mar 2025 12:00:00 GMT",
                Some("Sendmail 8.15.2/8.15.2"),
            ),
            (
                "mail.example.com Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready",
                Some("Version 6.0.3790.4675"),
            ),
            (
                "mx.example.com ESMTP Postfix (3.7.2)",
                Some("Postfix 3.7.2"),
            ),
            ("mx ESMTP Haraka v3.0.2 ready", Some("Haraka v3.0.2")),
            // No version: product names alone, dates, times, address literals.
            ("mx.example.com ESMTP Postfix (Debian/GNU)", None),
            (
                "mx.example.com ESMTP ready at Tue, 1 Mar 2025 12:00:00",
                None,
            ),
            ("[192.0.2.7] ESMTP ready", None),
            ("mx ready since 2025 at 10.30", None),
            ("mx.example.com ESMTP relayscan-lab", None),
            ("ESMTP 4", None),
            ("", None),
        ];
        for (line, want) in table {
            let got = disclosed_version(&reply(220, &[line]));
            assert_eq!(got.as_deref(), want, "{line:?}");
        }
    }

    #[test]
    fn names_round_trip_through_serde() {
        for m in Mta::ALL {
            let text = serde_json::to_string(&m).unwrap();
            assert_eq!(text, format!("\"{}\"", m.as_str()));
            assert_eq!(serde_json::from_str::<Mta>(&text).unwrap(), m);
            assert!(!m.label().is_empty());
        }
    }
}
