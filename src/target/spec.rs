//! One target as the user writes it (`192.0.2.5`, `192.0.2.0/24:2525`, `[2001:db8::1]:25`,
//! `192.0.2.5-20`, `mail.example.com`): `FromStr`, `Display` (round-trips) and specific errors.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnetwork::IpNetwork;
use thiserror::Error;

use super::ports::{PortError, parse_port};

/// What to scan, before ports: one address, a network, an inclusive range, or a host name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetSpec {
    Addr(IpAddr),
    /// Always normalised to the network address (host bits cleared), like nmap.
    Net(IpNetwork),
    /// Inclusive; both ends are the same family and `start <= end`.
    Range {
        start: IpAddr,
        end: IpAddr,
    },
    /// Lowercased RFC 1123 name without a trailing dot.
    Host(String),
    /// A mail domain (`@example.com`): its MX hosts are scanned (see `crate::dns`).
    /// Lowercased, without a trailing dot.
    Domain(String),
}

/// One target spec with the port it was written with, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub spec: TargetSpec,
    pub port: Option<u16>,
}

impl Target {
    pub fn new(spec: TargetSpec, port: Option<u16>) -> Self {
        Target { spec, port }
    }
}

/// Why a target spec was refused. Messages avoid repeating the spec itself: the caller
/// (see `source::TargetError`) shows it next to its origin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpecError {
    #[error("empty target")]
    Empty,
    #[error("invalid IPv4 address ({0})")]
    Ipv4(String),
    #[error("invalid IPv6 address {0:?}")]
    Ipv6(String),
    #[error("invalid prefix length {0:?} (expected a number after '/')")]
    Prefix(String),
    #[error("prefix length /{prefix} too long (an {family} network has at most /{max})")]
    PrefixTooLong {
        prefix: String,
        max: u8,
        family: &'static str,
    },
    #[error("a network needs an IP address before '/', not {0:?}")]
    NetworkBase(String),
    #[error("range start {start} is after range end {end}")]
    RangeBackwards { start: IpAddr, end: IpAddr },
    #[error("range mixes IPv4 and IPv6 ({start} - {end})")]
    MixedFamilies { start: String, end: String },
    #[error("invalid range end {text:?} ({reason})")]
    RangeEnd { text: String, reason: String },
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("invalid character {0:?} in host name")]
    BadCharacter(char),
    #[error("invalid host name ({0})")]
    HostName(String),
    #[error("{0}")]
    Brackets(&'static str),
}

impl FromStr for Target {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        if s.is_empty() {
            return Err(SpecError::Empty);
        }
        if let Some(rest) = s.strip_prefix('[') {
            return parse_bracketed(rest);
        }
        if let Some(rest) = s.strip_prefix('@') {
            return parse_domain_target(rest);
        }
        // Two or more colons can only be bare IPv6 (which cannot carry a port without
        // brackets); exactly one separates a port.
        match s.bytes().filter(|&b| b == b':').count() {
            0 => Ok(Target::new(parse_spec(s)?, None)),
            1 => {
                let (spec, port) = s.split_once(':').expect("one colon");
                if spec.is_empty() {
                    return Err(SpecError::Empty);
                }
                let spec = parse_spec(spec)?;
                Ok(Target::new(spec, Some(parse_port(port)?)))
            }
            _ => Ok(Target::new(parse_v6_spec(s)?, None)),
        }
    }
}

/// `[v6 spec]` or `[v6 spec]:port`; `rest` follows the `[`.
fn parse_bracketed(rest: &str) -> Result<Target, SpecError> {
    let (inner, after) = rest
        .split_once(']')
        .ok_or(SpecError::Brackets("missing ']' after '['"))?;
    if !inner.contains(':') {
        return Err(SpecError::Brackets(
            "brackets are only for IPv6 addresses (write 192.0.2.5:25 for IPv4)",
        ));
    }
    let spec = parse_v6_spec(inner)?;
    let port = match after {
        "" => None,
        _ => match after.strip_prefix(':') {
            Some(port) => Some(parse_port(port)?),
            None => {
                return Err(SpecError::Brackets(
                    "only ':PORT' may follow ']' (as in [2001:db8::1]:25)",
                ));
            }
        },
    };
    Ok(Target::new(spec, port))
}

