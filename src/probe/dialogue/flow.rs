//! How a dialogue step ends (go on, end politely, break off), and the checked ways a command gets its reply, so that replies line up with commands.
//!
//! Every reply the probe keeps went through one of [`ask`], [`ask_careful`] or
//! [`ask_group`]: each checks that the reply can answer its command
//! ([`Command::may_answer`]) and that no reply is left over. A reply that cannot belong,
//! or one too many, is a *desync*: the dialogue stops as a protocol error, and no reply
//! of it counts as the answer to the command it came after.

use std::fmt::{self, Display};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::probe::model::{Interruption, Status};
use crate::probe::timing::{Phase, Timing};
use crate::smtp::{Command, Reply, ReplyError, Session, SessionError};

/// Why a dialogue step did not lead to the next one.
#[derive(Debug)]
pub(super) enum Halt {
    /// The dialogue ended politely where the server said so: a refusing greeting, EHLO
    /// and HELO refused. Nothing more can be tried, and nothing went wrong.
    Done,
    /// It broke off: how, and where.
    Broke(Stop),
}

/// The result of a dialogue step: `Ok` to go on, `Err` when the dialogue ends here.
pub(super) type Flow<T = ()> = Result<T, Halt>;

/// Where and how a dialogue broke off.
#[derive(Debug, Clone)]
pub(super) struct Stop {
    pub status: Status,
    pub step: String,
    pub detail: String,
    /// The replies fell out of step with the commands.
    pub desync: bool,
}

impl Stop {
    pub fn from_error(step: impl Display, error: &SessionError) -> Stop {
        // Bytes that came before their command was sent are replies out of step.
        if let SessionError::Protocol(ReplyError::Unsolicited { .. }) = error {
            return Stop::out_of_step(step, error.to_string());
        }
        Stop {
            status: status_of(error),
            step: step.to_string(),
            detail: error.to_string(),
            desync: false,
        }
    }

    /// The server said 421: it is closing the connection.
    pub fn closing(step: impl Display, reply: &Reply) -> Stop {
        Stop {
            status: Status::Dropped,
            step: step.to_string(),
            detail: format!("the server is closing the connection: {}", reply.summary()),
            desync: false,
        }
    }

    /// The replies and the commands fell out of step at `step`; `detail` quotes the lines.
    pub fn out_of_step(step: impl Display, detail: String) -> Stop {
        Stop {
            status: Status::ProtocolError,
            step: step.to_string(),
            detail: format!("replies out of step with our commands: {detail}"),
            desync: true,
        }
    }

    pub fn into_interruption(self) -> Interruption {
        Interruption {
            status: self.status,
            step: self.step,
            detail: self.detail,
            desync: self.desync,
        }
    }
}

impl From<Stop> for Halt {
    fn from(stop: Stop) -> Halt {
        Halt::Broke(stop)
    }
}

/// What the session error means for the probe's status: the one mapping.
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

/// How the commands of a dialogue go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pace {
    /// The relay tests as pipelined groups where the server offers PIPELINING and the
    /// settings allow it, else one command at a time; any reply out of step ends the
    /// dialogue.
    Standard,
    /// One command at a time, a rerun of a dialogue whose replies fell out of step: every
    /// reply that arrives in a command's place is weighed (see [`ask_careful`]).
    Careful,
    /// One command at a time, a rerun of a dialogue whose server hung up on the pipelined
    /// group after RCPTs it had to refuse as out of sequence (see `attempts::pipelined`):
    /// the replies lined up, so they are checked as at the standard pace.
    Unpipelined,
}

pin_project_lite::pin_project! {
    /// A step whose time goes to a phase of [`Timing`], however the step ends.
    pub(super) struct Timed<'a, F> {
        #[pin]
        step: F,
        timing: &'a mut Timing,
        phase: Phase,
        started: Option<Instant>,
    }
}

/// Runs `step` and adds its time to `phase`: one timer per phase. A future of its own
/// rather than an `async fn`, which would hold `step` twice (as its argument and as the
/// awaited future: rustc#62958) in every probe in flight.
pub(super) fn timed<F: Future>(timing: &mut Timing, phase: Phase, step: F) -> Timed<'_, F> {
    Timed {
        step,
        timing,
        phase,
        started: None,
    }
}

impl<F: Future> Future for Timed<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let started = *this.started.get_or_insert_with(Instant::now);
        let out = std::task::ready!(this.step.poll(cx));
        this.timing.add(*this.phase, started.elapsed());
        Poll::Ready(out)
    }
}

/// One command and its reply, which must be able to answer it. A 421 is returned like
/// any reply: the caller records it, then stops.
pub(super) async fn ask(
    session: &mut Session,
    cmd: &Command,
    step: &(impl Display + ?Sized),
) -> Result<Reply, Stop> {
    let reply = session
        .command(cmd)
        .await
        .map_err(|e| Stop::from_error(step, &e))?;
    if !cmd.may_answer(&reply) {
        return Err(cannot_answer(step, cmd, &reply));
    }
    Ok(reply)
}

