//! Bad input teaches, never crashes: unreadable and non-UTF-8 lesson and
//! config files are named with a clear message and exit 2; devices, huge
//! files and symlink loops are refused without being read; every number,
//! name and placeholder of a lesson is checked at load with its place; and
//! nothing from a file reaches the terminal unescaped. (Other bad inputs
//! are tested beside the feature they concern: unknown lessons and ports in
//! cli_trace.rs, cli_tui.rs and port_cli.rs, malformed lesson and config
//! files in cli_classroom.rs, a too-small terminal in tui_pty.rs, hostile
//! peers in hostile_peers.rs.)

mod common;
#[path = "support/setpriv.rs"]
mod setpriv;

use common::bin;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn assert_usage_error(out: &std::process::Output, names: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {err}");
    assert!(err.contains(names), "the message names {names}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Backtrace"),
        "{err}"
    );
}

#[test]
fn a_lesson_file_that_is_not_utf8_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("garbage.toml");
    std::fs::write(&file, b"name = \"x\xff\xfe\"\n").unwrap();
    let out = bin()
        .args(["--lessons", dir.path().to_str().unwrap(), "lessons"])
        .output()
        .unwrap();
    assert_usage_error(&out, "garbage.toml");
    // Placed at the bad byte: line 1, column 10 (after `name = "x`).
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("garbage.toml:1:10:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_config_file_that_is_not_utf8_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, b"theme = \"\xff\"\n").unwrap();
    let out = bin()
        .args(["--config", file.to_str().unwrap(), "lessons"])
        .output()
        .unwrap();
    assert_usage_error(&out, "config.toml:1:");
}

#[test]
fn an_unreadable_lesson_file_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("secret.toml");
    std::fs::write(&file, "name = \"secret\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let lessons = dir.path().to_str().unwrap();
    let out = if setpriv::am_root() {
        // Root reads any file: check as the unprivileged user `nobody`.
        if !setpriv::available() {
            return;
        }
        let bin = setpriv::binary();
        setpriv::output(
            Command::new("setpriv")
                .args(["--reuid", setpriv::NOBODY, "--regid", setpriv::NOBODY])
                .arg("--clear-groups")
                .arg(&bin.path)
                .args(["--lessons", lessons, "lessons"]),
        )
    } else {
        bin()
            .args(["--lessons", lessons, "lessons"])
            .output()
            .unwrap()
    };
    assert_usage_error(&out, "secret.toml");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ermission denied"));
}

/// `sockscope --config EMPTY --lessons DIR ARGS`, where DIR holds `files`.
fn with_lessons(files: &[(&str, &str)], args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    run_in(dir.path(), args)
}

fn run_in(lessons: &Path, args: &[&str]) -> Output {
    let cfg = tempfile::NamedTempFile::new().unwrap();
    bin()
        .arg("--config")
        .arg(cfg.path())
        .arg("--lessons")
        .arg(lessons)
        .args(args)
        .output()
        .unwrap()
}

/// `sockscope --config FILE lessons`, FILE holding `text`.
fn with_config(text: &str) -> Output {
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), text).unwrap();
    bin()
        .arg("--config")
        .arg(cfg.path())
        .arg("lessons")
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A valid user lesson: one TCP server that binds `ADDR` and listens.
const OWN: &str = r#"name = "mine"
title = "TITLE"
summary = "SUMMARY"

[[actor]]
name = "server"
role = "S"

[[step]]
actor = "server"
call = "socket"
sock = "l"
proto = "tcp"
say = "fd {fd}"

[[step]]
actor = "server"
call = "bind"
sock = "l"
addr = "ADDR"
say = "bound {local}"

[[step]]
actor = "server"
call = "listen"
sock = "l"
say = "SAY"

[[step]]
actor = "server"
call = "close"
sock = "l"
say = "closed"
"#;

fn own(title: &str, summary: &str, addr: &str, say: &str) -> String {
    OWN.replace("TITLE", title)
        .replace("SUMMARY", summary)
        .replace("ADDR", addr)
        .replace("SAY", say)
}

