//! How fast a scan goes: probes in flight, new connections per second (overall and per
//! subnet), and how long probes may finish after Ctrl-C.

use std::num::NonZeroU32;
use std::time::Duration;

use super::{ConfigError, at_least_one, parse_duration};
use crate::cli::{CommonScanArgs, RunArgs};

/// Pacing, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacingSettings {
    /// Probes in flight at once, as asked (the scan lowers it to fit the open-file limit).
    pub concurrency: usize,
    /// New connections per second, across the whole scan.
    pub rate: NonZeroU32,
    /// New connections per second to one /24 (IPv4) or /64 (IPv6), if limited.
    pub subnet_rate: Option<NonZeroU32>,
    /// After Ctrl-C, how long probes in flight may finish before they are cut off.
    pub grace: Duration,
}

impl PacingSettings {
    pub fn from_args(
        common: &CommonScanArgs,
        run: &RunArgs,
    ) -> Result<PacingSettings, ConfigError> {
        if common.concurrency == 0 {
            return Err(ConfigError::new("--concurrency", "must be at least 1"));
        }
        let rate = at_least_one("--rate", common.rate)?;
        let grace = parse_duration(&common.grace).map_err(|e| ConfigError::new("--grace", e))?;
        let subnet_rate = run
            .subnet_rate
            .map(|n| at_least_one("--subnet-rate", n))
            .transpose()?;
        Ok(PacingSettings {
            concurrency: common.concurrency,
            rate,
            subnet_rate,
            grace,
        })
    }
}