pub(super) fn cannot_answer(step: &(impl Display + ?Sized), cmd: &Command, reply: &Reply) -> Stop {
    Stop::out_of_step(
        step,
        format!("\"{}\" cannot answer {}", reply.summary(), cmd.step_name()),
    )
}

/// Every reply that came in one command's place, one command at a time: the answer and
/// what came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Answer {
    /// The first reply that can answer the command.
    pub reply: Reply,
    /// The other replies in its place: nobody asked for them.
    pub extras: Vec<Reply>,
    /// The replies that can answer the command disagree (a 250 and a 554 to one RCPT):
    /// the command's outcome is unknown.
    pub ambiguous: bool,
    /// Complete replies that arrived after the previous command's answer and before this
    /// command was sent: they belong to the previous command's place.
    pub late: Vec<Reply>,
}

/// One command at a time, for a rerun after a desync: replies that arrived unasked since
/// the last answer are taken off first (they cannot answer a command not yet sent); after
/// the answer, every complete reply already there is weighed with it by [`weigh`].
pub(super) async fn ask_careful(
    session: &mut Session,
    cmd: &Command,
    step: &(impl Display + ?Sized),
) -> Result<Answer, Stop> {
    let late = late_replies(session, step)?;
    let first = session
        .command(cmd)
        .await
        .map_err(|e| Stop::from_error(step, &e))?;
    session.take_ready();
    let mut replies = vec![first];
    replies.extend(
        session
            .buffered_replies()
            .map_err(|e| Stop::from_error(step, &e))?,
    );
    let mut answer = weigh(cmd, replies).ok_or_else(|| {
        Stop::out_of_step(
            step,
            format!("no reply in the place of {} can answer it", cmd.step_name()),
        )
    })?;
    answer.late = late;
    Ok(answer)
}

/// The complete replies that came unasked since the last answer was read: they cannot
/// answer a command not yet sent.
fn late_replies(session: &mut Session, step: &(impl Display + ?Sized)) -> Result<Vec<Reply>, Stop> {
    session.take_ready();
    session
        .buffered_replies()
        .map_err(|e| Stop::from_error(step, &e))
}

/// Takes off, and notes, the replies that came unasked before `step`'s command is sent
/// (one command at a time, in a rerun).
pub(super) fn set_aside_late(
    session: &mut Session,
    step: &(impl Display + ?Sized),
) -> Result<Vec<Reply>, Stop> {
    let late = late_replies(session, step)?;
    if !late.is_empty() {
        session.note(format!(
            "set aside before {step}, nobody asked for them: {}",
            quote(&late)
        ));
    }
    Ok(late)
}

/// The answer among the replies in one command's place: the first that can answer it.
/// When those that can answer disagree in class (2xx, 4xx, 5xx), the answer stands but is
/// ambiguous. `None` when none can answer.
pub(super) fn weigh(cmd: &Command, replies: Vec<Reply>) -> Option<Answer> {
    let at = replies.iter().position(|r| cmd.may_answer(r))?;
    let class = replies.get(at)?.class();
    let ambiguous = replies
        .iter()
        .any(|r| cmd.may_answer(r) && r.class() != class);
    let mut extras = replies;
    let reply = extras.remove(at);
    Some(Answer {
        reply,
        extras,
        ambiguous,
        late: Vec::new(),
    })
}

/// How a pipelined group ended early: at which command, and why.
#[derive(Debug)]
pub(super) struct GroupStop {
    /// The index of the command whose reply was being read (or was the last).
    pub at: usize,
    pub stop: Stop,
}

/// A pipelined group (RFC 2920): the commands in one write, then exactly one reply per
/// command, in order, each able to answer its command, and nothing after the last.
/// Returns the replies read (also when the group broke off, for the record) and where it
/// broke off, if it did; `steps` names each command's step for the reasons.
///
/// QUIT may end the group (RFC 2920 §3.1): its reply is waited for as briefly as a lone
/// QUIT's ([`Session::read_goodbye`]), and a goodbye that never comes, or a 421 in its
/// place, ends nothing: the dialogue was over. A reply that cannot answer QUIT, or one
/// after it, is out of step like any other.
pub(super) async fn ask_group(
    session: &mut Session,
    cmds: &[Command],
    step_of: &(dyn Fn(usize) -> String + Sync),
) -> (Vec<Reply>, Option<GroupStop>) {
    let broke = |at: usize, stop: Stop| Some(GroupStop { at, stop });
    if let Err(e) = session.pipeline(cmds).await {
        return (Vec::new(), broke(0, Stop::from_error(step_of(0), &e)));
    }
    let mut replies = Vec::with_capacity(cmds.len());
    for (i, cmd) in cmds.iter().enumerate() {
        let quit = *cmd == Command::Quit;
        let reply = if quit {
            match session.read_goodbye().await {
                Some(reply) => reply,
                None => return (replies, None),
            }
        } else {
            match session.read_reply().await {
                Ok(reply) => reply,
                Err(e) => return (replies, broke(i, Stop::from_error(step_of(i), &e))),
            }
        };
        if !cmd.may_answer(&reply) {
            let stop = cannot_answer(&step_of(i), cmd, &reply);
            return (replies, broke(i, stop));
        }
        let closing = (reply.is_closing() && !quit).then(|| Stop::closing(step_of(i), &reply));
        replies.push(reply);
        if let Some(stop) = closing {
            return (replies, broke(i, stop));
        }
    }
    let last = cmds.len().saturating_sub(1);
    let after = GroupOf(cmds.len());
    let stop = leftover(session, &step_of(last), &after);
    (replies, stop.and_then(|stop| broke(last, stop)))
}