/// `@domain` or `@domain:port` (`rest` follows the `@`): a mail domain whose MX hosts
/// are the targets.
fn parse_domain_target(rest: &str) -> Result<Target, SpecError> {
    let (name, port) = match rest.split_once(':') {
        Some((name, port)) => (name, Some(parse_port(port)?)),
        None => (rest, None),
    };
    Ok(Target::new(
        TargetSpec::Domain(parse_mail_domain(name)?),
        port,
    ))
}

/// Validates a mail domain: a host name, never an address (`-d` and `@domain`).
pub fn parse_mail_domain(s: &str) -> Result<String, SpecError> {
    let s = s.strip_prefix('@').unwrap_or(s);
    if s.is_empty() {
        return Err(SpecError::HostName(
            "a mail domain needs a name after '@'".into(),
        ));
    }
    if s.trim_end_matches('.').parse::<IpAddr>().is_ok() {
        return Err(SpecError::HostName(
            "a mail domain is a name, not an address".into(),
        ));
    }
    parse_host(s)
}

/// A spec without colons: IPv4 address, network or range, or a host name.
fn parse_spec(s: &str) -> Result<TargetSpec, SpecError> {
    if let Some((base, prefix)) = s.split_once('/') {
        if !base.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(SpecError::NetworkBase(base.to_string()));
        }
        let addr = parse_ipv4(base)?;
        return make_net(IpAddr::V4(addr), prefix);
    }
    if let Some((start, end)) = s.split_once('-') {
        // A host name may contain '-', so only call it a range when the part before the
        // first '-' is a dotted quad or made of digits alone ("123-456" is no name).
        let digits_only = s
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
        if digits_only || parse_ipv4(start).is_ok() {
            return parse_v4_range(start, end);
        }
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // "192.0.2" or "1234" is a mistyped address, never a name to resolve.
        return parse_ipv4(s).map(|a| TargetSpec::Addr(IpAddr::V4(a)));
    }
    parse_host(s).map(TargetSpec::Host)
}

/// A spec that contains colons: IPv6 address, network or range.
fn parse_v6_spec(s: &str) -> Result<TargetSpec, SpecError> {
    if let Some((base, prefix)) = s.split_once('/') {
        let addr = parse_ipv6(base)?;
        return make_net(IpAddr::V6(addr), prefix);
    }
    if let Some((start, end)) = s.split_once('-') {
        let start_ip: Option<IpAddr> = start.parse().ok();
        let end_ip: Option<IpAddr> = end.parse().ok();
        if let (Some(a), Some(b)) = (start_ip, end_ip)
            && a.is_ipv4() != b.is_ipv4()
        {
            return Err(SpecError::MixedFamilies {
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        let start = IpAddr::V6(parse_ipv6(start)?);
        let end = match end_ip {
            Some(ip @ IpAddr::V6(_)) => ip,
            _ => {
                return Err(SpecError::RangeEnd {
                    text: end.to_string(),
                    reason: "expected a full IPv6 address".into(),
                });
            }
        };
        return make_range(start, end);
    }
    parse_ipv6(s).map(|a| TargetSpec::Addr(IpAddr::V6(a)))
}

fn parse_ipv6(s: &str) -> Result<Ipv6Addr, SpecError> {
    if s.is_empty() {
        return Err(SpecError::Ipv6(String::new()));
    }
    if let Ok(IpAddr::V4(_)) = s.parse::<IpAddr>() {
        return Err(SpecError::MixedFamilies {
            start: s.to_string(),
            end: "an IPv6 address".into(),
        });
    }
    s.parse().map_err(|_| SpecError::Ipv6(s.to_string()))
}

/// Strict dotted-quad parsing with a reason for each failure. Leading zeros are refused
/// because inet_aton (and so some other tools) read them as octal: "010" would be 8.
fn parse_ipv4(s: &str) -> Result<Ipv4Addr, SpecError> {
    let bad = SpecError::Ipv4;
    if s.is_empty() {
        return Err(bad("empty address".into()));
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_digit() && *c != '.') {
        return Err(bad(format!("unexpected character {c:?}")));
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("empty octet".into()));
    }
    if parts.len() != 4 {
        return Err(bad(format!("expected 4 octets, found {}", parts.len())));
    }
    let mut octets = [0u8; 4];
    for (slot, part) in octets.iter_mut().zip(&parts) {
        *slot = parse_octet(part).map_err(bad)?;
    }
    Ok(Ipv4Addr::from(octets))
}

/// One decimal octet (digits only, already checked non-empty by callers).
fn parse_octet(part: &str) -> Result<u8, String> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("octet {part:?} is not a number"));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!(
            "octet {part:?} has a leading zero (octal or decimal?)"
        ));
    }
    match part.parse::<u32>() {
        Ok(n) if n <= 255 => Ok(n as u8),
        _ => Err(format!("octet {part} > 255")),
    }
}

