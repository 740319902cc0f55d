//! Command-line syntax (clap derive): flags and subcommands only; meaning lives in config.rs.
