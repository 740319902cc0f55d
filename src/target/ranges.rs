//! `RangeSet`: a set of IP addresses as sorted, merged, inclusive intervals (IPv4 and IPv6
//! apart), with O(log n) membership and index → address. Memory grows with the number of
//! intervals, never with the number of addresses: a /8 is one interval. Every address
//! enters and is looked up in canonical form (`super::address`): the set never holds the
//! IPv6 spelling of an IPv4 address, so `::ffff:192.0.2.1` is found where 192.0.2.1 is.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use ipnetwork::IpNetwork;

use super::address::{Address, split_v6_span};

/// An address width the interval arithmetic works over (u32 for IPv4, u128 for IPv6).
trait Point: Copy + Ord + fmt::Debug {
    fn to_u128(self) -> u128;
    /// Callers only pass values that came from `to_u128` of the same width.
    fn from_u128(v: u128) -> Self;
    fn succ(self) -> Option<Self>;
    fn pred(self) -> Option<Self>;
}

impl Point for u32 {
    fn to_u128(self) -> u128 {
        u128::from(self)
    }
    fn from_u128(v: u128) -> Self {
        v as u32
    }
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Option<Self> {
        self.checked_sub(1)
    }
}

impl Point for u128 {
    fn to_u128(self) -> u128 {
        self
    }
    fn from_u128(v: u128) -> Self {
        v
    }
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Option<Self> {
        self.checked_sub(1)
    }
}

/// Sorted, disjoint, non-adjacent inclusive intervals of one width.
#[derive(Debug, Clone)]
struct Intervals<T> {
    spans: Vec<(T, T)>,
    /// `prefix[i]` = how many points lie in `spans[..i]`. Exclusive sums never overflow
    /// u128 (only the total of the entire IPv6 space, 2^128, would). Computed on first
    /// use after a change, so a run of inserts costs no repeated O(n) rebuilds, and
    /// `nth` stays O(log n) through `&self`.
    prefix: OnceLock<Vec<u128>>,
}

impl<T> Default for Intervals<T> {
    fn default() -> Self {
        Intervals {
            spans: Vec::new(),
            prefix: OnceLock::new(),
        }
    }
}

impl<T: Point> Intervals<T> {
    fn changed(&mut self) {
        self.prefix = OnceLock::new();
    }

    fn prefix(&self) -> &[u128] {
        self.prefix.get_or_init(|| {
            let mut acc = 0u128;
            self.spans
                .iter()
                .map(|&(s, e)| {
                    let before = acc;
                    // Saturates only after the last span of a full IPv6 space.
                    acc = acc
                        .saturating_add(e.to_u128() - s.to_u128())
                        .saturating_add(1);
                    before
                })
                .collect()
        })
    }

    fn insert(&mut self, start: T, end: T) {
        if start > end {
            return;
        }
        // First span that touches [start, end] or is adjacent to it on the left...
        let i = self
            .spans
            .partition_point(|&(_, e)| e.succ().is_some_and(|n| n < start));
        // ...and the first span entirely to the right, not adjacent.
        let j = self
            .spans
            .partition_point(|&(s, _)| end.succ().is_none_or(|n| s <= n));
        let (mut lo, mut hi) = (start, end);
        if i < j {
            lo = lo.min(self.spans[i].0);
            hi = hi.max(self.spans[j - 1].1);
        }
        self.spans.splice(i..j, [(lo, hi)]);
        self.changed();
    }

