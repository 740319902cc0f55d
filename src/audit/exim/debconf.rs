//! Debian's /etc/exim4/update-exim4.conf.conf: the `dc_*` answers and the Exim macros update-exim4.conf(8) makes of them (MAIN_RELAY_NETS, MAIN_RELAY_TO_DOMAINS, MAIN_LOCAL_DOMAINS, MAIN_LOCAL_INTERFACES, DCconfig_*), each located at its `dc_` line.
//!
//! The file is shell (`name='value'`), sourced by update-exim4.conf. What the script does
//! with it, and so what is done here: values are lowercased; a relay or interface list that
//! holds a `;` gets `<; ` in front (semicolon-separated); `127.0.0.1` and `::1` are always
//! added to dc_relay_nets; local domains are `@`, `localhost` and dc_other_hostnames; with
//! dc_eximconfig_configtype `none` (or anything unknown) no macro is made at all.

use super::read::Macro;
use crate::audit::model::{InputError, Location, Source};

/// One `dc_name='value'` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub at: Location,
}

/// The settings of an update-exim4.conf.conf, the last of each name winning (as in sh).
#[derive(Debug, Clone, Default)]
pub struct Debconf {
    pub settings: Vec<Setting>,
    pub file: String,
}

/// The configuration types update-exim4.conf substitutes values for.
const CONFIG_TYPES: [&str; 4] = ["internet", "smarthost", "satellite", "local"];

