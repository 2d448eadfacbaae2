//! `sockscope run --headless --format json` against `strace -f` of the same
//! C programs (tests/programs/): for each process, the same socket calls in
//! the same order, with the same results and byte counts (fd numbers are
//! compared as "an fd"). And a `run` killed with SIGKILL leaves no traced
//! program behind (PTRACE_O_EXITKILL).

mod common;
#[path = "support/programs.rs"]
mod programs;

use common::bin;
use programs::{built, free_port, listening, program, udp_bound};
use sockscope_core::testing::skip;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The calls compared: every socket call these programs make. read, write
/// and close are kept only on socket fds (the loader's and printf's are not
/// socket calls, and `run` does not show them).
const CALLS: &[&str] = &[
    "socket",
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
    "setsockopt",
    "getsockopt",
    "close",
    "read",
    "write",
];

/// How strace names the making of a process (followed for the fds a
/// child inherits).
const FORKS: &[&str] = &["clone", "clone3", "fork", "vfork"];

/// One call: its name and what it returned (`fd` for a new fd, a count,
/// `0`, or `-1 ERRNO`).
type Call = (String, String);

/// Calls per process, keyed by (program name, order the process appeared).
type PerProcess = BTreeMap<(String, usize), Vec<Call>>;

fn returns_fd(name: &str) -> bool {
    matches!(name, "socket" | "accept" | "accept4")
}

