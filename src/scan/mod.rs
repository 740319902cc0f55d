//! The scheduler: concurrency cap, global and per-subnet rates, deadlines, cancellation,
//! progress, checkpoints and resuming.

pub mod backoff;
pub mod checkpoint;
pub mod domain_stage;
pub mod limits;
pub mod pace;
pub mod progress;
pub mod pulse;
pub mod resume;
pub mod scheduler;
pub mod share;
pub mod subnet;

pub use scheduler::{ScanError, ScanResult, Scheduler};
