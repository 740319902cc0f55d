//! Drives one dialogue: connect, greeting, EHLO (HELO fallback), relay tests, control RCPT, QUIT.
//!
//! Never fails: whatever goes wrong on the wire becomes a [`Status`] plus the partial
//! [`Dialogue`], and the verdict is computed from what was seen.

use std::time::Instant;

use chrono::Utc;

use super::relay::{CATALOGUE, Identity, RelayTest, control_recipient, render};
use super::verdict::classify;
use super::{Dialogue, Endpoint, Interruption, Outcome, RelayAttempt, Status};
use crate::smtp::capabilities::announced_name;
use crate::smtp::{Capabilities, Command, Reply, Session, SessionConfig, SessionError};

/// Everything a probe needs besides the endpoint; shared by all probes of a scan.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub session: SessionConfig,
    /// The name we give in EHLO/HELO.
    pub helo_name: String,
    pub identity: Identity,
    /// Which catalogue entries to run (all 16 by default).
    pub tests: Vec<RelayTest>,
    /// Send the control RCPT (random mailbox, non-existent domain) when a test relayed.
    pub control: bool,
}

impl ProbeSettings {
    pub fn new(session: SessionConfig, helo_name: String, identity: Identity) -> Self {
        ProbeSettings {
            session,
            helo_name,
            identity,
            tests: CATALOGUE.to_vec(),
            control: true,
        }
    }
}

/// What the session error means for the probe's status.
pub fn status_of(error: &SessionError) -> Status {
    match error {
        SessionError::Refused => Status::Refused,
        SessionError::ConnectTimeout => Status::ConnectTimeout,
        SessionError::Unreachable(_) => Status::Unreachable,
        SessionError::ReadTimeout => Status::IoTimeout,
        SessionError::HostTimeout => Status::HostTimeout,
        SessionError::Closed | SessionError::Io(_) => Status::Dropped,
        SessionError::Protocol(_) | SessionError::Command(_) => Status::ProtocolError,
        SessionError::Cancelled => Status::Cancelled,
    }
}

/// The dialogue stopped early at `step` for `reason`.
struct Stop {
    status: Status,
    step: String,
    detail: String,
}

impl Stop {
    fn from_error(step: impl Into<String>, error: &SessionError) -> Self {
        Stop {
            status: status_of(error),
            step: step.into(),
            detail: error.to_string(),
        }
    }

    fn closing(step: impl Into<String>, reply: &Reply) -> Self {
        Stop {
            status: Status::Dropped,
            step: step.into(),
            detail: format!("the server is closing the connection: {}", reply.summary()),
        }
    }
}

/// Probes one endpoint. Never panics, never returns an error: trouble is in the Outcome.
pub async fn probe(endpoint: Endpoint, settings: &ProbeSettings) -> Outcome {
    let started_at = Utc::now();
    let clock = Instant::now();
    let mut seen = Seen::default();
    let status = match Session::connect(endpoint.socket_addr(), &settings.session).await {
        Err(error) => {
            seen.connect_error = Some(error.to_string());
            status_of(&error)
        }
        Ok(mut session) => {
            let stop = converse(
                &mut session,
                settings,
                &mut seen.dialogue,
                &mut seen.server_name,
            )
            .await;
            let status = stop.as_ref().map_or(Status::Completed, |s| s.status);
            seen.dialogue.interruption = stop.map(|s| Interruption {
                status: s.status,
                step: s.step,
                detail: s.detail,
            });
            // A polite goodbye, also after a refusal; skipped when the line is already dead.
            if matches!(status, Status::Completed | Status::ProtocolError) {
                session.quit().await;
            }
            (seen.transcript, seen.transcript_truncated) = session.into_transcript().into_parts();
            status
        }
    };
    let class = classify(status, &seen.dialogue);
    let error = seen.connect_error.or_else(|| {
        let i = seen.dialogue.interruption.as_ref()?;
        Some(format!("{} at {}", i.detail, i.step))
    });
    Outcome {
        endpoint,
        started_at,
        duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        status,
        error,
        verdict: class.verdict,
        reason: class.reason,
        open_tests: class.open_tests,
        accepts_any_recipient: class.accepts_any_recipient,
        server_name: seen.server_name,
        dialogue: seen.dialogue,
        transcript: seen.transcript,
        transcript_truncated: seen.transcript_truncated,
        tls: None,
    }
}

/// What one probe saw, gathered as the dialogue goes.
#[derive(Default)]
struct Seen {
    dialogue: Dialogue,
    server_name: Option<String>,
    transcript: Vec<crate::smtp::TranscriptLine>,
    transcript_truncated: bool,
    connect_error: Option<String>,
}

