//! What a sendmail.cf (written by hand, or compiled from an .mc by m4 with sendmail-cf) does about relaying, read from its rules rather than guessed from macro names: check_rcpt's "Relaying denied", the rules each relay FEATURE leaves behind, Relay_ok's built-in addresses, class R and its files, the access map.
//!
//! The rule shapes are those cf/m4/proto.m4 writes (sendmail 8.17), e.g. for
//! FEATURE(`relay_entire_domain') `R$+ < @ $* $=m >  $@ RELAY` in Rcpt_ok, and for the
//! loopback client `R127.0.0.1  $@ RELAY  originated locally` in Relay_ok.

/// A relay behaviour found in the rules, with the .cf line it is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// check_rcpt without "Relaying denied": FEATURE(`promiscuous_relay').
    Promiscuous,
    /// Rcpt_ok without ParseRecipient: FEATURE(`loose_relay_check').
    LooseRelayCheck,
    /// RELAY for a sender in $=w: FEATURE(`relay_local_from').
    RelayLocalFrom,
    /// `From:` access entries decide relaying: FEATURE(`relay_mail_from').
    RelayMailFrom,
    /// RELAY for hosts and recipients in $=m: FEATURE(`relay_entire_domain').
    RelayEntireDomain,
    /// The bestmx map: FEATURE(`relay_based_on_MX').
    RelayBasedOnMx,
}

impl Rule {
    /// The FEATURE that writes this rule.
    pub fn feature(self) -> &'static str {
        match self {
            Rule::Promiscuous => "promiscuous_relay",
            Rule::LooseRelayCheck => "loose_relay_check",
            Rule::RelayLocalFrom => "relay_local_from",
            Rule::RelayMailFrom => "relay_mail_from",
            Rule::RelayEntireDomain => "relay_entire_domain",
            Rule::RelayBasedOnMx => "relay_based_on_MX",
        }
    }
}

/// The relay facts of one .cf text; lines are 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CfFacts {
    pub rules: Vec<(Rule, usize)>,
    /// Literal client addresses Relay_ok lets relay (`127.0.0.1`, `IPv6:::1`).
    pub relay_ok_addresses: Vec<(String, usize)>,
    /// Class R entries written in the file (`CR` / `C{R}`).
    pub class_r: Vec<(String, usize)>,
    /// Files class R is read from (`FR` / `F{R}`), and whether `-o` makes them optional.
    pub class_r_files: Vec<(String, bool, usize)>,
    /// The access map's file, when the configuration has one (FEATURE(`access_db')).
    pub access_map: Option<(String, usize)>,
    /// class R matches client host names exactly: FEATURE(`relay_hosts_only').
    pub relay_hosts_only: bool,
    /// The line `Scheck_rcpt` starts on.
    pub check_rcpt: Option<usize>,
}

