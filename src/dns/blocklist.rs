//! DNS blocklists (DNSBL): the zones as data (data/blocklists.toml, built in), which zones a run asks, the query name of an address, and what an answer means.
//!
//! Pure. The lookups themselves go through the run's [`crate::dns::Resolve`] (paced and
//! cached); this module only builds names and reads answers. A "query refused" code
//! (Spamhaus 127.255.255.252/254/255) is a lookup error naming its cause, never "listed"
//! or "not listed", and an answer outside 127.0.0.0/8 is never a listing either.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::{Answer, LookupError};

/// The zones as shipped; their schema test is below.
pub const BLOCKLISTS_TOML: &str = include_str!("../../data/blocklists.toml");

/// What a listing says about the host; it sets the finding's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    /// Compromised hosts: bots, open proxies, malware.
    Exploited,
    /// Spam sources, spam traps hit, hijacked networks.
    Spam,
    /// Ranges that should not deliver mail directly (Spamhaus PBL): a policy, not a bad act.
    Policy,
}

impl ListKind {
    /// The serialised name: `exploited`, `spam`, `policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Exploited => "exploited",
            ListKind::Spam => "spam",
            ListKind::Policy => "policy",
        }
    }
}

/// A range of return codes and what they mean.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRange {
    pub from: Ipv4Addr,
    pub to: Ipv4Addr,
    pub list: String,
    pub kind: ListKind,
    pub meaning: String,
}

/// A return code by which the operator refuses the query.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedCode {
    pub code: Ipv4Addr,
    pub cause: String,
}

/// One known blocklist zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneEntry {
    pub name: String,
    pub zone: String,
    pub default: bool,
    pub ipv6: bool,
    pub removal: String,
    #[serde(default)]
    pub dqs: Option<String>,
    #[serde(default)]
    pub code: Vec<CodeRange>,
    #[serde(default)]
    pub refused: Vec<RefusedCode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    zone: Vec<ZoneEntry>,
}

/// Every known zone, parsed once. The schema test guarantees the shipped file parses.
pub fn known() -> &'static [ZoneEntry] {
    static TABLE: LazyLock<Vec<ZoneEntry>> = LazyLock::new(|| {
        toml::from_str::<Table>(BLOCKLISTS_TOML)
            .map(|t| t.zone)
            .unwrap_or_default()
    });
    &TABLE
}

/// One zone a run asks: the public zone name (in reports), the name queried (with a DQS
/// key in it: never written anywhere), and the table entry when the zone is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocklist {
    pub zone: String,
    query_zone: String,
    pub entry: Option<ZoneEntry>,
}

impl Blocklist {
    fn of(zone: &str) -> Blocklist {
        let zone = super::normalize_name(zone);
        let entry = known()
            .iter()
            .find(|e| e.zone == zone || e.name == zone)
            .cloned();
        Blocklist {
            zone: entry.as_ref().map_or(zone.clone(), |e| e.zone.clone()),
            query_zone: entry.as_ref().map_or(zone, |e| e.zone.clone()),
            entry,
        }
    }

