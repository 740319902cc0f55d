//! The HTML report's DNS blocklist and software sections, from the run's totals: per zone its answers and removal page, each listed endpoint with the code's meaning, list kind and severity, the failed lookups as errors (never as listed or not listed); the software versions counted and the endpoints with advisories. Every value that is not our own name is escaped as text (a removal page is shown, never linked).

use std::fmt::Write as _;

use super::{esc, severity_badge};
use crate::report::host_totals::{ADVISORY_NOTE, BLOCKLIST_NOTE, BlocklistTotals, SoftwareTotals};
use crate::report::overview::count;

/// `<section id="blocklists">`, or nothing when no blocklist was asked.
pub(super) fn blocklists(totals: &BlocklistTotals) -> String {
    let mut out = String::new();
    if totals.is_empty() {
        return out;
    }
    let (listed, errors) = (totals.listed_total(), totals.errors_total());
    let _ = writeln!(
        out,
        "<section id=\"blocklists\">\n<h2>DNS blocklists</h2>\n<p class=\"muted\">{} {BLOCKLIST_NOTE}</p>",
        totals.lead()
    );
    out.push_str(
        "<div class=\"scroll\"><table class=\"catalogue\"><thead><tr><th>Zone</th><th>Listed</th>\
         <th>Not listed</th><th>Lookup errors</th><th>Removal requests</th></tr></thead><tbody>\n",
    );
    for (zone, t) in &totals.zones {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(zone),
            t.listed,
            t.not_listed,
            t.errors,
            esc(t.removal.as_deref().unwrap_or("unknown zone"))
        );
    }
    out.push_str("</tbody></table></div>\n");
    if listed > 0 {
        out.push_str(
            "<h3>Listed endpoints</h3>\n<div class=\"scroll\"><table class=\"catalogue\"><thead><tr>\
             <th>Severity</th><th>Endpoint</th><th>Zone</th><th>Code</th><th>List</th><th>Kind</th>\
             <th>Meaning</th><th>Removal requests</th></tr></thead><tbody>\n",
        );
        for l in totals.listed_by_severity() {
            for c in &l.codes {
                let _ = writeln!(
                    out,
                    "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td></tr>",
                    severity_badge(Some(l.severity)),
                    l.finding,
                    esc(&l.endpoint),
                    esc(&l.zone),
                    c.code,
                    esc(&c.list),
                    c.kind.as_str(),
                    esc(&c.meaning),
                    esc(l.removal.as_deref().unwrap_or("unknown zone"))
                );
            }
        }
        out.push_str("</tbody></table></div>\n");
        more(&mut out, totals.listed_more, "listing");
    }
    if errors > 0 {
        out.push_str(
            "<h3>Failed lookups</h3>\n<div class=\"scroll\"><table class=\"catalogue\"><thead><tr>\
             <th>Endpoint</th><th>Zone</th><th>Error</th></tr></thead><tbody>\n",
        );
        for e in &totals.errors {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.endpoint),
                esc(&e.zone),
                esc(&e.error)
            );
        }
        out.push_str("</tbody></table></div>\n");
        more(&mut out, totals.errors_more, "failed lookup");
    }
    out.push_str("</section>\n");
    out
}

/// `<section id="software">`, or nothing when no host named its software.
pub(super) fn software(totals: &SoftwareTotals) -> String {
    let mut out = String::new();
    if totals.is_empty() {
        return out;
    }
    let advised = totals.advised_total();
    let _ = writeln!(
        out,
        "<section id=\"software\">\n<h2>Software</h2>\n<p class=\"muted\">{} {ADVISORY_NOTE}</p>",
        totals.lead()
    );
    out.push_str(
        "<div class=\"scroll\"><table class=\"catalogue\"><thead><tr><th>Software</th>\
         <th>Endpoints</th></tr></thead><tbody>\n",
    );
    for (name, n) in &totals.versions {
        let _ = writeln!(out, "<tr><td>{}</td><td>{n}</td></tr>", esc(name));
    }
    if totals.versions_more > 0 {
        let _ = writeln!(
            out,
            "<tr><td class=\"muted\">other versions</td><td>{}</td></tr>",
            totals.versions_more
        );
    }
    out.push_str("</tbody></table></div>\n");
    if advised > 0 {
        out.push_str(
            "<h3>Endpoints with advisories</h3>\n<div class=\"scroll\"><table class=\"catalogue\">\
             <thead><tr><th>Severity</th><th>Endpoint</th><th>Software</th><th>Findings</th>\
             <th>Advisories</th></tr></thead><tbody>\n",
        );
        for a in totals.advised_by_severity() {
            let ids: Vec<String> = a
                .findings
                .iter()
                .map(|id| format!("<code>{id}</code>"))
                .collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                severity_badge(Some(a.severity)),
                esc(&a.endpoint),
                esc(&a.software),
                ids.join(" "),
                esc(&a.detail)
            );
        }
        out.push_str("</tbody></table></div>\n");
        more(&mut out, totals.advised_more, "endpoint");
    }
    out.push_str("</section>\n");
    out
}

/// "and N more, in the JSONL and CSV reports" under a table cut at its cap.
fn more(out: &mut String, n: u64, what: &str) {
    if n > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">and {} more, in the JSONL and CSV reports.</p>",
            count(n, what)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::host_totals::tests::hostile_summary;

    #[test]
    fn sections_escape_what_dns_and_servers_said_and_keep_errors_apart() {
        let evil = "<script>alert(1)</script>";
        let s = hostile_summary(
            "<b>z</b>.test",
            evil,
            "query refused: <i>public</i> resolver",
        );
        let page = blocklists(&s.blocklists) + &software(&s.software);
        assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<i>"));
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        let (listed, failed) = page.split_once("<h3>Failed lookups</h3>").unwrap();
        assert!(listed.contains("<code>blocklisted</code>") && listed.contains("exploited"));
        assert!(listed.contains("https://removal.example/"));
        assert!(!listed.contains("public"), "an error is never a listing");
        assert!(failed.contains("e.test") && failed.contains("&lt;i&gt;public"));
        assert!(page.contains("<code>known-exploited-software</code>"));
        assert!(!page.contains("href"), "no link: the removal page is text");
        let empty = crate::report::Summary::default();
        assert_eq!(
            blocklists(&empty.blocklists) + &software(&empty.software),
            ""
        );
    }
}
