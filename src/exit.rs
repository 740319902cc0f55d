//! Process exit codes, one place, so scripts and CI can rely on them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean: the run finished and `--fail-on` (if given) found nothing |
//! | 1 | `--fail-on` found something at or above its threshold |
//! | 2 | usage or input error, or every DNS lookup failed, or the mail domains gave nothing to scan; nothing was sent |
//! | 3 | runtime failure (a report cannot be written, the runtime cannot start, the demo's self-check failed) |
//! | 129 | stopped by SIGHUP (a dropped SSH session) |
//! | 130 | interrupted by Ctrl-C (SIGINT) |
//! | 143 | stopped by SIGTERM |

/// The run finished and nothing tripped `--fail-on`.
pub const OK: i32 = 0;
/// `--fail-on` found a record at or above its threshold (an open relay, or a finding that severe).
pub const FINDINGS: i32 = 1;
/// Bad arguments or bad input (a target file line, a flag value, a JSONL line); nothing was sent.
pub const USAGE: i32 = 2;
/// A runtime failure: a report cannot be written, the runtime cannot start, a bug; for `demo`,
/// a persona did not get its designed verdict.
pub const FAILURE: i32 = 3;
/// A report could not be written; files already written stay valid up to their last record.
/// The same code as [`FAILURE`]: for CI, both mean "relayscan could not do its job".
pub const OUTPUT: i32 = FAILURE;
/// Stopped by SIGHUP (what a dropped SSH session sends); the reports hold everything
/// scanned until then. 128 + the signal's number, as shells report a death by it.
pub const HUNG_UP: i32 = 128 + 1;
/// Interrupted by Ctrl-C (SIGINT); the reports hold everything scanned until then.
pub const INTERRUPTED: i32 = 128 + 2;
/// Stopped by SIGTERM (systemd, Kubernetes, `kill`); the reports hold everything scanned
/// until then.
pub const TERMINATED: i32 = 128 + 15;

/// A signal that stops a run. Each is handled alike, as Ctrl-C is: nothing new starts,
/// the probes in flight get their grace, every report is closed whole; only the exit code
/// tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    HangUp,
    Interrupt,
    Terminate,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::HangUp => "SIGHUP",
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            StopSignal::HangUp => HUNG_UP,
            StopSignal::Interrupt => INTERRUPTED,
            StopSignal::Terminate => TERMINATED,
        }
    }
}

/// The code of a run that ended without a runtime error. A stopped run says so first:
/// its findings are incomplete, so "clean" or "failed the gate" would both claim too much.
pub fn of_run(stopped_by: Option<StopSignal>, gate_tripped: bool) -> i32 {
    if let Some(signal) = stopped_by {
        signal.exit_code()
    } else if gate_tripped {
        FINDINGS
    } else {
        OK
    }
}

/// The exit-code table of `--help`, with the line for code 0 given (and for code 1, for
/// the commands without a gate): one table, every command.
macro_rules! exit_codes {
    ($clean:literal) => {
        exit_codes!(
            $clean,
            "--fail-on found an open relay, a finding at or above its severity, or its finding id"
        )
    };
    ($clean:literal, $one:literal) => {
        concat!(
            "Exit codes:\n  0    clean: ",
            $clean,
            "\n  1    ",
            $one,
            "
  2    usage or input error (a flag, a target line, a JSONL line), or every DNS lookup
       failed or the mail domains gave nothing to scan; nothing was sent
  3    runtime failure (a report cannot be written; demo: a persona's verdict mismatched)
  129  stopped by SIGHUP (a dropped SSH session), handled as Ctrl-C
  130  interrupted by Ctrl-C; the reports hold every endpoint finished before it
  143  stopped by SIGTERM, handled as Ctrl-C"
        )
    };
}

/// The table printed by `--help`, kept beside the codes it describes.
pub const HELP: &str = exit_codes!("the run finished and --fail-on (if given) found nothing");

/// `audit-config`'s table: a configuration audit is a gate, so `--fail-on` has a default.
pub const AUDIT_HELP: &str =
    exit_codes!("the run finished and --fail-on (default high; never turns it off) found nothing");

/// The exit codes in `relayscan logs --help`: its gate is on by default too.
pub const LOGS_HELP: &str = exit_codes!(
    "the logs were read and --fail-on (default critical; never turns it off) found nothing"
);
/// The table of the commands without `--fail-on` (lab, demo, targets, merge).
pub const PLAIN_HELP: &str = exit_codes!(
    "the command finished",
    "not used: this command has no --fail-on"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_run_table() {
        use StopSignal::*;
        let table = [
            (None, false, OK),
            (None, true, FINDINGS),
            (Some(Interrupt), false, 130),
            (Some(Interrupt), true, 130),
            (Some(HangUp), true, 129),
            (Some(Terminate), false, 143),
        ];
        for (stopped_by, tripped, want) in table {
            assert_eq!(
                of_run(stopped_by, tripped),
                want,
                "{stopped_by:?} {tripped}"
            );
        }
    }

    #[test]
    fn help_lists_every_code() {
        for code in [
            OK,
            FINDINGS,
            USAGE,
            FAILURE,
            HUNG_UP,
            INTERRUPTED,
            TERMINATED,
        ] {
            for help in [HELP, AUDIT_HELP, LOGS_HELP, PLAIN_HELP] {
                assert!(
                    help.lines()
                        .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                    "{code} missing from\n{help}"
                );
            }
        }
    }
}
