//! The simulated mail network that relayscan is tested, benchmarked and demonstrated against: mail servers with known behaviour on loopback addresses.
//!
//! This crate never depends on the scanner (`relayscan`): the scanner's binary runs the
//! lab (`relayscan lab`, `relayscan demo`), and Cargo forbids a dependency cycle.

pub mod tls_server;

/// The lab's DNS: an authoritative zone as plain data and its wire format.
pub mod dns {
    pub mod wire;
    pub mod zone;
}
