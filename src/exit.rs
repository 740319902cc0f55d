//! Process exit codes, one place, so scripts and CI can rely on them.
