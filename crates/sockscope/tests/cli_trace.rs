//! `sockscope trace` and `sockscope lessons`, run as a user would run them.

mod common;
use common::*;
use sockscope_core::lesson;

const FIELDS: &[&str] = &[
    "seq",
    "t_us",
    "actor",
    "call",
    "fd",
    "new_fd",
    "local",
    "peer",
    "bytes",
    "data",
    "result",
    "errno",
    "explain",
    "segments",
    "tcp_state",
    "kernel",
    "sockets",
    "syscall",
    "wchan",
    "kernel_syscall",
];

#[test]
fn every_json_line_parses_and_has_the_contract_fields() {
    for l in lesson::builtins() {
        let out = bin()
            .args(["trace", &l.name, "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {:?}", l.name, out);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut seq = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for f in FIELDS {
                assert!(
                    v.get(f).is_some(),
                    "{}: field {f} missing in {line}",
                    l.name
                );
            }
            // A call that starts to wait is a line of its own, `waiting`
            // with `seq` 0; the numbered line follows when it returns.
            if v["result"] == "waiting" {
                assert_eq!(v["seq"], 0, "{line}");
                assert!(v["wchan"].is_string() || v["wchan"].is_null(), "{line}");
                assert!(v["kernel_syscall"].is_string(), "{line}");
                continue;
            }
            seq += 1;
            assert_eq!(v["seq"], seq, "seq counts from 1");
        }
        // One event per step; a `repeat` step makes up to that many calls.
        let most: u64 = l
            .steps
            .iter()
            .map(|s| u64::from(s.repeat.unwrap_or(1)))
            .sum();
        assert!(
            (l.steps.len() as u64..=most).contains(&seq),
            "{}: {seq} events",
            l.name
        );
    }
}

#[test]
fn text_transcript_shows_the_tcp_lifecycle() {
    let out = bin().args(["trace", "tcp"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "socket(AF_INET, SOCK_STREAM, 0) =",
        "listen(",
        "accept(",
        "... waiting",
        "blocked in the kernel",
        "sendto(",
        "recvfrom(",
        "close(",
        "\"hello from client\"",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[test]
fn unknown_lesson_exits_2_and_lists_the_lessons() {
    let out = bin().args(["trace", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    for l in lesson::builtin_names() {
        assert!(err.contains(&l), "{err}");
    }
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn invalid_port_exits_2_with_one_clear_line() {
    for bad in ["70000", "-1", "abc", ""] {
        let out = bin()
            .args(["trace", "tcp", "--port", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--port {bad:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("0-65535"), "--port {bad:?}: {err}");
        assert!(
            !err.contains("backtrace") && !err.contains("panicked"),
            "{err}"
        );
    }
}

#[test]
fn port_flag_is_the_port_the_server_binds() {
    // Ask the kernel for a free port, release it, and use it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = bin()
        .args([
            "trace",
            "tcp",
            "--format",
            "json",
            "--port",
            &port.to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let first_bind = json_lines(&out)
        .into_iter()
        .find(|v| v["call"] == "bind")
        .unwrap();
    assert_eq!(first_bind["local"], format!("127.0.0.1:{port}"));
}

#[test]
fn lessons_lists_one_a_line_with_a_summary() {
    let out = bin().arg("lessons").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for l in lesson::builtins() {
        let line = text
            .lines()
            .find(|line| line.split_whitespace().next() == Some(&l.name))
            .unwrap_or_else(|| panic!("{} not listed", l.name));
        assert!(line.contains(&l.summary));
    }
}

#[test]
fn no_kernel_makes_the_same_calls_without_the_kernel_view() {
    let run = |extra: &[&str]| -> Vec<serde_json::Value> {
        let out = bin()
            .args(["trace", "tcp", "--format", "json", "--no-capture"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        json_lines(&out)
    };
    let with = run(&[]);
    let without = run(&["--no-kernel"]);
    let shape = |v: &[serde_json::Value]| -> Vec<(String, String, String)> {
        v.iter()
            .map(|e| {
                (
                    e["actor"].to_string(),
                    e["call"].to_string(),
                    e["result"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(shape(&with), shape(&without));
    assert!(with.iter().any(|e| e["tcp_state"] == "ESTABLISHED"));
    assert!(
        without
            .iter()
            .all(|e| e["tcp_state"].is_null() && e["kernel"].is_null())
    );
}
