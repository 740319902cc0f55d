//! Injection safety: the hostile lab personas against every output. CSV cells are
//! neutralised, the terminal stays clean, JSON keeps the raw text, Markdown keeps server text
//! in code spans, and the HTML report stays inert in a real browser (headless Chromium).
//!
//! The hostile personas are scanned once for the module, with every format and
//! `--transcript`; the lab stops before any test runs.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use relayscan::report::ScanRecord;
use relayscan_lab::Persona;

use crate::support::personas::{PersonaRecords, start_lab};
use crate::support::{browser, nets, read_csv, run, stderr, stdout};

const LIMIT: Duration = Duration::from_secs(60);

const HOSTILE: [Persona; 3] = [
    Persona::HostileCsv,
    Persona::HostileHtml,
    Persona::HostileTerminal,
];

/// Characters that must never reach a terminal from server text: C0 controls but tab and
/// newline, DEL, C1 controls, bidi controls.
fn terminal_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The hostile personas scanned once; the lab has stopped.
struct Scanned {
    hosts: PersonaRecords,
    /// The scan's stdout: the transcripts and the summary.
    terminal: String,
    csv: (Vec<String>, Vec<Vec<String>>),
    md: String,
    html: String,
}

static SCANNED: LazyLock<Scanned> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let lab = start_lab(nets::INJECTION, dir.path(), &HOSTILE, &[]);
    let prefix = dir.path().join("hostile");
    let port = lab.port_arg();
    let targets = lab.range(HOSTILE.len());
    let out = run(
        &[
            "scan",
            &targets,
            "-p",
            &port,
            "--transcript",
            "--no-progress",
            "--format",
            "csv,jsonl,json,html,md",
            "-o",
            prefix.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = |ext| std::fs::read_to_string(prefix.with_extension(ext)).unwrap();
    let records = crate::support::read_jsonl(&prefix.with_extension("jsonl"));
    Scanned {
        hosts: PersonaRecords::new(&lab, &HOSTILE, records),
        terminal: stdout(&out),
        csv: read_csv(&prefix.with_extension("csv")),
        md: text("md"),
        html: text("html"),
    }
});

fn of(p: Persona) -> &'static ScanRecord {
    SCANNED.hosts.of(p)
}

#[test]
fn the_terminal_shows_escapes_as_text_never_live() {
    // --transcript and the summary.
    let out = &SCANNED.terminal;
    let bad: Vec<char> = out.chars().filter(|c| terminal_unsafe(*c)).collect();
    assert!(bad.is_empty(), "control characters on stdout: {bad:?}");
    assert!(
        out.contains("\\x1b[2J") && out.contains("\\x1b]52;c;"),
        "{out}"
    );
    assert!(out.contains("invoice\\u{202e}gnp.exe"), "{out}");
    assert!(out.contains("Scan summary"));
}

#[test]
fn json_keeps_the_raw_server_text_as_evidence() {
    assert_eq!(SCANNED.hosts.records.len(), HOSTILE.len());
    let banner = of(Persona::HostileTerminal).banner.as_deref().unwrap();
    assert!(
        banner.contains("\u{1b}[2J")
            && banner.contains("\u{1b}]52;c;")
            && banner.contains('\u{202e}')
    );
    let html = of(Persona::HostileHtml);
    assert!(
        html.banner
            .as_deref()
            .unwrap()
            .contains("<script>document.body.dataset.pwned='script'</script>")
    );
    assert!(
        html.findings[0]
            .evidence
            .iter()
            .any(|l| l.contains("<iframe srcdoc=")),
        "{:?}",
        html.findings[0].evidence
    );
    let csv = of(Persona::HostileCsv);
    assert!(csv.auth[0].starts_with("=HYPERLINK("), "{:?}", csv.auth);
}

