//! The HTML report: one self-contained, offline file that opens with a one-line executive summary and the summary cards, then SVG charts, the run's details (collapsed), the mail domains, and a sortable and filterable host table with per-host findings and transcripts; readable from a 390 px phone to a desktop.
//!
//! Safety: every string that is not our own constant goes through [`sanitize::html`] into a
//! text node. Server text never lands in a script, an attribute or a URL: attributes carry
//! only our own enum names and computed sort keys. The page's Content-Security-Policy allows
//! only its own style and script (by a per-report nonce) and no fetches at all, so even a
//! mistake in escaping could not run or load anything.
//!
//! Streaming: the title, the run's details and the table head are written at `begin`, one
//! `<tbody>` per host at `record`, the summary and the domains at `finish` (CSS shows the
//! summary first). The file is usable after every record, like the CSV and JSONL files;
//! only the summary and the domains wait for the end.

mod chart;
mod domains;
mod host_totals;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;

use super::domain_spool::{DomainSpool, section_of};
use super::domains::DomainEntry;
use super::meta::{RunEnd, RunMeta};
use super::overview::{self, count};
use super::prose::{Piece, pieces};
use super::record::ScanRecord;
use super::sanitize;
use super::summary::Summary;
use super::whole::WholeWrites;
use super::{Phase, ReportError, ReportSink};
use crate::assess::Verdict;
use crate::assess::{Finding, FindingId, Severity};
use crate::smtp::Direction;

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Targets and excludes listed in the header before "and N more".
const LIST_SHOWN: usize = 50;

/// The table's columns: (sort key, heading, first click sorts descending).
const COLUMNS: [(&str, &str, bool); 8] = [
    ("endpoint", "Endpoint", false),
    ("status", "Status", false),
    ("verdict", "Verdict", false),
    ("severity", "Worst finding", true),
    ("findings", "Findings", true),
    ("server", "Server name", false),
    ("mta", "Software", false),
    ("open", "Open tests", true),
];

/// Text for an HTML text node (or a quoted attribute): see [`sanitize::html`].
fn esc(s: &str) -> Cow<'_, str> {
    sanitize::html(s)
}

/// Writes `PREFIX.html`, streamed: one write per call, like the other sinks.
pub struct HtmlSink {
    path: PathBuf,
    file: WholeWrites,
    phase: Phase,
    /// Authorises our own `<style>` and `<script>` under the page's CSP; random per report,
    /// so text written into the page by a server cannot carry it.
    nonce: String,
    buf: String,
    hosts: u64,
    /// The mail domains given so far, on disk until the section is written at `finish`.
    domains: DomainSpool,
}

