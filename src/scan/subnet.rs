//! Per-subnet politeness (`--subnet-rate`): a keyed governor limiter per IPv4 /24 and
//! IPv6 /64, pruned with `retain_recent` so that its memory stays bounded on long scans.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::scan::share::Rate;

/// How often forgotten subnets are dropped. A key is forgettable once its bucket is full
/// again, about a second after its last use at most rates, so the map holds roughly the
/// subnets touched in the last second or two.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// The network an address is rate-limited with: its /24 (IPv4) or /64 (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subnet {
    V4(u32),
    V6(u64),
}

impl Subnet {
    pub fn of(ip: IpAddr) -> Subnet {
        match ip {
            IpAddr::V4(a) => Subnet::V4(a.to_bits() >> 8),
            IpAddr::V6(a) => Subnet::V6((a.to_bits() >> 64) as u64),
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Subnet::V4(n) => {
                let a = std::net::Ipv4Addr::from_bits(n << 8);
                write!(f, "{a}/24")
            }
            Subnet::V6(n) => {
                let a = std::net::Ipv6Addr::from_bits(u128::from(n) << 64);
                write!(f, "{a}/64")
            }
        }
    }
}

type Keyed<C> =
    RateLimiter<Subnet, DashMapStateStore<Subnet>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// New connections per second per subnet, with its map of subnets kept small.
pub struct SubnetLimiter<C: Clock = DefaultClock> {
    limiter: Keyed<C>,
    last_prune: Instant,
}

impl SubnetLimiter<DefaultClock> {
    pub fn new(rate: Rate) -> Self {
        SubnetLimiter::with_clock(rate.quota(), DefaultClock::default())
    }

    /// Waits until `ip`'s subnet may take one more connection, pruning now and then.
    pub async fn until_ready(&mut self, ip: IpAddr) {
        self.limiter.until_key_ready(&Subnet::of(ip)).await;
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.prune();
        }
    }
}

impl<C: Clock> SubnetLimiter<C> {
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        SubnetLimiter {
            limiter: RateLimiter::dashmap_with_clock(quota, clock),
            last_prune: Instant::now(),
        }
    }

    /// Takes a slot for `ip`'s subnet if one is free now.
    pub fn try_take(&self, ip: IpAddr) -> bool {
        self.limiter.check_key(&Subnet::of(ip)).is_ok()
    }

    /// Forgets subnets whose limit has fully recovered: they behave as new ones would.
    pub fn prune(&mut self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.last_prune = Instant::now();
    }

    /// Subnets remembered now.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_are_slash_24_and_slash_64() {
        let cases = [
            ("192.0.2.1", "192.0.2.255", true),
            ("192.0.2.1", "192.0.3.1", false),
            ("2001:db8::1", "2001:db8::ffff:1", true),
            ("2001:db8::1", "2001:db8:0:1::1", false),
            // A mapped address is not its IPv4 twin's subnet; families stay apart.
            ("0.0.0.1", "::1", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(Subnet::of(ip(a)) == Subnet::of(ip(b)), same, "{a} {b}");
        }
        assert_eq!(Subnet::of(ip("192.0.2.77")).to_string(), "192.0.2.0/24");
        assert_eq!(
            Subnet::of(ip("2001:db8:1:2:3::4")).to_string(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn each_subnet_has_its_own_budget() {
        let clock = FakeRelativeClock::default();
        let limiter = SubnetLimiter::with_clock(
            Quota::per_second(std::num::NonZeroU32::new(2).unwrap()),
            clock.clone(),
        );
        assert!(limiter.try_take(ip("192.0.2.1")));
        assert!(limiter.try_take(ip("192.0.2.2")));
        assert!(!limiter.try_take(ip("192.0.2.3")), "third in one second");
        assert!(limiter.try_take(ip("198.51.100.1")), "another /24 is free");
        clock.advance(Duration::from_millis(500));
        assert!(limiter.try_take(ip("192.0.2.4")), "refilled at 2/s");
        assert!(!limiter.try_take(ip("192.0.2.5")));
    }

    #[test]
    fn pruning_forgets_quiet_subnets() {
        let clock = FakeRelativeClock::default();
        let mut limiter = SubnetLimiter::with_clock(
            Quota::per_second(std::num::NonZeroU32::new(10).unwrap()),
            clock.clone(),
        );
        for n in 0..5_000u32 {
            let addr = std::net::Ipv4Addr::from_bits(u32::from_be_bytes([127, 0, 0, 0]) + (n << 8));
            assert!(limiter.try_take(IpAddr::V4(addr)));
        }
        assert_eq!(limiter.len(), 5_000);
        limiter.prune();
        assert_eq!(limiter.len(), 5_000, "all used within the last second");
        clock.advance(Duration::from_secs(2));
        assert!(limiter.try_take(ip("192.0.2.1")));
        limiter.prune();
        assert_eq!(limiter.len(), 1, "only the subnet used since");
    }
}
