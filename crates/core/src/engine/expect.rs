//! Checking a step's claims (`expect` in the lesson file) against the event
//! the kernel really produced.
//!
//! Any field of the event's JSON form can be expected, so a claim such as
//! "recv returns 0 at end of file" is written `expect = { bytes = 0 }` and is
//! confirmed or refuted on every run, on this machine.

use crate::event::{Check, Event};
use std::collections::BTreeMap;

/// The text form of a TOML value, as it is compared with the event.
fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        // The common non-string claims (a byte count, a backlog, a flag),
        // written directly rather than through the TOML serialiser, which is
        // slow and writes the same text for them.
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
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

/// What the event holds for `what`: one value, or a list (`flags`).
enum Seen {
    One(String),
    List(Vec<String>),
    Absent,
}

/// The event's value for one field. The fields lessons check most are read
/// directly; any other field is found through the event's JSON form, which is
/// slower (it serialises the whole event) but keeps every field checkable.
fn seen(event: &Event, what: &str, json: &mut Option<serde_json::Value>) -> Seen {
    let opt = |v: Option<String>| Seen::One(v.unwrap_or_else(|| "(none)".into()));
    match what {
        "result" => Seen::One(event.result.name().to_string()),
        "bytes" => opt(event.bytes.map(|b| b.to_string())),
        "data" => opt(event.data.clone()),
        "errno" => opt(event.errno.map(|e| e.to_string())),
        "local" => opt(event.local.clone()),
        "peer" => opt(event.peer.clone()),
        "flags" => Seen::List(event.flags.clone()),
        "tcp_state" => opt(event.tcp_state.map(|s| s.name().to_string())),
        // The kernel's objects are serialised alone: much cheaper than the
        // whole event, and these are the claims most steps make.
        _ if what.starts_with("sockets.") || what.starts_with("kernel.") => {
            let mut parts = what.splitn(3, '.');
            let sub = match (parts.next(), parts.next(), parts.next()) {
                (Some("sockets"), Some(name), Some(field)) => event
                    .sockets
                    .get(name)
                    .map(|v| (serde_json::to_value(v).unwrap_or_default(), field)),
                (Some("kernel"), Some(field), None) => event
                    .kernel
                    .as_ref()
                    .map(|k| (serde_json::to_value(k).unwrap_or_default(), field)),
                _ => None,
            };
            match sub.as_ref().and_then(|(v, field)| v.get(*field)) {
                Some(serde_json::Value::Array(items)) => {
                    Seen::List(items.iter().map(json_text).collect())
                }
                Some(v) => Seen::One(json_text(v)),
                None => Seen::Absent,
            }
        }
        _ => {
            // Serialised once per event, however many claims need it.
            let json = json.get_or_insert_with(|| serde_json::to_value(event).unwrap_or_default());
            // A key with dots walks into objects: `kernel.accept_q`,
            // `sockets.client:sock.tcp_state`.
            match what.split('.').try_fold(&*json, |v, key| v.get(key)) {
                Some(serde_json::Value::Array(items)) => {
                    Seen::List(items.iter().map(json_text).collect())
                }
                Some(v) => Seen::One(json_text(v)),
                None => Seen::Absent,
            }
        }
    }
}

/// Check every expectation against `event`.
///
/// A list field (`flags`) passes when it contains the expected value. A key
/// with dots names a field inside an object: `kernel.accept_q`,
/// `sockets.client:sock.tcp_state`.
#[must_use]
pub fn check(expect: &BTreeMap<String, toml::Value>, event: &Event) -> Vec<Check> {
    let mut json = None;
    expect
        .iter()
        .map(|(what, want)| {
            let expected = toml_text(want);
            let (seen, ok) = match seen(event, what, &mut json) {
                Seen::One(v) => {
                    let ok = v == expected;
                    (v, ok)
                }
                Seen::List(items) => {
                    let ok = items.contains(&expected);
                    (items.join(","), ok)
                }
                Seen::Absent => ("(not observed)".into(), false),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Call, Proto};

    fn event() -> Event {
        Event {
            actor: "server".into(),
            call: Call::Recv,
            sock: "conn".into(),
            proto: Proto::Tcp,
            fd: Some(5),
            local: Some("127.0.0.1:80".into()),
            bytes: Some(0),
            data: Some(String::new()),
            result: crate::vocab::Outcome::Ok,
            args: "5, 1024".into(),
            flags: vec!["EOF".into()],
            ..Event::default()
        }
    }

    fn expect(pairs: &[(&str, toml::Value)]) -> BTreeMap<String, toml::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn direct_and_json_fields_are_compared_as_text() {
        let checks = check(
            &expect(&[
                ("bytes", toml::Value::Integer(0)),
                ("result", toml::Value::String("ok".into())),
                ("fd", toml::Value::Integer(5)),
                ("call", toml::Value::String("recv".into())),
            ]),
            &event(),
        );
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    }

    #[test]
    fn a_false_claim_is_reported_with_what_was_seen() {
        let checks = check(&expect(&[("bytes", toml::Value::Integer(17))]), &event());
        assert!(!checks[0].ok);
        assert_eq!(checks[0].seen, "0");
        let checks = check(
            &expect(&[("peer", toml::Value::String("x".into()))]),
            &event(),
        );
        assert_eq!(checks[0].seen, "(none)");
    }

    #[test]
    fn lists_pass_when_they_contain_the_value_and_unknown_fields_fail() {
        let checks = check(
            &expect(&[
                ("flags", toml::Value::String("EOF".into())),
                ("no_such_field", toml::Value::Integer(1)),
            ]),
            &event(),
        );
        assert!(checks[0].ok);
        assert!(!checks[1].ok);
        assert_eq!(checks[1].seen, "(not observed)");
    }

    #[test]
    fn dotted_keys_walk_into_the_kernel_view() {
        let mut e = event();
        e.kernel = Some(crate::kernel::Observed {
            accept_q: Some(2),
            ..Default::default()
        });
        let checks = check(
            &expect(&[
                ("kernel.accept_q", toml::Value::Integer(2)),
                ("kernel.nope", toml::Value::Integer(2)),
                ("sockets.a:b.tcp_state", toml::Value::String("X".into())),
            ]),
            &e,
        );
        assert!(checks[0].ok);
        assert_eq!(checks[1].seen, "(not observed)");
        assert!(!checks[2].ok);
    }
}
