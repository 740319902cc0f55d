//! The scan plan: parsed targets and excludes turned into per-port address sets, read
//! lazily as an index space of (address × port) endpoints. Pure: names arrive resolved.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use thiserror::Error;

use super::address::Address;
use super::ranges::RangeSet;
use super::scope::{address_set, first_outside, inside_one_special_block, special_blocks};
use super::size::TooLarge;
use super::source::Origin;
use super::spec::{Target, TargetSpec};
use crate::target::Endpoint;

/// Why a plan could not be built. Each names the origin of the spec at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    /// More addresses than a scan may reach without `--scope` or `--allow-large`.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error(
        "{origin}: \"{text}\": no port to scan (give default ports, or write the target as {text}:PORT)"
    )]
    NoPorts { origin: String, text: String },
    #[error(
        "{origin}: exclude \"{name}\" did not resolve ({error}); refusing to scan without applying it"
    )]
    UnresolvedExclude {
        origin: String,
        name: String,
        error: String,
    },
    #[error(
        "{origin}: \"{text}\" reaches {first}, outside the authorised scope (--scope); nothing was sent"
    )]
    OutOfScope {
        origin: String,
        text: String,
        first: IpAddr,
    },
}

/// What a plan is built from. `resolved` holds the lookup result of every host name
/// among targets and excludes (see `resolve::resolve_names`).
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub targets: &'a [(Origin, Target)],
    pub excludes: &'a [(Origin, Target)],
    pub default_ports: &'a [u16],
    pub resolved: &'a HashMap<String, Result<Vec<IpAddr>, String>>,
    /// The authorised scope: a target (or a resolved address) outside it stops the plan.
    pub scope: Option<&'a RangeSet>,
}

/// Every endpoint to probe, as per-port address sets after excludes.
///
/// Index order (`get`, `endpoints`): ports ascending; within a port, IPv4 addresses
/// ascending, then IPv6. Memory grows with intervals and names, never with addresses.
#[derive(Debug, Clone)]
pub struct Plan {
    sets: BTreeMap<u16, RangeSet>,
    /// (first index, port) for each entry of `sets`, in the same order.
    starts: Vec<(u128, u16)>,
    total: u128,
    /// Distinct addresses over all ports (what the size rule counts).
    addresses: u128,
    /// Addresses that came from host names, labelled with the first name that gave them.
    labels: HashMap<Address, String>,
    /// Distinct host names among the targets, in first-seen order.
    names: Vec<String>,
    unresolved: Vec<(String, u16, String)>,
    excluded: u128,
    /// Endpoints dropped because they fell in a special block (multicast, reserved...)
    /// that no target named explicitly.
    special_skipped: u128,
}

/// Why a name yields no addresses, or its addresses.
fn lookup<'a>(
    resolved: &'a HashMap<String, Result<Vec<IpAddr>, String>>,
    name: &str,
) -> Result<&'a [IpAddr], String> {
    match resolved.get(name) {
        Some(Ok(addrs)) => Ok(addrs),
        Some(Err(e)) => Err(e.clone()),
        None => Err("name was not looked up".to_string()),
    }
}

/// Target sets before ports are applied: one for targets that take the default ports,
/// one per explicit port. Keeps the common set once instead of once per default port
/// while reading.
#[derive(Default)]
struct Sorted {
    common: RangeSet,
    by_port: BTreeMap<u16, RangeSet>,
}

impl Sorted {
    fn set_for(&mut self, port: Option<u16>) -> &mut RangeSet {
        match port {
            Some(p) => self.by_port.entry(p).or_default(),
            None => &mut self.common,
        }
    }
}

