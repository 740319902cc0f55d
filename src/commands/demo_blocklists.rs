//! The demo's check of the lab's DNS blocklist: the listed persona gets a `blocklisted` finding, the refused query is a lookup error and no listing, every other host is not listed.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::assess::FindingId;
use crate::report::ScanRecord;
use relayscan_lab::LabHost;
use relayscan_lab::dns::blocklist_code;

/// What the lab's blocklist says about one host, as the record has it.
fn observed(r: &ScanRecord) -> String {
    let Some(answers) = &r.blocklists else {
        return "(not asked)".into();
    };
    let listed = r.findings.iter().any(|f| f.id == FindingId::Blocklisted);
    match answers.as_slice() {
        [a] if a.status == "listed" && listed => "listed (blocklisted)".into(),
        [a] if a.status == "error" && a.error.as_deref().is_some_and(|e| e.contains("refused")) => {
            "query refused".into()
        }
        [a] => a.status.clone(),
        _ => format!("{} answers", answers.len()),
    }
}

/// A table of the hosts the lab's blocklist names, and how many hosts differ from design.
pub fn check(hosts: &[LabHost], records: &HashMap<SocketAddr, ScanRecord>) -> (String, usize) {
    let mut text = String::from("\nDNS blocklist of the lab (spamhaus-zen codes):\n");
    let mut mismatches = 0;
    for host in hosts {
        let expected = match blocklist_code(host.persona).map(|c| c.octets()) {
            Some([127, 255, 255, _]) => "query refused",
            Some(_) => "listed (blocklisted)",
            None => "not-listed",
        };
        let got = records
            .get(&host.addr)
            .map(observed)
            .unwrap_or_else(|| "(no record)".into());
        let ok = got == expected;
        mismatches += usize::from(!ok);
        if expected != "not-listed" || !ok {
            super::demo::check_row(&mut text, host, [(expected, 22), (&got, 22)], ok);
        }
    }
    (text, mismatches)
}
