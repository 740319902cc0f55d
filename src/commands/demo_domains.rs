//! The demo's check of the lab's mail domains: each case domain got its designed route (and the findings designed for it), each customer domain's worst verdict is its persona's verdict, and no customer domain (each publishes a sound DKIM key) has a DKIM finding.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use super::AppError;
use crate::report::ScanRecord;
use relayscan_lab::LabHost;
use relayscan_lab::dns::{
    CASE_DOMAINS, CASE_FINDINGS, TLSA_MATCH_PERSONA, TLSA_MISMATCH_PERSONA, customer_domain,
};
use relayscan_lab::sts_server::STS_POLICY_PERSONA;

/// A table of the lab's domains against their designed results, and the number that
/// differ. Reads the JSON report's `domains` section: the data of record.
pub fn check(
    json: &Path,
    hosts: &[LabHost],
    observed: &HashMap<SocketAddr, ScanRecord>,
) -> Result<(String, usize), AppError> {
    let text = crate::input::read_text(json, crate::input::MAX_INPUT_FILE_BYTES)
        .map_err(|e| AppError::Output(e.to_string()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| AppError::Failure(format!("{}: not JSON: {e}", json.display())))?;
    let mut found: HashMap<String, (String, String)> = HashMap::new();
    let mut raised: HashMap<String, Vec<String>> = HashMap::new();
    let mut dane_matched: HashMap<String, Vec<bool>> = HashMap::new();
    for d in doc["domains"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
        found.insert(
            text(&d["domain"]),
            (text(&d["route"]), text(&d["worst_verdict"])),
        );
        let ids = d["findings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        raised.insert(
            text(&d["domain"]),
            ids.iter().map(|f| text(&f["id"])).collect(),
        );
        let dane = d["dane"].as_array().map(Vec::as_slice).unwrap_or_default();
        dane_matched.insert(
            text(&d["domain"]),
            dane.iter()
                .map(|r| r["matched"].as_bool() == Some(true))
                .collect(),
        );
    }
    let mut expected: Vec<(String, String, String)> = Vec::new();
    for host in hosts {
        let verdict = observed
            .get(&host.addr)
            .and_then(|r| r.verdict)
            .map_or("-".to_string(), |v| v.as_str().to_string());
        expected.push((customer_domain(host.persona.name()), "mx".into(), verdict));
    }
    for (domain, route, _) in CASE_DOMAINS {
        let got = found
            .get(*domain)
            .map(|(_, v)| v.clone())
            .unwrap_or("-".into());
        expected.push((
            domain.to_string(),
            crate::lab::route(*route).as_str().to_string(),
            got,
        ));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nEach lab mail domain against its designed route (and its mail host's verdict):"
    );
    let _ = writeln!(
        out,
        "{:<40} {:<26} {:<26} check",
        "domain", "expected", "observed"
    );
    let mut mismatches = 0;
    for (domain, route, verdict) in &expected {
        let want = format!("{route} {verdict}");
        let got = found
            .get(domain)
            .map_or("(missing)".to_string(), |(r, v)| format!("{r} {v}"));
        let ok = got == want;
        mismatches += usize::from(!ok);
        let _ = writeln!(
            out,
            "{domain:<40} {want:<26} {got:<26} {}",
            if ok { "ok" } else { "MISMATCH" }
        );
    }
    // The designed findings: the case domains', and (when the lab runs that persona) the
    // DANE mismatch of the host whose TLSA records match nothing, on its customer domain.
    let mut designed: Vec<(String, &str)> = CASE_FINDINGS
        .iter()
        .map(|(domain, id)| (domain.to_string(), *id))
        .collect();
    if hosts.iter().any(|h| h.persona == STS_POLICY_PERSONA) {
        designed.push((
            customer_domain(STS_POLICY_PERSONA.name()),
            "mta-sts-mx-not-covered",
        ));
    }
    if hosts.iter().any(|h| h.persona == TLSA_MISMATCH_PERSONA) {
        designed.push((
            customer_domain(TLSA_MISMATCH_PERSONA.name()),
            "dane-tlsa-mismatch",
        ));
    }
    let _ = writeln!(
        out,
        "\nEach case domain's designed finding (SPF tree, DMARC, DKIM under guessed selectors, DANE):"
    );
    let _ = writeln!(
        out,
        "{:<40} {:<26} {:<26} check",
        "domain", "expected", "observed"
    );
    for (domain, id) in &designed {
        let ok = raised
            .get(domain)
            .is_some_and(|ids| ids.iter().any(|i| i == id));
        mismatches += usize::from(!ok);
        let _ = writeln!(
            out,
            "{domain:<40} {id:<26} {:<26} {}",
            if ok { *id } else { "(not raised)" },
            if ok { "ok" } else { "MISMATCH" }
        );
    }
    if hosts.iter().any(|h| h.persona == TLSA_MATCH_PERSONA) {
        let domain = customer_domain(TLSA_MATCH_PERSONA.name());
        let (line, bad) = dane_match_row(&domain, &raised, &dane_matched);
        mismatches += usize::from(bad);
        out.push_str(&line);
    }
    let customers: Vec<String> = hosts
        .iter()
        .map(|h| customer_domain(h.persona.name()))
        .collect();
    let (line, bad) = customer_dkim_row(&customers, &raised);
    mismatches += usize::from(bad);
    out.push_str(&line);
    Ok((out, mismatches))
}

/// The row of the customer domains, each of which publishes a 2048-bit RSA key under
/// `default`: none may have a `dkim-*` finding (not even the info dkim-not-found).
/// Returns the row and whether it failed.
fn customer_dkim_row(
    customers: &[String],
    raised: &HashMap<String, Vec<String>>,
) -> (String, bool) {
    let want = "no dkim-*";
    let with_dkim: Vec<String> = customers
        .iter()
        .filter_map(|domain| {
            let ids: Vec<&str> = raised
                .get(domain)?
                .iter()
                .map(String::as_str)
                .filter(|id| id.starts_with("dkim-"))
                .collect();
            (!ids.is_empty()).then(|| format!("{domain}: {}", ids.join(",")))
        })
        .collect();
    let ok = with_dkim.is_empty();
    let got = if ok {
        want.to_string()
    } else {
        with_dkim.join("; ")
    };
    let domains = format!("customer-* ({} domains)", customers.len());
    let row = format!(
        "{domains:<40} {want:<26} {got:<26} {}\n",
        if ok { "ok" } else { "MISMATCH" }
    );
    (row, !ok)
}

/// The row of the domain whose mail host's DNSSEC-validated TLSA matches its key: every
/// DANE result `matched` and no `dane-*` finding. Returns the row and whether it failed.
fn dane_match_row(
    domain: &str,
    raised: &HashMap<String, Vec<String>>,
    dane_matched: &HashMap<String, Vec<bool>>,
) -> (String, bool) {
    let want = "TLSA matched, no dane-*";
    let results = dane_matched
        .get(domain)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let dane_ids: Vec<&str> = raised
        .get(domain)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .filter(|id| id.starts_with("dane-"))
        .collect();
    let got = match (results, dane_ids.as_slice()) {
        ([], _) => "(no DANE result)".to_string(),
        (r, []) if r.iter().all(|&m| m) => want.to_string(),
        (r, []) => format!("matched={}", r.iter().filter(|&&m| m).count()),
        (_, ids) => ids.join(","),
    };
    let ok = got == want;
    let row = format!(
        "{domain:<40} {want:<26} {got:<26} {}\n",
        if ok { "ok" } else { "MISMATCH" }
    );
    (row, !ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customer_dkim_row_by_table() {
        let customers = [
            "customer-a.lab.test".to_string(),
            "customer-b.lab.test".to_string(),
        ];
        let raised = |ids: &[&str]| {
            HashMap::from([
                (customers[0].clone(), vec!["spf-soft".to_string()]),
                (
                    customers[1].clone(),
                    ids.iter().map(|i| i.to_string()).collect(),
                ),
            ])
        };
        // (customer-b's finding ids, row fails)
        let table: [(&[&str], bool); 4] = [
            (&[], false),
            (&["mta-sts-missing"], false),
            (&["dkim-not-found"], true),
            (&["spf-soft", "dkim-weak-key"], true),
        ];
        for (ids, fails) in table {
            let (row, bad) = customer_dkim_row(&customers, &raised(ids));
            assert_eq!(bad, fails, "{ids:?}: {row}");
            assert!(row.starts_with("customer-* (2 domains)"), "{row}");
            assert_eq!(row.contains("customer-b.lab.test: dkim-"), fails, "{row}");
        }
    }

    #[test]
    fn the_dane_match_row_by_table() {
        let d = "customer-x.lab.test";
        // (DANE results' matched, finding ids, row fails)
        let table: [(&[bool], &[&str], bool); 5] = [
            (&[true], &["spf-soft"], false),
            (&[true, true], &[], false),
            (&[], &[], true),
            (&[true, false], &[], true),
            (&[true], &["dane-tlsa-unauthenticated"], true),
        ];
        for (matched, ids, fails) in table {
            let raised =
                HashMap::from([(d.to_string(), ids.iter().map(|i| i.to_string()).collect())]);
            let results = HashMap::from([(d.to_string(), matched.to_vec())]);
            let (row, bad) = dane_match_row(d, &raised, &results);
            assert_eq!(bad, fails, "{matched:?} {ids:?}: {row}");
            assert!(row.starts_with(d) && row.ends_with(if fails { "MISMATCH\n" } else { "ok\n" }));
        }
    }
}
