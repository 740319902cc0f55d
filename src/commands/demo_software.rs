//! The demo's check of known-vulnerable and end-of-life software: the personas whose greeting shows a release under an advisory get an advisory finding (the end-of-life one for the release line past its support), and no other host does.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::assess::FindingId;
use crate::report::ScanRecord;
use relayscan_lab::LabHost;

/// The findings that come from the advisories table.
const ADVISORY_FINDINGS: [FindingId; 3] = [
    FindingId::KnownExploitedSoftware,
    FindingId::VulnerableSoftware,
    FindingId::EndOfLifeSoftware,
];

/// A table of the hosts with an advisory finding (expected or not), and how many are wrong.
pub fn check(hosts: &[LabHost], observed: &HashMap<SocketAddr, ScanRecord>) -> (String, usize) {
    let mut text =
        String::from("\nKnown-vulnerable software (from the banner, no extra traffic):\n");
    let mut mismatches = 0;
    for host in hosts {
        let advisories: Vec<&str> = observed
            .get(&host.addr)
            .map(|r| {
                r.findings
                    .iter()
                    .filter(|f| ADVISORY_FINDINGS.contains(&f.id))
                    .map(|f| f.id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let expected = host.persona.shows_vulnerable_version();
        if advisories.is_empty() && !expected {
            continue;
        }
        // A persona showing an end-of-life release must get that finding, not only another
        // advisory of the same version.
        let end_of_life = advisories.contains(&FindingId::EndOfLifeSoftware.as_str());
        let ok = expected
            && !advisories.is_empty()
            && end_of_life == host.persona.shows_end_of_life_version();
        mismatches += usize::from(!ok);
        let software = observed
            .get(&host.addr)
            .and_then(|r| r.software.as_ref())
            .map(|s| format!("{} {}", s.product, s.version.as_deref().unwrap_or("?")))
            .unwrap_or_else(|| "(none)".into());
        let found = if advisories.is_empty() {
            "(no advisory)".to_string()
        } else {
            advisories.join(", ")
        };
        super::demo::check_row(&mut text, host, [(&software, 14), (&found, 60)], ok);
    }
    (text, mismatches)
}
