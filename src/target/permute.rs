//! A keyed pseudo-random permutation of [0, n) for any n up to 2^128: a balanced Feistel
//! network over the next even power of two, with cycle-walking back into range (as
//! masscan orders its targets). Random access: position → index in O(1), no state.

/// Rounds of the Feistel network. Four rounds of a strong round function make a
/// pseudo-random permutation (Luby-Rackoff); any number of rounds is a bijection.
const ROUNDS: usize = 4;

/// A bijection of [0, len) chosen by `seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutation {
    len: u128,
    /// Bits of each Feistel half; the network permutes [0, 2^(2·half)).
    half: u32,
    mask: u64,
    keys: [u64; ROUNDS],
}

/// splitmix64's step: turns a counter into well-spread 64-bit keys.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The round function: a 64-bit finaliser (murmur3's fmix64) of the half and the key.
fn mix(x: u64, key: u64) -> u64 {
    let mut z = x ^ key;
    z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    z ^ (z >> 33)
}

impl Permutation {
    pub fn new(len: u128, seed: u64) -> Permutation {
        // Bits needed for the largest index, rounded up to an even number (at least 2), so
        // the domain is at most 4·len and cycle-walking takes under 4 steps on average.
        let bits = (128 - len.saturating_sub(1).leading_zeros()).max(2);
        let half = bits.div_ceil(2);
        let mask = if half >= 64 {
            u64::MAX
        } else {
            (1u64 << half) - 1
        };
        let mut state = seed;
        let keys = std::array::from_fn(|_| splitmix(&mut state));
        Permutation {
            len,
            half,
            mask,
            keys,
        }
    }

    pub fn len(&self) -> u128 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One pass of the Feistel network over [0, 2^(2·half)).
    fn encrypt(&self, x: u128) -> u128 {
        let mut left = (x >> self.half) as u64 & self.mask;
        let mut right = x as u64 & self.mask;
        for &key in &self.keys {
            let next = left ^ (mix(right, key) & self.mask);
            left = right;
            right = next;
        }
        (u128::from(left) << self.half) | u128::from(right)
    }

    /// The index at `position`, or `None` past the end. Walks the cycle of the network
    /// until it lands inside [0, len): since the network is a bijection of a larger
    /// domain, following it from an in-range value always comes back in range, and two
    /// positions never share an index.
    pub fn get(&self, position: u128) -> Option<u128> {
        if position >= self.len {
            return None;
        }
        let mut x = self.encrypt(position);
        while x >= self.len {
            x = self.encrypt(x);
        }
        Some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(p: &Permutation) -> Vec<u128> {
        (0..p.len()).map(|i| p.get(i).unwrap()).collect()
    }

    #[test]
    fn a_bijection_for_small_and_awkward_sizes() {
        for len in [1u128, 2, 3, 4, 5, 7, 8, 9, 100, 255, 256, 257, 1000, 4097] {
            for seed in [0, 1, 42, u64::MAX] {
                let p = Permutation::new(len, seed);
                let mut got = image(&p);
                got.sort_unstable();
                let want: Vec<u128> = (0..len).collect();
                assert_eq!(got, want, "len {len} seed {seed}");
                assert_eq!(p.get(len), None);
            }
        }
        assert_eq!(Permutation::new(0, 7).get(0), None);
    }

    #[test]
    fn the_seed_decides_the_order_and_the_order_is_mixed() {
        let a = image(&Permutation::new(10_000, 1));
        let b = image(&Permutation::new(10_000, 1));
        let c = image(&Permutation::new(10_000, 2));
        assert_eq!(a, b, "same seed, same order");
        assert_ne!(a, c, "another seed, another order");
        let identity: Vec<u128> = (0..10_000).collect();
        assert_ne!(a, identity);
        // Consecutive positions rarely land near each other: in a /16-sized window of
        // 65536 indices split into 256 "subnets" of 256, neighbours should mostly differ.
        let p = Permutation::new(65_536, 9);
        let same_block = (0..65_535u128)
            .filter(|&i| p.get(i).unwrap() / 256 == p.get(i + 1).unwrap() / 256)
            .count();
        assert!(
            same_block < 65_536 / 50,
            "{same_block} neighbours in one /24"
        );
    }

    #[test]
    fn huge_domains_stay_in_range() {
        for len in [1u128 << 64, (1u128 << 64) + 3, u128::MAX / 3, u128::MAX] {
            let p = Permutation::new(len, 5);
            for pos in [0, 1, 2, len / 2, len - 1] {
                let i = p.get(pos).unwrap();
                assert!(i < len, "len {len} pos {pos} -> {i}");
            }
            // Distinct positions give distinct indices.
            let sample: Vec<u128> = (0..1000).map(|k| p.get(k).unwrap()).collect();
            let mut dedup = sample.clone();
            dedup.sort_unstable();
            dedup.dedup();
            assert_eq!(dedup.len(), sample.len());
        }
    }
}
