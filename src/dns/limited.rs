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

/// One cache per question type; entries live for the run (a scan is short).
struct Cache<K, T> {
    map: Mutex<HashMap<K, Cell<T>>>,
}

impl<K: Eq + Hash + Clone, T: Clone> Cache<K, T> {
    fn new() -> Self {
        Cache {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The cell for `key`, and whether it was already there.
    fn cell(&self, key: &K) -> (Cell<T>, bool) {
        // A poisoned lock only means another lookup panicked; the map is still sound.
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(cell) => (cell.clone(), true),
            None => {
                let cell: Cell<T> = Arc::new(OnceCell::new());
                map.insert(key.clone(), cell.clone());
                (cell, false)
            }
        }
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
