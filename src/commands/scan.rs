//! `relayscan scan`: read targets, build the space, probe, report; keep and resume checkpoints.

use std::io::IsTerminal;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::AppError;
pub use super::planning::TargetInput;
use super::planning::{PlanOptions, build_space};
use crate::cli::ScanArgs;
use crate::config::{ProgressMode, ScanConfig, local_hostname};
use crate::dns::settings::DnsSettings;
use crate::exit;
use crate::probe::ProbeSettings;
use crate::report::domains::DomainReport;
use crate::report::settings::{OrderKind, RecordedDns, Resumption};
use crate::report::{
    RecordedSettings, ReportSink, Reports, RunMeta, RunSettings, ScanSource, Summary,
};
use crate::scan::Scheduler;
use crate::scan::checkpoint::{CHECKPOINT_FORMAT, Checkpoint, settings_differences};
use crate::scan::limits::{fit_concurrency, raise_open_file_limit};
use crate::scan::pace::Pace;
use crate::scan::progress::Progress;
use crate::scan::resume::{ResumeError, finish_replay, reopen, report_path};
use crate::scan::scheduler::{Checkpointing, Start, Stopping, install_ctrl_c};
use crate::smtp::{ReplyLimits, SessionSettings};
use crate::target::{Order, Space};

/// Per-dialogue transcript cap: generous for any honest server, bounded for hostile ones.
const TRANSCRIPT_CAP: usize = 64 * 1024;

/// How a finished scan went, for the caller to report and map to an exit code.
pub struct Finished {
    pub summary: Summary,
    pub interrupted: bool,
    pub reports: Vec<PathBuf>,
    /// Probes cut off by Ctrl-C and left out for a resume (only with a checkpoint).
    pub cut_off: u64,
    /// The checkpoint file, when one is kept.
    pub checkpoint: Option<PathBuf>,
    /// How the run used its concurrency.
    pub pace: Pace,
}

/// Pacing and resuming beyond the shared scan settings.
#[derive(Debug, Default)]
pub struct RunOptions {
    pub subnet_rate: Option<NonZeroU32>,
    /// Keep a checkpoint here.
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint being resumed (read from `checkpoint`).
    pub resume: Option<Checkpoint>,
}

pub async fn run(args: ScanArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let mut config = ScanConfig::from_args(
        &args.common,
        std::io::stderr().is_terminal(),
        &local_hostname(),
    )
    .map_err(|e| AppError::Usage(e.to_string()))?;
    let input = TargetInput::read(&args.input, &args.common.exclude, &args.common.exclude_file)?;
    let resume = match &args.run.resume {
        Some(path) => {
            Some(Checkpoint::load(path).map_err(|e| AppError::Usage(format!("--resume {e}")))?)
        }
        None => None,
    };
    if let Some(saved) = &resume {
        // The reports continue where they are, whatever default prefix this run would pick.
        match &args.common.output {
            Some(o) if *o != saved.output => {
                return Err(AppError::Usage(format!(
                    "--output {}: the checkpoint writes to {}; leave -o out or give that prefix",
                    o.display(),
                    saved.output.display()
                )));
            }
            _ => config.output = saved.output.clone(),
        }
    }
    let options = PlanOptions::from_args(&args.plan, resume.as_ref())?;
    let subnet_rate = match args.run.subnet_rate {
        Some(n) => Some(
            NonZeroU32::new(n)
                .ok_or_else(|| AppError::Usage("--subnet-rate: must be at least 1".into()))?,
        ),
        None => None,
    };
    if let Some(path) = &args.run.checkpoint {
        refuse_to_overwrite(path)?;
    }
    let checkpoint = args.run.checkpoint.clone().or(args.run.resume.clone());
    if checkpoint.is_some() && !config.formats.jsonl {
        return Err(AppError::Usage(format!(
            "--format {}: a checkpoint needs the jsonl report (a resume replays it)",
            config.formats
        )));
    }
    let run_options = RunOptions {
        subnet_rate,
        checkpoint,
        resume,
    };
    let finished = scan_with(&config, input, &options, run_options, argv, 1).await?;
    print_closing(&config, &finished);
    let tripped = args
        .fail_on
        .is_some_and(|gate| gate.tripped(&finished.summary));
    Ok(exit::of_run(finished.interrupted, tripped))
}

