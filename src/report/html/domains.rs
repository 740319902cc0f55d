//! The HTML report's mail-domain section: one row per domain (route, mail hosts with each endpoint's result, worst verdict, SPF, DMARC, MTA-STS, TLS-RPT, worst finding), most severe first, with the findings and the published records in a collapsible row. Everything DNS answered is escaped.

use std::fmt::Write as _;

use super::{FindingView, esc, finding_block, severity_badge, verdict_badge};
use crate::report::domain_view;
use crate::report::domains::DomainEntry;
use crate::report::overview::count;

/// The domain table's columns: (class, heading). The classes also label each cell on a
/// phone, where the rows become cards (report.css).
pub(super) const COLUMNS: [(&str, &str); 10] = [
    ("d-domain", "Domain"),
    ("d-route", "Route"),
    ("d-hosts", "Mail hosts"),
    ("d-verdict", "Worst verdict"),
    ("d-spf", "SPF"),
    ("d-dmarc", "DMARC"),
    ("d-mta-sts", "MTA-STS"),
    ("d-tls-rpt", "TLS-RPT"),
    ("d-dkim", "DKIM"),
    ("d-findings", "Findings"),
];

/// The whole `<section id="domains">`.
pub(super) fn section(entries: &[DomainEntry]) -> String {
    let mut out = String::with_capacity(2048 * entries.len().max(1));
    let _ = writeln!(
        out,
        "<section id=\"domains\">\n<h2>Mail domains</h2>\n<p class=\"muted\">{}, most severe finding first. \
         A domain's verdict is the most worrying of its mail hosts' endpoints. {}</p>",
        count(entries.len() as u64, "mail domain"),
        domain_view::DKIM_GUESSED
    );
    out.push_str("<table id=\"domains-table\" class=\"stack\">\n<thead><tr>");
    for (_, heading) in COLUMNS {
        let _ = write!(out, "<th>{heading}</th>");
    }
    out.push_str("</tr></thead>\n");
    let mut order: Vec<&DomainEntry> = entries.iter().collect();
    order.sort_by_key(|e| std::cmp::Reverse(e.findings.iter().map(|f| f.severity).max()));
    for e in order {
        domain(e, &mut out);
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn domain(e: &DomainEntry, out: &mut String) {
    let worst = e.findings.iter().map(|f| f.severity).max();
    let cell = |out: &mut String, class: &str, html: &str| {
        let _ = write!(out, "<td class=\"{class}\">{html}</td>");
    };
    out.push_str("<tbody class=\"domain\">\n<tr class=\"row\">");
    cell(out, "d-domain", &esc(&e.domain));
    cell(out, "d-route", &esc(&domain_view::route(e)));
    let hosts: Vec<String> = domain_view::mail_hosts(e)
        .iter()
        .map(|h| esc(h).into_owned())
        .collect();
    cell(out, "d-hosts", &hosts.join("<br>"));
    cell(
        out,
        "d-verdict",
        &if e.worst_verdict.is_some() || e.accepts_mail {
            verdict_badge(e.worst_verdict)
        } else {
            String::new()
        },
    );
    cell(out, "d-spf", &esc(&domain_view::spf(&e.spf)));
    cell(out, "d-dmarc", &esc(&domain_view::dmarc(&e.dmarc)));
    cell(out, "d-mta-sts", &esc(&domain_view::mta_sts(e)));
    cell(out, "d-tls-rpt", &esc(&domain_view::presence(&e.tls_rpt)));
    cell(out, "d-dkim", &esc(&domain_view::dkim(&e.dkim)));
    let findings = format!(
        "{} {}",
        severity_badge(worst),
        count(e.findings.len() as u64, "finding")
    );
    cell(out, "d-findings", &findings);
    let _ = write!(
        out,
        "</tr>\n<tr class=\"details\"><td colspan=\"{}\"><details><summary>Details: {}, the published records</summary>\n",
        COLUMNS.len(),
        count(e.findings.len() as u64, "finding"),
    );
    out.push_str("<dl class=\"meta\">\n");
    let records = [
        ("SPF record", &e.spf.raw),
        ("DMARC record", &e.dmarc.raw),
        ("MTA-STS record", &e.mta_sts.raw),
        ("TLS-RPT record", &e.tls_rpt.raw),
    ];
    for (label, raw) in records {
        let shown = match raw {
            Some(text) => format!("<code>{}</code>", esc(text)),
            None => "none".to_string(),
        };
        let _ = writeln!(out, "<dt>{label}</dt><dd>{shown}</dd>");
    }
    if e.spf.tree.chain.len() > 1 {
        let chain: Vec<String> = e
            .spf
            .tree
            .chain
            .iter()
            .map(|l| esc(l).into_owned())
            .collect();
        let _ = writeln!(
            out,
            "<dt>SPF tree</dt><dd><pre>{}</pre></dd>",
            chain.join("\n")
        );
    }
    for key in &e.dkim.keys {
        let _ = writeln!(
            out,
            "<dt>DKIM {}</dt><dd><code>{}</code></dd>",
            esc(&crate::dns::dkim::key_name(&key.selector, &e.domain)),
            esc(&key.raw)
        );
    }
    out.push_str("</dl>\n");
    for f in &e.findings {
        finding_block(
            &FindingView {
                severity: f.severity,
                id: f.id.as_str(),
                title: &f.title,
                detail: &f.detail,
                evidence: &[],
                fix_for: "the domain",
                remediation: &f.remediation,
            },
            out,
        );
    }
    out.push_str("</details></td></tr>\n</tbody>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    fn entries(hostile: &str) -> Vec<DomainEntry> {
        let mut plan = testdata::one_domain_plan("d.example", hostile, "192.0.2.7");
        plan.domains[0].spf.raw = Some(format!("v=spf1 {hostile} -all"));
        testdata::domain_entries(plan)
    }

    #[test]
    fn a_domain_row_holds_route_hosts_policy_and_findings_escaped() {
        let html = section(&entries("<img src=x onerror=alert(1)>.example"));
        assert!(
            html.contains("<td class=\"d-domain\">d.example</td>"),
            "{html}"
        );
        assert!(html.contains("<td class=\"d-route\">mx</td>"));
        assert!(
            html.contains("10 &lt;img src=x onerror=alert(1)&gt;.example: 192.0.2.7:25 no-answer")
        );
        assert!(
            html.contains("<td class=\"d-dmarc\">p=none, rua @cmd</td>"),
            "{html}"
        );
        assert!(html.contains("<td class=\"d-mta-sts\">missing</td>"));
        assert!(!html.contains("<img"));
        assert!(html.contains("<code>dmarc-policy-none</code>"));
        assert!(html.contains("<code>v=spf1 &lt;img"));
        assert!(html.contains("1 mail domain, most severe"));
        assert!(html.contains("under guessed selectors"), "{html}");
        assert!(
            html.contains("<td class=\"d-dkim\">not looked up</td>"),
            "{html}"
        );
        assert_eq!(html.matches("<tbody class=\"domain\"").count(), 1);
    }
}
