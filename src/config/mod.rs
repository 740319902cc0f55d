//! The one place where parsed arguments (`crate::cli`: syntax only) become validated
//! settings, which then build the library objects; no library module sees a flag
//! (ripgrep's low-args → high-args split).
//!
//! Each sub-settings is built once, by its own module: [`plan`] (targets, ports,
//! excludes, scope, order, seed, shard; the targets are read by [`targets`]), [`dns`],
//! [`session`] (timeouts, reply limits, transcript cap), [`probe`] (hello name,
//! identity, catalogue, TLS, pipelining), [`pacing`] and [`output`]; [`recorded`] turns
//! them into the settings a report and a checkpoint record. Every error names its flag
//! (or the file and line at fault) and stops the run, exit 2, before any traffic.

#[cfg(feature = "lab")]
pub mod demo;
pub mod dns;
mod duration;
pub mod output;
pub mod pacing;
pub mod plan;
pub mod probe;
pub mod recorded;
pub mod session;
pub mod targets;

#[cfg(test)]
pub(crate) mod boundary;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;
use std::sync::Arc;

pub use self::duration::parse_duration;
pub use self::output::OutputSettings;
pub use self::pacing::PacingSettings;
pub use self::probe::local_hostname;
use crate::cli::{CommonScanArgs, PlanArgs, RunArgs, ScanArgs, TargetsArgs};
use crate::dns::blocklist::Blocklist;
use crate::dns::dnsbl::Dnsbl;
use crate::dns::hickory::HickoryResolver;
use crate::dns::{DnsSettings, Limited};
use crate::probe::ProbeSettings;
use crate::report::FailOn;
use crate::scan::Scheduler;
use crate::scan::share::Rate;
use crate::target::{PlanSettings, TargetInput};

/// A command-line value that does not make sense; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The flag at fault (`--rate`, `-iL`, `TARGET` for the target arguments).
    pub flag: String,
    message: String,
}

impl ConfigError {
    /// `FLAG: PROBLEM`.
    pub fn new(flag: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            flag: flag.to_string(),
            message: format!("{flag}: {}", problem.into()),
        }
    }

    /// A message that names the flag with its value, or the file and line, itself
    /// (`--resolver "x": ...`, `list.txt:3: ...`).
    pub fn named(flag: &str, message: impl Into<String>) -> Self {
        ConfigError {
            flag: flag.to_string(),
            message: message.into(),
        }
    }
}

/// `--flag N` that must be at least 1.
fn at_least_one(flag: &str, n: u32) -> Result<NonZeroU32, ConfigError> {
    NonZeroU32::new(n).ok_or_else(|| ConfigError::new(flag, "must be at least 1"))
}

/// Everything a scan needs (`scan`, and `demo` with its fixed flags), validated.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub plan: PlanSettings,
    pub dns: DnsSettings,
    /// What each probe does; its session (timeouts, reply limits, transcript cap) inside.
    pub probe: ProbeSettings,
    pub pacing: PacingSettings,
    pub output: OutputSettings,
    /// The DNS blocklist zones asked about every answering address; empty: off.
    pub blocklists: Vec<Blocklist>,
}

/// The environment variable that holds the Spamhaus DQS key when --dqs-key is absent
/// (a key on the command line shows in `ps`).
pub const DQS_KEY_ENV: &str = "RELAYSCAN_DQS_KEY";

/// `--blocklists` and `--dqs-key` (or $RELAYSCAN_DQS_KEY) as the zones to ask.
fn blocklists(common: &CommonScanArgs) -> Result<Vec<Blocklist>, ConfigError> {
    let Some(spec) = &common.blocklists else {
        return Ok(Vec::new());
    };
    let key = common
        .dqs_key
        .clone()
        .or_else(|| std::env::var(DQS_KEY_ENV).ok().filter(|k| !k.is_empty()));
    crate::dns::blocklist::select(spec, key.as_deref())
        .map_err(|e| ConfigError::named("--blocklists", e))
}

impl ScanSettings {
    /// The run's one resolver when the blocklists need it (--resolver, pacing, cache):
    /// the mail domains' lookups go through it too, so both share one pace and one cache.
    /// None without --blocklists (the plan then builds its own when it needs one).
    pub fn shared_resolver(&self) -> Result<Option<Arc<Limited<HickoryResolver>>>, String> {
        if self.blocklists.is_empty() {
            return Ok(None);
        }
        self.dns.resolver().map(|r| Some(Arc::new(r)))
    }

    /// The blocklist lookups of this run through `resolver` ([`Self::shared_resolver`]);
    /// None without --blocklists.
    pub fn dnsbl(
        &self,
        resolver: Option<Arc<Limited<HickoryResolver>>>,
    ) -> Option<Arc<Dnsbl<Limited<HickoryResolver>>>> {
        let resolver = resolver.filter(|_| !self.blocklists.is_empty())?;
        Some(Arc::new(Dnsbl::new(resolver, self.blocklists.clone())))
    }