impl Debconf {
    pub fn parse(src: &Source) -> Result<Debconf, InputError> {
        let mut settings: Vec<Setting> = Vec::new();
        for (i, raw) in src.text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=').filter(|(n, _)| is_shell_name(n)) else {
                return Err(InputError::new(
                    &src.name,
                    i + 1,
                    format!("{line:?}: expected `name='value'`"),
                ));
            };
            let value = unquote(value).ok_or_else(|| {
                InputError::new(&src.name, i + 1, format!("{line:?}: unbalanced quotes"))
            })?;
            settings.retain(|s| s.name != name);
            settings.push(Setting {
                name: name.to_string(),
                value,
                at: Location::at(&src.name, i + 1),
            });
        }
        Ok(Debconf {
            settings,
            file: src.name.clone(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    fn value(&self, name: &str) -> String {
        self.get(name)
            .map(|s| s.value.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// Where a setting is, or the file's "(default)" when it is absent.
    pub fn location(&self, name: &str) -> Location {
        self.get(name)
            .map(|s| s.at.clone())
            .unwrap_or_else(|| Location::default_in(&self.file))
    }

    pub fn config_type(&self) -> String {
        self.value("dc_eximconfig_configtype")
    }

    /// Whether update-exim4.conf substitutes the values into the template at all.
    pub fn substitutes(&self) -> bool {
        CONFIG_TYPES.contains(&self.config_type().as_str())
    }

    /// The split configuration (conf.d/) rather than exim4.conf.template.
    pub fn split_config(&self) -> bool {
        self.value("dc_use_split_config") == "true"
    }

    /// The macros update-exim4.conf puts in front of the template, in its order.
    pub fn macros(&self) -> Vec<Macro> {
        if !self.substitutes() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut add = |name: &str, value: String, from: &str| {
            out.push(Macro {
                name: name.to_string(),
                value,
                at: self.location(from),
            })
        };
        let interfaces = semicolons(&self.value("dc_local_interfaces"));
        if !interfaces.is_empty() {
            add("MAIN_LOCAL_INTERFACES", interfaces, "dc_local_interfaces");
        }
        if self.value("dc_minimaldns") == "true" {
            add("DC_minimaldns", "1".into(), "dc_minimaldns");
        }
        let others = self.value("dc_other_hostnames");
        let local = format!("@:localhost:{}", others.replace(';', ":"));
        let local = local.trim_end_matches([';', ':', ' ']).replace(' ', "");
        add("MAIN_LOCAL_DOMAINS", local, "dc_other_hostnames");
        add(
            "MAIN_RELAY_TO_DOMAINS",
            semicolons(&self.value("dc_relay_domains")),
            "dc_relay_domains",
        );
        let nets = semicolons(&self.value("dc_relay_nets"));
        let nets = if nets.starts_with("<;") {
            format!("{nets} ; 127.0.0.1 ; ::1")
        } else {
            format!("{nets} : 127.0.0.1 : ::::1")
        };
        add("MAIN_RELAY_NETS", nets, "dc_relay_nets");
        let kind = self.config_type();
        add(
            "DC_eximconfig_configtype",
            kind.clone(),
            "dc_eximconfig_configtype",
        );
        add(
            &format!("DCconfig_{kind}"),
            "1".into(),
            "dc_eximconfig_configtype",
        );
        out
    }
}

/// A list with a `;` in it becomes a `<;` list, as update-exim4.conf does.
fn semicolons(value: &str) -> String {
    if value.contains(';') && !value.starts_with('<') {
        format!("<; {value}")
    } else {
        value.to_string()
    }
}

fn is_shell_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `'a b'`, `"a b"`, `a` → the value; `None` for an unclosed quote.
fn unquote(v: &str) -> Option<String> {
    let v = v.trim();
    for q in ['\'', '"'] {
        if let Some(rest) = v.strip_prefix(q) {
            let end = rest.find(q)?;
            return Some(rest[..end].to_string());
        }
    }
    Some(v.split_whitespace().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macros(text: &str) -> Vec<(String, String, Option<usize>)> {
        Debconf::parse(&Source::new("ue4cc", text))
            .unwrap()
            .macros()
            .into_iter()
            .map(|m| (m.name, m.value, m.at.line))
            .collect()
    }

    #[test]
    fn macros_table() {
        let text = "# debconf\ndc_eximconfig_configtype='internet'\ndc_other_hostnames='mail.example.org; example.org'\n\
                    dc_local_interfaces=''\ndc_relay_domains=''\ndc_relay_nets='192.0.2.0/24;2001:db8::/32'\n";
        let got = macros(text);
        let value = |name: &str| {
            got.iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, v, l)| (v.as_str(), *l))
        };
        assert_eq!(
            value("MAIN_RELAY_NETS"),
            Some(("<; 192.0.2.0/24;2001:db8::/32 ; 127.0.0.1 ; ::1", Some(6)))
        );
        assert_eq!(
            value("MAIN_LOCAL_DOMAINS"),
            Some(("@:localhost:mail.example.org:example.org", Some(3)))
        );
        assert_eq!(value("MAIN_RELAY_TO_DOMAINS"), Some(("", Some(5))));
        assert_eq!(value("MAIN_LOCAL_INTERFACES"), None);
        assert_eq!(value("DCconfig_internet"), Some(("1", Some(2))));
        // An empty dc_relay_nets still trusts loopback (colon list, IPv6 colons doubled).
        let got = macros("dc_eximconfig_configtype=local\ndc_relay_nets=\"\"\n");
        assert!(got.contains(&(
            "MAIN_RELAY_NETS".into(),
            " : 127.0.0.1 : ::::1".into(),
            Some(2)
        )));
        // `none`: update-exim4.conf substitutes nothing.
        assert!(macros("dc_eximconfig_configtype='none'\ndc_relay_nets='0.0.0.0/0'\n").is_empty());
    }

    #[test]
    fn bad_lines_name_the_line() {
        let table = [
            (
                "dc_a='x'\nnot a setting\n",
                "ue4cc:2: \"not a setting\": expected `name='value'`",
            ),
            ("dc_a='x\n", "ue4cc:1: \"dc_a='x\": unbalanced quotes"),
        ];
        for (text, want) in table {
            let e = Debconf::parse(&Source::new("ue4cc", text)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
    }
}
