//! `sockscope export`: every built-in lesson, written as C, Python and
//! Rust, builds (`cc -Wall -Werror`, `python3 -m py_compile`, `cargo build`)
//! and, run under `strace -f`, makes the calls the lesson makes under
//! `strace -f` (`sockscope trace LESSON --host-network`): thread for
//! thread, the same calls in the same order, with the same flags, results,
//! errnos and byte counts. Fd numbers may differ (each is compared as "the
//! thread's Nth socket"), and so may Python's own spelling, said at the top
//! of its programs: SOCK_CLOEXEC on every socket, accept4 for accept, and
//! ioctl(FIONBIO) where C calls fcntl(F_SETFL).

mod common;
use common::bin_path;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// The calls compared: those that change a socket or wait on one, and
/// Python's ioctl(FIONBIO).
const CALLS: &[&str] = &[
    "socket",
    "setsockopt",
    "fcntl",
    "ioctl",
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
    "shutdown",
    "close",
];

/// One call as compared: its fd is the thread's Nth socket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Made {
    name: String,
    sock: usize,
    flags: String,
    result: String,
}

/// Python's spelling of a call, as C spells it.
fn as_c(name: &str, args: &[String]) -> (String, Vec<String>) {
    let mut args = args.to_vec();
    match name {
        "socket" => {
            if let Some(ty) = args.get_mut(1) {
                *ty = ty.replace("|SOCK_CLOEXEC", "");
            }
            ("socket".into(), args)
        }
        "accept4" => ("accept".into(), args),
        // setblocking(False) / setblocking(True): CPython's ioctl(FIONBIO).
        "ioctl" if args.get(1).map(String::as_str) == Some("FIONBIO") => {
            let on = args.get(2).map(String::as_str) == Some("[1]");
            let fd = args.first().cloned().unwrap_or_default();
            (
                "fcntl".into(),
                vec![
                    fd,
                    "F_SETFL".into(),
                    if on {
                        "O_RDONLY|O_NONBLOCK"
                    } else {
                        "O_RDONLY"
                    }
                    .into(),
                ],
            )
        }
        _ => (name.to_string(), args),
    }
}

/// The flags compared for each call (never an fd or an address).
fn flags(name: &str, args: &[String]) -> String {
    let at = |i: usize| args.get(i).cloned().unwrap_or_default();
    match name {
        "socket" => format!("{} {}", at(0), at(1)),
        "sendto" | "recvfrom" => format!("{} {}", at(2), at(3)),
        "shutdown" | "listen" => at(1),
        "setsockopt" | "fcntl" => format!("{} {}", at(1), at(2)),
        "getsockopt" => at(2),
        // The events of each entry and the timeout; the fds are numbers.
        "poll" | "ppoll" => {
            let set = at(0);
            let events: Vec<&str> = set
                .split("events=")
                .skip(1)
                .map(|e| e.split(['}', ',']).next().unwrap_or(""))
                .collect();
            format!("{} {}", events.join(","), at(2))
        }
        _ => String::new(),
    }
}

