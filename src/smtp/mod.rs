//! The SMTP client side: reply parsing, command encoding, EHLO capabilities, and one dialogue.

pub mod capabilities;
pub mod command;
pub mod reply;
pub mod session;
pub mod transcript;

pub use capabilities::Capabilities;
pub use command::Command;
pub use reply::{EnhancedCode, Reply, ReplyError, ReplyLimits};
pub use session::{Session, SessionConfig, SessionError};
pub use transcript::{Direction, Transcript, TranscriptLine};