#[test]
fn devices_are_refused_as_config_and_lesson_files_without_being_read() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        let started = Instant::now();
        let out = bin().args(["--config", dev, "lessons"]).output().unwrap();
        assert_usage_error(&out, dev);
        assert!(err(&out).contains("character device"), "{}", err(&out));
        // Read to the end, /dev/zero grew the process to 5.8 GB in 20 s.
        assert!(started.elapsed() < Duration::from_secs(10));
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dev, dir.path().join("dev.toml")).unwrap();
        let out = run_in(dir.path(), &["lessons"]);
        assert_usage_error(&out, "dev.toml");
        assert!(err(&out).contains("character device"), "{}", err(&out));
    }
}

#[test]
fn files_beyond_their_cap_are_refused_and_the_error_says_the_cap() {
    let big = format!(
        "{}{}",
        own("T", "S", "127.0.0.1:0", "x"),
        "#\n".repeat(140_000)
    );
    let out = with_lessons(&[("big.toml", &big)], &["lessons"]);
    assert_usage_error(&out, "big.toml");
    assert!(err(&out).contains("256 KiB"), "{}", err(&out));
    let out = with_config(&"#\n".repeat(40_000));
    assert_usage_error(&out, "64 KiB");
}

#[test]
fn every_number_in_a_lesson_is_checked_at_load_with_its_place() {
    // The two that hurt: a 100 GB buffer, and a hundred million repeats.
    let recv_max = own("T", "S", "127.0.0.1:0", "x").replace(
        "[[step]]\nactor = \"server\"\ncall = \"close\"",
        "[[step]]\nactor = \"server\"\ncall = \"recv\"\nsock = \"l\"\nsay = \"r\"\nmax = 99999999999\n\n[[step]]\nactor = \"server\"\ncall = \"close\"",
    );
    let out = with_lessons(&[("m.toml", &recv_max)], &["trace", "mine"]);
    assert_usage_error(
        &out,
        "m.toml:34:7: step 4: `max = 99999999999` is out of range: it must be 1-65536",
    );
    let repeat = recv_max.replace("max = 99999999999", "repeat = 100000000");
    let out = with_lessons(&[("r.toml", &repeat)], &["trace", "mine"]);
    assert_usage_error(
        &out,
        "r.toml:34:10: step 4: `repeat = 100000000` is out of range: it must be 1-1000",
    );
}

#[test]
fn names_that_could_leave_a_folder_or_reach_a_terminal_are_refused_at_load() {
    // As written in the TOML file.
    for name in [
        "\"x/../../trav_target/evil\"",
        "\"\\u001b]0;pwned\\u0007\\u001b[2J\"",
    ] {
        let lesson = own("T", "S", "127.0.0.1:0", "x").replace("\"mine\"", name);
        let out = with_lessons(&[("n.toml", &lesson)], &["lessons"]);
        assert_usage_error(&out, "n.toml:1:8: lesson name");
        assert!(err(&out).contains("ASCII letters, digits"), "{}", err(&out));
        assert!(!out.stderr.contains(&0x1b), "{}", err(&out));
    }
}

#[test]
fn text_from_a_lesson_file_is_escaped_on_every_output_path() {
    let hostile = "\\u001b]0;pwned\\u0007\\u001b[2J";
    let lesson = own(hostile, hostile, "127.0.0.1:0", hostile);
    let files = [("h.toml", lesson.as_str())];
    for args in [
        &["lessons"][..],
        &["trace", "mine"],
        &["trace", "mine", "--format", "markdown"],
        &["trace", "mine", "--format", "json"],
    ] {
        let out = with_lessons(&files, args);
        assert!(out.status.success(), "{args:?}: {}", err(&out));
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{args:?}: {text}"
        );
        if args[0] == "lessons" || args.len() == 2 {
            assert!(text.contains("\\x1b]0;pwned\\x07"), "{args:?}: {text}");
        }
    }
}