/// Each thread's calls on sockets, in order, from an `strace -f` log.
/// `ours` says whether a socket() line made one of the program's sockets.
fn threads(log: &str, ours: impl Fn(&[String]) -> bool) -> Vec<Vec<Made>> {
    let mut open: HashSet<i32> = HashSet::new();
    // Per thread: fd -> the thread's socket number, and the count so far.
    let mut seen: HashMap<String, (HashMap<i32, usize>, usize)> = HashMap::new();
    let mut by_thread: Vec<(String, Vec<Made>)> = Vec::new();
    // Per thread and socket: the bytes a partial send left to send.
    let mut left: HashMap<(String, usize), Option<u64>> = HashMap::new();
    for line in common::strace_lines(log) {
        let Some((name, args, result)) = common::strace_call(&line.text) else {
            continue;
        };
        if !CALLS.contains(&name.as_str()) {
            continue;
        }
        // The engine's observers read TCP_INFO and the queues after every
        // call; only SO_ERROR is a lesson's own.
        if name == "getsockopt" && args.get(2).map(String::as_str) != Some("SO_ERROR") {
            continue;
        }
        if name == "ioctl" && args.get(1).map(String::as_str) != Some("FIONBIO") {
            continue;
        }
        let created: Option<i32> = match name.as_str() {
            "socket" => {
                if !ours(&args) {
                    continue;
                }
                result.parse().ok()
            }
            "accept" | "accept4" => {
                let fd: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(-1);
                if !open.contains(&fd) {
                    continue;
                }
                result.parse().ok()
            }
            "poll" | "ppoll" => {
                if !open.contains(&first_pollfd(&args)) {
                    continue;
                }
                None
            }
            _ => {
                let fd: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(-1);
                if !open.contains(&fd) {
                    continue;
                }
                None
            }
        };
        let (c_name, c_args) = as_c(&name, &args);
        let (map, count) = seen.entry(line.tid.clone()).or_default();
        let mut number = |fd: i32, map: &mut HashMap<i32, usize>| {
            *map.entry(fd).or_insert_with(|| {
                *count += 1;
                *count
            })
        };
        let sock = match c_name.as_str() {
            "socket" => 0,
            "poll" | "ppoll" => number(first_pollfd(&args), map),
            _ => {
                let fd = c_args.first().and_then(|a| a.parse().ok()).unwrap_or(-1);
                number(fd, map)
            }
        };
        let mut shown = result.clone();
        if let Some(new) = created.filter(|&fd| fd >= 0) {
            open.insert(new);
            map.remove(&new);
            shown = format!("socket #{}", number(new, map));
        }
        if c_name == "close" {
            let fd = c_args.first().and_then(|a| a.parse().ok()).unwrap_or(-1);
            open.remove(&fd);
            map.remove(&fd);
        }
        let mut made = Made {
            flags: flags(&c_name, &c_args),
            name: c_name,
            sock,
            result: shown,
        };
        if made.name == "sendto" {
            let rest = left.entry((line.tid.clone(), sock)).or_default();
            *rest = partial(&mut made, &c_args, *rest);
        }
        match by_thread.iter_mut().find(|(t, _)| *t == line.tid) {
            // A sendall loop's calls that each took part of the rest: how
            // many it takes is the kernel's timing (how soon the peer's
            // ACKs free the buffer), so they count as one.
            Some((_, calls))
                if made.flags.starts_with("rest")
                    && made.result == "partial"
                    && calls.last() == Some(&made) => {}
            Some((_, calls)) => calls.push(made),
            None => by_thread.push((line.tid.clone(), vec![made])),
        }
    }
    let mut out: Vec<Vec<Made>> = by_thread.into_iter().map(|(_, c)| c).collect();
    out.sort();
    out
}

/// A send the kernel took only part of, and the sends of the rest that
/// follow it (a sendall loop: each asks for what the last one left), are
/// compared by what happened, not by the count: that depends on how soon
/// the peer's ACKs free the send buffer, which is timing, and differs
/// between two runs of the same program. The lesson claims the kind
/// ("partial send", "whole buffer sent"), not the count. Every other send is
/// compared byte for byte. Returns what this send leaves to send.
fn partial(made: &mut Made, args: &[String], left: Option<u64>) -> Option<u64> {
    let len: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    let taken: Option<u64> = made.result.parse().ok();
    let rest = left == Some(len);
    let flags = args.get(3).cloned().unwrap_or_default();
    if rest {
        made.flags = format!("rest {flags}");
    }
    match taken {
        Some(n) if n < len => {
            made.result = "partial".into();
            Some(len - n)
        }
        Some(_) => {
            if rest {
                made.result = "whole".into();
            }
            None
        }
        // Failed: nothing taken, all of it still to send.
        None => Some(len),
    }
}

