//! DKIM public keys found by guessing selectors (RFC 6376 §3.6): the built-in list of common selectors (data/dkim-selectors.txt) or the user's, each looked up at `SELECTOR._domainkey.DOMAIN`, and each key record parsed without I/O (type, RSA size, revoked, testing, syntax).
//!
//! A domain's selectors cannot be listed through DNS, so no key found under the guessed
//! ones is never proof that the domain signs nothing. One answer is: `_domainkey.DOMAIN`
//! itself answering NXDOMAIN, which by RFC 8020 means no name exists below it, so no key
//! under any selector. That question is asked first, and spares the selectors' when so.

use serde::{Deserialize, Serialize};

use super::{Answer, LookupError, Resolve};

/// The built-in selectors, as shipped in the repository.
const BUILTIN_SELECTORS: &str = include_str!("../../data/dkim-selectors.txt");

/// RSA keys under this many bits are high (RFC 8301 §3.2: verifiers must not accept
/// them); keys under [`RSA_RECOMMENDED_BITS`] are medium (RFC 8301 asks for 2048).
pub const RSA_MINIMUM_BITS: u32 = 1024;
pub const RSA_RECOMMENDED_BITS: u32 = 2048;

/// An Ed25519 public key is 32 bytes (RFC 8463 §3).
const ED25519_KEY_BYTES: usize = 32;

