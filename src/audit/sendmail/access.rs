//! RELAY entries in Sendmail's access database source (/etc/mail/access): networks wider than a site's, top-level domains, and sender-based relaying anyone can forge.
//!
//! Keys are `[Tag:]key`: an IPv4 prefix in dotted octets (`192.0.2` is a /24), `IPv6:` and
//! colon-separated groups, or a domain. `Connect:` keys match the client; `To:` the recipient;
//! `From:` the sender (relaying by sender needs FEATURE(`relay_mail_from')).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::McFacts;
use crate::assess::{FindingId, Mta};
use crate::audit::model::{AuditReport, InputError, Location, Source, Trusted};
use crate::audit::networks::{Reach, reach};

/// Audits an access database source. `mc` says which features the .mc file enables, if one
/// was given (From: RELAY entries matter only with relay_mail_from).
pub fn audit(
    src: &Source,
    mc: Option<&McFacts>,
    report: &mut AuditReport,
) -> Result<(), InputError> {
    for (i, raw) in src.text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(2, char::is_whitespace);
        let key = parts.next().unwrap_or("");
        let Some(action) = parts.next().map(str::trim).filter(|a| !a.is_empty()) else {
            return Err(InputError::new(
                &src.name,
                n,
                format!("{line:?}: expected `key action`"),
            ));
        };
        if !action.eq_ignore_ascii_case("relay") {
            continue;
        }
        let (tag, rest) = match key.split_once(':') {
            Some((t, r)) if matches!(t, "Connect" | "To" | "From") => (t, r),
            _ => ("", key),
        };
        let at = Location::at(&src.name, n);
        let finding = match (tag, prefix(rest)) {
            ("From", _) => {
                let enabled = mc.is_none_or(|m| m.features.iter().any(|f| f == "relay_mail_from"));
                enabled.then(|| {
                    (
                        FindingId::OpenRelay,
                        format!("{key} RELAY relays for any client that claims a sender at {rest:?}, and anyone can write that sender"),
                    )
                })
            }
            ("To", _) | (_, None)
                if !rest.trim_start_matches('.').contains('.') && rest != "localhost" =>
            {
                Some(if tag == "Connect" {
                    (
                        FindingId::TrustedNetworksTooWide,
                        format!("{key} RELAY trusts every client whose host name ends in .{rest}"),
                    )
                } else {
                    (
                        FindingId::RelayDomainsTooBroad,
                        format!(
                            "{key} RELAY relays to every domain under .{rest}, a whole top-level domain"
                        ),
                    )
                })
            }
            (_, Some((addr, len))) => match trust(report, tag, addr, len, &at) {
                Reach::Everyone | Reach::Wide => Some((
                    FindingId::TrustedNetworksTooWide,
                    format!(
                        "{key} RELAY trusts {addr}/{len}, a public network wider than one site's"
                    ),
                )),
                Reach::Local => None,
            },
            _ => None,
        };
        if let Some((id, detail)) = finding {
            let setting = if tag.is_empty() {
                "access".to_string()
            } else {
                format!("access {tag}:")
            };
            super::push(report, &at, &setting, id, detail, &src.text);
        }
    }
    Ok(())
}

/// Records a client network a `Connect:` (or untagged) RELAY entry trusts; its reach.
fn trust(report: &mut AuditReport, tag: &str, addr: IpAddr, len: u8, at: &Location) -> Reach {
    if tag != "To" {
        let setting = format!("access {}", if tag.is_empty() { "" } else { "Connect:" });
        report.trusted.push(Trusted::new(
            addr,
            len,
            at,
            setting.trim_end(),
            Mta::Sendmail,
        ));
    }
    reach(addr, len)
}

/// An access-map network key as (address, prefix length): `192.0.2` → 192.0.2.0/24,
/// `IPv6:2001:db8` → 2001:db8::/32. `None` for domain keys.
pub(super) fn prefix(key: &str) -> Option<(IpAddr, u8)> {
    if let Some(v6) = key.strip_prefix("IPv6:") {
        if let Ok(a) = v6.parse::<Ipv6Addr>() {
            return Some((IpAddr::V6(a), 128));
        }
        let groups: Vec<u16> = v6
            .split(':')
            .map(|g| u16::from_str_radix(g, 16))
            .collect::<Result<_, _>>()
            .ok()?;
        let segs: [u16; 8] = padded(&groups)?;
        return Some((IpAddr::V6(Ipv6Addr::from(segs)), (groups.len() * 16) as u8));
    }
    let octets: Vec<u8> = key
        .split('.')
        .map(|o| o.parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    let full: [u8; 4] = padded(&octets)?;
    Some((IpAddr::V4(Ipv4Addr::from(full)), (octets.len() * 8) as u8))
}

/// The leading parts of an address, zero-filled to its full size; `None` for no parts or too
/// many.
fn padded<T: Copy + Default, const N: usize>(parts: &[T]) -> Option<[T; N]> {
    if parts.is_empty() || parts.len() > N {
        return None;
    }
    let mut full = [T::default(); N];
    for (slot, part) in full.iter_mut().zip(parts) {
        *slot = *part;
    }
    Some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let table = [
            ("192.0.2", Some(("192.0.2.0", 24))),
            ("198", Some(("198.0.0.0", 8))),
            ("192.0.2.7", Some(("192.0.2.7", 32))),
            ("IPv6:2001:db8", Some(("2001:db8::", 32))),
            ("IPv6:2001:db8::1", Some(("2001:db8::1", 128))),
            ("example.com", None),
            ("com", None),
            ("1.2.3.4.5", None),
        ];
        for (key, want) in table {
            let want = want.map(|(a, l)| (a.parse::<IpAddr>().unwrap(), l));
            assert_eq!(prefix(key), want, "{key}");
        }
    }

    fn ids(text: &str, mc: Option<&McFacts>) -> Vec<(FindingId, Option<usize>)> {
        let mut r = AuditReport::default();
        audit(&Source::new("access", text), mc, &mut r).unwrap();
        r.findings.iter().map(|f| (f.finding.id, f.line)).collect()
    }

    #[test]
    fn relay_entries_table() {
        let text = "# local\nConnect:127.0.0.1 RELAY\nConnect:localhost RELAY\n\
                    Connect:198.51 RELAY\n203.0.113 RELAY\nIPv6:2001:db8 RELAY\n\
                    To:com RELAY\nTo:example.com RELAY\nConnect:net RELAY\n\
                    From:example.com RELAY\nConnect:198.51 REJECT\nspammer.example 550 go away\n";
        assert_eq!(
            ids(text, None),
            vec![
                (FindingId::TrustedNetworksTooWide, Some(4)),
                (FindingId::TrustedNetworksTooWide, Some(6)),
                (FindingId::RelayDomainsTooBroad, Some(7)),
                (FindingId::TrustedNetworksTooWide, Some(9)),
                (FindingId::OpenRelay, Some(10)),
            ]
        );
        // From: entries relay only with FEATURE(`relay_mail_from').
        let without = McFacts {
            features: vec!["access_db".into()],
        };
        assert!(ids("From:example.com RELAY\n", Some(&without)).is_empty());
        let with = McFacts {
            features: vec!["relay_mail_from".into()],
        };
        assert_eq!(ids("From:example.com RELAY\n", Some(&with)).len(), 1);
    }

    #[test]
    fn a_key_without_action_names_the_line() {
        let mut r = AuditReport::default();
        let e = audit(&Source::new("access", "a OK\nlonely\n"), None, &mut r).unwrap_err();
        assert_eq!(e.to_string(), "access:2: \"lonely\": expected `key action`");
    }
}
