//! The JSON Schemas of the JSONL's records, a host's (schema/scan-record.schema.json) and a mail domain's (schema/domain-record.schema.json), built into the binary so that every build carries the schemas its records follow.

/// The schema text, as shipped in the repository's `schema/` folder.
pub const RECORD_SCHEMA: &str = include_str!("../../schema/scan-record.schema.json");

/// The schema of a domain record (`"record":"domain"`), as shipped in `schema/`.
pub const DOMAIN_RECORD_SCHEMA: &str = include_str!("../../schema/domain-record.schema.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::Verdict;
    use crate::assess::{FindingId, Mta, Severity};
    use crate::report::{SCHEMA_VERSION, ScanRecord, testdata};
    use serde_json::Value;

    fn schema() -> Value {
        serde_json::from_str(RECORD_SCHEMA).unwrap()
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    }

    /// The schema's finding ids and severities are the code's, in its order.
    fn assert_finding_enums<I: ToString>(s: &Value, ids: &[I]) {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let finding = &s["$defs"]["finding"]["properties"];
        assert_eq!(strings(&finding["id"]["enum"]), ids);
        let sev: Vec<String> = Severity::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(strings(&finding["severity"]["enum"]), sev);
    }

    #[test]
    fn enums_match_the_code() {
        let s = schema();
        assert_finding_enums(&s, &FindingId::ALL);
        let mtas: Vec<String> = Mta::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(strings(&s["properties"]["mta"]["enum"]), mtas);
        let verdicts: Vec<String> = Verdict::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(strings(&s["properties"]["verdict"]["enum"]), verdicts);
        assert_eq!(s["properties"]["schema_version"]["const"], SCHEMA_VERSION);
    }

    #[test]
    fn every_record_key_is_required_and_described() {
        let s = schema();
        let record =
            serde_json::to_value(ScanRecord::of_outcome(testdata::open_relay_outcome())).unwrap();
        let mut keys: Vec<&String> = record.as_object().unwrap().keys().collect();
        keys.sort();
        let mut required = strings(&s["required"]);
        required.sort();
        assert_eq!(keys, required.iter().collect::<Vec<_>>());
        for k in keys {
            assert!(s["properties"].get(k).is_some(), "{k} has no schema");
        }
    }

    #[test]
    fn sample_records_validate_and_broken_ones_do_not() {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema())
            .unwrap();
        for outcome in [testdata::open_relay_outcome(), testdata::refused_outcome()] {
            let v = serde_json::to_value(ScanRecord::of_outcome(outcome.clone())).unwrap();
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}");
        }
        let mut bad =
            serde_json::to_value(ScanRecord::of_outcome(testdata::open_relay_outcome())).unwrap();
        bad["findings"][0]["severity"] = "urgent".into();
        bad["ip"] = "not-an-ip".into();
        bad["surprise"] = true.into();
        assert_eq!(validator.iter_errors(&bad).count(), 3);
    }

    mod domain_record {
        use super::*;
        use crate::assess::domain::DomainFindingId;
        use crate::report::domains::{DomainEntry, DomainLine, DomainReport};

        fn domain_schema() -> Value {
            serde_json::from_str(DOMAIN_RECORD_SCHEMA).unwrap()
        }

        /// A domain record with every part filled: a mail host with an address and an
        /// endpoint that answered, and findings.
        fn sample() -> Value {
            let plan = testdata::one_domain_plan("d.example", "mx.d.example", "192.0.2.1");
            let dir = tempfile::tempdir().unwrap();
            let mut report = DomainReport::new(plan, &[25], &dir.path().join("scan"));
            let mut r = ScanRecord::of_outcome(testdata::open_relay_outcome());
            (r.ip, r.port) = ("192.0.2.1".parse().unwrap(), 25);
            report.take(&r);
            let observed = report.next_ready().unwrap();
            let a = crate::assess::domain::assess(observed.resolution, &observed.address_facts());
            let entry = DomainEntry::new(observed, a);
            assert!(!entry.findings.is_empty());
            serde_json::to_value(DomainLine::of(&entry)).unwrap()
        }

        fn keys(v: &Value) -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        }

        fn required(s: &Value) -> Vec<String> {
            let mut r = strings(&s["required"]);
            r.sort();
            r
        }

        #[test]
        fn every_key_at_every_level_is_required_and_described() {
            let s = domain_schema();
            let v = sample();
            let host = &v["mx"][0];
            let address = &host["addresses"][0];
            let endpoint = &address["endpoints"][0];
            let finding = &v["findings"][0];
            for (what, value, def) in [
                ("record", &v, &s),
                ("host", host, &s["$defs"]["host"]),
                ("address", address, &s["$defs"]["address"]),
                ("endpoint", endpoint, &s["$defs"]["endpoint"]),
                ("finding", finding, &s["$defs"]["finding"]),
            ] {
                assert_eq!(keys(value), required(def), "{what}");
                for k in keys(value) {
                    assert!(
                        def["properties"].get(&k).is_some(),
                        "{what}.{k} has no schema"
                    );
                }
            }
        }

        #[test]
        fn enums_match_the_code_and_the_host_record() {
            let s = domain_schema();
            assert_finding_enums(&s, &DomainFindingId::ALL);
            let verdicts: Vec<String> = Verdict::ALL.iter().map(|i| i.to_string()).collect();
            assert_eq!(strings(&s["properties"]["worst_verdict"]["enum"]), verdicts);
            let host = schema();
            assert_eq!(
                strings(&s["$defs"]["endpoint"]["properties"]["status"]["enum"]),
                strings(&host["properties"]["status"]["enum"])
            );
        }

        #[test]
        fn sample_records_validate_and_broken_ones_do_not() {
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&domain_schema())
                .unwrap();
            let good = sample();
            let errors: Vec<String> = validator
                .iter_errors(&good)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}");
            let mut bad = good.clone();
            bad["record"] = "host".into();
            bad["findings"][0]["id"] = "not-a-finding".into();
            bad["mx"][0]["addresses"][0]["ip"] = "not-an-ip".into();
            assert_eq!(validator.iter_errors(&bad).count(), 3);
        }
    }
}
