//! The relay tests on one leg: the catalogue and the control recipient; sent as one pipelined group ending in QUIT, one command at a time, or (in a rerun) one command at a time with every reply weighed.
//!
//! Whatever the mode, an attempt reads the same: RSET, MAIL FROM, and RCPT TO (in the
//! record only after the MAIL was taken). Never DATA.

use super::flow::{self, Flow, Pace, Stop, ask_group, timed};
use super::{Talk, Which};
use std::fmt;

use crate::probe::model::{AttemptLabel, RelayAttempt, Status};
use crate::probe::relay::{Envelopes, control_recipient};
use crate::probe::timing::{Phase, Timing};
use crate::smtp::{Command, Reply, Session};

/// How the attempts of one leg go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One RFC 2920 group (see [`pipelined`]).
    Pipelined,
    /// One command at a time; any reply out of step ends the run.
    OneAtATime,
    /// One command at a time in a rerun: every reply in a command's place weighed.
    Careful,
}

impl Talk<'_> {
    /// The relay tests on the leg `which`, timed as the tests phase. `last`: nothing
    /// follows them on this connection, so a pipelined group may end in QUIT.
    pub(super) async fn relay_tests(
        &mut self,
        session: &mut Session,
        timing: &mut Timing,
        which: Which,
        last: bool,
    ) -> Flow {
        // A banner grab (--tests none) sends not one MAIL or RCPT.
        if !self.settings.depth.sends_tests() {
            return Ok(());
        }
        let offered = self.leg(which).capabilities.pipelining();
        let mode = match self.pace {
            Pace::Careful => Mode::Careful,
            Pace::Standard if self.settings.pipelining && offered => Mode::Pipelined,
            Pace::Standard | Pace::Unpipelined => Mode::OneAtATime,
        };
        self.leg_mut(which).pipelined = mode == Mode::Pipelined;
        self.done.tests_began = true;
        timed(
            timing,
            Phase::Tests,
            self.catalogue_and_control(session, which, mode, last),
        )
        .await
    }

    async fn catalogue_and_control(
        &mut self,
        session: &mut Session,
        which: Which,
        mode: Mode,
        last: bool,
    ) -> Flow {
        let settings = self.settings;
        let server_name = self.done.server_name.clone();
        let envelopes = Envelopes::new(
            &settings.identity,
            server_name.as_deref(),
            session.peer_addr().ip(),
        );
        let mut planned: Vec<RelayAttempt> = settings
            .depth
            .tests()
            .iter()
            .map(|t| {
                RelayAttempt::planned(
                    t.id,
                    envelopes.render(t.mail_from),
                    envelopes.render(t.rcpt_to),
                )
            })
            .collect();
        let control = settings.control.then(|| {
            RelayAttempt::planned(
                0,
                envelopes.render("<{FL}@{FD}>"),
                control_recipient(rand::random()),
            )
        });
        if mode == Mode::Pipelined && !planned.is_empty() {
            let piped = match pipelined(session, planned, control, last).await {
                Ok(piped) => piped,
                // An unsafe envelope: nothing went out, so the tests go one at a time,
                // and the offending one is refused there as it always was.
                Err(unsent) => return self.one_by_one(session, which, unsent).await,
            };
            self.done.quit_sent |= piped.quit_sent;
            self.done.hung_up_on_sequence |= piped.hung_up_on_sequence;
            let leg = self.leg_mut(which);
            leg.attempts = piped.attempts;
            leg.groups = piped.groups;
            // Sent with the tests, the control counts only where a test relayed: the
            // record reads as it would had it been sent after them, one at a time.
            if leg.relayed().next().is_some() {
                leg.control = piped.control;
            }
            return piped.stop.map_or(Ok(()), |stop| Err(stop.into()));
        }
        planned.extend(control);
        self.one_by_one(session, which, planned).await
    }

    /// The catalogue (and the control recipient, last in `planned` when there is one)
    /// one command at a time, or carefully in a rerun: the control only when a test
    /// relayed, after the tests.
    async fn one_by_one(
        &mut self,
        session: &mut Session,
        which: Which,
        mut planned: Vec<RelayAttempt>,
    ) -> Flow {
        let mode = match self.pace {
            Pace::Careful => Mode::Careful,
            Pace::Standard | Pace::Unpipelined => Mode::OneAtATime,
        };
        let control = planned.pop_if(|a| a.id == 0);
        let (attempts, stop) = run_attempts(session, planned, mode).await;
        let leg = self.leg_mut(which);
        leg.attempts = attempts;
        if let Some(stop) = stop {
            return Err(stop.into());
        }
        let Some(control) = control.filter(|_| leg.relayed().next().is_some()) else {
            return Ok(());
        };
        let (mut one, stop) = run_attempts(session, vec![control], mode).await;
        self.leg_mut(which).control = one.pop();
        match stop {
            Some(stop) => Err(stop.into()),
            None => Ok(()),
        }
    }
}

