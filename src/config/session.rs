//! One SMTP session's bounds: connect, read and whole-host timeouts, reply limits and the
//! transcript cap.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ConfigError, parse_duration};
use crate::cli::CommonScanArgs;
use crate::smtp::{ReplyLimits, SessionSettings};

/// Per-dialogue transcript cap: generous for any honest server, bounded for hostile ones.
const TRANSCRIPT_CAP: usize = 64 * 1024;

/// Validates the timeout flags. The session's cancel token is new: the scan fires it
/// when the grace after Ctrl-C runs out.
pub fn from_args(args: &CommonScanArgs) -> Result<SessionSettings, ConfigError> {
    let duration =
        |flag: &str, text: &str| parse_duration(text).map_err(|e| ConfigError::new(flag, e));
    let connect_timeout = duration("--connect-timeout", &args.connect_timeout)?;
    let read_timeout = duration("--read-timeout", &args.read_timeout)?;
    let host_timeout = duration("--host-timeout", &args.host_timeout)?;
    for (flag, d) in [
        ("--connect-timeout", connect_timeout),
        ("--read-timeout", read_timeout),
        ("--host-timeout", host_timeout),
    ] {
        if d.is_zero() {
            return Err(ConfigError::new(flag, "must be more than zero"));
        }
    }
    Ok(SessionSettings {
        connect_timeout,
        read_timeout,
        host_timeout,
        limits: ReplyLimits::default(),
        transcript_cap: TRANSCRIPT_CAP,
        cancel: CancellationToken::new(),
    })
}

/// How long the system resolver may take for one target's host name in a scan: as long
/// as a connect may, and never less than the plan's floor.
pub fn name_timeout(session: &SessionSettings) -> Duration {
    session.connect_timeout.max(super::plan::NAME_TIMEOUT)
}