    /// Merges another sorted list in O(n + m).
    fn union_with(&mut self, other: &Intervals<T>) {
        if other.spans.is_empty() {
            return;
        }
        let mut merged: Vec<(T, T)> = Vec::with_capacity(self.spans.len() + other.spans.len());
        let (mut a, mut b) = (self.spans.iter().peekable(), other.spans.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            let &(s, e) = next.expect("peeked");
            match merged.last_mut() {
                Some(last) if last.1.succ().is_none_or(|n| s <= n) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.spans = merged;
        self.changed();
    }

    /// Removes every point of `other`, splitting spans where needed, in O(n + m).
    fn subtract(&mut self, other: &Intervals<T>) {
        if other.spans.is_empty() || self.spans.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.spans.len());
        let mut j = 0;
        for &(s, e) in &self.spans {
            while j < other.spans.len() && other.spans[j].1 < s {
                j += 1;
            }
            let mut cur = Some(s);
            let mut k = j;
            while let Some(c) = cur {
                let Some(&(os, oe)) = other.spans.get(k) else {
                    break;
                };
                if os > e {
                    break;
                }
                if os > c {
                    out.push((c, os.pred().expect("os > c >= 0")));
                }
                cur = if oe >= e { None } else { oe.succ() };
                k += 1;
            }
            if let Some(c) = cur {
                out.push((c, e));
            }
        }
        self.spans = out;
        self.changed();
    }

    fn contains(&self, x: T) -> bool {
        let i = self.spans.partition_point(|&(s, _)| s <= x);
        i > 0 && self.spans[i - 1].1 >= x
    }

    /// Number of points, saturating at u128::MAX for the entire IPv6 space.
    fn count(&self) -> u128 {
        match self.spans.last() {
            None => 0,
            Some(&(s, e)) => {
                let before = *self.prefix().last().expect("one per span");
                before
                    .saturating_add(e.to_u128() - s.to_u128())
                    .saturating_add(1)
            }
        }
    }

    fn nth(&self, index: u128) -> Option<T> {
        let prefix = self.prefix();
        let i = prefix.partition_point(|&p| p <= index).checked_sub(1)?;
        let (s, e) = self.spans[i];
        let offset = index - prefix[i];
        (offset <= e.to_u128() - s.to_u128()).then(|| T::from_u128(s.to_u128() + offset))
    }
}

/// A set of IPv4 and IPv6 addresses kept as intervals.
///
/// Order (for `nth` and `iter`): all IPv4 addresses ascending, then all IPv6 ascending,
/// which is also the order of `IpAddr`'s `Ord`.
#[derive(Debug, Clone, Default)]
pub struct RangeSet {
    v4: Intervals<u32>,
    v6: Intervals<u128>,
}

impl PartialEq for RangeSet {
    fn eq(&self, other: &Self) -> bool {
        self.v4.spans == other.v4.spans && self.v6.spans == other.v6.spans
    }
}

impl Eq for RangeSet {}

impl RangeSet {
    pub fn new() -> Self {
        RangeSet::default()
    }

    pub fn insert_addr(&mut self, ip: impl Into<Address>) {
        let ip = ip.into().ip();
        self.insert_range(ip, ip);
    }

    /// Inserts every address `a` with `start <= a <= end` in `IpAddr`'s order, so a
    /// backwards pair inserts nothing and (never produced by the spec parser) an IPv4
    /// start with an IPv6 end covers the tail of IPv4 and the head of IPv6. The IPv6 part
    /// is split: what embeds IPv4 addresses goes in as those IPv4 addresses.
    pub fn insert_range(&mut self, start: IpAddr, end: IpAddr) {
        match (start, end) {
            (IpAddr::V4(a), IpAddr::V4(b)) => self.v4.insert(a.to_bits(), b.to_bits()),
            (IpAddr::V6(a), IpAddr::V6(b)) => self.insert_v6(a.to_bits(), b.to_bits()),
            (IpAddr::V4(a), IpAddr::V6(b)) => {
                self.v4.insert(a.to_bits(), u32::MAX);
                self.insert_v6(0, b.to_bits());
            }
            (IpAddr::V6(_), IpAddr::V4(_)) => {}
        }
    }

    fn insert_v6(&mut self, start: u128, end: u128) {
        let split = split_v6_span(start, end);
        for (a, b) in split.v4 {
            self.v4.insert(a, b);
        }
        for (a, b) in split.v6 {
            self.v6.insert(a, b);
        }
    }

    pub fn insert_net(&mut self, net: IpNetwork) {
        self.insert_range(net.network(), net.broadcast());
    }

    /// Adds every address of `other`.
    pub fn union_with(&mut self, other: &RangeSet) {
        self.v4.union_with(&other.v4);
        self.v6.union_with(&other.v6);
    }

    /// Removes every address of `other`.
    pub fn subtract(&mut self, other: &RangeSet) {
        self.v4.subtract(&other.v4);
        self.v6.subtract(&other.v6);
    }

    pub fn contains(&self, ip: impl Into<Address>) -> bool {
        match ip.into().ip() {
            IpAddr::V4(a) => self.v4.contains(a.to_bits()),
            IpAddr::V6(a) => self.v6.contains(a.to_bits()),
        }
    }