/// The attempts one command at a time (`mode` says how carefully); each is recorded even
/// when it breaks off, so the transcript and the table agree. The first stop ends the run.
async fn run_attempts(
    session: &mut Session,
    planned: Vec<RelayAttempt>,
    mode: Mode,
) -> (Vec<RelayAttempt>, Option<Stop>) {
    match mode {
        Mode::Careful => careful(session, planned).await,
        Mode::Pipelined | Mode::OneAtATime => one_at_a_time(session, planned).await,
    }
}

/// The three commands of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Rset,
    Mail,
    Rcpt,
}

impl Step {
    const ALL: [Step; 3] = [Step::Rset, Step::Mail, Step::Rcpt];

    fn command(self, a: &RelayAttempt) -> Command {
        match self {
            Step::Rset => Command::Rset,
            Step::Mail => Command::MailFrom(a.mail_from.clone()),
            Step::Rcpt => Command::RcptTo(a.rcpt_to.clone()),
        }
    }

    fn slot(self, a: &mut RelayAttempt) -> &mut Option<Reply> {
        match self {
            Step::Rset => &mut a.rset,
            Step::Mail => &mut a.mail,
            Step::Rcpt => &mut a.rcpt,
        }
    }

    /// "test 5 RCPT", "control MAIL": written out only when a reason or a note needs
    /// it, not once per command sent.
    fn name(self, a: &RelayAttempt) -> StepName {
        let verb = match self {
            Step::Rset => "RSET",
            Step::Mail => "MAIL",
            Step::Rcpt => "RCPT",
        };
        StepName {
            label: a.label(),
            verb,
        }
    }

    /// The last step of `a` that has a reply.
    fn last_answered(a: &RelayAttempt) -> Option<Step> {
        Step::ALL.into_iter().rev().find(|s| s.reply(a).is_some())
    }

    fn reply(self, a: &RelayAttempt) -> Option<&Reply> {
        match self {
            Step::Rset => a.rset.as_ref(),
            Step::Mail => a.mail.as_ref(),
            Step::Rcpt => a.rcpt.as_ref(),
        }
    }
}

/// The name of one step of one attempt.
#[derive(Debug, Clone, Copy)]
struct StepName {
    label: AttemptLabel,
    verb: &'static str,
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.label, self.verb)
    }
}

/// One command at a time, each reply checked; the dialogue stops at the first reply out
/// of step, and the reply read just before it is dropped from the record: a reply too
/// many is found only once the next command is due, so the one taken last may have been
/// the stray (a RCPT "accepted" by a 250 meant for nobody). A sender refused once is not
/// proposed again ([`reuse_refused_sender`]), as in [`pipelined`].
async fn one_at_a_time(
    session: &mut Session,
    planned: Vec<RelayAttempt>,
) -> (Vec<RelayAttempt>, Option<Stop>) {
    let mut done: Vec<RelayAttempt> = Vec::with_capacity(planned.len());
    for mut attempt in planned {
        if done.iter().any(|a| reuse_refused_sender(&mut attempt, a)) {
            done.push(attempt);
            continue;
        }
        let stop = exchange(session, &mut attempt).await;
        done.push(attempt);
        if let Some(stop) = stop {
            if stop.desync {
                // The last attempt sent is the one just pushed: attempts before it that
                // took an earlier answer were never sent.
                let last = done.len();
                distrust_last_reply(&mut done[last - 1..]);
            }
            return (done, Some(stop));
        }
    }
    (done, None)
}

