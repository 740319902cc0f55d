//! The Markdown report's mail-domain section: a table of the domains (route, mail hosts with each endpoint's result, worst verdict, SPF, DMARC, MTA-STS, TLS-RPT, DKIM, findings), most severe first, the domain findings, and each domain finding's remediation with the domains it concerns. Bounded like the host findings; what DNS answered stays in code spans.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{FINDINGS_SHOWN, HOSTS_LISTED, finding_row, listed, prose, shorten};
use crate::assess::domain::DomainFindingId;
use crate::report::domain_view;
use crate::report::domains::DomainEntry;
use crate::report::overview::count;
use crate::report::sanitize::md_code;

/// Domains in the table; the rest are counted, and are in PREFIX.domains.csv.
pub const DOMAINS_SHOWN: usize = 200;

/// The whole `## Mail domains` section.
pub(super) fn section(entries: &[DomainEntry]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Mail domains ({})\n\n{}, most severe finding first; a domain's verdict is the most \
         worrying of its mail hosts' endpoints. {}\n\n\
         | domain | route | mail hosts | worst verdict | SPF | DMARC | MTA-STS | TLS-RPT | DKIM | findings |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        entries.len(),
        count(entries.len() as u64, "mail domain"),
        domain_view::DKIM_GUESSED
    );
    let mut order: Vec<&DomainEntry> = entries.iter().collect();
    order.sort_by_key(|e| std::cmp::Reverse(e.findings.iter().map(|f| f.severity).max()));
    for e in order.iter().take(DOMAINS_SHOWN) {
        let hosts = domain_view::mail_hosts(e);
        let findings = match e.findings.iter().map(|f| f.severity).max() {
            Some(worst) => format!("{}, worst {worst}", e.findings.len()),
            None => "0".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {findings} |",
            md_code(&e.domain),
            md_code(&domain_view::route(e)),
            if hosts.is_empty() {
                "none".to_string()
            } else {
                md_code(&hosts.join("; "))
            },
            e.worst_verdict.map(|v| v.as_str()).unwrap_or("none"),
            md_code(&domain_view::spf(&e.spf)),
            md_code(&domain_view::dmarc(&e.dmarc)),
            md_code(&domain_view::mta_sts(e)),
            md_code(&domain_view::presence(&e.tls_rpt)),
            md_code(&domain_view::dkim(&e.dkim)),
        );
    }
    if entries.len() > DOMAINS_SHOWN {
        let _ = writeln!(
            out,
            "\nand {} more, listed in the domains CSV and the JSON report.",
            count((entries.len() - DOMAINS_SHOWN) as u64, "domain")
        );
    }
    findings(entries, &mut out);
    out
}

/// The domain findings, most severe first (at most [`FINDINGS_SHOWN`]), then each one's
/// remediation once, with the domains it concerns.
fn findings(entries: &[DomainEntry], out: &mut String) {
    let mut all: Vec<(&DomainEntry, &crate::assess::domain::DomainFinding)> = entries
        .iter()
        .flat_map(|e| e.findings.iter().map(move |f| (e, f)))
        .collect();
    if all.is_empty() {
        return;
    }
    all.sort_by_key(|(_, f)| (std::cmp::Reverse(f.severity), f.id));
    out.push_str(
        "\n### Domain findings\n\n| severity | domain | finding | detail |\n|---|---|---|---|\n",
    );
    for (e, f) in all.iter().take(FINDINGS_SHOWN) {
        finding_row(
            out,
            f.severity,
            &e.domain,
            (f.id.as_str(), f.id.title()),
            &shorten(&f.detail),
        );
    }
    if all.len() > FINDINGS_SHOWN {
        let _ = writeln!(
            out,
            "\nand {} less severe, listed in the JSON report.",
            count((all.len() - FINDINGS_SHOWN) as u64, "domain finding")
        );
    }
    // One remediation per finding id: the text is the same for every domain.
    let mut by_id: BTreeMap<DomainFindingId, (&str, Vec<String>, u64)> = BTreeMap::new();
    for (e, f) in &all {
        let fix = by_id
            .entry(f.id)
            .or_insert_with(|| (f.remediation.as_str(), Vec::new(), 0));
        fix.2 += 1;
        if fix.1.len() < HOSTS_LISTED {
            fix.1.push(e.domain.clone());
        }
    }
    let mut ids: Vec<_> = by_id.into_iter().collect();
    ids.sort_by_key(|(id, _)| (std::cmp::Reverse(id.severity()), *id));
    out.push_str("\n### Domain remediation\n");
    for (id, (text, names, n)) in ids {
        let _ = writeln!(
            out,
            "\n#### {} ({})\n\n{}\n\n{}",
            md_code(id.as_str()),
            count(n, "domain"),
            listed(&names, n),
            prose(text)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn the_section_tables_the_domains_and_their_findings() {
        let mut plan = testdata::one_domain_plan("d.example", "mx|`evil`.example", "192.0.2.7");
        plan.domains
            .push(testdata::mail_domain("quiet.example", &[]));
        let text = section(&testdata::domain_entries(plan));
        assert!(
            text.starts_with("\n## Mail domains (2)\n\n2 mail domains,"),
            "{text}"
        );
        let row = text
            .lines()
            .find(|l| l.starts_with("| `d.example` |"))
            .unwrap();
        assert!(
            row.contains("| ``10 mx\\|`evil`.example: 192.0.2.7:25 no-answer`` |"),
            "{row}"
        );
        assert!(
            row.contains("| `-all (fail), 1 DNS lookup` | `p=none, rua @cmd` |"),
            "{row}"
        );
        // Eleven cells, whatever the DNS names held.
        assert_eq!(testdata::cell_bars(row), 11, "{row}");
        assert!(row.contains("| `not looked up` |"), "{row}");
        assert!(text.contains("under guessed selectors"), "{text}");
        assert!(
            text.contains("| low | `d.example` | `dmarc-policy-none`"),
            "{text}"
        );
        assert!(
            text.contains(
                "#### `dmarc-policy-none` (2 domains)\n\n`d.example`, `quiet.example`\n\n"
            ),
            "{text}"
        );
        assert!(text.contains("#### `mta-sts-missing` (2 domains)"));
        assert!(!text.contains("1 domains"));
    }
}
