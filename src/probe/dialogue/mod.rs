//! One probe of one endpoint, as numbered steps: connect, [implicit TLS], greeting, EHLO (HELO fallback), [STARTTLS, EHLO again], relay tests, QUIT; and one rerun, one command at a time, when the replies fall out of step.
//!
//! Never fails: whatever goes wrong on the wire becomes a [`Status`] plus the partial
//! [`Dialogue`]. The jobs are split by file: `hello.rs` the greeting and EHLO/HELO,
//! `starttls.rs` STARTTLS and the TLS bookkeeping, `attempts.rs` the relay tests
//! (pipelined, one at a time, or careful), `flow.rs` how a step ends and how every reply
//! is checked against its command.

mod attempts;
mod flow;
mod hello;
mod starttls;

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::depth::Depth;
use super::model::{Channel, Dialogue, Leg, Outcome, RelayAttempt, Status};
use super::relay::Identity;
use super::timing::{Phase, Timing};
use super::tls_policy::TlsSettings;
use crate::smtp::capabilities::announced_name;
use crate::smtp::session::QUIT_WAIT;
use crate::smtp::tls::{NameSource, TlsReport};
use crate::smtp::{Command, Session, SessionSettings, TranscriptLine, transcript};
use crate::target::Endpoint;

pub use flow::status_of;
use flow::{Flow, Halt, Pace, Stop, timed};

/// Everything a probe needs besides the endpoint; shared by all probes of a scan.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub session: SessionSettings,
    /// The name we give in EHLO/HELO.
    pub helo_name: String,
    pub identity: Identity,
    /// Which catalogue entries to run (all 16 by default), or none (a banner grab).
    pub depth: Depth,
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
            depth: Depth::Full,
            control: true,
            tls: TlsSettings::standard(),
            pipelining: true,
        }
    }
}

/// Probes one endpoint. Never panics, never returns an error: trouble is in the Outcome.
pub async fn probe(endpoint: Endpoint, settings: &ProbeSettings) -> Outcome {
    let started_at = Utc::now();
    let clock = Instant::now();
    // 1. The dialogue at the standard pace: the relay tests pipelined where offered.
    let first = Run::go(&endpoint, settings, Pace::Standard).await;
    // 2. The replies fell out of step once the tests had begun: nothing it said can be
    //    paired with a command, so probe again on a new connection, one command at a
    //    time, and judge that run. Or the server hung up on the pipelined group after
    //    the RCPTs of senders it refused: probe again one command at a time, which never
    //    sends those. Once only. Boxed, with the first run moved in: every probe in
    //    flight would otherwise carry room for both runs, for the rare server that gets
    //    here.
    let mut run = match first.wants_rerun() {
        Some(pace) => Box::pin(rerun(first, &endpoint, settings, pace)).await,
        None => first,
    };
    // 3. The certificate audit, now that every name the server gave is known.
    run.audit_tls(&endpoint, settings, started_at);
    run.into_outcome(endpoint, started_at, clock)
}

/// The run one command at a time that follows `first`, whose replies fell out of step
/// or whose server hung up on its group.
async fn rerun(first: Run, endpoint: &Endpoint, settings: &ProbeSettings, pace: Pace) -> Run {
    let mut run = Run::go(endpoint, settings, pace).await;
    run.follow(first, settings.session.transcript_cap);
    run
}

/// One run of the dialogue: one connection (two after a failed STARTTLS handshake).
struct Run {
    status: Status,
    /// Why the connection failed, when it did.
    connect_error: Option<String>,
    talk: Box<Talked>,
    transcript: Vec<TranscriptLine>,
    transcript_truncated: bool,
    timing: Timing,
    pace: Pace,
}

impl Run {
    async fn go(endpoint: &Endpoint, settings: &ProbeSettings, pace: Pace) -> Run {
        let mut timing = Timing::default();
        let mut talk = Talk::new(settings, endpoint, pace);
        // 1. Connect.
        let connected = timed(
            &mut timing,
            Phase::Connect,
            Session::connect(endpoint.socket_addr(), &settings.session),
        )
        .await;
        let mut session = match connected {
            Ok(session) => session,
            Err(error) => {
                // The failed handshake was one wait for the network all the same.
                timing.round_trips = 1;
                return Run {
                    status: status_of(&error),
                    connect_error: Some(error.to_string()),
                    talk: talk.done,
                    transcript: Vec::new(),
                    transcript_truncated: false,
                    timing,
                    pace,
                };
            }
        };
        // 2.–6. The dialogue, up to the last reply of the relay tests.
        let ended = talk.converse(&mut session, &mut timing).await;
        // 7. Goodbye: QUIT, whose reply is checked like any other when the dialogue got
        //    this far; a polite one, unchecked, after a refusal or a protocol error;
        //    none when the line is already dead.
        let stop = match ended {
            Ok(()) => talk.goodbye(&mut session).await,
            Err(Halt::Done) => {
                session.quit().await;
                None
            }
            Err(Halt::Broke(stop)) => {
                if stop.status == Status::ProtocolError {
                    talk.say_goodbye(&mut session).await;
                }
                Some(stop)
            }
        };
        let mut talked = talk.done;
        let status = stop.as_ref().map_or(Status::Completed, |s| s.status);
        talked.dialogue.interruption = stop.map(Stop::into_interruption);
        timing.round_trips = session.round_trips();
        // What the run cost; a rerun adds its own (see `follow`).
        timing.pipelined = talked.dialogue.legs().any(|l| l.pipelined);
        let (transcript, transcript_truncated) = session.into_transcript().into_parts();
        Run {
            status,
            connect_error: None,
            talk: talked,
            transcript,
            transcript_truncated,
            timing,
            pace,
        }
    }

