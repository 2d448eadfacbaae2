//! Every built-in lesson under `strace -f`: the events are the calls that
//! ran. For each actor, the socket calls the kernel saw its thread make on
//! the lesson's sockets (socket, setsockopt, fcntl, bind, listen, poll,
//! accept, connect, getsockopt SO_ERROR, sendto, recvfrom, shutdown, close)
//! are exactly that actor's events, in the same order, with the same
//! syscall name (`syscall`, or `call` where they agree), fd, flags, result
//! or errno and byte count; an accept shown waiting is one strace saw block
//! (`<unfinished ...>`, or a millisecond or more in the kernel); a send that failed
//! with EPIPE was followed by SIGPIPE; and no other state-changing call on
//! a lesson socket ran, in any thread.

mod common;
use common::bin_path;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Command, Stdio};

/// The calls that change a socket or wait on one (the observers' getsockopt,
/// getsockname and getpeername only read it), and the getsockopt a lesson
/// makes itself: SO_ERROR, which no observer reads (it clears the error).
const CALLS: &[&str] = &[
    "socket",
    "setsockopt",
    "fcntl",
    "poll",
    "ppoll",
    "getsockopt",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "shutdown",
    "close",
];

/// One syscall as strace printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Traced {
    name: String,
    fd: i32,
    flags: Option<String>,
    result: String,
}

/// `name(args) = result` for one of [`CALLS`], or None for other lines.
fn call_of(text: &str) -> Option<(String, Vec<String>, String)> {
    common::strace_call(text).filter(|(name, _, _)| CALLS.contains(&name.as_str()))
}

fn traced(name: &str, args: &[String], result: &str) -> Option<Traced> {
    // The observers read TCP_INFO and the queues with getsockopt after
    // every call; only SO_ERROR is a lesson's own.
    if name == "getsockopt" && args.get(2).map(String::as_str) != Some("SO_ERROR") {
        return None;
    }
    let flags = match name {
        "socket" | "shutdown" => Some(args.get(1)?.clone()),
        "accept4" => Some(args.last()?.clone()),
        "sendto" | "recvfrom" => Some(args.get(3)?.clone()),
        "setsockopt" | "getsockopt" => Some(args.get(2)?.clone()),
        "fcntl" => Some(format!("{}, {}", args.get(1)?, args.get(2)?)),
        "poll" | "ppoll" => Some(args.first()?.clone()),
        _ => None,
    };
    let fd = match name {
        "socket" => result.parse().unwrap_or(-1),
        "poll" | "ppoll" => pollfd(args.first()?)?,
        _ => args.first()?.parse().ok()?,
    };
    Some(Traced {
        name: name.to_string(),
        fd,
        flags,
        result: result.to_string(),
    })
}

/// Did the call spend long enough in the kernel to have slept: at least a
/// millisecond by strace's `-T` (a call that returns at once takes
/// microseconds)?
fn slept(text: &str) -> bool {
    text.rsplit_once('<')
        .and_then(|(_, t)| t.strip_suffix('>'))
        .and_then(|t| t.parse::<f64>().ok())
        .is_some_and(|secs| secs >= 0.001)
}

/// The fd of a one-entry pollfd array as strace prints it:
/// `[{fd=17, events=POLLIN}]`.
fn pollfd(arg: &str) -> Option<i32> {
    let rest = arg.strip_prefix("[{fd=")?;
    rest[..rest.find(',')?].parse().ok()
}

/// An event as strace prints its call.
fn expected(v: &serde_json::Value) -> Traced {
    let call = v["call"].as_str().unwrap();
    let name = v["syscall"].as_str().unwrap_or(call).to_string();
    let fd = match call {
        "socket" => v["new_fd"].as_i64(),
        _ => v["fd"].as_i64(),
    }
    .unwrap_or(-1) as i32;
    let result = match (
        v["result"].as_str().unwrap(),
        v["new_fd"].as_i64(),
        v["bytes"].as_i64().or(v["ready"].as_i64()),
    ) {
        ("ok", Some(fd), _) => fd.to_string(),
        ("ok", None, Some(n)) => n.to_string(),
        ("ok", None, None) => "0".into(),
        (errno, _, _) => format!("-1 {errno}"),
    };
    // The flags as `args` writes them: socket's type (strace spells the
    // third argument IPPROTO_IP, the engine 0), send and recv last,
    // sendto's before the address.
    let args = v["args"].as_str().unwrap();
    let parts = common::strace_args(args);
    let flags = match call {
        "socket" | "shutdown" => parts.get(1).cloned(),
        "send" | "recv" | "recvfrom" => parts.last().cloned(),
        "sendto" => parts.get(parts.len().saturating_sub(2)).cloned(),
        "setsockopt" | "getsockopt" => parts.get(2).cloned(),
        "fcntl" => parts
            .get(1)
            .zip(parts.get(2))
            .map(|(c, f)| format!("{c}, {f}")),
        "poll" => parts.first().cloned(),
        _ => None,
    };
    Traced {
        name,
        fd,
        flags,
        result,
    }
}

