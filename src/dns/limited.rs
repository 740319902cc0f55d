//! DNS politeness and economy: a cache that also merges identical lookups in flight, a cap on lookups in flight, a rate limit, and counters.
//!
//! A provider's 5,000 domains on one MX cluster ask for the same host names thousands
//! of times; each distinct question goes to the name server once.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::{OnceCell, Semaphore};

use super::dane::TlsaAnswer;
use super::{Addresses, Answer, Mx, Resolve};

/// What the DNS side of a run cost, for the report and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DnsStats {
    /// Questions sent to the name servers (one per distinct name and type).
    pub queries: u64,
    /// Questions answered from the cache or merged with one in flight.
    pub cache_hits: u64,
}

type Cell<T> = Arc<OnceCell<Answer<T>>>;

/// Entries one cache holds before it lets its answered ones go. The names shared by many
/// domains (mail hosts' A/AAAA, TLSA and PTR: 10,000 hosts for a million domains in the
/// bench) stay under it and are asked once; the names of one domain each (its MX, its
/// ~20 TXT names with 14 DKIM selectors) would otherwise grow the cache by about 5 KiB a
/// domain, for answers nobody asks for again. 65,536 entries of ~200 bytes: ~13 MiB.
pub const CACHE_ENTRIES: usize = 65_536;

/// One cache per question type, bounded by [`CACHE_ENTRIES`].
struct Cache<K, T> {
    map: Mutex<HashMap<K, Cell<T>>>,
    cap: usize,
}

impl<K: Eq + Hash + Clone, T: Clone> Cache<K, T> {
    fn new() -> Self {
        Cache::with_cap(CACHE_ENTRIES)
    }

    fn with_cap(cap: usize) -> Self {
        Cache {
            map: Mutex::new(HashMap::new()),
            cap,
        }
    }

    /// The cell for `key`, and whether it was already there. A full cache first lets
    /// its answered entries go; lookups in flight stay, so identical questions still
    /// merge. Amortised: after a sweep only the lookups in flight remain.
    fn cell(&self, key: &K) -> (Cell<T>, bool) {
        // A poisoned lock only means another lookup panicked; the map is still sound.
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(cell) => (cell.clone(), true),
            None => {
                if map.len() >= self.cap {
                    map.retain(|_, cell| !cell.initialized());
                }
                let cell: Cell<T> = Arc::new(OnceCell::new());
                map.insert(key.clone(), cell.clone());
                (cell, false)
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A resolver behind a cache, a concurrency cap and a rate limit.
pub struct Limited<R> {
    inner: R,
    permits: Semaphore,
    rate: DefaultDirectRateLimiter,
    mx: Cache<String, Vec<Mx>>,
    addresses: Cache<String, Addresses>,
    ipv4: Cache<String, Vec<Ipv4Addr>>,
    txt: Cache<String, Vec<String>>,
    ptr: Cache<IpAddr, Vec<String>>,
    tlsa: Cache<String, TlsaAnswer>,
    queries: AtomicU64,
    hits: AtomicU64,
}

impl<R: Resolve> Limited<R> {
    /// At most `concurrency` lookups in flight and `rate` new ones a second.
    pub fn new(inner: R, concurrency: usize, rate: NonZeroU32) -> Limited<R> {
        Limited {
            inner,
            permits: Semaphore::new(concurrency.max(1)),
            rate: RateLimiter::direct(Quota::per_second(rate)),
            mx: Cache::new(),
            addresses: Cache::new(),
            ipv4: Cache::new(),
            txt: Cache::new(),
            ptr: Cache::new(),
            tlsa: Cache::new(),
            queries: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// The resolver behind the cache (for the tests that count what it was asked).
    #[cfg(test)]
    pub(crate) fn inner(&self) -> &R {
        &self.inner
    }

    pub fn stats(&self) -> DnsStats {
        DnsStats {
            queries: self.queries.load(Ordering::Relaxed),
            cache_hits: self.hits.load(Ordering::Relaxed),
        }
    }

    /// Answers from the cache, or runs `ask` once for everyone waiting on `key`.
    async fn cached<K, T, F>(&self, cache: &Cache<K, T>, key: K, ask: F) -> Answer<T>
    where
        K: Eq + Hash + Clone,
        T: Clone,
        F: Future<Output = Answer<T>>,
    {
        let (cell, known) = cache.cell(&key);
        if known {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        cell.get_or_init(|| async {
            // The semaphore is never closed, so acquire only fails if it were.
            let _permit = self.permits.acquire().await.ok();
            self.rate.until_ready().await;
            self.queries.fetch_add(1, Ordering::Relaxed);
            ask.await
        })
        .await
        .clone()
    }
}

impl<R: Resolve> Resolve for Limited<R> {
    async fn mx(&self, name: &str) -> Answer<Vec<Mx>> {
        let key = super::normalize_name(name);
        self.cached(&self.mx, key, self.inner.mx(name)).await
    }

    async fn addresses(&self, name: &str) -> Answer<Addresses> {
        let key = super::normalize_name(name);
        self.cached(&self.addresses, key, self.inner.addresses(name))
            .await
    }

    async fn ipv4(&self, name: &str) -> Answer<Vec<Ipv4Addr>> {
        let key = super::normalize_name(name);
        self.cached(&self.ipv4, key, self.inner.ipv4(name)).await
    }

    async fn txt(&self, name: &str) -> Answer<Vec<String>> {
        let key = super::normalize_name(name);
        self.cached(&self.txt, key, self.inner.txt(name)).await
    }

    async fn ptr(&self, ip: IpAddr) -> Answer<Vec<String>> {
        self.cached(&self.ptr, ip, self.inner.ptr(ip)).await
    }

    async fn tlsa(&self, name: &str) -> Answer<TlsaAnswer> {
        let key = super::normalize_name(name);
        self.cached(&self.tlsa, key, self.inner.tlsa(name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (cap, keys asked in order, answered before the next ask?, entries left, hits):
    /// a full cache lets answered entries go, never one still in flight.
    #[tokio::test]
    async fn a_full_cache_drops_answered_entries_and_keeps_those_in_flight() {
        type Row = (usize, &'static [u32], bool, usize, usize);
        let table: &[Row] = &[
            (4, &[1, 2, 3], true, 3, 0),
            (4, &[1, 2, 1, 2], true, 2, 2),
            // The 5th key finds 4 answered entries: they go, it stays alone.
            (4, &[1, 2, 3, 4, 5], true, 1, 0),
            (4, &[1, 2, 3, 4, 5, 1], true, 2, 0),
            // Nothing answered yet: nothing can go, the cache grows past its cap.
            (4, &[1, 2, 3, 4, 5], false, 5, 0),
        ];
        for &(cap, keys, answer, left, hits) in table {
            let cache: Cache<u32, u32> = Cache::with_cap(cap);
            let mut found = 0;
            for &key in keys {
                let (cell, known) = cache.cell(&key);
                found += usize::from(known);
                if answer {
                    let _ = cell.get_or_init(|| async move { Ok(key) }).await;
                }
            }
            assert_eq!(
                (cache.len(), found),
                (left, hits),
                "{keys:?} answered {answer}"
            );
        }
    }
}
