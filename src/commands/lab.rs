//! `relayscan lab`: the built-in simulated mail network in the foreground until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use super::AppError;
use crate::cli::LabArgs;
use crate::config::parse_duration;
use relayscan_lab::dns::{LabDns, ZONE_ORIGIN, dns_address, lab_zone};
use relayscan_lab::launcher::{dns_line, ready_line};
use relayscan_lab::{Lab, LabConfig, Persona};

/// The implicit-TLS port of `relayscan lab` when --port is not 0 (465 needs root).
pub const DEFAULT_TLS_PORT: u16 = 4650;

/// Builds a LabConfig from the flags; errors name the flag.
pub fn lab_config(args: &LabArgs) -> Result<LabConfig, AppError> {
    let bind = args
        .bind
        .parse()
        .map_err(|e| AppError::Usage(format!("--bind {:?}: {e}", args.bind)))?;
    let personas = if args.persona.is_empty() {
        Persona::ALL.to_vec()
    } else {
        args.persona
            .iter()
            .map(|name| {
                Persona::from_name(name).ok_or_else(|| {
                    let known: Vec<&str> = Persona::ALL.iter().map(|p| p.name()).collect();
                    AppError::Usage(format!(
                        "--persona {name:?}: unknown; choose from {}",
                        known.join(", ")
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let duration = |flag: &str, text: &str| -> Result<Duration, AppError> {
        parse_duration(text).map_err(|e| AppError::Usage(format!("{flag}: {e}")))
    };
    Ok(LabConfig {
        bind,
        port: args.port,
        personas,
        hosts: args.hosts.unwrap_or(0),
        log: args.log.clone(),
        record: false,
        reply_delay: duration("--reply-delay", &args.reply_delay)?,
        greeting_pause: duration("--greeting-pause", &args.greeting_pause)?,
        // With --port 0 (tests), a free TLS port too, so parallel labs never collide.
        tls_port: args
            .tls_port
            .unwrap_or(if args.port == 0 { 0 } else { DEFAULT_TLS_PORT }),
    })
}

/// The lab's DNS server on the last address of --bind.
async fn start_dns(lab: &Lab, bind: &str, port: u16) -> Result<LabDns, AppError> {
    let network: ipnetwork::Ipv4Network = bind
        .parse()
        .map_err(|e| AppError::Usage(format!("--bind {bind:?}: {e}")))?;
    let addr = SocketAddr::new(dns_address(network).into(), port);
    LabDns::start(addr, lab_zone(lab.hosts(), &lab.made_at_start()))
        .await
        .map_err(|e| AppError::Usage(format!("lab DNS on {addr}: {e}")))
}

pub async fn run(args: LabArgs) -> Result<i32, AppError> {
    if args.hostile {
        return super::lab_hostile::run(&args).await;
    }
    // The lab shares the machine with the scanner it serves: one thread of its own,
    // with no work stealing or cross-thread wake-ups, is cheaper per connection
    // than the scanner's multi-threaded runtime, and leaves the other core to it.
    let lab = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AppError::Failure(format!("lab: cannot start its runtime: {e}")))?;
        runtime.block_on(serve(args))
    });
    lab.await
        .map_err(|e| AppError::Failure(format!("lab: its thread failed: {e}")))?
}

/// `relayscan lab` on the current (single-threaded) runtime, until Ctrl-C.
async fn serve(args: LabArgs) -> Result<i32, AppError> {
    let config = lab_config(&args)?;
    let lab = Lab::start(config)
        .await
        .map_err(|e| AppError::Usage(format!("lab: {e}")))?;
    // Kept alive until the lab stops.
    let dns = match args.dns_port {
        Some(port) => Some(start_dns(&lab, &args.bind, port).await?),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    // One line per persona: `--hosts 2000` would print 2,000 lines before "lab ready".
    let hosts = if args.verbose {
        lab.describe()
    } else {
        lab.summary()
    };
    let _ = write!(out, "{hosts}");
    if let Some(dns) = &dns {
        let scan_with = format!(
            "relayscan scan --resolver {} -p {} -d customer-open-relay.{ZONE_ORIGIN} -d shared-1.{ZONE_ORIGIN}",
            dns.addr(),
            lab.port()
        );
        let _ = writeln!(out, "{}", dns_line(dns.addr(), &scan_with));
    }
    let scan_with = match lab.tls_port() {
        Some(tls_port) => format!(
            "relayscan scan {} -p {},{tls_port} --tls-ports {tls_port}",
            lab.target_range(),
            lab.port()
        ),
        None => format!("relayscan scan {} -p {}", lab.target_range(), lab.port()),
    };
    let ready = ready_line(lab.hosts().len(), lab.port(), lab.tls_port(), &scan_with);
    let _ = writeln!(out, "{ready}");
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    lab.shutdown().await;
    drop(dns);
    eprintln!("lab stopped");
    Ok(crate::exit::OK)
}