    /// Number of addresses. Fits a u128 for every set: the IPv6 blocks that embed IPv4
    /// are held as IPv4, so the largest set (everything) holds 2^128 - 2^32 + 2. Saturating
    /// all the same, since a plan sums the sets of many ports.
    pub fn len(&self) -> u128 {
        self.v4.count().saturating_add(self.v6.count())
    }

    pub fn is_empty(&self) -> bool {
        self.v4.spans.is_empty() && self.v6.spans.is_empty()
    }

    /// The address at `index` in set order, by binary search over cached prefix sums.
    pub fn nth(&self, index: u128) -> Option<IpAddr> {
        let n4 = self.v4.count();
        if index < n4 {
            self.v4
                .nth(index)
                .map(|a| IpAddr::V4(Ipv4Addr::from_bits(a)))
        } else {
            self.v6
                .nth(index - n4)
                .map(|a| IpAddr::V6(Ipv6Addr::from_bits(a)))
        }
    }

    /// Every address in set order, generated lazily from the intervals.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v4 = self
            .v4
            .spans
            .iter()
            .flat_map(|&(s, e)| (s..=e).map(|a| IpAddr::V4(Ipv4Addr::from_bits(a))));
        let v6 = self
            .v6
            .spans
            .iter()
            .flat_map(|&(s, e)| (s..=e).map(|a| IpAddr::V6(Ipv6Addr::from_bits(a))));
        v4.chain(v6)
    }

