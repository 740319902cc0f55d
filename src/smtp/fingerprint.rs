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

/// A mail server product the greeting, EHLO or HELO reply can name. A wider set than
/// [`Mta`] (which picks remediation text): the advisories table keys on these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    Postfix,
    Sendmail,
    Exim,
    Exchange,
    #[serde(rename = "opensmtpd")]
    OpenSmtpd,
    #[serde(rename = "hmailserver")]
    HMailServer,
    #[serde(rename = "mdaemon")]
    MDaemon,
    Haraka,
    Qmail,
}

impl Product {
    pub const ALL: [Product; 9] = [
        Product::Postfix,
        Product::Sendmail,
        Product::Exim,
        Product::Exchange,
        Product::OpenSmtpd,
        Product::HMailServer,
        Product::MDaemon,
        Product::Haraka,
        Product::Qmail,
    ];

    /// The serialised name, also the word that names the product in server text (but
    /// Exchange, which calls itself "Microsoft ... ESMTP").
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Postfix => "postfix",
            Product::Sendmail => "sendmail",
            Product::Exim => "exim",
            Product::Exchange => "exchange",
            Product::OpenSmtpd => "opensmtpd",
            Product::HMailServer => "hmailserver",
            Product::MDaemon => "mdaemon",
            Product::Haraka => "haraka",
            Product::Qmail => "qmail",
        }
    }

    /// The remediation family: products without their own remediation text are Unknown.
    pub fn mta(self) -> Mta {
        match self {
            Product::Postfix => Mta::Postfix,
            Product::Sendmail => Mta::Sendmail,
            Product::Exim => Mta::Exim,
            Product::Exchange => Mta::Exchange,
            Product::OpenSmtpd => Mta::OpenSmtpd,
            Product::HMailServer | Product::MDaemon | Product::Haraka | Product::Qmail => {
                Mta::Unknown
            }
        }
    }

    /// The product a (lowercase) word names; "microsoft" counts only beside an SMTP word.
    fn named_by(word: &str, line_words: &[String]) -> Option<Product> {
        if word == "microsoft" {
            let smtpish = ["esmtp", "exchange", "smtp"];
            return line_words
                .iter()
                .any(|w| smtpish.contains(&w.as_str()))
                .then_some(Product::Exchange);
        }
        Product::ALL
            .into_iter()
            .find(|p| *p != Product::Exchange && p.as_str() == word)
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The software a server names, with the version when it shows one (`None` is unknown, and
/// an unknown version is never matched against an advisory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    pub product: Product,
    #[serde(default)]
    pub version: Option<String>,
}

/// The words of a text, lowercased, split at anything that is not a letter or digit.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The software named in the greeting (every line), then the EHLO reply's first line (the
/// rest are keywords), then the HELO reply's first line.
///
/// Whole words only, so that "proximity" is not Exim. The greeting wins because it is where
/// the software names itself.
pub fn software(
    greeting: Option<&Reply>,
    ehlo: Option<&Reply>,
    helo: Option<&Reply>,
) -> Option<Software> {
    software_named(greeting, ehlo, helo).map(|(s, _)| s)
}

/// [`software`], with the line that named it quoted as evidence (`S: 220 mx ESMTP Exim 4.91`).
pub fn software_named(
    greeting: Option<&Reply>,
    ehlo: Option<&Reply>,
    helo: Option<&Reply>,
) -> Option<(Software, String)> {
    fn first_line(r: &Reply) -> Option<(u16, &String)> {
        r.lines.first().map(|l| (r.code, l))
    }
    greeting
        .into_iter()
        .flat_map(|r| r.lines.iter().map(|l| (r.code, l)))
        .chain(ehlo.and_then(first_line))
        .chain(helo.and_then(first_line))
        .find_map(|(code, line)| software_in_line(line).map(|s| (s, format!("S: {code} {line}"))))
}

/// The first product a line names and the version written right after it:
/// `Exim 4.96`, `Sendmail 8.15.2/8.15.2;` (the binary's version, before the slash, the
/// second is the configuration's), `Postfix (3.7.2)`, `Haraka/2.8.28`, `MDaemon 21.5.2;`,
/// `Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready`.
fn software_in_line(line: &str) -> Option<Software> {
    let line_words: Vec<String> = words(line).collect();
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    for (i, token) in tokens.iter().enumerate() {
        let (name, attached) = match token.split_once('/') {
            Some((name, rest)) => (name, Some(rest)),
            None => (*token, None),
        };
        let name = name
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let Some(product) = Product::named_by(&name, &line_words) else {
            continue;
        };
        let version = if product == Product::Exchange {
            // Exchange and IIS SMTP write `Version: N` further along the line.
            tokens
                .windows(2)
                .skip(i)
                .find(|w| w[0].trim_end_matches(':').eq_ignore_ascii_case("version"))
                .and_then(|w| version_token(w[1]))
        } else {
            attached
                .and_then(version_token)
                .or_else(|| tokens.get(i + 1).and_then(|t| version_token(t)))
        };
        let version = version.map(|v| {
            let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
            v.split('/').next().unwrap_or(v).to_string()
        });
        return Some(Software { product, version });
    }
    None
}

/// The MTA named in the greeting or the EHLO/HELO reply, else betrayed by Exchange's EHLO
/// keywords; it picks the remediation text.
pub fn detect(greeting: Option<&Reply>, ehlo: Option<&Reply>, caps: &Capabilities) -> Mta {
    match software(greeting, ehlo, None).map(|s| s.product.mta()) {
        Some(mta) if mta != Mta::Unknown => mta,
        _ if EXCHANGE_KEYWORDS.iter().any(|k| caps.has(k)) => Mta::Exchange,
        _ => Mta::Unknown,
    }
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

    /// A greeting, a HELO reply, and the product and version they name.
    type SoftwareRow = (
        &'static str,
        &'static str,
        Option<Product>,
        Option<&'static str>,
    );

    #[test]
    fn software_table() {
        use Product as P;
        let table: &[SoftwareRow] = &[
            (
                "mx ESMTP Exim 4.94.2 Tue, 01 Mar 2025",
                "",
                Some(P::Exim),
                Some("4.94.2"),
            ),
            (
                "mx ESMTP Sendmail 8.15.2/8.15.2; Tue",
                "",
                Some(P::Sendmail),
                Some("8.15.2"),
            ),
            (
                "mx ESMTP Postfix (3.7.11)",
                "",
                Some(P::Postfix),
                Some("3.7.11"),
            ),
            ("mx ESMTP Postfix (Debian/GNU)", "", Some(P::Postfix), None),
            (
                "mx ESMTP OpenSMTPD 6.6.1p1",
                "",
                Some(P::OpenSmtpd),
                Some("6.6.1p1"),
            ),
            (
                "mx Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready",
                "",
                Some(P::Exchange),
                Some("10.0.17763.1"),
            ),
            ("mx ESMTP hMailServer", "", Some(P::HMailServer), None),
            (
                "mx ESMTP MDaemon 21.5.2; Tue, 01 Mar 2025",
                "",
                Some(P::MDaemon),
                Some("21.5.2"),
            ),
            (
                "mx ESMTP Haraka/2.8.28 ready",
                "",
                Some(P::Haraka),
                Some("2.8.28"),
            ),
            (
                "mx ESMTP Haraka v3.0.2 ready",
                "",
                Some(P::Haraka),
                Some("3.0.2"),
            ),
            ("mx.example.com ESMTP qmail", "", Some(P::Qmail), None),
            // Named only in the HELO reply's first line.
            (
                "mx ESMTP",
                "mx Exim 4.91 hello",
                Some(P::Exim),
                Some("4.91"),
            ),
            // A version that belongs to no product, and words that only look like one.
            ("mx ESMTP ready 4.96", "", None, None),
            ("eximious.example ESMTP postfixed", "", None, None),
            ("microsoft.example.com ready", "", None, None),
            ("", "", None, None),
        ];
        for (greeting, hello, product, version) in table {
            let g = reply(220, &[greeting]);
            let h = reply(250, &[hello]);
            let got = software(Some(&g), None, Some(&h));
            let want = product.map(|product| Software {
                product,
                version: version.map(str::to_string),
            });
            assert_eq!(got, want, "{greeting:?} / {hello:?}");
        }
        for p in Product::ALL {
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
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