impl Plan {
    pub fn build(input: PlanInput<'_>) -> Result<Plan, PlanError> {
        let default_ports: BTreeSet<u16> = input.default_ports.iter().copied().collect();
        let mut targets = Sorted::default();
        let mut labels: HashMap<Address, String> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut seen_names: HashSet<&str> = HashSet::new();
        let mut unresolved = Vec::new();
        let mut seen_unresolved: HashSet<(&str, u16)> = HashSet::new();
        // Parts of special blocks that a target lies wholly inside: named, so scanned.
        let mut explicit = RangeSet::new();

        for (origin, target) in input.targets {
            if target.port.is_none() && default_ports.is_empty() {
                return Err(PlanError::NoPorts {
                    origin: origin.to_string(),
                    text: target.to_string(),
                });
            }
            if let (Some(scope), Some(own)) = (input.scope, address_set(&target.spec))
                && let Some(first) = first_outside(&own, scope)
            {
                return Err(out_of_scope(origin, target, first));
            }
            if inside_one_special_block(&target.spec)
                && let Some(own) = address_set(&target.spec)
            {
                explicit.union_with(&own);
            }
            let set = targets.set_for(target.port);
            match &target.spec {
                TargetSpec::Addr(ip) => set.insert_addr(*ip),
                TargetSpec::Net(net) => set.insert_net(*net),
                TargetSpec::Range { start, end } => set.insert_range(*start, *end),
                // Expanded into its mail hosts (host-name targets) before the plan is
                // built: see `commands::planning`.
                TargetSpec::Domain(_) => {}
                TargetSpec::Host(name) => {
                    if seen_names.insert(name.as_str()) {
                        names.push(name.clone());
                    }
                    let problem = match lookup(input.resolved, name) {
                        Ok([]) => "no addresses".to_string(),
                        Ok(addrs) => {
                            let addrs = addrs.iter().map(|&ip| Address::new(ip));
                            if let Some(scope) = input.scope
                                && let Some(first) = addrs.clone().find(|&a| !scope.contains(a))
                            {
                                return Err(out_of_scope(origin, target, first.ip()));
                            }
                            for a in addrs {
                                set.insert_addr(a);
                                labels.entry(a).or_insert_with(|| name.clone());
                            }
                            continue;
                        }
                        Err(e) => e,
                    };
                    let ports: Vec<u16> = match target.port {
                        Some(p) => vec![p],
                        None => default_ports.iter().copied().collect(),
                    };
                    for port in ports {
                        if seen_unresolved.insert((name.as_str(), port)) {
                            unresolved.push((name.clone(), port, problem.clone()));
                        }
                    }
                }
            }
        }

        let mut excludes = Sorted::default();
        for (origin, target) in input.excludes {
            let set = excludes.set_for(target.port);
            match &target.spec {
                TargetSpec::Addr(ip) => set.insert_addr(*ip),
                TargetSpec::Net(net) => set.insert_net(*net),
                TargetSpec::Range { start, end } => set.insert_range(*start, *end),
                // An exclude we cannot apply would let the scan reach what the user
                // fenced off, so it stops the plan instead of being skipped.
                TargetSpec::Domain(name) => {
                    return Err(PlanError::UnresolvedExclude {
                        origin: origin.to_string(),
                        name: format!("@{name}"),
                        error: "a mail domain cannot be excluded; exclude its mail hosts by name or address".into(),
                    });
                }
                TargetSpec::Host(name) => match lookup(input.resolved, name) {
                    Ok(addrs) => addrs.iter().for_each(|&ip| set.insert_addr(ip)),
                    Err(error) => {
                        return Err(PlanError::UnresolvedExclude {
                            origin: origin.to_string(),
                            name: name.clone(),
                            error,
                        });
                    }
                },
            }
        }

        let mut ports: BTreeSet<u16> = targets.by_port.keys().copied().collect();
        if !targets.common.is_empty() {
            ports.extend(&default_ports);
        }
        let mut special = special_blocks();
        special.subtract(&explicit);
        let mut sets = BTreeMap::new();
        let mut excluded = 0u128;
        let mut special_skipped = 0u128;
        for port in ports {
            let mut set = if default_ports.contains(&port) {
                targets.common.clone()
            } else {
                RangeSet::new()
            };
            if let Some(own) = targets.by_port.get(&port) {
                set.union_with(own);
            }
            let before = set.len();
            set.subtract(&excludes.common);
            if let Some(ex) = excludes.by_port.get(&port) {
                set.subtract(ex);
            }
            excluded = excluded.saturating_add(before - set.len());
            let before = set.len();
            set.subtract(&special);
            special_skipped = special_skipped.saturating_add(before - set.len());
            if !set.is_empty() {
                sets.insert(port, set);
            }
        }

        let mut starts = Vec::with_capacity(sets.len());
        let mut total = 0u128;
        let mut every_address = RangeSet::new();
        for (&port, set) in &sets {
            starts.push((total, port));
            total = total.saturating_add(set.len());
            every_address.union_with(set);
        }
        Ok(Plan {
            sets,
            starts,
            total,
            addresses: every_address.len(),
            labels,
            names,
            unresolved,
            excluded,
            special_skipped,
        })
    }

