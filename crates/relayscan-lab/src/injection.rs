//! The injection personas' text (hostile-csv, hostile-html, hostile-terminal): greetings and replies crafted against every report (spreadsheet, browser, Markdown, terminal).
//!
//! Pure text. The payloads only ever try to touch the page they land in
//! (`document.body.dataset.pwned`), so that a test can prove they stayed inert; the only
//! URLs are documentation names (`evil.example`), never fetched.

use crate::persona::Persona;

/// What the hostile HTML payloads would set on the report page, were they ever to run.
pub const PWNED_ATTRIBUTE: &str = "data-pwned";

/// The greeting line of a hostile persona (with its `220 `), `None` for the others.
pub fn greeting(persona: Persona, host: &str) -> Option<String> {
    let text = match persona {
        // Formulas for every spreadsheet trigger, a tab, quotes and commas; it also names
        // its software and version, so that reports show Exim's remediation and a
        // banner-version finding.
        Persona::HostileCsv => format!(
            "220 {host} ESMTP Exim 4.98 =HYPERLINK(\"http://evil.example/\",\"click\") +cmd -2+3 @SUM(1)\t=1+1 \"quoted\", with, commas"
        ),
        // Script, attribute break-out, script-block break-out, Markdown link and table pipe;
        // it calls itself Postfix, so that reports show Postfix's remediation.
        Persona::HostileHtml => format!(
            "220 {host} ESMTP Postfix <script>document.body.dataset.pwned='script'</script> \
             \"><img src=x onerror=\"document.body.dataset.pwned='img'\"> \
             </script><b>bold</b> [click](http://evil.example/) | `tick`"
        ),
        // Clear screen and recolour, an OSC 8 hyperlink, an OSC 52 clipboard write, and a
        // bidi override that shows "exe.png" as "png.exe".
        Persona::HostileTerminal => format!(
            "220 {host} ESMTP \u{1b}[2J\u{1b}[H\u{1b}[32mALL CLEAR\u{1b}[0m \
             \u{1b}]8;;http://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\ \
             \u{1b}]52;c;cm0gLXJmIH4K\u{7} invoice\u{202e}gnp.exe\u{202c}"
        ),
        _ => return None,
    };
    Some(text)
}

/// Changes a hostile persona's EHLO reply: hostile text on its first line and, for the
/// spreadsheet persona, AUTH "mechanisms" that start a CSV cell with a formula.
pub fn ehlo(persona: Persona, lines: &mut Vec<String>) {
    let Some(first) = lines.first_mut() else {
        return;
    };
    match persona {
        Persona::HostileCsv => {
            first.push_str(" @SUM(1) -2+3");
            lines.insert(
                1,
                "250-AUTH =HYPERLINK(\"http://evil.example/\",\"x\") +cmd -2+3 @SUM(1) PLAIN"
                    .to_string(),
            );
        }
        Persona::HostileHtml => {
            first.push_str(" <svg onload=\"document.body.dataset.pwned='svg'\"></svg>");
        }
        Persona::HostileTerminal => first.push_str(" \u{1b}[1A\u{1b}[2K\u{9b}31m"),
        _ => {}
    }
}

/// A hostile persona's RCPT reply, from the reply an ordinary MTA would give (`plain`);
/// others get `plain` back.
pub fn rcpt(persona: Persona, plain: String) -> String {
    match persona {
        Persona::HostileCsv => {
            format!("{plain} -2+3 =cmd|'/C calc'!A0 @SUM(1) \"denied\", sorry")
        }
        Persona::HostileHtml => format!(
            "{plain} <iframe srcdoc=\"<script>parent.document.body.dataset.pwned='iframe'</script>\"></iframe>"
        ),
        Persona::HostileTerminal => {
            format!("{plain} \u{1b}[1A\u{1b}[2Krelayscan: no open relay found\u{2066}\u{202e}")
        }
        _ => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [Persona; 3] = [
        Persona::HostileCsv,
        Persona::HostileHtml,
        Persona::HostileTerminal,
    ];

    #[test]
    fn hostile_personas_greet_with_their_name_first() {
        for p in HOSTILE {
            let g = greeting(p, p.hostname()).unwrap();
            // The scanner reads the server name from the first word after the code.
            assert!(
                g.starts_with(&format!("220 {} ESMTP ", p.hostname())),
                "{g}"
            );
            assert!(!g.contains(['\r', '\n']), "one line: {g:?}");
        }
        assert_eq!(greeting(Persona::Closed, "closed.lab.test"), None);
    }

    #[test]
    fn payloads_cover_every_output() {
        let all: String = HOSTILE
            .iter()
            .map(|p| {
                let mut ehlo_lines = vec![format!("250-{}", p.hostname()), "250 OK".to_string()];
                ehlo(*p, &mut ehlo_lines);
                format!(
                    "{} {} {}",
                    greeting(*p, "h.lab.test").unwrap(),
                    ehlo_lines.join(" "),
                    rcpt(*p, "554 5.7.1 denied".into())
                )
            })
            .collect();
        for needle in [
            "=HYPERLINK(",
            "+cmd",
            "-2+3",
            "@SUM(1)",
            "\t",
            "\"quoted\", with, commas",
            "<script>",
            "\"><img src=x onerror=",
            "</script>",
            "\u{1b}[2J",
            "\u{1b}]8;;",
            "\u{1b}]52;",
            "\u{202e}",
            "[click](http://evil.example/)",
            "|",
        ] {
            assert!(all.contains(needle), "{needle:?} missing");
        }
    }

    #[test]
    fn csv_persona_auth_line_starts_a_cell_with_a_formula() {
        let mut lines = vec!["250-hostile-csv.lab.test".to_string(), "250 OK".to_string()];
        ehlo(Persona::HostileCsv, &mut lines);
        assert!(lines[1].starts_with("250-AUTH ="), "{lines:?}");
        assert_eq!(lines.len(), 3);
        assert_eq!(rcpt(Persona::Closed, "554 x".into()), "554 x");
    }
}