/// Gives `attempt` the RSET and MAIL answers of `earlier` when `earlier` proposed the same
/// sender and the server refused it; true when it did. A server answers a sender the same
/// way each time, and one that counts protocol errors must not see a refused MAIL again
/// for every test that shares its sender: Exim (smtp_max_synprot_errors, 3 by default)
/// hangs up after the third `501 domain literals not allowed`, nine tests before the
/// catalogue's last, and the probe would end inconclusive.
fn reuse_refused_sender(attempt: &mut RelayAttempt, earlier: &RelayAttempt) -> bool {
    let refused = earlier.mail_from == attempt.mail_from
        && earlier.mail.as_ref().is_some_and(|m| !m.is_positive());
    if refused {
        attempt.rset.clone_from(&earlier.rset);
        attempt.mail.clone_from(&earlier.mail);
    }
    refused
}

/// RSET, MAIL FROM, RCPT TO (RCPT only after MAIL 2xx), one command at a time.
async fn exchange(session: &mut Session, attempt: &mut RelayAttempt) -> Option<Stop> {
    for step in Step::ALL {
        let name = step.name(attempt);
        let reply = match flow::ask(session, &step.command(attempt), &name).await {
            Ok(reply) => reply,
            Err(stop) => return Some(stop),
        };
        let closing = reply.is_closing().then(|| Stop::closing(name, &reply));
        let refused_sender = step == Step::Mail && !reply.is_positive();
        *step.slot(attempt) = Some(reply);
        if closing.is_some() {
            return closing;
        }
        // No RCPT after a refused MAIL: there is no transaction to add it to.
        if refused_sender {
            break;
        }
    }
    None
}

/// Drops the last reply recorded in `done`.
fn distrust_last_reply(done: &mut [RelayAttempt]) {
    let Some(attempt) = done
        .iter_mut()
        .rev()
        .find(|a| Step::last_answered(a).is_some())
    else {
        return;
    };
    if let Some(step) = Step::last_answered(attempt) {
        *step.slot(attempt) = None;
    }
}

/// The most commands one pipelined group carries. The whole catalogue with the control
/// recipient and QUIT is 16 × 3 + 3 + 1 = 52 commands, about 2.3 KB on the wire, whose
/// replies (14 to 60 bytes each: "250 2.1.0 Ok" to Postfix's "554 5.7.1 <relaytest%D@S>:
/// Relay access denied") stay under 4 KiB, the smallest socket buffer Linux gives either
/// side (tcp_rmem/tcp_wmem minimum 4096) and the stream buffer Postfix and the lab read
/// a group into. So neither side can fill its buffer while the other is still writing
/// (the deadlock of RFC 2920 §3.1), and one group suffices. A catalogue grown beyond 64
/// commands is split into groups of at most 64, each costing a round trip.
const MAX_GROUP: usize = 64;

/// One command of a group: a step of an attempt (by index), or QUIT at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Step(usize, Step),
    Quit,
}

/// What the pipelined tests of one leg came to.
struct Piped {
    /// The catalogue's attempts, up to the one the groups broke off at.
    attempts: Vec<RelayAttempt>,
    /// The control recipient as sent, when it was and the groups got that far.
    control: Option<RelayAttempt>,
    /// How many groups went out.
    groups: u32,
    /// QUIT ended the last group: the dialogue is over.
    quit_sent: bool,
    /// The server hung up on a group in which it had refused a sender and then got that
    /// test's RCPT (see [`pipelined`]).
    hung_up_on_sequence: bool,
    stop: Option<Stop>,
}

