//! The relay tests on one leg: the catalogue, then the control recipient when a test relayed; sent as pipelined groups, one command at a time, or (in a rerun) one command at a time with every reply weighed.
//!
//! Whatever the mode, an attempt reads the same: RSET, MAIL FROM, and RCPT TO only after
//! the MAIL was taken. Never DATA.

use super::flow::{self, Flow, Pace, Stop, ask_group, timed};
use super::{Talk, Which};
use std::fmt;

use crate::probe::model::{AttemptLabel, RelayAttempt};
use crate::probe::relay::{Envelopes, control_recipient};
use crate::probe::timing::{Phase, Timing};
use crate::smtp::{Command, Reply, Session};

/// How the attempts of one leg go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Two RFC 2920 groups (see [`pipelined`]).
    Pipelined,
    /// One command at a time; any reply out of step ends the run.
    OneAtATime,
    /// One command at a time in a rerun: every reply in a command's place weighed.
    Careful,
}

impl Talk<'_> {
    /// The relay tests on the leg `which`, timed as the tests phase.
    pub(super) async fn relay_tests(
        &mut self,
        session: &mut Session,
        timing: &mut Timing,
        which: Which,
    ) -> Flow {
        // A banner grab (--tests none) sends not one MAIL or RCPT.
        if !self.settings.depth.sends_tests() {
            return Ok(());
        }
        let offered = self.leg(which).capabilities.pipelining();
        let mode = match self.pace {
            Pace::Careful => Mode::Careful,
            Pace::Standard if self.settings.pipelining && offered => Mode::Pipelined,
            Pace::Standard => Mode::OneAtATime,
        };
        self.leg_mut(which).pipelined = mode == Mode::Pipelined;
        self.done.tests_began = true;
        timed(
            timing,
            Phase::Tests,
            self.catalogue_and_control(session, which, mode),
        )
        .await
    }

    async fn catalogue_and_control(
        &mut self,
        session: &mut Session,
        which: Which,
        mode: Mode,
    ) -> Flow {
        let settings = self.settings;
        let server_name = self.done.server_name.clone();
        let envelopes = Envelopes::new(
            &settings.identity,
            server_name.as_deref(),
            session.peer_addr().ip(),
        );
        let planned = settings
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
        let (attempts, stop) = run_attempts(session, planned, mode).await;
        let leg = self.leg_mut(which);
        leg.attempts = attempts;
        if let Some(stop) = stop {
            return Err(stop.into());
        }
        if !settings.control || leg.relayed().next().is_none() {
            return Ok(());
        }
        let control = RelayAttempt::planned(
            0,
            envelopes.render("<{FL}@{FD}>"),
            control_recipient(rand::random()),
        );
        let (mut one, stop) = run_attempts(session, vec![control], mode).await;
        self.leg_mut(which).control = one.pop();
        match stop {
            Some(stop) => Err(stop.into()),
            None => Ok(()),
        }
    }
}

