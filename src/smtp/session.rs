//! One SMTP dialogue over TCP: per-step timeouts, a whole-host deadline, bounded reads, a transcript.

/// PLACEHOLDER until the smtp helper lands it.
pub struct Session;
/// PLACEHOLDER until the smtp helper lands it.
pub struct SessionConfig;
/// PLACEHOLDER until the smtp helper lands it.
#[derive(Debug)]
pub enum SessionError {}
