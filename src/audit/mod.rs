//! Configuration audit (`relayscan audit-config`): what in a Postfix or Sendmail configuration makes the server relay, or helps abuse it, before any probe.
//!
//! Inputs are classified (by name, else by content), grouped into Postfix instances (main.cf
//! and master.cf of one directory) and one Sendmail configuration, and checked by pure
//! functions; files the configuration names (lookup tables) come through a reader closure
//! ([`ReadFile`]), which the command builds on `crate::input::read_text` and its caps.

pub mod html;
pub mod model;
pub mod networks;
pub mod output;
pub mod postfix;
pub mod sendmail;

use std::path::{Path, PathBuf};

pub use model::{AuditFinding, AuditReport, InputError, InputSummary, Location, Source};

use crate::assess::Mta;

/// Which MTA the files belong to: `--mta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MtaChoice {
    Postfix,
    Sendmail,
    /// From each file's name, else its content.
    Auto,
}

/// What one input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// main.cf or `postconf -n` output.
    PostfixMain,
    PostfixMaster,
    SendmailMc,
    SendmailCf,
    /// The access database source (/etc/mail/access).
    SendmailAccess,
}

impl Kind {
    pub fn mta(self) -> Mta {
        match self {
            Kind::PostfixMain | Kind::PostfixMaster => Mta::Postfix,
            _ => Mta::Sendmail,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::PostfixMain => "main.cf",
            Kind::PostfixMaster => "master.cf",
            Kind::SendmailMc => "sendmail.mc",
            Kind::SendmailCf => "sendmail.cf",
            Kind::SendmailAccess => "access",
        }
    }
}

/// Classifies one input. With `Auto`, a name that says what it is wins (`main.cf`,
/// `master.cf`, `*.mc`, `sendmail.cf`, `access`), else the content decides.
pub fn classify(name: &str, text: &str, choice: MtaChoice) -> Result<Kind, String> {
    let base = Path::new(name)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let by_name = match base.as_str() {
        "main.cf" => Some(Kind::PostfixMain),
        "master.cf" => Some(Kind::PostfixMaster),
        "sendmail.cf" | "submit.cf" => Some(Kind::SendmailCf),
        "access" | "access.txt" => Some(Kind::SendmailAccess),
        b if b.ends_with(".mc") => Some(Kind::SendmailMc),
        _ => None,
    };
    let kind = by_name.or_else(|| by_content(text, choice));
    match (kind, choice) {
        (Some(k), MtaChoice::Auto) => Ok(k),
        (Some(k), MtaChoice::Postfix) if k.mta() == Mta::Postfix => Ok(k),
        (Some(k), MtaChoice::Sendmail) if k.mta() == Mta::Sendmail => Ok(k),
        (Some(k), _) => Err(format!(
            "{name}: looks like a {} file, not {choice:?}",
            k.label()
        )),
        (None, _) => Err(format!(
            "{name}: cannot tell what this file is (expected Postfix main.cf, master.cf or \
             `postconf -n` output, or Sendmail .mc, .cf or access); name it with --mta"
        )),
    }
}

fn by_content(text: &str, choice: MtaChoice) -> Option<Kind> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let m4 = ["FEATURE(", "divert(", "define(`", "OSTYPE(", "MAILER("];
    if text
        .lines()
        .any(|l| m4.iter().any(|m| l.trim_start().starts_with(m)))
    {
        return Some(Kind::SendmailMc);
    }
    if lines
        .iter()
        .any(|l| l.starts_with("Scheck_") || l.starts_with("V10/"))
    {
        return Some(Kind::SendmailCf);
    }
    let service_types = ["inet", "unix", "unix-dgram", "fifo", "pass"];
    let is_service = |l: &&str| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() >= 8 && w.get(1).is_some_and(|t| service_types.contains(t))
    };
    let starts = |l: &&&str| !l.starts_with([' ', '\t']);
    if lines.iter().filter(starts).any(is_service) {
        return Some(Kind::PostfixMaster);
    }
    if lines.iter().filter(starts).all(|l| l.contains('=')) && !lines.is_empty() {
        return Some(Kind::PostfixMain);
    }
    let actions = ["RELAY", "OK", "REJECT", "DISCARD", "SKIP"];
    let access_like = |l: &&str| {
        l.split_whitespace().nth(1).is_some_and(|a| {
            actions.contains(&a) || a.starts_with("ERROR:") || a.parse::<u16>().is_ok()
        })
    };
    if choice != MtaChoice::Postfix && !lines.is_empty() && lines.iter().all(access_like) {
        return Some(Kind::SendmailAccess);
    }
    match choice {
        // Forced Postfix: whatever is not master.cf is main.cf (and its errors name the line).
        MtaChoice::Postfix => Some(Kind::PostfixMain),
        _ => None,
    }
}

/// Fetches a file a configuration names: `Ok(None)` when it cannot be read (noted),
/// `Err` naming it when it was refused as input (see [`postfix::ReadTable`]).
pub type ReadFile<'a> = dyn Fn(&Path) -> Result<Option<String>, String> + 'a;

