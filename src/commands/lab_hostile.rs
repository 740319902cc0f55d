//! `relayscan lab --hostile`: the misbehaving servers in the foreground until Ctrl-C.

use std::io::Write;

use super::AppError;
use crate::cli::LabArgs;
use relayscan_lab::hostile_server::HostileLab;
use relayscan_lab::launcher::ready_line;

pub async fn run(args: &LabArgs) -> Result<i32, AppError> {
    let bind = args
        .bind
        .parse()
        .map_err(|e| AppError::Usage(format!("--bind {:?}: {e}", args.bind)))?;
    let lab = HostileLab::start(bind, args.port)
        .await
        .map_err(|e| AppError::Usage(format!("lab: {e}")))?;
    let first = lab.hosts().first().map(|(a, _)| a.ip().to_string());
    let last = lab.hosts().last().map(|(a, _)| a.ip().to_string());
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", lab.describe());
    // The same "lab ready" line as the ordinary lab, so that scripts and tests read both.
    let scan_with = format!(
        "relayscan scan {}-{} -p {} --read-timeout 2s --host-timeout 5s",
        first.unwrap_or_default(),
        last.unwrap_or_default(),
        lab.port()
    );
    let _ = writeln!(
        out,
        "{}",
        ready_line(lab.hosts().len(), lab.port(), None, &scan_with)
    );
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    drop(lab);
    eprintln!("lab stopped");
    Ok(crate::exit::OK)
}