/// `start-end` for IPv4, where `end` is a full address or only the last octet.
fn parse_v4_range(start: &str, end: &str) -> Result<TargetSpec, SpecError> {
    if end.contains(':') {
        return Err(SpecError::MixedFamilies {
            start: start.to_string(),
            end: end.to_string(),
        });
    }
    let start_ip = parse_ipv4(start)?;
    let end_ip = if end.contains('.') {
        parse_ipv4(end).map_err(|e| SpecError::RangeEnd {
            text: end.to_string(),
            reason: match e {
                SpecError::Ipv4(reason) => reason,
                other => other.to_string(),
            },
        })?
    } else {
        if end.is_empty() {
            return Err(SpecError::RangeEnd {
                text: String::new(),
                reason: "expected an address or a last octet".into(),
            });
        }
        let last = parse_octet(end).map_err(|reason| SpecError::RangeEnd {
            text: end.to_string(),
            reason,
        })?;
        let [a, b, c, _] = start_ip.octets();
        Ipv4Addr::new(a, b, c, last)
    };
    make_range(IpAddr::V4(start_ip), IpAddr::V4(end_ip))
}

fn make_range(start: IpAddr, end: IpAddr) -> Result<TargetSpec, SpecError> {
    if start > end {
        return Err(SpecError::RangeBackwards { start, end });
    }
    Ok(TargetSpec::Range { start, end })
}

fn make_net(addr: IpAddr, prefix: &str) -> Result<TargetSpec, SpecError> {
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecError::Prefix(prefix.to_string()));
    }
    let (max, family) = match addr {
        IpAddr::V4(_) => (32u8, "IPv4"),
        IpAddr::V6(_) => (128u8, "IPv6"),
    };
    let too_long = || SpecError::PrefixTooLong {
        prefix: prefix.to_string(),
        max,
        family,
    };
    let len: u8 = prefix.parse().map_err(|_| too_long())?;
    if len > max {
        return Err(too_long());
    }
    let net = IpNetwork::new(addr, len).map_err(|_| too_long())?;
    // Host bits set ("192.0.2.5/24") means the whole network, as nmap reads it.
    let normal = IpNetwork::new(net.network(), len).map_err(|_| too_long())?;
    Ok(TargetSpec::Net(normal))
}

/// Validates and normalises an RFC 1123 host name: LDH labels of 1-63 characters, no
/// hyphen at either end of a label, at most 253 characters, an optional trailing dot.
fn parse_host(s: &str) -> Result<String, SpecError> {
    if let Some(c) = s
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && *c != '-' && *c != '.')
    {
        return Err(SpecError::BadCharacter(c));
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    let bad = |reason: &str| SpecError::HostName(reason.to_string());
    if name.is_empty() {
        return Err(bad("no labels"));
    }
    if name.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(bad("empty label"));
        }
        if label.len() > 63 {
            return Err(bad("label longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("label starts or ends with '-'"));
        }
    }
    Ok(name.to_ascii_lowercase())
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::Addr(ip) => write!(f, "{ip}"),
            TargetSpec::Net(net) => write!(f, "{}/{}", net.network(), net.prefix()),
            TargetSpec::Range { start, end } => write!(f, "{start}-{end}"),
            TargetSpec::Host(name) => f.write_str(name),
            TargetSpec::Domain(name) => write!(f, "@{name}"),
        }
    }
}

