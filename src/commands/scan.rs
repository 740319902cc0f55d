//! `relayscan scan`: validated settings in, the space built, probed and reported; keep and
//! resume checkpoints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::AppError;
use crate::cli::ScanArgs;
use crate::config::recorded::recorded;
use crate::config::{ScanSettings, local_hostname};
use crate::dns::Limited;
use crate::dns::hickory::HickoryResolver;
use crate::exit::{self, StopSignal};
use crate::report::domain_totals::DomainTotals;
use crate::report::domains::DomainReport;
use crate::report::file::Replacing;
use crate::report::settings::Resumption;
use crate::report::{
    RecordedSettings, ReportSink, Reports, RunMeta, RunSettings, ScanSource, Summary,
};
use crate::say::say;
use crate::scan::checkpoint::{CHECKPOINT_FORMAT, Checkpoint, settings_differences};
use crate::scan::limits::{fit_concurrency, raise_open_file_limit};
use crate::scan::pace::Pace;
use crate::scan::progress::Progress;
use crate::scan::resume::{ResumeError, finish_replay, reopen, report_path};
use crate::scan::scheduler::{Checkpointing, Start, Stopping, install_stop_signals};
use crate::scan::{ScanResult, Scheduler};
use crate::target::build::fetch_policies;
use crate::target::{Space, build_space_sharing};

/// How a finished scan went, for the caller to report and map to an exit code.
pub struct Finished {
    pub summary: Summary,
    /// The signal that stopped the run early (Ctrl-C, SIGHUP, SIGTERM).
    pub stopped_by: Option<StopSignal>,
    pub reports: Vec<PathBuf>,
    /// Probes cut off by Ctrl-C and left out for a resume (only with a checkpoint).
    pub cut_off: u64,
    /// The checkpoint file, when one is kept.
    pub checkpoint: Option<PathBuf>,
    /// How the run used its concurrency.
    pub pace: Pace,
    /// The mail domains in totals; `None` without mail domains.
    pub domains: Option<DomainTotals>,
}

pub async fn run(args: ScanArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let (args, argv) = if super::resume_alone::applies(&args) {
        let path = args.run.resume.clone().unwrap_or_default();
        super::resume_alone::from_checkpoint(&path)?
    } else {
        (args, argv)
    };
    let settings =
        ScanSettings::from_args(&args, std::io::stderr().is_terminal(), &local_hostname())?;
    let finished = scan(&settings, argv, 1).await?;
    print_closing(&settings, &finished);
    let (probed, answered) = (finished.summary.probed, finished.summary.answered);
    let hint = super::hints::after_scan(&settings, probed, answered);
    if let (Some(hint), false) = (hint, settings.output.quiet()) {
        say(&hint);
    }
    let tripped = settings.output.fail_on.is_some_and(|gate| {
        gate.tripped(&finished.summary)
            || finished
                .domains
                .as_ref()
                .is_some_and(|d| gate.tripped_by_domains(d))
    });
    Ok(exit::of_run(finished.stopped_by, tripped))
}