/// `--checkpoint FILE` may replace a finished checkpoint, never an unfinished one (that
/// scan is resumed with --resume) nor a file that is not a checkpoint (a typo).
fn refuse_to_overwrite(path: &Path) -> Result<(), AppError> {
    if !path.exists() {
        return Ok(());
    }
    match Checkpoint::load(path) {
        Ok(c) if c.complete => Ok(()),
        Ok(_) => Err(AppError::Usage(format!(
            "--checkpoint {}: holds an unfinished scan; continue it with --resume {0}, or delete the file to start over",
            path.display()
        ))),
        Err(e) => Err(AppError::Usage(format!(
            "--checkpoint {e}; refusing to overwrite it"
        ))),
    }
}

/// The whole scan after argument parsing, in a random order, without checkpoints (the demo).
/// `fds_per_probe` is 2 when the lab runs in this process; `dns` resolves mail domains.
pub async fn scan(
    config: &ScanConfig,
    input: TargetInput,
    dns: DnsSettings,
    argv: Vec<String>,
    fds_per_probe: u64,
) -> Result<Finished, AppError> {
    let options = PlanOptions {
        dns,
        ..PlanOptions::default()
    };
    scan_with(
        config,
        input,
        &options,
        RunOptions::default(),
        argv,
        fds_per_probe,
    )
    .await
}

/// Resolve, plan, probe, report, with the plan and run options given.
pub async fn scan_with(
    config: &ScanConfig,
    input: TargetInput,
    options: &PlanOptions,
    run: RunOptions,
    argv: Vec<String>,
    fds_per_probe: u64,
) -> Result<Finished, AppError> {
    let quiet = config.progress == ProgressMode::Quiet;
    let (space, domains) = build_space(
        &input,
        &config.ports,
        options,
        options.order_or_random(),
        config.connect_timeout.max(Duration::from_secs(5)),
        quiet,
    )
    .await?;

    let open_files = raise_open_file_limit();
    let concurrency = fit_concurrency(config.concurrency, open_files, fds_per_probe);
    if concurrency < config.concurrency && !quiet {
        eprintln!(
            "relayscan: concurrency lowered from {} to {concurrency} to fit the open-file limit ({open_files})",
            config.concurrency
        );
    }

    let dns_used = !domains.is_empty() || !options.dns.servers.is_empty();
    let settings = recorded_settings(config, options, &run, &space, concurrency, dns_used);

    let started_at = chrono::Utc::now();
    let fresh_meta = RunMeta {
        tool: "relayscan".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        command_line: argv.clone(),
        settings: RunSettings::Scan(Box::new(settings.clone())),
        targets: input.targets.iter().map(|(_, t)| t.to_string()).collect(),
        excludes: input.excludes.iter().map(|(_, t)| t.to_string()).collect(),
        ports: config.ports.clone(),
        source: ScanSource {
            hostname: local_hostname(),
            note: "verdicts hold for clients at this vantage point; a server that trusts this network may relay for it alone".into(),
        },
    };

    let opened = match (&run.resume, &run.checkpoint) {
        (Some(saved), Some(path)) => resume_reports(saved, path, &space, settings, &argv, config)?,
        _ => fresh_reports(
            &space,
            settings,
            fresh_meta,
            run.checkpoint.as_deref(),
            config,
        )?,
    };
    let Opened {
        mut reports,
        start,
        checkpointing,
    } = opened;
    if !domains.is_empty() {
        // After a resume the replayed records are not seen again: their domains keep
        // the verdicts of this run's probes only (see README, mail domains).
        reports.attach_domains(DomainReport::new(domains, &config.ports, &config.output));
    }
    let paths = reports.paths();

    let stopping = Stopping::default();
    install_ctrl_c(stopping.clone(), config.grace, quiet);
    let session = SessionSettings {
        connect_timeout: config.connect_timeout,
        read_timeout: config.read_timeout,
        host_timeout: config.host_timeout,
        limits: ReplyLimits::default(),
        transcript_cap: TRANSCRIPT_CAP,
        cancel: stopping.abort.clone(),
    };
    let mut probe = ProbeSettings::new(session, config.helo.clone(), config.identity.clone());
    probe.tls = config.tls_options();
    probe.pipelining = config.pipelining;
    let scheduler = Scheduler {
        concurrency,
        rate: config.rate,
        subnet_rate: run.subnet_rate,
        probe: Arc::new(probe),
        write_unanswered: config.write_all,
        print_transcripts: config.transcript,
    };
    let progress = Progress::new(config.progress, space.len());
    let already = u64::try_from(start.ledger.finished_count()).unwrap_or(u64::MAX);
    if already > 0 {
        progress.resume_from(&start.summary);
        if !quiet {
            eprintln!(
                "relayscan: resuming: {already} of {} endpoints already finished",
                space.len()
            );
        }
    }
    let checkpoint_path = checkpointing.as_ref().map(|c| c.path.clone());
    let result = scheduler
        .run(&space, reports, start, checkpointing, progress, stopping)
        .await
        .map_err(|e| AppError::Output(e.to_string()))?;
    Ok(Finished {
        summary: result.summary,
        interrupted: result.interrupted,
        reports: paths,
        cut_off: result.cut_off,
        checkpoint: checkpoint_path,
        pace: result.pace,
    })
}

