//! Test helpers shared by the MTA checks' table tests: reading fixtures under tests/fixtures/audit/, and comparing a report's findings and trusted networks with a table row.

use std::path::Path;

use super::AuditReport;
use crate::assess::FindingId;

/// One table row: the fixture, its findings as (id, location), the networks it trusts.
pub type Case = (
    &'static str,
    &'static [(FindingId, &'static str)],
    &'static [&'static str],
);

/// Reads `folder/...` from tests/fixtures/audit/folder/ (fixtures and the files they name),
/// as the audit's reader does: `Ok(None)` for a file that is not there.
pub fn read_fixture(folder: &str, path: &Path) -> Result<Option<String>, String> {
    let Ok(rel) = path.strip_prefix(folder) else {
        return Ok(None);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit");
    Ok(std::fs::read_to_string(root.join(folder).join(rel)).ok())
}

/// The text of a fixture that must be there.
pub fn fixture(folder: &str, path: &Path) -> String {
    read_fixture(folder, path)
        .unwrap()
        .unwrap_or_else(|| panic!("no fixture {}", path.display()))
}

/// Asserts the report's findings (in report order) and trusted networks.
pub fn assert_case(r: &AuditReport, (name, want, trusted): &Case) {
    let got: Vec<(FindingId, String)> = r
        .findings
        .iter()
        .map(|f| (f.finding.id, f.location.clone()))
        .collect();
    let want: Vec<(FindingId, String)> = want.iter().map(|(i, l)| (*i, l.to_string())).collect();
    assert_eq!(got, want, "{name}: {:#?}", r.findings);
    let nets: Vec<&str> = r.trusted.iter().map(|t| t.network.as_str()).collect();
    assert_eq!(nets, trusted.to_vec(), "{name}");
}
