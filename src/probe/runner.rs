//! Drives one dialogue: connect, [implicit TLS], greeting, EHLO (HELO fallback), [STARTTLS,
//! EHLO again], relay tests, control RCPT, QUIT.
//!
//! Never fails: whatever goes wrong on the wire becomes a [`Status`] plus the partial
//! [`Dialogue`], and the verdict is computed from what was seen.

use std::time::Instant;

use chrono::Utc;

use super::relay::{CATALOGUE, Envelopes, Identity, RelayTest, control_recipient};
use super::timing::{Phase, Timing};
use super::tls_policy::{
    TlsSettings, asks_for_starttls, plain_fallback, plain_tests_first, starttls_decision, tls_tests,
};
use super::verdict::classify;
use super::{AfterTls, Dialogue, Interruption, Outcome, RelayAttempt, Status};
use crate::smtp::capabilities::announced_name;
use crate::smtp::tls::{Handshake, HandshakeFailure, NameSource, TlsMode, TlsReport};
use crate::smtp::{
    Capabilities, Command, Reply, Session, SessionError, SessionSettings, UpgradeError,
};
use crate::target::Endpoint;

/// Everything a probe needs besides the endpoint; shared by all probes of a scan.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub session: SessionSettings,
    /// The name we give in EHLO/HELO.
    pub helo_name: String,
    pub identity: Identity,
    /// Which catalogue entries to run (all 16 by default).
    pub tests: Vec<RelayTest>,
    /// Send the control RCPT (random mailbox, non-existent domain) when a test relayed.
    pub control: bool,
    /// STARTTLS, implicit-TLS ports, where the relay tests run.
    pub tls: TlsSettings,
    /// Send the relay tests as one pipelined group when the server advertises PIPELINING
    /// (RFC 2920); off, or without the keyword, one command at a time.
    pub pipelining: bool,
}

