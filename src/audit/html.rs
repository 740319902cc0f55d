//! The audit's HTML report: one self-contained, offline page with the inputs, the conclusion, the counts and every finding with its evidence and fix.
//!
//! Safety as in the scan report: every string that is not our own constant goes through
//! [`sanitize::html`] into a text node; no script at all, and a Content-Security-Policy that
//! allows only the page's own style (by a per-report nonce) and no fetches.

use std::fmt::Write as _;

use super::model::AuditReport;
use crate::assess::Severity;
use crate::report::sanitize;

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.5rem; } code, pre { font: 13px ui-monospace, monospace; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #d8dce4; vertical-align: top; }
.cards { display: flex; gap: .75rem; flex-wrap: wrap; margin: 1rem 0; } .card { border: 1px solid #d8dce4; border-radius: 6px; padding: .5rem .9rem; }
.verdict { font-weight: 600; padding: .6rem .9rem; border-radius: 6px; background: #e8f4ec; }
.verdict.open { background: #fbe4e4; color: #8a1414; }
.sev { font-weight: 600; } .sev-critical { color: #8a1414; } .sev-high { color: #b3470c; } .sev-medium { color: #8a6a00; } .sev-low { color: #2d5a8a; } .sev-info { color: #5a6270; }
details pre { white-space: pre-wrap; background: #f4f5f8; padding: .5rem; }
";

/// The whole page.
pub fn page(report: &AuditReport, generated_at: &str) -> String {
    let nonce = format!("{:032x}", rand::random::<u128>());
    let esc = |s: &str| sanitize::html(s).into_owned();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'nonce-{nonce}'; img-src 'none'; form-action 'none'; base-uri 'none'\">\n\
         <title>relayscan configuration audit</title>\n<style nonce=\"{nonce}\">{STYLE}</style>\n\
         </head>\n<body>\n<h1>relayscan configuration audit</h1>\n<p>relayscan {} · {}</p>\n<ul>\n",
        env!("CARGO_PKG_VERSION"),
        esc(generated_at)
    );
    for f in &report.files {
        let _ = writeln!(
            out,
            "<li><code>{}</code> — {} {}</li>",
            esc(&f.file),
            f.mta.label(),
            f.kind
        );
    }
    out.push_str("</ul>\n");
    let (class, text) = if report.verdict().is_some() {
        (
            "verdict open",
            "Open relay: a setting lets anyone relay through this server.",
        )
    } else {
        (
            "verdict",
            "No setting lets a stranger relay (a configuration alone cannot prove a server closed: scan it too).",
        )
    };
    let _ = writeln!(
        out,
        "<p class=\"{class}\">{text}</p>\n<div class=\"cards\">"
    );
    let counts = report.counts();
    for s in Severity::ALL {
        let n = counts.get(s.as_str()).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "<div class=\"card\"><span class=\"sev sev-{s}\">{s}</span> {n}</div>"
        );
    }
    out.push_str("</div>\n<table>\n<thead><tr><th>Severity</th><th>Finding</th><th>Where</th><th>Detail</th></tr></thead>\n<tbody>\n");
    for f in &report.findings {
        let s = f.finding.severity;
        let _ = writeln!(
            out,
            "<tr><td class=\"sev sev-{s}\">{s}</td><td><code>{}</code><br>{}</td><td><code>{}</code><br>{}</td>\
             <td>{}<details><summary>Evidence and fix</summary><pre>{}</pre><p>{}</p></details></td></tr>",
            f.finding.id,
            esc(&f.finding.title),
            esc(&f.location),
            esc(&f.setting),
            esc(&f.finding.detail),
            esc(&f.finding.evidence.join("\n")),
            esc(&f.finding.remediation),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !report.trusted.is_empty() {
        out.push_str("<h2>Trusted to relay without authentication</h2>\n<ul>\n");
        for t in &report.trusted {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {} (<code>{}</code>)</li>",
                esc(&t.network),
                esc(&t.setting),
                esc(&t.location)
            );
        }
        out.push_str("</ul>\n");
    }
    if !report.notes.is_empty() {
        out.push_str("<h2>Notes: what was assumed or not checked</h2>\n<ul>\n");
        for n in &report.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::model::Source;
    use crate::audit::{MtaChoice, run};

    #[test]
    fn page_escapes_configuration_text_and_has_no_script() {
        let src = Source::new(
            "main.cf",
            "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit\n\
             smtpd_banner = <script>alert(1)</script> $mail_version\n",
        );
        let r = run(&[src], MtaChoice::Auto, &|_| Ok(None)).unwrap();
        let page = page(&r, "2026-01-01T00:00:00Z");
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("verdict open"));
        assert!(page.contains("<code>main.cf:2</code>"));
        assert!(page.contains("default-src 'none'"));
        for s in Severity::ALL {
            assert!(page.contains(&format!("sev-{s}\">{s}</span>")), "{s}");
        }
    }
}
