//! The SMTP client side: reply parsing, command encoding, EHLO capabilities, and one dialogue.

pub mod capabilities;
pub mod cert;
pub mod command;
pub mod demand;
pub mod fingerprint;
pub mod literal;
pub mod reply;
pub mod session;
pub mod tls;
pub mod transcript;

pub use capabilities::{Capabilities, Keyword, announced_name};
pub use command::{Command, CommandError};
pub use demand::{Demand, demanded};
pub use literal::{address_literal, parse_address_literal};
pub use reply::{EnhancedCode, Reply, ReplyError, ReplyLimits, parse_reply};
pub use session::{AsyncStream, Session, SessionError, SessionSettings, UpgradeError};
pub use tls::{CertInfo, NameCheck, NameSource, TlsMode, TlsReport, Validity};
pub use transcript::{Direction, Transcript, TranscriptLine};
