//! A Postfix restriction list (smtpd_relay_restrictions, smtpd_recipient_restrictions) evaluated for a stranger: a client outside every trusted network, not authenticated, sending to a foreign domain, who picks its own HELO name and sender address.
//!
//! Postfix walks a list until a restriction decides; the end of a list permits. smtpd refuses
//! to run unless one of the two lists holds a "working instance" of reject_unauth_destination,
//! defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains (smtpd_check.c).

use super::ReadTable;
use super::maps::{self, Table};
use super::params::{Params, split_list};
use crate::audit::networks::{Reach, parse_network, reach};

/// What a list does with the stranger's RCPT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The stranger gets through, and why.
    Permit(Why),
    /// A restriction refuses (or defers) the stranger: the restriction's name.
    Refuse(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// No restriction decided: the end of the list permits.
    EndOfList,
    /// `permit`.
    Permit,
    /// `permit_mynetworks` with a mynetworks entry that covers every address.
    Mynetworks(String),
    /// An access table OKs something the client chooses itself (its sender address, its HELO
    /// name): anyone who forges it gets through. `restriction`, `table`, the key.
    Forgeable(String, String, String),
    /// An access table OKs every lookup (`static:OK`) or every client (`0.0.0.0/0 OK`).
    Everyone(String, String),
}

/// Things in a list that widen relaying without letting every stranger through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Widening {
    /// `permit_mx_backup` (relays for any domain whose MX names this host) without
    /// relay_recipient_maps.
    MxBackup,
    /// A client access table OKs a wide public network: (table, key).
    WideClient(String, String),
    /// A recipient access table OKs a top-level domain: (table, key).
    BroadRecipient(String, String),
}

/// The result of one list for the stranger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEval {
    pub decision: Decision,
    /// The list holds one of the restrictions without which smtpd will not run.
    pub has_required: bool,
    pub widenings: Vec<Widening>,
    /// Tables the audit could not read.
    pub unread: Vec<String>,
    /// What makes the list bad input: a table file refused (not a regular file, over the
    /// size cap), restriction classes that name each other past [`MAX_CLASS_STEPS`].
    pub errors: Vec<String>,
}

/// What the lists are evaluated against.
pub struct Context<'a> {
    pub params: &'a Params,
    /// The mynetworks entry that covers every address, if any.
    pub mynetworks_everyone: Option<String>,
    pub read: &'a ReadTable<'a>,
}

const REQUIRED: [&str; 6] = [
    "reject_unauth_destination",
    "defer_unauth_destination",
    "reject",
    "defer",
    "defer_if_permit",
    "check_relay_domains",
];

/// Restrictions that refuse the stranger's foreign RCPT outright.
const REFUSE: [&str; 6] = REQUIRED;

/// Restrictions (besides `check_*`) that take one argument.
const WITH_ARGUMENT: [&str; 9] = [
    "reject_rbl_client",
    "reject_rhsbl_client",
    "reject_rhsbl_sender",
    "reject_rhsbl_helo",
    "reject_rhsbl_recipient",
    "reject_rhsbl_reverse_client",
    "permit_dnswl_client",
    "permit_rhswl_client",
    "sleep",
];

/// Nested restriction classes deeper than this are not followed (Postfix forbids loops too).
const MAX_CLASS_DEPTH: usize = 8;

/// The most restriction classes one list's walk may enter. Nesting multiplies: a class
/// naming another ten times, eight deep, is 10^8 walks. A real list enters a few classes;
/// each entry expands a class value (up to 1 MiB), so 1,000 bounds a walk to about a
/// second of work at worst.
pub const MAX_CLASS_STEPS: usize = 1_000;