impl HtmlSink {
    /// The sink writing `file`, which becomes `path` (see [`super::file`]).
    pub fn new(path: &Path, file: File) -> HtmlSink {
        HtmlSink {
            path: path.to_path_buf(),
            file: WholeWrites::new(file),
            phase: Phase::New,
            nonce: format!("{:032x}", rand::random::<u128>()),
            buf: String::with_capacity(16 * 1024),
            hosts: 0,
            domains: DomainSpool::new(path),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn flush_buf(&mut self) -> Result<(), ReportError> {
        // Whole host rows or nothing: after a failed write the page ends at its last row.
        let r = self.file.write_whole(self.buf.as_bytes());
        self.buf.clear();
        r.map_err(|e| ReportError::new("write", &self.path, e))
    }
}

impl ReportSink for HtmlSink {
    fn domain(&mut self, entry: &DomainEntry) -> Result<(), ReportError> {
        self.domains.push(entry)
    }

    fn begin(&mut self, meta: &RunMeta) -> Result<(), ReportError> {
        self.phase.begin(&self.path)?;
        head(meta, &self.nonce, &mut self.buf);
        self.flush_buf()
    }

    fn record(&mut self, r: &ScanRecord) -> Result<(), ReportError> {
        self.phase.check_record(&self.path)?;
        host(r, &mut self.buf);
        self.hosts += 1;
        self.flush_buf()
    }

    fn finish(&mut self, end: &RunEnd, summary: &Summary) -> Result<(), ReportError> {
        self.phase.finish(&self.path)?;
        let domains = section_of(&mut self.domains, domains::section)?;
        tail(
            end,
            summary,
            self.hosts,
            domains,
            &self.nonce,
            &mut self.buf,
        );
        self.flush_buf()?;
        self.file
            .sync_all()
            .map_err(|e| ReportError::new("write", &self.path, e))
    }
}

/// The document head, the metadata, and the host table up to its first row.
fn head(meta: &RunMeta, nonce: &str, out: &mut String) {
    let started = meta.started_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'none'; \
         base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>relayscan report {}</title>\n<style nonce=\"{nonce}\">\n{STYLE}</style>\n</head>\n<body>\n",
        esc(&started)
    );
    out.push_str("<header id=\"top\"><h1>relayscan report</h1></header>\n");
    let _ = write!(
        out,
        "<details id=\"meta\"><summary><h2>Run details</h2> <span class=\"muted\">started {}, {}, {}</span></summary>\n<dl class=\"meta\">\n",
        esc(&started),
        count(meta.targets.len() as u64, "target"),
        count(meta.ports.len() as u64, "port"),
    );
    let mut item = |label: &str, value: &str| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(label), esc(value));
    };
    item("Started", &started);
    item("Tool", &format!("{} {}", meta.tool, meta.version));
    item(
        "Scanned from",
        &format!("{} ({})", meta.source.hostname, meta.source.note),
    );
    item("Targets", &shown_list(&meta.targets));
    if !meta.excludes.is_empty() {
        item("Excludes", &shown_list(&meta.excludes));
    }
    let ports: Vec<String> = meta.ports.iter().map(u16::to_string).collect();
    item("Ports", &ports.join(", "));
    item("Command line", &meta.command_line.join(" "));
    out.push_str("</dl>\n");
    let settings = overview::settings_rows(&meta.settings.to_json());
    if settings.is_empty() {
        out.push_str("<p class=\"muted\">Settings not recorded.</p>\n");
    } else {
        out.push_str(
            "<h3>Settings</h3>\n<div class=\"scroll\"><table class=\"settings\"><thead><tr>\
             <th>Setting</th><th>Value</th></tr></thead><tbody>\n",
        );
        for (name, value) in &settings {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(name),
                esc(value)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</details>\n");

    out.push_str(
        "<main id=\"hosts\">\n<h2>Hosts</h2>\n<div class=\"controls\">\n\
         <input id=\"q\" type=\"search\" placeholder=\"Filter: address, name, text in the dialogue\" aria-label=\"Filter hosts\">\n\
         <select id=\"verdict\" aria-label=\"Verdict\"><option value=\"\">every verdict</option>",
    );
    for v in Verdict::ALL {
        let _ = write!(out, "<option value=\"{v}\">{v}</option>");
    }
    out.push_str(
        "</select>\n<select id=\"severity\" aria-label=\"Worst finding\">\
         <option value=\"\">any findings</option>",
    );
    for s in Severity::ALL {
        let _ = write!(
            out,
            "<option value=\"{}\">{s} or worse</option>",
            severity_rank(Some(s))
        );
    }
    out.push_str(
        "</select>\n<span id=\"shown\" class=\"muted\"></span>\n</div>\n\
         <table id=\"hosts-table\">\n<thead><tr>",
    );
    for (key, heading, desc) in COLUMNS {
        let first = if desc { " data-first=\"desc\"" } else { "" };
        let _ = write!(
            out,
            "<th data-key=\"{key}\"{first} aria-sort=\"none\"><button type=\"button\">{heading}</button></th>"
        );
    }
    out.push_str("</tr></thead>\n");
}

fn shown_list(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(LIST_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST_SHOWN {
        let _ = write!(text, " and {} more", items.len() - LIST_SHOWN);
    }
    text
}

/// 0 for no finding, 1 (info) to 5 (critical): the filter and sort key.
fn severity_rank(s: Option<Severity>) -> u8 {
    match s {
        None => 0,
        Some(Severity::Info) => 1,
        Some(Severity::Low) => 2,
        Some(Severity::Medium) => 3,
        Some(Severity::High) => 4,
        Some(Severity::Critical) => 5,
    }
}

/// Sorts addresses numerically as strings: IPv4 before IPv6, then the port.
fn endpoint_key(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("4{:08x}:{port:05}", u32::from(v4)),
        IpAddr::V6(v6) => format!("6{:032x}:{port:05}", u128::from(v6)),
    }
}

fn verdict_key(v: Option<Verdict>) -> usize {
    v.and_then(|v| Verdict::ALL.iter().position(|x| *x == v))
        .unwrap_or(Verdict::ALL.len())
}

/// One host: a `<tbody>` with the summary row and a row holding the collapsible details.
fn host(r: &ScanRecord, out: &mut String) {
    let worst = r.findings.iter().map(|f| f.severity).max();
    let verdict = r.verdict.map(Verdict::as_str).unwrap_or("");
    // Attributes: our own enum names and computed keys only, never server text.
    let _ = write!(
        out,
        "<tbody class=\"host\" data-verdict=\"{verdict}\" data-s-endpoint=\"{}\" \
         data-s-verdict=\"{}\" data-s-severity=\"{}\" data-s-findings=\"{:05}\" data-s-open=\"{:03}\">\n<tr class=\"row\">",
        endpoint_key(r.ip, r.port),
        verdict_key(r.verdict),
        severity_rank(worst),
        r.findings.len(),
        r.open_tests.len(),
    );
    let endpoint = match &r.name {
        Some(name) => format!("{} ({name})", r.endpoint()),
        None => r.endpoint(),
    };
    let _ = write!(out, "<td class=\"c-endpoint\">{}</td>", esc(&endpoint));
    let _ = write!(out, "<td class=\"c-status\">{}</td>", r.status);
    let _ = write!(
        out,
        "<td class=\"c-verdict\">{}</td>",
        verdict_badge(r.verdict)
    );
    let _ = write!(
        out,
        "<td class=\"c-severity\">{}</td>",
        severity_badge(worst)
    );
    let _ = write!(out, "<td class=\"c-findings\">{}</td>", r.findings.len());
    let _ = write!(
        out,
        "<td class=\"c-server\">{}</td>",
        esc(r.server_name.as_deref().unwrap_or(""))
    );
    let _ = write!(out, "<td class=\"c-mta\">{}</td>", r.mta.label());
    let open: Vec<String> = r.open_tests.iter().map(u8::to_string).collect();
    let _ = write!(out, "<td class=\"c-open\">{}</td>", open.join(", "));
    let _ = write!(
        out,
        "</tr>\n<tr class=\"details\"><td colspan=\"{}\"><details><summary>Details: {}, {}</summary>\n",
        COLUMNS.len(),
        count(r.findings.len() as u64, "finding"),
        count(r.transcript.len() as u64, "transcript line"),
    );
    facts(r, out);
    if !r.findings.is_empty() {
        out.push_str("<h4>Findings</h4>\n");
        for f in &r.findings {
            finding(f, r.mta.label(), out);
        }
    }
    transcript(r, out);
    out.push_str("</details></td></tr>\n</tbody>\n");
}

fn verdict_badge(v: Option<Verdict>) -> String {
    match v {
        Some(v) => format!("<span class=\"badge v-{v}\">{v}</span>"),
        None => "<span class=\"badge none\">no verdict</span>".to_string(),
    }
}

fn severity_badge(s: Option<Severity>) -> String {
    match s {
        Some(s) => format!("<span class=\"badge sev-{s}\">{s}</span>"),
        None => "<span class=\"badge none\">none</span>".to_string(),
    }
}

/// The record's flat facts as a definition list; empty values are left out.
fn facts(r: &ScanRecord, out: &mut String) {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows: Vec<(&str, String)> = vec![
        ("Reason", r.reason.clone().unwrap_or_default()),
        ("Banner", r.banner.clone().unwrap_or_default()),
        ("Server name", r.server_name.clone().unwrap_or_default()),
        ("Software", r.mta.label().to_string()),
        (
            "Greeting",
            if r.esmtp {
                "EHLO accepted".to_string()
            } else if r.helo_fallback {
                "EHLO refused, HELO used".to_string()
            } else {
                String::new()
            },
        ),
        ("STARTTLS offered", yes_no(r.starttls)),
        ("AUTH", r.auth.join(" ")),
        ("Capabilities", r.capabilities.join(" ")),
        (
            "Relay tests",
            format!(
                "{} run, {} accepted, {} refused, {} deferred",
                r.tests_run, r.tests_accepted, r.tests_rejected, r.tests_deferred
            ),
        ),
        ("Accepts any recipient", yes_no(r.accepts_any_recipient)),
        (
            "Started",
            r.started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
        ("Duration", format!("{} ms", r.duration_ms)),
        ("Stopped early", r.error.clone().unwrap_or_default()),
    ];
    let rows: Vec<(&str, String)> = rows.into_iter().chain(tls_facts(r)).collect();
    out.push_str("<dl class=\"meta\">\n");
    for (label, value) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{}</dd>", esc(value));
    }
    out.push_str("</dl>\n");
}

/// What the TLS report says, in a few rows; none without a TLS report.
fn tls_facts(r: &ScanRecord) -> Vec<(&'static str, String)> {
    let Some(t) = &r.tls else {
        return Vec::new();
    };
    let session = if t.established {
        format!(
            "{}: {} {}",
            t.mode.as_str(),
            t.version.as_deref().unwrap_or("?"),
            t.cipher_suite.as_deref().unwrap_or("")
        )
    } else {
        format!(
            "{}: not established ({})",
            t.mode.as_str(),
            t.error.as_deref().unwrap_or("not tried")
        )
    };
    let mut rows = vec![("TLS", session)];
    if let Some(leaf) = t.leaf() {
        let flag = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        rows.push((
            "Certificate",
            format!(
                "subject {}; issuer {}; names {}; expires {}{}; self-signed {}; chain trusted {}; name matches {}",
                leaf.subject,
                leaf.issuer,
                leaf.sans.join(", "),
                leaf.not_after
                    .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "?".into()),
                leaf.days_left
                    .map(|d| format!(" ({d} days left)"))
                    .unwrap_or_default(),
                flag(Some(leaf.self_signed)),
                flag(t.chain_valid),
                flag(t.name_match),
            ),
        ));
    }
    rows
}