    /// The name to ask for `ip`, or None when this zone does not list that family
    /// (IPv6 only where the table says the zone lists it; unknown zones are IPv4 only).
    pub fn query_name(&self, ip: IpAddr) -> Option<String> {
        let reversed = match crate::target::canonical(ip) {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                format!("{d}.{c}.{b}.{a}")
            }
            IpAddr::V6(v6) => {
                if !self.entry.as_ref().is_some_and(|e| e.ipv6) {
                    return None;
                }
                let nibbles: Vec<String> = v6
                    .octets()
                    .iter()
                    .rev()
                    .flat_map(|b| [b & 0x0f, b >> 4])
                    .map(|n| format!("{n:x}"))
                    .collect();
                nibbles.join(".")
            }
        };
        Some(format!("{reversed}.{}", self.query_zone))
    }

    /// What the answer to [`Self::query_name`] means.
    pub fn interpret(&self, answer: Answer<Vec<IpAddr>>) -> Listing {
        let ips = match answer {
            Ok(ips) => ips,
            Err(LookupError::NxDomain | LookupError::NoRecords) => return Listing::NotListed,
            Err(e) => return Listing::Error(e.to_string()),
        };
        let entry = self.entry.as_ref();
        let mut codes = Vec::new();
        for ip in ips {
            let IpAddr::V4(v4) = ip else {
                return Listing::Error(format!("an IPv6 answer ({ip}) where a code was due"));
            };
            if let Some(refused) = entry.and_then(|e| e.refused.iter().find(|r| r.code == v4)) {
                return Listing::Error(format!("query refused ({v4}): {}", refused.cause));
            }
            if v4.octets()[0] != 127 {
                // A resolver that answers every name (wildcard, NXDOMAIN hijacking).
                return Listing::Error(format!(
                    "an answer outside 127.0.0.0/8 ({v4}): the resolver rewrites NXDOMAIN?"
                ));
            }
            let range = entry.and_then(|e| e.code.iter().find(|c| c.from <= v4 && v4 <= c.to));
            codes.push(match range {
                Some(r) => ListedCode {
                    code: v4,
                    list: r.list.clone(),
                    kind: r.kind,
                    meaning: r.meaning.clone(),
                },
                None => ListedCode {
                    code: v4,
                    list: self.zone.clone(),
                    kind: ListKind::Spam,
                    meaning: "listed (a return code not in relayscan's table)".into(),
                },
            });
        }
        if codes.is_empty() {
            Listing::NotListed
        } else {
            Listing::Listed(codes)
        }
    }

    /// Whether a DQS key moved this zone to Spamhaus's Data Query Service (the query
    /// name then holds the key; the settings record only that it did).
    pub fn through_dqs(&self) -> bool {
        self.entry
            .as_ref()
            .and_then(|e| e.dqs.as_deref())
            .is_some_and(|dqs| self.query_zone.ends_with(&format!(".{dqs}")))
    }

    /// Where the owner asks for removal, when the zone is known.
    pub fn removal(&self) -> Option<&str> {
        self.entry.as_ref().map(|e| e.removal.as_str())
    }
}

/// One return code of a listing and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedCode {
    pub code: Ipv4Addr,
    pub list: String,
    pub kind: ListKind,
    pub meaning: String,
}

/// What one zone said about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    NotListed,
    Listed(Vec<ListedCode>),
    /// No answer to rely on: a refused query (with its cause), a timeout, SERVFAIL.
    Error(String),
}

/// One zone's answer about one address, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistAnswer {
    /// The public zone name (never the DQS name, which holds the key).
    pub zone: String,
    /// `listed`, `not-listed` or `error`.
    pub status: String,
    /// The return codes and what they mean (listed only).
    #[serde(default)]
    pub codes: Vec<ListedCode>,
    /// Why there is no answer to rely on (error only).
    #[serde(default)]
    pub error: Option<String>,
    /// Where the owner requests removal, when the zone is known.
    #[serde(default)]
    pub removal: Option<String>,
}

impl BlocklistAnswer {
    pub fn new(zone: &Blocklist, listing: Listing) -> BlocklistAnswer {
        let (status, codes, error) = match listing {
            Listing::NotListed => ("not-listed", Vec::new(), None),
            Listing::Listed(codes) => ("listed", codes, None),
            Listing::Error(e) => ("error", Vec::new(), Some(e)),
        };
        BlocklistAnswer {
            zone: zone.zone.clone(),
            status: status.to_string(),
            codes,
            error,
            removal: zone.removal().map(str::to_string),
        }
    }
}