/// Evaluates the list `value` of parameter `list` (unexpanded text is fine: it is
/// expanded here).
pub fn evaluate(ctx: &Context<'_>, list: &str, value: &str) -> ListEval {
    let mut eval = ListEval {
        decision: Decision::Permit(Why::EndOfList),
        has_required: false,
        widenings: Vec::new(),
        unread: Vec::new(),
        errors: Vec::new(),
    };
    let tokens = split_list(&ctx.params.expand_text(value, list).0);
    let mut steps = MAX_CLASS_STEPS;
    eval.has_required = has_required(ctx.params, &tokens, 0, &mut steps);
    let mut steps_left = MAX_CLASS_STEPS;
    if let Some(decision) = walk(ctx, &tokens, &mut eval, 0, &mut steps_left) {
        eval.decision = decision;
    }
    if steps == 0 || steps_left == 0 {
        eval.errors.push(format!(
            "its restriction classes name each other more than {MAX_CLASS_STEPS} times, the \
             cap on one list's walk"
        ));
    }
    eval
}

fn walk(
    ctx: &Context<'_>,
    tokens: &[String],
    eval: &mut ListEval,
    depth: usize,
    steps_left: &mut usize,
) -> Option<Decision> {
    let classes = split_list(&ctx.params.get("smtpd_restriction_classes"));
    let mut decided: Option<Decision> = None;
    let mut warn_only = false;
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        i += 1;
        let name = token.to_ascii_lowercase();
        let takes_argument = (name.starts_with("check_") && name != "check_relay_domains")
            || WITH_ARGUMENT.contains(&name.as_str());
        let argument = if takes_argument {
            i += 1;
            tokens.get(i - 1).map(String::as_str)
        } else {
            None
        };
        if decided.is_some() {
            break;
        }
        if name == "warn_if_reject" {
            warn_only = true;
            continue;
        }
        let was_warn = std::mem::take(&mut warn_only);
        if REFUSE.contains(&name.as_str()) {
            if !was_warn {
                decided = Some(Decision::Refuse(name));
            }
            continue;
        }
        match name.as_str() {
            "permit" => decided = Some(Decision::Permit(Why::Permit)),
            "permit_mynetworks" => {
                if let Some(entry) = &ctx.mynetworks_everyone {
                    decided = Some(Decision::Permit(Why::Mynetworks(entry.clone())));
                }
            }
            "permit_mx_backup" if ctx.params.get("relay_recipient_maps").trim().is_empty() => {
                eval.widenings.push(Widening::MxBackup);
            }
            _ if takes_argument && name.ends_with("_access") => {
                if let Some(table) = argument {
                    decided = access(ctx, &name, table, eval);
                }
            }
            _ if classes.contains(token) && depth < MAX_CLASS_DEPTH => {
                if *steps_left == 0 {
                    break;
                }
                *steps_left -= 1;
                // A class that ends undecided returns to this list (DUNNO).
                let inner = split_list(&ctx.params.get(token));
                decided = walk(ctx, &inner, eval, depth + 1, steps_left);
            }
            _ => {}
        }
    }
    decided
}

/// Postfix's own test (smtpd_check.c, has_required): a required restriction, or an explicit
/// `permit` (taken as deliberate), in the list or a restriction class it names; a restriction
/// after `warn_if_reject` does not count.
fn has_required(params: &Params, tokens: &[String], depth: usize, steps_left: &mut usize) -> bool {
    let classes = split_list(&params.get("smtpd_restriction_classes"));
    let mut words = tokens.iter();
    while let Some(token) = words.next() {
        let name = token.to_ascii_lowercase();
        if name == "warn_if_reject" {
            words.next();
            continue;
        }
        if name == "permit" || REQUIRED.contains(&name.as_str()) {
            return true;
        }
        if classes.contains(token) && depth < MAX_CLASS_DEPTH {
            if *steps_left == 0 {
                return false;
            }
            *steps_left -= 1;
            if has_required(
                params,
                &split_list(&params.get(token)),
                depth + 1,
                steps_left,
            ) {
                return true;
            }
        }
    }
    false
}

