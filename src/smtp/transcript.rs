//! The bounded record of one dialogue: what we sent, what the server said, and our notes.

use serde::{Deserialize, Serialize};

/// Who a transcript line is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "C")]
    Client,
    #[serde(rename = "S")]
    Server,
    #[serde(rename = "*")]
    Note,
}

/// One line of a dialogue, `ms` after the connection attempt began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub ms: u64,
    pub dir: Direction,
    pub text: String,
}

/// PLACEHOLDER until the smtp helper lands it.
#[derive(Debug, Default)]
pub struct Transcript;