    /// Number of endpoints.
    pub fn len(&self) -> u128 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether any endpoint lies outside loopback (127.0.0.0/8, ::1): a range is wholly
    /// loopback when both its ends are, since 127.0.0.0/8 is contiguous and ::1 one address.
    pub fn leaves_loopback(&self) -> bool {
        self.sets
            .values()
            .flat_map(RangeSet::ranges)
            .any(|(first, last)| !(first.is_loopback() && last.is_loopback()))
    }

    /// Number of distinct addresses, whatever their ports: what `size::check_size` counts.
    pub fn addresses(&self) -> u128 {
        self.addresses
    }

    fn endpoint(&self, ip: IpAddr, port: u16) -> Endpoint {
        // Most plans have no names: skip hashing every address of a /8.
        let name = if self.labels.is_empty() {
            None
        } else {
            self.labels.get(&Address::new(ip)).cloned()
        };
        Endpoint { ip, port, name }
    }

    /// The endpoint at `index`, by binary search over ports then over intervals.
    pub fn get(&self, index: u128) -> Option<Endpoint> {
        let i = self
            .starts
            .partition_point(|&(start, _)| start <= index)
            .checked_sub(1)?;
        let (start, port) = self.starts[i];
        let ip = self.sets[&port].nth(index - start)?;
        Some(self.endpoint(ip, port))
    }

    /// Every endpoint lazily, in index order (`endpoints().nth(i) == get(i)`).
    pub fn endpoints(&self) -> impl Iterator<Item = Endpoint> + '_ {
        self.sets
            .iter()
            .flat_map(move |(&port, set)| set.iter().map(move |ip| self.endpoint(ip, port)))
    }

    /// Distinct host names among the targets (resolved or not), in first-seen order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The name an address came from, if it came from one.
    pub fn name_of(&self, ip: IpAddr) -> Option<&str> {
        self.labels.get(&Address::new(ip)).map(String::as_str)
    }

    /// Every address that came from a name, with that name, in no particular order.
    pub fn labelled(&self) -> impl Iterator<Item = (IpAddr, &str)> {
        self.labels.iter().map(|(a, n)| (a.ip(), n.as_str()))
    }

    /// Names that gave no address: (name, port it was meant for, why).
    pub fn unresolved(&self) -> &[(String, u16, String)] {
        &self.unresolved
    }

    /// Ports with at least one endpoint, ascending.
    pub fn ports(&self) -> Vec<u16> {
        self.sets.keys().copied().collect()
    }

    /// The address set of each port, for index-space arithmetic elsewhere.
    pub fn port_sets(&self) -> &BTreeMap<u16, RangeSet> {
        &self.sets
    }

    /// How many (distinct) endpoints the excludes removed.
    pub fn excluded_count(&self) -> u128 {
        self.excluded
    }

    /// How many endpoints fell in special blocks (multicast, reserved, "this network")
    /// that no target named explicitly, and were left out.
    pub fn special_skipped(&self) -> u128 {
        self.special_skipped
    }
}

