//! When a probe starts TLS, where its relay tests run, and when a 530 asks for STARTTLS: pure decisions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::smtp::tls::TlsClient;
use crate::smtp::{Capabilities, Demand, Reply, demanded};

/// `--starttls`: when to send STARTTLS after the plaintext EHLO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartTls {
    /// When the server advertises it (what a mail server does).
    #[default]
    Auto,
    /// Also when it is not advertised: finds servers that accept it unannounced.
    Always,
    /// Never: the probe stays in plaintext.
    Never,
}

/// `--relay-over`: on which side of STARTTLS the relay tests run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelayOver {
    /// Where a real sender would: over TLS when it is established, else in plaintext.
    #[default]
    Auto,
    /// In plaintext, before STARTTLS; rerun over TLS only when a 530 asks for STARTTLS.
    Plain,
    /// Only over TLS; without TLS no test runs.
    Tls,
    /// Both: in plaintext first, then again over TLS.
    Both,
}

impl StartTls {
    pub const ALL: [StartTls; 3] = [StartTls::Auto, StartTls::Always, StartTls::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Auto => "auto",
            StartTls::Always => "always",
            StartTls::Never => "never",
        }
    }
}

impl RelayOver {
    pub const ALL: [RelayOver; 4] = [
        RelayOver::Auto,
        RelayOver::Plain,
        RelayOver::Tls,
        RelayOver::Both,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelayOver::Auto => "auto",
            RelayOver::Plain => "plain",
            RelayOver::Tls => "tls",
            RelayOver::Both => "both",
        }
    }
}

/// The value of `all` whose name is `text` (case-insensitive), else an error listing them.
fn choose<T: Copy>(text: &str, all: &[T], name: fn(T) -> &'static str) -> Result<T, String> {
    let wanted = text.trim();
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            format!("{text:?}: choose {}", names.join(", "))
        })
}

impl FromStr for StartTls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        choose(s, &StartTls::ALL, StartTls::as_str)
    }
}

impl FromStr for RelayOver {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        choose(s, &RelayOver::ALL, RelayOver::as_str)
    }
}

impl fmt::Display for StartTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RelayOver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the probes of a scan use TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    pub starttls: StartTls,
    pub relay_over: RelayOver,
    /// Ports that speak TLS first (implicit TLS, RFC 8314): 465 by default.
    pub implicit_ports: Vec<u16>,
    pub client: TlsClient,
}

impl TlsSettings {
    /// The defaults of the command line: auto, auto, port 465.
    pub fn standard() -> Self {
        TlsSettings {
            implicit_ports: vec![465],
            ..TlsSettings::default()
        }
    }

    pub fn is_implicit(&self, port: u16) -> bool {
        self.implicit_ports.contains(&port)
    }
}

/// Whether to send STARTTLS; `Err` says why not, in the words the report uses.
pub fn starttls_decision(policy: StartTls, offered: bool) -> Result<(), &'static str> {
    match (policy, offered) {
        (StartTls::Never, _) => Err("not tried: --starttls never"),
        (StartTls::Auto, false) => Err("not offered"),
        (StartTls::Auto, true) | (StartTls::Always, _) => Ok(()),
    }
}

/// Whether the relay tests run in plaintext before STARTTLS is tried.
pub fn plain_tests_first(relay_over: RelayOver, trying_tls: bool) -> bool {
    match relay_over {
        RelayOver::Plain | RelayOver::Both => true,
        RelayOver::Auto => !trying_tls,
        RelayOver::Tls => false,
    }
}

/// Whether the relay tests run over an established TLS session. `asked` is true when a
/// plaintext test was refused by a 530 that asks for STARTTLS.
pub fn tls_tests(relay_over: RelayOver, asked: bool) -> bool {
    match relay_over {
        RelayOver::Auto | RelayOver::Tls | RelayOver::Both => true,
        RelayOver::Plain => asked,
    }
}

/// Whether the relay tests fall back to plaintext when TLS did not come about and they
/// have not run yet: everywhere but `--relay-over tls`.
pub fn plain_fallback(relay_over: RelayOver) -> bool {
    relay_over != RelayOver::Tls
}

