//! EHLO keywords (RFC 5321 §4.1.1.1 and the extensions) parsed from the EHLO reply.

use serde::{Deserialize, Serialize};

/// PLACEHOLDER until the smtp helper lands it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {}