/// The built-in selectors, in file order.
pub fn builtin_selectors() -> Vec<String> {
    BUILTIN_SELECTORS
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Whether `word` is a selector (RFC 6376 §3.1: dot-separated labels of letters, digits
/// and inner hyphens; 63 octets a label).
pub fn is_selector(word: &str) -> bool {
    !word.is_empty()
        && word.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The selectors `--dkim-selectors` names: a comma list or a FILE (one a line, `#`
/// comments), or `none` to look for no DKIM key (a hosting provider's bulk run, where each
/// selector is one more TXT lookup per domain). An invalid word is an error naming where it
/// was written (`FILE:LINE`).
pub fn parse_selectors(spec: &str) -> Result<Vec<String>, String> {
    if spec.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for (at, word) in crate::input::list_words("--dkim-selectors", spec)? {
        if !is_selector(&word) {
            return Err(format!(
                "{at}: {word:?} is not a DKIM selector (letters, digits, inner '-', dot-separated labels)"
            ));
        }
        let word = word.to_ascii_lowercase();
        if !out.contains(&word) {
            out.push(word);
        }
    }
    if out.is_empty() {
        return Err(format!("--dkim-selectors {spec:?}: no selector named"));
    }
    Ok(out)
}

/// One key record found under a selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimKey {
    pub selector: String,
    pub raw: String,
    /// `rsa` (the default), `ed25519`, or what `k=` says.
    pub key_type: String,
    /// The RSA modulus size, read from `p=`.
    pub bits: Option<u32>,
    /// `p=` empty: the key was revoked (RFC 6376 §3.6.1).
    pub revoked: bool,
    /// `t=y`: the domain is testing DKIM; verifiers treat failures as unsigned.
    pub testing: bool,
    /// Syntax errors: the record cannot verify anything.
    pub problems: Vec<String>,
}

/// The DKIM keys of a domain under the guessed selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dkim {
    /// How many selectors were tried (guessed: the built-in list or `--dkim-selectors`).
    pub selectors_tried: usize,
    pub keys: Vec<DkimKey>,
    /// Selectors whose lookup failed (SERVFAIL, timeout), as `SELECTOR: why`.
    pub lookup_errors: Vec<String>,
    /// `_domainkey.DOMAIN` answered NXDOMAIN: nothing exists below it (RFC 8020), so the
    /// domain publishes no key under any selector, and none was asked
    /// (`selectors_tried` is 0). Absent from records written before it was asked.
    #[serde(default)]
    pub domainkey_nxdomain: bool,
}

/// `_domainkey.DOMAIN`: the parent of every selector's name.
pub fn domainkey_name(domain: &str) -> String {
    format!("_domainkey.{domain}")
}

/// `SELECTOR._domainkey.DOMAIN`.
pub fn key_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{domain}")
}

/// The DKIM facts from each selector's TXT answer. Pure.
pub fn dkim(answers: &[(String, Answer<Vec<String>>)]) -> Dkim {
    let mut out = Dkim {
        selectors_tried: answers.len(),
        ..Dkim::default()
    };
    for (selector, answer) in answers {
        match answer {
            Ok(list) => {
                // Several TXT records at one selector: the first is the key (RFC 6376
                // §3.6.2.2 leaves the rest undefined); an empty answer is no key.
                if let Some(first) = list.first() {
                    out.keys.push(parse_key(selector, first));
                }
            }
            Err(LookupError::NxDomain | LookupError::NoRecords) => {}
            Err(e) => out
                .lookup_errors
                .push(format!("{selector}: {}", e.as_str())),
        }
    }
    out
}

/// Parses one key record (`v=DKIM1; k=rsa; p=MIIB...`; RFC 6376 §3.6.1).
pub fn parse_key(selector: &str, record: &str) -> DkimKey {
    let mut key = DkimKey {
        selector: selector.to_string(),
        raw: record.to_string(),
        key_type: "rsa".into(),
        ..DkimKey::default()
    };
    let mut p: Option<String> = None;
    let tags = super::policy::tag_list(record, &mut key.problems);
    for (i, (tag, value)) in tags.into_iter().enumerate() {
        match tag {
            "v" if i != 0 || value != "DKIM1" => key
                .problems
                .push(format!("v={value:?}: must be DKIM1 and come first")),
            "k" => key.key_type = value.to_ascii_lowercase(),
            "t" => key.testing = value.split(':').any(|f| f.trim().eq_ignore_ascii_case("y")),
            // Base64 may be folded with whitespace (RFC 6376 §3.6.1).
            "p" => p = Some(value.split_ascii_whitespace().collect()),
            _ => {}
        }
    }
    let Some(p) = p else {
        key.problems
            .push("no p= tag (RFC 6376 §3.6.1: the key is required)".into());
        return key;
    };
    if p.is_empty() {
        key.revoked = true;
        return key;
    }
    let Ok(der) = data_encoding::BASE64.decode(p.as_bytes()) else {
        key.problems.push("p= is not valid base64".into());
        return key;
    };
    match key.key_type.as_str() {
        "rsa" => match crate::smtp::cert::rsa_key_bits(&der) {
            Some(bits) => key.bits = Some(bits),
            None => key.problems.push("p= is not an RSA public key".into()),
        },
        "ed25519" if der.len() != ED25519_KEY_BYTES => key.problems.push(format!(
            "p= holds {} bytes; an Ed25519 key is {ED25519_KEY_BYTES}",
            der.len()
        )),
        "ed25519" => {}
        other => key
            .problems
            .push(format!("k={other:?} is not rsa or ed25519")),
    }
    key
}

/// Looks up every selector of `domain` (all at once; the resolver paces them), after one
/// question that tells whether any could exist.
///
/// A domain with a key under any selector has `_domainkey.DOMAIN` in the DNS, with
/// records or as an empty non-terminal (NOERROR, RFC 8020 §2). NXDOMAIN there means
/// nothing below it, so the selectors are not asked: one question instead of 14 for each
/// domain without DKIM, at the scanner and at the domain's servers. Any other answer
/// (records, no records, a failed lookup) goes on to ask every selector.
pub async fn lookup<R: Resolve>(dns: &R, domain: &str, selectors: &[String]) -> Dkim {
    if selectors.is_empty() {
        return dkim(&[]);
    }
    if dns.txt(&domainkey_name(domain)).await == Err(LookupError::NxDomain) {
        return Dkim {
            domainkey_nxdomain: true,
            ..Dkim::default()
        };
    }
    let answers = futures::future::join_all(
        selectors
            .iter()
            .map(|s| async move { (s.clone(), dns.txt(&key_name(s, domain)).await) }),
    )
    .await;
    dkim(&answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    use relayscan_lab::dns::dkim_keys::{ED25519, RSA_512, RSA_1024, RSA_2048};

    #[test]
    fn keys_by_table() {
        let (rsa_512, ed25519) = (RSA_512.trim(), ED25519.trim());
        // (record, key type, bits, revoked, testing, a problem mentions)
        type Case = (String, &'static str, Option<u32>, bool, bool, &'static str);
        let table: Vec<Case> = vec![
            (
                format!("v=DKIM1; k=rsa; p={}", RSA_2048.trim()),
                "rsa",
                Some(2048),
                false,
                false,
                "",
            ),
            (
                format!("v=DKIM1; p={}", RSA_1024.trim()),
                "rsa",
                Some(1024),
                false,
                false,
                "",
            ),
            (
                format!("p={rsa_512}; t=y"),
                "rsa",
                Some(512),
                false,
                true,
                "",
            ),
            (
                format!("v=DKIM1; k=ed25519; p={ed25519}"),
                "ed25519",
                None,
                false,
                false,
                "",
            ),
            (
                "v=DKIM1; k=ed25519; p=AAAA".into(),
                "ed25519",
                None,
                false,
                false,
                "Ed25519 key is 32",
            ),
            ("v=DKIM1; p=".into(), "rsa", None, true, false, ""),
            ("v=DKIM1; t=s:y; p=".into(), "rsa", None, true, true, ""),
            (
                "v=DKIM1; k=rsa".into(),
                "rsa",
                None,
                false,
                false,
                "no p= tag",
            ),
            (
                "v=DKIM1; p=!!!".into(),
                "rsa",
                None,
                false,
                false,
                "not valid base64",
            ),
            (
                "v=DKIM1; p=AAAA".into(),
                "rsa",
                None,
                false,
                false,
                "not an RSA public key",
            ),
            (
                "k=dsa; p=AAAA".into(),
                "dsa",
                None,
                false,
                false,
                "not rsa or ed25519",
            ),
            (
                format!("k=rsa; v=DKIM1; p={rsa_512}"),
                "rsa",
                Some(512),
                false,
                false,
                "come first",
            ),
            (
                "v=DKIM1; junk; p=".into(),
                "rsa",
                None,
                true,
                false,
                "tag=value",
            ),
        ];
        for (record, kind, bits, revoked, testing, problem) in table {
            let got = parse_key("s1", &record);
            assert_eq!(
                (got.key_type.as_str(), got.bits, got.revoked, got.testing),
                (kind, bits, revoked, testing),
                "{record}: {got:?}"
            );
            if problem.is_empty() {
                assert!(got.problems.is_empty(), "{record}: {:?}", got.problems);
            } else {
                assert!(
                    got.problems.iter().any(|p| p.contains(problem)),
                    "{record}: {:?}",
                    got.problems
                );
            }
        }
        // Base64 folded over whitespace, as long records are published.
        let (head, tail) = rsa_512.split_at(20);
        assert_eq!(parse_key("s", &format!("p={head} {tail}")).bits, Some(512));
    }

    #[test]
    fn answers_become_keys_errors_or_nothing() {
        let answers = vec![
            (
                "a".to_string(),
                Ok(vec![format!("v=DKIM1; p={}", RSA_512.trim())]),
            ),
            ("b".to_string(), Err(LookupError::NxDomain)),
            ("c".to_string(), Err(LookupError::Timeout)),
            ("d".to_string(), Ok(vec![])),
        ];
        let got = dkim(&answers);
        assert_eq!(got.selectors_tried, 4);
        assert_eq!(got.keys.len(), 1);
        assert_eq!(got.keys[0].selector, "a");
        assert_eq!(got.lookup_errors, ["c: timeout"]);
    }

    #[test]
    fn the_builtin_list_is_valid_data() {
        let list = builtin_selectors();
        // `scan --help` (src/cli.rs) and docs/domains.md name the count and what it costs.
        assert_eq!(
            list.len(),
            14,
            "update --help and docs/domains.md: {list:?}"
        );
        for s in &list {
            assert!(is_selector(s), "{s:?}");
        }
        let mut unique = list.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), list.len(), "a selector is listed twice");
        for s in [
            "default",
            "google",
            "selector1",
            "selector2",
            "k1",
            "mail",
            "dkim",
            "s1",
        ] {
            assert!(list.iter().any(|x| x == s), "{s}");
        }
    }

    #[test]
    fn selector_flags() {
        assert_eq!(parse_selectors("S1, mail,s1").unwrap(), ["s1", "mail"]);
        assert_eq!(parse_selectors("2024-01.mail").unwrap(), ["2024-01.mail"]);
        // `none` turns DKIM off: no lookups, and so no dkim-not-found either.
        assert!(parse_selectors(" None ").unwrap().is_empty());
        assert_eq!(dkim(&[]).selectors_tried, 0);
        for (spec, want) in [
            ("a_b", "\"a_b\" is not a DKIM selector"),
            ("-a", "is not a DKIM selector"),
            ("a..b", "is not a DKIM selector"),
            (",", "no selector named"),
        ] {
            let err = parse_selectors(spec).unwrap_err();
            assert!(err.contains(want), "{spec}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("selectors.txt");
        std::fs::write(&file, "# ours\nmail\nbad selector\n").unwrap();
        let err = parse_selectors(file.to_str().unwrap()).unwrap_err();
        assert!(
            err.starts_with(&format!("{}:3: \"bad selector\"", file.display())),
            "{err}"
        );
    }

    #[tokio::test]
    async fn lookup_asks_each_selector_under_domainkey() {
        use crate::dns::domain::tests::Table;
        let mut t = Table::default();
        t.txt.insert(
            "k1._domainkey.d.example".into(),
            Ok(vec![format!("v=DKIM1; p={}", RSA_512.trim())]),
        );
        let got = lookup(&t, "d.example", &["default".into(), "k1".into()]).await;
        assert_eq!(got.selectors_tried, 2);
        assert!(!got.domainkey_nxdomain);
        assert_eq!(got.keys.len(), 1);
        assert_eq!(
            (got.keys[0].selector.as_str(), got.keys[0].bits),
            ("k1", Some(512))
        );
    }

    #[tokio::test]
    async fn no_domainkey_name_spares_the_selectors() {
        use crate::dns::domain::tests::Table;
        let t = Table::default();
        let got = lookup(&t, "d.example", &["default".into(), "k1".into()]).await;
        assert_eq!(
            got,
            Dkim {
                domainkey_nxdomain: true,
                ..Dkim::default()
            }
        );
        // A failed question about the parent proves nothing: every selector is asked.
        let mut t = Table::default();
        t.txt
            .insert("_domainkey.d.example".into(), Err(LookupError::Timeout));
        let got = lookup(&t, "d.example", &["default".into(), "k1".into()]).await;
        assert_eq!((got.selectors_tried, got.domainkey_nxdomain), (2, false));
        // `--dkim-selectors none`: nothing is asked, not even the parent.
        let got = lookup(&t, "d.example", &[]).await;
        assert_eq!(got, Dkim::default());
    }
}
