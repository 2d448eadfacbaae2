//! Output that cannot be written: a stderr or stdout whose reader has
//! closed its end (a pipe to a program that exited), a full disk (`>
//! /dev/full`), a reader that goes away mid-way (`| head -1`) and one that
//! stops reading. None of them may crash sockscope, print a panic or a
//! multi-line report, or hold a server up: a broken pipe ends quietly with
//! 141 (as a program killed by SIGPIPE), a failed write is one line on
//! stderr and exit 1, a closed stderr changes nothing but what is seen.

mod common;
use common::bin;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A pipe whose reading end is already closed: writing to it fails with
/// EPIPE, as writing to a pipe into a program that exited does. It is the
/// stdin of a `true` that has exited.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    writer.into()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An empty config file, so the tester's own never leaks in.
fn config() -> tempfile::NamedTempFile {
    tempfile::NamedTempFile::new().unwrap()
}

/// A port nobody holds right now (the kernel's choice, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Send `msg` to a server on `port` and read the echo back, within `patience`.
fn echo(port: u16, msg: &[u8], patience: Duration) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(patience))?;
    s.write_all(msg)?;
    let mut back = vec![0; msg.len()];
    s.read_exact(&mut back)?;
    Ok(back)
}

/// Connect to `port` until the server answers (it is starting up).
fn wait_for_server(port: u16) {
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "the server never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(child: &std::process::Child) {
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Wait for `child` within `limit`; its exit status, or a kill and a failure.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_closed_stderr_changes_nothing_but_what_is_seen() {
    let cfg = config();
    let cfg = cfg.path().to_str().unwrap();
    for (args, code) in [
        (&["--config", cfg, "trace", "nosuch"][..], 2),
        (&["--config", "/nonexistent", "lessons"][..], 2),
        (&["--config", cfg, "lessons"][..], 0),
    ] {
        let out = bin().args(args).stderr(closed_pipe()).output().unwrap();
        // Before: a panic that could not be printed, then SIGABRT (134).
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
    // serve, headless and as a transcript, serves with its stderr closed.
    for headless in [true, false] {
        let port = free_port().to_string();
        let mut args = vec!["--config", cfg, "serve", "--port", &port];
        if headless {
            args.push("--headless");
        }
        let mut child = bin()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(closed_pipe())
            .spawn()
            .unwrap();
        let port: u16 = port.parse().unwrap();
        wait_for_server(port);
        let back = echo(port, b"still here", Duration::from_secs(10)).unwrap();
        assert_eq!(back, b"still here");
        terminate(&child);
        let st = wait_within(&mut child, Duration::from_secs(10));
        assert_eq!(st.code(), Some(0), "headless {headless}: {st:?}");
    }
}

#[test]
fn a_closed_stdout_ends_quietly_and_a_full_one_is_one_line_and_exit_1() {
    let cfg = config();
    let cfg = cfg.path().to_str().unwrap();
    let commands: [&[&str]; 8] = [
        &["--config", cfg, "lessons"],
        &["--print-config-template"],
        &["completions", "bash"],
        &["man"],
        &["--help"],
        &["--config", cfg, "trace", "tcp", "--no-capture"],
        &["--config", cfg, "port", "80"],
        &[
            "--config",
            cfg,
            "trace",
            "udp",
            "--format",
            "json",
            "--no-capture",
        ],
    ];
    for args in commands {
        // The reader is gone: before, a panic (exit 101) and its report.
        let out = bin()
            .args(args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).is_empty(),
            "quietly: {args:?}: {}",
            stderr(&out)
        );
        // A full disk: before, a six-line colour report, or, for --help,
        // exit 0 with nothing said.
        let out = with_full_stdout(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().last(),
            Some("sockscope: cannot write to stdout: No space left on device (os error 28)"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains('\u{1b}'),
            "{err}"
        );
    }
}

fn with_full_stdout(args: &[&str]) -> Command {
    let mut c = bin();
    c.args(args).stdout(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    );
    c
}

/// Start `cmd`, read one line of its stdout and close the pipe: what `cmd
/// | head -1` does to it. The child, still running or not.
fn head_1(mut cmd: Command) -> std::process::Child {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(!line.is_empty());
    drop(out);
    child
}

/// Wait for `child` (within 15 s); its status and everything it said on
/// stderr.
fn ended(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    let st = wait_within(&mut child, Duration::from_secs(15));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (st, err)
}

#[test]
fn a_reader_that_goes_away_ends_the_program_quietly_with_141() {
    let cfg = config();
    let cfg = cfg.path().to_str().unwrap();
    let mut trace = bin();
    trace.args([
        "--config",
        cfg,
        "trace",
        "tcp",
        "--repeat",
        "2000",
        "--no-capture",
        "--no-kernel",
    ]);
    let (st, err) = ended(head_1(trace));
    assert_eq!(st.code(), Some(141), "{err}");
    assert!(err.trim().is_empty(), "quietly: {err}");

    // serve --headless | head -1: the first event is read, then the pipe
    // closes; peers make events, and writing them finds it closed.
    let port = free_port();
    let mut serve = bin();
    serve.args([
        "--config",
        cfg,
        "serve",
        "--headless",
        "--port",
        &port.to_string(),
    ]);
    let mut child = head_1(serve);
    wait_for_server(port);
    for _ in 0..20 {
        let _ = echo(port, b"x", Duration::from_secs(2));
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let (st, err) = ended(child);
    assert_eq!(st.code(), Some(141), "{err}");
    assert!(!err.contains("Error") && !err.contains("panicked"), "{err}");
}

#[test]
fn a_stalled_reader_never_holds_the_server_up_or_its_shutdown() {
    let port = free_port();
    let cfg = config();
    // stdout is a pipe nobody reads: it fills after some 64 KiB.
    let mut child = bin()
        .arg("--config")
        .arg(cfg.path())
        .args(["serve", "--headless", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _unread = child.stdout.take().unwrap();
    wait_for_server(port);
    // A flood of small echoes: thousands of events, far more than the pipe
    // holds.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut back = [0u8; 64];
    for i in 0..3000 {
        let msg = format!("{i:063}\n");
        s.write_all(msg.as_bytes()).unwrap();
        s.read_exact(&mut back).unwrap();
    }
    // A new peer is still served at once: output does not hold the server.
    let started = Instant::now();
    assert_eq!(
        echo(port, b"new student", Duration::from_secs(10)).unwrap(),
        b"new student"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // And SIGTERM ends it promptly, saying what it could not write.
    terminate(&child);
    let (st, err) = ended(child);
    assert_eq!(st.code(), Some(0), "{err}");
    let summary = err.lines().last().unwrap_or_default();
    assert!(summary.contains("served 3 peers"), "{err}");
    assert!(
        summary.contains("events not written: stdout was not read fast enough"),
        "{err}"
    );
}