/// What one lesson's run looked like to strace and to its events.
fn check_lesson(name: &str) {
    let lesson = sockscope_core::lesson::builtin(name).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = Command::new("strace")
        // -T: each call's time in the kernel, `<0.000123>` at the line's end.
        .args([
            "-f",
            "-qq",
            "-T",
            "-e",
            &format!("trace={}", CALLS.join(",")),
        ])
        .args(["-e", "signal=SIGPIPE"])
        .arg("-o")
        .arg(&log)
        .arg(bin_path())
        .arg("--config")
        .arg(&cfg)
        .args([
            "trace",
            name,
            "--format",
            "json",
            "--no-capture",
            "--host-network",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&serde_json::Value> = lines.iter().filter(|v| v["seq"] != 0).collect();
    let waiting: Vec<&serde_json::Value> =
        lines.iter().filter(|v| v["result"] == "waiting").collect();
    let log = std::fs::read_to_string(&log).unwrap();

    // The kernel's side: every call on a lesson socket (an AF_INET socket
    // or one accept returned, from its creation to its close), by thread.
    let mut open: HashSet<i32> = HashSet::new();
    let mut by_thread: BTreeMap<String, Vec<(Traced, bool)>> = BTreeMap::new();
    let mut sigpipe_after: Vec<Traced> = Vec::new();
    let mut last_of: HashMap<String, Traced> = HashMap::new();
    for line in common::strace_lines(&log) {
        if line.text.starts_with("--- SIGPIPE") {
            if let Some(t) = last_of.get(&line.tid) {
                sigpipe_after.push(t.clone());
            }
            continue;
        }
        let Some((call, args, result)) = call_of(&line.text) else {
            continue;
        };
        let Some(t) = traced(&call, &args, &result) else {
            continue;
        };
        let lesson_fd = match call.as_str() {
            "socket" => {
                // sockscope's own sockets (the lab's check that lo is up
                // asks an AF_INET datagram socket) are made close-on-exec,
                // as Rust makes every socket; a lesson's never are.
                let inet = args.first().is_some_and(|a| a == "AF_INET")
                    && !args.iter().any(|a| a.contains("SOCK_CLOEXEC"));
                if inet && t.fd >= 0 {
                    open.insert(t.fd);
                }
                inet
            }
            _ => open.contains(&t.fd),
        };
        if !lesson_fd {
            continue;
        }
        if (call == "accept" || call == "accept4")
            && let Ok(new) = result.parse::<i32>()
        {
            open.insert(new);
        }
        if call == "close" {
            open.remove(&t.fd);
        }
        last_of.insert(line.tid.clone(), t.clone());
        by_thread
            .entry(line.tid.clone())
            .or_default()
            .push((t, line.blocked || slept(&line.text)));
    }

    // The events' side, by actor.
    let mut by_actor: BTreeMap<String, Vec<Traced>> = BTreeMap::new();
    for e in &events {
        by_actor
            .entry(e["actor"].as_str().unwrap().to_string())
            .or_default()
            .push(expected(e));
    }
    let mut threads: Vec<(String, Vec<(Traced, bool)>)> = by_thread.into_iter().collect();
    for (actor, want) in &by_actor {
        let at = threads
            .iter()
            .position(|(_, got)| got.iter().map(|(t, _)| t).eq(want.iter()))
            .unwrap_or_else(|| {
                panic!(
                    "{name}: no thread made exactly {actor}'s calls\nevents: {want:#?}\nthreads: {threads:#?}"
                )
            });
        let (_, got) = threads.remove(at);
        // A call shown waiting is one strace saw block.
        let shown: Vec<&&serde_json::Value> = waiting
            .iter()
            .filter(|w| w["actor"].as_str() == Some(actor))
            .collect();
        for w in shown {
            let fd = w["fd"].as_i64().unwrap() as i32;
            let step = w["step"].as_u64().unwrap();
            let i = events
                .iter()
                .filter(|e| e["actor"].as_str() == Some(actor))
                .position(|e| e["step"].as_u64() == Some(step) && e["call"] == w["call"])
                .unwrap_or_else(|| panic!("{name}: waiting {w} has no event"));
            assert_eq!(got[i].0.fd, fd, "{name}: {w}");
            // A parked accept sleeps while other steps run: strace shows it
            // `<unfinished ...>` when another thread's traced call printed
            // meanwhile, and with `-T` its time in the kernel. Either is
            // strace's own evidence that it blocked (an accept woken by a
            // SYN retransmission, backlog's, was once printed on one line:
            // no other call ran, but it took a second). A parked recv
            // waits only for the peer's one send, which can take less than
            // the millisecond `slept` asks for (boundaries, step 5): its
            // wait is checked by the engine's own reading of
            // /proc/TID/syscall and the thread's sleep state
            // (tests/blocking_calls.rs), not by strace. So is an accept
            // that slept only a moment: backlog's last client's connection
            // can arrive microseconds after its accept began to wait (seen
            // once in 40 runs). An accept the engine says waited 10 ms or
            // more must have strace's evidence too.
            let waited_us = events
                .iter()
                .filter(|e| e["actor"].as_str() == Some(actor))
                .nth(i)
                .and_then(|e| e["waited_us"].as_u64())
                .unwrap_or(0);
            let peer_wait = w["call"].as_str() == Some("accept") && waited_us >= 10_000;
            let parks = peer_wait && lesson.steps[step as usize - 1].parks();
            assert!(
                !parks || got[i].1,
                "{name}: {actor}'s call {:?} is shown waiting but strace saw it return at once",
                got[i].0
            );
        }
    }
    assert!(
        threads.is_empty(),
        "{name}: calls on lesson sockets without an event: {threads:#?}"
    );
    // EPIPE from a send without MSG_NOSIGNAL: the kernel raised SIGPIPE.
    for e in &events {
        if e["result"] == "EPIPE" {
            let t = expected(e);
            assert!(
                sigpipe_after.contains(&t),
                "{name}: {t:?} failed with EPIPE but strace saw no SIGPIPE after it"
            );
            assert!(
                e["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f == "SIGPIPE (ignored)"),
                "{name}: {e}"
            );
        }
    }
}

#[test]
fn every_lesson_makes_exactly_the_calls_its_events_show() {
    if Command::new("strace").arg("-V").output().is_err() {
        sockscope_core::testing::skip("strace is not installed (.ci/run installs it)");
        return;
    }
    let mut names = Vec::new();
    for lesson in sockscope_core::lesson::builtins() {
        check_lesson(&lesson.name);
        names.push(lesson.name.clone());
    }
    assert!(names.len() >= 12, "{names:?}");
}

#[test]
fn tcp_is_blocking_sockets_and_plain_accept() {
    if Command::new("strace").arg("-V").output().is_err() {
        sockscope_core::testing::skip("strace is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=socket,accept,accept4,connect"])
        .arg("-o")
        .arg(&log)
        .arg(bin_path())
        .arg("--config")
        .arg(&cfg)
        .args([
            "trace",
            "tcp",
            "--format",
            "text",
            "--no-capture",
            "--host-network",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    // The transcript's lines and strace's, call for call.
    let sockets: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("socket(AF_INET, SOCK_STREAM, 0) = "))
        .collect();
    assert_eq!(sockets.len(), 3, "{text}");
    let inet: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("socket(AF_INET") && !l.contains("SOCK_CLOEXEC"))
        .collect();
    assert_eq!(inet.len(), 3, "{log}");
    for l in &inet {
        assert!(
            l.contains("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = "),
            "a lesson socket made with hidden flags: {l}"
        );
    }
    assert!(!log.contains("accept4("), "accept4 ran: {log}");
    assert_eq!(log.matches("accept(").count(), 2, "{log}");
    assert!(text.contains("accept("), "{text}");
    assert!(
        text.contains("... waiting  [LISTEN]  blocked in the kernel"),
        "{text}"
    );
}