/// Reads the relay facts of a .cf.
pub fn facts(text: &str) -> CfFacts {
    let mut f = CfFacts::default();
    let mut ruleset = String::new();
    let mut relaying_denied = false;
    let mut rcpt_ok_first = true;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if let Some(name) = line.strip_prefix('S') {
            ruleset = name.split_whitespace().next().unwrap_or("").to_string();
            if ruleset == "check_rcpt" {
                f.check_rcpt = Some(n);
            }
            continue;
        }
        if let Some(rest) = class_line(line, 'C') {
            f.class_r
                .extend(rest.split_whitespace().map(|e| (e.to_string(), n)));
            continue;
        }
        if let Some(rest) = class_line(line, 'F') {
            // `FR-o /etc/mail/relay-domains %[^\#]`: flags, the file, a scanf format.
            let optional = rest.starts_with("-o");
            let rest = rest.strip_prefix("-o").unwrap_or(rest);
            if let Some(path) = rest.split_whitespace().find(|w| !w.starts_with('-')) {
                f.class_r_files.push((path.to_string(), optional, n));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("Kaccess ") {
            let path = rest.split_whitespace().last().unwrap_or("").to_string();
            f.access_map = Some((path, n));
            continue;
        }
        if line.starts_with("Kmxserved ") {
            f.rules.push((Rule::RelayBasedOnMx, n));
            continue;
        }
        if !line.starts_with('R') {
            continue;
        }
        let (lhs, rhs) = split_rule(line);
        // "550 Relaying denied" (or "... Proper authentication required." with AUTH).
        let rcpt_ruleset = matches!(ruleset.as_str(), "check_rcpt" | "Basic_check_rcpt");
        if rcpt_ruleset && rhs.contains("$#error") && rhs.contains("Relaying denied") {
            relaying_denied = true;
        }
        match ruleset.as_str() {
            "Rcpt_ok" => {
                if rcpt_ok_first {
                    rcpt_ok_first = false;
                    if !rhs.contains("ParseRecipient") {
                        f.rules.push((Rule::LooseRelayCheck, n));
                    }
                }
                if lhs == "R$+ < @ $* $=m >" && rhs.starts_with("$@ RELAY") {
                    f.rules.push((Rule::RelayEntireDomain, n));
                }
                if rhs.contains("RELAY") && rhs.contains("FROM local") {
                    f.rules.push((Rule::RelayLocalFrom, n));
                }
                if rhs.contains("RELAY FROM sender ok") {
                    f.rules.push((Rule::RelayMailFrom, n));
                }
            }
            "Relay_ok" => {
                if lhs == "R<?> $=R" {
                    f.relay_hosts_only = true;
                }
                let literal = lhs.strip_prefix('R').unwrap_or("");
                let is_address = literal.starts_with("IPv6:")
                    || (literal.contains('.')
                        && literal.chars().all(|c| c.is_ascii_digit() || c == '.'));
                if is_address && rhs.starts_with("$@ RELAY") {
                    f.relay_ok_addresses.push((literal.to_string(), n));
                }
            }
            _ => {}
        }
    }
    if f.check_rcpt.is_some() && !relaying_denied {
        f.rules.push((Rule::Promiscuous, f.check_rcpt.unwrap_or(1)));
    }
    f.rules.sort_by_key(|(_, n)| *n);
    f.rules.dedup_by_key(|(r, _)| *r);
    f
}

/// `CR…`/`C{R}…` (letter 'C') or `FR…`/`F{R}…` (letter 'F'): the rest of the line.
fn class_line(line: &str, letter: char) -> Option<&str> {
    let rest = line.strip_prefix(letter)?;
    rest.strip_prefix("{R}")
        .or_else(|| rest.strip_prefix('R'))
        .map(str::trim)
}

/// A rule's left-hand side and the rest (right-hand side and comment), split at the first
/// tab as sendmail does.
fn split_rule(line: &str) -> (&str, &str) {
    match line.split_once('\t') {
        Some((lhs, rest)) => (lhs.trim_end(), rest.trim_start_matches('\t').trim()),
        None => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_hand_written_rules() {
        let cf = "V10/Berkeley\nC{R}example.com 192.0.2\nFR-o /etc/mail/relay-domains %[^\\#]\nKaccess hash -T<TMPF> /etc/mail/access\n\
                  Scheck_rcpt\nR$*\t\t\t$#error $@ 5.7.1 $: \"550 Relaying denied\"\n\
                  SRcpt_ok\nR$*\t\t\t$: $>ParseRecipient $1\t\tstrip relayable hosts\nR$+ < @ $* $=m >\t$@ RELAY\n\
                  SRelay_ok\nR127.0.0.1\t\t$@ RELAY\t\toriginated locally\nRIPv6:::1\t\t$@ RELAY\t\toriginated locally\nR<?> $=R\t\t$@ RELAY\n";
        let f = facts(cf);
        assert_eq!(f.rules, vec![(Rule::RelayEntireDomain, 9)]);
        assert_eq!(
            f.relay_ok_addresses,
            vec![("127.0.0.1".to_string(), 11), ("IPv6:::1".into(), 12)]
        );
        assert_eq!(
            f.class_r,
            vec![("example.com".to_string(), 2), ("192.0.2".into(), 2)]
        );
        assert_eq!(
            f.class_r_files,
            vec![("/etc/mail/relay-domains".to_string(), true, 3)]
        );
        assert_eq!(f.access_map, Some(("/etc/mail/access".into(), 4)));
        assert!(f.relay_hosts_only);
        assert_eq!(f.check_rcpt, Some(5));
    }

    #[test]
    fn promiscuous_and_loose_leave_their_marks() {
        // With AUTH, the refusal says more; it is still a refusal.
        let auth = "Scheck_rcpt\nSBasic_check_rcpt\nR$*\t\t\t$#error $@ 5.7.1 $: \"550 Relaying denied. Proper authentication required.\"\n";
        assert!(facts(auth).rules.is_empty());
        let cf = "Scheck_rcpt\nR$*\t\t\t$: $1 $| $>\"Local_check_rcpt\" $1\nSRcpt_ok\nR$*\t\t\t$: $>CanonAddr $1\n";
        assert_eq!(
            facts(cf).rules,
            vec![(Rule::Promiscuous, 1), (Rule::LooseRelayCheck, 4)]
        );
    }
}