/// strace -f's log, as calls per process, unfinished/resumed pairs joined.
fn parse_strace(log: &str, names: &HashMap<String, String>) -> PerProcess {
    let joined: Vec<(String, String)> = common::strace_lines(log)
        .into_iter()
        .map(|l| (l.tid, l.text))
        .collect();
    // Who made whom: a child's lines can come before its parent's clone
    // returns in the log, so this is known before the calls are read.
    let mut parent_of: HashMap<String, String> = HashMap::new();
    for (pid, line) in &joined {
        if let Some((name, args)) = line.split_once('(')
            && FORKS.contains(&name)
            && let Some(child) = args.rsplit(" = ").next()
        {
            parent_of.insert(child.trim().to_string(), pid.clone());
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut per_pid: HashMap<String, Vec<Call>> = HashMap::new();
    // Socket fds per process: a forked child starts with its parent's
    // (the parent is inside clone until the child exists).
    let mut sockets: HashMap<String, HashSet<i64>> = HashMap::new();
    for (pid, line) in &joined {
        if !sockets.contains_key(pid) {
            let inherited = parent_of
                .get(pid)
                .and_then(|p| sockets.get(p))
                .cloned()
                .unwrap_or_default();
            sockets.insert(pid.clone(), inherited);
        }
        let Some((name, args)) = line.split_once('(') else {
            continue;
        };
        if FORKS.contains(&name) {
            // The child starts with the fds its parent has now, unless
            // its lines came first (then it has them already).
            if let Some(child) = args.rsplit(" = ").next().map(str::trim)
                && !sockets.contains_key(child)
            {
                let inherited = sockets.get(pid).cloned().unwrap_or_default();
                sockets.insert(child.to_string(), inherited);
            }
            continue;
        }
        if !CALLS.contains(&name) {
            continue;
        }
        let Some(at) = args.rfind(" = ") else {
            continue;
        };
        let mut ret = args[at + 3..].split_whitespace();
        let value = ret.next().unwrap_or("?").to_string();
        // `= ? ERESTARTSYS`: interrupted, restarted, shown once when it returns.
        if value == "?" {
            continue;
        }
        let fd: i64 = args
            .split([',', ')'])
            .next()
            .and_then(|f| f.trim().parse().ok())
            .unwrap_or(-1);
        let socks = sockets.entry(pid.clone()).or_default();
        if returns_fd(name) {
            if let Ok(n) = value.parse::<i64>() {
                socks.insert(n);
            }
        } else if !socks.contains(&fd) {
            continue;
        }
        if name == "close" && value == "0" {
            socks.remove(&fd);
        }
        let result = if value == "-1" {
            format!("-1 {}", ret.next().unwrap_or("?"))
        } else if returns_fd(name) {
            "fd".into()
        } else {
            value
        };
        if !per_pid.contains_key(pid) {
            order.push(pid.clone());
        }
        per_pid
            .entry(pid.clone())
            .or_default()
            .push((name.to_string(), result));
    }
    keyed(order, per_pid, names)
}

fn keyed(
    order: Vec<String>,
    mut per: HashMap<String, Vec<Call>>,
    names: &HashMap<String, String>,
) -> PerProcess {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = PerProcess::new();
    // Processes of one program in the order they were made (pids grow).
    let mut order = order;
    order.sort_by_key(|p| p.parse::<i64>().unwrap_or(0));
    for pid in order {
        let name = names.get(&pid).cloned().unwrap_or_default();
        let n = seen.entry(name.clone()).or_default();
        out.insert((name, *n), per.remove(&pid).unwrap_or_default());
        *n += 1;
    }
    out
}

/// `run`'s JSON lines as calls per process.
fn parse_run(lines: &[serde_json::Value]) -> PerProcess {
    let mut order = Vec::new();
    let mut per: HashMap<String, Vec<Call>> = HashMap::new();
    let mut names = HashMap::new();
    for v in lines {
        if v["result"] == "waiting" {
            continue;
        }
        let pid = v["tid"].as_i64().unwrap().to_string();
        let name = v["syscall"].as_str().unwrap().to_string();
        // Compared with strace: the calls it is asked to trace (a poll's
        // fds are an array strace's log gives no socket fd for).
        if !CALLS.contains(&name.as_str()) {
            continue;
        }
        let result = match (
            v["result"].as_str().unwrap(),
            v["new_fd"].as_i64(),
            v["bytes"].as_i64(),
        ) {
            ("ok", Some(_), _) if returns_fd(&name) => "fd".to_string(),
            ("ok", Some(fd), _) => fd.to_string(),
            ("ok", None, Some(n)) => n.to_string(),
            ("ok", None, None) => "0".into(),
            (errno, _, _) => format!("-1 {errno}"),
        };
        if !per.contains_key(&pid) {
            order.push(pid.clone());
        }
        names.insert(pid.clone(), v["comm"].as_str().unwrap().to_string());
        per.entry(pid).or_default().push((name, result));
    }
    keyed(order, per, &names)
}

/// Run `programs` (each an argv) under strace -f, each after the one before
/// is listening (`ready`), and return the log's calls per process.
fn under_strace(programs: &[Vec<String>], ready: &dyn Fn() -> bool) -> PerProcess {
    let dir = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    let mut logs = Vec::new();
    for (i, argv) in programs.iter().enumerate() {
        let log = dir.path().join(format!("{i}.log"));
        let child = Command::new("strace")
            .arg("-f")
            .arg("-e")
            .arg(format!("trace={},{}", CALLS.join(","), FORKS.join(",")))
            .arg("-o")
            .arg(&log)
            .args(argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        children.push(child);
        logs.push((log, argv[0].clone()));
        if i + 1 < programs.len() {
            let t = Instant::now();
            while !ready() {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "the server never listened"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let mut all = PerProcess::new();
    for (log, prog) in logs {
        let text = std::fs::read_to_string(log).unwrap();
        let comm = std::path::Path::new(&prog)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let names: HashMap<String, String> = text
            .lines()
            .filter_map(|l| {
                l.split_once(' ')
                    .map(|(p, _)| (p.to_string(), comm.clone()))
            })
            .collect();
        all.extend(parse_strace(&text, &names));
    }
    all
}

fn under_run(programs: &[Vec<String>]) -> PerProcess {
    let mut cmd = bin();
    cmd.args(["run", "--headless", "--format", "json", "--"]);
    for (i, argv) in programs.iter().enumerate() {
        if i > 0 {
            cmd.arg(":::");
        }
        cmd.args(argv);
    }
    let out = cmd.stderr(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "run failed: {out:?}");
    let lines = common::json_lines(&out);
    for v in &lines {
        assert!(v["pid"].is_i64() && v["comm"].is_string(), "{v}");
    }
    parse_run(&lines)
}

fn tools() -> Option<&'static std::path::Path> {
    if Command::new("strace").arg("-V").output().is_err() {
        skip("strace is not installed");
        return None;
    }
    match built() {
        Ok(d) => Some(d),
        Err(why) => {
            skip(&why);
            None
        }
    }
}

fn compare(programs: Vec<Vec<String>>, ready: &dyn Fn() -> bool) {
    let ours = under_run(&programs);
    let theirs = under_strace(&programs, ready);
    assert!(!ours.is_empty());
    assert_eq!(
        ours, theirs,
        "run's calls (left) differ from strace's (right)"
    );
}

#[test]
fn tcp_server_and_client_match_strace() {
    let Some(dir) = tools() else { return };
    let port = free_port();
    let p = port.to_string();
    compare(
        vec![
            vec![program(dir, "tcp_server"), p.clone(), "2".into()],
            vec![
                program(dir, "tcp_client"),
                p,
                "hello there".into(),
                "2".into(),
            ],
        ],
        &|| listening(port),
    );
}

#[test]
fn udp_pair_matches_strace() {
    let Some(dir) = tools() else { return };
    let port = free_port();
    let p = port.to_string();
    compare(
        vec![
            vec![program(dir, "udp_receiver"), p.clone()],
            vec![program(dir, "udp_sender"), p, "ping".into()],
        ],
        &|| udp_bound(port),
    );
}

#[test]
fn forking_server_has_a_lane_per_process_and_matches_strace() {
    let Some(dir) = tools() else { return };
    let port = free_port();
    let p = port.to_string();
    let programs = vec![
        vec![program(dir, "forking_server"), p.clone(), "2".into()],
        vec![program(dir, "tcp_client"), p, "hi".into(), "2".into()],
    ];
    let ours = under_run(&programs);
    // The parent and one child per connection.
    assert_eq!(
        ours.keys().filter(|(n, _)| n == "forking_server").count(),
        3,
        "{ours:?}"
    );
    compare(programs, &|| listening(port));
}

#[test]
fn killing_run_kills_the_traced_program() {
    let Some(dir) = tools() else { return };
    let port = free_port();
    let mut child = bin()
        .args(["run", "--headless", "--format", "json", "--"])
        .arg(program(dir, "tcp_server"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut pid = None;
    for line in lines.by_ref() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["call"] == "listen" {
            pid = v["pid"].as_i64();
            break;
        }
    }
    let pid = pid.expect("the server listened");
    // The server now waits in accept, traced. SIGKILL sockscope itself.
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = |pid: i64| match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie is dead; only a reaper is missing (a container's pid 1).
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z')),
    };
    let t = Instant::now();
    while !gone(pid) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "traced program {pid} outlived sockscope"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!listening(port), "the port is still listening");
}

/// A client written as an event loop writes it (a non-blocking socket,
/// connect's EINPROGRESS, poll): its calls are shown as they ran, and the
/// first of them says once why they differ from the course's blocking
/// sequence; the blocking server's say nothing of the kind.
#[test]
fn a_non_blocking_client_is_shown_as_it_runs_and_told_why_once() {
    let Some(dir) = tools() else { return };
    let port = free_port();
    let p = port.to_string();
    let programs = vec![
        vec![program(dir, "tcp_server"), p.clone(), "1".into()],
        vec![program(dir, "nb_client"), p],
    ];
    let mut cmd = bin();
    cmd.args(["run", "--headless", "--format", "json", "--"]);
    cmd.args(&programs[0]).arg(":::").args(&programs[1]);
    let out = cmd.stderr(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines = common::json_lines(&out);
    let noted = |v: &&serde_json::Value| {
        v["flags"].as_array().is_some_and(|f| {
            f.iter().any(|f| {
                f.as_str()
                    .is_some_and(|f| f.starts_with("non-blocking from here"))
            })
        })
    };
    let told: Vec<&serde_json::Value> = lines.iter().filter(noted).collect();
    assert_eq!(told.len(), 1, "said once: {told:#?}");
    assert_eq!(told[0]["comm"], "nb_client", "{:#}", told[0]);
    assert_eq!(told[0]["syscall"], "socket");
    assert!(told[0]["args"].as_str().unwrap().contains("SOCK_NONBLOCK"));
    let client: Vec<&serde_json::Value> =
        lines.iter().filter(|v| v["comm"] == "nb_client").collect();
    assert!(
        client
            .iter()
            .any(|v| v["syscall"] == "connect" && v["result"] == "EINPROGRESS"),
        "{client:#?}"
    );
    // Each poll returned 1, one socket ready (as the program waited for).
    let polls: Vec<_> = client
        .iter()
        .filter(|v| v["syscall"] == "poll" || v["syscall"] == "ppoll")
        .collect();
    assert_eq!(polls.len(), 2, "{client:#?}");
    assert!(polls.iter().all(|v| v["ready"] == 1), "{polls:#?}");
    compare(programs, &|| listening(port));
}
