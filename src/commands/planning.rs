//! From target arguments and plan flags to a scan space (shared by `scan` and `targets`):
//! read targets and excludes, resolve names, build the plan inside the scope, order it
//! and cut it to a shard. Nothing here sends a probe.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::AppError;
use crate::cli::{PlanArgs, TargetListArgs};
use crate::dns::plan::{DomainPlan, resolve_domains};
use crate::dns::settings::DnsSettings;
use crate::dns::{MailRoute, Resolve};
use crate::scan::checkpoint::Checkpoint;
use crate::target::scope::read_scope;
use crate::target::spec::parse_mail_domain;
use crate::target::{
    Order, Origin, Plan, PlanInput, RangeSet, Shard, Space, Target, TargetSpec, read_file,
    resolve_names,
};

/// How the plan is ordered, cut and fenced, validated.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub order: Option<Order>,
    pub shard: Shard,
    pub scope: Option<RangeSet>,
    /// `--scope` as given, for the report.
    pub scope_text: Vec<String>,
    pub allow_large_ipv6: bool,
    /// How mail domains (and, with --resolver, host names) are resolved.
    pub dns: DnsSettings,
}

impl PlanOptions {
    /// Validates the plan flags. On resume, an unset seed, order or shard is the
    /// checkpoint's.
    pub fn from_args(args: &PlanArgs, saved: Option<&Checkpoint>) -> Result<PlanOptions, AppError> {
        let usage = |flag: &str, e: String| AppError::Usage(format!("{flag}: {e}"));
        let shard = match (&args.shard, saved) {
            (Some(text), _) => text.parse().map_err(|e| usage("--shard", e))?,
            (None, Some(c)) => c.shard,
            (None, None) => Shard::WHOLE,
        };
        let order = match (args.seed, args.sequential, saved) {
            (Some(seed), _, _) => Some(Order::Permuted { seed }),
            (None, true, _) => Some(Order::Sequential),
            (None, false, Some(c)) => Some(match c.seed {
                Some(seed) => Order::Permuted { seed },
                None => Order::Sequential,
            }),
            (None, false, None) if !shard.is_whole() => {
                return Err(usage(
                    "--shard",
                    format!(
                        "{shard} needs --seed N (the same N for every shard), so that all shards cut the same order"
                    ),
                ));
            }
            (None, false, None) => None,
        };
        let scope = if args.scope.is_empty() {
            None
        } else {
            Some(read_scope(&args.scope).map_err(AppError::Usage)?)
        };
        Ok(PlanOptions {
            order,
            shard,
            scope,
            scope_text: args.scope.clone(),
            allow_large_ipv6: args.force_large_ipv6,
            dns: DnsSettings::from_args(&args.dns).map_err(AppError::Usage)?,
        })
    }

    /// The order to use: the one asked for, else a fresh random seed.
    pub fn order_or_random(&self) -> Order {
        self.order.unwrap_or_else(|| Order::Permuted {
            seed: rand::random(),
        })
    }
}

/// What to scan, as the user wrote it (already parsed, with origins).
pub struct TargetInput {
    pub targets: Vec<(Origin, Target)>,
    pub excludes: Vec<(Origin, Target)>,
}

impl TargetInput {
    /// Target arguments, -iL files, -d and --domains, then --exclude and --exclude-file.
    pub fn read(
        input: &TargetListArgs,
        excludes: &[String],
        exclude_files: &[PathBuf],
    ) -> Result<TargetInput, AppError> {
        let mut all = crate::target::parse_args(&input.targets)
            .map_err(|e| AppError::Usage(e.to_string()))?;
        for file in &input.input_lists {
            all.extend(read_file(file).map_err(|e| AppError::Usage(e.to_string()))?);
        }
        all.extend(read_domains(&input.domains, &input.domain_files)?);
        if all.is_empty() {
            return Err(AppError::Usage(
                "no targets: give TARGET arguments, -iL FILE, -d DOMAIN or --domains FILE".into(),
            ));
        }
        Ok(TargetInput {
            targets: all,
            excludes: read_excludes(excludes, exclude_files)?,
        })
    }
}

