//! Checking a step's claims (`expect` in the lesson file) against the event
//! the kernel really produced.
//!
//! Any field of the event's JSON form can be expected, so a claim such as
//! "recv returns 0 at end of file" is written `expect = { bytes = 0 }` and is
//! confirmed or refuted on every run, on this machine.

use super::event::{Check, Event};
use std::collections::BTreeMap;

/// The text form of a TOML value, as it is compared with the event.
fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::Array(items) => {
            items.iter().map(json_text).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// Check every expectation against `event`.
///
/// A list field (`flags`) passes when it contains the expected value.
pub fn check(expect: &BTreeMap<String, toml::Value>, event: &Event) -> Vec<Check> {
    if expect.is_empty() {
        return Vec::new();
    }
    let json = serde_json::to_value(event).unwrap_or_default();
    expect
        .iter()
        .map(|(what, want)| {
            let expected = toml_text(want);
            let (seen, ok) = match json.get(what) {
                Some(serde_json::Value::Array(items)) => {
                    let ok = items.iter().any(|i| json_text(i) == expected);
                    (json_text(&json[what]), ok)
                }
                Some(v) => {
                    let seen = json_text(v);
                    let ok = seen == expected;
                    (seen, ok)
                }
                None => ("(not observed)".into(), false),
            };
            Check {
                what: what.clone(),
                expected,
                seen,
                ok,
            }
        })
        .collect()
}