/// Resolve, plan, probe, report. `fds_per_probe` is 2 when the lab runs in this process
/// (the demo).
pub async fn scan(
    settings: &ScanSettings,
    argv: Vec<String>,
    fds_per_probe: u64,
) -> Result<Finished, AppError> {
    let output = &settings.output;
    let quiet = output.quiet();
    if let (Some(note), false) = (&output.prefix_note, quiet) {
        say(note);
    }
    if let Some(list) = &settings.plan.input.domain_list {
        return super::scan_streamed::scan(settings, list, argv, fds_per_probe).await;
    }
    // One resolver for the mail domains and the blocklists, when both are asked.
    let resolver = settings.shared_resolver().map_err(AppError::Failure)?;
    let (space, mut domains) = build_space_sharing(
        &settings.plan,
        &settings.dns,
        resolver.clone(),
        quiet,
        output.verbosity >= 2,
    )
    .await?;
    // The plan is valid: the domains' MTA-STS policies may be fetched (inside the scope).
    fetch_policies(&settings.dns, &mut domains, settings.plan.scope.as_ref()).await?;
    // Before any traffic, whatever -q: the servers' admins will see this identity.
    let probe = &settings.probe;
    let rcpt_to = format!(
        "{}@{}",
        probe.identity.rcpt_local, probe.identity.rcpt_domain
    );
    if let Some(warning) = crate::config::probe::identity_warning(
        space.plan().leaves_loopback(),
        &rcpt_to,
        &probe.helo_name,
    ) {
        say(&warning);
    }

    let concurrency = fitted_concurrency(settings, fds_per_probe);

    let recorded = recorded(settings, &space, concurrency, !domains.is_empty());
    let fresh_meta = run_meta(settings, &argv, &recorded);

    // Attached before a resume replays the old records, so that the domains see them
    // (and the domain records already written are not written again). With -o - the
    // domain records stream with the host records; there is no PREFIX.domains.csv.
    let domain_report = (!domains.is_empty())
        .then(|| DomainReport::new(domains, &settings.plan.ports, &output.prefix));
    let opened = match (&output.resume, &output.checkpoint) {
        (Some(saved), Some(path)) => resume_reports(
            saved,
            path,
            &space,
            recorded,
            &argv,
            settings,
            domain_report,
        )?,
        _ => fresh_reports(&space, recorded, fresh_meta, settings, domain_report)?,
    };
    let Opened {
        reports,
        start,
        checkpointing,
    } = opened;
    let paths = reports.paths();

    let (stopping, scheduler) = start_run(settings, concurrency, resolver);
    let mut progress = Progress::new(output.progress, space.len(), stopping.live());
    if output.stream {
        progress.keep_stdout_for_records();
    }
    let already = u64::try_from(start.ledger.finished_count()).unwrap_or(u64::MAX);
    if already > 0 {
        progress.resume_from(&start.summary);
        if !quiet {
            say(&format!(
                "relayscan: resuming: {already} of {} endpoints already finished",
                space.len()
            ));
        }
    }
    let checkpoint_path = checkpointing.as_ref().map(|c| c.path.clone());
    let result = scheduler
        .run(
            &space,
            reports,
            start,
            checkpointing,
            progress,
            stopping.clone(),
        )
        .await
        .map_err(|e| AppError::Output(e.to_string()))?;
    Ok(finished(result, &stopping, paths, checkpoint_path))
}

/// How a run ended, from the scheduler's result.
pub(super) fn finished(
    result: ScanResult,
    stopping: &Stopping,
    paths: Vec<PathBuf>,
    checkpoint: Option<PathBuf>,
) -> Finished {
    let stopped_by = result.interrupted.then(|| {
        stopping
            .signal
            .get()
            .copied()
            .unwrap_or(StopSignal::Interrupt)
    });
    Finished {
        summary: result.summary,
        stopped_by,
        // An earlier set kept by a run stopped before its first record was not written.
        reports: if result.reports_placed {
            paths
        } else {
            Vec::new()
        },
        cut_off: result.cut_off,
        checkpoint,
        pace: result.pace,
        domains: result.domains,
    }
}

/// The run's stop tokens (the signal handlers installed) and its scheduler (asking the
/// blocklists through `resolver`).
pub(super) fn start_run(
    settings: &ScanSettings,
    concurrency: usize,
    resolver: Option<Arc<Limited<HickoryResolver>>>,
) -> (Stopping, Scheduler) {
    // The probes' sessions end when their cancel token fires: that is the abort.
    let stopping = Stopping {
        abort: settings.probe.session.cancel.clone(),
        ..Stopping::default()
    };
    install_stop_signals(
        stopping.clone(),
        settings.pacing.grace,
        settings.output.quiet(),
    );
    let mut scheduler = settings.scheduler(concurrency);
    scheduler.blocklists = settings.dnsbl(resolver);
    (stopping, scheduler)
}

