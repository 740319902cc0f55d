//! The first stage of a streamed domain scan: mail domains read a line at a time, each
//! resolved (MX, addresses, policy records, the PTR of its addresses, its MTA-STS
//! policy), planned with the run's scope, excludes and special blocks, handed to the
//! writer, and its endpoints not yet probed handed to the probes. Memory follows the
//! domains in flight and the mail hosts, never the length of the list.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::scheduler::Delivery;
use crate::dns::domain::{MailRoute, check_ptr, resolve_domain};
use crate::dns::hickory::HickoryResolver;
use crate::dns::plan::domain_steps;
use crate::dns::sts_fetch::StsFetcher;
use crate::dns::{DnsSettings, DomainResolution, Limited, PtrCheck};
use crate::report::domains::DomainArrival;
use crate::say::say;
use crate::target::build::{BuildError, every_lookup_failed, nothing_to_scan, plan_of_domain};
use crate::target::scope::may_contact;
use crate::target::settings::PlanSettings;
use crate::target::size::{SizeAllowance, check_size};
use crate::target::{Address, Endpoint, Origin, Plan, PlanError, Target, TargetSpec};

/// The most domains resolved at once; also how many failed domains in a row, before any
/// answer, mean a wrong `--resolver`.
pub const DOMAINS_IN_FLIGHT: usize = 1024;

/// Domains resolved at once: as many as DNS questions may be in flight
/// (`--dns-concurrency`), as the eager path resolves them, at least 16, at most
/// [`DOMAINS_IN_FLIGHT`]. Each domain asks ~25 questions in two or three dependent rounds
/// (MX and TXT; then addresses, SPF includes, 14 DKIM selectors, TLSA), and every
/// question waiting for a DNS slot holds its resolver future: a window of 1,024 at
/// `--dns-concurrency 256` (~25,000 such futures) took 217 MiB at 2,000 domains in a
/// debug build, so the window follows the slots instead.
pub fn domains_in_flight(dns_concurrency: usize) -> usize {
    dns_concurrency.clamp(16, DOMAINS_IN_FLIGHT)
}

/// Domains handed to the writer and not yet written (they wait for their mail hosts'
/// verdicts): the stage waits for a slot beyond this. 4 × 1,024, so that a probe in
/// flight to a host shared by thousands of domains does not stall the resolving.
pub const DOMAINS_WAITING: usize = 4 * DOMAINS_IN_FLIGHT;

/// Domain names read ahead of the resolving.
const LINES_AHEAD: usize = 1024;

/// Endpoints handed to the probes and not yet taken: the scheduler takes them as fast as
/// its rate and concurrency allow, so a short queue keeps it fed.
pub const ENDPOINTS_AHEAD: usize = 1024;

/// What a streamed domain run needs beyond the domains.
pub struct DomainStage {
    pub dns: Arc<Limited<HickoryResolver>>,
    pub dns_settings: DnsSettings,
    pub plan: PlanSettings,
    /// The host names among the excludes, resolved once.
    pub names: HashMap<String, Result<Vec<IpAddr>, String>>,
    /// Each domain's DNS steps on stderr (`-vv`).
    pub steps: bool,
    /// One permit per domain that may wait in the writer: taken here, given back by the
    /// writer as each domain is written.
    pub waiting: Arc<Semaphore>,
    /// Said once, before the first endpoint outside loopback is probed (see
    /// `config::probe::identity_warning`).
    pub identity_warning: Option<String>,
}

/// What the stage saw, for the closing notes.
#[derive(Debug, Clone, Default)]
pub struct StageEnd {
    /// Domain lines read (a name repeated counts each time).
    pub domains: u64,
    /// Distinct endpoints handed to the probes.
    pub endpoints: u64,
    /// Endpoints left out in multicast, reserved or "this network" blocks.
    pub special_skipped: u128,
}

/// A domain line, or the error that ends the list.
type Line = Result<(Origin, Target), String>;

