//! From plan settings to a scan space: mail domains resolved through `crate::dns` into
//! their mail hosts (a host shared by many domains probed once), host names resolved
//! (through the named DNS servers, else the system resolver), the plan built inside the
//! scope, ordered and cut to a shard. Nothing here sends a probe.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::plan::{Plan, PlanError, PlanInput};
use super::ranges::RangeSet;
use super::resolve::resolve_names;
use super::scope::may_contact;
use super::settings::PlanSettings;
use super::size::{SizeAllowance, check_size};
use super::source::Origin;
use super::space::Space;
use super::spec::{Target, TargetSpec};
use crate::dns::DomainResolution;
use crate::dns::hickory::HickoryResolver;
use crate::dns::mta_sts::StsFetch;
use crate::dns::plan::{DomainPlan, ips_text, resolve_domains};
use crate::dns::sts_fetch::StsFetcher;
use crate::dns::{DnsSettings, Limited, Resolve};
use crate::say::say;

/// Host names resolved at once through the system resolver (each bounded by the
/// plan's name timeout).
const NAME_LOOKUPS_IN_FLIGHT: usize = 16;
/// MTA-STS policies fetched at once: each is one HTTPS connection to a policy host.
const POLICY_FETCHES_IN_FLIGHT: usize = 16;

/// Why no space could be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The DNS settings describe no usable resolver.
    #[error("{0}")]
    Resolver(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A line of a list read while the scan runs (standard input): it stops there.
    #[error("{0}")]
    Input(String),
    /// Every mail domain's lookup failed, or the domains gave nothing to probe: a run
    /// that would scan nothing says so instead of reporting "planned 0".
    #[error("{0}")]
    Domains(String),
}

/// [`build_space_sharing`] with a resolver of its own, when it needs one.
pub async fn build_space(
    settings: &PlanSettings,
    dns_settings: &DnsSettings,
    quiet: bool,
    dns_steps: bool,
) -> Result<(Space, DomainPlan), BuildError> {
    build_space_sharing(settings, dns_settings, None, quiet, dns_steps).await
}

/// Fetches the MTA-STS policy of every domain that publishes an `_mta-sts` TXT record,
/// only from addresses the scope allows (at most [`POLICY_FETCHES_IN_FLIGHT`] at once).
/// Traffic: a scan calls it once the plan is valid; the dry run (`targets`) never does.
pub async fn fetch_policies(
    dns_settings: &DnsSettings,
    domains: &mut DomainPlan,
    scope: Option<&RangeSet>,
) -> Result<(), BuildError> {
    let wanted: Vec<usize> = (0..domains.domains.len())
        .filter(|&i| domains.domains[i].mta_sts.present)
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let dns = dns_settings.resolver().map_err(BuildError::Resolver)?;
    let fetcher: StsFetcher = dns_settings.sts_fetcher().map_err(BuildError::Resolver)?;
    let (dns, fetcher) = (&dns, &fetcher);
    let fetched: Vec<(usize, StsFetch)> = stream::iter(wanted)
        .map(|i| {
            let domain = domains.domains[i].domain.clone();
            async move {
                let got = fetcher
                    .fetch(dns, &domain, |ip| may_contact(scope, ip))
                    .await;
                (i, got)
            }
        })
        .buffer_unordered(POLICY_FETCHES_IN_FLIGHT)
        .collect()
        .await;
    for (i, got) in fetched {
        domains.domains[i].mta_sts_policy = Some(got);
    }
    Ok(())
}

