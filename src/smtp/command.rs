//! SMTP commands in wire form; refuses CR, LF and NUL inside arguments.

/// PLACEHOLDER until the smtp helper lands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
}