    /// The intervals themselves (inclusive), in set order.
    pub fn ranges(&self) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
        let v4 = self.v4.spans.iter().map(|&(s, e)| {
            (
                IpAddr::V4(Ipv4Addr::from_bits(s)),
                IpAddr::V4(Ipv4Addr::from_bits(e)),
            )
        });
        let v6 = self.v6.spans.iter().map(|&(s, e)| {
            (
                IpAddr::V6(Ipv6Addr::from_bits(s)),
                IpAddr::V6(Ipv6Addr::from_bits(e)),
            )
        });
        v4.chain(v6)
    }

    /// Number of intervals (the memory cost of the set).
    pub fn ranges_len(&self) -> usize {
        self.v4.spans.len() + self.v6.spans.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn set(items: &[&str]) -> RangeSet {
        let mut set = RangeSet::new();
        for item in items {
            if let Some((a, b)) = item.split_once('-') {
                set.insert_range(ip(a), ip(b));
            } else if item.contains('/') {
                set.insert_net(item.parse().unwrap());
            } else {
                set.insert_addr(ip(item));
            }
        }
        set
    }

    fn spans(set: &RangeSet) -> Vec<String> {
        set.ranges().map(|(a, b)| format!("{a}-{b}")).collect()
    }

    #[test]
    fn merging() {
        let cases: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["127.0.0.1"], &["127.0.0.1-127.0.0.1"]),
            (&["127.0.0.1", "127.0.0.1"], &["127.0.0.1-127.0.0.1"]),
            // Adjacent on either side merges.
            (&["127.0.0.1", "127.0.0.2"], &["127.0.0.1-127.0.0.2"]),
            (&["127.0.0.2", "127.0.0.1"], &["127.0.0.1-127.0.0.2"]),
            (
                &["127.0.0.1", "127.0.0.3"],
                &["127.0.0.1-127.0.0.1", "127.0.0.3-127.0.0.3"],
            ),
            (
                &["127.0.0.1", "127.0.0.3", "127.0.0.2"],
                &["127.0.0.1-127.0.0.3"],
            ),
            // Overlapping and contained.
            (
                &["127.0.0.0/24", "127.0.0.128/25"],
                &["127.0.0.0-127.0.0.255"],
            ),
            (
                &["127.0.0.10-127.0.0.20", "127.0.0.15-127.0.0.30"],
                &["127.0.0.10-127.0.0.30"],
            ),
            (
                &["127.0.0.0/24", "127.0.1.0/24"],
                &["127.0.0.0-127.0.1.255"],
            ),
            // One insert bridging several spans.
            (
                &[
                    "127.0.0.1",
                    "127.0.0.5",
                    "127.0.0.9",
                    "127.0.0.20",
                    "127.0.0.2-127.0.0.9",
                ],
                &["127.0.0.1-127.0.0.9", "127.0.0.20-127.0.0.20"],
            ),
            // The ends of the space.
            (
                &["255.255.255.255", "255.255.255.254"],
                &["255.255.255.254-255.255.255.255"],
            ),
            (&["0.0.0.0", "0.0.0.1"], &["0.0.0.0-0.0.0.1"]),
            (
                &["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
                &[
                    "::-::",
                    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                ],
            ),
            // Families stay apart, IPv4 first.
            (
                &["2001:db8::1", "127.0.0.1"],
                &["127.0.0.1-127.0.0.1", "2001:db8::1-2001:db8::1"],
            ),
            (
                &["2001:db8::/120", "2001:db8::100"],
                &["2001:db8::-2001:db8::100"],
            ),
            // Backwards pair inserts nothing.
            (&["127.0.0.9-127.0.0.1"], &[]),
        ];
        for (items, want) in cases {
            assert_eq!(spans(&set(items)), *want, "items {items:?}");
        }
    }

    #[test]
    fn subtraction() {
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            // Splitting one interval in two.
            (
                &["127.0.0.0/24"],
                &["127.0.0.10"],
                &["127.0.0.0-127.0.0.9", "127.0.0.11-127.0.0.255"],
            ),
            (
                &["127.0.0.0/24"],
                &["127.0.0.10-127.0.0.19", "127.0.0.30-127.0.0.39"],
                &[
                    "127.0.0.0-127.0.0.9",
                    "127.0.0.20-127.0.0.29",
                    "127.0.0.40-127.0.0.255",
                ],
            ),
            // Trimming ends, removing all, removing nothing.
            (
                &["127.0.0.0/24"],
                &["127.0.0.0"],
                &["127.0.0.1-127.0.0.255"],
            ),
            (
                &["127.0.0.0/24"],
                &["127.0.0.255"],
                &["127.0.0.0-127.0.0.254"],
            ),
            (&["127.0.0.0/24"], &["127.0.0.0/16"], &[]),
            (
                &["127.0.0.0/24"],
                &["127.0.1.0/24"],
                &["127.0.0.0-127.0.0.255"],
            ),
            // One exclude covering several spans, and spans around it.
            (
                &["127.0.0.1", "127.0.0.3", "127.0.0.5", "127.0.0.7"],
                &["127.0.0.2-127.0.0.6"],
                &["127.0.0.1-127.0.0.1", "127.0.0.7-127.0.0.7"],
            ),
            (
                &["127.0.0.1-127.0.0.4", "127.0.0.8-127.0.0.12"],
                &["127.0.0.3-127.0.0.9"],
                &["127.0.0.1-127.0.0.2", "127.0.0.10-127.0.0.12"],
            ),
            // At the top of the space (no successor exists).
            (
                &["255.255.255.0/24"],
                &["255.255.255.255"],
                &["255.255.255.0-255.255.255.254"],
            ),
            (&["0.0.0.0/0"], &["0.0.0.0"], &["0.0.0.1-255.255.255.255"]),
            // IPv6 and families kept apart.
            (
                &["2001:db8::/120", "127.0.0.1"],
                &["2001:db8::80/121", "127.0.0.2"],
                &["127.0.0.1-127.0.0.1", "2001:db8::-2001:db8::7f"],
            ),
        ];
        for (base, minus, want) in cases {
            let mut s = set(base);
            s.subtract(&set(minus));
            assert_eq!(spans(&s), *want, "{base:?} - {minus:?}");
        }
    }

    #[test]
    fn union_matches_inserts() {
        let a = [
            "127.0.0.1",
            "127.0.0.5-127.0.0.9",
            "127.0.1.0/24",
            "2001:db8::1",
        ];
        let b = [
            "127.0.0.2",
            "127.0.0.10",
            "127.0.0.200",
            "2001:db8::2-2001:db8::5",
        ];
        let mut merged = set(&a);
        merged.union_with(&set(&b));
        let all: Vec<&str> = a.iter().chain(&b).copied().collect();
        assert_eq!(merged, set(&all));
        assert_eq!(
            spans(&merged),
            [
                "127.0.0.1-127.0.0.2",
                "127.0.0.5-127.0.0.10",
                "127.0.0.200-127.0.0.200",
                "127.0.1.0-127.0.1.255",
                "2001:db8::1-2001:db8::5",
            ]
        );
    }

    #[test]
    fn membership() {
        let s = set(&["127.0.0.0/24", "127.0.2.5", "2001:db8::/126"]);
        let cases = [
            ("127.0.0.0", true),
            ("127.0.0.255", true),
            ("127.0.1.0", false),
            ("126.255.255.255", false),
            ("127.0.2.5", true),
            ("127.0.2.4", false),
            ("127.0.2.6", false),
            ("2001:db8::3", true),
            ("2001:db8::4", false),
            // The IPv6 spellings of 127.0.0.1 and 127.0.2.5 (compatible, mapped).
            ("::7f00:1", true),
            ("::ffff:127.0.2.5", true),
            ("::ffff:127.0.2.6", false),
        ];
        for (addr, want) in cases {
            assert_eq!(s.contains(ip(addr)), want, "{addr}");
        }
    }

    #[test]
    fn ipv6_spellings_of_ipv4_are_ipv4() {
        // (inserted, subtracted, kept ranges): whichever side is spelt in IPv6.
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (&["::ffff:127.0.5.21"], &[], &["127.0.5.21-127.0.5.21"]),
            (&["::ffff:127.0.5.21"], &["127.0.5.21"], &[]),
            (&["127.0.5.21"], &["::ffff:127.0.5.21"], &[]),
            (&["127.0.5.21"], &["::127.0.5.21"], &[]),
            (&["::ffff:224.0.0.0/120"], &[], &["224.0.0.0-224.0.0.255"]),
            (
                &["::ffff:127.0.5.0/126", "127.0.5.4"],
                &["127.0.5.1"],
                &["127.0.5.0-127.0.5.0", "127.0.5.2-127.0.5.4"],
            ),
            (
                &["::fffe:ffff:ffff-::ffff:0.0.0.1"],
                &[],
                &["0.0.0.0-0.0.0.1", "::fffe:ffff:ffff-::fffe:ffff:ffff"],
            ),
            // `::` and `::1` stay IPv6.
            (&["::", "::1"], &["0.0.0.0/8"], &["::-::1"]),
        ];
        for (items, minus, want) in cases {
            let mut s = set(items);
            s.subtract(&set(minus));
            assert_eq!(spans(&s), *want, "{items:?} - {minus:?}");
        }
    }

    #[test]
    fn len_of_large_sets_is_one_interval() {
        let s8 = set(&["127.0.0.0/8"]);
        assert_eq!(s8.len(), 1 << 24);
        assert_eq!(s8.ranges_len(), 1);
        let all4 = set(&["0.0.0.0/0"]);
        assert_eq!(all4.len(), 1 << 32);
        let v6 = set(&["2001:db8::/64"]);
        assert_eq!(v6.len(), 1 << 64);
        assert_eq!(
            v6.nth((1 << 64) - 1),
            Some(ip("2001:db8::ffff:ffff:ffff:ffff"))
        );
        // The entire IPv6 space holds IPv4 twice over (mapped and compatible): as one set
        // it is all of IPv4 and 2^128 - 2^33 + 2 IPv6 addresses, which fits a u128 count.
        let all6 = set(&["::/0"]);
        let size = u128::MAX - (1 << 32) + 3;
        assert_eq!(all6.len(), size);
        assert_eq!(all6.nth(0), Some(ip("0.0.0.0")));
        assert_eq!(all6.nth(1 << 32), Some(ip("::")));
        assert_eq!(
            all6.nth(size - 1),
            Some(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        );
        let mut both = all6.clone();
        both.insert_addr(ip("127.0.0.1"));
        assert_eq!(both.len(), size);
        assert_eq!(RangeSet::new().len(), 0);
        assert!(RangeSet::new().is_empty());
        assert!(!s8.is_empty());
    }

    #[test]
    fn nth_at_boundaries() {
        let s = set(&[
            "127.0.0.5-127.0.0.7",
            "127.0.1.0",
            "2001:db8::fe-2001:db8::101",
        ]);
        assert_eq!(s.len(), 3 + 1 + 4);
        let cases: &[(u128, Option<&str>)] = &[
            (0, Some("127.0.0.5")),
            (2, Some("127.0.0.7")),
            (3, Some("127.0.1.0")),
            (4, Some("2001:db8::fe")),
            (5, Some("2001:db8::ff")),
            (6, Some("2001:db8::100")),
            (7, Some("2001:db8::101")),
            (8, None),
            (u128::MAX, None),
        ];
        for &(i, want) in cases {
            assert_eq!(s.nth(i), want.map(ip), "index {i}");
        }
        assert_eq!(RangeSet::new().nth(0), None);
    }

    #[test]
    fn iter_agrees_with_nth_and_len() {
        let mut s = set(&["127.0.0.250-127.0.1.3", "192.0.2.7", "2001:db8::/126"]);
        s.subtract(&set(&["127.0.1.0"]));
        let all: Vec<IpAddr> = s.iter().collect();
        assert_eq!(all.len() as u128, s.len());
        for (i, addr) in all.iter().enumerate() {
            assert_eq!(s.nth(i as u128), Some(*addr), "index {i}");
            assert!(s.contains(*addr));
        }
        assert!(all.windows(2).all(|w| w[0] < w[1]), "ascending");
        // Lazy: taking a few from a /8 does not walk it.
        let big = set(&["127.0.0.0/8"]);
        assert_eq!(big.iter().nth(70_000), Some(ip("127.1.17.112")));
    }

    #[test]
    fn prefix_cache_follows_changes() {
        let mut s = set(&["127.0.0.1"]);
        assert_eq!(s.nth(1), None);
        s.insert_addr(ip("127.0.0.9"));
        assert_eq!(s.nth(1), Some(ip("127.0.0.9")));
        s.subtract(&set(&["127.0.0.1"]));
        assert_eq!(s.nth(0), Some(ip("127.0.0.9")));
        s.union_with(&set(&["127.0.0.2"]));
        assert_eq!(s.nth(0), Some(ip("127.0.0.2")));
        assert_eq!(s.len(), 2);
    }
}

