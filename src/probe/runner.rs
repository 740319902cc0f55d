//! Drives one dialogue: connect, greeting, EHLO/HELO, relay tests, control RCPT, QUIT.

pub struct ProbeSettings;
pub async fn probe() {}
