//! The rule of engagement for size: a scan of more than 65,536 addresses needs the
//! authorised scope (`--scope`) or `--allow-large`, so that a typo (`/8` for `/28`, a
//! forgotten prefix) never becomes an Internet scan. Counted on the plan after excludes
//! and special blocks, by arithmetic over its ranges: free for a /0.

use thiserror::Error;

/// Addresses a scan may reach without `--scope` or `--allow-large`: a /16, the largest
/// block an operator plausibly scans by hand; one more is refused. IPv4 and IPv6 count
/// alike, and ports do not count (a host on three ports is one host).
pub const MAX_UNSCOPED_ADDRESSES: u128 = 1 << 16;

/// What allows a plan to be larger than [`MAX_UNSCOPED_ADDRESSES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeAllowance {
    /// `--scope` was given: every target already lies inside the authorised ranges.
    pub scoped: bool,
    /// `--allow-large` (or its older name `--force-large-ipv6`).
    pub allow_large: bool,
}

/// A plan too large to scan without authority; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "the targets hold {} addresses (after excludes and special blocks), more than the {} a scan may reach without an authorised scope: give --scope with the ranges you are authorised to scan (they must cover the targets), or --allow-large if you really mean to scan them all; nothing was sent",
    grouped(*.addresses),
    grouped(MAX_UNSCOPED_ADDRESSES)
)]
pub struct TooLarge {
    /// Distinct addresses in the plan, over all ports.
    pub addresses: u128,
}

/// The rule: `addresses` (distinct, after excludes) may exceed the limit only when
/// `allowance` says so.
pub fn check_size(addresses: u128, allowance: SizeAllowance) -> Result<(), TooLarge> {
    if addresses <= MAX_UNSCOPED_ADDRESSES || allowance.scoped || allowance.allow_large {
        Ok(())
    } else {
        Err(TooLarge { addresses })
    }
}

/// `3741319168` as `3,741,319,168`, so that the size of a mistake reads at a glance.
fn grouped(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let none = SizeAllowance::default();
        let scoped = SizeAllowance {
            scoped: true,
            allow_large: false,
        };
        let allowed = SizeAllowance {
            scoped: false,
            allow_large: true,
        };
        let internet_v4 = 3_741_319_168u128;
        // (addresses, allowance, refused)
        let cases = [
            (0, none, false),
            (1, none, false),
            (65_536, none, false),
            (65_537, none, true),
            (1 << 24, none, true),
            (internet_v4, none, true),
            (1 << 64, none, true),
            (u128::MAX, none, true),
            (65_537, scoped, false),
            (internet_v4, scoped, false),
            (65_537, allowed, false),
            (1 << 64, allowed, false),
            (
                u128::MAX,
                SizeAllowance {
                    scoped: true,
                    allow_large: true,
                },
                false,
            ),
        ];
        for (addresses, allowance, refused) in cases {
            let got = check_size(addresses, allowance);
            assert_eq!(got.is_err(), refused, "{addresses} {allowance:?}");
            if refused {
                assert_eq!(got, Err(TooLarge { addresses }));
            }
        }
    }

    #[test]
    fn the_refusal_says_how_many_and_what_to_do() {
        let e = check_size(3_741_319_168, SizeAllowance::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the targets hold 3,741,319,168 addresses (after excludes and special blocks), more than the 65,536 a scan may reach without an authorised scope: give --scope with the ranges you are authorised to scan (they must cover the targets), or --allow-large if you really mean to scan them all; nothing was sent"
        );
    }

    #[test]
    fn grouping() {
        let cases: [(u128, &str); 7] = [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (65_536, "65,536"),
            (16_777_216, "16,777,216"),
            (123_456_789_012, "123,456,789,012"),
            (1 << 64, "18,446,744,073,709,551,616"),
        ];
        for (n, want) in cases {
            assert_eq!(grouped(n), want);
        }
    }
}
