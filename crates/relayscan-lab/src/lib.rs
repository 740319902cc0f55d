//! The simulated mail network that relayscan is tested, benchmarked and demonstrated against: mail servers with known behaviour on loopback addresses.
//!
//! This crate never depends on the scanner (`relayscan`): the scanner's binary runs the
//! lab (`relayscan lab`, `relayscan demo`), and Cargo forbids a dependency cycle. What a
//! scan should conclude about each server is in [`designed`], in the scanner's words.
//!
//! Layout: `persona.rs` names the behaviours and their designed verdicts, `address.rs`
//! parses SMTP paths and classifies recipients, `policy.rs` holds each persona's replies
//! as pure functions, `lines.rs` splits client input with bounds, `server.rs` does the
//! loopback I/O. `tls.rs` says what each persona does around TLS and makes the
//! certificates; `tls_server.rs` is the rustls side. `dns/` is the lab's zone and its
//! server; `launcher.rs` runs `relayscan lab` for the scanner's tests and benchmarks.
//! `hostile.rs` and `hostile_server.rs` are the misbehaving servers of
//! `relayscan lab --hostile`; `injection.rs` is the report-injection text of the
//! hostile-csv, hostile-html and hostile-terminal personas.

// The workspace clippy.toml keeps the scanner's file writes in one place; tests here
// make their fixtures as they like.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod address;
pub mod designed;
pub mod dns;
pub mod hostile;
pub mod hostile_server;
pub mod injection;
pub mod launcher;
pub mod lines;
pub mod persona;
pub mod policy;
pub mod server;
pub mod stray;
pub mod sts_server;
pub mod tls;
pub mod tls_server;

pub use designed::{DesignedRoute, DesignedStatus, DesignedVerdict};
pub use persona::{Persona, UnknownPersona};
pub use server::{Lab, LabConfig, LabError, LabHost, ReceivedCommand};
