//! The Markdown report's DNS blocklist and software sections, from the run's totals: per zone its answers and removal page, each listed endpoint with the code's meaning, list kind and severity, the failed lookups as errors (never as listed or not listed); the software versions counted and the endpoints with advisories. What DNS or a server said is only ever in code spans.

use std::fmt::Write as _;

use crate::report::host_totals::{ADVISORY_NOTE, BLOCKLIST_NOTE, BlocklistTotals, SoftwareTotals};
use crate::report::overview::count;
use crate::report::sanitize::{md_code, md_text};

/// Rows listed under each table; the rest are counted (and are in the JSONL and CSV).
pub const ROWS_SHOWN: usize = 50;

/// `## DNS blocklists`, or nothing when no blocklist was asked.
pub(super) fn blocklists(totals: &BlocklistTotals) -> String {
    let mut out = String::new();
    if totals.is_empty() {
        return out;
    }
    let (listed, errors) = (totals.listed_total(), totals.errors_total());
    let _ = writeln!(
        out,
        "\n## DNS blocklists\n\n{} {}\n\n| zone | listed | not listed | lookup errors | removal requests |\n|---|---:|---:|---:|---|",
        totals.lead(),
        md_text(BLOCKLIST_NOTE)
    );
    for (zone, t) in &totals.zones {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md_code(zone),
            t.listed,
            t.not_listed,
            t.errors,
            removal(t.removal.as_deref())
        );
    }
    if listed > 0 {
        out.push_str(
            "\n### Listed endpoints\n\n| severity | endpoint | zone | code | list | kind | meaning | removal requests |\n|---|---|---|---|---|---|---|---|\n",
        );
        let rows = totals.listed_by_severity();
        for l in rows.iter().take(ROWS_SHOWN) {
            for c in &l.codes {
                let _ = writeln!(
                    out,
                    "| {} {} | {} | {} | {} | {} | {} | {} | {} |",
                    l.severity,
                    md_code(l.finding.as_str()),
                    md_code(&l.endpoint),
                    md_code(&l.zone),
                    md_code(&c.code.to_string()),
                    md_code(&c.list),
                    c.kind.as_str(),
                    md_code(&c.meaning),
                    removal(l.removal.as_deref())
                );
            }
        }
        more(&mut out, listed, rows.len().min(ROWS_SHOWN), "listing");
    }
    if errors > 0 {
        out.push_str("\n### Failed lookups\n\n| endpoint | zone | error |\n|---|---|---|\n");
        for e in totals.errors.iter().take(ROWS_SHOWN) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md_code(&e.endpoint),
                md_code(&e.zone),
                md_code(&e.error)
            );
        }
        more(
            &mut out,
            errors,
            totals.errors.len().min(ROWS_SHOWN),
            "failed lookup",
        );
    }
    out
}

/// `## Software`, or nothing when no host named its software.
pub(super) fn software(totals: &SoftwareTotals) -> String {
    let mut out = String::new();
    if totals.is_empty() {
        return out;
    }
    let advised = totals.advised_total();
    let _ = writeln!(
        out,
        "\n## Software\n\n{} {}\n\n| software | endpoints |\n|---|---:|",
        totals.lead(),
        md_text(ADVISORY_NOTE)
    );
    for (name, n) in &totals.versions {
        let _ = writeln!(out, "| {} | {n} |", md_code(name));
    }
    if totals.versions_more > 0 {
        let _ = writeln!(out, "| other versions | {} |", totals.versions_more);
    }
    if advised > 0 {
        out.push_str(
            "\n### Endpoints with advisories\n\n| severity | endpoint | software | findings | advisories |\n|---|---|---|---|---|\n",
        );
        let rows = totals.advised_by_severity();
        for a in rows.iter().take(ROWS_SHOWN) {
            let ids: Vec<String> = a.findings.iter().map(|id| md_code(id.as_str())).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                a.severity,
                md_code(&a.endpoint),
                md_code(&a.software),
                ids.join(" "),
                md_code(&a.detail)
            );
        }
        more(&mut out, advised, rows.len().min(ROWS_SHOWN), "endpoint");
    }
    out
}

/// The removal page in a code span (never a link: the JSONL it was read from may not be
/// ours), or "unknown zone".
fn removal(page: Option<&str>) -> String {
    page.map_or_else(|| "unknown zone".to_string(), md_code)
}

/// "and N more, in the JSONL and CSV reports." under a table cut to `shown` of `total`.
fn more(out: &mut String, total: u64, shown: usize, what: &str) {
    let rest = total.saturating_sub(shown as u64);
    if rest > 0 {
        let _ = writeln!(
            out,
            "\nand {} more, in the JSONL and CSV reports.",
            count(rest, what)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::host_totals::tests::hostile_summary;

    #[test]
    fn sections_quote_what_dns_and_servers_said_in_code_and_keep_errors_apart() {
        let evil = "[x](https://evil.example) | `tick`";
        let s = hostile_summary("z.test", evil, "query refused: public resolver");
        let text = blocklists(&s.blocklists) + &software(&s.software);
        let (listed, failed) = text.split_once("### Failed lookups").unwrap();
        assert!(listed.contains("| high `blocklisted` | `[2001:db8::25]:25` | `z.test` | `127.0.0.4` | `XBL` | exploited |"), "{listed}");
        assert!(listed.contains("`https://removal.example/`"));
        assert!(
            !listed.contains("public resolver"),
            "an error is never a listing"
        );
        assert!(
            failed
                .contains("| `[2001:db8::25]:25` | `e.test` | `query refused: public resolver` |"),
            "{failed}"
        );
        // Server text only in code spans, its pipes escaped: no link, no extra cell.
        let cells = |line: &str| line.replace("\\|", "").matches('|').count();
        let mut header = 0;
        for line in text.lines().filter(|l| l.starts_with('|')) {
            if !line.contains("evil") {
                header = cells(line);
                continue;
            }
            assert!(
                line.contains("`` ") && line.contains(r"\| `tick` ``"),
                "{line}"
            );
            assert_eq!(cells(line), header, "{line}");
        }
        assert!(text.contains("## Software") && text.contains("`known-exploited-software`"));
        let empty = crate::report::Summary::default();
        assert_eq!(
            blocklists(&empty.blocklists) + &software(&empty.software),
            ""
        );
    }
}
