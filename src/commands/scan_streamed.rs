//! `relayscan scan --domains FILE` with that list as the only targets, no shard and no
//! checkpoint: the domains are read lazily and scanned as a pipeline
//! (`scan::domain_stage` feeding `Scheduler::drive`), so the first probe starts before
//! the list ends, and memory follows the domains in flight, not the list.

use std::path::Path;
use std::sync::Arc;

use futures::stream;
use tokio::sync::{Semaphore, mpsc};

use super::AppError;
use super::scan::{
    Finished, Opened, finished, fitted_concurrency, fresh_reports, run_meta, start_run,
};
use crate::config::ScanSettings;
use crate::config::recorded::recorded;
use crate::config::targets::domain_stream;
use crate::report::domains::DomainReport;
use crate::report::settings::OrderKind;
use crate::say::say;
use crate::scan::domain_stage::{DOMAINS_WAITING, DomainStage, ENDPOINTS_AHEAD};
use crate::scan::progress::Progress;
use crate::scan::scheduler::{Run, delivery_channel};
use crate::target::build::{host_names, resolve_host_names};
use crate::target::{Order, Plan, PlanInput, Space};

pub async fn scan(
    settings: &ScanSettings,
    list: &Path,
    argv: Vec<String>,
    fds_per_probe: u64,
) -> Result<Finished, AppError> {
    let output = &settings.output;
    let quiet = output.quiet();
    let plan = &settings.plan;
    // One resolver for the mail domains and the blocklists.
    let dns = Arc::new(settings.dns.resolver().map_err(AppError::Failure)?);
    let names = host_names(plan.input.excludes.iter());
    let names = resolve_host_names(names, plan, Some(&dns), !settings.dns.servers.is_empty()).await;
    // The excludes checked as a whole plan checks them (a name that does not resolve
    // stops the run); the domains' endpoints are planned one domain at a time.
    let excludes_only = Plan::build(PlanInput {
        targets: &[],
        excludes: &plan.input.excludes,
        default_ports: &plan.ports,
        resolved: &names,
        scope: plan.scope.as_ref(),
    })
    .map_err(|e| AppError::Usage(e.to_string()))?;
    let space = Space::new(excludes_only, Order::Sequential, plan.shard);
    let concurrency = fitted_concurrency(settings, fds_per_probe);
    let mut recorded = recorded(settings, &space, concurrency, true);
    // The plan is never whole: domains are probed in the order they resolve.
    recorded.plan = None;
    recorded.order = OrderKind::Sequential;
    let meta = run_meta(settings, &argv, &recorded);
    let domains = DomainReport::streamed(&plan.ports, &output.prefix);
    let Opened {
        reports,
        start,
        checkpointing,
    } = fresh_reports(&space, recorded, meta, settings, Some(domains))?;
    let paths = reports.paths();

    let (stopping, scheduler) = start_run(settings, concurrency, Some(Arc::clone(&dns)));
    let mut progress = Progress::open_ended(output.progress, stopping.live());
    if output.stream {
        progress.keep_stdout_for_records();
    }
    let probe = &settings.probe;
    let rcpt_to = format!(
        "{}@{}",
        probe.identity.rcpt_local, probe.identity.rcpt_domain
    );
    let slots = Arc::new(Semaphore::new(DOMAINS_WAITING));
    let stage = DomainStage {
        dns: Arc::clone(&dns),
        dns_settings: settings.dns.clone(),
        plan: plan.clone(),
        names,
        steps: output.verbosity >= 2,
        waiting: Arc::clone(&slots),
        identity_warning: crate::config::probe::identity_warning(true, &rcpt_to, &probe.helo_name),
    };
    let lines = domain_stream(list)?;
    let (tx, rx) = delivery_channel();
    let (probe_tx, probe_rx) = mpsc::channel(ENDPOINTS_AHEAD);
    let stage = tokio::spawn(stage.run(lines, tx.clone(), probe_tx, stopping.stop.clone()));
    let endpoints = stream::unfold(probe_rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    });
    let run = Run {
        reports,
        start,
        checkpoint: checkpointing,
        progress,
        stopping: stopping.clone(),
        domain_slots: Some(slots),
    };
    let result = scheduler
        .drive(endpoints, 0, (tx, rx), run)
        .await
        .map_err(|e| AppError::Output(e.to_string()))?;
    let ended = stage
        .await
        .map_err(|e| AppError::Failure(format!("the domain stage failed: {e}")))??;
    if !quiet {
        let stats = dns.stats();
        say(&format!(
            "relayscan: {} read lazily; {} probed; {} DNS lookups ({} answered from the cache)",
            crate::report::overview::count(ended.domains, "mail domain"),
            crate::report::overview::count(ended.endpoints, "endpoint"),
            stats.queries,
            stats.cache_hits
        ));
        if ended.special_skipped > 0 {
            say(&format!(
                "relayscan: note: left out {} in multicast, reserved or \"this network\" blocks (name such a block as a target of its own to probe it)",
                crate::report::overview::count(ended.special_skipped, "endpoint")
            ));
        }
    }
    Ok(finished(result, &stopping, paths, None))
}
