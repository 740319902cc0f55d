//! Port lists: `25`, `25,465,587`, `2525-2530`, service names; one port (`parse_port`) for `host:port`.

use thiserror::Error;

/// Why a port or port list was refused. Each message stands alone, so a spec error can
/// show it unchanged (`invalid port "x"`, `port 0 is not allowed`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PortError {
    #[error("empty port list")]
    Empty,
    #[error("empty item in port list (two commas in a row, or a trailing comma?)")]
    EmptyItem,
    #[error(
        "invalid port {0:?} (expected a number 1-65535 or one of smtp, submission, smtps, submissions)"
    )]
    Invalid(String),
    #[error("port 0 is not allowed")]
    Zero,
    #[error("port {0} > 65535")]
    TooLarge(String),
    #[error("port range {start}-{end} runs backwards (start after end)")]
    Backwards { start: u16, end: u16 },
}

/// Service names an SMTP auditor writes instead of numbers. `smtps` and `submissions`
/// are the same service (implicit TLS, RFC 8314), which IANA registers as 465.
const NAMES: &[(&str, u16)] = &[
    ("smtp", 25),
    ("submission", 587),
    ("smtps", 465),
    ("submissions", 465),
];

/// Parses one port: a decimal number 1-65535 or a service name (case-insensitive).
pub fn parse_port(s: &str) -> Result<u16, PortError> {
    if s.is_empty() {
        return Err(PortError::Invalid(String::new()));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        // Checked as digits first: `u16::from_str` would accept "+25". Leading zeros are
        // harmless here (unlike IPv4 octets, no one reads "025" as octal).
        return match s.parse::<u32>() {
            Ok(0) => Err(PortError::Zero),
            Ok(n) if n <= u32::from(u16::MAX) => Ok(n as u16),
            // Any all-digit string too long for u32 is also > 65535.
            _ => Err(PortError::TooLarge(s.to_string())),
        };
    }
    let lower = s.to_ascii_lowercase();
    NAMES
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|&(_, port)| port)
        .ok_or_else(|| PortError::Invalid(s.to_string()))
}

/// Parses a comma-separated list of ports, names and inclusive ranges into a sorted,
/// deduplicated list.
///
/// There is no separate cap on range size: since 0 and values above 65535 are refused,
/// the widest possible range (`1-65535`) already is the cap of 65535 entries, and the
/// result of a whole list never exceeds that either because it is deduplicated.
pub fn parse_ports(s: &str) -> Result<Vec<u16>, PortError> {
    if s.trim().is_empty() {
        return Err(PortError::Empty);
    }
    let mut ports = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(PortError::EmptyItem);
        }
        match item.split_once('-') {
            Some((a, b)) => {
                let start = parse_port(a.trim())?;
                let end = parse_port(b.trim())?;
                if start > end {
                    return Err(PortError::Backwards { start, end });
                }
                ports.extend(start..=end);
            }
            None => ports.push(parse_port(item)?),
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lists() {
        let cases: &[(&str, &[u16])] = &[
            ("25", &[25]),
            ("25,465,587", &[25, 465, 587]),
            ("587,25,465", &[25, 465, 587]),
            ("25,25,25", &[25]),
            ("2525-2530", &[2525, 2526, 2527, 2528, 2529, 2530]),
            ("2525-2525", &[2525]),
            ("smtp", &[25]),
            ("SMTP,Submission", &[25, 587]),
            ("smtps,submissions", &[465]),
            ("smtp, 465 ,submission", &[25, 465, 587]),
            ("24-26,25", &[24, 25, 26]),
            ("1", &[1]),
            ("65535", &[65535]),
            ("0025", &[25]),
            ("smtp-27", &[25, 26, 27]),
        ];
        for (input, want) in cases {
            assert_eq!(parse_ports(input).as_deref(), Ok(*want), "input {input:?}");
        }
    }

    #[test]
    fn full_range_is_the_cap() {
        let all = parse_ports("1-65535").unwrap();
        assert_eq!(all.len(), 65535);
        assert_eq!(all.first(), Some(&1));
        assert_eq!(all.last(), Some(&65535));
        assert_eq!(parse_ports("1-65535,25,100-200").unwrap().len(), 65535);
    }

    #[test]
    fn bad_lists() {
        let cases: &[(&str, PortError)] = &[
            ("", PortError::Empty),
            ("  ", PortError::Empty),
            ("0", PortError::Zero),
            ("65536", PortError::TooLarge("65536".into())),
            (
                "99999999999999999999",
                PortError::TooLarge("99999999999999999999".into()),
            ),
            ("25,", PortError::EmptyItem),
            (",25", PortError::EmptyItem),
            ("25,,26", PortError::EmptyItem),
            ("+25", PortError::Invalid("+25".into())),
            ("http", PortError::Invalid("http".into())),
            ("2 5", PortError::Invalid("2 5".into())),
            ("-5", PortError::Invalid(String::new())),
            ("5-", PortError::Invalid(String::new())),
            ("30-20", PortError::Backwards { start: 30, end: 20 }),
            ("0-10", PortError::Zero),
            ("10-70000", PortError::TooLarge("70000".into())),
            ("1-2-3", PortError::Invalid("2-3".into())),
        ];
        for (input, want) in cases {
            assert_eq!(parse_ports(input).as_ref(), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            parse_ports("70000").unwrap_err().to_string(),
            "port 70000 > 65535"
        );
        assert_eq!(
            parse_ports("0").unwrap_err().to_string(),
            "port 0 is not allowed"
        );
        assert!(
            parse_ports("http")
                .unwrap_err()
                .to_string()
                .starts_with("invalid port \"http\"")
        );
    }
}
