//! One SMTP reply (RFC 5321 §4.2) and its pure, bounded, incremental parser.

use serde::{Deserialize, Serialize};

/// One SMTP reply. 4xx and 5xx are data, not errors: for an auditor,
/// "550 relaying denied" is the finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The three-digit reply code, shared by every line.
    pub code: u16,
    /// The RFC 3463 enhanced status code at the start of the first line's text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line after `NNN-` / `NNN `, decoded lossily.
    pub lines: Vec<String>,
}

/// An RFC 3463 enhanced status code such as `5.7.1`; serialised as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct EnhancedCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

/// Caps on one reply, so that a hostile server cannot make us buffer without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest accepted line, CRLF included.
    pub max_line: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
    /// Most bytes in one reply.
    pub max_total: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line: 4096,
            max_lines: 64,
            max_total: 64 * 1024,
        }
    }
}

/// Why bytes from the server are not an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("reply has more than {limit} lines")]
    TooManyLines { limit: usize },
    #[error("reply longer than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("not an SMTP reply line: {line:?}")]
    NotSmtp { line: String },
    #[error("reply code changed from {first} to {later} within one reply")]
    CodeMismatch { first: u16, later: u16 },
}

/// Parses one complete reply from the front of `buf`.
///
/// `Ok(None)`: need more bytes. `Ok(Some((reply, used)))`: a reply and how many bytes it took.
pub fn parse_reply(buf: &[u8], limits: &ReplyLimits) -> Result<Option<(Reply, usize)>, ReplyError> {
    let _ = (buf, limits);
    todo!("smtp helper")
}

impl std::fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl From<EnhancedCode> for String {
    fn from(code: EnhancedCode) -> String {
        code.to_string()
    }
}

impl TryFrom<String> for EnhancedCode {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let mut parts = text.split('.');
        let mut next = || parts.next().and_then(|p| p.parse::<u16>().ok());
        match (next(), next(), next()) {
            (Some(class @ 2..=5), Some(subject), Some(detail)) => Ok(EnhancedCode {
                class: class as u8,
                subject,
                detail,
            }),
            _ => Err(format!("not an enhanced status code: {text:?}")),
        }
    }
}