/// RangeSet arithmetic against a plain set of addresses: any mix of inserts, unions and
/// subtractions over a small space (IPv4 and IPv6 together) agrees with the model on
/// membership, size, order (`nth`, `iter`) and stays merged (`ranges`).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// 64 IPv4 and 64 IPv6 addresses (documentation ranges), numbered 0..128.
    fn addr(n: u8) -> IpAddr {
        if n < 64 {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
        } else {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                u16::from(n - 64),
            ))
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8),
        Subtract(u8, u8),
        Union(u8, u8),
    }

    /// A range within one family: both ends in the same half of 0..128.
    fn range() -> impl Strategy<Value = (u8, u8)> {
        (0u8..2, 0u8..64, 0u8..64).prop_map(|(family, a, b)| {
            let base = family * 64;
            (base + a.min(b), base + a.max(b))
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            range().prop_map(|(a, b)| Op::Insert(a, b)),
            range().prop_map(|(a, b)| Op::Subtract(a, b)),
            range().prop_map(|(a, b)| Op::Union(a, b)),
        ]
    }

    fn one(a: u8, b: u8) -> RangeSet {
        let mut s = RangeSet::new();
        s.insert_range(addr(a), addr(b));
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn agrees_with_a_plain_set(ops in proptest::collection::vec(op(), 0..24)) {
            let mut set = RangeSet::new();
            let mut model = BTreeSet::new();
            for op in &ops {
                match *op {
                    Op::Insert(a, b) => {
                        set.insert_range(addr(a), addr(b));
                        model.extend(a..=b);
                    }
                    Op::Union(a, b) => {
                        set.union_with(&one(a, b));
                        model.extend(a..=b);
                    }
                    Op::Subtract(a, b) => {
                        set.subtract(&one(a, b));
                        model.retain(|n| !(a..=b).contains(n));
                    }
                }
            }
            prop_assert_eq!(set.len(), model.len() as u128);
            prop_assert_eq!(set.is_empty(), model.is_empty());
            for n in 0u8..128 {
                prop_assert_eq!(set.contains(addr(n)), model.contains(&n), "{}", addr(n));
            }
            let listed: Vec<IpAddr> = set.iter().collect();
            let expected: Vec<IpAddr> = model.iter().map(|&n| addr(n)).collect();
            prop_assert_eq!(&listed, &expected);
            for (i, want) in expected.iter().enumerate() {
                prop_assert_eq!(set.nth(i as u128), Some(*want));
            }
            prop_assert_eq!(set.nth(model.len() as u128), None);
            // Merged: no two ranges touch, so the count of ranges is the count of runs.
            let runs = model
                .iter()
                .zip(model.iter().skip(1))
                .filter(|(a, b)| **b != **a + 1 || **b == 64)
                .count()
                + usize::from(!model.is_empty());
            prop_assert_eq!(set.ranges_len(), runs);
        }
    }
}