/// The whole catalogue and the control recipient as one RFC 2920 group (RSET, MAIL and
/// RCPT may appear anywhere in a group; DATA is never sent), ending in QUIT when
/// `last`: connect, greeting, EHLO and this group are the probe's four round trips.
/// Every attempt is RSET + MAIL FROM + RCPT TO, so each test's MAIL stands alone. A
/// RCPT after a refused MAIL gets a 503 (bad sequence): that reply stays in the
/// transcript only, and the attempt reads "sender refused" as it would one command at a
/// time. Each group must get exactly one fitting reply per command and nothing more
/// ([`ask_group`]); a group whose replies fell out of step gives nothing to the record; a
/// 421 ends the dialogue there. `Err` gives the attempts (the control last) back
/// untouched when an envelope is unsafe to send.
///
/// A server that counts protocol errors and hangs up (Exim's smtp_max_synprot_errors, 3
/// by default, counts each "503 sender not yet given": the Exim test bed's, refusing
/// domain-literal senders, hung up at test 7 of 16) may end a group where one command at
/// a time, which proposes a refused sender only once, it would not. Such a group says so
/// (`hung_up_on_sequence`), and the probe is run again one command at a time.
async fn pipelined(
    session: &mut Session,
    mut planned: Vec<RelayAttempt>,
    control: Option<RelayAttempt>,
    last: bool,
) -> Result<Piped, Vec<RelayAttempt>> {
    let tests = planned.len();
    planned.extend(control);
    if planned
        .iter()
        .any(|a| Command::check_envelope(&a.mail_from, &a.rcpt_to).is_err())
    {
        return Err(planned);
    }
    let slots = group_slots(planned.len(), last);
    let mut groups = 0u32;
    let mut stop = None;
    let mut hung_up_on_sequence = false;
    for (g, group) in slots.chunks(MAX_GROUP).enumerate() {
        groups += 1;
        if let Some((at, why)) = send_group(session, &mut planned, group).await {
            // Every command up to the one the server hung up at, this group's and before.
            let reached = slots.get(..=g * MAX_GROUP + at).unwrap_or_default();
            hung_up_on_sequence =
                why.status == Status::Dropped && bad_sequence_sent(&planned, reached);
            planned.truncate(attempt_at(&planned, group, at) + 1);
            stop = Some(why);
            break;
        }
    }
    let control = if planned.len() > tests {
        planned.pop()
    } else {
        None
    };
    Ok(Piped {
        attempts: planned,
        control,
        groups,
        quit_sent: last,
        hung_up_on_sequence,
        stop,
    })
}

/// The server refused the attempt's MAIL, so in a group its RCPT got a bad-sequence reply.
fn sender_refused(a: &RelayAttempt) -> bool {
    a.mail.as_ref().is_some_and(|m| !m.is_positive())
}

/// Among the commands `reached`, a RCPT went out after its MAIL was refused.
fn bad_sequence_sent(planned: &[RelayAttempt], reached: &[Slot]) -> bool {
    reached.iter().any(|slot| match *slot {
        Slot::Step(i, Step::Rcpt) => planned.get(i).is_some_and(sender_refused),
        _ => false,
    })
}

/// The attempt of the command at `at` in `group` (the last one for QUIT).
fn attempt_at(planned: &[RelayAttempt], group: &[Slot], at: usize) -> usize {
    match group.get(at) {
        Some(&Slot::Step(i, _)) => i,
        Some(Slot::Quit) | None => planned.len().saturating_sub(1),
    }
}

/// The commands of `attempts` attempts in order, RSET, MAIL, RCPT each, and QUIT after
/// them when `quit`.
fn group_slots(attempts: usize, quit: bool) -> Vec<Slot> {
    (0..attempts)
        .flat_map(|i| Step::ALL.map(|s| Slot::Step(i, s)))
        .chain(quit.then_some(Slot::Quit))
        .collect()
}

