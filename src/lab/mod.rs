//! The built-in simulated mail network: personas on loopback addresses, used by `lab`, `demo` and the tests.
//!
//! Layout: `persona.rs` names the behaviours and their expected verdicts,
//! `address.rs` parses SMTP paths and classifies recipients, `policy.rs` holds
//! each persona's replies as pure functions, `lines.rs` splits client input with
//! bounds, and `server.rs` does the loopback I/O.

pub mod address;
pub mod dns;
pub mod hostile;
pub mod lines;
pub mod misbehave;
pub mod misbehave_server;
pub mod persona;
pub mod policy;
pub mod server;
pub mod tls;

pub use persona::{Persona, UnknownPersona};
pub use server::{Lab, LabConfig, LabError, LabHost, ReceivedCommand};
