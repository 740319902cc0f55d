//! One probe of one endpoint: the dialogue it runs (`dialogue/`), what it saw (`model.rs`), the relay catalogue, timing and the TLS policy.
//!
//! A probe never fails: per-host trouble is a [`Status`] with the partial dialogue kept.

pub mod depth;
pub mod dialogue;
pub mod model;
pub mod relay;
pub mod timing;
pub mod tls_policy;

pub use depth::Depth;
pub use dialogue::{ProbeSettings, probe, status_of};
pub use model::{
    AttemptResult, Channel, Dialogue, Hello, Interruption, Leg, Outcome, RelayAttempt, Status,
};
pub use timing::Timing;