impl DomainStage {
    /// Reads `lines` (on a thread of their own: they may block on a pipe) until they end,
    /// an error, or `stop`. Each domain reaches `writer` before any of its endpoints
    /// reaches `probes`, so its record waits for them.
    pub async fn run(
        self,
        lines: impl Iterator<Item = Line> + Send + 'static,
        writer: mpsc::Sender<Delivery>,
        probes: mpsc::Sender<(u128, Endpoint)>,
        stop: CancellationToken,
    ) -> Result<StageEnd, BuildError> {
        let (line_tx, line_rx) = mpsc::channel::<Line>(LINES_AHEAD);
        // A thread of its own, not the runtime's blocking pool: a reader blocked on a
        // pipe that never ends is left to the process's exit, not waited for.
        std::thread::spawn(move || {
            for line in lines {
                if line_tx.blocking_send(line).is_err() {
                    return;
                }
            }
        });
        let fetcher = self
            .dns_settings
            .sts_fetcher()
            .map_err(BuildError::Resolver)?;
        let stage = Arc::new(self);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let resolving = tokio::spawn(Arc::clone(&stage).resolve_all(line_rx, fetcher, done_tx));
        // Counted here, so that a stop still reports what was read and handed out.
        let mut end = StageEnd::default();
        let fed = tokio::select! {
            _ = stop.cancelled() => Ok(()),
            fed = stage.feed(done_rx, writer, probes, &mut end) => fed,
        };
        resolving.abort();
        fed.map(|()| end)
    }

    /// Resolves each line in a task of its own, at most [`domains_in_flight`] at once.
    /// Tasks, not a `buffer_unordered` drained by `feed`: a lookup merged with one that a
    /// future left unpolled (while `feed` waits on a full channel) would wait forever,
    /// and so would the DNS permits that future holds.
    async fn resolve_all(
        self: Arc<Self>,
        mut lines: mpsc::Receiver<Line>,
        fetcher: StsFetcher,
        done: mpsc::UnboundedSender<(Resolved, OwnedSemaphorePermit)>,
    ) {
        let window = Arc::new(Semaphore::new(domains_in_flight(
            self.dns_settings.concurrency,
        )));
        let fetcher = Arc::new(fetcher);
        loop {
            // The semaphore is never closed.
            let Ok(permit) = Arc::clone(&window).acquire_owned().await else {
                return;
            };
            let Some(line) = lines.recv().await else {
                return;
            };
            let stage = Arc::clone(&self);
            let fetcher = Arc::clone(&fetcher);
            let done = done.clone();
            tokio::spawn(async move {
                let resolved = stage.resolve(line, &fetcher).await;
                // The permit goes with the result: the window counts results not taken.
                let _ = done.send((resolved, permit));
            });
        }
    }

