//! TLS in the dialogue: the implicit-TLS handshake, STARTTLS with its fallback to plaintext, and the TLS report's bookkeeping; where the relay tests run around it.

use super::flow::{self, Flow, Stop, timed};
use super::{Talk, Which};
use crate::probe::model::{Channel, Leg, Status};
use crate::probe::timing::{Phase, Timing};
use crate::probe::tls_policy::{
    asks_for_starttls, plain_fallback, plain_tests_first, starttls_decision, tls_tests,
};
use crate::smtp::tls::{Handshake, HandshakeFailure, TlsMode, TlsReport};
use crate::smtp::{Command, Session, SessionError, UpgradeError};

impl Talk<'_> {
    /// A port that speaks TLS first (465): the handshake, then the whole dialogue inside
    /// TLS. There is no plaintext to fall back to, so a failed handshake ends the probe.
    pub(super) async fn implicit_handshake(&mut self, session: &mut Session) -> Flow {
        let report = self.done.tls.insert(TlsReport::new(TlsMode::Implicit));
        report.attempted = true;
        let client = &self.settings.tls.client;
        let (ip, name) = (self.endpoint.ip, self.endpoint.name.as_deref());
        let (_, result) = session
            .upgrade(|stream| client.handshake(stream, name, ip))
            .await;
        match result {
            Ok(handshake) => {
                session.note(established(&handshake));
                self.done.chain = record_handshake(report, handshake);
                Ok(())
            }
            Err(UpgradeError::Handshake(failure)) => {
                self.done.chain = record_failure(report, failure);
                let detail = report.error.clone().unwrap_or_default();
                Err(Stop {
                    status: Status::TlsFailed,
                    step: "TLS handshake".into(),
                    detail,
                    desync: false,
                }
                .into())
            }
            Err(UpgradeError::Session(e)) => {
                report.error = Some(format!("handshake failed: {e}"));
                Err(Stop::from_error("TLS handshake", &e).into())
            }
        }
    }

    /// Plaintext first: STARTTLS as `--starttls` says, and the relay tests where
    /// `--relay-over` says (also over TLS when a 530 asked for STARTTLS).
    pub(super) async fn plaintext_and_starttls(
        &mut self,
        session: &mut Session,
        timing: &mut Timing,
    ) -> Flow {
        let opts = &self.settings.tls;
        let offered = self.done.dialogue.first.capabilities.starttls();
        let decision = starttls_decision(opts.starttls, offered);
        let mut report = TlsReport::new(TlsMode::Starttls);
        report.offered = offered;
        self.done.tls = Some(report);
        let mut plain_ran = false;
        if plain_tests_first(opts.relay_over, decision.is_ok()) {
            // STARTTLS follows unless it is ruled out.
            let last = decision.is_err();
            self.relay_tests(session, timing, Which::First, last)
                .await?;
            // A banner grab sent nothing, so no transaction needs closing before STARTTLS.
            plain_ran = self.settings.depth.sends_tests();
        }
        let asked = asked_for_starttls(&self.done.dialogue.first);
        match decision {
            Err(why) => {
                if let Some(report) = self.done.tls.as_mut() {
                    report.error = Some(why.to_string());
                }
            }
            Ok(()) => {
                if plain_ran {
                    // STARTTLS is not allowed inside a mail transaction: close the last test's.
                    self.ask(session, &Command::Rset, "RSET before STARTTLS")
                        .await?;
                }
                if timed(timing, Phase::Tls, self.start_tls(session)).await? {
                    return self.after_starttls(session, timing, asked).await;
                }
            }
        }
        if !plain_ran && plain_fallback(opts.relay_over) {
            self.relay_tests(session, timing, Which::First, true)
                .await?;
        }
        Ok(())
    }

    /// STARTTLS and the handshake. `Ok(true)`: the session is now TLS. `Ok(false)`: it
    /// goes on in plaintext, on the same connection (STARTTLS refused) or a new one (the
    /// handshake failed), as an opportunistic sender would.
    async fn start_tls(&mut self, session: &mut Session) -> Flow<bool> {
        if self.pace == flow::Pace::Careful {
            // Replies nobody asked for cannot answer a STARTTLS not yet sent: set aside.
            flow::set_aside_late(session, "STARTTLS")?;
        }
        // Never weighed with what follows: bytes after the 220 are the handshake's, or
        // an injection the upgrade drops and reports.
        let reply = flow::ask(session, &Command::StartTls, "STARTTLS").await?;
        let (ready, closing) = (reply.is_ready(), reply.is_closing());
        let summary = reply.summary();
        let closing_stop = closing.then(|| Stop::closing("STARTTLS", &reply));
        self.done.dialogue.starttls = Some(reply);
        let report = self
            .done
            .tls
            .get_or_insert_with(|| TlsReport::new(TlsMode::Starttls));
        if let Some(stop) = closing_stop {
            return Err(stop.into());
        }
        if !ready {
            report.error = Some(format!("STARTTLS refused: {summary}"));
            return Ok(false);
        }
        report.attempted = true;
        // SNI: the name the user gave, else the name the server gave itself.
        let sni = self.endpoint.name.clone().or_else(|| {
            self.done
                .server_name
                .clone()
                .filter(|n| !n.starts_with('['))
        });
        let client = &self.settings.tls.client;
        let ip = self.endpoint.ip;
        let (dropped, result) = session
            .upgrade(|stream| client.handshake(stream, sni.as_deref(), ip))
            .await;
        report.discarded_plaintext = dropped;
        match result {
            Ok(handshake) => {
                session.note(established(&handshake));
                self.done.chain = record_handshake(report, handshake);
                return Ok(true);
            }
            Err(UpgradeError::Handshake(failure)) => {
                self.done.chain = record_failure(report, failure);
            }
            Err(UpgradeError::Session(e)) => {
                report.error = Some(format!("handshake failed: {e}"));
                if matches!(e, SessionError::Cancelled | SessionError::HostTimeout) {
                    return Err(Stop::from_error("TLS handshake", &e).into());
                }
            }
        }
        report.plaintext_fallback = true;
        session
            .reconnect()
            .await
            .map_err(|e| Stop::from_error("connecting again without TLS", &e))?;
        self.hello_again(session).await?;
        Ok(false)
    }

    /// The leg over TLS: RFC 3207 §4.2, forget everything learned before TLS and EHLO
    /// again; then the relay tests where `--relay-over` (or a 530 asking for STARTTLS) says.
    async fn after_starttls(
        &mut self,
        session: &mut Session,
        timing: &mut Timing,
        asked: bool,
    ) -> Flow {
        self.done.dialogue.after_starttls = Some(Leg::new(Channel::Starttls));
        timed(
            timing,
            Phase::Ehlo,
            self.hello(session, Which::AfterStarttls),
        )
        .await?;
        if tls_tests(self.settings.tls.relay_over, asked) {
            self.relay_tests(session, timing, Which::AfterStarttls, true)
                .await?;
        }
        Ok(())
    }
}

/// A plaintext test was refused by a 530 that asks for STARTTLS (RFC 3207 §4).
fn asked_for_starttls(leg: &Leg) -> bool {
    leg.attempts.iter().any(|a| {
        [&a.mail, &a.rcpt]
            .into_iter()
            .flatten()
            .any(|r| asks_for_starttls(r, &leg.capabilities))
    })
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
