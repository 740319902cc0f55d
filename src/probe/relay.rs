//! The relay test catalogue as data: MAIL FROM / RCPT TO templates, one line per variant.
//!
//! Placeholders: `{FL}`/`{FD}` the sender's local part and domain, `{RL}`/`{D}` the
//! recipient's local part and domain, `{S}` the server's own name (greeting, else EHLO),
//! `{IP}` the target's address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).

use std::net::IpAddr;

use crate::smtp::address_literal;

/// One relay test: the envelope it sends. Never a message: the dialogue stops at RCPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayTest {
    pub id: u8,
    pub mail_from: &'static str,
    pub rcpt_to: &'static str,
    /// What the variant probes, for reports and the manual (docs/verdicts.md).
    pub about: &'static str,
}

const fn test(
    id: u8,
    mail_from: &'static str,
    rcpt_to: &'static str,
    about: &'static str,
) -> RelayTest {
    RelayTest {
        id,
        mail_from,
        rcpt_to,
        about,
    }
}

/// nmap's 16 variants (NOTES.md), in nmap's order so results compare line by line.
pub const CATALOGUE: [RelayTest; 16] = [
    test(
        1,
        "<>",
        "<{RL}@{D}>",
        "null sender (bounce) to a foreign domain",
    ),
    test(
        2,
        "<{FL}@{FD}>",
        "<{RL}@{D}>",
        "foreign sender to a foreign domain",
    ),
    test(
        3,
        "<{FL}@{S}>",
        "<{RL}@{D}>",
        "sender forged at the server's own name",
    ),
    test(
        4,
        "<{FL}@{IP}>",
        "<{RL}@{D}>",
        "sender at the server's address literal",
    ),
    test(
        5,
        "<{FL}@{IP}>",
        "<{RL}%{D}@{IP}>",
        "percent hack at the address literal",
    ),
    test(
        6,
        "<{FL}@{IP}>",
        "<{RL}%{D}@{S}>",
        "percent hack at the server's name",
    ),
    test(7, "<{FL}@{IP}>", "<\"{RL}@{D}\">", "quoted foreign address"),
    test(8, "<{FL}@{IP}>", "<\"{RL}%{D}\">", "quoted percent hack"),
    test(
        9,
        "<{FL}@{IP}>",
        "<{RL}@{D}@{IP}>",
        "double @ at the address literal",
    ),
    test(
        10,
        "<{FL}@{IP}>",
        "<\"{RL}@{D}\"@{IP}>",
        "quoted foreign address at the literal",
    ),
    test(
        11,
        "<{FL}@{IP}>",
        "<{RL}@{D}@{S}>",
        "double @ at the server's name",
    ),
    test(
        12,
        "<{FL}@{IP}>",
        "<@{IP}:{RL}@{D}>",
        "source route through the literal",
    ),
    test(
        13,
        "<{FL}@{IP}>",
        "<@{S}:{RL}@{D}>",
        "source route through the server's name",
    ),
    test(14, "<{FL}@{IP}>", "<{D}!{RL}>", "UUCP bang path"),
    test(
        15,
        "<{FL}@{IP}>",
        "<{D}!{RL}@{IP}>",
        "bang path at the address literal",
    ),
    test(
        16,
        "<{FL}@{IP}>",
        "<{D}!{RL}@{S}>",
        "bang path at the server's name",
    ),
];

/// Who the probe claims to be and whom it writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub from_local: String,
    pub from_domain: String,
    pub rcpt_local: String,
    pub rcpt_domain: String,
}

impl Identity {
    /// Builds an identity from `local@domain` addresses; the error names the bad one.
    pub fn new(mail_from: &str, rcpt_to: &str) -> Result<Identity, String> {
        let (from_local, from_domain) =
            split_mailbox(mail_from).map_err(|e| format!("--mail-from {mail_from:?}: {e}"))?;
        let (rcpt_local, rcpt_domain) =
            split_mailbox(rcpt_to).map_err(|e| format!("--rcpt-to {rcpt_to:?}: {e}"))?;
        Ok(Identity {
            from_local,
            from_domain,
            rcpt_local,
            rcpt_domain,
        })
    }
}

