//! The HTML report: one self-contained, offline file with the metadata, summary cards, SVG charts, a sortable and filterable host table, per-host findings and transcripts.
//!
//! Safety: every string that is not our own constant goes through [`sanitize::html`] into a
//! text node. Server text never lands in a script, an attribute or a URL: attributes carry
//! only our own enum names and computed sort keys. The page's Content-Security-Policy allows
//! only its own style and script (by a per-report nonce) and no fetches at all, so even a
//! mistake in escaping could not run or load anything.
//!
//! Streaming: the metadata and the table head are written at `begin`, one `<tbody>` per host
//! at `record`, the summary at `finish` (CSS shows it above the table). The file is usable
//! after every record, like the CSV and JSONL files; only the summary waits for the end.

mod chart;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;

use super::meta::{RunEnd, RunMeta};
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
        tail(end, summary, self.hosts, &self.nonce, &mut self.buf);
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
    out.push_str("<header id=\"meta\">\n<h1>relayscan report</h1>\n<dl class=\"meta\">\n");
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
    if let Some(settings) = meta.settings.to_json().as_object() {
        let pairs: Vec<String> = settings
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        item("Settings", &pairs.join(", "));
    }
    out.push_str("</dl>\n</header>\n");

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
        "</tr>\n<tr class=\"details\"><td colspan=\"{}\"><details><summary>Details: {} finding{}, {} transcript line{}</summary>\n",
        COLUMNS.len(),
        r.findings.len(),
        plural(r.findings.len()),
        r.transcript.len(),
        plural(r.transcript.len())
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
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
    let _ = write!(
        out,
        "<div class=\"finding sev-{sev}\"><p><span class=\"badge sev-{sev}\">{sev}</span> \
         <code>{id}</code> <strong>{title}</strong></p>\n<p>{detail}</p>\n",
        sev = f.severity,
        id = f.id,
        title = esc(&f.title),
        detail = esc(&f.detail),
    );
    if !f.evidence.is_empty() {
        out.push_str("<pre class=\"evidence\">");
        for line in &f.evidence {
            let _ = writeln!(out, "{}", esc(line));
        }
        out.push_str("</pre>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"fix\"><strong>Fix ({}):</strong> {}</p></div>",
        esc(mta),
        esc(&f.remediation)
    );
}

fn transcript(r: &ScanRecord, out: &mut String) {
    if r.transcript.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<details class=\"transcript\"><summary>Transcript ({} line{}{})</summary><pre>",
        r.transcript.len(),
        plural(r.transcript.len()),
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

/// Closes the table, then the summary (shown above the table by CSS) and the script.
fn tail(end: &RunEnd, summary: &Summary, hosts: u64, nonce: &str, out: &mut String) {
    if hosts == 0 {
        let _ = writeln!(
            out,
            "<tfoot><tr><td colspan=\"{}\" class=\"muted\">No host answered.</td></tr></tfoot>",
            COLUMNS.len()
        );
    }
    out.push_str("</table>\n</main>\n<section id=\"summary\">\n<h2>Summary</h2>\n");
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
    let open = summary.verdict_count(Verdict::OpenRelay);
    let mut cards: Vec<(String, &str, bool)> = vec![
        (summary.probed.to_string(), "endpoints probed", false),
        (summary.answered.to_string(), "answered", false),
        (open.to_string(), "open relays", open > 0),
        (
            summary.accept_all.to_string(),
            "accept any recipient",
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
        cards.push((n.to_string(), label, n > 0 && s >= Severity::High));
    }
    out.push_str("<div class=\"cards\">\n");
    for (n, label, alert) in cards {
        let class = if alert { "card alert" } else { "card" };
        let _ = writeln!(
            out,
            "<div class=\"{class}\"><span class=\"n\">{n}</span><span class=\"l\">{label}</span></div>"
        );
    }
    out.push_str("</div>\n<div class=\"charts\">\n");
    let verdicts: Vec<(String, u64, String)> = Verdict::ALL
        .iter()
        .map(|v| (v.to_string(), summary.verdict_count(*v), format!("v-{v}")))
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
            "<h3>Findings in this scan</h3>\n<table class=\"catalogue\"><thead><tr>\
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
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n<footer><p>Written by relayscan. Open the details of a host for its findings, their evidence and remediation, and the full dialogue. Server text is shown as text: control characters appear as escapes such as \\x1b.</p></footer>\n");
    let _ = write!(
        out,
        "<script nonce=\"{nonce}\">\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
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
        assert!(
            page.contains("&lt;b&gt;arg&lt;/b&gt;") && page.contains("helo=&lt;i&gt;x&lt;/i&gt;")
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