/// The zones `spec` names: `default`, a comma list of zones or known names, or a file of
/// them (one a line, `#` comments) when `spec` is an existing file. `NAME=ZONE` asks ZONE
/// and reads its answers with NAME's codes (a local mirror of a list). A DQS key moves
/// the Spamhaus zone to `KEY.zen.dq.spamhaus.net`.
pub fn select(spec: &str, dqs_key: Option<&str>) -> Result<Vec<Blocklist>, String> {
    let words = crate::input::list_words("--blocklists", spec)?;
    let mut zones: Vec<Blocklist> = Vec::new();
    for (at, word) in words {
        let chosen: Vec<Blocklist> = if let Some((name, mirror)) = word.split_once('=') {
            // A mirror (or a test zone) answering with a known list's codes.
            let entry = known().iter().find(|e| e.name == name.trim());
            match entry {
                Some(e) if is_zone_name(mirror.trim()) => {
                    let zone = super::normalize_name(mirror.trim());
                    vec![Blocklist {
                        zone: zone.clone(),
                        query_zone: zone,
                        entry: Some(e.clone()),
                    }]
                }
                _ => {
                    return Err(format!(
                        "{at}: {word:?}: NAME=ZONE needs a known NAME and a zone name"
                    ));
                }
            }
        } else if word == "default" {
            known()
                .iter()
                .filter(|e| e.default)
                .map(|e| Blocklist::of(&e.zone))
                .collect()
        } else if is_zone_name(&word) || known().iter().any(|e| e.name == word) {
            vec![Blocklist::of(&word)]
        } else {
            return Err(format!(
                "{at}: {word:?} is not a zone name (letters, digits, '-' and dots, at least two labels) nor one of: default, {}",
                known()
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        for z in chosen {
            if !zones.iter().any(|have| have.zone == z.zone) {
                zones.push(z);
            }
        }
    }
    if zones.is_empty() {
        return Err(format!("--blocklists {spec:?}: no zone named"));
    }
    if let Some(key) = dqs_key {
        if key.is_empty() || key.len() > 63 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("--dqs-key: a Spamhaus DQS key is letters and digits (1 to 63)".into());
        }
        for z in &mut zones {
            // The list's own zone moves to the DQS; a NAME=ZONE mirror stays where it is.
            let dqs = z.entry.as_ref().filter(|e| e.zone == z.zone);
            if let Some(dqs) = dqs.and_then(|e| e.dqs.as_ref()) {
                z.query_zone = format!("{key}.{dqs}");
            }
        }
    }
    Ok(zones)
}

/// A DNS name of at least two labels, each 1 to 63 letters, digits or inner hyphens.
fn is_zone_name(word: &str) -> bool {
    let labels: Vec<&str> = word.trim_end_matches('.').split('.').collect();
    labels.len() >= 2
        && word.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zen() -> Blocklist {
        Blocklist::of("zen.spamhaus.org")
    }

    fn a(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_shipped_zones_follow_their_schema() {
        let table: Table = toml::from_str(BLOCKLISTS_TOML).expect("data/blocklists.toml parses");
        assert_eq!(known(), table.zone.as_slice());
        assert!(table.zone.iter().filter(|z| z.default).count() >= 5);
        let mut names = std::collections::HashSet::new();
        for z in &table.zone {
            assert!(names.insert(z.name.as_str()) && names.insert(z.zone.as_str()));
            assert!(is_zone_name(&z.zone), "{}", z.zone);
            assert!(z.removal.starts_with("https://"), "{}", z.name);
            assert!(!z.code.is_empty(), "{}: no codes", z.name);
            for c in &z.code {
                assert!(c.from <= c.to, "{}: {} > {}", z.name, c.from, c.to);
                assert_eq!(c.from.octets()[0], 127, "{}", z.name);
                assert!(!c.meaning.is_empty() && !c.list.is_empty());
            }
            for r in &z.refused {
                let clash = z.code.iter().any(|c| c.from <= r.code && r.code <= c.to);
                assert!(!clash, "{}: {} is both listed and refused", z.name, r.code);
            }
        }
        let zen = zen();
        let kinds: Vec<(u8, ListKind)> = (2..=11)
            .filter_map(|d| {
                let e = zen.entry.as_ref().unwrap();
                let code = Ipv4Addr::new(127, 0, 0, d);
                e.code
                    .iter()
                    .find(|c| c.from <= code && code <= c.to)
                    .map(|c| (d, c.kind))
            })
            .collect();
        use ListKind::*;
        assert_eq!(
            kinds,
            [
                (2, Spam),
                (3, Spam),
                (4, Exploited),
                (5, Exploited),
                (6, Exploited),
                (7, Exploited),
                (9, Spam),
                (10, Policy),
                (11, Policy)
            ]
        );
    }

    #[test]
    fn kind_names_are_the_serialised_ones() {
        for kind in [ListKind::Exploited, ListKind::Spam, ListKind::Policy] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
    }

    #[test]
    fn query_names_table() {
        let spamcop = Blocklist::of("spamcop");
        let custom = Blocklist::of("bl.example.net");
        let table = [
            (&zen(), "192.0.2.99", Some("99.2.0.192.zen.spamhaus.org")),
            (&spamcop, "192.0.2.1", Some("1.2.0.192.bl.spamcop.net")),
            (&custom, "198.51.100.7", Some("7.100.51.198.bl.example.net")),
            // An IPv4-mapped IPv6 address is its IPv4 address.
            (
                &spamcop,
                "::ffff:192.0.2.1",
                Some("1.2.0.192.bl.spamcop.net"),
            ),
            (
                &zen(),
                "2001:db8::1",
                Some(
                    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org",
                ),
            ),
            // Zones that list no IPv6, and unknown zones: not asked.
            (&spamcop, "2001:db8::1", None),
            (&custom, "2001:db8::1", None),
        ];
        for (zone, ip, want) in table {
            assert_eq!(
                zone.query_name(a(ip)).as_deref(),
                want,
                "{ip} in {}",
                zone.zone
            );
        }
    }

    #[test]
    fn answers_table() {
        let ok = |codes: &[&str]| Ok(codes.iter().map(|c| a(c)).collect::<Vec<_>>());
        let zen = zen();
        let listed = |answer| match zen.interpret(answer) {
            Listing::Listed(codes) => codes
                .iter()
                .map(|c| (c.list.clone(), c.kind))
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(listed(ok(&["127.0.0.2"])), [("SBL".into(), ListKind::Spam)]);
        assert_eq!(
            listed(ok(&["127.0.0.4", "127.0.0.10"])),
            [
                ("XBL".into(), ListKind::Exploited),
                ("PBL".into(), ListKind::Policy)
            ]
        );
        assert_eq!(
            zen.interpret(Err(LookupError::NxDomain)),
            Listing::NotListed
        );
        assert_eq!(
            zen.interpret(Err(LookupError::NoRecords)),
            Listing::NotListed
        );
        for (code, cause) in [
            ("127.255.255.252", "malformed"),
            ("127.255.255.254", "public or open resolver"),
            ("127.255.255.255", "excessive number of queries"),
        ] {
            match zen.interpret(ok(&[code])) {
                Listing::Error(e) => assert!(e.contains(cause) && e.contains(code), "{e}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        for bad in [
            Err(LookupError::Timeout),
            Err(LookupError::ServFail),
            ok(&["192.0.2.1"]),
            ok(&["::1"]),
        ] {
            assert!(matches!(zen.interpret(bad), Listing::Error(_)));
        }
        // A code a zone does not document is still a listing, said to be undocumented.
        let custom = Blocklist::of("bl.example.net");
        match custom.interpret(ok(&["127.0.0.2"])) {
            Listing::Listed(codes) => assert!(codes[0].meaning.contains("not in")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn selections_table() {
        let zones = |spec: &str, key| {
            select(spec, key).map(|z| {
                z.iter()
                    .map(|b| format!("{}={}", b.zone, b.query_zone))
                    .collect::<Vec<_>>()
            })
        };
        let default = zones("default", None).unwrap();
        assert_eq!(default.len(), 5);
        assert_eq!(default[0], "zen.spamhaus.org=zen.spamhaus.org");
        assert_eq!(
            zones("spamcop, bl.example.net,bl.spamcop.net", None).unwrap(),
            [
                "bl.spamcop.net=bl.spamcop.net",
                "bl.example.net=bl.example.net"
            ]
        );
        assert_eq!(
            zones("spamhaus-zen", Some("abc123")).unwrap(),
            ["zen.spamhaus.org=abc123.zen.dq.spamhaus.net"]
        );
        assert!(zones("default", Some("bad.key")).is_err());
        // The settings record whether a key moved a zone, never the key.
        let through = |spec: &str, key| -> Vec<bool> {
            let zones = select(spec, key).unwrap();
            zones.iter().map(Blocklist::through_dqs).collect()
        };
        assert_eq!(
            through("spamhaus-zen,spamcop", Some("abc123")),
            [true, false]
        );
        assert_eq!(through("spamhaus-zen,spamcop", None), [false, false]);
        assert_eq!(through("spamhaus-zen=zen.bl.lab.test", None), [false]);
        assert_eq!(
            zones("spamhaus-zen=zen.bl.lab.test", Some("abc123")).unwrap(),
            ["zen.bl.lab.test=zen.bl.lab.test"],
            "a mirror is asked where it is, key or not"
        );
        let mirror = select("spamhaus-zen=zen.bl.lab.test", None).unwrap();
        assert_eq!(mirror[0].zone, "zen.bl.lab.test");
        assert_eq!(mirror[0].entry.as_ref().unwrap().name, "spamhaus-zen");
        assert!(zones("nosuch=zen.bl.lab.test", None).is_err());
        assert!(zones("spamhaus-zen=bad zone", None).is_err());
        let err = zones("zen", None).unwrap_err();
        assert!(
            err.contains("\"zen\"") && err.contains("spamhaus-zen"),
            "{err}"
        );
        assert!(zones(" , ", None).is_err());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zones.txt");
        std::fs::write(
            &file,
            "# mine\nbl.example.net\n\npsbl # and this\nnot a zone\n",
        )
        .unwrap();
        let err = zones(file.to_str().unwrap(), None).unwrap_err();
        assert!(err.contains("zones.txt:5"), "{err}");
        std::fs::write(&file, "# mine\nbl.example.net\n\npsbl # and this\n").unwrap();
        assert_eq!(
            zones(file.to_str().unwrap(), None).unwrap(),
            [
                "bl.example.net=bl.example.net",
                "psbl.surriel.com=psbl.surriel.com"
            ]
        );
    }
}
