//! The lab (crate relayscan-lab) as the scanner sees it: what each lab server is designed to make a scan report, in the scanner's own types.
//!
//! The lab cannot name [`Verdict`], [`Status`] or [`MailRoute`]: it must not depend on the
//! scanner, whose binary runs it. It writes small mirrors of them instead. Each mirror
//! maps here onto the scanner's type with an exhaustive match, so a variant the lab adds
//! does not compile until it is mapped, and the tests below check that every name the
//! lab prints parses as the scanner's own.

use relayscan_lab::hostile::Misbehaviour;
use relayscan_lab::{DesignedRoute, DesignedStatus, DesignedVerdict, Persona};

use crate::assess::Verdict;
use crate::dns::MailRoute;
use crate::probe::Status;

/// The scanner's verdict for the lab's designed one.
pub fn verdict(v: DesignedVerdict) -> Verdict {
    match v {
        DesignedVerdict::OpenRelay => Verdict::OpenRelay,
        DesignedVerdict::RelayDenied => Verdict::RelayDenied,
        DesignedVerdict::AuthRequired => Verdict::AuthRequired,
        DesignedVerdict::Inconclusive => Verdict::Inconclusive,
        DesignedVerdict::NotSmtp => Verdict::NotSmtp,
    }
}

/// The scanner's status for the lab's designed one.
pub fn status(s: DesignedStatus) -> Status {
    match s {
        DesignedStatus::Completed => Status::Completed,
        DesignedStatus::IoTimeout => Status::IoTimeout,
        DesignedStatus::HostTimeout => Status::HostTimeout,
        DesignedStatus::Dropped => Status::Dropped,
        DesignedStatus::ProtocolError => Status::ProtocolError,
    }
}

/// The scanner's mail route for the lab's designed one.
pub fn route(r: DesignedRoute) -> MailRoute {
    match r {
        DesignedRoute::Mx => MailRoute::Mx,
        DesignedRoute::ImplicitMx => MailRoute::ImplicitMx,
        DesignedRoute::NullMx => MailRoute::NullMx,
        DesignedRoute::NoMailHosts => MailRoute::NoMailHosts,
        DesignedRoute::Nxdomain => MailRoute::Nxdomain,
        DesignedRoute::NoRecords => MailRoute::NoRecords,
        DesignedRoute::Servfail => MailRoute::Servfail,
        DesignedRoute::Timeout => MailRoute::Timeout,
    }
}

/// A persona's designed verdict as the scanner's [`Verdict`].
pub trait PersonaExpectation {
    fn expected_verdict(self) -> Verdict;
}

impl PersonaExpectation for Persona {
    fn expected_verdict(self) -> Verdict {
        verdict(self.designed_verdict())
    }
}

/// What a correct scan records for a misbehaving host, in the scanner's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub status: Status,
    pub verdict: Verdict,
    /// A piece of the record's `reason` that names the trouble precisely.
    pub reason: &'static str,
}

/// A misbehaving host's designed outcome as an [`Expected`] record.
pub trait MisbehaviourExpectation {
    fn expected(self) -> Expected;
}

impl MisbehaviourExpectation for Misbehaviour {
    fn expected(self) -> Expected {
        let designed = self.designed();
        Expected {
            status: status(designed.status),
            verdict: verdict(designed.verdict),
            reason: designed.reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{ReplyLimits, parse_reply};
    use serde::de::DeserializeOwned;

    /// `name` read the way reports are read back (serde, kebab-case).
    fn parse<T: DeserializeOwned>(name: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::from(name)).ok()
    }

    #[test]
    fn every_designed_name_parses_as_the_scanners_own() {
        for &v in DesignedVerdict::ALL {
            assert_eq!(parse::<Verdict>(v.as_str()), Some(verdict(v)), "{v}");
            assert_eq!(verdict(v).as_str(), v.as_str());
        }
        for &s in DesignedStatus::ALL {
            assert_eq!(parse::<Status>(s.as_str()), Some(status(s)), "{s}");
            assert_eq!(status(s).as_str(), s.as_str());
        }
        for &r in DesignedRoute::ALL {
            assert_eq!(parse::<MailRoute>(r.as_str()), Some(route(r)), "{r}");
            assert_eq!(route(r).as_str(), r.as_str());
        }
        // Every verdict a full scan can reach is one some persona is designed to get;
        // not-tested is the verdict of every SMTP persona under --tests none.
        for v in Verdict::ALL
            .into_iter()
            .filter(|v| *v != Verdict::NotTested)
        {
            assert!(
                Persona::ALL.iter().any(|p| p.expected_verdict() == v),
                "no persona is designed to be {v}"
            );
        }
    }

    #[test]
    fn hostile_greetings_break_the_parser_as_designed() {
        let limits = ReplyLimits::default();
        let table = [
            (Misbehaviour::HugeLine, "longer than 4096 bytes"),
            (Misbehaviour::BinaryGarbage, "not an SMTP reply line"),
        ];
        for (m, error) in table {
            let e = parse_reply(&m.greeting(), &limits).expect_err(m.name());
            assert!(e.to_string().contains(error), "{m:?}: {e}");
        }
        // The invalid UTF-8 greeting is a valid reply, decoded lossily.
        let (reply, _) = parse_reply(&Misbehaviour::InvalidUtf8.greeting(), &limits)
            .expect("parses")
            .expect("complete");
        assert_eq!(reply.code, 220);
        assert!(reply.lines[0].contains('\u{fffd}'), "{:?}", reply.lines);
        // Unasked pipelining: one greeting, then more replies already in the same bytes.
        let g = Misbehaviour::UnaskedPipelining.greeting();
        let (_, used) = parse_reply(&g, &limits).expect("parses").expect("complete");
        assert!(used < g.len());
    }

    #[test]
    fn hostile_replies_per_command() {
        let limits = ReplyLimits::default();
        let ehlo = Misbehaviour::HugeEhlo.reply("EHLO x").expect("a reply");
        let e = parse_reply(&ehlo, &limits).expect_err("too many lines");
        assert!(e.to_string().contains("more than 64 lines"), "{e}");
        let e = parse_reply(
            &Misbehaviour::CodeChange.reply("EHLO x").expect("a reply"),
            &limits,
        )
        .expect_err("code change");
        assert!(
            e.to_string().contains("code changed from 250 to 550"),
            "{e}"
        );
        let table = [
            (Misbehaviour::OneByteWrites, "RCPT TO:<a@b>", 554),
            (Misbehaviour::OneByteWrites, "MAIL FROM:<>", 250),
            (Misbehaviour::Drop421, "MAIL FROM:<>", 421),
            (Misbehaviour::InvalidUtf8, "RCPT TO:<a@b>", 554),
            (Misbehaviour::InvalidUtf8, "DATA", 502),
            (Misbehaviour::Tarpit, "HELO x", 250),
        ];
        for (m, line, code) in table {
            let bytes = m.reply(line).expect("a reply");
            let (reply, _) = parse_reply(&bytes, &limits)
                .expect("parses")
                .expect("complete");
            assert_eq!(reply.code, code, "{m:?} {line}");
        }
    }

    #[test]
    fn the_lab_ca_as_the_scanner_describes_it() {
        let now = chrono::Utc::now();
        let lab = relayscan_lab::tls::LabTls::generate(&Persona::ALL, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let ca = crate::smtp::cert::describe(lab.ca_der(), now);
        assert_eq!(ca.subject, format!("CN={}", relayscan_lab::tls::CA_NAME));
        assert!(ca.self_signed);
        assert_eq!(ca.parse_error, None);
    }
}
