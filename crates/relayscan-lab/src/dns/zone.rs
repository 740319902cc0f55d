//! A small authoritative zone as plain data (the lab's DNS): records by name, plus names that answer SERVFAIL or never answer, and the pure lookup rules.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A name as the zone compares it: lowercase, without the trailing dot (`MX.Lab.Test.`
/// and `mx.lab.test` are one name, RFC 4343).
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// One record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// Preference and exchange; an empty exchange is the root (a null MX).
    Mx(u16, String),
    /// The character-strings of one TXT record, as stored (a long record is several).
    Txt(Vec<String>),
    Cname(String),
    Ptr(String),
    /// A TLSA record (RFC 6698): usage, selector, matching type, association data.
    Tlsa(u8, u8, u8, Vec<u8>),
}

/// The record types the zone answers for; anything else gets "no records".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QType {
    A,
    Aaaa,
    Mx,
    Txt,
    Cname,
    Ptr,
    Tlsa,
    Other(u16),
}

/// A TXT character-string holds at most 255 octets (RFC 1035 §3.3): a longer record is
/// published as several, which readers join (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
const MAX_CHARACTER_STRING: usize = 255;

impl Data {
    /// A TXT record of `text` (ASCII), cut into character-strings of at most 255 octets,
    /// as a 2048-bit DKIM key must be.
    pub fn long_txt(text: &str) -> Data {
        Data::Txt(
            text.as_bytes()
                .chunks(MAX_CHARACTER_STRING)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect(),
        )
    }

    fn qtype(&self) -> QType {
        match self {
            Data::A(_) => QType::A,
            Data::Aaaa(_) => QType::Aaaa,
            Data::Mx(..) => QType::Mx,
            Data::Txt(_) => QType::Txt,
            Data::Cname(_) => QType::Cname,
            Data::Ptr(_) => QType::Ptr,
            Data::Tlsa(..) => QType::Tlsa,
        }
    }
}

/// What the server does with one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneAnswer {
    /// NOERROR with these (name, data) answers (a CNAME chain first).
    Records(Vec<(String, Data)>),
    /// NOERROR, no answers: the name exists without records of that type.
    NoData,
    NxDomain,
    ServFail,
    /// Send nothing at all: a server that never answers.
    Drop,
    /// REFUSED: the name is outside the zone.
    Refused,
}

/// An authoritative zone: every name under `origin` that is neither listed nor above a
/// listed name is NXDOMAIN.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    origin: String,
    /// Further names served with the same authority (a domain of another organisation,
    /// such as a DMARC report receiver), each with every name under it.
    also: Vec<String>,
    records: HashMap<String, Vec<Data>>,
    /// Names with a listed name below them (`_domainkey.d.test` under
    /// `default._domainkey.d.test`): they exist, as empty non-terminals, and answer
    /// NOERROR without records (RFC 8020 §2), never NXDOMAIN. Names already listed when
    /// a name below them is added are left out (they exist anyway).
    nonterminals: HashSet<String>,
    servfail: HashSet<String>,
    silent: HashSet<String>,
    /// Names whose answers carry the AD bit, as from a validating resolver: the lab
    /// signs nothing, it says what a DNSSEC-validated answer looks like to a client.
    authenticated: HashSet<String>,
}

/// The name a PTR query asks for: `4.3.2.1.in-addr.arpa` or the IPv6 nibbles.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