/// Report files ready for records, and where the scan starts.
struct Opened {
    reports: Reports,
    start: Start,
    checkpointing: Option<Checkpointing>,
}

/// A new run: truncate and begin the reports; write a first checkpoint if asked.
fn fresh_reports(
    space: &Space,
    settings: RecordedSettings,
    meta: RunMeta,
    checkpoint: Option<&Path>,
    config: &ScanConfig,
) -> Result<Opened, AppError> {
    let output = |e: crate::report::ReportError| AppError::Output(e.to_string());
    let mut reports = Reports::create(&config.output, config.formats).map_err(output)?;
    reports.begin(&meta).map_err(output)?;
    let start = Start {
        summary: Summary {
            planned: space.len(),
            ..Summary::default()
        },
        ..Start::default()
    };
    let checkpointing = match checkpoint {
        None => None,
        Some(path) => {
            let state = Checkpoint {
                format: CHECKPOINT_FORMAT,
                tool_version: env!("CARGO_PKG_VERSION").into(),
                fingerprint: space.fingerprint(),
                seed: space.order().seed(),
                shard: space.shard(),
                settings,
                total: space.len(),
                next: 0,
                finished_above: Vec::new(),
                output: config.output.clone(),
                formats: config.formats.to_string(),
                jsonl_bytes: 0,
                summary: start.summary.clone(),
                run: meta,
                saved_at: chrono::Utc::now(),
                complete: space.is_empty(),
            };
            state
                .save(path)
                .map_err(|e| AppError::Output(format!("cannot write {}: {e}", path.display())))?;
            Some(Checkpointing {
                path: path.to_path_buf(),
                jsonl: report_path(&config.output, "jsonl"),
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
    settings: RecordedSettings,
    argv: &[String],
    config: &ScanConfig,
) -> Result<Opened, AppError> {
    let shown = path.display();
    let fingerprint = space.fingerprint();
    if saved.fingerprint != fingerprint {
        return Err(AppError::Usage(format!(
            "--resume {shown}: the checkpoint was written for another plan (targets, ports, excludes, order, seed or shard differ; checkpoint {}, this run {fingerprint}); nothing was sent",
            saved.fingerprint
        )));
    }
    let differences = settings_differences(&saved.settings, &settings);
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
    let mut recorded = match meta.settings {
        RunSettings::Scan(s) => s,
        _ => Box::new(saved.settings.clone()),
    };
    recorded.resumed.push(Resumption {
        at: chrono::Utc::now(),
        command_line: argv.to_vec(),
        from_position: ledger.low(),
    });
    meta.settings = RunSettings::Scan(recorded);

    let (reports, _replayed) = reopen(&config.output, config.formats, saved.jsonl_bytes, &meta)
        .map_err(|e| match e {
            ResumeError::Input(m) => AppError::Usage(m),
            ResumeError::Output(e) => AppError::Output(e.to_string()),
        })?;
    let jsonl = report_path(&config.output, "jsonl");
    let mut state = saved.clone();
    state.run = meta;
    // The replayed JSONL is the ledger now: record its length before the old copy goes.
    state.jsonl_bytes = std::fs::metadata(&jsonl)
        .map_err(|e| AppError::Output(format!("cannot read {}: {e}", jsonl.display())))?
        .len();
    state
        .save(path)
        .map_err(|e| AppError::Output(format!("cannot write {shown}: {e}")))?;
    finish_replay(&config.output).map_err(|e| AppError::Output(e.to_string()))?;
    Ok(Opened {
        reports,
        start: Start {
            ledger,
            summary: saved.summary.clone(),
        },
        checkpointing: Some(Checkpointing {
            path: path.to_path_buf(),
            jsonl,
            state,
        }),
    })
}

/// The summary table and where the reports are.
pub fn print_closing(config: &ScanConfig, finished: &Finished) {
    super::print_out(&finished.summary.render_table());
    if config.progress == ProgressMode::Quiet {
        return;
    }
    if let Some(pace) = finished.pace.render() {
        eprintln!("relayscan: {pace}");
    }
    for path in &finished.reports {
        eprintln!("relayscan: wrote {}", path.display());
    }
    if finished.interrupted {
        eprintln!(
            "relayscan: interrupted; the reports hold every endpoint finished before the stop"
        );
        if finished.cut_off > 0 {
            eprintln!(
                "relayscan: {} probes cut off by the stop were left out of the reports; a resume probes them again",
                finished.cut_off
            );
        }
        if let Some(path) = &finished.checkpoint {
            eprintln!(
                "relayscan: to continue, run the same command with --resume {} in place of --checkpoint",
                path.display()
            );
        }
    }
}

/// What the reports and the checkpoint record about this run.
fn recorded_settings(
    config: &ScanConfig,
    options: &PlanOptions,
    run: &RunOptions,
    space: &Space,
    concurrency: usize,
    dns_used: bool,
) -> RecordedSettings {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let order = space.order();
    let identity = &config.identity;
    RecordedSettings {
        checkpoint: run.checkpoint.clone(),
        concurrency,
        connect_timeout_ms: millis(config.connect_timeout),
        data_sent: false,
        dns: dns_used.then(|| RecordedDns {
            concurrency: options.dns.concurrency,
            rate: options.dns.rate.get(),
            servers: options.dns.servers.clone(),
            timeout: millis(options.dns.timeout),
        }),
        force_large_ipv6: options.allow_large_ipv6,
        formats: config.formats,
        helo: config.helo.clone(),
        host_timeout_ms: millis(config.host_timeout),
        mail_from: format!("{}@{}", identity.from_local, identity.from_domain),
        order: match order {
            Order::Sequential => OrderKind::Sequential,
            Order::Permuted { .. } => OrderKind::Permuted,
        },
        ports: config.ports.clone(),
        rate_per_second: config.rate.get(),
        rcpt_to: format!("{}@{}", identity.rcpt_local, identity.rcpt_domain),
        read_timeout_ms: millis(config.read_timeout),
        relay_over: config.relay_over,
        resumed: Vec::new(),
        scope: options.scope_text.clone(),
        seed: order.seed(),
        shard: space.shard(),
        special_skipped: space.plan().special_skipped(),
        starttls: config.starttls,
        subnet_rate_per_second: run.subnet_rate.map(|n| n.get()),
        tls_ports: config.tls_ports.clone(),
        unresolved: space
            .plan()
            .unresolved()
            .iter()
            .map(|(n, p, e)| format!("{n}:{p}: {e}"))
            .collect(),
        write_unanswered: config.write_all,
    }
}
