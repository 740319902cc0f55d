//! How deep a probe goes (`--tests full|quick|none`): which relay tests of the catalogue it sends, or none at all (a banner grab).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::relay::{CATALOGUE, RelayTest};

/// Which relay tests a probe sends. Records and checkpoints written before the depth was
/// recorded read as [`Depth::Full`], the only depth there was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    /// The whole catalogue (nmap's 16 variants), and the control RCPT, which counts when one relayed.
    #[default]
    Full,
    /// [`QUICK_TESTS`] only, and the control RCPT, which counts when one relayed: a polite sweep.
    Quick,
    /// A banner grab: greeting, EHLO (HELO), STARTTLS and the certificate audit; not one
    /// MAIL or RCPT is sent, and the verdict is `not-tested`.
    None,
}

/// The catalogue ids `--tests quick` sends, in catalogue order. Four of sixteen, chosen
/// for the misconfigurations that make most open relays today; the other twelve probe
/// address-parsing quirks (quoting, `@@`, source routes, bang paths) of MTAs decades old,
/// and a server open through one of them is almost always open through test 2 as well:
/// - 1, the null sender: relaying for bounces is a common exemption gone too far;
/// - 2, a foreign sender to a foreign domain: every wide-open relay (trusted networks
///   too wide, a `permit` left in the relay rules) accepts this one;
/// - 3, a sender forged at the server's own name: servers that trust "their own"
///   senders (sender-domain rules instead of client rules) relay for anyone who forges
///   it; nmap's docs single it out;
/// - 6, the `%` hack at the server's own name: the one address-rewriting hole still seen
///   on old Sendmail and gateway configurations (`user%dest@me` becomes `user@dest`).
///
/// At most 5 RCPTs with the control (full: up to 17), about a quarter of the commands.
pub const QUICK_TESTS: [u8; 4] = [1, 2, 3, 6];

impl Depth {
    pub const ALL: [Depth; 3] = [Depth::Full, Depth::Quick, Depth::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Depth::Full => "full",
            Depth::Quick => "quick",
            Depth::None => "none",
        }
    }

    /// The catalogue entries this depth sends, in catalogue order.
    pub fn tests(self) -> Vec<RelayTest> {
        CATALOGUE
            .iter()
            .copied()
            .filter(|t| match self {
                Depth::Full => true,
                Depth::Quick => QUICK_TESTS.contains(&t.id),
                Depth::None => false,
            })
            .collect()
    }

    /// What the depth sends, in words, for the summary and the reports: "quick (tests 1,
    /// 2, 3 and 6 of the catalogue's 16, and the control RCPT, which counts when one relayed)".
    pub fn describe(self) -> String {
        let control = "and the control RCPT, which counts when one relayed";
        match self {
            Depth::Full => format!("full (the catalogue's {} tests, {control})", CATALOGUE.len()),
            Depth::Quick => {
                let ids = QUICK_TESTS.map(|id| id.to_string());
                let list = match ids.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} and {last}", rest.join(", "))
                    }
                    _ => ids.join(", "),
                };
                format!(
                    "quick (tests {list} of the catalogue's {}, {control})",
                    CATALOGUE.len()
                )
            }
            Depth::None => "none (banner grab only: greeting, EHLO, STARTTLS and certificate; no MAIL or RCPT sent)".to_string(),
        }
    }

    /// Any MAIL or RCPT at all (the relay tests and, after them, the control).
    pub fn sends_tests(self) -> bool {
        self != Depth::None
    }

    /// For serde's `skip_serializing_if`: a full depth is what a reader assumes.
    pub fn is_full(&self) -> bool {
        *self == Depth::Full
    }

    /// Whether a host's verdict at this depth can be compared with one at `later`: a
    /// shallower later run sends fewer tests, so it cannot show that a hole found
    /// deeper is closed. A deeper (or equal) later run can.
    pub fn comparable_with(self, later: Depth) -> bool {
        later.rank() >= self.rank()
    }

    /// How many tests each depth sends, for [`Depth::comparable_with`].
    fn rank(self) -> usize {
        self.tests().len()
    }
}

impl FromStr for Depth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim();
        Depth::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| format!("{s:?}: choose full, quick or none"))
    }
}

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_depth_sends_its_tests() {
        let ids = |d: Depth| d.tests().iter().map(|t| t.id).collect::<Vec<u8>>();
        assert_eq!(ids(Depth::Full), (1..=16).collect::<Vec<u8>>());
        assert_eq!(ids(Depth::Quick), QUICK_TESTS.to_vec());
        assert!(ids(Depth::None).is_empty());
        assert!(Depth::Full.sends_tests() && Depth::Quick.sends_tests());
        assert!(!Depth::None.sends_tests());
        assert_eq!(
            Depth::Quick.describe(),
            "quick (tests 1, 2, 3 and 6 of the catalogue's 16, and the control RCPT, which counts when one relayed)"
        );
        assert!(Depth::None.describe().contains("no MAIL or RCPT"));
    }

    #[test]
    fn names_round_trip_and_bad_ones_list_the_choices() {
        for d in Depth::ALL {
            assert_eq!(d.as_str().parse::<Depth>(), Ok(d));
            assert_eq!(d.to_string().to_uppercase().parse::<Depth>(), Ok(d));
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{d}\""));
        }
        let e = "deep".parse::<Depth>().unwrap_err();
        assert!(
            e.contains("\"deep\"") && e.contains("full, quick or none"),
            "{e}"
        );
    }

    #[test]
    fn only_an_equal_or_deeper_later_run_compares() {
        use Depth::{Full, None, Quick};
        let table = [
            (Full, Full, true),
            (Full, Quick, false),
            (Full, None, false),
            (Quick, Full, true),
            (Quick, Quick, true),
            (Quick, None, false),
            (None, Full, true),
            (None, Quick, true),
            (None, None, true),
        ];
        for (then, later, want) in table {
            assert_eq!(then.comparable_with(later), want, "{then} then {later}");
        }
    }
}