/// Resolves mail domains and names, builds the plan (scope and special blocks applied),
/// holds it to the size rule (`super::size`: refused for a scan, a note for the dry run),
/// orders it and cuts the shard. Warnings (unresolved names, skipped special blocks) and
/// a line on the mail domains go to stderr unless `quiet`; with `dns_steps` (`-vv`), each
/// name's and each domain's answers too. Mail domains become their mail hosts' names; the
/// returned [`DomainPlan`] says which domain each came from. The DNS lookups go through
/// `shared` when given (the run's resolver, which the blocklists use after), else through
/// a resolver built from `dns_settings`.
pub async fn build_space_sharing(
    settings: &PlanSettings,
    dns_settings: &DnsSettings,
    shared: Option<Arc<Limited<HickoryResolver>>>,
    quiet: bool,
    dns_steps: bool,
) -> Result<(Space, DomainPlan), BuildError> {
    let input = &settings.input;
    let names = host_names(input.targets.iter().chain(&input.excludes));
    let domain_targets: Vec<(Origin, Target)> = input
        .targets
        .iter()
        .filter(|(_, t)| matches!(t.spec, TargetSpec::Domain(_)))
        .cloned()
        .collect();
    // Host names go to the system resolver unless --resolver names the servers.
    let named_servers = !dns_settings.servers.is_empty();
    let use_dns = !domain_targets.is_empty() || (!names.is_empty() && named_servers);
    let resolver = match shared {
        _ if !use_dns => None,
        Some(shared) => Some(shared),
        None => Some(Arc::new(
            dns_settings.resolver().map_err(BuildError::Resolver)?,
        )),
    };
    let dns = resolver.as_deref();
    let mut resolved = resolve_host_names(names, settings, dns, named_servers).await;
    let domains = match dns {
        Some(dns) if !domain_targets.is_empty() => {
            resolve_domains(
                dns,
                &domain_targets,
                dns_settings.concurrency,
                &dns_settings.dkim_selectors,
                || dns.stats(),
            )
            .await
        }
        _ => DomainPlan::default(),
    };
    if dns_steps {
        let mut names: Vec<(&String, &Result<Vec<IpAddr>, String>)> = resolved.iter().collect();
        names.sort();
        for (name, answer) in names {
            say(&format!(
                "relayscan: dns: {name} -> {}",
                match answer {
                    Ok(ips) => ips_text(ips),
                    Err(e) => e.clone(),
                }
            ));
        }
        for step in domains.steps() {
            say(&format!("relayscan: {step}"));
        }
    }
    if let Some(first) = domains.every_lookup_failed() {
        return Err(every_lookup_failed(dns_settings, first));
    }
    let (host_targets, addresses) = domains.host_targets(&domain_targets);
    for (name, ips) in addresses {
        resolved.insert(name, Ok(ips));
    }
    let targets: Vec<(Origin, Target)> =
        input.targets.iter().cloned().chain(host_targets).collect();
    if !quiet && !domains.is_empty() {
        eprintln!("relayscan: {}", domains.summary());
    }
    let plan = Plan::build(PlanInput {
        targets: &targets,
        excludes: &input.excludes,
        default_ports: &settings.ports,
        resolved: &resolved,
        scope: settings.scope.as_ref(),
    })?;
    if plan.addresses() == 0
        && let Some((domain, why)) = domains.first_without_addresses()
    {
        return Err(nothing_to_scan(dns_settings, domain, &why));
    }
    let allowance = SizeAllowance {
        scoped: settings.scope.is_some(),
        allow_large: settings.allow_large,
    };
    match check_size(plan.addresses(), allowance) {
        Ok(()) => {}
        Err(too_large) if !settings.dry_run => return Err(PlanError::from(too_large).into()),
        Err(too_large) if !quiet => {
            eprintln!("relayscan: note: a scan of this plan would be refused: {too_large}")
        }
        Err(_) => {}
    }
    if !quiet {
        for (name, port, error) in plan.unresolved() {
            eprintln!("relayscan: warning: {name} (port {port}) not scanned: {error}");
        }
        if plan.special_skipped() > 0 {
            eprintln!(
                "relayscan: note: left out {} in multicast, reserved or \"this network\" blocks (name such a block as a target of its own to probe it)",
                crate::report::overview::count(plan.special_skipped(), "endpoint")
            );
        }
    }
    Ok((Space::new(plan, settings.order, settings.shard), domains))
}

/// The host names among `targets` (a name is resolved before the plan is built).
pub fn host_names<'a>(targets: impl Iterator<Item = &'a (Origin, Target)>) -> Vec<String> {
    targets
        .filter_map(|(_, t)| match &t.spec {
            TargetSpec::Host(name) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Host names resolved for the plan: through `dns` when --resolver names the servers,
/// else through the system resolver (at most [`NAME_LOOKUPS_IN_FLIGHT`] at once).
pub async fn resolve_host_names(
    names: Vec<String>,
    settings: &PlanSettings,
    dns: Option<&Limited<HickoryResolver>>,
    named_servers: bool,
) -> HashMap<String, Result<Vec<IpAddr>, String>> {
    match &dns {
        _ if names.is_empty() => HashMap::new(),
        Some(dns) if named_servers => {
            let mut map = HashMap::new();
            for name in names {
                let answer = dns.addresses(&name).await;
                map.insert(name, answer.map(|a| a.ips).map_err(|e| e.to_string()));
            }
            map
        }
        _ => resolve_names(names, NAME_LOOKUPS_IN_FLIGHT, settings.name_timeout).await,
    }
}

/// The run stops: the name servers never answered usefully (a wrong `--resolver`).
pub fn every_lookup_failed(dns_settings: &DnsSettings, first: &DomainResolution) -> BuildError {
    BuildError::Domains(format!(
        "every DNS lookup failed ({}): first {}: {}; check --resolver (HOST:PORT); nothing was sent",
        dns_settings.describe(),
        first.domain,
        first.route_error.as_deref().unwrap_or(first.route.as_str())
    ))
}

/// The run stops: no mail domain gave an address to probe.
pub fn nothing_to_scan(dns_settings: &DnsSettings, domain: &str, why: &str) -> BuildError {
    BuildError::Domains(format!(
        "nothing to scan: no mail domain gave an address to probe ({}); first {domain}: {why}; nothing was sent",
        dns_settings.describe()
    ))
}

/// The plan of one mail domain of a streamed run: its mail hosts with addresses as
/// host-name targets (as [`DomainPlan::host_targets`] makes them for a whole run), built
/// with the run's excludes (`names`: their host names, resolved), default ports and scope
/// by [`Plan::build`], as the whole plan is.
pub fn plan_of_domain(
    settings: &PlanSettings,
    names: &HashMap<String, Result<Vec<IpAddr>, String>>,
    target: &(Origin, Target),
    resolution: DomainResolution,
) -> (DomainResolution, Result<Plan, PlanError>) {
    let one = DomainPlan {
        domains: vec![resolution],
        ..DomainPlan::default()
    };
    let (targets, addresses) = one.host_targets(std::slice::from_ref(target));
    let mut resolved = names.clone();
    for (name, ips) in addresses {
        resolved.insert(name, Ok(ips));
    }
    let plan = Plan::build(PlanInput {
        targets: &targets,
        excludes: &settings.input.excludes,
        default_ports: &settings.ports,
        resolved: &resolved,
        scope: settings.scope.as_ref(),
    });
    let resolution = one.domains.into_iter().next();
    (resolution.expect("the one domain put in"), plan)
}