    /// The pace of a rerun, when this run at the standard pace calls for one: its replies
    /// fell out of step after the relay tests had begun (careful), or the server hung up
    /// on the tests' group after RCPTs it refused as out of sequence (one at a time).
    fn wants_rerun(&self) -> Option<Pace> {
        if self.pace != Pace::Standard || !self.talk.tests_began {
            return None;
        }
        if self.talk.dialogue.desynced() {
            return Some(Pace::Careful);
        }
        self.talk.hung_up_on_sequence.then_some(Pace::Unpipelined)
    }

    /// This run is the rerun of `first`: it records where the first fell out of step, and
    /// the transcript and the time of both runs.
    fn follow(&mut self, first: Run, transcript_cap: usize) {
        let why = first.talk.dialogue.interruption.clone();
        let note = match &why {
            Some(i) if i.desync => format!(
                "the replies fell out of step at {} ({}): probing again on a new connection, one command at a time",
                i.step, i.detail
            ),
            Some(i) => format!(
                "the server hung up on the pipelined tests at {} ({}) after refusing RCPTs sent after a refused sender: probing again on a new connection, one command at a time",
                i.step, i.detail
            ),
            None => "probing again on a new connection, one command at a time".to_string(),
        };
        self.talk.dialogue.rerun_after = why;
        let rerun = std::mem::take(&mut self.transcript);
        (self.transcript, self.transcript_truncated) = transcript::concat(
            (first.transcript, first.transcript_truncated),
            note,
            (rerun, self.transcript_truncated),
            transcript_cap,
        );
        self.timing.absorb(&first.timing);
    }

    fn audit_tls(&mut self, endpoint: &Endpoint, settings: &ProbeSettings, at: DateTime<Utc>) {
        let names = known_names(endpoint, &self.talk.dialogue);
        if let Some(report) = self.talk.tls.as_mut() {
            settings
                .tls
                .client
                .audit(report, &self.talk.chain, &names, at);
        }
    }

    fn into_outcome(
        self,
        endpoint: Endpoint,
        started_at: DateTime<Utc>,
        clock: Instant,
    ) -> Outcome {
        let Talked {
            dialogue,
            server_name,
            tls,
            ..
        } = *self.talk;
        let error = self.connect_error.or_else(|| {
            let i = dialogue.interruption.as_ref()?;
            Some(format!("{} at {}", i.detail, i.step))
        });
        let timing = self.timing;
        Outcome {
            endpoint,
            started_at,
            duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
            status: self.status,
            error,
            server_name,
            dialogue,
            transcript: self.transcript,
            transcript_truncated: self.transcript_truncated,
            tls,
            timing,
            blocklists: None,
        }
    }
}

/// What a run gathered as the dialogue went.
#[derive(Default)]
struct Talked {
    dialogue: Dialogue,
    server_name: Option<String>,
    tls: Option<TlsReport>,
    /// The certificates the server sent (DER, leaf first), audited once names are known.
    chain: Vec<Vec<u8>>,
    /// A relay test command went out: from here on, replies out of step call for a rerun.
    tests_began: bool,
    /// QUIT went out at the end of the relay tests' group: only the close is left.
    quit_sent: bool,
    /// The server hung up on the tests' group after the RCPT of a sender it refused.
    hung_up_on_sequence: bool,
}

/// Which leg a step works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    First,
    AfterStarttls,
}

/// The dialogue in progress: the settings it follows and what it gathered.
struct Talk<'a> {
    settings: &'a ProbeSettings,
    endpoint: &'a Endpoint,
    pace: Pace,
    /// Boxed: it is most of a run's state, and a probe's future holds it while it waits.
    done: Box<Talked>,
}

impl<'a> Talk<'a> {
    fn new(settings: &'a ProbeSettings, endpoint: &'a Endpoint, pace: Pace) -> Self {
        let mut done: Box<Talked> = Box::default();
        done.dialogue.depth = settings.depth;
        Talk {
            settings,
            endpoint,
            pace,
            done,
        }
    }