/// The asked concurrency, lowered to fit the open-file limit (raised first), saying so.
pub(super) fn fitted_concurrency(settings: &ScanSettings, fds_per_probe: u64) -> usize {
    let open_files = raise_open_file_limit();
    let asked = settings.pacing.concurrency;
    let concurrency = fit_concurrency(asked, open_files, fds_per_probe);
    if concurrency < asked && !settings.output.quiet() {
        say(&format!(
            "relayscan: concurrency lowered from {asked} to {concurrency} to fit the open-file limit ({open_files})"
        ));
    }
    concurrency
}

/// The run's metadata for a fresh set of reports.
pub(super) fn run_meta(
    settings: &ScanSettings,
    argv: &[String],
    recorded: &RecordedSettings,
) -> RunMeta {
    let input = &settings.plan.input;
    RunMeta {
        tool: "relayscan".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: chrono::Utc::now(),
        command_line: argv.to_vec(),
        settings: RunSettings::Scan(Box::new(recorded.clone())),
        targets: input.targets.iter().map(|(_, t)| t.to_string()).collect(),
        excludes: input.excludes.iter().map(|(_, t)| t.to_string()).collect(),
        ports: settings.plan.ports.clone(),
        source: ScanSource {
            hostname: local_hostname(),
            note: "verdicts hold for clients at this vantage point; a server that trusts this network may relay for it alone".into(),
        },
    }
}

/// Report files ready for records, and where the scan starts.
pub(super) struct Opened {
    pub(super) reports: Reports,
    pub(super) start: Start,
    pub(super) checkpointing: Option<Checkpointing>,
}

/// A new run: begin the reports (an earlier set is replaced at the first record); write a
/// first checkpoint if asked.
pub(super) fn fresh_reports(
    space: &Space,
    recorded: RecordedSettings,
    meta: RunMeta,
    settings: &ScanSettings,
    domains: Option<DomainReport>,
) -> Result<Opened, AppError> {
    let out = &settings.output;
    let output = |e: crate::report::ReportError| AppError::Output(e.to_string());
    let mut reports = if out.stream {
        Reports::to_stdout()
    } else {
        Reports::create(&out.prefix, out.formats, Replacing::Say)
    }
    .map_err(output)?;
    reports.begin(&meta).map_err(output)?;
    if let Some(domains) = domains {
        reports.attach_domains(domains).map_err(output)?;
    }
    let start = Start {
        summary: Summary {
            planned: space.len(),
            ..Summary::default()
        },
        ..Start::default()
    };
    let checkpointing = match &out.checkpoint {
        None => None,
        Some(path) => {
            let state = Checkpoint {
                format: CHECKPOINT_FORMAT,
                tool_version: env!("CARGO_PKG_VERSION").into(),
                fingerprint: space.fingerprint(),
                seed: space.order().seed(),
                shard: space.shard(),
                settings: recorded,
                total: space.len(),
                next: 0,
                finished_above: Vec::new(),
                output: out.prefix.clone(),
                formats: out.formats.to_string(),
                jsonl_bytes: 0,
                summary: start.summary.clone(),
                run: meta,
                saved_at: chrono::Utc::now(),
                complete: space.is_empty(),
            };
            state.save(path)?;
            Some(Checkpointing {
                path: path.clone(),
                state,
            })
        }
    };
    Ok(Opened {
        reports,
        start,
        checkpointing,
    })
}