    async fn feed(
        &self,
        mut resolved: mpsc::UnboundedReceiver<(Resolved, OwnedSemaphorePermit)>,
        writer: mpsc::Sender<Delivery>,
        probes: mpsc::Sender<(u128, Endpoint)>,
        end: &mut StageEnd,
    ) -> Result<(), BuildError> {
        let mut dispatched: HashSet<(Address, u16)> = HashSet::new();
        let mut addresses: HashSet<Address> = HashSet::new();
        // Until a domain gets an answer, the failed ones are held back: a window of
        // failures is a wrong --resolver, and the run stops as an eager one would.
        let mut held: Vec<DomainArrival> = Vec::new();
        let mut answered = false;
        let mut first_without: Option<(String, String)> = None;
        let mut warned = self.identity_warning.is_none();
        while let Some((next, _permit)) = resolved.recv().await {
            let (resolution, ptr, target, plan) = next?;
            end.domains += 1;
            if self.steps {
                say(&format!("relayscan: {}", domain_steps(&resolution)));
            }
            let plan = plan?;
            end.special_skipped += plan.special_skipped();
            let planned: Vec<Endpoint> = plan.endpoints().collect();
            if planned.is_empty() && first_without.is_none() {
                let why = resolution
                    .route_error
                    .clone()
                    .unwrap_or_else(|| resolution.route.as_str().to_string());
                first_without = Some((resolution.domain.clone(), why));
            }
            let failed = matches!(
                resolution.route,
                MailRoute::Servfail | MailRoute::Timeout | MailRoute::Error
            );
            let arrival = DomainArrival {
                ports: target.1.port.into_iter().collect(),
                ptr,
                planned: planned.iter().map(|e| (e.ip, e.port)).collect(),
                resolution,
            };
            if failed && !answered {
                held.push(arrival);
                if held.len() >= DOMAINS_IN_FLIGHT {
                    return Err(every_lookup_failed(&self.dns_settings, &held[0].resolution));
                }
                continue;
            }
            if !answered {
                answered = true;
                for earlier in std::mem::take(&mut held) {
                    self.hand_over(earlier, &writer).await?;
                }
            }
            self.hand_over(arrival, &writer).await?;
            if !warned && plan.leaves_loopback() {
                warned = true;
                if let Some(warning) = &self.identity_warning {
                    say(warning);
                }
            }
            for endpoint in planned {
                if !dispatched.insert((Address::new(endpoint.ip), endpoint.port)) {
                    continue;
                }
                addresses.insert(Address::new(endpoint.ip));
                let allowance = SizeAllowance {
                    scoped: self.plan.scope.is_some(),
                    allow_large: self.plan.allow_large,
                };
                check_size(addresses.len() as u128, allowance).map_err(PlanError::from)?;
                let position = u128::from(end.endpoints);
                end.endpoints += 1;
                if probes.send((position, endpoint)).await.is_err() {
                    return Ok(());
                }
            }
        }
        if let Some(first) = held.first() {
            return Err(every_lookup_failed(&self.dns_settings, &first.resolution));
        }
        if end.endpoints == 0
            && let Some((domain, why)) = first_without
        {
            return Err(nothing_to_scan(&self.dns_settings, &domain, &why));
        }
        Ok(())
    }

    /// One domain to the writer, once a slot among the domains waiting is free.
    async fn hand_over(
        &self,
        arrival: DomainArrival,
        writer: &mpsc::Sender<Delivery>,
    ) -> Result<(), BuildError> {
        // The semaphore is never closed; the writer gives the permit back.
        if let Ok(permit) = self.waiting.acquire().await {
            permit.forget();
        }
        writer
            .send(Delivery::Domain(Box::new(arrival)))
            .await
            .map_err(|_| BuildError::Input("the report writer stopped".into()))
    }

    /// One domain line resolved (with the PTR of its addresses) and planned, with its
    /// MTA-STS policy fetched (inside the scope).
    async fn resolve(&self, line: Line, fetcher: &StsFetcher) -> Resolved {
        let target = line.map_err(BuildError::Input)?;
        let TargetSpec::Domain(name) = &target.1.spec else {
            return Err(BuildError::Input(format!(
                "{}: \"{}\": not a mail domain",
                target.0, target.1
            )));
        };
        let dns = self.dns.as_ref();
        let mut resolution = resolve_domain(dns, name, &self.dns_settings.dkim_selectors).await;
        if resolution.mta_sts.present {
            let scope = self.plan.scope.as_ref();
            let domain = resolution.domain.clone();
            resolution.mta_sts_policy = Some(
                fetcher
                    .fetch(dns, &domain, |ip| may_contact(scope, ip))
                    .await,
            );
        }
        let ptr = futures::future::join_all(
            resolution
                .addresses()
                .into_iter()
                .map(|ip| async move { (ip, check_ptr(dns, ip).await) }),
        )
        .await;
        let (resolution, plan) = plan_of_domain(&self.plan, &self.names, &target, resolution);
        Ok((resolution, ptr, target, plan))
    }
}

/// One domain line resolved: its resolution, the PTR of its addresses, the line, and its
/// plan; or the error that stops the run.
type Resolved = Result<
    (
        DomainResolution,
        Vec<(IpAddr, PtrCheck)>,
        (Origin, Target),
        Result<Plan, PlanError>,
    ),
    BuildError,
>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_dns_slots_within_bounds() {
        let table = [(1, 16), (32, 32), (256, 256), (5_000, DOMAINS_IN_FLIGHT)];
        for (slots, window) in table {
            assert_eq!(domains_in_flight(slots), window, "{slots}");
        }
    }
}