/// The attempts in `mode`; each is recorded even when it breaks off, so the transcript
/// and the table agree. The first stop ends the run.
async fn run_attempts(
    session: &mut Session,
    planned: Vec<RelayAttempt>,
    mode: Mode,
) -> (Vec<RelayAttempt>, Option<Stop>) {
    match mode {
        Mode::Pipelined if !planned.is_empty() => match pipelined(session, planned).await {
            Ok(done) => done,
            // An unsafe envelope: nothing went out, so the tests go one at a time, and the
            // offending one is refused there as it always was.
            Err(planned) => one_at_a_time(session, planned).await,
        },
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

/// Two pipelined groups (RFC 2920 lets RSET, MAIL and RCPT appear anywhere in a group;
/// DATA is never sent): first RSET + MAIL FROM once per distinct sender, to learn which
/// senders the server takes; then RSET + MAIL FROM + RCPT TO of the attempts whose sender
/// it took. So no RCPT ever follows a refused MAIL: a server counting protocol errors
/// (Exim's smtp_max_synprot_errors, Postfix's hard error limit) sees what it would see one
/// command at a time, and the records read the same. Each group must get exactly one
/// fitting reply per command and nothing more ([`ask_group`]); a group whose replies fell
/// out of step gives nothing to the record. `Err` gives the attempts back untouched when
/// an envelope is unsafe to send.
async fn pipelined(
    session: &mut Session,
    mut planned: Vec<RelayAttempt>,
) -> Result<(Vec<RelayAttempt>, Option<Stop>), Vec<RelayAttempt>> {
    if planned
        .iter()
        .any(|a| Command::check_envelope(&a.mail_from, &a.rcpt_to).is_err())
    {
        return Err(planned);
    }
    // Group one asks once per distinct sender (the catalogue has four), in first-seen order.
    let mut firsts: Vec<usize> = Vec::new();
    for (i, a) in planned.iter().enumerate() {
        if !firsts
            .iter()
            .any(|&f| planned.get(f).is_some_and(|b| b.mail_from == a.mail_from))
        {
            firsts.push(i);
        }
    }
    let senders: Vec<(usize, Step)> = firsts
        .iter()
        .flat_map(|&i| [(i, Step::Rset), (i, Step::Mail)])
        .collect();
    if let Some((at, stop)) = send_group(session, &mut planned, &senders).await {
        planned.truncate(at + 1);
        return Ok((planned, Some(stop)));
    }
    // Every attempt takes its sender's answer; a refused one is complete, as it would be
    // one command at a time (the server answers a sender the same way each time).
    let answers: Vec<(String, Option<Reply>, Option<Reply>)> = firsts
        .iter()
        .filter_map(|&i| planned.get(i))
        .map(|a| (a.mail_from.clone(), a.rset.clone(), a.mail.clone()))
        .collect();
    let mut accepted = Vec::new();
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
    if accepted.is_empty() {
        return Ok((planned, None));
    }
    // Group two: the whole transaction of each attempt whose sender was taken. Its
    // replies replace group one's.
    let transactions: Vec<(usize, Step)> = accepted
        .iter()
        .flat_map(|&i| Step::ALL.map(|s| (i, s)))
        .collect();
    if let Some((at, stop)) = send_group(session, &mut planned, &transactions).await {
        planned.truncate(at + 1);
        return Ok((planned, Some(stop)));
    }
    Ok((planned, None))
}

/// Sends the commands of `slots` (attempt index, step) as one group and records each
/// reply in its slot. When the group broke off: the index of the attempt it broke off at,
/// and why; a group whose replies fell out of step records none of them.
async fn send_group(
    session: &mut Session,
    planned: &mut [RelayAttempt],
    slots: &[(usize, Step)],
) -> Option<(usize, Stop)> {
    let cmds: Vec<Command> = slots
        .iter()
        .filter_map(|&(i, step)| planned.get(i).map(|a| step.command(a)))
        .collect();
    let names = |at: usize| {
        slots
            .get(at)
            .and_then(|&(i, step)| planned.get(i).map(|a| step.name(a).to_string()))
            .unwrap_or_default()
    };
    let (replies, stopped) = ask_group(session, &cmds, &names).await;
    let desync = stopped.as_ref().is_some_and(|s| s.stop.desync);
    if !desync {
        for (&(i, step), reply) in slots.iter().zip(replies) {
            let Some(a) = planned.get_mut(i) else {
                continue;
            };
            // The reply to a RCPT whose MAIL this group refused (a 503, as a rule) stays in
            // the transcript only: one command at a time it would never have been sent,
            // and the attempt must read the same either way.
            if step == Step::Rcpt && a.mail.as_ref().is_some_and(|m| !m.is_positive()) {
                continue;
            }
            *step.slot(a) = Some(reply);
        }
    }
    let stopped = stopped?;
    let at = slots.get(stopped.at).map_or(0, |&(i, _)| i);
    Some((at, stopped.stop))
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