impl Zone {
    /// An empty zone for `origin` (e.g. `lab.test`); reverse names are always served.
    pub fn new(origin: &str) -> Zone {
        Zone {
            origin: normalize_name(origin),
            ..Zone::default()
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Adds one record (the name is normalised).
    pub fn add(&mut self, name: &str, data: Data) -> &mut Zone {
        let name = normalize_name(name);
        let mut parent = name.as_str();
        while let Some((_, above)) = parent.split_once('.') {
            parent = above;
            // Every name above one already recorded is recorded too.
            if self.nonterminals.contains(parent) {
                break;
            }
            if !self.records.contains_key(parent) {
                self.nonterminals.insert(parent.to_string());
            }
        }
        self.records.entry(name).or_default().push(data);
        self
    }

    /// An A or AAAA record and the matching PTR, as a well-kept mail host has.
    pub fn add_host(&mut self, name: &str, ip: IpAddr) -> &mut Zone {
        let data = match ip {
            IpAddr::V4(v4) => Data::A(v4),
            IpAddr::V6(v6) => Data::Aaaa(v6),
        };
        self.add(name, data);
        self.add(&reverse_name(ip), Data::Ptr(normalize_name(name)))
    }

    /// Every question about `name` gets SERVFAIL.
    pub fn servfail(&mut self, name: &str) -> &mut Zone {
        self.servfail.insert(normalize_name(name));
        self
    }

    /// Answers about `name` carry the AD bit (DNSSEC-validated).
    pub fn authenticated(&mut self, name: &str) -> &mut Zone {
        self.authenticated.insert(normalize_name(name));
        self
    }

    /// Whether answers about `name` carry the AD bit.
    pub fn is_authenticated(&self, name: &str) -> bool {
        self.authenticated.contains(&normalize_name(name))
    }

    /// Every question about `name` goes unanswered.
    pub fn silent(&mut self, name: &str) -> &mut Zone {
        self.silent.insert(normalize_name(name));
        self
    }

    /// Serves `origin` too (with its subdomains): names of another organisation, in a
    /// reserved top-level domain such as `.test`.
    pub fn also_serve(&mut self, origin: &str) -> &mut Zone {
        self.also.push(normalize_name(origin));
        self
    }

    fn in_zone(&self, name: &str) -> bool {
        let under = |origin: &String| name == origin || name.ends_with(&format!(".{origin}"));
        under(&self.origin)
            || self.also.iter().any(under)
            || name.ends_with(".in-addr.arpa")
            || name.ends_with(".ip6.arpa")
    }

    /// The answer to one question, following CNAMEs inside the zone (at most 8).
    pub fn answer(&self, name: &str, qtype: QType) -> ZoneAnswer {
        let mut name = normalize_name(name);
        let mut chain = Vec::new();
        for _ in 0..8 {
            if self.silent.contains(&name) {
                return ZoneAnswer::Drop;
            }
            if self.servfail.contains(&name) {
                return ZoneAnswer::ServFail;
            }
            if !self.in_zone(&name) {
                return if chain.is_empty() {
                    ZoneAnswer::Refused
                } else {
                    ZoneAnswer::Records(chain)
                };
            }
            let Some(records) = self.records.get(&name) else {
                return if !chain.is_empty() {
                    ZoneAnswer::Records(chain)
                } else if self.nonterminals.contains(&name) {
                    ZoneAnswer::NoData
                } else {
                    ZoneAnswer::NxDomain
                };
            };
            let cname = records.iter().find_map(|d| match d {
                Data::Cname(target) if qtype != QType::Cname => Some(target.clone()),
                _ => None,
            });
            if let Some(target) = cname {
                chain.push((name.clone(), Data::Cname(target.clone())));
                name = normalize_name(&target);
                continue;
            }
            chain.extend(
                records
                    .iter()
                    .filter(|d| d.qtype() == qtype)
                    .map(|d| (name.clone(), d.clone())),
            );
            return if chain.is_empty() {
                ZoneAnswer::NoData
            } else {
                ZoneAnswer::Records(chain)
            };
        }
        ZoneAnswer::ServFail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Zone {
        let mut z = Zone::new("lab.test.");
        z.add("lab.test", Data::Mx(10, "mx1.lab.test".into()))
            .add("lab.test", Data::Mx(20, "mx2.lab.test".into()))
            .add("null.lab.test", Data::Mx(0, String::new()))
            .add("alias.lab.test", Data::Cname("mx1.lab.test".into()))
            .add("loop.lab.test", Data::Cname("loop.lab.test".into()))
            .add(
                "txt.lab.test",
                Data::Txt(vec!["v=spf1 ".into(), "-all".into()]),
            )
            .add(
                "k1._domainkey.lab.test",
                Data::Txt(vec!["v=DKIM1; p=".into()]),
            )
            .servfail("broken.lab.test")
            .silent("silent.lab.test");
        z.add_host("mx1.lab.test", "127.0.2.1".parse().unwrap());
        z
    }

    #[test]
    fn answers_by_table() {
        let z = zone();
        let mx1 = || {
            (
                "mx1.lab.test".to_string(),
                Data::A("127.0.2.1".parse().unwrap()),
            )
        };
        let table: Vec<(&str, QType, ZoneAnswer)> = vec![
            (
                "LAB.test.",
                QType::Mx,
                ZoneAnswer::Records(vec![
                    ("lab.test".into(), Data::Mx(10, "mx1.lab.test".into())),
                    ("lab.test".into(), Data::Mx(20, "mx2.lab.test".into())),
                ]),
            ),
            ("lab.test", QType::A, ZoneAnswer::NoData),
            ("nothere.lab.test", QType::Mx, ZoneAnswer::NxDomain),
            // An empty non-terminal exists: NOERROR without records (RFC 8020).
            ("_domainkey.lab.test", QType::Txt, ZoneAnswer::NoData),
            (
                "other._domainkey.lab.test",
                QType::Txt,
                ZoneAnswer::NxDomain,
            ),
            ("mx1.lab.test", QType::A, ZoneAnswer::Records(vec![mx1()])),
            ("mx1.lab.test", QType::Aaaa, ZoneAnswer::NoData),
            (
                "alias.lab.test",
                QType::A,
                ZoneAnswer::Records(vec![
                    ("alias.lab.test".into(), Data::Cname("mx1.lab.test".into())),
                    mx1(),
                ]),
            ),
            (
                "alias.lab.test",
                QType::Cname,
                ZoneAnswer::Records(vec![(
                    "alias.lab.test".into(),
                    Data::Cname("mx1.lab.test".into()),
                )]),
            ),
            ("loop.lab.test", QType::A, ZoneAnswer::ServFail),
            ("broken.lab.test", QType::Mx, ZoneAnswer::ServFail),
            ("silent.lab.test", QType::Txt, ZoneAnswer::Drop),
            ("example.com", QType::A, ZoneAnswer::Refused),
            (
                "1.2.0.127.in-addr.arpa",
                QType::Ptr,
                ZoneAnswer::Records(vec![(
                    "1.2.0.127.in-addr.arpa".into(),
                    Data::Ptr("mx1.lab.test".into()),
                )]),
            ),
            ("9.2.0.127.in-addr.arpa", QType::Ptr, ZoneAnswer::NxDomain),
            ("null.lab.test", QType::Other(99), ZoneAnswer::NoData),
        ];
        for (name, qtype, want) in table {
            assert_eq!(z.answer(name, qtype), want, "{name} {qtype:?}");
        }
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.7".parse().unwrap()),
            "7.2.0.192.in-addr.arpa"
        );
        let v6 = reverse_name("2001:db8::1".parse().unwrap());
        assert!(v6.starts_with("1.0.0.0.0.0.0.0."), "{v6}");
        assert!(v6.ends_with("8.b.d.0.1.0.0.2.ip6.arpa"), "{v6}");
        assert_eq!(v6.split('.').count(), 34);
    }

    #[test]
    fn names_compare_without_case_or_trailing_dot() {
        assert_eq!(normalize_name("MX.Lab.TEST."), "mx.lab.test");
        assert_eq!(normalize_name("mx.lab.test"), "mx.lab.test");
        assert_eq!(normalize_name("."), "");
    }
}
