//! Postfix master.cf: the smtpd services and their `-o name=value` overrides, each with the line it is written on.
//!
//! master(5): `service type private unpriv chroot wakeup maxproc command [args]`, the same
//! comment and continuation rules as main.cf. Overrides are `-o name=value`, `-o name = value`
//! split over words, or (Postfix 3.0) `-o { name = value with spaces }`.

use super::params::logical_lines;
use crate::audit::model::{InputError, Location};

/// One smtpd service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service field: `smtp`, `submission`, `127.0.0.1:2525`, `smtpd` (behind postscreen).
    pub name: String,
    /// `inet`, `pass`, `unix`.
    pub kind: String,
    pub at: Location,
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub name: String,
    pub value: String,
    pub at: Location,
}

/// The smtpd services of a master.cf (other services are irrelevant to relaying).
pub fn smtpd_services(file: &str, text: &str) -> Result<Vec<Service>, InputError> {
    let mut out = Vec::new();
    for l in logical_lines(file, text)? {
        let words: Vec<&str> = l.text.split_whitespace().collect();
        if words.len() < 8 {
            return Err(InputError::new(
                file,
                l.line,
                format!(
                    "{:?}: a service needs 8 fields (service type private unpriv chroot wakeup maxproc command)",
                    l.text
                ),
            ));
        }
        let command = words[7].rsplit('/').next().unwrap_or(words[7]);
        if command != "smtpd" {
            continue;
        }
        let mut overrides = Vec::new();
        let mut i = 8;
        while i < words.len() {
            let line_of = |w: usize| l.word_lines.get(w).copied().unwrap_or(l.line);
            if words[i] != "-o" {
                i += 1;
                continue;
            }
            let at = Location::at(file, line_of(i));
            i += 1;
            // Gather `name=value`, `name = value`, `{ name = value }` into one string.
            let mut text = String::new();
            if words.get(i).is_some_and(|w| w.starts_with('{')) {
                while let Some(w) = words.get(i) {
                    text.push_str(w);
                    text.push(' ');
                    i += 1;
                    if w.ends_with('}') {
                        break;
                    }
                }
                text = text
                    .trim()
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .to_string();
            } else {
                while let Some(w) = words.get(i) {
                    text.push_str(w);
                    i += 1;
                    let complete = text.contains('=') && !text.ends_with('=');
                    let next_is_eq = words.get(i).is_some_and(|n| n.starts_with('='));
                    if complete && !next_is_eq {
                        break;
                    }
                }
            }
            let Some((name, value)) = text.split_once('=') else {
                return Err(InputError::new(
                    file,
                    at.line.unwrap_or(l.line),
                    format!("-o {text:?}: expected -o name=value"),
                ));
            };
            overrides.push(Override {
                name: name.trim().to_string(),
                value: value.trim().to_string(),
                at,
            });
        }
        out.push(Service {
            name: words[0].to_string(),
            kind: words[1].to_string(),
            at: Location::at(file, l.line),
            overrides,
        });
    }
    Ok(out)
}

/// The port a service listens on, for people: `smtp` → 25, `submission` → 587, `host:port`.
pub fn port_label(service: &str) -> String {
    let port = service.rsplit(':').next().unwrap_or(service);
    match port {
        "smtp" => "port 25".into(),
        "submission" => "port 587".into(),
        "smtps" | "submissions" => "port 465".into(),
        p if p.chars().all(|c| c.is_ascii_digit()) => format!("port {p}"),
        _ => format!("service {service}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_overrides() {
        let text = "\
# Postfix master process configuration file.
smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_relay_restrictions = permit_sasl_authenticated,reject
127.0.0.1:2525 inet n - n - - /usr/lib/postfix/sbin/smtpd -o { smtpd_relay_restrictions = permit_mynetworks, permit }
";
        let s = smtpd_services("master.cf", text).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].name.as_str(), s[0].overrides.len()), ("smtp", 0));
        assert_eq!(s[1].name, "submission");
        assert_eq!(s[1].at, Location::at("master.cf", 4));
        let o: Vec<(&str, &str, Option<usize>)> = s[1]
            .overrides
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_str(), o.at.line))
            .collect();
        assert_eq!(
            o,
            vec![
                ("syslog_name", "postfix/submission", Some(5)),
                ("smtpd_tls_security_level", "encrypt", Some(6)),
                (
                    "smtpd_relay_restrictions",
                    "permit_sasl_authenticated,reject",
                    Some(7)
                ),
            ]
        );
        assert_eq!(s[2].overrides[0].value, "permit_mynetworks, permit");
        assert_eq!(s[2].overrides[0].at, Location::at("master.cf", 8));
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = smtpd_services("master.cf", "smtp inet n - y\n").unwrap_err();
        assert!(e.to_string().starts_with("master.cf:1: "), "{e}");
        let e = smtpd_services("master.cf", "smtp inet n - y - - smtpd -o novalue\n").unwrap_err();
        assert!(e.to_string().starts_with("master.cf:1: "), "{e}");
    }

    #[test]
    fn port_labels() {
        for (svc, want) in [
            ("smtp", "port 25"),
            ("submission", "port 587"),
            ("127.0.0.1:2525", "port 2525"),
            ("smtpd", "service smtpd"),
        ] {
            assert_eq!(port_label(svc), want);
        }
    }
}
