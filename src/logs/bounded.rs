//! A per-key table that stays bounded however many keys a log brings: it keeps the heaviest keys (top-K), prunes the light ones in batches, and says that it did.
//!
//! Batch pruning (keep `cap`, prune when the table reaches twice that) costs O(log n)
//! amortised per new key, where evicting one minimum per new key (space-saving) would
//! scan the table each time. A pruned key that comes back starts from zero: its counts
//! are then lower bounds, which the report says by naming the table as overflowed.

use std::borrow::Borrow;
use std::hash::Hash;

/// How heavy an entry is: what the table keeps when it must choose.
pub trait Weight {
    fn weight(&self) -> u64;
}

/// At most `2 * cap` entries; after a prune, the `cap` heaviest.
#[derive(Debug, Clone)]
pub struct TopTable<K, V> {
    /// foldhash: one lookup per event, see `correlate`'s table.
    map: foldhash::HashMap<K, V>,
    cap: usize,
    /// Entries dropped by pruning, over the whole run.
    dropped: u64,
}

impl<K: Hash + Eq + Clone + Ord, V: Weight + Default> TopTable<K, V> {
    pub fn new(cap: usize) -> TopTable<K, V> {
        TopTable {
            map: foldhash::HashMap::default(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// The entry of `key`, made (empty) when absent; may prune the lightest entries first.
    pub fn entry<Q>(&mut self, key: &Q) -> &mut V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if !self.map.contains_key(key) {
            if self.map.len() >= 2 * self.cap {
                self.prune();
            }
            self.map.insert(key.to_owned(), V::default());
        }
        self.map.get_mut(key).expect("inserted above")
    }

    /// The entry of `key` when the table holds it.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// Keeps the `cap` heaviest entries (ties by key, so a run is reproducible).
    /// Keeps the `cap` heaviest entries, moved into a new map sized for `2 * cap`.
    ///
    /// Removing the light entries in place would leave tombstones, and a hash map full
    /// of them grows on its next insert when more than half its capacity is live (as
    /// here, with `2 * cap` live at a prune): measured with heaptrack, the client-rate
    /// map went from 32,768 buckets to 65,536 between 10 and 30 million log lines, one
    /// of the reasons memory crept up with the log's length. A fresh map of the one size
    /// never grows, so a table's memory is the same from its first prune to the end.
    fn prune(&mut self) {
        let mut order: Vec<(u64, K)> = self
            .map
            .iter()
            .map(|(k, v)| (v.weight(), k.clone()))
            .collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut kept =
            foldhash::HashMap::with_capacity_and_hasher(2 * self.cap, Default::default());
        for (_, key) in order.into_iter().take(self.cap) {
            if let Some((key, value)) = self.map.remove_entry(&key) {
                kept.insert(key, value);
            }
        }
        self.dropped += self.map.len() as u64;
        self.map = kept;
    }

    /// How many entries the map has room for without growing (for tests).
    #[cfg(test)]
    fn room(&self) -> usize {
        self.map.capacity()
    }

    /// Whether entries were dropped: the counts kept are then lower bounds.
    pub fn overflowed(&self) -> bool {
        self.dropped > 0
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The `n` heaviest entries, heaviest first (ties by key).
    pub fn top(&self, n: usize) -> Vec<(&K, &V)> {
        let mut all: Vec<(&K, &V)> = self.map.iter().collect();
        all.sort_unstable_by(|a, b| b.1.weight().cmp(&a.1.weight()).then_with(|| a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// A small set kept in first-seen order, at most `N` values; more are counted, not kept.
/// Values are kept as they come (an address stays an address) and named in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FewValues<T, const N: usize> {
    pub values: Vec<T>,
    /// Distinct values beyond the first `N` (a value seen again is not counted twice
    /// while it is kept; beyond `N` every sighting of a new-looking value counts).
    pub more: u64,
}

impl<T, const N: usize> Default for FewValues<T, N> {
    fn default() -> Self {
        FewValues {
            values: Vec::new(),
            more: 0,
        }
    }
}

impl<T, const N: usize> FewValues<T, N> {
    /// Adds `value` (copied only when it is kept).
    pub fn add<Q>(&mut self, value: &Q)
    where
        T: Borrow<Q>,
        Q: PartialEq + ToOwned<Owned = T> + ?Sized,
    {
        if self.values.iter().any(|v| v.borrow() == value) {
            return;
        }
        if self.values.len() < N {
            self.values.push(value.to_owned());
        } else {
            self.more += 1;
        }
    }

    /// The kept values as text, for the report.
    pub fn names(&self) -> Vec<String>
    where
        T: ToString,
    {
        self.values.iter().map(T::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Count(u64);

    impl Weight for Count {
        fn weight(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn the_map_keeps_one_size_however_many_keys_pass_through() {
        let mut t: TopTable<u64, Count> = TopTable::new(1000);
        let mut rooms = Vec::new();
        // 2,000 new keys a round, a prune each, 600,000 keys in all. Pruned in place, the
        // map's room shrank round by round as tombstones took it, until the map doubled
        // (3,584 entries to 7,168 after 140 rounds).
        for round in 0..300u64 {
            for n in 0..2000 {
                t.entry(&(round * 2000 + n)).0 += 1;
            }
            rooms.push(t.room());
        }
        rooms.dedup();
        assert_eq!(
            rooms.len(),
            1,
            "the map grew after its first prune: {rooms:?}"
        );
        assert!(t.len() <= 2000);
        assert!(t.dropped() >= 598_000, "{}", t.dropped());
    }

    #[test]
    fn keeps_the_heaviest_and_says_it_pruned() {
        let mut t: TopTable<String, Count> = TopTable::new(3);
        for _ in 0..10 {
            t.entry("heavy").0 += 1;
        }
        for _ in 0..5 {
            t.entry("middle").0 += 1;
        }
        for n in 0..1000 {
            t.entry(format!("light{n}").as_str()).0 += 1;
        }
        assert!(t.len() <= 6, "{}", t.len());
        assert!(t.overflowed());
        assert!(t.dropped() >= 994, "{}", t.dropped());
        let top: Vec<(&str, u64)> = t
            .top(2)
            .into_iter()
            .map(|(k, v)| (k.as_str(), v.0))
            .collect();
        assert_eq!(top, [("heavy", 10), ("middle", 5)]);
        let small: TopTable<String, Count> = TopTable::new(3);
        assert!(!small.overflowed() && small.is_empty());
    }

    #[test]
    fn few_values_keeps_the_first_and_counts_the_rest() {
        let mut f: FewValues<String, 2> = FewValues::default();
        for v in ["a", "b", "a", "c", "d"] {
            f.add(v);
        }
        assert_eq!(f.values, ["a", "b"]);
        assert_eq!(f.more, 2);
        let mut ips: FewValues<std::net::IpAddr, 1> = FewValues::default();
        let ip: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        ips.add(&ip);
        ips.add(&ip);
        assert_eq!((ips.names(), ips.more), (vec!["192.0.2.1".to_string()], 0));
    }
}
