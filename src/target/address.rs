//! One notion of an address: an IPv4 address written in IPv6 (IPv4-mapped `::ffff:a.b.c.d`,
//! or the deprecated IPv4-compatible `::a.b.c.d`, but never `::` or `::1`) is that IPv4
//! address wherever targets, DNS answers, excludes, scope entries and special blocks meet.
//!
//! A socket to `::ffff:127.0.5.21` reaches 127.0.5.21, so an exclude, a scope or a special
//! block written in IPv4 must cover it too. [`canonical`] is the one normalisation;
//! [`Address`] holds only its results (a set or a map keyed by `Address` cannot hold the
//! IPv6 spelling of an IPv4 address), and `RangeSet` takes every address through it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The IPv6 blocks that embed an IPv4 address in their last 32 bits, as inclusive
/// intervals of IPv6 bits, ascending: IPv4-compatible (`::/96` without `::` and `::1`,
/// RFC 4291 §2.5.5.1) and IPv4-mapped (`::ffff:0:0/96`, §2.5.5.2).
const EMBEDDING_V4: [(u128, u128); 2] = [(2, 0xffff_ffff), (0xffff_0000_0000, 0xffff_ffff_ffff)];

/// The IPv4 address an IPv6 address embeds (mapped or compatible), if it embeds one.
fn embedded_v4(bits: u128) -> Option<Ipv4Addr> {
    EMBEDDING_V4
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&bits))
        // The last 32 bits are the IPv4 address in both blocks.
        .then(|| Ipv4Addr::from_bits(bits as u32))
}

/// `ip` as one notion of an address: the IPv4 address an IPv4-mapped or IPv4-compatible
/// IPv6 address stands for; every other address unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6.to_bits()).map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// An address in canonical form (see [`canonical`]): the only way to make one normalises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(IpAddr);

impl Address {
    pub fn new(ip: IpAddr) -> Address {
        Address(canonical(ip))
    }

    pub fn ip(self) -> IpAddr {
        self.0
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Address {
        Address::new(ip)
    }
}

impl From<Address> for IpAddr {
    fn from(a: Address) -> IpAddr {
        a.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An inclusive interval of IPv6 addresses (as bits) in canonical form: the parts that
/// embed IPv4 addresses as IPv4 intervals, the rest as IPv6 intervals, each ascending.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SplitSpan {
    pub v4: Vec<(u32, u32)>,
    pub v6: Vec<(u128, u128)>,
}

/// Splits the IPv6 interval `start..=end` (bits) into canonical parts (empty when
/// `start > end`). Both embedding blocks map onto IPv4, so a wide IPv6 target such as
/// `::/64` holds all of IPv4, as a socket to it would.
pub fn split_v6_span(start: u128, end: u128) -> SplitSpan {
    let mut out = SplitSpan::default();
    if start > end {
        return out;
    }
    let mut from = start;
    for (lo, hi) in EMBEDDING_V4 {
        if hi < from {
            continue;
        }
        if lo > end {
            break;
        }
        if from < lo {
            out.v6.push((from, lo - 1));
        }
        // The last 32 bits are the IPv4 address in both blocks.
        out.v4.push((from.max(lo) as u32, end.min(hi) as u32));
        if end <= hi {
            return out;
        }
        from = hi + 1;
    }
    out.v6.push((from, end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("::ffff:127.0.5.21", "127.0.5.21"),
            ("::ffff:0.0.0.0", "0.0.0.0"),
            ("::ffff:255.255.255.255", "255.255.255.255"),
            ("::ffff:224.0.0.1", "224.0.0.1"),
            ("::127.0.5.21", "127.0.5.21"),
            ("::0.0.0.2", "0.0.0.2"),
            ("::255.255.255.255", "255.255.255.255"),
            // The unspecified and loopback addresses are IPv6 addresses of their own.
            ("::", "::"),
            ("::1", "::1"),
            // Just outside either block.
            ("::1:0:0", "::1:0:0"),
            ("::fffe:ffff:ffff", "::fffe:ffff:ffff"),
            ("::1:0:0:0", "::1:0:0:0"),
            // IPv4-translated (RFC 2765) and NAT64 (RFC 6052) are routed as IPv6.
            ("::ffff:0:7f00:1", "::ffff:0:7f00:1"),
            ("64:ff9b::7f00:1", "64:ff9b::7f00:1"),
            ("2001:db8::1", "2001:db8::1"),
            ("127.0.5.21", "127.0.5.21"),
        ];
        for (given, want) in cases {
            assert_eq!(canonical(ip(given)), ip(want), "{given}");
            assert_eq!(Address::new(ip(given)).ip(), ip(want), "{given}");
            assert_eq!(Address::from(ip(given)), Address::new(ip(want)), "{given}");
        }
        assert_eq!(
            Address::new(ip("::ffff:192.0.2.1")).to_string(),
            "192.0.2.1"
        );
    }

    #[test]
    fn spans_split_at_the_embedding_blocks() {
        let bits = |s: &str| s.parse::<Ipv6Addr>().unwrap().to_bits();
        let v4 = |s: &str| s.parse::<Ipv4Addr>().unwrap().to_bits();
        // (start, end, IPv4 parts, IPv6 parts)
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a [(&'a str, &'a str)],
        );
        let cases: &[Case] = &[
            (
                "2001:db8::",
                "2001:db8::ff",
                &[],
                &[("2001:db8::", "2001:db8::ff")],
            ),
            (
                "::ffff:224.0.0.0",
                "::ffff:224.0.0.255",
                &[("224.0.0.0", "224.0.0.255")],
                &[],
            ),
            (
                "::ffff:223.255.255.254",
                "::ffff:224.0.0.1",
                &[("223.255.255.254", "224.0.0.1")],
                &[],
            ),
            ("::", "::1", &[], &[("::", "::1")]),
            (
                "::",
                "::0.0.0.9",
                &[("0.0.0.2", "0.0.0.9")],
                &[("::", "::1")],
            ),
            (
                "::fffe:ffff:fffe",
                "::ffff:0.0.0.3",
                &[("0.0.0.0", "0.0.0.3")],
                &[("::fffe:ffff:fffe", "::fffe:ffff:ffff")],
            ),
            (
                "::ffff:255.255.255.254",
                "::1:0:0:1",
                &[("255.255.255.254", "255.255.255.255")],
                &[("::1:0:0:0", "::1:0:0:1")],
            ),
            // The whole space: both blocks cut out, both IPv4 ranges kept.
            (
                "::",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                &[
                    ("0.0.0.2", "255.255.255.255"),
                    ("0.0.0.0", "255.255.255.255"),
                ],
                &[
                    ("::", "::1"),
                    ("::1:0:0", "::fffe:ffff:ffff"),
                    ("::1:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                ],
            ),
        ];
        for (start, end, want4, want6) in cases {
            let got = split_v6_span(bits(start), bits(end));
            let want = SplitSpan {
                v4: want4.iter().map(|(a, b)| (v4(a), v4(b))).collect(),
                v6: want6.iter().map(|(a, b)| (bits(a), bits(b))).collect(),
            };
            assert_eq!(got, want, "{start}-{end}");
        }
        assert_eq!(split_v6_span(5, 4), SplitSpan::default());
    }
}
