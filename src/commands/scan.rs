//! `relayscan scan`: read targets, build the plan, probe, report.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::AppError;
use crate::cli::ScanArgs;
use crate::config::{ScanConfig, local_hostname};
use crate::exit;
use crate::probe::ProbeSettings;
use crate::report::{Reports, RunMeta, ScanSource, Summary};
use crate::scan::Scheduler;
use crate::scan::limits::{fit_concurrency, raise_open_file_limit};
use crate::scan::progress::Progress;
use crate::scan::scheduler::{Stopping, install_ctrl_c};
use crate::smtp::{ReplyLimits, SessionConfig};
use crate::target::{Origin, Plan, PlanInput, Target, TargetSpec, read_file, resolve_names};

/// Per-dialogue transcript cap: generous for any honest server, bounded for hostile ones.
const TRANSCRIPT_CAP: usize = 64 * 1024;

/// What to scan, as the user wrote it (already parsed, with origins).
pub struct TargetInput {
    pub targets: Vec<(Origin, Target)>,
    pub excludes: Vec<(Origin, Target)>,
}

/// How a finished scan went, for the caller to report and map to an exit code.
pub struct Finished {
    pub summary: Summary,
    pub interrupted: bool,
    pub reports: Vec<PathBuf>,
}

pub async fn run(args: ScanArgs, argv: Vec<String>) -> Result<i32, AppError> {
    let config = ScanConfig::from_args(
        &args.common,
        std::io::stderr().is_terminal(),
        &local_hostname(),
    )
    .map_err(|e| AppError::Usage(e.to_string()))?;
    let mut targets =
        crate::target::parse_args(&args.targets).map_err(|e| AppError::Usage(e.to_string()))?;
    for file in &args.input_lists {
        targets.extend(read_file(file).map_err(|e| AppError::Usage(e.to_string()))?);
    }
    if targets.is_empty() {
        return Err(AppError::Usage(
            "no targets: give TARGET arguments or -iL FILE".into(),
        ));
    }
    let input = TargetInput {
        targets,
        excludes: read_excludes(&args.common.exclude, &args.common.exclude_file)?,
    };
    let finished = scan(&config, input, argv, 1).await?;
    print_closing(&config, &finished);
    Ok(if finished.interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    })
}

/// Parses --exclude and --exclude-file.
pub fn read_excludes(
    excludes: &[String],
    files: &[PathBuf],
) -> Result<Vec<(Origin, Target)>, AppError> {
    let mut all = crate::target::parse_args(excludes)
        .map_err(|e| AppError::Usage(format!("--exclude {e}")))?;
    for file in files {
        all.extend(read_file(file).map_err(|e| AppError::Usage(e.to_string()))?);
    }
    Ok(all)
}

/// The whole scan after argument parsing: resolve, plan, probe, report.
/// `fds_per_probe` is 2 when the lab runs in this process (demo).
pub async fn scan(
    config: &ScanConfig,
    input: TargetInput,
    argv: Vec<String>,
    fds_per_probe: u64,
) -> Result<Finished, AppError> {
    let names: Vec<String> = input
        .targets
        .iter()
        .chain(&input.excludes)
        .filter_map(|(_, t)| match &t.spec {
            TargetSpec::Host(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let resolved: HashMap<_, _> = if names.is_empty() {
        HashMap::new()
    } else {
        resolve_names(
            names,
            16,
            config.connect_timeout.max(Duration::from_secs(5)),
        )
        .await
    };
    let plan = Plan::build(PlanInput {
        targets: &input.targets,
        excludes: &input.excludes,
        default_ports: &config.ports,
        resolved: &resolved,
        scope: None,
        allow_large_ipv6: false,
    })
    .map_err(|e| AppError::Usage(e.to_string()))?;
    for (name, port, error) in plan.unresolved() {
        eprintln!("relayscan: warning: {name} (port {port}) not scanned: {error}");
    }

    let open_files = raise_open_file_limit();
    let concurrency = fit_concurrency(config.concurrency, open_files, fds_per_probe);
    if concurrency < config.concurrency && config.progress != crate::config::ProgressMode::Quiet {
        eprintln!(
            "relayscan: concurrency lowered from {} to {concurrency} to fit the open-file limit ({open_files})",
            config.concurrency
        );
    }

    let stopping = Stopping::default();
    install_ctrl_c(
        stopping.clone(),
        config.grace,
        config.progress == crate::config::ProgressMode::Quiet,
    );
    let session = SessionConfig {
        connect_timeout: config.connect_timeout,
        read_timeout: config.read_timeout,
        host_timeout: config.host_timeout,
        limits: ReplyLimits::default(),
        transcript_cap: TRANSCRIPT_CAP,
        cancel: stopping.abort.clone(),
    };
    let probe = ProbeSettings::new(session, config.helo.clone(), config.identity.clone());
    let scheduler = Scheduler {
        concurrency,
        rate: config.rate,
        probe: Arc::new(probe),
        write_unanswered: config.write_all,
        print_transcripts: config.transcript,
    };

    let reports = Reports::create(&config.output, config.formats)
        .map_err(|e| AppError::Output(e.to_string()))?;
    let paths = reports.paths();
    let mut settings = config.settings_json();
    settings["concurrency"] = serde_json::json!(concurrency);
    settings["unresolved"] = serde_json::json!(
        plan.unresolved()
            .iter()
            .map(|(n, p, e)| format!("{n}:{p}: {e}"))
            .collect::<Vec<_>>()
    );
    let meta = RunMeta {
        tool: "relayscan".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: chrono::Utc::now(),
        command_line: argv,
        settings,
        targets: input.targets.iter().map(|(_, t)| t.to_string()).collect(),
        excludes: input.excludes.iter().map(|(_, t)| t.to_string()).collect(),
        ports: config.ports.clone(),
        source: ScanSource {
            hostname: local_hostname(),
            note: "verdicts hold for clients at this vantage point; a server that trusts this network may relay for it alone".into(),
        },
    };
    let progress = Progress::new(config.progress, plan.len());
    let result = scheduler
        .run(&plan, reports, meta, progress, stopping)
        .await
        .map_err(|e| AppError::Output(e.to_string()))?;
    Ok(Finished {
        summary: result.summary,
        interrupted: result.interrupted,
        reports: paths,
    })
}

/// The summary table and where the reports are.
pub fn print_closing(config: &ScanConfig, finished: &Finished) {
    print!("{}", finished.summary.render_table());
    if config.progress != crate::config::ProgressMode::Quiet {
        for path in &finished.reports {
            eprintln!("relayscan: wrote {}", path.display());
        }
        if finished.interrupted {
            eprintln!(
                "relayscan: interrupted; the reports hold every endpoint finished before the stop"
            );
        }
    }
}
