//! `--shard I/N`: shard I (1-based, as masscan counts) of N takes the I-th of N contiguous,
//! near-equal blocks of scan positions. Disjoint and complete by construction.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// One shard of a scan: `index` in 1..=count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole scan as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// The positions of this shard among `total`: block sizes differ by at most one,
    /// the larger blocks first. No multiplication, so no overflow near 2^128.
    pub fn positions(&self, total: u128) -> Range<u128> {
        let n = u128::from(self.count.max(1));
        let i = u128::from(self.index.clamp(1, self.count.max(1)) - 1);
        let (q, r) = (total / n, total % n);
        let start = i * q + i.min(r);
        let len = q + u128::from(i < r);
        start..start + len
    }

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not I/N (for example 2/8: the second of 8)"))?;
        let number = |t: &str, what: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("{s:?}: {what} {t:?} is not a whole number"))
        };
        let index = number(i, "shard")?;
        let count = number(n, "shard count")?;
        if count == 0 {
            return Err(format!("{s:?}: the shard count must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(format!(
                "{s:?}: the shard must be 1 to {count} (shards count from 1)"
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let good = [
            ("1/1", (1, 1)),
            ("2/8", (2, 8)),
            ("8/8", (8, 8)),
            (" 3 / 4 ", (3, 4)),
        ];
        for (text, (index, count)) in good {
            assert_eq!(text.parse(), Ok(Shard { index, count }), "{text}");
        }
        let bad = [
            ("", "is not I/N"),
            ("3", "is not I/N"),
            ("0/4", "shards count from 1"),
            ("5/4", "must be 1 to 4"),
            ("1/0", "at least 1"),
            ("a/4", "shard \"a\" is not a whole number"),
            ("1/-4", "shard count \"-4\" is not a whole number"),
        ];
        for (text, want) in bad {
            let err = text.parse::<Shard>().unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        assert_eq!(Shard { index: 2, count: 8 }.to_string(), "2/8");
    }

    #[test]
    fn blocks_tile_the_positions() {
        for total in [0u128, 1, 2, 7, 10, 11, 1000, u128::MAX] {
            for count in [1u32, 2, 3, 7, 16] {
                let mut next = 0;
                let mut sizes = Vec::new();
                for index in 1..=count {
                    let r = Shard { index, count }.positions(total);
                    assert_eq!(r.start, next, "total {total} {index}/{count}");
                    sizes.push(r.end - r.start);
                    next = r.end;
                }
                assert_eq!(next, total, "total {total} count {count}");
                let (min, max) = (sizes.iter().min(), sizes.iter().max());
                assert!(max.unwrap() - min.unwrap() <= 1, "{sizes:?}");
            }
        }
        assert_eq!(Shard::WHOLE.positions(5), 0..5);
    }
}
