//! `serve --headless` under strace: the events are the calls that ran. For
//! every socket call the kernel saw on serve's sockets (socket, bind,
//! listen, accept4, recvfrom, sendto, close), there is one event, in the
//! same order, with strace's name (`syscall`), the same fd, the same flags
//! (as `args` writes them) and the same result, EAGAIN included; and none
//! without one.

mod common;
use common::bin_path;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One syscall as strace printed it: name, its first argument, the flags
/// argument where the call has one, and what it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Traced {
    name: String,
    fd: i32,
    flags: Option<String>,
    result: String,
}

const CALLS: &[&str] = &[
    "socket", "bind", "listen", "accept4", "recvfrom", "sendto", "close",
];

/// strace -f's log, with `<unfinished ...>` / `<... resumed>` pairs joined.
fn parse(log: &str) -> Vec<Traced> {
    common::strace_lines(log)
        .iter()
        .filter_map(|l| {
            let (name, args, result) = common::strace_call(&l.text)?;
            if !CALLS.contains(&name.as_str()) {
                return None;
            }
            let flags = match name.as_str() {
                "socket" => Some(args.get(1)?.clone()),
                "accept4" => Some(args.last()?.clone()),
                "recvfrom" | "sendto" => Some(args.get(3)?.clone()),
                _ => None,
            };
            let fd = match name.as_str() {
                "socket" => result.parse().unwrap_or(-1),
                _ => args.first()?.parse().ok()?,
            };
            Some(Traced {
                name,
                fd,
                flags,
                result,
            })
        })
        .collect()
}

/// An event as strace would have printed its call.
fn expected(v: &serde_json::Value) -> Traced {
    let call = v["call"].as_str().unwrap();
    let name = v["syscall"].as_str().unwrap().to_string();
    let fd = match call {
        "socket" => v["new_fd"].as_i64(),
        _ => v["fd"].as_i64(),
    }
    .unwrap() as i32;
    let result = match (
        v["result"].as_str().unwrap(),
        v["new_fd"].as_i64(),
        v["bytes"].as_i64(),
    ) {
        ("ok", Some(fd), _) => fd.to_string(),
        ("ok", None, Some(n)) => n.to_string(),
        ("ok", None, None) => "0".into(),
        (errno, _, _) => format!("-1 {errno}"),
    };
    // The flags argument, where the call has one, in `args` as strace
    // spells it: socket's second, the others' last (TCP's sendto has no
    // address after it).
    let args = v["args"].as_str().unwrap();
    let flags = match name.as_str() {
        "socket" => args.split(", ").nth(1).map(str::to_string),
        "accept4" | "recvfrom" | "sendto" => args.rsplit(", ").next().map(str::to_string),
        _ => None,
    };
    Traced {
        name,
        fd,
        flags,
        result,
    }
}

#[test]
fn strace_sees_exactly_the_calls_the_events_report() {
    if Command::new("strace").arg("-V").output().is_err() {
        sockscope_core::testing::skip("strace is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", &format!("trace={}", CALLS.join(","))])
        .arg("-o")
        .arg(&log)
        .arg(bin_path())
        .arg("--config")
        .arg(&cfg)
        .args(["serve", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(strace.stderr.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        assert_ne!(err.read_line(&mut line).unwrap(), 0, "serve ended early");
        if let Some(rest) = line.trim().strip_prefix("nc ") {
            break rest.rsplit(' ').next().unwrap().parse().unwrap();
        }
    };
    let out = strace.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        BufReader::new(out).read_to_string(&mut s).unwrap();
        s
    });
    // Two peers: one echoes twice and closes, one resets.
    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for msg in [&b"one"[..], b"two!"] {
        a.write_all(msg).unwrap();
        let mut back = vec![0; msg.len()];
        a.read_exact(&mut back).unwrap();
    }
    drop(a);
    let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    b.write_all(b"bye").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    socket2::SockRef::from(&b)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(b);
    std::thread::sleep(Duration::from_millis(300));
    // SIGTERM to sockscope itself (strace's child), not to strace.
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", strace.id())).unwrap();
    let pid = children.split_whitespace().next().unwrap();
    assert!(
        Command::new("kill")
            .args(["-TERM", pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(strace.wait().unwrap().success());
    let events: Vec<serde_json::Value> = reader
        .join()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want: Vec<Traced> = events.iter().map(expected).collect();
    // The kernel's log, from the server socket's creation on, on the fds the
    // events name (the runtime's own signal socketpair is not serve's).
    let fds: HashSet<i32> = want.iter().map(|t| t.fd).collect();
    let listener = want[0].fd;
    let traced: Vec<Traced> = parse(&std::fs::read_to_string(&log).unwrap())
        .into_iter()
        .skip_while(|t| !(t.name == "socket" && t.fd == listener))
        .filter(|t| fds.contains(&t.fd))
        .collect();
    assert_eq!(
        traced, want,
        "strace (left) and the events (right) disagree"
    );
    // What the test covered: EAGAIN, the echo, the FIN, the reset.
    for needle in ["-1 EAGAIN", "-1 ECONNRESET"] {
        assert!(
            want.iter().any(|t| t.result == needle),
            "{needle}: {want:?}"
        );
    }
    assert!(
        want.iter()
            .any(|t| t.name == "sendto" && t.flags.as_deref() == Some("MSG_NOSIGNAL"))
    );
    assert_eq!(
        want[0].flags.as_deref(),
        Some("SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK")
    );
}