/// Sends the commands of `slots` as one group and records each reply in its slot. When
/// the group broke off: the index in `slots` of the command it broke off at, and why; a
/// group whose replies fell out of step records none of them.
async fn send_group(
    session: &mut Session,
    planned: &mut [RelayAttempt],
    slots: &[Slot],
) -> Option<(usize, Stop)> {
    let cmds: Vec<Command> = slots
        .iter()
        .filter_map(|slot| match *slot {
            Slot::Step(i, step) => planned.get(i).map(|a| step.command(a)),
            Slot::Quit => Some(Command::Quit),
        })
        .collect();
    let names = |at: usize| match slots.get(at) {
        Some(&Slot::Step(i, step)) => planned
            .get(i)
            .map(|a| step.name(a).to_string())
            .unwrap_or_default(),
        Some(Slot::Quit) => "QUIT".to_string(),
        None => String::new(),
    };
    let (replies, stopped) = ask_group(session, &cmds, &names).await;
    let desync = stopped.as_ref().is_some_and(|s| s.stop.desync);
    if !desync {
        for (slot, reply) in slots.iter().zip(replies) {
            let Slot::Step(i, step) = *slot else {
                continue;
            };
            let Some(a) = planned.get_mut(i) else {
                continue;
            };
            // The reply to a RCPT whose MAIL was refused (a 503, as a rule) stays in the
            // transcript only: one command at a time it would never have been sent, and
            // the attempt must read the same either way.
            if step == Step::Rcpt && sender_refused(a) {
                continue;
            }
            *step.slot(a) = Some(reply);
        }
    }
    let stopped = stopped?;
    Some((stopped.at, stopped.stop))
}

/// One command at a time in a rerun: every reply in a command's place is weighed with
/// it ([`flow::weigh`]); replies nobody asked for are set aside, and an attempt whose
/// replies disagree (a 250 and a 554 in one RCPT's place) is sent once more on the same
/// connection. A stray that came once (a proxy's extra line) does not come again; a
/// server that answers twice every time leaves the attempt ambiguous, and an ambiguous
/// attempt never counts as relayed.
async fn careful(
    session: &mut Session,
    planned: Vec<RelayAttempt>,
) -> (Vec<RelayAttempt>, Option<Stop>) {
    let mut done: Vec<RelayAttempt> = Vec::with_capacity(planned.len());
    for mut attempt in planned {
        loop {
            let stop = careful_exchange(session, &mut attempt, done.last_mut()).await;
            if let Some(stop) = stop {
                done.push(attempt);
                return (done, Some(stop));
            }
            if !attempt.ambiguous || attempt.retried {
                break;
            }
            start_over(&mut attempt);
        }
        done.push(attempt);
    }
    (done, None)
}

/// The first try's replies go to the evidence; the attempt is sent again.
fn start_over(a: &mut RelayAttempt) {
    let first_try = [a.rset.take(), a.mail.take(), a.rcpt.take()];
    a.set_aside.extend(first_try.into_iter().flatten());
    a.ambiguous = false;
    a.retried = true;
}

async fn careful_exchange(
    session: &mut Session,
    attempt: &mut RelayAttempt,
    mut previous: Option<&mut RelayAttempt>,
) -> Option<Stop> {
    for step in Step::ALL {
        let name = step.name(attempt);
        let answer = match flow::ask_careful(session, &step.command(attempt), &name).await {
            Ok(answer) => answer,
            Err(stop) => return Some(stop),
        };
        flow::note_set_aside(session, &name, &answer);
        // Replies that came after the last answer, before this command: they belong to
        // the place of the command before, this attempt's or the previous attempt's.
        if !answer.late.is_empty() {
            match (step, previous.as_deref_mut()) {
                (Step::Rset, Some(prev)) => weigh_late(prev, answer.late),
                (Step::Rset, None) => attempt.set_aside.extend(answer.late),
                _ => weigh_late(attempt, answer.late),
            }
        }
        let closing = answer
            .reply
            .is_closing()
            .then(|| Stop::closing(name, &answer.reply));
        let refused_sender = step == Step::Mail && !answer.reply.is_positive();
        attempt.set_aside.extend(answer.extras);
        attempt.ambiguous |= answer.ambiguous;
        *step.slot(attempt) = Some(answer.reply);
        if closing.is_some() {
            return closing;
        }
        if refused_sender {
            break;
        }
    }
    None
}