impl TargetSpec {
    fn is_ipv6(&self) -> bool {
        match self {
            TargetSpec::Addr(ip) => ip.is_ipv6(),
            TargetSpec::Net(net) => net.is_ipv6(),
            TargetSpec::Range { start, .. } => start.is_ipv6(),
            TargetSpec::Host(_) | TargetSpec::Domain(_) => false,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.port, self.spec.is_ipv6()) {
            (None, _) => write!(f, "{}", self.spec),
            (Some(port), true) => write!(f, "[{}]:{port}", self.spec),
            (Some(port), false) => write!(f, "{}:{port}", self.spec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }
    fn net(s: &str) -> TargetSpec {
        TargetSpec::Net(s.parse().unwrap())
    }
    fn range(a: IpAddr, b: IpAddr) -> TargetSpec {
        TargetSpec::Range { start: a, end: b }
    }
    fn host(s: &str) -> TargetSpec {
        TargetSpec::Host(s.into())
    }

    #[test]
    fn good_specs() {
        let long_label = "a".repeat(63);
        let long_name = format!("{0}.{0}.{0}.{1}", "b".repeat(63), "c".repeat(61));
        assert_eq!(long_name.len(), 253);
        let cases: Vec<(&str, TargetSpec, Option<u16>, &str)> = vec![
            // (input, spec, port, canonical display)
            (
                "127.0.0.5",
                TargetSpec::Addr(v4("127.0.0.5")),
                None,
                "127.0.0.5",
            ),
            ("0.0.0.0", TargetSpec::Addr(v4("0.0.0.0")), None, "0.0.0.0"),
            (
                "2001:db8::1",
                TargetSpec::Addr(v6("2001:db8::1")),
                None,
                "2001:db8::1",
            ),
            ("::1", TargetSpec::Addr(v6("::1")), None, "::1"),
            ("127.0.0.0/24", net("127.0.0.0/24"), None, "127.0.0.0/24"),
            ("127.0.0.77/24", net("127.0.0.0/24"), None, "127.0.0.0/24"),
            ("127.0.0.5/32", net("127.0.0.5/32"), None, "127.0.0.5/32"),
            ("0.0.0.0/0", net("0.0.0.0/0"), None, "0.0.0.0/0"),
            (
                "2001:db8::/120",
                net("2001:db8::/120"),
                None,
                "2001:db8::/120",
            ),
            (
                "2001:db8::abcd/120",
                net("2001:db8::ab00/120"),
                None,
                "2001:db8::ab00/120",
            ),
            (
                "127.0.0.5-127.0.0.20",
                range(v4("127.0.0.5"), v4("127.0.0.20")),
                None,
                "127.0.0.5-127.0.0.20",
            ),
            (
                "127.0.0.5-20",
                range(v4("127.0.0.5"), v4("127.0.0.20")),
                None,
                "127.0.0.5-127.0.0.20",
            ),
            (
                "127.0.0.5-5",
                range(v4("127.0.0.5"), v4("127.0.0.5")),
                None,
                "127.0.0.5-127.0.0.5",
            ),
            (
                "127.0.0.250-127.0.1.3",
                range(v4("127.0.0.250"), v4("127.0.1.3")),
                None,
                "127.0.0.250-127.0.1.3",
            ),
            (
                "2001:db8::1-2001:db8::ff",
                range(v6("2001:db8::1"), v6("2001:db8::ff")),
                None,
                "2001:db8::1-2001:db8::ff",
            ),
            (
                "mail.example.com",
                host("mail.example.com"),
                None,
                "mail.example.com",
            ),
            (
                "Mail.Example.COM.",
                host("mail.example.com"),
                None,
                "mail.example.com",
            ),
            ("localhost", host("localhost"), None, "localhost"),
            ("mx-1.example", host("mx-1.example"), None, "mx-1.example"),
            ("1.example", host("1.example"), None, "1.example"),
            ("example.123a", host("example.123a"), None, "example.123a"),
            (&long_label, host(&long_label), None, &long_label),
            (&long_name, host(&long_name), None, &long_name),
            (
                "mail.example.com:2525",
                host("mail.example.com"),
                Some(2525),
                "mail.example.com:2525",
            ),
            (
                "@Example.COM.",
                TargetSpec::Domain("example.com".into()),
                None,
                "@example.com",
            ),
            (
                "@lab.test:2525",
                TargetSpec::Domain("lab.test".into()),
                Some(2525),
                "@lab.test:2525",
            ),
            (
                "localhost:smtp",
                host("localhost"),
                Some(25),
                "localhost:25",
            ),
            (
                "127.0.0.5:2525",
                TargetSpec::Addr(v4("127.0.0.5")),
                Some(2525),
                "127.0.0.5:2525",
            ),
            (
                "[2001:db8::1]:25",
                TargetSpec::Addr(v6("2001:db8::1")),
                Some(25),
                "[2001:db8::1]:25",
            ),
            (
                "[2001:db8::1]",
                TargetSpec::Addr(v6("2001:db8::1")),
                None,
                "2001:db8::1",
            ),
            (
                "127.0.0.0/24:2525",
                net("127.0.0.0/24"),
                Some(2525),
                "127.0.0.0/24:2525",
            ),
            (
                "[2001:db8::/120]:25",
                net("2001:db8::/120"),
                Some(25),
                "[2001:db8::/120]:25",
            ),
            (
                "127.0.0.5-20:587",
                range(v4("127.0.0.5"), v4("127.0.0.20")),
                Some(587),
                "127.0.0.5-127.0.0.20:587",
            ),
            (
                "[2001:db8::1-2001:db8::ff]:465",
                range(v6("2001:db8::1"), v6("2001:db8::ff")),
                Some(465),
                "[2001:db8::1-2001:db8::ff]:465",
            ),
            (
                "192.0.2.1:65535",
                TargetSpec::Addr(v4("192.0.2.1")),
                Some(65535),
                "192.0.2.1:65535",
            ),
        ];
        for (input, spec, port, shown) in cases {
            let got: Target = input
                .parse()
                .unwrap_or_else(|e| panic!("{input:?} refused: {e}"));
            assert_eq!(got, Target { spec, port }, "input {input:?}");
            assert_eq!(got.to_string(), shown, "display of {input:?}");
            // Round trip: the display parses back to the same target.
            assert_eq!(
                shown.parse::<Target>().as_ref(),
                Ok(&got),
                "reparse {shown:?}"
            );
        }
    }

    #[test]
    fn bad_specs() {
        let long_label = format!("{}.example", "a".repeat(64));
        let long_name = format!("{0}.{0}.{0}.{1}", "b".repeat(63), "c".repeat(62));
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty target"),
            (":25", "empty target"),
            ("127.0.0.300", "invalid IPv4 address (octet 300 > 255)"),
            (
                "127.0.0",
                "invalid IPv4 address (expected 4 octets, found 3)",
            ),
            (
                "127.0.0.0.1",
                "invalid IPv4 address (expected 4 octets, found 5)",
            ),
            ("1234", "invalid IPv4 address (expected 4 octets, found 1)"),
            ("127..0.1", "invalid IPv4 address (empty octet)"),
            ("127.0.0.5.", "invalid IPv4 address (empty octet)"),
            (
                "0127.0.0.1",
                "invalid IPv4 address (octet \"0127\" has a leading zero (octal or decimal?))",
            ),
            (
                "99999999999.0.0.1",
                "invalid IPv4 address (octet 99999999999 > 255)",
            ),
            (
                "127.0.0.20-127.0.0.5",
                "range start 127.0.0.20 is after range end 127.0.0.5",
            ),
            (
                "127.0.0.20-5",
                "range start 127.0.0.20 is after range end 127.0.0.5",
            ),
            (
                "127.0.0.5-300",
                "invalid range end \"300\" (octet 300 > 255)",
            ),
            (
                "127.0.0.5-",
                "invalid range end \"\" (expected an address or a last octet)",
            ),
            (
                "127.0.0.5-127.0.0",
                "invalid range end \"127.0.0\" (expected 4 octets, found 3)",
            ),
            (
                "127.0.0.5-x",
                "invalid range end \"x\" (octet \"x\" is not a number)",
            ),
            (
                "123-456",
                "invalid IPv4 address (expected 4 octets, found 1)",
            ),
            (
                "2001:db8::ff-2001:db8::1",
                "range start 2001:db8::ff is after range end 2001:db8::1",
            ),
            (
                "127.0.0.1-2001:db8::1",
                "range mixes IPv4 and IPv6 (127.0.0.1 - 2001:db8::1)",
            ),
            (
                "2001:db8::1-127.0.0.1",
                "range mixes IPv4 and IPv6 (2001:db8::1 - 127.0.0.1)",
            ),
            (
                "127.0.0.0/33",
                "prefix length /33 too long (an IPv4 network has at most /32)",
            ),
            (
                "2001:db8::/129",
                "prefix length /129 too long (an IPv6 network has at most /128)",
            ),
            (
                "127.0.0.0/99999",
                "prefix length /99999 too long (an IPv4 network has at most /32)",
            ),
            (
                "127.0.0.0/",
                "invalid prefix length \"\" (expected a number after '/')",
            ),
            (
                "127.0.0.0/x",
                "invalid prefix length \"x\" (expected a number after '/')",
            ),
            (
                "127.0.0.0/+8",
                "invalid prefix length \"+8\" (expected a number after '/')",
            ),
            (
                "example.com/24",
                "a network needs an IP address before '/', not \"example.com\"",
            ),
            ("127.0.0.300/24", "invalid IPv4 address (octet 300 > 255)"),
            ("127.0.0.5:0", "port 0 is not allowed"),
            ("127.0.0.5:65536", "port 65536 > 65535"),
            ("example.com:99999", "port 99999 > 65535"),
            ("[2001:db8::1]:70000", "port 70000 > 65535"),
            ("127.0.0.0/24:0", "port 0 is not allowed"),
            ("exa_mple.com", "invalid character '_' in host name"),
            ("exa mple.com", "invalid character ' ' in host name"),
            ("mail.exämple.com", "invalid character 'ä' in host name"),
            ("a..b", "invalid host name (empty label)"),
            (
                "@",
                "invalid host name (a mail domain needs a name after '@')",
            ),
            (
                "@192.0.2.1",
                "invalid host name (a mail domain is a name, not an address)",
            ),
            ("@exa_mple.com", "invalid character '_' in host name"),
            ("@example.com:99999", "port 99999 > 65535"),
            (".example", "invalid host name (empty label)"),
            (
                "-mail.example",
                "invalid host name (label starts or ends with '-')",
            ),
            (
                "mail-.example",
                "invalid host name (label starts or ends with '-')",
            ),
            (
                &long_label,
                "invalid host name (label longer than 63 characters)",
            ),
            (&long_name, "invalid host name (longer than 253 characters)"),
            ("2001:db8::g", "invalid IPv6 address \"2001:db8::g\""),
            ("fe80::1%eth0", "invalid IPv6 address \"fe80::1%eth0\""),
            ("[2001:db8::1", "missing ']' after '['"),
            (
                "[127.0.0.5]:25",
                "brackets are only for IPv6 addresses (write 192.0.2.5:25 for IPv4)",
            ),
            (
                "[2001:db8::1]25",
                "only ':PORT' may follow ']' (as in [2001:db8::1]:25)",
            ),
            (
                "[2001:db8::1]:",
                "invalid port \"\" (expected a number 1-65535 or one of smtp, submission, smtps, submissions)",
            ),
            (
                "2001:db8::/120:25",
                "invalid prefix length \"120:25\" (expected a number after '/')",
            ),
        ];
        for (input, want) in cases {
            match input.parse::<Target>() {
                Ok(t) => panic!("{input:?} accepted as {t:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "input {input:?}"),
            }
        }
    }

    #[test]
    fn hostname_rule_applies_only_to_names() {
        // Digits-and-dots never becomes a name to resolve, whatever the shape.
        for input in ["1.2.3", "1.2.3.4.5", "256.1.1.1", "1"] {
            assert!(
                matches!(input.parse::<Target>(), Err(SpecError::Ipv4(_))),
                "{input}"
            );
        }
    }
}