/// The fd of a poll's first entry, `[{fd=17, events=POLLIN}, ...]`.
fn first_pollfd(args: &[String]) -> i32 {
    args.first()
        .and_then(|a| a.strip_prefix("[{fd="))
        .and_then(|a| a.split(',').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or(-1)
}

fn strace(log: &Path, program: &mut Command) -> std::process::Output {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", &format!("trace={}", CALLS.join(","))])
        .arg("-o")
        .arg(log)
        .arg(program.get_program())
        .args(program.get_args())
        .stdin(Stdio::null());
    if let Some(dir) = program.get_current_dir() {
        cmd.current_dir(dir);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        program,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The lesson's own calls, by thread: sockscope's lesson sockets are the
/// AF_INET ones made without SOCK_CLOEXEC (its own, like the lab's check
/// that lo is up, are close-on-exec, as Rust makes every socket).
fn lesson_threads(name: &str, dir: &Path) -> Vec<Vec<Made>> {
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    let log = dir.join("lesson.log");
    let mut cmd = Command::new(bin_path());
    cmd.arg("--config").arg(&cfg).args([
        "trace",
        name,
        "--format",
        "json",
        "--no-capture",
        "--host-network",
    ]);
    strace(&log, &mut cmd);
    threads(&std::fs::read_to_string(&log).unwrap(), |args| {
        args.first().is_some_and(|a| a == "AF_INET")
            && !args.iter().any(|a| a.contains("SOCK_CLOEXEC"))
    })
}

/// An exported program's calls, by thread: all its AF_INET sockets are the
/// lesson's.
fn program_threads(log: &Path, program: &mut Command) -> Vec<Vec<Made>> {
    strace(log, program);
    threads(&std::fs::read_to_string(log).unwrap(), |args| {
        args.first().is_some_and(|a| a == "AF_INET")
    })
}

fn export(name: &str, lang: &str, dir: &Path) {
    let out = Command::new(bin_path())
        .args(["export", name, "--lang", lang, "-o"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export {name} --lang {lang}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_same(lesson: &str, lang: &str, want: &[Vec<Made>], got: &[Vec<Made>]) {
    assert!(!want.is_empty(), "{lesson}: strace saw no lesson calls");
    assert_eq!(
        want, got,
        "{lesson}: the {lang} program's calls (right) are not the lesson's (left)"
    );
}

fn tools_missing() -> bool {
    for (tool, arg) in [
        ("strace", "-V"),
        ("cc", "--version"),
        ("python3", "--version"),
    ] {
        if Command::new(tool).arg(arg).output().is_err() {
            sockscope_core::testing::skip(&format!(
                "{tool} is not installed (.ci/run installs it)"
            ));
            return true;
        }
    }
    false
}

#[test]
fn every_lesson_exported_as_c_and_python_makes_the_lessons_calls() {
    if tools_missing() {
        return;
    }
    let _turn = common::one_run_at_a_time();
    let mut checked = Vec::new();
    for lesson in sockscope_core::lesson::builtins() {
        let name = lesson.name.as_str();
        let dir = tempfile::tempdir().unwrap();
        let want = lesson_threads(name, dir.path());

        let c_dir = dir.path().join("c");
        export(name, "c", &c_dir);
        let stem = name.replace('-', "_");
        let built = Command::new("cc")
            .args(["-Wall", "-Werror", "-pthread", "-o", &stem])
            .arg(format!("{stem}.c"))
            .current_dir(&c_dir)
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{name}: cc: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let got = program_threads(
            &dir.path().join("c.log"),
            &mut Command::new(c_dir.join(&stem)),
        );
        assert_same(name, "C", &want, &got);

        let py_dir = dir.path().join("py");
        export(name, "python", &py_dir);
        let file = py_dir.join(format!("{stem}.py"));
        let compiled = Command::new("python3")
            .args(["-m", "py_compile"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            compiled.status.success(),
            "{name}: py_compile: {}",
            String::from_utf8_lossy(&compiled.stderr)
        );
        let mut py = Command::new("python3");
        py.arg(&file);
        let got = program_threads(&dir.path().join("py.log"), &mut py);
        assert_same(name, "Python", &want, &got);
        checked.push(name.to_string());
    }
    assert!(checked.len() >= 19, "{checked:?}");
}

#[test]
fn every_lesson_exported_as_rust_builds_and_makes_the_lessons_calls() {
    if tools_missing() {
        return;
    }
    if Command::new("cargo").arg("--version").output().is_err() {
        sockscope_core::testing::skip("cargo is not on PATH");
        return;
    }
    let _turn = common::one_run_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // One Cargo project holding every lesson's program as a binary of its
    // own, so libc is built once and the programs in parallel.
    let project = dir.path().join("all");
    std::fs::create_dir_all(project.join("src/bin")).unwrap();
    let lessons = sockscope_core::lesson::builtins();
    for lesson in &lessons {
        let one = dir.path().join(&lesson.name);
        export(&lesson.name, "rust", &one);
        let manifest = std::fs::read_to_string(one.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("libc = \"0.2\""), "{manifest}");
        std::fs::copy(
            one.join("src/main.rs"),
            project.join(format!("src/bin/{}.rs", lesson.name.replace('-', "_"))),
        )
        .unwrap();
    }
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"exported\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nlibc = \"0.2\"\n\n[workspace]\n",
    )
    .unwrap();
    // Offline: libc is in the local registry already (sockscope uses it).
    let built = Command::new("cargo")
        .args(["build", "--offline", "--bins", "-q"])
        .env("CARGO_TARGET_DIR", project.join("target"))
        .env_remove("RUSTFLAGS")
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "cargo build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    for lesson in &lessons {
        let name = lesson.name.as_str();
        let run_dir = dir.path().join(format!("{name}-lesson"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let want = lesson_threads(name, &run_dir);
        let bin = project.join("target/debug").join(name.replace('-', "_"));
        let got = program_threads(&run_dir.join("rust.log"), &mut Command::new(bin));
        assert_same(name, "Rust", &want, &got);
    }
}

/// Per actor (a lesson's actor, or the thread name `run` reports), the
/// calls in order, by their course names.
fn calls_by_actor(
    events: &[serde_json::Value],
    actor: impl Fn(&serde_json::Value) -> String,
) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for e in events
        .iter()
        .filter(|e| e["seq"] != 0 && e["result"] != "waiting")
    {
        let a = actor(e);
        let call = e["call"].as_str().unwrap_or_default().to_string();
        match out.iter_mut().find(|(name, _)| *name == a) {
            Some((_, calls)) => calls.push(call),
            None => out.push((a, vec![call])),
        }
    }
    out.sort();
    out
}

#[test]
fn an_exported_lesson_under_sockscope_run_has_the_lessons_lanes() {
    if tools_missing() {
        return;
    }
    let _turn = common::one_run_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    export("tcp", "c", dir.path());
    let built = Command::new("cc")
        .args(["-Wall", "-Werror", "-pthread", "-o", "tcp", "tcp.c"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    let lesson = Command::new(bin_path())
        .arg("--config")
        .arg(&cfg)
        .args([
            "trace",
            "tcp",
            "--format",
            "json",
            "--no-capture",
            "--host-network",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Command::new(bin_path())
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--headless", "--format", "json", "--no-kernel", "--"])
        .arg(dir.path().join("tcp"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let want = calls_by_actor(&common::json_lines(&lesson), |e| {
        e["actor"].as_str().unwrap_or_default().to_string()
    });
    // Each actor's thread names itself, so `run`'s lanes carry its name.
    let got = calls_by_actor(&common::json_lines(&run), |e| {
        e["comm"].as_str().unwrap_or_default().to_string()
    });
    assert_eq!(want.len(), 3, "{want:?}");
    assert_eq!(want, got);
}
