//! The scheduler: concurrency cap, global rate, deadlines, cancellation, progress.

pub mod limits;
pub mod progress;
pub mod scheduler;

pub use scheduler::{ScanError, ScanResult, Scheduler};
