//! Records written by older relayscan versions, upgraded to the current shape as they are read, so that `report`, `merge` and `diff` take any file we ever wrote.
//!
//! Pure JSON-to-JSON steps, one per schema version, table-tested against records written
//! by the version before.

use serde_json::{Map, Value, json};

use super::record::SCHEMA_VERSION;

/// Why a record cannot be upgraded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    #[error(
        "written by a newer relayscan (record schema {found}; this one reads up to {SCHEMA_VERSION}): upgrade relayscan"
    )]
    Newer { found: u64 },
}

/// Brings one record (a JSON object) to [`SCHEMA_VERSION`], step by step. A record without
/// `schema_version` is from before it existed: version 1.
pub fn upgrade(record: &mut Value) -> Result<(), UpgradeError> {
    let version = record
        .get("schema_version")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if version > u64::from(SCHEMA_VERSION) {
        return Err(UpgradeError::Newer { found: version });
    }
    if version < 2 {
        v1_to_v2(record);
    }
    if let Some(obj) = record.as_object_mut() {
        obj.insert("schema_version".into(), json!(SCHEMA_VERSION));
    }
    Ok(())
}

/// Version 1 kept the first leg's fields at the top of `dialogue` (`ehlo`, `helo`,
/// `capabilities`, `attempts`, `control`) and the leg after STARTTLS under `after_tls`;
/// version 2 has two legs of one shape, `first` and `after_starttls`.
fn v1_to_v2(record: &mut Value) {
    let implicit = record.pointer("/tls/mode").and_then(Value::as_str) == Some("implicit");
    let pipelined = record
        .pointer("/timing/pipelined")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(dialogue) = record.get_mut("dialogue").and_then(Value::as_object_mut) else {
        return;
    };
    let mut first = leg_of(
        dialogue,
        if implicit {
            "implicit-tls"
        } else {
            "plaintext"
        },
    );
    let mut after = dialogue
        .remove("after_tls")
        .and_then(|v| v.as_object().cloned())
        .map(|mut a| leg_of(&mut a, "starttls"));
    // Version 1 knew only whether any tests were pipelined: the leg that ran them.
    let ran = |leg: &Map<String, Value>| {
        leg.get("attempts")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    let tested = match after.as_mut() {
        Some(a) if !ran(&first) && ran(a) => a,
        _ => &mut first,
    };
    tested.insert("pipelined".into(), json!(pipelined));
    dialogue.insert("first".into(), Value::Object(first));
    if let Some(after) = after {
        dialogue.insert("after_starttls".into(), Value::Object(after));
    }
}

/// Takes a version 1 leg's fields out of `fields` into a version 2 leg.
fn leg_of(fields: &mut Map<String, Value>, channel: &str) -> Map<String, Value> {
    let mut leg = Map::new();
    leg.insert("channel".into(), json!(channel));
    let ehlo = fields.remove("ehlo").filter(|v| !v.is_null());
    let helo = fields.remove("helo").filter(|v| !v.is_null());
    if let Some(ehlo) = ehlo {
        let mut hello = Map::new();
        hello.insert("ehlo".into(), ehlo);
        if let Some(helo) = helo {
            hello.insert("helo".into(), helo);
        }
        leg.insert("hello".into(), Value::Object(hello));
    }
    for key in ["capabilities", "attempts", "control"] {
        if let Some(v) = fields.remove(key).filter(|v| !v.is_null()) {
            leg.insert(key.into(), v);
        }
    }
    leg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> Value {
        json!({"code": code, "lines": [text]})
    }

    #[test]
    fn a_version_1_dialogue_becomes_two_legs() {
        let attempt = json!({"id": 1, "mail_from": "<>", "rcpt_to": "<a@b.example>",
            "mail": reply(250, "Ok"), "rcpt": reply(554, "denied")});
        // (the v1 record's tls mode and dialogue, the v2 dialogue expected)
        let table = [
            (
                "starttls",
                json!({"greeting": reply(220, "hi"), "ehlo": reply(250, "mx"),
                    "capabilities": [], "attempts": [], "starttls": reply(220, "go"),
                    "after_tls": {"ehlo": reply(250, "mx"), "capabilities": [],
                        "attempts": [attempt.clone()]}}),
                json!({"greeting": reply(220, "hi"), "starttls": reply(220, "go"),
                    "first": {"channel": "plaintext", "hello": {"ehlo": reply(250, "mx")},
                        "capabilities": [], "attempts": []},
                    "after_starttls": {"channel": "starttls",
                        "hello": {"ehlo": reply(250, "mx")}, "capabilities": [],
                        "attempts": [attempt.clone()], "pipelined": true}}),
            ),
            (
                "implicit",
                json!({"greeting": reply(220, "hi"), "ehlo": reply(502, "no"),
                    "helo": reply(250, "mx"), "attempts": [attempt.clone()],
                    "control": attempt.clone(),
                    "interruption": {"status": "dropped", "step": "QUIT", "detail": "x"}}),
                json!({"greeting": reply(220, "hi"),
                    "interruption": {"status": "dropped", "step": "QUIT", "detail": "x"},
                    "first": {"channel": "implicit-tls",
                        "hello": {"ehlo": reply(502, "no"), "helo": reply(250, "mx")},
                        "attempts": [attempt.clone()], "control": attempt.clone(),
                        "pipelined": true}}),
            ),
        ];
        for (mode, v1, v2) in table {
            let mut record = json!({"schema_version": 1, "tls": {"mode": mode},
                "timing": {"pipelined": true}, "dialogue": v1});
            upgrade(&mut record).unwrap();
            assert_eq!(record["dialogue"], v2, "{mode}");
            assert_eq!(record["schema_version"], json!(SCHEMA_VERSION));
        }
    }

    /// Records written by main at 31795cf (schema 1), verbatim: see the fixture's README.
    const MAIN_31795CF: [&str; 2] = [
        include_str!("../../tests/fixtures/main-31795cf/scan.jsonl"),
        include_str!("../../tests/fixtures/main-31795cf/rescan.jsonl"),
    ];

    #[test]
    fn every_attempt_of_records_written_by_main_at_31795cf_survives_the_upgrade() {
        let lines: Vec<&str> = MAIN_31795CF.iter().flat_map(|f| f.lines()).collect();
        assert_eq!(lines.len(), 12);
        let mut legs_with_tests = [0; 2];
        for line in lines {
            let v1: Value = serde_json::from_str(line).unwrap();
            let what = format!("{}:{}", v1["ip"], v1["port"]);
            assert_eq!(v1["schema_version"], json!(1), "{what}");
            let before = &v1["dialogue"];
            let record =
                crate::report::read::parse_line(line).unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut v2 = v1.clone();
            upgrade(&mut v2).unwrap();
            let after = &v2["dialogue"];
            assert_eq!(record.schema_version, SCHEMA_VERSION, "{what}");

            // Each leg holds its version 1 attempts and control: as many typed, the same
            // JSON.
            let d = &record.dialogue;
            let legs = [
                (
                    &before["attempts"],
                    &before["control"],
                    &after["first"],
                    Some(&d.first),
                ),
                (
                    &before["after_tls"]["attempts"],
                    &before["after_tls"]["control"],
                    &after["after_starttls"],
                    d.after_starttls.as_ref(),
                ),
            ];
            for (n, (attempts, control, leg_json, leg)) in legs.into_iter().enumerate() {
                let count = attempts.as_array().map_or(0, Vec::len);
                let kept = leg.map_or(0, |l| l.attempts.len());
                assert_eq!(kept, count, "{what}: leg {n} attempts");
                if count > 0 {
                    assert_eq!(leg_json["attempts"], *attempts, "{what}: leg {n}");
                    legs_with_tests[n] += 1;
                }
                let control_kept = leg.and_then(|l| l.control.as_ref());
                assert_eq!(
                    control_kept.is_some(),
                    !control.is_null(),
                    "{what}: leg {n} control"
                );
                if let Some(c) = control_kept {
                    assert_eq!(leg_json["control"], *control, "{what}: leg {n}");
                    assert_eq!(c.rcpt_to, control["rcpt_to"].as_str().unwrap(), "{what}");
                }
            }
            // A second leg exactly when version 1 had one.
            assert_eq!(
                d.after_starttls.is_some(),
                !before["after_tls"].is_null(),
                "{what}"
            );
            // The hello and greeting carry over; the tests' leg says whether they were
            // pipelined, as the whole record did in version 1.
            assert_eq!(after["first"]["hello"]["ehlo"], before["ehlo"], "{what}");
            assert_eq!(
                d.first
                    .hello
                    .as_ref()
                    .and_then(|h| h.helo.as_ref())
                    .is_some(),
                !before["helo"].is_null(),
                "{what}"
            );
            assert_eq!(after["greeting"], before["greeting"], "{what}");
            let tested = [Some(&d.first), d.after_starttls.as_ref()]
                .into_iter()
                .flatten()
                .find(|l| !l.attempts.is_empty());
            if let Some(leg) = tested {
                assert_eq!(json!(leg.pipelined), v1["timing"]["pipelined"], "{what}");
            }
        }
        // Both legs were exercised: tests in plaintext, and tests after STARTTLS.
        assert!(
            legs_with_tests.iter().all(|&n| n > 0),
            "{legs_with_tests:?}"
        );
    }

    #[test]
    fn current_records_pass_and_newer_ones_are_refused() {
        let mut current = json!({"schema_version": SCHEMA_VERSION, "dialogue": {"first": {}}});
        let before = current.clone();
        upgrade(&mut current).unwrap();
        assert_eq!(current, before);
        let mut newer = json!({"schema_version": 99});
        let e = upgrade(&mut newer).unwrap_err();
        assert!(e.to_string().contains("schema 99"), "{e}");
    }
}