#[test]
fn config_errors_quote_values_escaped_and_on_one_line() {
    let out = with_config("default_lesson = \"\\u001b]0;pwned\\u0007\\nsecond line\"\n");
    assert_usage_error(&out, "default_lesson");
    let e = err(&out);
    assert!(!e.contains('\u{1b}') && !e.contains('\u{7}'), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
}

#[test]
fn smaller_lesson_mistakes_each_name_their_place() {
    let base = own("T", "S", "127.0.0.1:0", "listening on {local}");
    let cases = [
        // A port past 65535 is a port out of range, not an unopened socket.
        (
            base.replace("127.0.0.1:0", "127.0.0.1:70000"),
            "p.toml:20:8: step 2: `127.0.0.1:70000`: port 70000 is out of range",
        ),
        // An unknown placeholder is refused where it is written.
        (
            base.replace("listening on {local}", "listening on {lcoal}"),
            "p.toml:27:21: step 3: `{lcoal}` in `say` is not a placeholder",
        ),
        // A second actor of the same name, placed at its name.
        (
            base.replace(
                "role = \"S\"\n",
                "role = \"S\"\n\n[[actor]]\nname = \"server\"\nrole = \"again\"\n",
            ),
            "p.toml:10:8: actor `server` is declared twice",
        ),
        // A value with a newline makes a one-line error.
        (
            base.replace("127.0.0.1:0", "no\\nsuch"),
            "`no\\nsuch` is neither an address",
        ),
    ];
    for (lesson, want) in cases {
        let out = with_lessons(&[("p.toml", &lesson)], &["lessons"]);
        assert_usage_error(&out, want);
        assert_eq!(err(&out).trim_end().lines().count(), 1, "{}", err(&out));
    }
}

#[test]
fn a_symlink_loop_in_the_lessons_folder_is_an_error_as_in_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let out = run_in(dir.path(), &["lessons"]);
    assert_usage_error(&out, "a.toml");
    assert!(err(&out).contains("symbolic links"), "{}", err(&out));
    let out = bin()
        .arg("--config")
        .arg(&a)
        .arg("lessons")
        .output()
        .unwrap();
    assert_usage_error(&out, "a.toml");
}

#[test]
fn a_lesson_beyond_loopback_carries_the_serve_warning_with_the_real_port() {
    let lesson = own("T", "S", "0.0.0.0:0", "x");
    let out = with_lessons(
        &[("w.toml", &lesson)],
        &["trace", "mine", "--format", "json"],
    );
    assert!(out.status.success(), "{}", err(&out));
    let events = common::json_lines(&out);
    let listen = events.iter().find(|v| v["call"] == "listen").unwrap();
    let port = listen["local"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(port, "0");
    let warning = format!(
        "warning: bound to 0.0.0.0:{port}, not loopback: port {port} is reachable from the network"
    );
    assert!(
        listen["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == &*warning),
        "{listen}"
    );
    assert!(err(&out).contains(&warning), "{}", err(&out));
}

/// `trace tcp --format json --no-capture --port PORT`.
fn trace_tcp_on(port: &str) -> [&str; 7] {
    [
        "trace",
        "tcp",
        "--format",
        "json",
        "--no-capture",
        "--port",
        port,
    ]
}

#[test]
fn a_failed_bind_stops_the_lesson_instead_of_listening_on_every_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    // The lab network is the lesson's own: a port taken on this machine is
    // free there.
    let out = bin().args(trace_tcp_on(&port)).output().unwrap();
    if err(&out).contains("no lab network") {
        sockscope_core::testing::skip("the kernel refused the lab network here");
    } else {
        assert!(out.status.success(), "{}", err(&out));
    }
    // On the machine's network it is taken.
    let out = bin()
        .args(trace_tcp_on(&port))
        .arg("--host-network")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    let events = common::json_lines(&out);
    let last = events.last().unwrap();
    assert_eq!(
        (last["call"].as_str(), last["result"].as_str()),
        (Some("bind"), Some("EADDRINUSE"))
    );
    assert!(
        events.iter().all(|v| v["call"] != "listen"),
        "listen would have bound 0.0.0.0: {events:?}"
    );
    assert!(
        err(&out).contains("step 2: server's bind failed with EADDRINUSE"),
        "{}",
        err(&out)
    );
    // As an ordinary user, port 80 is EACCES: the lesson stops there too,
    // and says what to do instead.
    if !setpriv::available() {
        return;
    }
    let bin = setpriv::binary();
    let out = setpriv::output(&mut setpriv::as_nobody(&bin, &trace_tcp_on("80")));
    if setpriv::unprivileged_port_start() <= 80 {
        sockscope_core::testing::skip("the EACCES half: port 80 is not privileged on this machine");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    let events = common::json_lines(&out);
    assert_eq!(events.last().unwrap()["result"], "EACCES");
    assert!(events.iter().all(|v| v["call"] != "listen"));
    let e = err(&out);
    assert!(e.contains("ip_unprivileged_port_start = "), "{e}");
    assert!(e.contains("sudo setcap cap_net_bind_service+ep"), "{e}");
}
