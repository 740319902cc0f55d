//! Address literals (RFC 5321 §4.1.3): `[192.0.2.1]` and `[IPv6:2001:db8::1]`, written for
//! an address and read back from what a server says, never taken on looks alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The tag of an IPv6 address literal; ABNF strings match without regard to case.
const IPV6_TAG: &str = "IPv6:";

/// The address literal for an IP, as RFC 5321 §4.1.3 writes it.
pub fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[{IPV6_TAG}{v6}]"),
    }
}

/// The address of a literal written as RFC 5321 §4.1.3 has it: a dotted quad in brackets,
/// or `IPv6:` and an IPv6 address in brackets. Anything else in brackets (`[x:DATA]`, an
/// untagged `[2001:db8::1]`, a general literal such as `[x400:...]`) is no address.
pub fn parse_address_literal(text: &str) -> Option<IpAddr> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..IPV6_TAG.len()) {
        Some(tag) if tag.eq_ignore_ascii_case(IPV6_TAG) => inner[IPV6_TAG.len()..]
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6),
        _ => inner.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_parse_only_as_addresses() {
        let cases: &[(&str, Option<&str>)] = &[
            ("[192.0.2.1]", Some("192.0.2.1")),
            ("[IPv6:2001:db8::1]", Some("2001:db8::1")),
            ("[ipv6:2001:db8::1]", Some("2001:db8::1")),
            ("[IPv6:::1]", Some("::1")),
            ("[IPv6:::ffff:192.0.2.1]", Some("::ffff:192.0.2.1")),
            // Looks like a literal, is none: the greeting `220 [x:DATA] ESMTP`.
            ("[x:DATA]", None),
            ("[not an address]", None),
            ("[]", None),
            ("[IPv6:]", None),
            // The tag is required for IPv6 and refused for IPv4.
            ("[2001:db8::1]", None),
            ("[IPv6:192.0.2.1]", None),
            ("[192.0.2.300]", None),
            ("[192.0.2]", None),
            ("[192.0.2.1", None),
            ("192.0.2.1]", None),
            ("192.0.2.1", None),
            ("[ 192.0.2.1]", None),
            // A general address literal names no IP address.
            ("[x400:c=us;a=;p=x]", None),
        ];
        for (text, want) in cases {
            let want = want.map(|w| w.parse::<IpAddr>().unwrap());
            assert_eq!(parse_address_literal(text), want, "{text}");
        }
    }

    #[test]
    fn written_literals_read_back() {
        for ip in ["192.0.2.1", "2001:db8::1", "::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(parse_address_literal(&address_literal(ip)), Some(ip));
        }
        assert_eq!(
            address_literal("2001:db8::1".parse().unwrap()),
            "[IPv6:2001:db8::1]"
        );
        assert_eq!(address_literal("192.0.2.1".parse().unwrap()), "[192.0.2.1]");
    }
}
