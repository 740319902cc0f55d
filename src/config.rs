//! Validated, derived settings built from the command line.
