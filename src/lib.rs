//! relayscan: a batch scanner that tells the owners of mail servers whether they relay for strangers.
//!
//! Data flows target → scan → probe → report; see ARCHITECTURE in the shared design notes
//! and README.md. The binary (`src/main.rs`) is a thin shell over this library.

// clippy.toml keeps file creation and CSV writers to report::file and report::csv_writer;
// tests make their fixtures as they like.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod argv;
pub mod assess;
pub mod audit;
pub mod cli;
pub mod color;
pub mod commands;
pub mod config;
pub mod dns;
pub mod exit;
pub mod input;
#[cfg(feature = "lab")]
pub mod lab;
pub mod logs;
pub mod probe;
pub mod report;
pub mod say;
pub mod scan;
pub mod site;
pub mod smtp;
pub mod target;
