//! The opening of a leg: the greeting (waited for in full), then EHLO, or HELO when EHLO is refused.

use super::flow::{Flow, Halt, Stop};
use super::{Talk, Which};
use crate::probe::model::Hello;
use crate::smtp::capabilities::announced_name;
use crate::smtp::{Capabilities, Command, Session};

impl Talk<'_> {
    /// Waits for the whole greeting (every 220- line up to the final 220) before speaking:
    /// postscreen and greet_pause punish clients that talk early. A 421/554 greeting is
    /// recorded and ends the dialogue politely.
    pub(super) async fn greeting(&mut self, session: &mut Session) -> Flow {
        let greeting = session
            .read_reply()
            .await
            .map_err(|e| Stop::from_error("greeting", &e))?;
        let greeted = greeting.is_positive();
        self.done.server_name = announced_name(&greeting);
        self.done.dialogue.greeting = Some(greeting);
        if greeted { Ok(()) } else { Err(Halt::Done) }
    }

    /// EHLO, or HELO when EHLO is refused (RFC 5321 §4.1.4), recorded on the leg `which`.
    /// Ends the dialogue politely when both are refused: nothing more can be tried.
    pub(super) async fn hello(&mut self, session: &mut Session, which: Which) -> Flow {
        let name = &self.settings.helo_name;
        let ehlo = self
            .ask(session, &Command::Ehlo(name.clone()), "EHLO")
            .await?;
        if ehlo.is_positive() {
            if self.done.server_name.is_none() {
                self.done.server_name = announced_name(&ehlo);
            }
            let leg = self.leg_mut(which);
            leg.capabilities = Capabilities::from_ehlo(&ehlo);
            leg.hello = Some(Hello { ehlo, helo: None });
            return Ok(());
        }
        let closing = ehlo.is_closing().then(|| Stop::closing("EHLO", &ehlo));
        self.leg_mut(which).hello = Some(Hello { ehlo, helo: None });
        if let Some(stop) = closing {
            return Err(stop.into());
        }
        let helo = self
            .ask(session, &Command::Helo(name.clone()), "HELO")
            .await?;
        let accepted = helo.is_positive();
        let closing = helo.is_closing().then(|| Stop::closing("HELO", &helo));
        if let Some(hello) = self.leg_mut(which).hello.as_mut() {
            hello.helo = Some(helo);
        }
        match closing {
            Some(stop) => Err(stop.into()),
            None if accepted => Ok(()),
            None => Err(Halt::Done),
        }
    }

    /// The greeting and EHLO (or HELO) once more on a new connection, kept in the
    /// transcript only: the dialogue already has the first ones.
    pub(super) async fn hello_again(&mut self, session: &mut Session) -> Flow {
        let again = session
            .read_reply()
            .await
            .map_err(|e| Stop::from_error("greeting after reconnecting", &e))?;
        if !again.is_positive() {
            return Err(Halt::Done);
        }
        let name = &self.settings.helo_name;
        let ehlo = self
            .ask(session, &Command::Ehlo(name.clone()), "EHLO")
            .await?;
        if ehlo.is_positive() {
            return Ok(());
        }
        if ehlo.is_closing() {
            return Err(Stop::closing("EHLO", &ehlo).into());
        }
        let helo = self
            .ask(session, &Command::Helo(name.clone()), "HELO")
            .await?;
        match helo {
            h if h.is_closing() => Err(Stop::closing("HELO", &h).into()),
            h if h.is_positive() => Ok(()),
            _ => Err(Halt::Done),
        }
    }
}