impl ProbeSettings {
    pub fn new(session: SessionSettings, helo_name: String, identity: Identity) -> Self {
        ProbeSettings {
            session,
            helo_name,
            identity,
            tests: CATALOGUE.to_vec(),
            control: true,
            tls: TlsSettings::standard(),
            pipelining: true,
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
    let connecting = Instant::now();
    let connected = Session::connect(endpoint.socket_addr(), &settings.session).await;
    seen.timing.add(Phase::Connect, connecting.elapsed());
    let status = match connected {
        Err(error) => {
            // The failed handshake was one wait for the network all the same.
            seen.timing.round_trips = 1;
            seen.connect_error = Some(error.to_string());
            status_of(&error)
        }
        Ok(mut session) => {
            let ended = if settings.tls.is_implicit(endpoint.port) {
                implicit_tls(&mut session, settings, &endpoint, &mut seen).await
            } else {
                plaintext_first(&mut session, settings, &endpoint, &mut seen).await
            };
            let stop = ended.err().flatten();
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
            seen.timing.round_trips = session.round_trips();
            (seen.transcript, seen.transcript_truncated) = session.into_transcript().into_parts();
            status
        }
    };
    if let Some(report) = seen.tls.as_mut() {
        let names = known_names(&endpoint, &seen.dialogue);
        settings
            .tls
            .client
            .audit(report, &seen.chain, &names, started_at);
    }
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
        tls: seen.tls,
        timing: seen.timing,
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
    tls: Option<TlsReport>,
    /// The certificates the server sent (DER, leaf first), audited once names are known.
    chain: Vec<Vec<u8>>,
    timing: Timing,
}

/// How a dialogue step ended early: `None` politely (a refusing greeting, HELO refused),
/// `Some(stop)` when it broke off.
type End = Option<Stop>;

/// Every name we know for the server, for the certificate's name check: the target's
/// host name, the greeting's name, the EHLO name (the one over TLS when there was one).
fn known_names(endpoint: &Endpoint, d: &Dialogue) -> Vec<(String, NameSource)> {
    let ehlo = d
        .after_tls
        .as_ref()
        .and_then(|a| a.ehlo.as_ref())
        .or(d.ehlo.as_ref())
        .filter(|r| r.is_positive());
    [
        (endpoint.name.clone(), NameSource::Target),
        (
            d.greeting.as_ref().and_then(announced_name),
            NameSource::Greeting,
        ),
        (ehlo.and_then(announced_name), NameSource::Ehlo),
    ]
    .into_iter()
    .filter_map(|(name, source)| Some((name?, source)))
    .collect()
}

/// A port that speaks TLS first (465): the handshake, then the whole dialogue inside TLS.
/// There is no plaintext to fall back to, so a failed handshake ends the probe.
async fn implicit_tls(
    session: &mut Session,
    settings: &ProbeSettings,
    endpoint: &Endpoint,
    seen: &mut Seen,
) -> Result<(), End> {
    let report = seen.tls.insert(TlsReport::new(TlsMode::Implicit));
    report.attempted = true;
    let client = &settings.tls.client;
    let ip = endpoint.ip;
    let name = endpoint.name.as_deref();
    let shaking = Instant::now();
    let (_, result) = session
        .upgrade(|stream| client.handshake(stream, name, ip))
        .await;
    seen.timing.add(Phase::Tls, shaking.elapsed());
    match result {
        Ok(handshake) => {
            session.note(established(&handshake));
            seen.chain = record_handshake(report, handshake);
        }
        Err(UpgradeError::Handshake(failure)) => {
            seen.chain = record_failure(report, failure);
            let detail = report.error.clone().unwrap_or_default();
            return Err(Some(Stop {
                status: Status::TlsFailed,
                step: "TLS handshake".into(),
                detail,
            }));
        }
        Err(UpgradeError::Session(e)) => {
            report.error = Some(format!("handshake failed: {e}"));
            return Err(Some(Stop::from_error("TLS handshake", &e)));
        }
    }
    open_dialogue(session, settings, seen).await?;
    tests_in_dialogue(session, settings, seen).await
}

/// The greeting and EHLO/HELO of the dialogue's first session (plaintext, or inside
/// implicit TLS).
async fn open_dialogue(
    session: &mut Session,
    settings: &ProbeSettings,
    seen: &mut Seen,
) -> Result<(), End> {
    let d = &mut seen.dialogue;
    let waiting = Instant::now();
    let greeted = greeting(session, d, &mut seen.server_name).await;
    seen.timing.add(Phase::Greeting, waiting.elapsed());
    greeted?;
    let saying = Instant::now();
    let said = hello(
        session,
        settings,
        &mut d.ehlo,
        &mut d.helo,
        &mut d.capabilities,
        &mut seen.server_name,
    )
    .await;
    seen.timing.add(Phase::Ehlo, saying.elapsed());
    said
}

/// The relay tests of the first session (plaintext, or inside implicit TLS).
async fn tests_in_dialogue(
    session: &mut Session,
    settings: &ProbeSettings,
    seen: &mut Seen,
) -> Result<(), End> {
    let d = &mut seen.dialogue;
    timed_relay_tests(
        session,
        settings,
        seen.server_name.as_deref(),
        &d.capabilities,
        &mut seen.timing,
        &mut d.attempts,
        &mut d.control,
    )
    .await
}

/// The relay tests on one session, pipelined when allowed and the server offers it; timed.
async fn timed_relay_tests(
    session: &mut Session,
    settings: &ProbeSettings,
    server_name: Option<&str>,
    capabilities: &Capabilities,
    timing: &mut Timing,
    attempts: &mut Vec<RelayAttempt>,
    control: &mut Option<RelayAttempt>,
) -> Result<(), End> {
    let pipelining = settings.pipelining && capabilities.pipelining();
    timing.pipelined |= pipelining;
    let testing = Instant::now();
    let tested = relay_tests(
        session,
        settings,
        server_name,
        pipelining,
        attempts,
        control,
    )
    .await;
    timing.add(Phase::Tests, testing.elapsed());
    tested
}

/// Plaintext first: greeting, EHLO, then STARTTLS as `--starttls` says, and the relay tests
/// where `--relay-over` says (also over TLS when a 530 asked for STARTTLS).
async fn plaintext_first(
    session: &mut Session,
    settings: &ProbeSettings,
    endpoint: &Endpoint,
    seen: &mut Seen,
) -> Result<(), End> {
    let opts = &settings.tls;
    open_dialogue(session, settings, seen).await?;
    let offered = seen.dialogue.capabilities.starttls();
    let decision = starttls_decision(opts.starttls, offered);
    let mut report = TlsReport::new(TlsMode::Starttls);
    report.offered = offered;
    seen.tls = Some(report);
    let mut plain_ran = false;
    if plain_tests_first(opts.relay_over, decision.is_ok()) {
        tests_in_dialogue(session, settings, seen).await?;
        plain_ran = true;
    }
    let d = &seen.dialogue;
    let asked = d.attempts.iter().any(|a| {
        [&a.mail, &a.rcpt]
            .into_iter()
            .flatten()
            .any(|r| asks_for_starttls(r, &d.capabilities))
    });
    match decision {
        Err(why) => {
            if let Some(report) = seen.tls.as_mut() {
                report.error = Some(why.to_string());
            }
        }
        Ok(()) => {
            if plain_ran {
                // STARTTLS is not allowed inside a mail transaction: close the last test's.
                command(session, &Command::Rset, "RSET before STARTTLS").await?;
            }
            let starting = Instant::now();
            let started = start_tls(session, settings, endpoint, seen).await;
            seen.timing.add(Phase::Tls, starting.elapsed());
            if started? {
                return after_tls(session, settings, seen, asked).await;
            }
        }
    }
    if !plain_ran && plain_fallback(opts.relay_over) {
        tests_in_dialogue(session, settings, seen).await?;
    }
    Ok(())
}

/// STARTTLS and the handshake. `Ok(true)`: the session is now TLS. `Ok(false)`: it goes on
/// in plaintext, on the same connection (STARTTLS refused) or a new one (the handshake
/// failed), as an opportunistic sender would.
async fn start_tls(
    session: &mut Session,
    settings: &ProbeSettings,
    endpoint: &Endpoint,
    seen: &mut Seen,
) -> Result<bool, End> {
    let reply = command(session, &Command::StartTls, "STARTTLS").await?;
    let (code, summary) = (reply.code, reply.summary());
    seen.dialogue.starttls = Some(reply);
    let report = seen
        .tls
        .get_or_insert_with(|| TlsReport::new(TlsMode::Starttls));
    if code == 421 {
        return Err(Some(Stop {
            status: Status::Dropped,
            step: "STARTTLS".into(),
            detail: format!("the server is closing the connection: {summary}"),
        }));
    }
    if code != 220 {
        report.error = Some(format!("STARTTLS refused: {summary}"));
        return Ok(false);
    }
    report.attempted = true;
    // SNI: the name the user gave, else the name the server gave itself.
    let sni = endpoint
        .name
        .clone()
        .or_else(|| seen.server_name.clone().filter(|n| !n.starts_with('[')));
    let client = &settings.tls.client;
    let ip = endpoint.ip;
    let (dropped, result) = session
        .upgrade(|stream| client.handshake(stream, sni.as_deref(), ip))
        .await;
    report.discarded_plaintext = dropped;
    match result {
        Ok(handshake) => {
            session.note(established(&handshake));
            seen.chain = record_handshake(report, handshake);
            return Ok(true);
        }
        Err(UpgradeError::Handshake(failure)) => {
            seen.chain = record_failure(report, failure);
        }
        Err(UpgradeError::Session(e)) => {
            report.error = Some(format!("handshake failed: {e}"));
            if matches!(e, SessionError::Cancelled | SessionError::HostTimeout) {
                return Err(Some(Stop::from_error("TLS handshake", &e)));
            }
        }
    }
    report.plaintext_fallback = true;
    if let Err(e) = session.reconnect().await {
        return Err(Some(Stop::from_error("connecting again without TLS", &e)));
    }
    // Greeting and EHLO again, in the transcript only: the dialogue already has the first.
    let again = read_reply(session, "greeting after reconnecting").await?;
    if !again.is_positive() {
        return Err(None);
    }
    let (mut ehlo, mut helo, mut caps) = (None, None, Capabilities::default());
    let mut name = seen.server_name.clone();
    hello(
        session, settings, &mut ehlo, &mut helo, &mut caps, &mut name,
    )
    .await?;
    Ok(false)
}

/// The session over TLS: RFC 3207 §4.2, forget everything learned before TLS and EHLO
/// again; then the relay tests where `--relay-over` (or a 530 asking for STARTTLS) says.
async fn after_tls(
    session: &mut Session,
    settings: &ProbeSettings,
    seen: &mut Seen,
    asked: bool,
) -> Result<(), End> {
    let after = seen.dialogue.after_tls.insert(AfterTls::default());
    let saying = Instant::now();
    let said = hello(
        session,
        settings,
        &mut after.ehlo,
        &mut after.helo,
        &mut after.capabilities,
        &mut seen.server_name,
    )
    .await;
    seen.timing.add(Phase::Ehlo, saying.elapsed());
    said?;
    if tls_tests(settings.tls.relay_over, asked) {
        timed_relay_tests(
            session,
            settings,
            seen.server_name.as_deref(),
            &after.capabilities,
            &mut seen.timing,
            &mut after.attempts,
            &mut after.control,
        )
        .await?;
    }
    Ok(())
}

/// The transcript note for an established session.
fn established(h: &Handshake) -> String {
    format!("TLS established: {} {}", h.version, h.cipher_suite)
}

/// Copies a handshake into the report; returns the chain for the audit.
fn record_handshake(report: &mut TlsReport, h: Handshake) -> Vec<Vec<u8>> {
    report.established = true;
    report.version = Some(h.version);
    report.cipher_suite = Some(h.cipher_suite);
    report.sni = h.sni;
    h.chain
}

fn record_failure(report: &mut TlsReport, f: HandshakeFailure) -> Vec<Vec<u8>> {
    report.error = Some(format!("handshake failed: {}", f.error));
    report.alert = f.alert;
    f.chain
}

/// One command whose reply is only kept in the transcript.
async fn command(session: &mut Session, cmd: &Command, step: &str) -> Result<Reply, End> {
    session
        .command(cmd)
        .await
        .map_err(|e| Some(Stop::from_error(step, &e)))
}

/// One reply read without a command (a greeting), kept in the transcript only.
async fn read_reply(session: &mut Session, step: &str) -> Result<Reply, End> {
    session
        .read_reply()
        .await
        .map_err(|e| Some(Stop::from_error(step, &e)))
}

/// Waits for the whole greeting (every 220- line up to the final 220 ) before speaking:
/// postscreen and greet_pause punish clients that talk early. A 421/554 greeting is
/// recorded and ends the dialogue politely.
async fn greeting(
    session: &mut Session,
    dialogue: &mut Dialogue,
    server_name: &mut Option<String>,
) -> Result<(), End> {
    let greeting = read_reply(session, "greeting").await?;
    let greeted = greeting.is_positive();
    *server_name = announced_name(&greeting);
    dialogue.greeting = Some(greeting);
    if greeted { Ok(()) } else { Err(None) }
}

/// EHLO, or HELO when EHLO is refused (RFC 5321 §4.1.4). `Err(None)` when both are
/// refused: nothing more can be tried.
async fn hello(
    session: &mut Session,
    settings: &ProbeSettings,
    ehlo_reply: &mut Option<Reply>,
    helo_reply: &mut Option<Reply>,
    capabilities: &mut Capabilities,
    server_name: &mut Option<String>,
) -> Result<(), End> {
    let reply = command(session, &Command::Ehlo(settings.helo_name.clone()), "EHLO").await?;
    if reply.is_positive() {
        *capabilities = Capabilities::from_ehlo(&reply);
        if server_name.is_none() {
            *server_name = announced_name(&reply);
        }
        *ehlo_reply = Some(reply);
        return Ok(());
    }
    if reply.code == 421 {
        let stop = Stop::closing("EHLO", &reply);
        *ehlo_reply = Some(reply);
        return Err(Some(stop));
    }
    *ehlo_reply = Some(reply);
    let helo = command(session, &Command::Helo(settings.helo_name.clone()), "HELO").await?;
    let positive = helo.is_positive();
    let closing = (helo.code == 421).then(|| Stop::closing("HELO", &helo));
    *helo_reply = Some(helo);
    if closing.is_some() {
        return Err(closing);
    }
    if positive { Ok(()) } else { Err(None) }
}

/// The catalogue, then the control RCPT when a test relayed; pipelined when `pipelining`.
async fn relay_tests(
    session: &mut Session,
    settings: &ProbeSettings,
    server_name: Option<&str>,
    pipelining: bool,
    attempts: &mut Vec<RelayAttempt>,
    control: &mut Option<RelayAttempt>,
) -> Result<(), End> {
    let envelopes = Envelopes::new(&settings.identity, server_name, session.peer_addr().ip());
    let planned = settings
        .tests
        .iter()
        .map(|test| {
            planned_attempt(
                test.id,
                envelopes.render(test.mail_from),
                envelopes.render(test.rcpt_to),
            )
        })
        .collect();
    if let Some(stop) = run_attempts(session, planned, pipelining, attempts).await {
        return Err(Some(stop));
    }
    let relayed = attempts.iter().any(|a| {
        a.mail.as_ref().is_some_and(Reply::is_positive)
            && a.rcpt.as_ref().is_some_and(Reply::is_positive)
    });
    if settings.control && relayed {
        let mail_from = envelopes.render("<{FL}@{FD}>");
        let rcpt_to = control_recipient(rand::random());
        let mut one = Vec::with_capacity(1);
        let planned = vec![planned_attempt(0, mail_from, rcpt_to)];
        let stop = run_attempts(session, planned, pipelining, &mut one).await;
        *control = one.pop();
        if stop.is_some() {
            return Err(stop);
        }
    }
    Ok(())
}

/// An attempt not yet sent: the envelope, no replies.
fn planned_attempt(id: u8, mail_from: String, rcpt_to: String) -> RelayAttempt {
    RelayAttempt {
        id,
        mail_from,
        rcpt_to,
        rset: None,
        mail: None,
        rcpt: None,
    }
}

/// How an attempt is named in the transcript and in an interruption's step.
fn attempt_label(id: u8) -> String {
    if id == 0 {
        "control".into()
    } else {
        format!("test {id}")
    }
}

/// The attempts, pipelined (see [`pipelined_attempts`]) or one command at a time. Each
/// attempt is recorded even when it breaks off, so the transcript and the table agree;
/// the first stop ends the run.
async fn run_attempts(
    session: &mut Session,
    planned: Vec<RelayAttempt>,
    pipelining: bool,
    attempts: &mut Vec<RelayAttempt>,
) -> Option<Stop> {
    if !pipelining || planned.is_empty() {
        return one_at_a_time(session, planned, attempts).await;
    }
    match pipelined_attempts(session, planned, attempts).await {
        Ok(stop) => stop,
        // An unsafe envelope: nothing went out, so the tests go one at a time, and the
        // offending one is refused there as it always was.
        Err(planned) => one_at_a_time(session, planned, attempts).await,
    }
}

async fn one_at_a_time(
    session: &mut Session,
    planned: Vec<RelayAttempt>,
    attempts: &mut Vec<RelayAttempt>,
) -> Option<Stop> {
    for mut attempt in planned {
        let stop = exchange(session, &mut attempt, false).await;
        attempts.push(attempt);
        if stop.is_some() {
            return stop;
        }
    }
    None
}

/// Two pipelined groups (RFC 2920 lets RSET, MAIL and RCPT appear anywhere in a group;
/// DATA is never sent): first RSET + MAIL FROM once per distinct sender, to learn which
/// senders the server takes; then RSET + MAIL FROM + RCPT TO of the attempts whose sender it
/// took. So no RCPT ever follows a refused MAIL: a server counting protocol errors
/// (Exim's smtp_max_synprot_errors, Postfix's hard error limit) sees what it would see
/// one command at a time, and the records read the same. `Err` gives the attempts back
/// untouched when an envelope is unsafe to send.
async fn pipelined_attempts(
    session: &mut Session,
    mut planned: Vec<RelayAttempt>,
    attempts: &mut Vec<RelayAttempt>,
) -> Result<Option<Stop>, Vec<RelayAttempt>> {
    let full = |a: &RelayAttempt| {
        [
            Command::Rset,
            Command::MailFrom(a.mail_from.clone()),
            Command::RcptTo(a.rcpt_to.clone()),
        ]
    };
    if planned
        .iter()
        .any(|a| Command::check_envelope(&a.mail_from, &a.rcpt_to).is_err())
    {
        return Err(planned);
    }
    // Phase one asks once per distinct sender (the catalogue has four), in first-seen order.
    let mut firsts: Vec<usize> = Vec::new();
    for (i, a) in planned.iter().enumerate() {
        if !firsts
            .iter()
            .any(|&f| planned.get(f).is_some_and(|b| b.mail_from == a.mail_from))
        {
            firsts.push(i);
        }
    }
    let senders: Vec<Command> = firsts
        .iter()
        .filter_map(|&i| planned.get(i))
        .flat_map(|a| full(a).into_iter().take(2))
        .collect();
    if let Err(e) = session.pipeline(&senders).await {
        return Ok(Some(group_failed(planned, 0, attempts, &e)));
    }
    for &i in &firsts {
        let Some(attempt) = planned.get_mut(i) else {
            continue;
        };
        let label = attempt_label(attempt.id);
        let mut stop = read_step(session, &label, Step::Rset, &mut attempt.rset).await;
        if stop.is_none() {
            stop = read_step(session, &label, Step::Mail, &mut attempt.mail).await;
        }
        if stop.is_some() {
            attempts.extend(planned.into_iter().take(i + 1));
            return Ok(stop);
        }
    }
    // Every attempt takes its sender's answer; a refused one is complete, as it would be
    // one command at a time (the server answers a sender the same way each time).
    let answers: Vec<(String, Option<Reply>, Option<Reply>)> = firsts
        .iter()
        .filter_map(|&i| planned.get(i))
        .map(|a| (a.mail_from.clone(), a.rset.clone(), a.mail.clone()))
        .collect();
    let mut accepted = Vec::with_capacity(planned.len());
    for (i, attempt) in planned.iter_mut().enumerate() {
        let Some((_, rset, mail)) = answers.iter().find(|(s, _, _)| *s == attempt.mail_from) else {
            continue;
        };
        if mail.as_ref().is_some_and(Reply::is_positive) {
            accepted.push(i);
        } else {
            attempt.rset.clone_from(rset);
            attempt.mail.clone_from(mail);
        }
    }
    let Some(&first) = accepted.first() else {
        attempts.extend(planned);
        return Ok(None);
    };
    let recipients: Vec<Command> = accepted
        .iter()
        .filter_map(|&i| planned.get(i))
        .flat_map(full)
        .collect();
    if let Err(e) = session.pipeline(&recipients).await {
        return Ok(Some(group_failed(planned, first, attempts, &e)));
    }
    for &i in &accepted {
        let Some(attempt) = planned.get_mut(i) else {
            continue;
        };
        // The replies of the transaction that carried the RCPT replace the first ones.
        let stop = exchange(session, attempt, true).await;
        if stop.is_some() {
            attempts.extend(planned.into_iter().take(i + 1));
            return Ok(stop);
        }
    }
    attempts.extend(planned);
    Ok(None)
}

/// A group could not be sent: the run stops at the RSET of attempt `at`.
fn group_failed(
    planned: Vec<RelayAttempt>,
    at: usize,
    attempts: &mut Vec<RelayAttempt>,
    e: &SessionError,
) -> Stop {
    let label = planned.get(at).map(|a| attempt_label(a.id));
    attempts.extend(planned.into_iter().take(at + 1));
    Stop::from_error(format!("{} RSET", label.unwrap_or_default()), e)
}

/// Reads one pipelined reply into `slot`; a stop when the read failed or the server is
/// closing (421).
async fn read_step(
    session: &mut Session,
    label: &str,
    step: Step,
    slot: &mut Option<Reply>,
) -> Option<Stop> {
    match session.read_reply().await {
        Ok(reply) => {
            let stop = (reply.code == 421)
                .then(|| Stop::closing(format!("{label} {}", step.name()), &reply));
            *slot = Some(reply);
            stop
        }
        Err(e) => Some(Stop::from_error(format!("{label} {}", step.name()), &e)),
    }
}

/// RSET, MAIL FROM, RCPT TO (RCPT only after MAIL 2xx). Never DATA. `pipelined`: the
/// commands are already sent, only their replies are read, in order.
async fn exchange(
    session: &mut Session,
    attempt: &mut RelayAttempt,
    pipelined: bool,
) -> Option<Stop> {
    let label = attempt_label(attempt.id);
    for step in [Step::Rset, Step::Mail, Step::Rcpt] {
        let answered = if pipelined {
            session.read_reply().await
        } else {
            let command = match step {
                Step::Rset => Command::Rset,
                Step::Mail => Command::MailFrom(attempt.mail_from.clone()),
                Step::Rcpt => Command::RcptTo(attempt.rcpt_to.clone()),
            };
            session.command(&command).await
        };
        let reply = match answered {
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
            if pipelined {
                return skip_reply(session, &label).await;
            }
            break;
        }
    }
    None
}

/// The reply to a pipelined RCPT whose MAIL was refused (a 503, as a rule): read to stay
/// in step with the group, kept in the transcript only, since one command at a time it
/// would never have been sent and the attempt must read the same either way.
async fn skip_reply(session: &mut Session, label: &str) -> Option<Stop> {
    match session.read_reply().await {
        Ok(reply) if reply.code == 421 => Some(Stop::closing(format!("{label} RCPT"), &reply)),
        Ok(_) => None,
        Err(e) => Some(Stop::from_error(format!("{label} RCPT"), &e)),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::tls::TlsClient;
    use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
    use relayscan_lab::tls_server::TlsServer;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// One line from the client, without CRLF; `None` at end of stream.
    async fn line<S: AsyncRead + Unpin>(s: &mut S) -> Option<String> {
        let mut bytes = Vec::new();
        let mut b = [0u8; 1];
        loop {
            match s.read(&mut b).await {
                Ok(1) if b[0] == b'\n' => break,
                Ok(1) => bytes.push(b[0]),
                _ => return None,
            }
        }
        Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
    }

    /// A scripted server: before TLS it offers STARTTLS, AUTH and a private keyword; after
    /// TLS only SIZE. Refuses relaying. Returns whether the client asked for STARTTLS.
    async fn script<S: AsyncRead + AsyncWrite + Unpin>(
        s: &mut S,
        tls: bool,
        seen: &Mutex<Vec<String>>,
    ) -> bool {
        while let Some(cmd) = line(s).await {
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cmd.clone());
            let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match (verb.as_str(), tls) {
                ("EHLO", false) => {
                    b"250-pre.example.org\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 X-PRE-TLS\r\n"
                }
                ("EHLO", true) => b"250-post.example.org\r\n250 SIZE 2000\r\n",
                ("STARTTLS", false) => {
                    let _ = s.write_all(b"220 2.0.0 go ahead\r\n").await;
                    return true;
                }
                ("RCPT", _) => b"554 5.7.1 Relay access denied\r\n",
                ("QUIT", _) => {
                    let _ = s.write_all(b"221 2.0.0 Bye\r\n").await;
                    return false;
                }
                _ => b"250 2.0.0 Ok\r\n",
            };
            if s.write_all(reply).await.is_err() {
                return false;
            }
        }
        false
    }

    #[tokio::test]
    async fn capabilities_learned_before_tls_are_gone_after_it() {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| panic!("{e}"));
        let cert = CertificateParams::new(vec!["pre.example.org".to_string()])
            .and_then(|p| p.self_signed(&key))
            .unwrap_or_else(|e| panic!("{e}"));
        let server = TlsServer::new(&[cert.der().to_vec()], &key.serialize_der())
            .unwrap_or_else(|e| panic!("{e}"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let _ = tcp.write_all(b"220 pre.example.org ESMTP\r\n").await;
            if script(&mut tcp, false, &log).await
                && let Ok(mut tls) = server.accept(&mut tcp).await
            {
                script(&mut tls, true, &log).await;
            }
        });

        let session = SessionSettings {
            read_timeout: Duration::from_secs(5),
            ..SessionSettings::default()
        };
        let identity = Identity::new("antispam@example.com", "relaytest@example.com")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut settings = ProbeSettings::new(session, "scanner.example.net".into(), identity);
        settings.tls.client = TlsClient::new();
        let out = probe(Endpoint::new(addr.ip(), addr.port()), &settings).await;

        // Before TLS: what the server offered to anyone, kept as evidence.
        let before = &out.dialogue.capabilities;
        assert_eq!(before.names(), vec!["STARTTLS", "AUTH", "X-PRE-TLS"]);
        // After TLS: only what the EHLO over TLS said; nothing carried over.
        let after = out
            .dialogue
            .after_tls
            .as_ref()
            .map(|a| a.capabilities.clone())
            .unwrap_or_default();
        assert_eq!(after.names(), vec!["SIZE"]);
        assert_eq!(after.size_limit(), Some(2000));
        assert!(!after.starttls() && after.auth_mechanisms().is_empty() && !after.has("X-PRE-TLS"));

        let commands = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(
            commands.get(..4),
            Some(
                &[
                    "EHLO scanner.example.net".to_string(),
                    "STARTTLS".to_string(),
                    "EHLO scanner.example.net".to_string(),
                    "RSET".to_string()
                ][..]
            ),
            "EHLO again right after the handshake: {commands:?}"
        );
        assert_eq!(commands.iter().filter(|c| *c == "STARTTLS").count(), 1);
        assert!(commands.iter().all(|c| !c.starts_with("AUTH")));

        let tls = out.tls.unwrap_or_else(|| panic!("a TLS report"));
        assert!(tls.offered && tls.attempted && tls.established);
        assert_eq!(tls.sni.as_deref(), Some("pre.example.org"));
        let checked: Vec<(&str, bool)> = tls
            .names
            .iter()
            .map(|n| (n.name.as_str(), n.matches))
            .collect();
        assert_eq!(
            checked,
            vec![("pre.example.org", true), ("post.example.org", false)],
            "the EHLO name checked is the one given over TLS"
        );
        assert_eq!(out.status, Status::Completed);
        assert_eq!(out.verdict, Some(crate::probe::Verdict::RelayDenied));
        assert!(
            out.reason
                .as_deref()
                .is_some_and(|r| r.contains("after STARTTLS")),
            "{:?}",
            out.reason
        );
        assert!(
            out.dialogue.attempts.is_empty(),
            "by default the tests run over TLS only"
        );
    }

    /// A server that advertises PIPELINING, refuses the null sender at MAIL, answers a RCPT
    /// without MAIL with 503, and relays only the percent hacks. Serves `connections` probes.
    async fn pipelining_server(connections: usize) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            for _ in 0..connections {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                let _ = tcp.write_all(b"220 mx.example.org ESMTP\r\n").await;
                let mut mail = false;
                while let Some(cmd) = line(&mut tcp).await {
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-mx.example.org\r\n250 PIPELINING\r\n"
                    } else if cmd == "MAIL FROM:<>" {
                        b"550 5.7.1 no bounces here\r\n"
                    } else if cmd.starts_with("MAIL") {
                        mail = true;
                        b"250 2.1.0 Ok\r\n"
                    } else if cmd.starts_with("RCPT") && !mail {
                        b"503 5.5.1 Error: need MAIL command\r\n"
                    } else if cmd.starts_with("RCPT") && cmd.contains('%') {
                        b"250 2.1.5 Ok\r\n"
                    } else if cmd.starts_with("RCPT") {
                        b"554 5.7.1 Relay access denied\r\n"
                    } else if cmd == "QUIT" {
                        let _ = tcp.write_all(b"221 2.0.0 Bye\r\n").await;
                        break;
                    } else {
                        mail = false;
                        b"250 2.0.0 Ok\r\n"
                    };
                    let _ = tcp.write_all(reply).await;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn pipelined_tests_record_exactly_what_one_at_a_time_records() {
        let addr = pipelining_server(2).await;
        let identity = Identity::new("antispam@example.com", "relaytest@example.com")
            .unwrap_or_else(|e| panic!("{e}"));
        let session = SessionSettings {
            read_timeout: Duration::from_secs(5),
            ..SessionSettings::default()
        };
        let mut settings = ProbeSettings::new(session, "scanner.example.net".into(), identity);
        let endpoint = Endpoint::new(addr.ip(), addr.port());
        let piped = probe(endpoint.clone(), &settings).await;
        settings.pipelining = false;
        let one = probe(endpoint, &settings).await;

        assert_eq!(piped.status, Status::Completed, "{:?}", piped.error);
        assert_eq!(piped.open_tests, vec![5, 6, 8]);
        assert_eq!(
            (piped.verdict, &piped.open_tests),
            (one.verdict, &one.open_tests)
        );
        // Test 1's sender was refused: no RCPT followed it, so no 503 either.
        let first = piped.dialogue.attempts.first();
        assert_eq!(
            first.and_then(|a| a.mail.as_ref()).map(|r| r.code),
            Some(550)
        );
        assert!(first.is_some_and(|a| a.rcpt.is_none()));
        assert!(!piped.transcript.iter().any(|l| l.text.starts_with("503")));
        // The control attempt differs only in its random mailbox.
        assert_eq!(piped.dialogue.attempts, one.dialogue.attempts);
        assert_eq!(
            piped
                .dialogue
                .control
                .as_ref()
                .and_then(|c| c.rcpt.as_ref()),
            one.dialogue.control.as_ref().and_then(|c| c.rcpt.as_ref())
        );
        // Connect, greeting, EHLO, the catalogue's two groups, the control's two, QUIT.
        assert_eq!(
            (piped.timing.pipelined, piped.timing.round_trips),
            (true, 8)
        );
        assert_eq!(
            (one.timing.pipelined, one.timing.round_trips),
            (false, 3 + 47 + 3 + 1)
        );
    }
}
