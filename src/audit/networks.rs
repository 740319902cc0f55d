//! How wide a trusted network is: everyone, a public range wider than one site's, or a local one. Pure functions shared by the Postfix and Sendmail checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How far a trusted network reaches beyond the host itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every address (0.0.0.0/0, ::/0): whoever connects is trusted.
    Everyone,
    /// A public range wider than one site's (IPv4 wider than /24, IPv6 wider than /48), or a
    /// range wider than a /8 whatever it contains.
    Wide,
    /// Loopback, private, link-local or unique-local space, or a public range of site size.
    Local,
}

/// The reach of `addr/len`; `len` is clamped to the address size.
pub fn reach(addr: IpAddr, len: u8) -> Reach {
    match addr {
        IpAddr::V4(a) => reach_v4(a, len.min(32)),
        IpAddr::V6(a) => {
            // [::ffff:127.0.0.0]/104 is how Postfix writes IPv4 loopback as IPv6.
            if let Some(v4) = a.to_ipv4_mapped() {
                return reach_v4(v4, len.saturating_sub(96).min(32));
            }
            reach_v6(a, len.min(128))
        }
    }
}

fn reach_v4(a: Ipv4Addr, len: u8) -> Reach {
    if len == 0 {
        return Reach::Everyone;
    }
    // A /7 or wider spans more than any private block: wide whatever its base address.
    if len < 8 {
        return Reach::Wide;
    }
    let local = a.is_private() || a.is_loopback() || a.is_link_local();
    if !local && len < 24 {
        Reach::Wide
    } else {
        Reach::Local
    }
}

fn reach_v6(a: Ipv6Addr, len: u8) -> Reach {
    if len == 0 {
        return Reach::Everyone;
    }
    let seg = a.segments()[0];
    let unique_local = seg & 0xfe00 == 0xfc00;
    let link_local = seg & 0xffc0 == 0xfe80;
    let local = a.is_loopback() || unique_local || link_local;
    if len < 7 || (!local && len < 48) {
        Reach::Wide
    } else {
        Reach::Local
    }
}

/// Parses a network as configuration files write it: `192.0.2.0/24`, `192.0.2.7`,
/// `[2001:db8::]/32`, `2001:db8::/32`, `[::1]`. `None` for anything else (host names, tables).
pub fn parse_network(s: &str) -> Option<(IpAddr, u8)> {
    let (host, len) = match s.split_once('/') {
        Some((h, l)) => (h, Some(l.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let addr: IpAddr = host.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_table() {
        let table = [
            ("0.0.0.0/0", Reach::Everyone),
            ("[::]/0", Reach::Everyone),
            ("127.0.0.0/8", Reach::Local),
            ("[::ffff:127.0.0.0]/104", Reach::Local),
            ("[::1]/128", Reach::Local),
            ("[fd00::]/8", Reach::Local),
            ("[fe80::]/64", Reach::Local),
            ("203.0.113.0/24", Reach::Local),
            ("203.0.113.7", Reach::Local),
            ("198.51.100.0/22", Reach::Wide),
            ("2001:db8::/32", Reach::Wide),
            ("[2001:db8:1::]/48", Reach::Local),
            ("0.0.0.0/1", Reach::Wide),
            ("128.0.0.0/1", Reach::Wide),
            ("[::ffff:0.0.0.0]/96", Reach::Everyone),
        ];
        for (text, want) in table {
            let (addr, len) = parse_network(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(reach(addr, len), want, "{text}");
        }
    }

    #[test]
    fn parse_refuses_what_is_not_a_network() {
        for bad in [
            "localhost",
            "hash:/etc/postfix/network",
            "192.0.2.0/33",
            "[::1]/129",
            "",
        ] {
            assert_eq!(parse_network(bad), None, "{bad}");
        }
    }
}