/// Splits `local@domain`, refusing what cannot go into a template safely.
pub fn split_mailbox(address: &str) -> Result<(String, String), String> {
    let (local, domain) = address.rsplit_once('@').ok_or("expected local@domain")?;
    let is_atext = |c: char| c.is_ascii_alphanumeric() || "!#$&'*+-/=?^_`{|}~.".contains(c);
    if local.is_empty()
        || !local.chars().all(is_atext)
        || local.starts_with('.')
        || local.ends_with('.')
    {
        return Err("the local part must be plain letters, digits and dot-atom characters".into());
    }
    let is_label_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(is_label_char));
    if domain.is_empty() || domain.len() > 253 || !labels_ok {
        return Err("the domain must be a host name such as example.com".into());
    }
    Ok((local.to_string(), domain.to_ascii_lowercase()))
}

/// Fills a template; `server_name` falls back to the address literal when the server gave none.
pub fn render(
    template: &str,
    identity: &Identity,
    server_name: Option<&str>,
    ip: IpAddr,
) -> String {
    Envelopes::new(identity, server_name, ip).render(template)
}

/// The values of one host's templates, worked out once for the whole catalogue.
pub struct Envelopes<'a> {
    identity: &'a Identity,
    server_name: Option<&'a str>,
    literal: String,
}

impl<'a> Envelopes<'a> {
    pub fn new(identity: &'a Identity, server_name: Option<&'a str>, ip: IpAddr) -> Self {
        Envelopes {
            identity,
            server_name,
            literal: address_literal(ip),
        }
    }

    /// The values of [`PLACEHOLDERS`], in order.
    fn values(&self) -> [&str; 6] {
        let identity = self.identity;
        let literal = self.literal.as_str();
        [
            identity.from_local.as_str(),
            identity.from_domain.as_str(),
            identity.rcpt_local.as_str(),
            identity.rcpt_domain.as_str(),
            self.server_name.unwrap_or(literal),
            literal,
        ]
    }

    /// One template filled in one pass. A value is never filled in turn: a server that
    /// calls itself "{IP}" (the name comes from its own greeting) gets exactly that name in
    /// the envelope, not a placeholder that steers which address we test.
    pub fn render(&self, template: &str) -> String {
        fill(template, &self.values())
    }
}

/// The placeholders in the order of [`render`]'s values.
const PLACEHOLDERS: [&str; 6] = ["{FL}", "{FD}", "{RL}", "{D}", "{S}", "{IP}"];