    /// `relayscan scan`. `default_helo` is used when --helo is absent.
    pub fn from_args(
        args: &ScanArgs,
        stderr_is_terminal: bool,
        default_helo: &str,
    ) -> Result<ScanSettings, ConfigError> {
        let common = &args.common;
        // A lone --domains list is read lazily, unless the run is a shard (whose plan is
        // fingerprinted whole, so that merge can compare the shards) or keeps or resumes a
        // checkpoint (whose ledger is positions in a plan built whole).
        let whole_plan =
            args.plan.shard.is_some() || args.run.checkpoint.is_some() || args.run.resume.is_some();
        let read_targets = || match targets::lone_domain_list(&args.input) {
            Some(file) if !whole_plan => {
                targets::read_streamed(file, &common.exclude, &common.exclude_file)
            }
            _ => targets::read(&args.input, &common.exclude, &common.exclude_file),
        };
        ScanSettings::build(
            ScanFlags {
                common,
                plan: &args.plan,
                run: &args.run,
                fail_on: args.fail_on,
            },
            read_targets,
            stderr_is_terminal,
            default_helo,
        )
    }

    /// Cheap flags first, then the target and scope files.
    fn build(
        flags: ScanFlags<'_>,
        read_targets: impl FnOnce() -> Result<TargetInput, ConfigError>,
        stderr_is_terminal: bool,
        default_helo: &str,
    ) -> Result<ScanSettings, ConfigError> {
        let ScanFlags {
            common,
            plan: plan_args,
            run,
            fail_on,
        } = flags;
        let ports = self::plan::ports(&common.ports)?;
        let pacing = PacingSettings::from_args(common, run)?;
        let session = session::from_args(common)?;
        let name_timeout = session::name_timeout(&session);
        let mut probe = probe::from_args(common, session, default_helo)?;
        let output = OutputSettings::from_args(common, run, fail_on, stderr_is_terminal)?;
        let input = read_targets()?;
        let plan = self::plan::from_args(
            plan_args,
            input,
            ports,
            output.resume.as_ref(),
            name_timeout,
        )?;
        let dns = dns::from_args(&plan_args.dns)?;
        // --ca-file: the mail hosts' chains verify against the same roots as the
        // MTA-STS policy host's (checked when read).
        probe.tls.client = dns
            .tls_client()
            .map_err(|e| ConfigError::named("--ca-file", e))?;
        let blocklists = blocklists(common)?;
        Ok(ScanSettings {
            plan,
            dns,
            probe,
            pacing,
            output,
            blocklists,
        })
    }

    /// The scheduler these settings describe, at `concurrency` (after fitting the
    /// open-file limit).
    pub fn scheduler(&self, concurrency: usize) -> Scheduler {
        Scheduler {
            concurrency,
            // --rate and --subnet-rate are the whole scan's: each shard takes its share.
            rate: Rate::shared(self.pacing.rate, self.plan.shard.count),
            subnet_rate: self
                .pacing
                .subnet_rate
                .map(|r| Rate::shared(r, self.plan.shard.count)),
            probe: Arc::new(self.probe.clone()),
            write_unanswered: self.output.write_unanswered,
            print_transcripts: self.output.transcript,
            host_lines: self.output.verbosity >= 1,
            blocklists: None,
        }
    }
}

/// The flags of one scan, by group.
#[derive(Clone, Copy)]
struct ScanFlags<'a> {
    common: &'a CommonScanArgs,
    plan: &'a PlanArgs,
    run: &'a RunArgs,
    fail_on: Option<FailOn>,
}

/// What `relayscan targets` needs: the plan and how names resolve.
#[derive(Debug, Clone)]
pub struct TargetsSettings {
    pub plan: PlanSettings,
    pub dns: DnsSettings,
    /// Print only the number of endpoints (--count).
    pub count_only: bool,
    /// Write the list to this file (-o) instead of stdout.
    pub output: Option<std::path::PathBuf>,
}

impl TargetsSettings {
    pub fn from_args(args: &TargetsArgs) -> Result<TargetsSettings, ConfigError> {
        let ports = plan::ports(&args.ports)?;
        let input = targets::read(&args.input, &args.exclude, &args.exclude_file)?;
        // The dry run sends nothing: the size rule notes, never refuses.
        let plan = PlanSettings {
            dry_run: true,
            ..plan::from_args(&args.plan, input, ports, None, plan::NAME_TIMEOUT)?
        };
        let dns = dns::from_args(&args.plan.dns)?;
        Ok(TargetsSettings {
            plan,
            dns,
            count_only: args.count,
            output: args.output.clone(),
        })
    }
}