/// The dialogue proper. Returns `Some(stop)` when it ended early.
async fn converse(
    session: &mut Session,
    settings: &ProbeSettings,
    dialogue: &mut Dialogue,
    server_name: &mut Option<String>,
) -> Option<Stop> {
    // Wait for the whole greeting (every 220- line up to the final 220 ) before speaking:
    // postscreen and greet_pause punish clients that talk early.
    let greeting = match session.read_reply().await {
        Ok(reply) => reply,
        Err(e) => return Some(Stop::from_error("greeting", &e)),
    };
    let greeted = greeting.is_positive();
    *server_name = announced_name(&greeting);
    dialogue.greeting = Some(greeting);
    if !greeted {
        // 421/554 at connect: recorded; the caller says QUIT politely and we are done.
        return None;
    }

    match session
        .command(&Command::Ehlo(settings.helo_name.clone()))
        .await
    {
        Ok(reply) if reply.is_positive() => {
            dialogue.capabilities = Capabilities::from_ehlo(&reply);
            if server_name.is_none() {
                *server_name = announced_name(&reply);
            }
            dialogue.ehlo = Some(reply);
        }
        Ok(reply) if reply.code == 421 => {
            let stop = Stop::closing("EHLO", &reply);
            dialogue.ehlo = Some(reply);
            return Some(stop);
        }
        Ok(reply) => {
            // RFC 5321 §4.1.4: a server that does not know EHLO answers 5xx; fall back to HELO.
            dialogue.ehlo = Some(reply);
            match session
                .command(&Command::Helo(settings.helo_name.clone()))
                .await
            {
                Ok(helo) => {
                    let positive = helo.is_positive();
                    let closing = helo.code == 421;
                    let stop = closing.then(|| Stop::closing("HELO", &helo));
                    dialogue.helo = Some(helo);
                    if closing {
                        return stop;
                    }
                    if !positive {
                        return None;
                    }
                }
                Err(e) => return Some(Stop::from_error("HELO", &e)),
            }
        }
        Err(e) => return Some(Stop::from_error("EHLO", &e)),
    }

    let ip = session.peer_addr().ip();
    let name = server_name.as_deref();
    for test in &settings.tests {
        let mail_from = render(test.mail_from, &settings.identity, name, ip);
        let rcpt_to = render(test.rcpt_to, &settings.identity, name, ip);
        let label = format!("test {}", test.id);
        if let Some(stop) = run_attempt(
            session,
            test.id,
            &label,
            mail_from,
            rcpt_to,
            &mut dialogue.attempts,
        )
        .await
        {
            return Some(stop);
        }
    }

    let relayed = dialogue.attempts.iter().any(|a| {
        a.mail.as_ref().is_some_and(Reply::is_positive)
            && a.rcpt.as_ref().is_some_and(Reply::is_positive)
    });
    if settings.control && relayed {
        let mail_from = render("<{FL}@{FD}>", &settings.identity, name, ip);
        let rcpt_to = control_recipient(rand::random());
        let mut control = Vec::with_capacity(1);
        let stop = run_attempt(session, 0, "control", mail_from, rcpt_to, &mut control).await;
        dialogue.control = control.pop();
        if stop.is_some() {
            return stop;
        }
    }
    None
}

/// RSET, MAIL FROM, RCPT TO (only after MAIL 2xx). Never DATA. Records the attempt even
/// when it breaks off, so the transcript and the table agree.
async fn run_attempt(
    session: &mut Session,
    id: u8,
    label: &str,
    mail_from: String,
    rcpt_to: String,
    attempts: &mut Vec<RelayAttempt>,
) -> Option<Stop> {
    let mut attempt = RelayAttempt {
        id,
        mail_from,
        rcpt_to,
        rset: None,
        mail: None,
        rcpt: None,
    };
    let stop = exchange(session, label, &mut attempt).await;
    attempts.push(attempt);
    stop
}

async fn exchange(session: &mut Session, label: &str, attempt: &mut RelayAttempt) -> Option<Stop> {
    for step in [Step::Rset, Step::Mail, Step::Rcpt] {
        let command = match step {
            Step::Rset => Command::Rset,
            Step::Mail => Command::MailFrom(attempt.mail_from.clone()),
            Step::Rcpt => Command::RcptTo(attempt.rcpt_to.clone()),
        };
        let reply = match session.command(&command).await {
            Ok(reply) => reply,
            Err(e) => return Some(Stop::from_error(format!("{label} {}", step.name()), &e)),
        };
        let closing = reply.code == 421;
        let positive = reply.is_positive();
        let stop = closing.then(|| Stop::closing(format!("{label} {}", step.name()), &reply));
        match step {
            Step::Rset => attempt.rset = Some(reply),
            Step::Mail => attempt.mail = Some(reply),
            Step::Rcpt => attempt.rcpt = Some(reply),
        }
        if closing {
            return stop;
        }
        // No RCPT after a refused MAIL: there is no transaction to add it to.
        if step == Step::Mail && !positive {
            break;
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Rset,
    Mail,
    Rcpt,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Rset => "RSET",
            Step::Mail => "MAIL",
            Step::Rcpt => "RCPT",
        }
    }
}
