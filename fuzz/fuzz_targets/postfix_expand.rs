//! Fuzz target: main.cf text read as Postfix reads it, its `$name` references expanded under the audit's caps, and the whole audit run on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relayscan::audit::postfix::params::{MAX_EXPANDED_BYTES, Params};
use relayscan::audit::{MtaChoice, Source, run};

/// Names the checks read even when the text does not set them (their defaults expand).
const READ_BY_THE_AUDIT: [&str; 4] = [
    "mynetworks",
    "relay_domains",
    "smtpd_banner",
    "smtpd_relay_restrictions",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(params) = Params::parse("main.cf", &text) {
        // The first names the text sets (each may cost up to the caps: a few keep the
        // runs fast; the audit below reads the rest it needs).
        let set: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(name, _)| name.trim())
            .take(4)
            .collect();
        for name in set.into_iter().chain(READ_BY_THE_AUDIT) {
            let (value, _) = params.expanded(name);
            assert!(value.len() <= MAX_EXPANDED_BYTES, "{name}: {}", value.len());
        }
        let (list, _) = params.expand_text(&text, "smtpd_relay_restrictions");
        assert!(list.len() <= MAX_EXPANDED_BYTES);
        if let Some(hit) = params.cap_hit() {
            assert!(hit.to_string().starts_with("main.cf"), "{hit}");
        }
    }
    // The whole audit: findings or an error naming main.cf, never a panic.
    let sources = [Source::new("main.cf", text.as_ref())];
    if let Err(e) = run(&sources, MtaChoice::Postfix, &|_| Ok(None)) {
        assert!(e.starts_with("main.cf"), "{e}");
    }
});
