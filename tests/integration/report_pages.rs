//! The HTML and Markdown reports an auditor reads: a lab scan with hosts that answer, addresses where nothing listens and mail domains resolved through the lab's DNS, checked for structure (summary first, details collapsed, settings as a table, not-answered by status, the domain section, remediation code, host lists, plurals) and measured in headless Chromium at 1400 px and 390 px: no horizontal scroll, every chart label inside its chart, the summary line above the fold.
//!
//! The scan runs once for the module; the screenshots are kept in `target/tmp/report-pages/`
//! (the measuring is in `support/browser.rs`, shared with the demo's test).

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use relayscan_lab::Persona;
use serde_json::Value;

use crate::support::personas::start_lab;
use crate::support::{browser, nets, read_json, run, stderr};

const PERSONAS: [Persona; 4] = [
    Persona::OpenRelay,
    Persona::Closed,
    Persona::AuthRequired,
    Persona::HostileHtml,
];
/// Addresses after the personas where nothing listens: refused.
const SILENT: usize = 2;

/// The lab's domains scanned: the personas' own and one of each DNS case that probes
/// nothing (null MX, NXDOMAIN, MX without address, a server that never answers).
const DOMAINS: [&str; 8] = [
    "customer-open-relay.lab.test",
    "customer-closed.lab.test",
    "customer-auth-required.lab.test",
    "customer-hostile-html.lab.test",
    "nullmx.lab.test",
    "gone.lab.test",
    "dangling.lab.test",
    "silent.lab.test",
];

/// The reports of the scan; the lab has stopped. The folder is kept for the browser.
struct Scanned {
    dir: tempfile::TempDir,
    html: String,
    md: String,
    json: Value,
}

impl Scanned {
    fn html_path(&self) -> PathBuf {
        self.dir.path().join("pages.html")
    }
}

static SCANNED: LazyLock<Scanned> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(
        nets::REPORT_PAGES,
        dir.path(),
        &PERSONAS,
        &["--dns-port", "0"],
    );
    let dns = lab.dns.expect("the lab reports its DNS server").to_string();
    let prefix = dir.path().join("pages");
    let targets = lab.range(PERSONAS.len() + SILENT);
    let port = lab.port_arg();
    let mut args = vec![
        "scan",
        &targets,
        "-p",
        &port,
        "--resolver",
        &dns,
        "--dns-timeout",
        "300ms",
        "--format",
        "csv,jsonl,json,html,md",
        "-q",
        "-o",
        prefix.to_str().unwrap(),
    ];
    for d in DOMAINS {
        args.extend(["-d", d]);
    }
    let out = run(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = |ext: &str| std::fs::read_to_string(prefix.with_extension(ext)).unwrap();
    Scanned {
        html: text("html"),
        md: text("md"),
        json: read_json(&prefix.with_extension("json")),
        dir,
    }
});

