//! Fuzz target: the bounded, incremental SMTP reply parser on arbitrary server bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relayscan::smtp::{ReplyLimits, parse_reply};

fuzz_target!(|data: &[u8]| {
    // Small limits reach every cap quickly; the defaults are what scans use.
    let small = ReplyLimits {
        max_line: 64,
        max_lines: 4,
        max_total: 160,
    };
    for limits in [small, ReplyLimits::default()] {
        let Ok(Some((reply, used))) = parse_reply(data, &limits) else {
            continue;
        };
        assert!(
            used > 0 && used <= data.len(),
            "used {used} of {}",
            data.len()
        );
        assert!(used <= limits.max_total, "a reply beyond the total cap");
        assert!(!reply.lines.is_empty() && reply.lines.len() <= limits.max_lines);
        assert!(
            (100..=999).contains(&reply.code) || reply.code < 100,
            "code {}",
            reply.code
        );
        // Incremental: the same bytes, cut where the reply ended, give the same reply.
        let again = parse_reply(&data[..used], &limits);
        assert_eq!(again, Ok(Some((reply.clone(), used))));
        // A shorter prefix is never a different complete reply.
        if let Ok(Some((early, n))) = parse_reply(&data[..used - 1], &limits) {
            panic!("prefix parsed as {early:?} ({n} bytes) before the full reply {reply:?}");
        }
        let _ = reply.summary();
    }
});
