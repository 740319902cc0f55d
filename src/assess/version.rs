//! Mail server version numbers as servers write them (`4.94.2`, `6.6.2p1`, `8.15.2`), parsed and ordered.
//!
//! Pure. A version that does not parse is unknown, and callers never call an unknown
//! version vulnerable: `4.92-RC1` or `3.x` compare as nothing rather than as a guess.

use std::cmp::Ordering;

/// One dotted version: numeric parts, each with an optional portable-release number
/// (OpenSMTPD's `6.6.2p1` is `6.6.2` portable release 1, later than `6.6.2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    parts: Vec<(u64, u64)>,
}

/// At most this many dotted parts: Exchange writes four (`10.0.17763.1`); eight leaves room.
const MAX_PARTS: usize = 8;

impl Version {
    /// `4.94.2`, `6.6.2p1`, `3.7.11`; None for anything else (letters other than one `pN`
    /// suffix on the last part, empty parts, more than [`MAX_PARTS`] parts).
    pub fn parse(text: &str) -> Option<Version> {
        let pieces: Vec<&str> = text.split('.').collect();
        if pieces.len() > MAX_PARTS {
            return None;
        }
        let last = pieces.len() - 1;
        let mut parts = Vec::with_capacity(pieces.len());
        for (i, piece) in pieces.iter().enumerate() {
            let (number, portable) = match piece.split_once('p') {
                Some((n, p)) if i == last => (n, Some(p)),
                Some(_) => return None,
                None => (*piece, None),
            };
            let number = digits(number)?;
            let portable = match portable {
                Some(p) => digits(p)?,
                None => 0,
            };
            parts.push((number, portable));
        }
        Some(Version { parts })
    }
}

/// A non-empty run of ASCII digits as a number (at most 9 digits, so it fits).
fn digits(s: &str) -> Option<u64> {
    let ok = !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

impl Ord for Version {
    /// Part by part, a missing part counting as 0: `4.94` == `4.94.0` < `4.94.2`.
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        (0..n)
            .map(|i| {
                let a = self.parts.get(i).copied().unwrap_or((0, 0));
                let b = other.parts.get(i).copied().unwrap_or((0, 0));
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders two version texts; None when either does not parse (unknown is not comparable).
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(Version::parse(a)?.cmp(&Version::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    #[test]
    fn compare_table() {
        let table = [
            ("4.94.2", "4.94.2", Some(Equal)),
            ("4.94", "4.94.2", Some(Less)),
            ("4.94.0", "4.94", Some(Equal)),
            ("4.96", "4.94.2", Some(Greater)),
            ("4.87", "4.91", Some(Less)),
            ("4.100", "4.99", Some(Greater)),
            ("6.6.2p1", "6.6.2", Some(Greater)),
            ("6.6.1p1", "6.6.2p1", Some(Less)),
            ("6.6.2p1", "6.6.2p1", Some(Equal)),
            ("6.6.2p2", "6.6.2p1", Some(Greater)),
            ("3.7.11", "3.7.9", Some(Greater)),
            ("3.7.11", "3.8.0", Some(Less)),
            ("8.15.2", "8.18.1", Some(Less)),
            ("8.15.2", "8.15", Some(Greater)),
            ("10.0.17763.1", "10.0.14393.0", Some(Greater)),
            // Unknown: never ordered, so never matched.
            ("4.92-RC1", "4.92", None),
            ("3.x", "3.7", None),
            ("", "1.0", None),
            ("4..2", "4.2", None),
            ("6.6p1.2", "6.6", None),
            ("1.2.3.4.5.6.7.8.9", "1", None),
            ("9999999999.1", "1", None),
            ("4.96", "Debian", None),
        ];
        for (a, b, want) in table {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.map(Ordering::reverse), "{b} vs {a}");
        }
    }
}