/// A `check_*_access TABLE` restriction: does it let the stranger through?
fn access(
    ctx: &Context<'_>,
    restriction: &str,
    spec: &str,
    eval: &mut ListEval,
) -> Option<Decision> {
    let table = maps::load(spec, ctx.read);
    let entries = match table {
        Table::Static(action) => {
            return maps::permits(&action)
                .then(|| Decision::Permit(Why::Everyone(restriction.into(), spec.into())));
        }
        Table::Unknown(why) => {
            eval.unread.push(why);
            return None;
        }
        Table::Refused(why) => {
            eval.errors.push(why);
            return None;
        }
        Table::Entries(entries) => entries,
    };
    let ok = entries.iter().filter(|e| maps::permits(&e.action));
    // Which part of the request the table is looked up with decides who controls the key.
    let kind = restriction
        .trim_start_matches("check_")
        .trim_end_matches("_access");
    for e in ok {
        match kind {
            "sender" | "helo" => {
                return Some(Decision::Permit(Why::Forgeable(
                    restriction.into(),
                    spec.into(),
                    e.key.clone(),
                )));
            }
            "client" => match parse_network(&e.key).map(|(a, l)| reach(a, l)) {
                Some(Reach::Everyone) => {
                    return Some(Decision::Permit(Why::Everyone(
                        restriction.into(),
                        spec.into(),
                    )));
                }
                Some(Reach::Wide) => eval
                    .widenings
                    .push(Widening::WideClient(spec.into(), e.key.clone())),
                _ => {}
            },
            "recipient" => {
                let key = e.key.trim_start_matches('.').trim_start_matches('@');
                if !key.contains('.') {
                    eval.widenings
                        .push(Widening::BroadRecipient(spec.into(), e.key.clone()));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_with(main: &str, list: &str, everyone: Option<&str>) -> ListEval {
        let params = Params::parse("main.cf", main).unwrap();
        let read = |name: &str| {
            Ok(match name {
                "/etc/postfix/sender_access" => {
                    Some("example.com OK\nbad@example.net REJECT\n".into())
                }
                "/etc/postfix/client.cidr" => Some("2001:db8::/32 OK\n192.0.2.7 OK\n".into()),
                "/etc/postfix/rcpt" => Some(".com OK\nexample.org OK\n".into()),
                _ => None,
            })
        };
        let ctx = Context {
            params: &params,
            mynetworks_everyone: everyone.map(String::from),
            read: &read,
        };
        evaluate(&ctx, "smtpd_relay_restrictions", list)
    }

    fn decision(list: &str) -> Decision {
        eval_with("", list, None).decision
    }

    #[test]
    fn decisions_for_a_stranger() {
        use Decision::*;
        let refuse = |s: &str| Refuse(s.to_string());
        let table = [
            (
                "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
                refuse("reject_unauth_destination"),
            ),
            (
                "permit_mynetworks, defer_unauth_destination",
                refuse("defer_unauth_destination"),
            ),
            ("permit", Permit(Why::Permit)),
            ("permit_mynetworks permit", Permit(Why::Permit)),
            ("permit_mynetworks", Permit(Why::EndOfList)),
            ("", Permit(Why::EndOfList)),
            (
                "reject_unauth_destination, permit",
                refuse("reject_unauth_destination"),
            ),
            (
                "warn_if_reject reject_unauth_destination, permit",
                Permit(Why::Permit),
            ),
            ("reject_rbl_client permit, reject", refuse("reject")),
            (
                "check_sender_access hash:/etc/postfix/sender_access, reject_unauth_destination",
                Permit(Why::Forgeable(
                    "check_sender_access".into(),
                    "hash:/etc/postfix/sender_access".into(),
                    "example.com".into(),
                )),
            ),
            (
                "check_helo_access inline:{ mx.example.com=OK }, reject_unauth_destination",
                Permit(Why::Forgeable(
                    "check_helo_access".into(),
                    "inline:{ mx.example.com=OK }".into(),
                    "mx.example.com".into(),
                )),
            ),
            (
                "check_client_access static:OK, reject",
                Permit(Why::Everyone(
                    "check_client_access".into(),
                    "static:OK".into(),
                )),
            ),
            (
                "check_client_access static:REJECT, permit_mynetworks, reject",
                refuse("reject"),
            ),
            (
                "check_sender_access hash:/missing, reject",
                refuse("reject"),
            ),
        ];
        for (list, want) in table {
            assert_eq!(decision(list), want, "{list}");
        }
    }

    #[test]
    fn mynetworks_for_everyone_lets_permit_mynetworks_through() {
        let e = eval_with(
            "",
            "permit_mynetworks, reject_unauth_destination",
            Some("0.0.0.0/0"),
        );
        assert_eq!(
            e.decision,
            Decision::Permit(Why::Mynetworks("0.0.0.0/0".into()))
        );
    }

    #[test]
    fn required_restrictions_are_found_anywhere_and_in_classes() {
        let table = [
            ("permit_mynetworks", "", false),
            ("permit, reject_unauth_destination", "", true),
            // An explicit permit counts: Postfix takes it as deliberate.
            ("permit", "", true),
            ("warn_if_reject reject_unauth_destination", "", false),
            (
                "permit_mynetworks, strict",
                "smtpd_restriction_classes = strict\nstrict = reject\n",
                true,
            ),
            (
                "permit_mynetworks, lax",
                "smtpd_restriction_classes = lax\nlax = permit_sasl_authenticated\n",
                false,
            ),
        ];
        for (list, main, want) in table {
            assert_eq!(eval_with(main, list, None).has_required, want, "{list}");
        }
    }

    #[test]
    fn restriction_classes_decide_when_they_permit_or_refuse() {
        let main = "smtpd_restriction_classes = open closed\nopen = permit\nclosed = reject_unauth_destination\n";
        assert_eq!(
            eval_with(main, "open, reject", None).decision,
            Decision::Permit(Why::Permit)
        );
        assert_eq!(
            eval_with(main, "closed, permit", None).decision,
            Decision::Refuse("reject_unauth_destination".into())
        );
    }

    #[test]
    fn widenings() {
        let e = eval_with(
            "",
            "permit_mx_backup, check_client_access cidr:/etc/postfix/client.cidr, check_recipient_access hash:/etc/postfix/rcpt, reject_unauth_destination",
            None,
        );
        assert_eq!(
            e.widenings,
            vec![
                Widening::MxBackup,
                Widening::WideClient(
                    "cidr:/etc/postfix/client.cidr".into(),
                    "2001:db8::/32".into()
                ),
                Widening::BroadRecipient("hash:/etc/postfix/rcpt".into(), ".com".into()),
            ]
        );
        // With relay_recipient_maps, permit_mx_backup is not reported.
        let e = eval_with(
            "relay_recipient_maps = hash:/etc/postfix/relay_recipients",
            "permit_mx_backup, reject_unauth_destination",
            None,
        );
        assert!(e.widenings.is_empty());
        let e = eval_with(
            "",
            "check_sender_access ldap:/etc/postfix/ldap.cf, reject",
            None,
        );
        assert_eq!(e.unread.len(), 1, "{:?}", e.unread);
    }

    #[test]
    fn classes_that_name_each_other_over_and_over_are_cut_off() {
        // c1 names c2 ten times, ..., c7 names c8: 10^7 walks if followed.
        let mut main =
            "smtpd_restriction_classes = c1 c2 c3 c4 c5 c6 c7 c8\nc8 = permit_mynetworks\n"
                .to_string();
        for i in 1..8 {
            main.push_str(&format!("c{i} = {}\n", format!("c{} ", i + 1).repeat(10)));
        }
        let e = eval_with(&main, "c1, reject_unauth_destination", None);
        assert_eq!(
            e.errors,
            vec![format!(
                "its restriction classes name each other more than {MAX_CLASS_STEPS} times, the \
                 cap on one list's walk"
            )]
        );
        // A few classes are far from the cap.
        let e = eval_with(
            "smtpd_restriction_classes = a b\na = b b\nb = permit_mynetworks\n",
            "a, reject_unauth_destination",
            None,
        );
        assert!(e.errors.is_empty(), "{:?}", e.errors);
    }
}