/// A resumed run: refuse a checkpoint of another plan or other settings, replay the
/// finished records into fresh reports, and carry the ledger and summary on.
fn resume_reports(
    saved: &Checkpoint,
    path: &Path,
    space: &Space,
    recorded: RecordedSettings,
    argv: &[String],
    settings: &ScanSettings,
    domains: Option<DomainReport>,
) -> Result<Opened, AppError> {
    let out = &settings.output;
    let shown = path.display();
    let fingerprint = space.fingerprint();
    if saved.fingerprint != fingerprint {
        return Err(AppError::Usage(format!(
            "--resume {shown}: the checkpoint was written for another plan (targets, ports, excludes, order, seed or shard differ; checkpoint {}, this run {fingerprint}); nothing was sent",
            saved.fingerprint
        )));
    }
    let differences = settings_differences(&saved.settings, &recorded);
    if !differences.is_empty() {
        let list: Vec<String> = differences.iter().map(|d| d.to_string()).collect();
        return Err(AppError::Usage(format!(
            "--resume {shown}: settings differ from the checkpoint ({}); nothing was sent",
            list.join("; ")
        )));
    }
    let ledger = saved
        .ledger()
        .map_err(|e| AppError::Usage(format!("--resume {shown}: {e}")))?;
    let mut meta = saved.run.clone();
    // A run's metadata of another shape (hand-edited) starts over from the checkpoint's.
    let mut run_settings = match meta.settings {
        RunSettings::Scan(s) => s,
        _ => Box::new(saved.settings.clone()),
    };
    run_settings.resumed.push(Resumption {
        at: chrono::Utc::now(),
        command_line: argv.to_vec(),
        from_position: ledger.low(),
    });
    meta.settings = RunSettings::Scan(run_settings);

    let (reports, _replayed) = reopen(&out.prefix, out.formats, saved.jsonl_bytes, &meta, domains)
        .map_err(|e| match e {
            ResumeError::Input(m) => AppError::Usage(m),
            ResumeError::Output(e) => AppError::Output(e.to_string()),
        })?;
    let jsonl = report_path(&out.prefix, "jsonl");
    let mut state = saved.clone();
    state.run = meta;
    // The replayed JSONL is the ledger now: record its length before the old copy goes.
    state.jsonl_bytes = std::fs::metadata(&jsonl)
        .map_err(|e| AppError::Output(format!("cannot read {}: {e}", jsonl.display())))?
        .len();
    state.save(path)?;
    finish_replay(&out.prefix).map_err(|e| AppError::Output(e.to_string()))?;
    Ok(Opened {
        reports,
        start: Start {
            ledger,
            summary: saved.summary.clone(),
        },
        checkpointing: Some(Checkpointing {
            path: path.to_path_buf(),
            state,
        }),
    })
}

/// The summary table and where the reports are. Never panics on a terminal that is gone
/// (after SIGHUP): the exit code must still say how the run ended.
pub fn print_closing(settings: &ScanSettings, finished: &Finished) {
    // With -o - the table is a human line on stderr, coloured as stderr allows.
    let paint = if settings.output.stream {
        crate::color::Paint::stderr()
    } else {
        crate::color::Paint::stdout()
    };
    let mut table = finished.summary.render_table(paint);
    if let Some(domains) = &finished.domains {
        table.push_str(&domains.render());
    }
    match (settings.output.stream, settings.output.quiet()) {
        // stdout holds the records alone: the table is a human line like the others.
        (true, true) => {}
        (true, false) => say(table.trim_end()),
        (false, _) => super::print_out(&table),
    }
    if settings.output.quiet() {
        return;
    }
    if let Some(plain) = finished.pace.plain() {
        say(&format!("relayscan: {plain}"));
    }
    // The figures behind it (Little's law) for -v.
    if let (Some(figures), true) = (finished.pace.render(), settings.output.verbosity >= 1) {
        say(&format!("relayscan: {figures}"));
    }
    for path in &finished.reports {
        say(&format!("relayscan: wrote {}", path.display()));
    }
    if let Some(signal) = finished.stopped_by {
        say(&format!(
            "relayscan: interrupted by {}; the reports hold every endpoint finished before the stop",
            signal.name()
        ));
        if finished.cut_off > 0 {
            let (were, them) = if finished.cut_off == 1 {
                ("was", "it")
            } else {
                ("were", "them")
            };
            say(&format!(
                "relayscan: {} cut off by the stop {were} left out of the reports; a resume probes {them} again",
                crate::report::overview::count(finished.cut_off, "probe")
            ));
        }
        match &finished.checkpoint {
            Some(path) => say(&format!(
                "relayscan: to continue, run the same command with --resume {} in place of --checkpoint",
                path.display()
            )),
            // -o - refuses checkpoints: nothing to suggest there.
            None if !settings.output.stream => say(
                "relayscan: this run kept no checkpoint, so running it again starts over; to make the next one resumable, add --checkpoint FILE (after a stop, run the same command with --resume FILE in its place)",
            ),
            None => {}
        }
    }
}
