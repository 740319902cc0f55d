//! Words for the user on stderr that never panic: a terminal that is gone (a dropped SSH
//! session, a closed pipe) must not cost a scan its reports or its exit code.

use std::io::Write;

/// Writes `line` and a newline to stderr, ignoring a failed write (`eprintln!` panics on one).
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
