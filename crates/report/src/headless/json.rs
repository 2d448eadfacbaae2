//! An event as one line of JSON, written field by field.
//!
//! The output is byte for byte what `serde_json::to_writer(event)` writes
//! (a test runs every built-in lesson and compares), only cheaper: the keys
//! are written as the literals they are instead of being escaped on every
//! line, and a string that needs no escaping (nearly all of them) is copied
//! whole. `trace --repeat` prints thousands of lessons, and serialising was
//! the largest cost left after the engine's own (docs/performance.md). The
//! nested objects (`segments`, `kernel`, `sockets`) go through serde_json.

use serde::Serialize;
use sockscope_core::engine::{Check, Event, Proto};
use std::io::{self, Write};

/// Write `e` as JSON, without a newline.
pub fn write_event(out: &mut impl Write, e: &Event) -> io::Result<()> {
    let mut n = itoa::Buffer::new();
    out.write_all(b"{\"seq\":")?;
    out.write_all(n.format(e.seq).as_bytes())?;
    out.write_all(b",\"t_us\":")?;
    out.write_all(n.format(e.t_us).as_bytes())?;
    out.write_all(b",\"step\":")?;
    out.write_all(n.format(e.step).as_bytes())?;
    out.write_all(b",\"actor\":")?;
    string(out, &e.actor)?;
    out.write_all(b",\"call\":")?;
    string(out, e.call.name())?;
    out.write_all(b",\"sock\":")?;
    string(out, &e.sock)?;
    out.write_all(b",\"proto\":")?;
    string(
        out,
        match e.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        },
    )?;
    out.write_all(b",\"fd\":")?;
    number(out, e.fd)?;
    out.write_all(b",\"new_fd\":")?;
    number(out, e.new_fd)?;
    out.write_all(b",\"local\":")?;
    opt_string(out, e.local.as_deref())?;
    out.write_all(b",\"peer\":")?;
    opt_string(out, e.peer.as_deref())?;
    out.write_all(b",\"bytes\":")?;
    number(out, e.bytes)?;
    out.write_all(b",\"data\":")?;
    opt_string(out, e.data.as_deref())?;
    out.write_all(b",\"result\":")?;
    string(out, e.result.name())?;
    out.write_all(b",\"errno\":")?;
    number(out, e.errno)?;
    out.write_all(b",\"explain\":")?;
    opt_string(out, e.explain.as_deref())?;
    out.write_all(b",\"args\":")?;
    string(out, &e.args)?;
    out.write_all(b",\"waited_us\":")?;
    number(out, e.waited_us)?;
    out.write_all(b",\"flags\":[")?;
    for (i, flag) in e.flags.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        string(out, flag)?;
    }
    out.write_all(b"],\"checks\":[")?;
    for (i, check) in e.checks.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_check(out, check)?;
    }
    out.write_all(b"],\"segments\":")?;
    serde(out, &e.segments)?;
    out.write_all(b",\"tcp_state\":")?;
    opt_string(out, e.tcp_state.map(sockscope_core::event::StateSeen::name))?;
    out.write_all(b",\"kernel\":")?;
    serde(out, &e.kernel)?;
    out.write_all(b",\"sockets\":")?;
    serde(out, &e.sockets)?;
    out.write_all(b",\"syscall\":")?;
    opt_string(out, e.syscall.as_deref())?;
    out.write_all(b",\"wchan\":")?;
    opt_string(out, e.wchan.as_deref())?;
    out.write_all(b",\"kernel_syscall\":")?;
    opt_string(out, e.kernel_syscall.as_deref())?;
    out.write_all(b",\"ready\":")?;
    number(out, e.ready)?;
    out.write_all(b",\"optval\":")?;
    opt_string(out, e.optval.as_deref())?;
    out.write_all(b",\"fds\":")?;
    serde(out, &e.fds)?;
    out.write_all(b"}")
}

fn write_check(out: &mut impl Write, c: &Check) -> io::Result<()> {
    out.write_all(b"{\"what\":")?;
    string(out, &c.what)?;
    out.write_all(b",\"expected\":")?;
    string(out, &c.expected)?;
    out.write_all(b",\"seen\":")?;
    string(out, &c.seen)?;
    out.write_all(if c.ok {
        b",\"ok\":true}"
    } else {
        b",\"ok\":false}"
    })
}

/// A JSON string. Most need no escaping and are copied as they are; the
/// rest are escaped by serde_json itself, so the two can never disagree.
fn string(out: &mut impl Write, s: &str) -> io::Result<()> {
    let plain = s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\"")
    } else {
        serde(out, s)
    }
}

fn opt_string(out: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => string(out, s),
        None => out.write_all(b"null"),
    }
}

fn number(out: &mut impl Write, n: Option<impl itoa::Integer>) -> io::Result<()> {
    match n {
        Some(n) => out.write_all(itoa::Buffer::new().format(n).as_bytes()),
        None => out.write_all(b"null"),
    }
}

fn serde(out: &mut impl Write, v: &(impl Serialize + ?Sized)) -> io::Result<()> {
    serde_json::to_writer(out, v).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockscope_core::engine::{self, EngineConfig, EngineMsg, Pace};

    fn ours(e: &Event) -> String {
        let mut out = Vec::new();
        write_event(&mut out, e).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every event of every built-in lesson, run for real with the kernel view
    /// and (where allowed) capture, written both ways.
    #[tokio::test]
    async fn every_lesson_writes_what_serde_json_writes() {
        let mut compared = 0;
        for lesson in sockscope_core::lesson::builtins() {
            let config = EngineConfig {
                port: 0,
                pace: Pace::RunToEnd,
                capture: true,
            };
            let (msgs, _) = engine::run_to_end_with(lesson, config).await;
            for m in &msgs {
                let e = match m {
                    EngineMsg::Event(e) => e.as_ref().clone(),
                    EngineMsg::Waiting(w) => Event::from_waiting(w),
                    _ => continue,
                };
                assert_eq!(ours(&e), serde_json::to_string(&e).unwrap());
                compared += 1;
            }
        }
        assert!(compared > 100, "only {compared} events compared");
    }

    /// Strings that need escaping, and every optional field set.
    #[test]
    fn escapes_and_full_fields_match_serde_json() {
        let mut e = Event::new(
            "ser\"ver",
            sockscope_core::engine::Call::Recvfrom,
            "so\\ck",
            Proto::Udp,
            Some(3),
        );
        e.seq = u64::MAX;
        e.new_fd = Some(-1);
        e.local = Some("127.0.0.1:1".into());
        e.peer = Some("\u{1}\u{1f}\n\t\r".into());
        e.bytes = Some(usize::MAX);
        e.data = Some("héllo \u{7f} \"quoted\" \\ </script>".into());
        e.fail(&io::Error::from_raw_os_error(libc::ECONNREFUSED));
        e.waited_us = Some(0);
        e.flags = vec!["MSG_TRUNC".into(), "E\"OF".into()];
        e.checks = vec![Check {
            what: "data".into(),
            expected: "a\u{0}b".into(),
            seen: String::new(),
            ok: false,
        }];
        e.segments = Some(Vec::new());
        e.tcp_state = Some(sockscope_core::vocab::TcpState::TimeWait.into());
        assert_eq!(ours(&e), serde_json::to_string(&e).unwrap());
    }
}