/// "the replies to a group of N commands", written only when a reason needs it.
struct GroupOf(usize);

impl Display for GroupOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the replies to a group of {} commands", self.0)
    }
}

/// Bytes the server sent beyond the replies we asked for (`after` says which): a reply
/// too many, so every pairing before it may be off by one. They go to the transcript.
pub(super) fn leftover(
    session: &mut Session,
    step: &(impl Display + ?Sized),
    after: &(impl Display + ?Sized),
) -> Option<Stop> {
    session.catch_up();
    let bytes = session.buffered_len();
    if bytes == 0 {
        return None;
    }
    let shown = session.buffered_text();
    let _ = session.refuse_unsolicited();
    Some(Stop::out_of_step(
        step,
        format!("{bytes} bytes nobody asked for arrived after {after}: {shown}"),
    ))
}

/// Notes in the transcript the replies a careful step set aside, so that a reader sees
/// which reply was taken as the answer and which were not.
pub(super) fn note_set_aside(
    session: &mut Session,
    step: &(impl Display + ?Sized),
    answer: &Answer,
) {
    if !answer.late.is_empty() {
        session.note(format!(
            "set aside before {step}, nobody asked for them: {}",
            quote(&answer.late)
        ));
    }
    if !answer.extras.is_empty() {
        session.note(format!(
            "answer to {step}: {}; also in its place, set aside: {}",
            answer.reply.summary(),
            quote(&answer.extras)
        ));
    }
}

/// The text of replies, quoted for a reason: "250 2.0.0 Ok | 554 5.7.1 Denied".
pub(super) fn quote(replies: &[Reply]) -> String {
    replies
        .iter()
        .map(Reply::summary)
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16, text: &str) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.into()],
        }
    }

    #[test]
    fn weighing_the_replies_in_one_place() {
        let rcpt = Command::RcptTo("<a@b.example>".into());
        let rset = Command::Rset;
        // (command, replies in its place, answer code, extras, ambiguous)
        type Row<'a> = (&'a Command, Vec<Reply>, Option<u16>, usize, bool);
        let table: Vec<Row<'_>> = vec![
            (&rcpt, vec![r(554, "denied")], Some(554), 0, false),
            // An extra 250 after a refusal: which one answered RCPT is unknown.
            (
                &rcpt,
                vec![r(554, "denied"), r(250, "stray")],
                Some(554),
                1,
                true,
            ),
            // A stray 250 before the refusal: the same doubt.
            (
                &rcpt,
                vec![r(250, "stray"), r(554, "denied")],
                Some(250),
                1,
                true,
            ),
            // Two that agree decide the same either way.
            (
                &rset,
                vec![r(250, "stray"), r(250, "Ok")],
                Some(250),
                1,
                false,
            ),
            // A reply that cannot answer RSET is set aside, not weighed.
            (
                &rset,
                vec![r(554, "late refusal"), r(250, "Ok")],
                Some(250),
                1,
                false,
            ),
            (
                &Command::Quit,
                vec![r(250, "stray"), r(221, "Bye")],
                Some(221),
                1,
                false,
            ),
            // Nothing that can answer: out of step.
            (&rset, vec![r(220, "hello again")], None, 0, false),
        ];
        for (cmd, replies, code, extras, ambiguous) in table {
            let shown = quote(&replies);
            let got = weigh(cmd, replies);
            assert_eq!(got.as_ref().map(|a| a.reply.code), code, "{cmd}: {shown}");
            if let Some(a) = got {
                assert_eq!(
                    (a.extras.len(), a.ambiguous),
                    (extras, ambiguous),
                    "{cmd}: {shown}"
                );
            }
        }
    }

    #[test]
    fn unsolicited_bytes_are_a_desync_and_other_errors_are_not() {
        let unsolicited = SessionError::Protocol(ReplyError::Unsolicited {
            bytes: 9,
            shown: "250 stray".into(),
        });
        let stop = Stop::from_error("test 1 RSET", &unsolicited);
        assert!(stop.desync && stop.status == Status::ProtocolError);
        let garbage = SessionError::Protocol(ReplyError::NotSmtp { line: "x".into() });
        assert!(!Stop::from_error("greeting", &garbage).desync);
        assert!(!Stop::from_error("EHLO", &SessionError::Closed).desync);
        let out = Stop::out_of_step("QUIT", "\"250 x\" cannot answer QUIT".into());
        let i = out.into_interruption();
        assert!(i.desync && i.detail.starts_with("replies out of step"));
    }
}
