//! The JSON Schema of a scan record (schema/scan-record.schema.json), built into the binary so that every build carries the schema its records follow.

/// The schema text, as shipped in the repository's `schema/` folder.
pub const RECORD_SCHEMA: &str = include_str!("../../schema/scan-record.schema.json");

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

    #[test]
    fn enums_match_the_code() {
        let s = schema();
        let ids: Vec<String> = FindingId::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            strings(&s["$defs"]["finding"]["properties"]["id"]["enum"]),
            ids
        );
        let sev: Vec<String> = Severity::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            strings(&s["$defs"]["finding"]["properties"]["severity"]["enum"]),
            sev
        );
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
}
