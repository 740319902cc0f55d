//! Fuzz target: EHLO capability parsing (and the announced server name) on arbitrary reply lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relayscan::smtp::{Capabilities, Reply, ReplyLimits, announced_name, parse_reply};

fuzz_target!(|data: &[u8]| {
    // As the wire gives it, when it parses as a reply...
    if let Ok(Some((reply, _))) = parse_reply(data, &ReplyLimits::default()) {
        check(&reply);
    }
    // ...and as raw lines, whatever the parser would have said about them.
    let lines: Vec<String> = data
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    check(&Reply {
        code: 250,
        enhanced: None,
        lines,
    });
});

fn check(reply: &Reply) {
    let caps = Capabilities::from_ehlo(reply);
    let names = caps.names();
    assert!(
        names.len() < reply.lines.len().max(1),
        "more keywords than lines"
    );
    for name in &names {
        assert!(caps.has(name), "{name} listed but not found");
        let _ = caps.params(name);
    }
    let _ = (
        caps.size_limit(),
        caps.auth_mechanisms(),
        caps.starttls(),
        caps.pipelining(),
    );
    let _ = announced_name(reply);
}