/// Audits every input. `read` fetches the files a configuration names (lookup tables);
/// a table path that does not exist is also looked for beside the main.cf that names it, so
/// that a copied configuration directory audits as it would in place.
pub fn run(
    sources: &[Source],
    choice: MtaChoice,
    read: &ReadFile<'_>,
) -> Result<AuditReport, String> {
    let mut report = AuditReport::default();
    let mut kinds = Vec::new();
    for s in sources {
        let kind = classify(&s.name, &s.text, choice)?;
        report.files.push(InputSummary {
            file: s.name.clone(),
            mta: kind.mta(),
            kind: kind.label(),
        });
        kinds.push((kind, s));
    }
    postfix_instances(&kinds, read, &mut report).map_err(|e| e.to_string())?;
    sendmail(&kinds, &mut report).map_err(|e| e.to_string())?;
    report.finish();
    Ok(report)
}

/// Pairs each main.cf with the master.cf of its directory (or, with one main.cf only, with
/// the one master.cf given), and audits each instance.
fn postfix_instances(
    kinds: &[(Kind, &Source)],
    read: &ReadFile<'_>,
    report: &mut AuditReport,
) -> Result<(), InputError> {
    let dir = |s: &Source| {
        Path::new(&s.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let of = |k: Kind| -> Vec<&Source> {
        kinds
            .iter()
            .filter(|(kind, _)| *kind == k)
            .map(|(_, s)| *s)
            .collect()
    };
    let mains = of(Kind::PostfixMain);
    let mut masters = of(Kind::PostfixMaster);
    let mut instances: Vec<(Option<&Source>, Option<&Source>)> = Vec::new();
    for main in &mains {
        let paired = masters.iter().position(|m| dir(m) == dir(main));
        let paired = paired.or((mains.len() == 1 && masters.len() == 1).then_some(0));
        instances.push((Some(*main), paired.map(|i| masters.remove(i))));
    }
    instances.extend(masters.into_iter().map(|m| (None, Some(m))));
    for (main, master) in instances {
        let home: PathBuf = main.or(master).map(dir).unwrap_or_default();
        let table = |name: &str| {
            let path = Path::new(name);
            match (read(path)?, path.file_name()) {
                (None, Some(base)) => read(&home.join(base)),
                (found, _) => Ok(found),
            }
        };
        postfix::audit(main, master, &table, report)?;
    }
    Ok(())
}

/// All Sendmail inputs as one configuration: the .mc's features inform the access check.
fn sendmail(kinds: &[(Kind, &Source)], report: &mut AuditReport) -> Result<(), InputError> {
    let mut facts: Option<sendmail::McFacts> = None;
    for (kind, s) in kinds {
        match kind {
            Kind::SendmailMc => {
                let f = sendmail::audit_mc(s, report);
                facts
                    .get_or_insert_with(Default::default)
                    .features
                    .extend(f.features);
            }
            Kind::SendmailCf => sendmail::audit_cf(s, report),
            _ => {}
        }
    }
    for (kind, s) in kinds {
        if *kind == Kind::SendmailAccess {
            sendmail::access::audit(s, facts.as_ref(), report)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        use Kind::*;
        use MtaChoice::*;
        let table = [
            ("/etc/postfix/main.cf", "", Auto, Ok(PostfixMain)),
            ("dir/master.cf", "", Auto, Ok(PostfixMaster)),
            ("/etc/mail/sendmail.mc", "", Auto, Ok(SendmailMc)),
            ("/etc/mail/sendmail.cf", "", Auto, Ok(SendmailCf)),
            ("/etc/mail/access", "", Auto, Ok(SendmailAccess)),
            (
                "<stdin>",
                "mynetworks = 127.0.0.0/8\nbiff = no\n",
                Auto,
                Ok(PostfixMain),
            ),
            (
                "<stdin>",
                "smtp inet n - y - - smtpd\n  -o a=b\n",
                Auto,
                Ok(PostfixMaster),
            ),
            (
                "<stdin>",
                "divert(0)dnl\nFEATURE(`x')\n",
                Auto,
                Ok(SendmailMc),
            ),
            (
                "<stdin>",
                "V10/Berkeley\nScheck_rcpt\n",
                Auto,
                Ok(SendmailCf),
            ),
            (
                "<stdin>",
                "Connect:127.0.0.1 RELAY\n",
                Auto,
                Ok(SendmailAccess),
            ),
            ("postconf.txt", "broken line\n", Postfix, Ok(PostfixMain)),
        ];
        for (name, text, choice, want) in table {
            assert_eq!(classify(name, text, choice), want, "{name} {text:?}");
        }
        let e = classify("main.cf", "", Sendmail).unwrap_err();
        assert!(e.contains("main.cf") && e.contains("not Sendmail"), "{e}");
        let e = classify("notes.txt", "hello world\n", Auto).unwrap_err();
        assert!(e.starts_with("notes.txt: cannot tell"), "{e}");
    }

    #[test]
    fn main_and_master_of_one_directory_are_one_instance() {
        let sources = [
            Source::new(
                "a/main.cf",
                "compatibility_level = 3.6\nsmtpd_relay_restrictions = reject_unauth_destination\n",
            ),
            Source::new(
                "b/main.cf",
                "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit\n",
            ),
            Source::new(
                "a/master.cf",
                "2525 inet n - n - - smtpd -o smtpd_relay_restrictions=permit\n",
            ),
        ];
        let r = run(&sources, MtaChoice::Auto, &|_| Ok(None)).unwrap();
        let open: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.finding.id == crate::assess::FindingId::OpenRelay)
            .map(|f| f.location.as_str())
            .collect();
        assert_eq!(open, vec!["a/master.cf:1", "b/main.cf:2"]);
        assert_eq!(r.files.len(), 3);
    }
}