/// A refusal that asks for STARTTLS (RFC 3207 §4) from a server that may be asked for it:
/// [`demanded`] decides, by code and for 530 by its words. Such a refusal is not
/// "authentication required": the tests are rerun over TLS.
pub fn asks_for_starttls(reply: &Reply, plaintext_capabilities: &Capabilities) -> bool {
    demanded(reply, plaintext_capabilities.starttls()) == Some(Demand::Starttls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::EnhancedCode;

    fn reply(code: u16, enhanced: Option<(u8, u16, u16)>) -> Reply {
        Reply {
            code,
            enhanced: enhanced.map(|(class, subject, detail)| EnhancedCode {
                class,
                subject,
                detail,
            }),
            lines: vec!["text".into()],
        }
    }

    fn caps(lines: &[&str]) -> Capabilities {
        let mut all = vec!["mx.example.com".to_string()];
        all.extend(lines.iter().map(|l| l.to_string()));
        Capabilities::from_ehlo(&Reply {
            code: 250,
            enhanced: None,
            lines: all,
        })
    }

    #[test]
    fn flag_values() {
        for v in StartTls::ALL {
            assert_eq!(v.as_str().parse::<StartTls>(), Ok(v));
        }
        for v in RelayOver::ALL {
            assert_eq!(v.as_str().to_uppercase().parse::<RelayOver>(), Ok(v));
        }
        assert_eq!(" never ".parse::<StartTls>(), Ok(StartTls::Never));
        assert_eq!(
            "sometimes".parse::<StartTls>(),
            Err("\"sometimes\": choose auto, always, never".to_string())
        );
        assert_eq!(
            "".parse::<RelayOver>(),
            Err("\"\": choose auto, plain, tls, both".to_string())
        );
    }

    #[test]
    fn starttls_decisions() {
        let table = [
            (StartTls::Auto, true, Ok(())),
            (StartTls::Auto, false, Err("not offered")),
            (StartTls::Always, false, Ok(())),
            (StartTls::Always, true, Ok(())),
            (StartTls::Never, true, Err("not tried: --starttls never")),
            (StartTls::Never, false, Err("not tried: --starttls never")),
        ];
        for (policy, offered, want) in table {
            assert_eq!(
                starttls_decision(policy, offered),
                want,
                "{policy} {offered}"
            );
        }
    }

    #[test]
    fn where_the_tests_run() {
        use RelayOver::*;
        // (mode, trying TLS, plain first, over TLS when not asked, over TLS when asked, fallback)
        let table = [
            (Auto, true, false, true, true, true),
            (Auto, false, true, true, true, true),
            (Plain, true, true, false, true, true),
            (Tls, true, false, true, true, false),
            (Both, true, true, true, true, true),
        ];
        for (mode, trying, first, over_tls, over_tls_asked, fallback) in table {
            assert_eq!(plain_tests_first(mode, trying), first, "{mode} {trying}");
            assert_eq!(tls_tests(mode, false), over_tls, "{mode}");
            assert_eq!(tls_tests(mode, true), over_tls_asked, "{mode}");
            assert_eq!(plain_fallback(mode), fallback, "{mode}");
        }
    }

    #[test]
    fn a_530_asks_for_starttls_only_from_a_server_that_offers_it() {
        let offers = caps(&["PIPELINING", "STARTTLS"]);
        let silent = caps(&["PIPELINING", "AUTH PLAIN"]);
        let table = [
            (reply(530, Some((5, 7, 0))), &offers, true),
            (reply(530, None), &offers, true),
            (reply(554, Some((5, 7, 0))), &offers, true),
            (reply(554, Some((5, 7, 1))), &offers, false),
            (reply(454, Some((4, 7, 0))), &offers, false),
            // 250 whose text says "530": codes decide, and 250 is not a refusal.
            (reply(250, Some((2, 1, 5))), &offers, false),
            (reply(530, Some((5, 7, 0))), &silent, false),
        ];
        for (r, c, want) in table {
            assert_eq!(asks_for_starttls(&r, c), want, "{r:?}");
        }
        // OpenSMTPD's 530 names AUTH: it asks for authentication, not for STARTTLS.
        let mut opensmtpd = reply(530, Some((5, 5, 1)));
        opensmtpd.lines = vec!["5.5.1 Invalid command: Must issue an AUTH command first".into()];
        assert!(!asks_for_starttls(&opensmtpd, &offers));
    }
}
