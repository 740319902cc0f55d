//! Fuzz target: mail-log bytes through everything `relayscan logs` runs on them: the syslog prefixes, the Postfix, Sendmail and Exim parsers (on the whole line and on its message), and the whole reader (gzip sniffing, capped lines, the analyzer and its correlator) to a finished report whose bounds must hold.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use relayscan::input::log_stream;
use relayscan::logs::correlate::{MAX_EVIDENCE, MAX_NAMED_RECIPIENTS};
use relayscan::logs::prefix::{self, YearHint};
use relayscan::logs::read::read_log;
use relayscan::logs::{Analyzer, Settings, exim, postfix, sendmail};

/// A December log: RFC 3164 dates of every month are read against it.
const HINT: YearHint = YearHint {
    year: 2026,
    month: 12,
};

fuzz_target!(|data: &[u8]| {
    // Each parser alone, on every line: none may panic, and what they borrow stays inside
    // the line.
    for line in data.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let message = match prefix::parse(&text, HINT) {
            Some(p) => {
                assert!(text.ends_with(p.message) || p.message.is_empty());
                p.message
            }
            None => &text,
        };
        for m in [&*text, message] {
            let _ = postfix::parse(m);
            let _ = sendmail::parse(m);
            let _ = exim::parse(m);
        }
    }
    // The whole reader, with networks and local domains so that every branch of the
    // conclusions is reachable (198.51.100.0/25 trusted, example.com local).
    let settings = Settings {
        mynetworks: vec!["198.51.100.0/25".parse().expect("a network")],
        local_domains: ["example.com".to_string()].into_iter().collect(),
        ..Settings::default()
    };
    let mut analyzer = Analyzer::new(settings);
    if let Ok(stream) = log_stream(Cursor::new(data.to_vec())) {
        let _ = read_log(&mut analyzer, "fuzz.log", stream);
    }
    let report = analyzer.finish();
    // Every line is counted once, in exactly one of these.
    for file in &report.files {
        assert_eq!(
            file.mail_lines + file.other_lines + file.unreadable + file.outside_window,
            file.lines
        );
    }
    for incident in &report.relayed {
        assert!(incident.evidence.len() <= MAX_EVIDENCE);
        assert!(incident.recipients.len() <= MAX_NAMED_RECIPIENTS);
        assert!(incident.recipient_count >= incident.recipients.len() as u64);
    }
    assert!(report.totals.relayed_for_stranger >= report.relayed.len() as u64);
});
