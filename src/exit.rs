//! Process exit codes, one place, so scripts and CI can rely on them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean: the run finished and `--fail-on` (if given) found nothing |
//! | 1 | `--fail-on` found something at or above its threshold |
//! | 2 | usage or input error; nothing was sent |
//! | 3 | runtime failure (a report cannot be written, the runtime cannot start, the demo's self-check failed) |
//! | 130 | interrupted by Ctrl-C |

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
/// Interrupted by Ctrl-C; the reports hold everything scanned until then.
pub const INTERRUPTED: i32 = 130;

/// The code of a run that ended without a runtime error. An interrupted run says so first:
/// its findings are incomplete, so "clean" or "failed the gate" would both claim too much.
pub fn of_run(interrupted: bool, gate_tripped: bool) -> i32 {
    if interrupted {
        INTERRUPTED
    } else if gate_tripped {
        FINDINGS
    } else {
        OK
    }
}

/// The table printed by `--help`, kept beside the codes it describes.
pub const HELP: &str = "Exit codes:
  0    clean: the run finished and --fail-on (if given) found nothing
  1    --fail-on found an open relay or a finding at or above its severity
  2    usage or input error (a flag, a target line, a JSONL line); nothing was sent
  3    runtime failure (a report cannot be written; demo: a persona's verdict mismatched)
  130  interrupted by Ctrl-C; the reports hold every endpoint finished before it";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_run_table() {
        let table = [
            (false, false, OK),
            (false, true, FINDINGS),
            (true, false, INTERRUPTED),
            (true, true, INTERRUPTED),
        ];
        for (interrupted, tripped, want) in table {
            assert_eq!(
                of_run(interrupted, tripped),
                want,
                "{interrupted} {tripped}"
            );
        }
    }

    #[test]
    fn help_lists_every_code() {
        for code in [OK, FINDINGS, USAGE, FAILURE, INTERRUPTED] {
            assert!(
                HELP.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{code} missing from\n{HELP}"
            );
        }
    }
}