fn out_of_scope(origin: &Origin, target: &Target, first: IpAddr) -> PlanError {
    PlanError::OutOfScope {
        origin: origin.to_string(),
        text: target.to_string(),
        first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn specs(items: &[&str]) -> Vec<(Origin, Target)> {
        items
            .iter()
            .enumerate()
            .map(|(i, s)| (Origin::line("t.txt", i + 1), s.parse().unwrap()))
            .collect()
    }

    type Resolved = HashMap<String, Result<Vec<IpAddr>, String>>;

    fn resolved(entries: &[(&str, Result<&[&str], &str>)]) -> Resolved {
        entries
            .iter()
            .map(|(name, r)| {
                let r = match r {
                    Ok(addrs) => Ok(addrs.iter().map(|a| ip(a)).collect()),
                    Err(e) => Err(e.to_string()),
                };
                (name.to_string(), r)
            })
            .collect()
    }

    fn build(
        targets: &[&str],
        excludes: &[&str],
        ports: &[u16],
        names: &Resolved,
    ) -> Result<Plan, PlanError> {
        let targets = specs(targets);
        let excludes = specs(excludes);
        Plan::build(PlanInput {
            targets: &targets,
            excludes: &excludes,
            default_ports: ports,
            resolved: names,
            scope: None,
        })
    }

    fn shown(plan: &Plan) -> Vec<String> {
        plan.endpoints()
            .map(|e| match e.name {
                Some(ref n) => format!("{e} {n}"),
                None => e.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_slash_16_is_one_interval() {
        let plan = build(&["127.1.0.0/16"], &[], &[25], &Resolved::new()).unwrap();
        assert_eq!(plan.len(), 65536);
        assert_eq!(plan.ports(), [25]);
        assert_eq!(plan.port_sets()[&25].ranges_len(), 1);
        assert_eq!(plan.get(0), Some(Endpoint::new(ip("127.1.0.0"), 25)));
        assert_eq!(
            plan.get(65535),
            Some(Endpoint::new(ip("127.1.255.255"), 25))
        );
        assert_eq!(plan.get(65536), None);
        assert_eq!(plan.excluded_count(), 0);
    }

    #[test]
    fn excludes_subtract_a_slash_24() {
        let plan = build(
            &["127.1.0.0/16"],
            &["127.1.7.0/24"],
            &[25, 587],
            &Resolved::new(),
        )
        .unwrap();
        assert_eq!(plan.len(), 2 * (65536 - 256));
        assert_eq!(plan.excluded_count(), 2 * 256);
        assert_eq!(plan.port_sets()[&25].ranges_len(), 2);
        assert!(plan.endpoints().take(70_000).all(|e| {
            let [_, _, third, _] = match e.ip {
                IpAddr::V4(a) => a.octets(),
                IpAddr::V6(_) => unreachable!(),
            };
            third != 7
        }));
        // Second port starts where the first ends.
        assert_eq!(plan.get(65280), Some(Endpoint::new(ip("127.1.0.0"), 587)));
        assert_eq!(plan.get(7 * 256), Some(Endpoint::new(ip("127.1.8.0"), 25)));
    }

    #[test]
    fn exclude_ports() {
        let none = Resolved::new();
        // (targets, excludes, default ports, endpoints wanted, excluded count)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [u16], &'a [&'a str], u128);
        let cases: &[Case] = &[
            // Exclude without a port: every port.
            (
                &["192.0.2.1-3"],
                &["192.0.2.2"],
                &[25, 587],
                &[
                    "192.0.2.1:25",
                    "192.0.2.3:25",
                    "192.0.2.1:587",
                    "192.0.2.3:587",
                ],
                2,
            ),
            // Exclude with a port: only that port.
            (
                &["192.0.2.1-3"],
                &["192.0.2.2:587"],
                &[25, 587],
                &[
                    "192.0.2.1:25",
                    "192.0.2.2:25",
                    "192.0.2.3:25",
                    "192.0.2.1:587",
                    "192.0.2.3:587",
                ],
                1,
            ),
            // An exclude beats an explicit target port too.
            (&["192.0.2.1:2525"], &["192.0.2.0/24"], &[25], &[], 1),
            // Excluding what is not there removes nothing.
            (
                &["192.0.2.1"],
                &["198.51.100.0/24", "192.0.2.1:587"],
                &[25],
                &["192.0.2.1:25"],
                0,
            ),
            // Duplicates and overlaps are probed once.
            (
                &["192.0.2.1", "192.0.2.1", "192.0.2.0/31"],
                &[],
                &[25],
                &["192.0.2.0:25", "192.0.2.1:25"],
                0,
            ),
            // Per-target ports: only that port, merged with default-port targets.
            (
                &["192.0.2.1:2525", "192.0.2.2", "192.0.2.3:25"],
                &[],
                &[25],
                &["192.0.2.2:25", "192.0.2.3:25", "192.0.2.1:2525"],
                0,
            ),
            (&["192.0.2.1:2525"], &[], &[], &["192.0.2.1:2525"], 0),
        ];
        for (targets, excludes, ports, want, excluded) in cases {
            let plan = build(targets, excludes, ports, &none).unwrap();
            assert_eq!(shown(&plan), *want, "{targets:?} - {excludes:?}");
            assert_eq!(
                plan.excluded_count(),
                *excluded,
                "{targets:?} - {excludes:?}"
            );
            assert_eq!(plan.len(), want.len() as u128);
        }
    }

    #[test]
    fn get_matches_endpoints_on_a_mixed_plan() {
        let names = resolved(&[
            ("mail.example.com", Ok(&["203.0.113.5", "2001:db8::5"])),
            ("gone.example.com", Err("no such host")),
        ]);
        let plan = build(
            &[
                "192.0.2.1-3",
                "198.51.100.0/30:2525",
                "2001:db8::1",
                "mail.example.com",
                "gone.example.com",
                "[2001:db8::/126]:2525",
            ],
            &["192.0.2.2:587", "198.51.100.2"],
            &[25, 587],
            &names,
        )
        .unwrap();
        let want = [
            "192.0.2.1:25",
            "192.0.2.2:25",
            "192.0.2.3:25",
            "203.0.113.5:25 mail.example.com",
            "[2001:db8::1]:25",
            "[2001:db8::5]:25 mail.example.com",
            "192.0.2.1:587",
            "192.0.2.3:587",
            "203.0.113.5:587 mail.example.com",
            "[2001:db8::1]:587",
            "[2001:db8::5]:587 mail.example.com",
            "198.51.100.0:2525",
            "198.51.100.1:2525",
            "198.51.100.3:2525",
            "[2001:db8::]:2525",
            "[2001:db8::1]:2525",
            "[2001:db8::2]:2525",
            "[2001:db8::3]:2525",
        ];
        assert_eq!(shown(&plan), want);
        assert_eq!(plan.len(), want.len() as u128);
        let all: Vec<Endpoint> = plan.endpoints().collect();
        for (i, e) in all.iter().enumerate() {
            assert_eq!(plan.get(i as u128).as_ref(), Some(e), "index {i}");
        }
        assert_eq!(plan.get(all.len() as u128), None);
        assert_eq!(plan.get(u128::MAX), None);
        assert_eq!(plan.ports(), [25, 587, 2525]);
        assert_eq!(plan.excluded_count(), 2);
        assert_eq!(
            plan.names().collect::<Vec<_>>(),
            ["mail.example.com", "gone.example.com"]
        );
        assert_eq!(
            plan.unresolved(),
            [
                (
                    "gone.example.com".to_string(),
                    25,
                    "no such host".to_string()
                ),
                (
                    "gone.example.com".to_string(),
                    587,
                    "no such host".to_string()
                ),
            ]
        );
        assert_eq!(plan.name_of(ip("2001:db8::5")), Some("mail.example.com"));
        assert_eq!(plan.name_of(ip("2001:db8::1")), None);
    }

    #[test]
    fn names_and_their_failures() {
        let names = resolved(&[
            ("a.example", Ok(&["192.0.2.10"])),
            ("b.example", Ok(&["192.0.2.10", "192.0.2.11"])),
            ("empty.example", Ok(&[])),
        ]);
        let plan = build(
            &[
                "a.example",
                "b.example:2525",
                "empty.example:25",
                "missing.example",
                "a.example",
            ],
            &[],
            &[25],
            &names,
        )
        .unwrap();
        assert_eq!(
            shown(&plan),
            [
                "192.0.2.10:25 a.example",
                "192.0.2.10:2525 a.example",
                "192.0.2.11:2525 b.example",
            ]
        );
        assert_eq!(
            plan.names().collect::<Vec<_>>(),
            ["a.example", "b.example", "empty.example", "missing.example"]
        );
        assert_eq!(
            plan.unresolved(),
            [
                ("empty.example".to_string(), 25, "no addresses".to_string()),
                (
                    "missing.example".to_string(),
                    25,
                    "name was not looked up".to_string()
                ),
            ]
        );
    }

    #[test]
    fn excludes_by_name() {
        let names = resolved(&[
            ("mx.example", Ok(&["192.0.2.5"])),
            ("broken.example", Err("timed out")),
        ]);
        let plan = build(&["192.0.2.4-6"], &["mx.example"], &[25], &names).unwrap();
        assert_eq!(shown(&plan), ["192.0.2.4:25", "192.0.2.6:25"]);

        let err = build(
            &["192.0.2.4-6"],
            &["192.0.2.9", "broken.example"],
            &[25],
            &names,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.txt:2: exclude \"broken.example\" did not resolve (timed out); refusing to scan without applying it"
        );
    }

    #[test]
    fn addresses_are_counted_once_over_ports_after_excludes() {
        let names = resolved(&[("mx.example", Ok(&["192.0.2.9", "2001:db8::9"]))]);
        // (targets, excludes, ports, distinct addresses, endpoints)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [u16], u128, u128);
        // ::/0 holds all of IPv4 (its mapped and compatible blocks) less the IPv4 special
        // blocks (0/8, 224/4, 240/4), and 2^128 - 2^33 + 2 IPv6 addresses less `::` and
        // ff00::/8.
        const ALL_OF_IPV6: u128 =
            ((1 << 32) - (1 << 24) - (2 << 28)) + (u128::MAX - (1 << 33) + 3 - 1 - (1 << 120));
        let cases: &[Case] = &[
            (&["192.0.2.0/24"], &[], &[25, 465, 587], 256, 768),
            (&["192.0.2.0/24", "192.0.2.7:2525"], &[], &[25], 256, 257),
            (&["192.0.2.0/24:25", "192.0.2.0/25:587"], &[], &[], 256, 384),
            (&["192.0.2.0/24"], &["192.0.2.0/25"], &[25], 128, 128),
            (&["mx.example", "192.0.2.9"], &[], &[25], 2, 2),
            // The whole IPv4 space after the special blocks: the 3,741,319,168.
            (&["0.0.0.0/0"], &[], &[2525], 3_741_319_168, 3_741_319_168),
            (
                &["0.0.0.0/0"],
                &["0.0.0.0/1"],
                &[25],
                1_610_612_736,
                1_610_612_736,
            ),
            // Counted arithmetically: a /64 and a /0 cost no more than a /24.
            (&["2001:db8::/64"], &[], &[25, 587], 1 << 64, 2 << 64),
            (&["::/0"], &[], &[25], ALL_OF_IPV6, ALL_OF_IPV6),
        ];
        for (targets, excludes, ports, addresses, endpoints) in cases {
            let plan = build(targets, excludes, ports, &names).unwrap();
            assert_eq!(plan.addresses(), *addresses, "{targets:?} - {excludes:?}");
            assert_eq!(plan.len(), *endpoints, "{targets:?} - {excludes:?}");
        }
        // A plan of 2^64 endpoints is still a few bytes of memory, and indexable.
        let wide = build(&["2001:db8::/64"], &[], &[25, 587], &names).unwrap();
        assert_eq!(
            wide.get((2 << 64) - 1),
            Some(Endpoint::new(ip("2001:db8::ffff:ffff:ffff:ffff"), 587))
        );
    }

    #[test]
    fn special_blocks_are_left_out_unless_named() {
        let none = Resolved::new();
        // A /2 that holds multicast (224/4) and reserved (240/4): only 192/3 stays.
        let wide = build(&["192.0.0.0/2"], &[], &[25], &none).unwrap();
        assert_eq!(wide.len(), 1 << 29);
        assert_eq!(wide.special_skipped(), 1 << 29);
        assert_eq!(
            wide.get((1 << 29) - 1),
            Some(Endpoint::new(ip("223.255.255.255"), 25))
        );
        // Named explicitly (wholly inside one block): scanned, on every port.
        let named = build(
            &[
                "224.0.0.5",
                "255.255.255.255",
                "[ff02::1]:2525",
                "192.0.2.1",
            ],
            &[],
            &[25],
            &none,
        )
        .unwrap();
        assert_eq!(
            shown(&named),
            [
                "192.0.2.1:25",
                "224.0.0.5:25",
                "255.255.255.255:25",
                "[ff02::1]:2525"
            ]
        );
        assert_eq!(named.special_skipped(), 0);
        // Named once, it stays named for a wider target that overlaps it too.
        let both = build(&["0.0.0.0/0", "224.0.0.0/24"], &[], &[25], &none).unwrap();
        let special = (1u128 << 24) + (2 << 28) - 256;
        assert_eq!(both.len(), (1 << 32) - special);
        assert_eq!(both.special_skipped(), special);
        // A name that resolves into a special block (a DNS sinkhole's 0.0.0.0) is skipped.
        let names = resolved(&[("sinkholed.example", Ok(&["0.0.0.0", "192.0.2.9"]))]);
        let sink = build(&["sinkholed.example"], &[], &[25], &names).unwrap();
        assert_eq!(shown(&sink), ["192.0.2.9:25 sinkholed.example"]);
        assert_eq!(sink.special_skipped(), 1);
    }

    #[test]
    fn scope_refuses_targets_outside_it() {
        let mut scope = RangeSet::new();
        scope.insert_net("192.0.2.0/24".parse().unwrap());
        scope.insert_net("2001:db8::/120".parse().unwrap());
        let names = resolved(&[
            ("in.example", Ok(&["192.0.2.200"])),
            ("out.example", Ok(&["192.0.2.51", "198.51.100.1"])),
        ]);
        let with_scope = |targets: &[&str], excludes: &[&str]| {
            let targets = specs(targets);
            let excludes = specs(excludes);
            Plan::build(PlanInput {
                targets: &targets,
                excludes: &excludes,
                default_ports: &[25],
                resolved: &names,
                scope: Some(&scope),
            })
        };
        let plan = with_scope(
            &["192.0.2.0/25", "in.example", "[2001:db8::5]:25"],
            // Excludes need not lie in the scope.
            &["198.51.100.0/24"],
        )
        .unwrap();
        assert_eq!(plan.len(), 128 + 1 + 1);
        let cases: &[(&[&str], &str)] = &[
            (
                &["192.0.2.1", "192.0.2.0/23"],
                "t.txt:2: \"192.0.2.0/23\" reaches 192.0.3.0, outside the authorised scope (--scope); nothing was sent",
            ),
            (
                &["198.51.100.7:2525"],
                "t.txt:1: \"198.51.100.7:2525\" reaches 198.51.100.7, outside the authorised scope (--scope); nothing was sent",
            ),
            (
                &["out.example"],
                "t.txt:1: \"out.example\" reaches 198.51.100.1, outside the authorised scope (--scope); nothing was sent",
            ),
            (
                &["2001:db8::/119"],
                "t.txt:1: \"2001:db8::/119\" reaches 2001:db8::100, outside the authorised scope (--scope); nothing was sent",
            ),
        ];
        for (targets, want) in cases {
            assert_eq!(
                with_scope(targets, &[]).unwrap_err().to_string(),
                *want,
                "{targets:?}"
            );
        }
    }

    #[test]
    fn ipv6_spellings_of_ipv4_meet_excludes_scope_and_special_blocks_as_ipv4() {
        let names = resolved(&[
            ("mapped.example", Ok(&["::ffff:192.0.2.21", "2001:db8::21"])),
            (
                "sinkholed.example",
                Ok(&["::ffff:0.0.0.0", "::ffff:192.0.2.22"]),
            ),
            ("both.example", Ok(&["192.0.2.23", "::ffff:192.0.2.23"])),
        ]);
        // (targets, excludes, endpoints wanted, special blocks skipped)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], u128);
        let cases: &[Case] = &[
            // A literal in the mapped or compatible form is probed as its IPv4 address.
            (&["[::ffff:192.0.2.21]:2525"], &[], &["192.0.2.21:2525"], 0),
            (&["::192.0.2.21"], &[], &["192.0.2.21:25"], 0),
            // Excludes in either spelling remove both.
            (&["[::ffff:192.0.2.21]:2525"], &["192.0.2.21"], &[], 0),
            (
                &["192.0.2.20-21"],
                &["::ffff:192.0.2.21"],
                &["192.0.2.20:25"],
                0,
            ),
            (
                &["::ffff:192.0.2.20/127"],
                &["192.0.2.20"],
                &["192.0.2.21:25"],
                0,
            ),
            // A name's AAAA in the mapped form: the exclude of its IPv4 address applies.
            (
                &["mapped.example"],
                &["192.0.2.21"],
                &["[2001:db8::21]:25 mapped.example"],
                0,
            ),
            // Both spellings from one name are one endpoint.
            (&["both.example"], &[], &["192.0.2.23:25 both.example"], 0),
            // A DNS sinkhole's ::ffff:0.0.0.0 is skipped as 0.0.0.0 is.
            (
                &["sinkholed.example"],
                &[],
                &["192.0.2.22:25 sinkholed.example"],
                1,
            ),
            // Mapped special blocks inside a wider target are left out like their IPv4 forms.
            (
                &["::ffff:223.255.255.254-::ffff:224.0.0.1"],
                &[],
                &["223.255.255.254:25", "223.255.255.255:25"],
                2,
            ),
            (
                &["::ffff:0.255.255.254-::ffff:1.0.0.1"],
                &[],
                &["1.0.0.0:25", "1.0.0.1:25"],
                2,
            ),
            // Named wholly inside one block, as for IPv4: probed.
            (&["[::ffff:224.0.0.5]:25"], &[], &["224.0.0.5:25"], 0),
        ];
        for (targets, excludes, want, special) in cases {
            let plan = build(targets, excludes, &[25], &names).unwrap();
            assert_eq!(shown(&plan), *want, "{targets:?} - {excludes:?}");
            assert_eq!(plan.special_skipped(), *special, "{targets:?}");
        }
        let plan = build(&["mapped.example"], &[], &[25], &names).unwrap();
        assert_eq!(plan.name_of(ip("192.0.2.21")), Some("mapped.example"));
        assert_eq!(
            plan.name_of(ip("::ffff:192.0.2.21")),
            Some("mapped.example")
        );

        // A scope in either spelling covers targets and answers in either spelling.
        let mut scope = RangeSet::new();
        scope.insert_net("::ffff:192.0.2.0/125".parse().unwrap());
        scope.insert_net("2001:db8::/120".parse().unwrap());
        let within = |targets: &[&str]| {
            let targets = specs(targets);
            Plan::build(PlanInput {
                targets: &targets,
                excludes: &[],
                default_ports: &[25],
                resolved: &names,
                scope: Some(&scope),
            })
        };
        assert_eq!(within(&["192.0.2.0/29"]).unwrap().len(), 8);
        assert_eq!(within(&["::ffff:192.0.2.7"]).unwrap().len(), 1);
        let cases = [
            (
                "mapped.example",
                "t.txt:1: \"mapped.example\" reaches 192.0.2.21, outside the authorised scope (--scope); nothing was sent",
            ),
            (
                "::ffff:192.0.2.0/124",
                "t.txt:1: \"::ffff:192.0.2.0/124\" reaches 192.0.2.8, outside the authorised scope (--scope); nothing was sent",
            ),
        ];
        for (target, want) in cases {
            assert_eq!(within(&[target]).unwrap_err().to_string(), want, "{target}");
        }
    }

    #[test]
    fn targets_need_a_port() {
        let err = build(&["192.0.2.1:25", "192.0.2.2"], &[], &[], &Resolved::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.txt:2: \"192.0.2.2\": no port to scan (give default ports, or write the target as 192.0.2.2:PORT)"
        );
    }

    #[test]
    fn empty_plans() {
        let none = Resolved::new();
        let plan = build(&[], &[], &[25], &none).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.get(0), None);
        assert!(plan.ports().is_empty());
        let all_excluded = build(&["192.0.2.0/24"], &["192.0.2.0/23"], &[25, 465], &none).unwrap();
        assert!(all_excluded.is_empty());
        assert_eq!(all_excluded.excluded_count(), 512);
        assert_eq!(all_excluded.endpoints().count(), 0);
    }
}