fn finding(f: &Finding, mta: &str, out: &mut String) {
    finding_block(
        &FindingView {
            severity: f.severity,
            id: f.id.as_str(),
            title: &f.title,
            detail: &f.detail,
            evidence: &f.evidence,
            fix_for: mta,
            remediation: &f.remediation,
        },
        out,
    );
}

/// A finding as the page shows it, for a host or a mail domain.
struct FindingView<'a> {
    severity: Severity,
    id: &'a str,
    title: &'a str,
    detail: &'a str,
    evidence: &'a [String],
    /// Whom the fix is written for: the software, or "the domain".
    fix_for: &'a str,
    remediation: &'a str,
}

fn finding_block(f: &FindingView<'_>, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"finding sev-{sev}\"><p><span class=\"badge sev-{sev}\">{sev}</span> \
         <code>{id}</code> <strong>{title}</strong></p>\n<p>{detail}</p>\n",
        sev = f.severity,
        id = esc(f.id),
        title = esc(f.title),
        detail = esc(f.detail),
    );
    if !f.evidence.is_empty() {
        out.push_str("<pre class=\"evidence\">");
        for line in f.evidence {
            let _ = writeln!(out, "{}", esc(line));
        }
        out.push_str("</pre>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"fix\"><strong>Fix ({}):</strong> {}</p></div>",
        esc(f.fix_for),
        prose(f.remediation)
    );
}