/// Parses --exclude and --exclude-file. A mail domain cannot be excluded (its mail
/// hosts may serve other domains): exclude the hosts by name or address.
pub fn read_excludes(
    excludes: &[String],
    files: &[PathBuf],
) -> Result<Vec<(Origin, Target)>, AppError> {
    let mut all = crate::target::parse_args(excludes)
        .map_err(|e| AppError::Usage(format!("--exclude {e}")))?;
    for file in files {
        all.extend(read_file(file).map_err(|e| AppError::Usage(e.to_string()))?);
    }
    if let Some((origin, target)) = all
        .iter()
        .find(|(_, t)| matches!(t.spec, TargetSpec::Domain(_)))
    {
        return Err(AppError::Usage(format!(
            "exclude {origin}: \"{target}\": a mail domain cannot be excluded; exclude its mail hosts by name or address"
        )));
    }
    Ok(all)
}

/// `-d DOMAIN` (each `example.com`, `@example.com` or `@example.com:PORT`) and
/// `--domains FILE` (one or more a line, `#` comments; a bare name is a domain there).
/// Errors name the flag or file:line.
pub fn read_domains(
    values: &[String],
    files: &[PathBuf],
) -> Result<Vec<(Origin, Target)>, AppError> {
    let mut all = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let origin = Origin::line("--domain", i + 1);
        let parsed = if value.starts_with('@') || value.contains(':') {
            value.parse::<Target>().map_err(|e| e.to_string())
        } else {
            parse_mail_domain(value)
                .map(|d| Target::new(TargetSpec::Domain(d), None))
                .map_err(|e| e.to_string())
        };
        match parsed {
            Ok(t) if matches!(t.spec, TargetSpec::Domain(_)) => all.push((origin, t)),
            Ok(_) => {
                return Err(AppError::Usage(format!(
                    "--domain {value:?}: not a mail domain"
                )));
            }
            Err(e) => return Err(AppError::Usage(format!("--domain {value:?}: {e}"))),
        }
    }
    for file in files {
        for (origin, target) in read_file(file).map_err(|e| AppError::Usage(e.to_string()))? {
            let spec = match target.spec {
                TargetSpec::Host(name) | TargetSpec::Domain(name) => TargetSpec::Domain(name),
                _ => {
                    return Err(AppError::Usage(format!(
                        "{origin}: \"{target}\": not a mail domain (an address or range; give it with -iL)"
                    )));
                }
            };
            all.push((origin, Target::new(spec, target.port)));
        }
    }
    Ok(all)
}

