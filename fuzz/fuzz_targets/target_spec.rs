//! Fuzz target: one target as a user writes it (address, CIDR, range, host name, with a port) and port lists.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relayscan::target::{Target, parse_ports};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(target) = text.parse::<Target>() {
        // What parsed prints, and what it prints parses back to the same spec.
        let shown = target.spec.to_string();
        let again: Target = shown
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} parsed, but its display {shown:?} did not: {e}"));
        assert_eq!(again.spec, target.spec, "{text:?} -> {shown:?}");
    }
    if let Ok(ports) = parse_ports(&text) {
        assert!(!ports.is_empty());
    }
});
