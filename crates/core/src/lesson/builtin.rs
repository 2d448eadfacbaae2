//! The lessons that ship inside the binary, read from `assets/lessons/`.

use super::{Lesson, parse_lesson};

/// (file name, contents) of every built-in lesson, in teaching order.
const FILES: &[(&str, &str)] = &[
    ("tcp.toml", include_str!("../../assets/lessons/tcp.toml")),
    ("udp.toml", include_str!("../../assets/lessons/udp.toml")),
    (
        "layers.toml",
        include_str!("../../assets/lessons/layers.toml"),
    ),
    (
        "refused.toml",
        include_str!("../../assets/lessons/refused.toml"),
    ),
    (
        "in-use.toml",
        include_str!("../../assets/lessons/in-use.toml"),
    ),
    (
        "privileged.toml",
        include_str!("../../assets/lessons/privileged.toml"),
    ),
    (
        "half-close.toml",
        include_str!("../../assets/lessons/half-close.toml"),
    ),
    (
        "abort.toml",
        include_str!("../../assets/lessons/abort.toml"),
    ),
    (
        "backlog.toml",
        include_str!("../../assets/lessons/backlog.toml"),
    ),
    (
        "boundaries.toml",
        include_str!("../../assets/lessons/boundaries.toml"),
    ),
    (
        "udp-loss.toml",
        include_str!("../../assets/lessons/udp-loss.toml"),
    ),
    (
        "udp-refused.toml",
        include_str!("../../assets/lessons/udp-refused.toml"),
    ),
    // Further: the topics of a whole socket course, beyond the course text.
    (
        "nonblocking.toml",
        include_str!("../../assets/lessons/nonblocking.toml"),
    ),
    (
        "byte-order.toml",
        include_str!("../../assets/lessons/byte-order.toml"),
    ),
    (
        "partial-send.toml",
        include_str!("../../assets/lessons/partial-send.toml"),
    ),
    (
        "poll-server.toml",
        include_str!("../../assets/lessons/poll-server.toml"),
    ),
    (
        "threads-server.toml",
        include_str!("../../assets/lessons/threads-server.toml"),
    ),
    (
        "restart.toml",
        include_str!("../../assets/lessons/restart.toml"),
    ),
    (
        "timeouts.toml",
        include_str!("../../assets/lessons/timeouts.toml"),
    ),
];

/// Every built-in lesson, parsed. The files are part of the binary and are
/// checked by the test suite, so a parse failure here is a build defect.
///
/// # Panics
///
/// If a built-in lesson does not parse (that build defect).
#[must_use]
pub fn builtins() -> Vec<Lesson> {
    FILES
        .iter()
        .map(|(file, src)| {
            parse_lesson(&format!("assets/lessons/{file}"), src)
                .unwrap_or_else(|e| panic!("built-in lesson is invalid: {e}"))
        })
        .collect()
}

/// The built-in lesson called `name`.
#[must_use]
pub fn builtin(name: &str) -> Option<Lesson> {
    builtins().into_iter().find(|l| l.name == name)
}

#[must_use]
pub fn builtin_names() -> Vec<String> {
    builtins().into_iter().map(|l| l.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_names_are_unique() {
        let names = builtin_names();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for (file, _) in FILES {
            let l = builtins()
                .into_iter()
                .find(|l| format!("{}.toml", l.name) == *file);
            assert!(l.is_some(), "{file} should define lesson {file}");
        }
    }
}
