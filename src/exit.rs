//! Process exit codes, one place, so scripts and CI can rely on them.

/// The run finished (whatever the verdicts).
pub const OK: i32 = 0;
/// An unexpected failure of relayscan itself (a bug, or the runtime could not start).
pub const FAILURE: i32 = 1;
/// Bad arguments or bad input (a target file line, a flag value); nothing was sent.
pub const USAGE: i32 = 2;
/// A report could not be written; files already written stay valid up to their last record.
pub const OUTPUT: i32 = 3;
/// Interrupted by Ctrl-C; the reports hold everything scanned until then.
pub const INTERRUPTED: i32 = 130;