/// Fills every placeholder in one pass, the output sized once.
fn fill(template: &str, values: &[&str; 6]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.len()).sum::<usize>());
    let mut rest = template;
    // A byte scan: templates are a few dozen bytes, too short for memchr to pay off.
    while let Some(open) = rest.bytes().position(|b| b == b'{') {
        // `{` is ASCII, so `open` is a char boundary; the check cannot fail.
        let Some((before, at)) = rest.split_at_checked(open) else {
            break;
        };
        out.push_str(before);
        let hit = PLACEHOLDERS
            .iter()
            .zip(values)
            .find(|(p, _)| at.starts_with(**p));
        match hit {
            Some((p, v)) => {
                out.push_str(v);
                rest = at.get(p.len()..).unwrap_or_default();
            }
            None => {
                out.push('{');
                rest = at.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// The control recipient: a random mailbox at a random domain under `.invalid` (RFC 2606),
/// which no real MTA can route. Accepting it means the server accepts anything at RCPT.
pub fn control_recipient(token: u64) -> String {
    format!(
        "<rs{token:016x}@nx-{:08x}.invalid>",
        token.rotate_left(17) as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn identity() -> Identity {
        Identity::new("antispam@example.org", "relaytest@example.com").unwrap()
    }

    #[test]
    fn catalogue_ids_are_one_to_sixteen_in_order() {
        let ids: Vec<u8> = CATALOGUE.iter().map(|t| t.id).collect();
        assert_eq!(ids, (1..=16).collect::<Vec<u8>>());
    }

    #[test]
    fn renders_every_variant_like_nmap() {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let id = identity();
        let cases: [(u8, &str, &str); 6] = [
            (1, "<>", "<relaytest@example.com>"),
            (3, "<antispam@mx.example.net>", "<relaytest@example.com>"),
            (
                5,
                "<antispam@[192.0.2.7]>",
                "<relaytest%example.com@[192.0.2.7]>",
            ),
            (
                10,
                "<antispam@[192.0.2.7]>",
                "<\"relaytest@example.com\"@[192.0.2.7]>",
            ),
            (
                13,
                "<antispam@[192.0.2.7]>",
                "<@mx.example.net:relaytest@example.com>",
            ),
            (
                16,
                "<antispam@[192.0.2.7]>",
                "<example.com!relaytest@mx.example.net>",
            ),
        ];
        for (n, from, rcpt) in cases {
            let t = CATALOGUE[usize::from(n) - 1];
            assert_eq!(
                render(t.mail_from, &id, Some("mx.example.net"), ip),
                from,
                "test {n}"
            );
            assert_eq!(
                render(t.rcpt_to, &id, Some("mx.example.net"), ip),
                rcpt,
                "test {n}"
            );
        }
    }

    #[test]
    fn one_pass_fill_matches_the_chain_of_replacements_for_plain_values() {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        for name in [None, Some("mx.example.net")] {
            let id = identity();
            let literal = address_literal(ip);
            let templates = CATALOGUE
                .iter()
                .flat_map(|t| [t.mail_from, t.rcpt_to])
                .chain(["<{FL}@{FD}>", "{", "{X}{", "}{D}{{D}}"]);
            for template in templates {
                let chained = template
                    .replace("{FL}", &id.from_local)
                    .replace("{FD}", &id.from_domain)
                    .replace("{RL}", &id.rcpt_local)
                    .replace("{D}", &id.rcpt_domain)
                    .replace("{S}", name.unwrap_or(&literal))
                    .replace("{IP}", &literal);
                assert_eq!(
                    render(template, &id, name, ip),
                    chained,
                    "{template} {name:?}"
                );
            }
        }
    }

    #[test]
    fn values_holding_placeholders_are_never_filled_in_turn() {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let odd = Identity::new("a{D}c@example.org", "r{x@example.com").unwrap();
        let cases = [
            ("<{FL}@{S}>", Some("{IP}"), "<antispam@{IP}>"),
            ("<{RL}@{S}>", Some("{S}{FL}"), "<relaytest@{S}{FL}>"),
            ("<{RL}%{D}@{S}>", Some("{"), "<relaytest%example.com@{>"),
            ("<{RL}@[{IP}]>", None, "<relaytest@[[192.0.2.7]]>"),
        ];
        for (template, name, expected) in cases {
            assert_eq!(
                render(template, &identity(), name, ip),
                expected,
                "{template}"
            );
        }
        assert_eq!(
            render("<{FL}@{FD}> {RL}", &odd, None, ip),
            "<a{D}c@example.org> r{x"
        );
    }

    #[test]
    fn server_name_falls_back_to_the_literal_and_ipv6_is_tagged() {
        let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let t = CATALOGUE[2];
        assert_eq!(
            render(t.mail_from, &identity(), None, ip),
            "<antispam@[IPv6:::1]>"
        );
    }

    #[test]
    fn split_mailbox_table() {
        let good = [
            ("a@b.c", ("a", "b.c")),
            (
                "first.last+tag@Example.COM",
                ("first.last+tag", "example.com"),
            ),
        ];
        for (input, (l, d)) in good {
            assert_eq!(
                split_mailbox(input).unwrap(),
                (l.to_string(), d.to_string()),
                "{input}"
            );
        }
        for bad in [
            "",
            "nobody",
            "@b.c",
            "a@",
            "a b@c.d",
            "a@b..c",
            "a@[1.2.3.4]",
            "a\r\n@b.c",
            ".a@b.c",
            "a@b_c.d",
        ] {
            assert!(split_mailbox(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn control_recipient_is_under_invalid_and_varies() {
        let a = control_recipient(1);
        let b = control_recipient(2);
        assert!(a.ends_with(".invalid>") && a.starts_with("<rs"));
        assert_ne!(a, b);
        assert!(split_mailbox(a.trim_matches(|c| c == '<' || c == '>')).is_ok());
    }
}