    /// Steps 2 to 6 on an open connection.
    async fn converse(&mut self, session: &mut Session, timing: &mut Timing) -> Flow {
        let implicit = self.settings.tls.is_implicit(self.endpoint.port);
        // 2. Implicit TLS (RFC 8314): the handshake comes before any word.
        if implicit {
            self.done.dialogue.first.channel = Channel::ImplicitTls;
            timed(timing, Phase::Tls, self.implicit_handshake(session)).await?;
        }
        // 3. The greeting: every 220- line up to the final 220 before we speak.
        timed(timing, Phase::Greeting, self.greeting(session)).await?;
        // 4. EHLO, or HELO when EHLO is refused.
        timed(timing, Phase::Ehlo, self.hello(session, Which::First)).await?;
        // 5. Inside implicit TLS the relay tests follow at once.
        if implicit {
            return self.relay_tests(session, timing, Which::First, true).await;
        }
        // 6. In plaintext: STARTTLS as --starttls says (EHLO again over TLS), and the
        //    relay tests where --relay-over says.
        self.plaintext_and_starttls(session, timing).await
    }

    /// Step 7, QUIT after a dialogue that ran to its end, checked like every other reply:
    /// nothing may be left unread before it, its reply must be a goodbye (or a refusal),
    /// and nothing may follow it. One command at a time in a rerun, replies in its place
    /// are weighed instead, and late ones join the last attempt's evidence.
    async fn goodbye(&mut self, session: &mut Session) -> Option<Stop> {
        let quit = Command::Quit;
        if self.done.quit_sent {
            // Answered, and checked, at the end of the tests' group.
            session.close(QUIT_WAIT).await;
            return None;
        }
        if self.pace == Pace::Careful {
            let late = flow::set_aside_late(session, "QUIT").unwrap_or_default();
            if let Some(last) = self.last_attempt_mut() {
                last.set_aside.extend(late);
            }
            let mut replies = vec![session.quit().await?];
            replies.extend(session.buffered_replies().unwrap_or_default());
            return match flow::weigh(&quit, replies) {
                Some(answer) => {
                    flow::note_set_aside(session, "QUIT", &answer);
                    None
                }
                None => Some(Stop::out_of_step(
                    "QUIT",
                    "no reply in the place of QUIT can answer it".into(),
                )),
            };
        }
        if let Some(stop) = flow::leftover(session, "QUIT", "the last reply") {
            session.quit().await;
            return Some(stop);
        }
        let reply = session.quit().await?;
        if !quit.may_answer(&reply) {
            return Some(flow::cannot_answer("QUIT", &quit, &reply));
        }
        flow::leftover(session, "QUIT", "the reply to QUIT")
    }

    /// A polite goodbye, unchecked, after a protocol error: QUIT unless the tests' group
    /// already ended with it.
    async fn say_goodbye(&self, session: &mut Session) {
        if self.done.quit_sent {
            session.close(QUIT_WAIT).await;
        } else {
            session.quit().await;
        }
    }

    /// The attempt that ran last (for evidence that arrives after it).
    fn last_attempt_mut(&mut self) -> Option<&mut RelayAttempt> {
        let d = &mut self.done.dialogue;
        let legs = std::iter::once(&mut d.first).chain(d.after_starttls.as_mut());
        legs.filter_map(|l| l.control.as_mut().or(l.attempts.last_mut()))
            .last()
    }

    fn leg(&self, which: Which) -> &Leg {
        match which {
            Which::AfterStarttls => self
                .done
                .dialogue
                .after_starttls
                .as_ref()
                .unwrap_or(&self.done.dialogue.first),
            Which::First => &self.done.dialogue.first,
        }
    }

    fn leg_mut(&mut self, which: Which) -> &mut Leg {
        let d = &mut self.done.dialogue;
        match which {
            Which::AfterStarttls => d
                .after_starttls
                .get_or_insert_with(|| Leg::new(Channel::Starttls)),
            Which::First => &mut d.first,
        }
    }

    /// One command outside the relay tests (EHLO, HELO, RSET before STARTTLS), its reply
    /// checked. One command at a time in a rerun, replies nobody asked for are set aside
    /// (noted in the transcript); replies that disagree about the command end the rerun.
    async fn ask(
        &self,
        session: &mut Session,
        cmd: &Command,
        step: &str,
    ) -> Flow<crate::smtp::Reply> {
        match self.pace {
            Pace::Standard | Pace::Unpipelined => Ok(flow::ask(session, cmd, step).await?),
            Pace::Careful => {
                let answer = flow::ask_careful(session, cmd, step).await?;
                flow::note_set_aside(session, step, &answer);
                if answer.ambiguous {
                    let mut all = vec![answer.reply];
                    all.extend(answer.extras);
                    return Err(Stop::out_of_step(
                        step,
                        format!("the replies in its place disagree: {}", flow::quote(&all)),
                    )
                    .into());
                }
                Ok(answer.reply)
            }
        }
    }
}

/// Every name we know for the server, for the certificate's name check: the target's
/// host name, the greeting's name, the EHLO name (the one over TLS when there was one).
fn known_names(endpoint: &Endpoint, d: &Dialogue) -> Vec<(String, NameSource)> {
    let ehlo = d
        .current_hello()
        .map(|h| &h.ehlo)
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

#[cfg(test)]
mod tests;