/// The count of `key` in the JSON summary's `by_status` (0 when absent).
fn status_count(status: &str) -> u64 {
    SCANNED.json["summary"]["by_status"][status]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn the_page_opens_with_the_summary_line_and_cards_that_add_up() {
    let html = &SCANNED.html;
    let summary = &SCANNED.json["summary"];
    let probed = summary["probed"].as_u64().unwrap();
    let answered = summary["answered"].as_u64().unwrap();
    assert!(
        probed > answered,
        "some endpoints must not answer: {summary}"
    );
    let open = summary["by_verdict"]["open-relay"].as_u64().unwrap();
    let serious = summary["by_severity"]["critical"].as_u64().unwrap_or(0)
        + summary["by_severity"]["high"].as_u64().unwrap_or(0);
    let plural = |n: u64, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    let headline = format!(
        "<p id=\"headline\">{}, {} at high or above, in {} and {} mail domains</p>",
        plural(open, "open relay"),
        plural(serious, "finding"),
        plural(probed, "endpoint"),
        DOMAINS.len()
    );
    assert!(html.contains(&headline), "{headline} missing");
    // Probed = answered + not answered, the latter by the JSON's status names.
    let refused = status_count("refused");
    assert!(refused >= SILENT as u64, "{summary}");
    let card = |n: u64, label: &str| {
        format!("<span class=\"n\">{n}</span><span class=\"l\">{label}</span>")
    };
    assert!(html.contains(&card(probed, "endpoints probed")));
    assert!(html.contains(&card(answered, "answered")));
    assert!(html.contains(&format!(
        "{}<span class=\"sub\">refused {refused}</span>",
        card(probed - answered, "not answered")
    )));
    // The run's details collapsed, the settings a table, after the summary on screen.
    assert!(html.contains("<details id=\"meta\"><summary><h2>Run details</h2>"));
    assert!(
        html.contains("<tr><td><code>dns.timeout</code></td><td>300</td></tr>"),
        "settings table"
    );
    assert!(!html.contains("dns={"), "no key=value settings blob");
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn the_domain_section_shows_every_domain_with_route_hosts_and_policy() {
    let html = &SCANNED.html;
    let section = html
        .split("<section id=\"domains\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a domain section");
    assert_eq!(
        section.matches("<tbody class=\"domain\">").count(),
        DOMAINS.len()
    );
    for d in DOMAINS {
        assert!(
            section.contains(&format!("<td class=\"d-domain\">{d}</td>")),
            "{d}"
        );
    }
    for route in [
        "mx",
        "null-mx: accepts no mail",
        "nxdomain",
        "no-mail-hosts",
    ] {
        assert!(
            section.contains(&format!("<td class=\"d-route\">{route}")),
            "{route}"
        );
    }
    // The open relay's domain: its mail host with the endpoint's verdict, and the finding.
    let open = section
        .split("<tbody class=\"domain\">")
        .find(|d| d.contains(">customer-open-relay.lab.test<"))
        .unwrap();
    assert!(open.contains(" open-relay"), "{open}");
    assert!(open.contains("<code>mx-open-relay</code>"));
    assert!(open.contains("<td class=\"d-spf\">"));
    assert!(open.contains("<td class=\"d-dmarc\">"));
    // Remediation code is code, never literal backticks.
    for fix in html.split("<p class=\"fix\">").skip(1) {
        let fix = fix.split("</p>").next().unwrap();
        assert!(!fix.contains('`'), "{fix}");
    }
}

#[test]
fn the_markdown_has_domains_code_spans_host_lists_and_plurals() {
    let md = &SCANNED.md;
    assert!(md.starts_with("# relayscan report: "), "{md}");
    assert!(md.contains(&format!("\n## Mail domains ({})\n", DOMAINS.len())));
    for d in DOMAINS {
        assert!(md.contains(&format!("| `{d}` |")), "{d}");
    }
    assert!(md.contains("### Domain findings"));
    // Both open relays' domains, in name order (they settle in any order).
    assert!(
        md.contains(
            "#### `mx-open-relay` (2 domains)\n\n`customer-hostile-html.lab.test`, `customer-open-relay.lab.test`\n"
        ),
        "{md}"
    );
    assert!(md.contains(&format!(
        "| not answered: refused | {} |",
        status_count("refused")
    )));
    // Each remediation heading is followed by the hosts it concerns.
    let open = md
        .split("\n### `open-relay` on ")
        .nth(1)
        .expect("an open-relay remediation");
    let hosts = open.split("\n\n").nth(1).unwrap();
    assert!(hosts.starts_with('`') && hosts.contains(":"), "{hosts}");
    // No escaped backtick (a literal backtick on screen) anywhere in the prose.
    assert!(!md.contains("\\`"), "escaped backticks");
    for wrong in [
        "(1 hosts)",
        "1 endpoints",
        "1 probes",
        "1 findings",
        "(1 domains)",
    ] {
        assert!(!md.contains(wrong), "{wrong}");
    }
}

#[test]
fn the_page_fits_a_desktop_and_a_phone_in_a_real_browser() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let scanned = &*SCANNED;
    for (size, m) in browser::assert_report_fits(&chromium, &scanned.html_path(), "report-pages") {
        eprintln!("{}x{}: {m:?}", size.0, size.1);
    }
    // The hostile persona's payloads stay text in the real page too.
    let dom = browser::headless(
        &chromium,
        &scanned.dir.path().join("profile-dom"),
        &format!("file://{}", scanned.html_path().display()),
        &["--dump-dom"],
    );
    assert!(dom.contains("data-ready=\"1\""), "the report's script ran");
    assert!(
        !dom.contains(relayscan_lab::injection::PWNED_ATTRIBUTE),
        "a payload ran"
    );
}