#[test]
fn no_csv_cell_starts_a_formula_and_quoted_text_stays_one_cell() {
    let (header, rows) = &SCANNED.csv;
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']),
                "formula cell {cell:?}"
            );
        }
    }
    // The auth cell is the one a server could have led with.
    let ip = of(Persona::HostileCsv).ip.to_string();
    let csv_row = rows.iter().find(|r| r[col("ip")] == ip).unwrap();
    assert!(
        csv_row[col("auth")].starts_with("'=HYPERLINK("),
        "{}",
        csv_row[col("auth")]
    );
    // Quotes and commas survive as one cell each (the csv crate quotes them).
    assert!(csv_row[col("banner")].contains("\"quoted\", with, commas"));
    assert!(csv_row[col("banner")].contains("\t=1+1"));
}

#[test]
fn no_csv_cell_holds_a_control_character_and_the_escapes_show_as_text() {
    let (header, rows) = &SCANNED.csv;
    for row in rows {
        for cell in row {
            assert!(
                !cell.chars().any(|c| terminal_unsafe(c) || c == '\n'),
                "control character in the CSV cell {cell:?}"
            );
        }
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let ip = of(Persona::HostileTerminal).ip.to_string();
    let row = rows.iter().find(|r| r[col("ip")] == ip).unwrap();
    let banner = &row[col("banner")];
    assert!(
        banner.contains("\\x1b[2J") && banner.contains("\\x07 invoice\\u{202e}gnp.exe"),
        "{banner}"
    );
}

#[test]
fn markdown_keeps_server_text_inside_code_spans() {
    let md = &SCANNED.md;
    assert!(
        !md.chars().any(terminal_unsafe),
        "control characters in the Markdown"
    );
    // The findings table keeps four cells per row whatever pipes the servers sent.
    let in_table: Vec<&str> = md
        .lines()
        .filter(|l| {
            ["| critical |", "| high |", "| medium |", "| low |"]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .collect();
    assert!(!in_table.is_empty(), "{md}");
    for line in in_table {
        let bars = line
            .char_indices()
            .filter(|&(i, c)| c == '|' && !line[..i].ends_with('\\'))
            .count();
        assert_eq!(bars, 5, "{line}");
    }
    assert!(
        !md.contains("\n<script") && !md.contains(" <img"),
        "raw HTML outside code spans"
    );
}

/// Writes `record` as `dir/NAME.jsonl`, runs `relayscan report` on it with `--format
/// formats`, and returns the prefix of the reports it wrote.
fn regenerate(dir: &Path, name: &str, record: &serde_json::Value, formats: &str) -> PathBuf {
    let jsonl = dir.join(format!("{name}.jsonl"));
    std::fs::write(&jsonl, format!("{record}\n")).unwrap();
    let again = dir.join(format!("{name}-out"));
    let (input, output) = (jsonl.to_str().unwrap(), again.to_str().unwrap());
    let args = ["report", input, "--format", formats, "-q", "-o", output];
    let out = run(&args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    again
}

#[test]
fn csv_regenerated_from_records_with_every_text_field_hostile_is_neutralised() {
    // Any field may hold anything in a JSONL file, and the leading tab reaches the CSV this
    // way.
    let dir = tempfile::tempdir().unwrap();
    let mut crafted = of(Persona::HostileCsv).clone();
    crafted.name = Some("+cmd".into());
    crafted.server_name = Some("\t=1+2".into());
    crafted.reason = Some("@SUM(1)".into());
    crafted.banner = Some("-2+3".into());
    crafted.error = Some("=HYPERLINK(\"http://evil.example/\",\"x\")".into());
    let crafted = serde_json::to_value(&crafted).unwrap();
    let again = regenerate(dir.path(), "crafted", &crafted, "csv");
    let (header, rows) = read_csv(&again.with_extension("csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = &rows[0];
    assert_eq!(row[col("name")], "'+cmd");
    assert_eq!(row[col("server_name")], "'\t=1+2");
    assert_eq!(row[col("reason")], "'@SUM(1)");
    assert_eq!(row[col("banner")], "'-2+3");
    assert_eq!(
        row[col("error")],
        "'=HYPERLINK(\"http://evil.example/\",\"x\")"
    );
}

#[test]
fn csv_regenerated_from_records_with_controls_in_every_text_field_shows_them_escaped() {
    // Terminal controls in server text and certificate names (a JSONL file may hold
    // anything): ESC sequences, BEL, a bidi override, bare CR and LF.
    let hostile = "220 mx \u{1b}[2J\u{1b}]8;;http://evil.example/\u{7}x\u{202e}gnp.exe\rfake\nline";
    let shown =
        "220 mx \\x1b[2J\\x1b]8;;http://evil.example/\\x07x\\u{202e}gnp.exe\\x0dfake\\x0aline";
    let dir = tempfile::tempdir().unwrap();
    let mut crafted = serde_json::to_value(of(Persona::HostileCsv)).unwrap();
    for field in ["banner", "reason", "error", "server_name"] {
        crafted[field] = hostile.into();
    }
    crafted["tls"] = serde_json::json!({
        "mode": "starttls",
        "established": true,
        "error": hostile,
        "chain": [{"subject": format!("CN={hostile}"), "issuer": format!("CN={hostile}")}],
    });
    let again = regenerate(dir.path(), "controls", &crafted, "csv,json");
    let raw = std::fs::read_to_string(again.with_extension("csv")).unwrap();
    assert!(!raw.chars().any(terminal_unsafe), "{raw:?}");
    assert_eq!(raw.lines().count(), 2, "a header and one row: {raw:?}");
    let (header, rows) = read_csv(&again.with_extension("csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for field in ["banner", "reason", "error", "server_name", "tls_error"] {
        assert_eq!(rows[0][col(field)], shown, "{field}");
    }
    for field in ["cert_subject", "cert_issuer"] {
        assert_eq!(rows[0][col(field)], format!("CN={shown}"), "{field}");
    }
    // JSON keeps the raw text.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(doc["records"][0]["banner"], hostile);
    assert_eq!(
        doc["records"][0]["tls"]["chain"][0]["subject"],
        format!("CN={hostile}")
    );
}

#[test]
fn hostile_banners_stay_inert_in_a_real_browser() {
    let Some(browser) = browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hostile.html");
    std::fs::write(&page, &SCANNED.html).unwrap();
    let url = format!("file://{}", page.display());
    let profile = dir.path().join("profile");

    // The DOM after the page's own script ran.
    let dom = browser::headless(&browser, &profile, &url, &["--dump-dom"]);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the report's script did not run:\n{dom}"
    );
    // Every payload would have set data-pwned on <body> or added an element; none did.
    assert!(
        !dom.contains(relayscan_lab::injection::PWNED_ATTRIBUTE),
        "a payload ran"
    );
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the report's own script"
    );
    for element in ["<img", "<iframe", "<svg onload", "<b>bold</b>"] {
        assert!(!dom.contains(element), "{element} became an element");
    }
    // ...and they are on the page as text, for the reader to see.
    assert!(
        dom.contains("&lt;script&gt;document.body.dataset.pwned='script'&lt;/script&gt;"),
        "payload text missing"
    );
    assert!(dom.contains("&lt;iframe srcdoc="));
    assert!(
        dom.contains("\\x1b]8;;http://evil.example/"),
        "OSC 8 shown as text"
    );
    assert_eq!(dom.matches("<tbody class=\"host\"").count(), 3);

    // The table's script sorts and filters (views come from the URL fragment).
    let dom = browser::headless(
        &browser,
        &profile,
        &format!("{url}#verdict=open-relay"),
        &["--dump-dom"],
    );
    assert!(dom.contains("1 of 3 hosts shown"), "filter by verdict");
    let dom = browser::headless(
        &browser,
        &profile,
        &format!("{url}#sort=endpoint&dir=desc"),
        &["--dump-dom"],
    );
    let order: Vec<usize> = [
        "hostile-terminal.lab.test",
        "hostile-html.lab.test",
        "hostile-csv.lab.test",
    ]
    .iter()
    .map(|name| dom.find(&format!("class=\"c-server\">{name}")).expect(name))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "sorted by address, descending: {order:?}"
    );

    // A screenshot, kept for a person (and CI) to look at.
    let shot = browser::screenshot_dir("injection").join("hostile-1280.png");
    browser::screenshot(&browser, &profile, &url, (1280, 2000), &shot);
}