/// Late replies weighed against the last answer of `owner`: one that could answer the
/// same command but disagrees in class makes the attempt ambiguous.
fn weigh_late(owner: &mut RelayAttempt, late: Vec<Reply>) {
    if let Some(step) = Step::last_answered(owner) {
        let cmd = step.command(owner);
        let class = step.reply(owner).map(Reply::class);
        if late
            .iter()
            .any(|r| cmd.may_answer(r) && Some(r.class()) != class)
        {
            owner.ambiguous = true;
        }
    }
    owner.set_aside.extend(late);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec!["x".into()],
        }
    }

    fn attempt(rset: Option<u16>, mail: Option<u16>, rcpt: Option<u16>) -> RelayAttempt {
        let mut a = RelayAttempt::planned(2, "<a@b.example>".into(), "<c@d.example>".into());
        (a.rset, a.mail, a.rcpt) = (rset.map(r), mail.map(r), rcpt.map(r));
        a
    }

    #[test]
    fn the_whole_catalogue_with_control_and_quit_is_one_group() {
        let slots = group_slots(16 + 1, true);
        assert_eq!(slots.len(), 52);
        assert_eq!(slots.chunks(MAX_GROUP).count(), 1);
        assert_eq!(
            &slots[..4],
            &[
                Slot::Step(0, Step::Rset),
                Slot::Step(0, Step::Mail),
                Slot::Step(0, Step::Rcpt),
                Slot::Step(1, Step::Rset)
            ]
        );
        assert_eq!(slots.last(), Some(&Slot::Quit));
        // STARTTLS follows the plaintext tests: no QUIT in their group.
        assert!(!group_slots(16, false).contains(&Slot::Quit));
        // A catalogue grown past the cap goes out in groups of at most MAX_GROUP.
        let grown = group_slots(30, true);
        let sizes: Vec<usize> = grown.chunks(MAX_GROUP).map(<[Slot]>::len).collect();
        assert_eq!(sizes, vec![64, 27]);
    }

    #[test]
    fn the_last_reply_before_a_desync_is_dropped() {
        let mut done = vec![
            attempt(Some(250), Some(250), Some(250)),
            attempt(None, None, None),
        ];
        distrust_last_reply(&mut done);
        assert_eq!(
            done[0].rcpt, None,
            "a RCPT 250 that may have been the stray"
        );
        assert!(done[0].mail.is_some());
        let mut refused = vec![attempt(Some(250), Some(550), None)];
        distrust_last_reply(&mut refused);
        assert_eq!(refused[0].mail, None);
    }

    #[test]
    fn a_refused_sender_is_not_proposed_again() {
        let refused = attempt(Some(250), Some(501), None);
        let taken = attempt(Some(250), Some(250), Some(554));
        let mut same = attempt(None, None, None);
        assert!(!reuse_refused_sender(&mut same, &taken));
        assert_eq!(
            same.mail, None,
            "a sender taken is asked again with its test"
        );
        assert!(reuse_refused_sender(&mut same, &refused));
        assert_eq!(
            (same.rset, same.mail, same.rcpt),
            (Some(r(250)), Some(r(501)), None)
        );
        let mut other = RelayAttempt::planned(3, "<e@f.example>".into(), "<c@d.example>".into());
        assert!(
            !reuse_refused_sender(&mut other, &refused),
            "another sender"
        );
        assert_eq!(other.mail, None);
    }

    #[test]
    fn late_replies_that_disagree_make_the_attempt_ambiguous() {
        let mut a = attempt(Some(250), Some(250), Some(250));
        weigh_late(&mut a, vec![r(250)]);
        assert!(!a.ambiguous, "agrees with the RCPT's 250");
        weigh_late(&mut a, vec![r(554)]);
        assert!(a.ambiguous && !a.relayed());
        assert_eq!(a.set_aside.len(), 2);
    }

    #[test]
    fn a_retry_keeps_the_first_try_as_evidence() {
        let mut a = attempt(Some(250), Some(250), Some(250));
        a.ambiguous = true;
        start_over(&mut a);
        assert!(a.retried && !a.ambiguous);
        assert_eq!(
            (a.rset.clone(), a.mail.clone(), a.rcpt.clone()),
            (None, None, None)
        );
        assert_eq!(a.set_aside.len(), 3);
    }
}