/// Resolves mail domains and names, builds the plan (scope and special blocks applied),
/// orders it and cuts the shard. Warnings (unresolved names, skipped special blocks) go
/// to stderr unless `quiet`. Mail domains become their mail hosts' names; the returned
/// [`DomainPlan`] says which domain each came from.
pub async fn build_space(
    input: &TargetInput,
    ports: &[u16],
    options: &PlanOptions,
    order: Order,
    resolve_timeout: Duration,
    quiet: bool,
) -> Result<(Space, DomainPlan), AppError> {
    let names: Vec<String> = input
        .targets
        .iter()
        .chain(&input.excludes)
        .filter_map(|(_, t)| match &t.spec {
            TargetSpec::Host(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let domain_targets: Vec<(Origin, Target)> = input
        .targets
        .iter()
        .filter(|(_, t)| matches!(t.spec, TargetSpec::Domain(_)))
        .cloned()
        .collect();
    // Host names go to the system resolver unless --resolver names the servers.
    let use_dns =
        !domain_targets.is_empty() || (!names.is_empty() && !options.dns.servers.is_empty());
    let dns = if use_dns {
        Some(options.dns.resolver().map_err(AppError::Usage)?)
    } else {
        None
    };
    let mut resolved: HashMap<String, Result<Vec<IpAddr>, String>> = match &dns {
        _ if names.is_empty() => HashMap::new(),
        Some(dns) if !options.dns.servers.is_empty() => {
            let mut map = HashMap::new();
            for name in names {
                let answer = dns.addresses(&name).await;
                map.insert(name, answer.map(|a| a.ips).map_err(|e| e.to_string()));
            }
            map
        }
        _ => resolve_names(names, 16, resolve_timeout).await,
    };
    let domains = match &dns {
        Some(dns) if !domain_targets.is_empty() => {
            resolve_domains(dns, &domain_targets, options.dns.concurrency, || {
                dns.stats()
            })
            .await
        }
        _ => DomainPlan::default(),
    };
    let (host_targets, addresses) = domains.host_targets(&domain_targets);
    for (name, ips) in addresses {
        resolved.insert(name, Ok(ips));
    }
    let targets: Vec<(Origin, Target)> =
        input.targets.iter().cloned().chain(host_targets).collect();
    if !quiet && !domains.is_empty() {
        eprintln!("relayscan: {}", domain_summary(&domains));
    }
    let plan = Plan::build(PlanInput {
        targets: &targets,
        excludes: &input.excludes,
        default_ports: ports,
        resolved: &resolved,
        scope: options.scope.as_ref(),
        allow_large_ipv6: options.allow_large_ipv6,
    })
    .map_err(|e| AppError::Usage(e.to_string()))?;
    if !quiet {
        for (name, port, error) in plan.unresolved() {
            eprintln!("relayscan: warning: {name} (port {port}) not scanned: {error}");
        }
        if plan.special_skipped() > 0 {
            eprintln!(
                "relayscan: note: left out {} endpoints in multicast, reserved or \"this network\" blocks (name such a block as a target of its own to probe it)",
                plan.special_skipped()
            );
        }
    }
    Ok((Space::new(plan, order, options.shard), domains))
}

/// One line on what the mail domains resolved to: `3 mail domains (mx 2, null-mx 1); 4
/// mail-host addresses; 12 DNS lookups (30 answered from the cache) in 15 ms`.
pub fn domain_summary(plan: &DomainPlan) -> String {
    let mut counts: Vec<(MailRoute, usize)> = Vec::new();
    for d in &plan.domains {
        match counts.iter_mut().find(|(r, _)| *r == d.route) {
            Some((_, n)) => *n += 1,
            None => counts.push((d.route, 1)),
        }
    }
    let routes: Vec<String> = counts
        .iter()
        .map(|(r, n)| format!("{} {n}", r.as_str()))
        .collect();
    format!(
        "{} mail domains ({}); {} mail-host addresses; {} DNS lookups ({} answered from the cache) in {} ms",
        plan.domains.len(),
        routes.join(", "),
        plan.ptr.len(),
        plan.stats.queries,
        plan.stats.cache_hits,
        plan.elapsed_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(seed: Option<u64>, sequential: bool, shard: Option<&str>) -> PlanArgs {
        PlanArgs {
            seed,
            sequential,
            shard: shard.map(String::from),
            ..PlanArgs::default()
        }
    }

    #[test]
    fn seed_and_shard_rules() {
        let o = PlanOptions::from_args(&args(Some(5), false, Some("2/4")), None).unwrap();
        assert_eq!(o.order, Some(Order::Permuted { seed: 5 }));
        assert_eq!(o.shard, Shard { index: 2, count: 4 });
        let o = PlanOptions::from_args(&args(None, true, Some("2/4")), None).unwrap();
        assert_eq!(o.order, Some(Order::Sequential));
        let o = PlanOptions::from_args(&args(None, false, None), None).unwrap();
        assert_eq!((o.order, o.shard), (None, Shard::WHOLE));
        assert!(matches!(o.order_or_random(), Order::Permuted { .. }));
        let err = PlanOptions::from_args(&args(None, false, Some("2/4")), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--shard: 2/4 needs --seed N (the same N for every shard), so that all shards cut the same order"
        );
        let err = PlanOptions::from_args(&args(Some(1), false, Some("5/4")), None).unwrap_err();
        assert!(err.to_string().starts_with("--shard: \"5/4\""), "{err}");
    }
}
