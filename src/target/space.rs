//! The scan's index space: a plan read in scan order (permuted by a seed, or sequential),
//! cut to one shard. Position k of a shard → plan index → endpoint, by arithmetic alone.

use std::fmt;
use std::ops::Range;

use super::permute::Permutation;
use super::plan::Plan;
use super::shard::Shard;
use crate::target::Endpoint;

/// The order endpoints are visited in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Index order: ports ascending, then addresses ascending (`--sequential`).
    Sequential,
    /// A pseudo-random permutation chosen by the seed: consecutive probes hit different
    /// subnets and one host's ports are far apart.
    Permuted { seed: u64 },
}

impl Order {
    pub fn seed(&self) -> Option<u64> {
        match self {
            Order::Sequential => None,
            Order::Permuted { seed } => Some(*seed),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Order::Sequential => f.write_str("sequential"),
            Order::Permuted { seed } => write!(f, "permuted (seed {seed})"),
        }
    }
}

/// One shard of a plan in scan order.
#[derive(Debug, Clone)]
pub struct Space {
    plan: Plan,
    order: Order,
    shard: Shard,
    permutation: Option<Permutation>,
    /// This shard's positions within the whole plan's order.
    positions: Range<u128>,
}

impl Space {
    pub fn new(plan: Plan, order: Order, shard: Shard) -> Space {
        let permutation = order.seed().map(|seed| Permutation::new(plan.len(), seed));
        let positions = shard.positions(plan.len());
        Space {
            plan,
            order,
            shard,
            permutation,
            positions,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn order(&self) -> Order {
        self.order
    }

    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Endpoints in this shard.
    pub fn len(&self) -> u128 {
        self.positions.end - self.positions.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The plan index visited at this shard's position `k`.
    pub fn index_at(&self, k: u128) -> Option<u128> {
        if k >= self.len() {
            return None;
        }
        let global = self.positions.start + k;
        match &self.permutation {
            Some(p) => p.get(global),
            None => Some(global),
        }
    }

    /// The endpoint at this shard's position `k`.
    pub fn get(&self, k: u128) -> Option<Endpoint> {
        self.index_at(k).and_then(|i| self.plan.get(i))
    }

    /// (position, endpoint) from position `from` to the end of the shard, lazily.
    pub fn iter_from(&self, from: u128) -> impl Iterator<Item = (u128, Endpoint)> + '_ {
        // A u128 range is not an iterator over more than usize::MAX items on every
        // platform, so count with successors instead.
        let len = self.len();
        std::iter::successors(Some(from).filter(|&k| k < len), move |&k| {
            k.checked_add(1).filter(|&n| n < len)
        })
        .filter_map(|k| self.get(k).map(|e| (k, e)))
    }

    /// A stable fingerprint of what this space visits and in which order: the port sets,
    /// the names behind addresses, the order and the shard. Two runs with equal
    /// fingerprints probe the same endpoints at the same positions.
    pub fn fingerprint(&self) -> String {
        let mut h = StableHash::new();
        h.text("relayscan-space-v1");
        self.plan.hash_into(&mut h);
        h.text(&self.order.to_string());
        h.text(&self.shard.to_string());
        h.hex()
    }
}

impl Plan {
    /// A stable fingerprint of what the plan holds, whatever the shard, order or seed:
    /// the endpoints after the excludes (the addresses names resolved to, each port's
    /// set) and the names behind addresses. Shards of one scan must agree on it: names
    /// resolved at each shard's start may not (round-robin DNS, an edited list).
    pub fn fingerprint(&self) -> String {
        let mut h = StableHash::new();
        h.text("relayscan-plan-v1");
        self.hash_into(&mut h);
        h.hex()
    }

    /// The plan's part of [`Space::fingerprint`] and [`Plan::fingerprint`].
    fn hash_into(&self, h: &mut StableHash) {
        for (&port, set) in self.port_sets() {
            h.bytes(&port.to_be_bytes());
            for (a, b) in set.ranges() {
                h.text(&a.to_string());
                h.text(&b.to_string());
            }
            h.text(";");
        }
        let mut names: Vec<(String, &str)> = self
            .labelled()
            .map(|(ip, name)| (ip.to_string(), name))
            .collect();
        names.sort();
        names.dedup();
        for (addr, name) in names {
            h.text(&addr);
            h.text(name);
        }
    }
}

/// FNV-1a, 64 bits: a hash that is the same on every machine and every Rust version
/// (std's hashers promise neither), for fingerprints written to files.
#[derive(Debug, Clone)]
pub struct StableHash(u64);

impl StableHash {
    pub fn new() -> StableHash {
        StableHash(0xcbf2_9ce4_8422_2325)
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// A string with its length first, so that ("ab", "c") and ("a", "bc") differ.
    pub fn text(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_be_bytes());
        self.bytes(s.as_bytes());
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Default for StableHash {
    fn default() -> Self {
        StableHash::new()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::target::{Origin, PlanInput, Target};

    fn plan(targets: &[&str], ports: &[u16]) -> Plan {
        let targets: Vec<(Origin, Target)> = targets
            .iter()
            .enumerate()
            .map(|(i, s)| (Origin::argument(i + 1), s.parse().unwrap()))
            .collect();
        Plan::build(PlanInput {
            targets: &targets,
            excludes: &[],
            default_ports: ports,
            resolved: &HashMap::new(),
            scope: None,
        })
        .unwrap()
    }

    #[test]
    fn sequential_is_index_order() {
        let p = plan(&["192.0.2.1-3"], &[25, 587]);
        let s = Space::new(p.clone(), Order::Sequential, Shard::WHOLE);
        let got: Vec<Endpoint> = s.iter_from(0).map(|(_, e)| e).collect();
        assert_eq!(got, p.endpoints().collect::<Vec<_>>());
        let from_two: Vec<u128> = s.iter_from(2).map(|(k, _)| k).collect();
        assert_eq!(from_two, [2, 3, 4, 5]);
        assert_eq!(s.iter_from(6).count(), 0);
        assert_eq!(s.get(6), None);
    }

    #[test]
    fn permuted_visits_every_endpoint_once_and_spreads_ports() {
        let p = plan(&["127.0.20.0/24"], &[25, 465, 587]);
        let s = Space::new(p.clone(), Order::Permuted { seed: 7 }, Shard::WHOLE);
        let got: Vec<Endpoint> = s.iter_from(0).map(|(_, e)| e).collect();
        assert_eq!(got.len(), 768);
        let unique: HashSet<(std::net::IpAddr, u16)> = got.iter().map(|e| (e.ip, e.port)).collect();
        assert_eq!(unique.len(), 768);
        assert_ne!(got, p.endpoints().collect::<Vec<_>>());
        // One host's three ports are seldom next to each other in the order.
        let adjacent_same_host = got.windows(2).filter(|w| w[0].ip == w[1].ip).count();
        assert!(adjacent_same_host < 10, "{adjacent_same_host}");
        // Reproducible.
        let again = Space::new(p, Order::Permuted { seed: 7 }, Shard::WHOLE);
        assert_eq!(again.get(100), s.get(100));
    }

    #[test]
    fn fingerprint_tells_plans_orders_and_shards_apart() {
        let base = || plan(&["192.0.2.0/28"], &[25]);
        let fp = |p: Plan, o: Order, sh: Shard| Space::new(p, o, sh).fingerprint();
        let seeded = Order::Permuted { seed: 1 };
        let a = fp(base(), seeded, Shard::WHOLE);
        assert_eq!(a, fp(base(), seeded, Shard::WHOLE));
        assert_eq!(a.len(), 16);
        let others = [
            fp(plan(&["192.0.2.0/27"], &[25]), seeded, Shard::WHOLE),
            fp(plan(&["192.0.2.0/28"], &[587]), seeded, Shard::WHOLE),
            fp(base(), Order::Permuted { seed: 2 }, Shard::WHOLE),
            fp(base(), Order::Sequential, Shard::WHOLE),
            fp(base(), seeded, Shard { index: 1, count: 2 }),
        ];
        for other in others {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn the_plan_fingerprint_ignores_shard_and_order_and_tells_plans_apart() {
        let base = || plan(&["192.0.2.0/28"], &[25]);
        let a = base().fingerprint();
        assert_eq!(a.len(), 16);
        assert_eq!(a, base().fingerprint());
        // The same endpoints written another way: the same plan.
        assert_eq!(a, plan(&["192.0.2.0-192.0.2.15"], &[25]).fingerprint());
        for other in [
            plan(&["192.0.2.0/27"], &[25]),
            plan(&["192.0.2.0/28"], &[587]),
            plan(&["192.0.2.0/28"], &[25, 587]),
        ] {
            assert_ne!(a, other.fingerprint());
        }
        // Never the checkpoint's fingerprint, which also covers order and shard.
        let space = Space::new(base(), Order::Sequential, Shard::WHOLE);
        assert_ne!(a, space.fingerprint());
    }

    #[test]
    fn stable_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        let mut h = StableHash::new();
        assert_eq!(h.hex(), "cbf29ce484222325");
        h.bytes(b"a");
        assert_eq!(h.hex(), "af63dc4c8601ec8c");
        let mut h = StableHash::new();
        h.bytes(b"foobar");
        assert_eq!(h.hex(), "85944171f73967e8");
    }

    mod properties {
        use std::collections::HashMap;
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

        use proptest::prelude::*;

        use super::super::*;
        use crate::target::{Origin, PlanInput, Target, TargetSpec};

        /// Random address specs near the documentation and loopback blocks, so that
        /// ranges overlap, touch and cross /24 boundaries; a few IPv6 ones too.
        fn spec() -> impl Strategy<Value = Target> {
            let v4 = (0u32..2048, 0u32..300).prop_map(|(start, len)| {
                let base = u32::from(Ipv4Addr::new(127, 0, 20, 0));
                TargetSpec::Range {
                    start: IpAddr::V4(Ipv4Addr::from(base + start)),
                    end: IpAddr::V4(Ipv4Addr::from(base + start + len)),
                }
            });
            let v6 = (0u128..512, 0u128..64).prop_map(|(start, len)| {
                let base = u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap());
                TargetSpec::Range {
                    start: IpAddr::V6(Ipv6Addr::from(base + start)),
                    end: IpAddr::V6(Ipv6Addr::from(base + start + len)),
                }
            });
            let port = prop_oneof![Just(None), (1u16..6).prop_map(Some)];
            (prop_oneof![4 => v4, 1 => v6], port).prop_map(|(spec, port)| Target { spec, port })
        }

        fn build(targets: &[Target], excludes: &[Target], ports: &[u16]) -> Plan {
            let with_origin = |ts: &[Target]| -> Vec<(Origin, Target)> {
                ts.iter()
                    .enumerate()
                    .map(|(i, t)| (Origin::argument(i + 1), t.clone()))
                    .collect()
            };
            Plan::build(PlanInput {
                targets: &with_origin(targets),
                excludes: &with_origin(excludes),
                default_ports: ports,
                resolved: &HashMap::new(),
                scope: None,
            })
            .unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Shards of one seed are disjoint and together are exactly the plan.
            #[test]
            fn shards_are_disjoint_and_cover_the_plan(
                targets in prop::collection::vec(spec(), 1..6),
                excludes in prop::collection::vec(spec(), 0..3),
                ports in prop::collection::btree_set(1u16..6, 1..4),
                count in 1u32..9,
                seed in any::<u64>(),
                sequential in any::<bool>(),
            ) {
                let ports: Vec<u16> = ports.into_iter().collect();
                let plan = build(&targets, &excludes, &ports);
                let order = if sequential { Order::Sequential } else { Order::Permuted { seed } };
                let mut seen = std::collections::HashSet::new();
                let mut total = 0u128;
                for index in 1..=count {
                    let space = Space::new(plan.clone(), order, Shard { index, count });
                    for (_, e) in space.iter_from(0) {
                        prop_assert!(seen.insert((e.ip, e.port)), "{} in two shards", e);
                        total += 1;
                    }
                }
                prop_assert_eq!(total, plan.len());
                let whole: std::collections::HashSet<_> =
                    plan.endpoints().map(|e| (e.ip, e.port)).collect();
                prop_assert_eq!(seen, whole);
            }

            /// Every position maps to a distinct plan index, and the order is the seed's.
            #[test]
            fn the_order_is_a_permutation_of_the_plan(
                targets in prop::collection::vec(spec(), 1..4),
                seed in any::<u64>(),
            ) {
                let plan = build(&targets, &[], &[25]);
                let space = Space::new(plan.clone(), Order::Permuted { seed }, Shard::WHOLE);
                let mut indices: Vec<u128> =
                    (0..space.len()).map(|k| space.index_at(k).unwrap()).collect();
                indices.sort_unstable();
                let want: Vec<u128> = (0..plan.len()).collect();
                prop_assert_eq!(indices, want);
            }
        }
    }
}