/// Remediation prose: words as text, code in `<code>`, both escaped.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for piece in pieces(text) {
        match piece {
            Piece::Words(w) => out.push_str(&esc(w)),
            Piece::Code(c) => {
                let _ = write!(out, "<code>{}</code>", esc(c));
            }
        }
    }
    out
}

fn transcript(r: &ScanRecord, out: &mut String) {
    if r.transcript.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<details class=\"transcript\"><summary>Transcript ({}{})</summary><pre>",
        count(r.transcript.len() as u64, "line"),
        if r.transcript_truncated {
            ", truncated"
        } else {
            ""
        }
    );
    for line in &r.transcript {
        let who = match line.dir {
            Direction::Client => "C:",
            Direction::Server => "S:",
            Direction::Note => " #",
        };
        let _ = writeln!(out, "{:>6}ms {who} {}", line.ms, esc(&line.text));
    }
    out.push_str("</pre></details>\n");
}

/// Closes the table, then the summary (shown first by CSS), the domains, and the script.
fn tail(
    end: &RunEnd,
    summary: &Summary,
    hosts: u64,
    domains: Option<(String, usize)>,
    nonce: &str,
    out: &mut String,
) {
    if hosts == 0 {
        let _ = writeln!(
            out,
            "<tfoot><tr><td colspan=\"{}\" class=\"muted\">No host answered.</td></tr></tfoot>",
            COLUMNS.len()
        );
    }
    out.push_str("</table>\n</main>\n<section id=\"summary\">\n");
    let _ = writeln!(
        out,
        "<p id=\"headline\">{}</p>",
        overview::headline(summary, domains.as_ref().map(|(_, n)| *n), end.interrupted)
    );
    if let Some(depth) = summary.depth_line() {
        let _ = writeln!(out, "<p id=\"depth\">{}</p>", esc(&depth));
    }
    let finished = end.finished_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let _ = writeln!(
        out,
        "<p class=\"muted\">Finished {}{}.</p>",
        esc(&finished),
        if end.interrupted {
            "; <strong>interrupted</strong>: the table holds the hosts finished before the stop"
        } else {
            ""
        }
    );
    out.push_str("<div class=\"cards\">\n");
    for c in cards(summary) {
        let class = if c.alert { "card alert" } else { "card" };
        let _ = write!(
            out,
            "<div class=\"{class}\"><span class=\"n\">{}</span><span class=\"l\">{}</span>",
            c.n, c.label
        );
        if !c.sub.is_empty() {
            let _ = write!(out, "<span class=\"sub\">{}</span>", esc(&c.sub));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n<div class=\"charts\">\n");
    let verdicts: Vec<(String, u64, String)> = Verdict::ALL
        .iter()
        .map(|v| (*v, summary.verdict_count(*v)))
        .filter(|(v, n)| *n > 0 || v.listed_at_zero())
        .map(|(v, n)| (v.to_string(), n, format!("v-{v}")))
        .collect();
    out.push_str(&chart::bars("Verdicts", &verdicts));
    let severities: Vec<(String, u64, String)> = Severity::ALL
        .iter()
        .map(|s| {
            (
                s.to_string(),
                summary.severity_count(*s),
                format!("sev-{s}"),
            )
        })
        .collect();
    out.push_str(&chart::bars("Findings by severity", &severities));
    out.push_str("</div>\n");
    if !summary.by_finding.is_empty() {
        out.push_str(
            "<h3>Findings in this scan</h3>\n<div class=\"scroll\"><table class=\"catalogue\"><thead><tr>\
             <th>Severity</th><th>Id</th><th>Finding</th><th>Hosts</th></tr></thead><tbody>\n",
        );
        for id in FindingId::ALL {
            let Some(n) = summary.by_finding.get(id.as_str()) else {
                continue;
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{id}</code></td><td>{}</td><td>{n}</td></tr>",
                severity_badge(Some(id.severity())),
                esc(id.title())
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
    out.push_str(&host_totals::blocklists(&summary.blocklists));
    out.push_str(&host_totals::software(&summary.software));
    if let Some((section, _)) = domains {
        out.push_str(&section);
    }
    out.push_str("<footer><p>Written by relayscan. Open the details of a host for its findings, their evidence and remediation, and the full dialogue. Server text is shown as text: control characters appear as escapes such as \\x1b.</p></footer>\n");
    let _ = write!(
        out,
        "<script nonce=\"{nonce}\">\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
}

/// One summary card: a number, what it counts, and an optional breakdown.
#[derive(Debug, PartialEq, Eq)]
struct Card {
    n: u64,
    label: &'static str,
    sub: String,
    /// Shown in red: something to act on.
    alert: bool,
}

/// The summary cards, in order: probed, answered, not answered (by status, so that the
/// three add up), open relays, accepting any recipient, then findings by severity.
fn cards(summary: &Summary) -> Vec<Card> {
    let card = |n: u64, label, sub: String, alert| Card {
        n,
        label,
        sub,
        alert,
    };
    let open = summary.verdict_count(Verdict::OpenRelay);
    let mut cards = vec![
        card(summary.probed, "endpoints probed", String::new(), false),
        card(summary.answered, "answered", String::new(), false),
        card(
            summary.probed.saturating_sub(summary.answered),
            "not answered",
            overview::not_answered_text(summary),
            false,
        ),
        card(open, "open relays", String::new(), open > 0),
        card(
            summary.accept_all,
            "accept any recipient",
            String::new(),
            summary.accept_all > 0,
        ),
    ];
    for s in Severity::ALL {
        let n = summary.severity_count(s);
        let label = match s {
            Severity::Critical => "critical findings",
            Severity::High => "high findings",
            Severity::Medium => "medium findings",
            Severity::Low => "low findings",
            Severity::Info => "info findings",
        };
        cards.push(card(n, label, String::new(), n > 0 && s >= Severity::High));
    }
    cards
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    const INJECTIONS: [&str; 5] = [
        "<script>document.body.dataset.pwned=1</script>",
        "\"><img src=x onerror=alert(1)>",
        "</script><script>alert(2)</script>",
        "javascript:alert(3)",
        "<style>body{display:none}</style>",
    ];

    fn render(records: &[ScanRecord]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.html");
        let mut sink = HtmlSink::new(&path, File::create(&path).unwrap());
        testdata::run_sink(&mut sink, records, false);
        std::fs::read_to_string(&path).unwrap()
    }

    fn hostile_record() -> ScanRecord {
        let mut r = ScanRecord::of_outcome(testdata::open_relay_outcome());
        let payload = INJECTIONS.join(" ");
        r.server_name = Some(payload.clone());
        r.banner = Some(format!("220 {payload}"));
        r.reason = Some(payload.clone());
        r.auth = vec![payload.clone()];
        r.transcript[0].text = format!("220 {payload} {}", testdata::HOSTILE_GREETING);
        r.findings[0].evidence.push(format!("S: 250 {payload}"));
        r.findings[0].detail = payload;
        r
    }

    #[test]
    fn hostile_text_never_becomes_markup() {
        let page = render(&[hostile_record()]);
        // Exactly our own script and style, each carrying the nonce.
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert_eq!(page.matches("</script>").count(), 1);
        assert_eq!(page.matches("<style").count(), 1);
        assert_eq!(page.matches("<img").count(), 0);
        assert!(!page.contains("onerror=alert(1)>"));
        assert!(page.contains("&lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;"));
        assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        // The ANSI escape and bidi override of the sample banner are visible escapes.
        assert!(page.contains("\\x1b[31mred\\u{202e}txt.exe"), "{page}");
        assert!(!page.contains('\u{1b}') && !page.contains('\u{202e}'));
        // Nothing the server said is in an attribute: every attribute value is ours.
        for attr in attribute_values(&page) {
            assert!(
                attr.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " -_:;'.=,/()".contains(c)),
                "attribute value {attr:?}"
            );
        }
        // Settings and command line are escaped too.
        assert!(page.contains("&lt;b&gt;arg&lt;/b&gt;"));
        assert!(
            page.contains("<tr><td><code>helo</code></td><td>&lt;i&gt;x&lt;/i&gt;</td></tr>"),
            "{page}"
        );
    }

    /// Every `name="value"` in the page, outside the style and script bodies.
    fn attribute_values(page: &str) -> Vec<String> {
        let mut markup = String::new();
        let mut rest = page;
        for (open, close) in [("<style", "</style>"), ("<script", "</script>")] {
            let (Some(a), Some(b)) = (rest.find(open), rest.find(close)) else {
                continue;
            };
            let tag_end = a + rest[a..].find('>').unwrap();
            markup.push_str(&rest[..=tag_end]);
            rest = &rest[b..];
        }
        markup.push_str(rest);
        let mut values = Vec::new();
        for tag in markup.split('<').skip(1) {
            let Some(inside) = tag.split('>').next() else {
                continue;
            };
            let mut rest = inside;
            while let Some(i) = rest.find("=\"") {
                let after = &rest[i + 2..];
                let Some(end) = after.find('"') else { break };
                values.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
        }
        values
    }

    #[test]
    fn page_has_metadata_summary_charts_table_and_details() {
        let records = [
            ScanRecord::of_outcome(testdata::open_relay_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
        ];
        let page = render(&records);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
        let nonce = page
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(page.contains(&format!("<script nonce=\"{nonce}\">")));
        assert!(page.contains("default-src 'none'"));
        // No external asset of any kind.
        for needle in ["http://", "https://", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(needle), "{needle}");
        }
        assert!(page.contains("<dt>Targets</dt><dd>192.0.2.0/24</dd>"));
        assert!(page.contains("started 2025-03-01T12:00:00Z, 1 target, 1 port"));
        assert!(page.contains("<span class=\"n\">1</span><span class=\"l\">open relays</span>"));
        assert_eq!(page.matches("<svg").count(), 2);
        assert_eq!(page.matches("<tbody class=\"host\"").count(), 2);
        assert!(page.contains("data-verdict=\"open-relay\""));
        assert!(page.contains("data-s-severity=\"5\""));
        assert!(page.contains("<code>open-relay</code>"));
        assert!(page.contains("<code>accepts-any-recipient</code>"));
        assert!(page.contains("Transcript (2 lines)"));
        assert!(page.contains("reject_unauth_destination") || page.contains("relay control"));
    }

    #[test]
    fn the_page_opens_with_the_headline_and_cards_then_the_collapsed_details() {
        let records = [
            ScanRecord::of_outcome(testdata::open_relay_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
        ];
        let page = render(&records);
        assert!(page.contains(
            "<p id=\"headline\">1 open relay, 3 findings at high or above, in 2 endpoints</p>\n<p id=\"depth\">Relay tests: full (the catalogue&#39;s 16 tests, and the control RCPT, which counts when one relayed)</p>"
        ), "{page}");
        let needles = [
            // Probed, answered and not answered (by the JSON's status names) add up.
            "<span class=\"n\">2</span><span class=\"l\">endpoints probed</span>",
            "<span class=\"n\">1</span><span class=\"l\">answered</span>",
            "<span class=\"n\">1</span><span class=\"l\">not answered</span><span class=\"sub\">refused 1</span>",
            // The run's details are collapsed, the settings a table.
            "<details id=\"meta\"><summary><h2>Run details</h2>",
            "<th>Setting</th><th>Value</th>",
            "<tr><td><code>concurrency</code></td><td>",
        ];
        for needle in needles {
            assert!(page.contains(needle), "{needle}");
        }
        assert!(!page.contains("<details id=\"meta\" open"));
        // Shown after the summary.
        assert!(STYLE.contains("#summary { order: 1; } #meta { order: 2; }"));
        // Remediation code as code, never as literal backticks.
        let fixes: Vec<&str> = page.split("<p class=\"fix\">").skip(1).collect();
        assert!(!fixes.is_empty());
        for fix in fixes {
            let fix = fix.split("</p>").next().unwrap();
            assert!(!fix.contains('`'), "{fix}");
        }
        assert!(
            page.contains("Details: 3 findings, 2 transcript lines"),
            "{page}"
        );
    }

    #[test]
    fn cards_add_up_table() {
        let mut s = Summary::default();
        for r in [
            ScanRecord::of_outcome(testdata::open_relay_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
            ScanRecord::of_outcome(testdata::refused_outcome()),
        ] {
            s.add(&r);
        }
        let cards = cards(&s);
        let by = |label: &str| cards.iter().find(|c| c.label == label).unwrap();
        assert_eq!(by("endpoints probed").n, 3);
        assert_eq!(by("answered").n + by("not answered").n, 3);
        assert_eq!(by("not answered").sub, "refused 2");
        assert!(by("open relays").alert && !by("answered").alert);
        assert!(by("critical findings").alert && !by("medium findings").alert);
        assert_eq!(cards.len(), 5 + Severity::ALL.len());
    }

    /// On a phone each cell is labelled by CSS: every column of both tables has its label
    /// there, with its heading.
    #[test]
    fn every_column_is_labelled_on_a_phone() {
        for (key, heading, _) in COLUMNS.iter().skip(1) {
            let rule = format!("td.c-{key}::before {{ content: \"{heading}\"; }}");
            assert!(STYLE.contains(&rule), "{rule}");
        }
        for (class, heading) in domains::COLUMNS.iter().skip(1) {
            let rule = format!("td.{class}::before {{ content: \"{heading}\"; }}");
            assert!(STYLE.contains(&rule), "{rule}");
        }
    }

    #[test]
    fn domains_given_before_finish_are_shown_after_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.html");
        let mut sink = HtmlSink::new(&path, File::create(&path).unwrap());
        let entries = testdata::domain_entries(testdata::one_domain_plan(
            "d.example",
            "mx.d.example",
            "192.0.2.7",
        ));
        for e in &entries {
            sink.domain(e).unwrap();
        }
        testdata::run_sink(&mut sink, &[], false);
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(
            page.contains("in 0 endpoints and 1 mail domain</p>"),
            "{page}"
        );
        let summary = page.find("<section id=\"summary\">").unwrap();
        let domains = page.find("<section id=\"domains\">").unwrap();
        assert!(summary < domains);
        assert!(page.contains("<td class=\"d-domain\">d.example</td>"));
        assert!(page.trim_end().ends_with("</html>"));
    }

    #[test]
    fn empty_run_says_so() {
        let page = render(&[]);
        assert!(page.contains("No host answered."));
        assert!(
            page.contains("<span class=\"n\">0</span><span class=\"l\">endpoints probed</span>")
        );
    }

    #[test]
    fn endpoint_keys_sort_numerically() {
        let mut keys = vec![
            endpoint_key("192.0.2.10".parse().unwrap(), 25),
            endpoint_key("2001:db8::1".parse().unwrap(), 25),
            endpoint_key("192.0.2.9".parse().unwrap(), 587),
            endpoint_key("192.0.2.9".parse().unwrap(), 25),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                endpoint_key("192.0.2.9".parse().unwrap(), 25),
                endpoint_key("192.0.2.9".parse().unwrap(), 587),
                endpoint_key("192.0.2.10".parse().unwrap(), 25),
                endpoint_key("2001:db8::1".parse().unwrap(), 25),
            ]
        );
    }

    #[test]
    fn script_never_writes_markup() {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "Function(",
        ] {
            assert!(!SCRIPT.contains(sink), "{sink}");
        }
    }
}
