//! A lesson as one Python 3 file: the `socket` module, one thread per
//! actor, and the turn-taking of this module's parent.
//!
//! Each call is written `run(step, lambda: CALL, sock)`: `run` waits for the
//! step's turn, makes the call, and prints what it returned, or the errno
//! of the OSError Python raised for it (a failed call is data to show, not
//! the end of the program).

use super::OptValue;
use super::{
    FILL_ALPHABET, Lang, Plan, Statement, header, host_port, ident, key, narration, payload,
};
use sockscope_core::engine::Call;
use sockscope_core::lesson::{PollEvents, ShutdownHow};

/// A bytes literal holding exactly `bytes`.
fn literal(bytes: &[u8]) -> String {
    format!(
        "b\"{}\"",
        sockscope_core::engine::preview::escape(bytes, usize::MAX)
    )
}

fn address(plan: &Plan, spec: &str) -> String {
    match host_port(spec) {
        Some((host, port)) => format!("(\"{host}\", {port})"),
        None => format!("addr.{}", plan.var(spec)),
    }
}

/// A socket option's value as Python passes it.
fn option_value(value: &OptValue) -> String {
    match value {
        OptValue::Int(n) => n.to_string(),
        OptValue::Linger(seconds) => format!("struct.pack(\"ii\", 1, {seconds})"),
        OptValue::Timeval { sec, usec } => format!("struct.pack(\"ll\", {sec}, {usec})"),
    }
}

/// recv's flags as Python passes them; None when there are none.
fn recv_flags(plan: &Plan, i: usize) -> Option<String> {
    let set: Vec<String> = super::recv_flags(plan.step(i))
        .into_iter()
        .map(|f| format!("socket.{f}"))
        .collect();
    (!set.is_empty()).then(|| set.join(" | "))
}

/// Step `i` as its parts: setup lines, what the result is kept in, and the
/// call.
fn parts(plan: &Plan, i: usize) -> (Vec<String>, Option<String>, String) {
    let step = plan.step(i);
    let s = format!("sock.{}", plan.sock(i));
    let n = i + 1;
    let mut setup = Vec::new();
    let with_flags = |base: String, flags: Option<String>| match flags {
        Some(f) => format!("{base}, {f})"),
        None => format!("{base})"),
    };
    let (target, call) = match step.call {
        Call::Socket => (
            Some(s.clone()),
            format!(
                "socket.socket(socket.AF_INET, {})",
                if plan.udp(i) {
                    "socket.SOCK_DGRAM"
                } else {
                    "socket.SOCK_STREAM"
                }
            ),
        ),
        Call::Setsockopt => {
            let (level, name, value) =
                super::option(step.opt.expect("validated: setsockopt has opt"));
            (
                None,
                format!(
                    "{s}.setsockopt(socket.{level}, socket.{name}, {})",
                    option_value(&value)
                ),
            )
        }
        Call::Bind => (
            None,
            format!(
                "{s}.bind({})",
                address(plan, step.addr.as_deref().unwrap_or(""))
            ),
        ),
        Call::Listen => (None, format!("{s}.listen({})", plan.backlog(i))),
        Call::Accept => (
            Some(format!("sock.{}", plan.new_sock(i))),
            format!("{s}.accept()[0]"),
        ),
        Call::Connect => (
            None,
            format!(
                "{s}.connect({})",
                address(plan, step.to.as_deref().unwrap_or(""))
            ),
        ),
        Call::Send => {
            let data = match (step.htonl, step.fill) {
                _ if step.rest => format!("unsent[\"{}\"]", key(&step.actor, &step.sock)),
                (Some(v), _) => format!("struct.pack(\"!I\", {v})"),
                (None, Some(len)) => format!("fill({len})"),
                (None, None) => literal(payload(step)),
            };
            // A socket whose unsent bytes are kept names its payload, to
            // keep what the kernel did not take.
            if plan.unsent.contains(&key(&step.actor, &step.sock)) {
                setup.push(format!("data{n} = {data}"));
                (Some("n".into()), format!("{s}.send(data{n})"))
            } else {
                (Some("n".into()), format!("{s}.send({data})"))
            }
        }
        Call::Recv => (
            Some("data".into()),
            with_flags(
                format!("{s}.recv({}", plan.recv_max(i)),
                recv_flags(plan, i),
            ),
        ),
        Call::Sendto => (
            Some("n".into()),
            format!(
                "{s}.sendto({}, {})",
                literal(payload(step)),
                address(plan, step.to.as_deref().unwrap_or(""))
            ),
        ),
        Call::Recvfrom => (
            Some("data".into()),
            with_flags(
                format!("{s}.recvfrom({}", plan.recv_max(i)),
                recv_flags(plan, i),
            ),
        ),
        Call::Shutdown => (
            None,
            format!(
                "{s}.shutdown(socket.{})",
                step.how.unwrap_or(ShutdownHow::Both).c_name()
            ),
        ),
        Call::Close => (None, format!("{s}.close()")),
        Call::Fcntl => (
            None,
            format!(
                "{s}.setblocking({})",
                if step.nonblock == Some(true) {
                    "False"
                } else {
                    "True"
                }
            ),
        ),
        Call::Poll => {
            let ev = match step.events {
                Some(PollEvents::Out) => "select.POLLOUT",
                _ => "select.POLLIN",
            };
            setup.push(format!("p{n} = select.poll()"));
            for f in
                std::iter::once(plan.sock(i)).chain(step.also.iter().map(|a| plan.sock_named(i, a)))
            {
                setup.push(format!("p{n}.register(sock.{f}, {ev})"));
            }
            (
                Some("ready".into()),
                format!("p{n}.poll({})", step.timeout_ms.unwrap_or(-1)),
            )
        }
        Call::Getsockopt => (
            Some("err".into()),
            format!("{s}.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)"),
        ),
        Call::Dup => unreachable!("validated: a lesson step never names a traced-only call"),
    };
    (setup, target, call)
}

/// Step `i`'s statement, as the code panel shows it: the call, and what
/// its result is kept in.
pub(super) fn statement(plan: &Plan, i: usize) -> Statement {
    let (setup, target, call) = parts(plan, i);
    Statement {
        setup,
        call: match target {
            Some(t) => format!("{t} = {call}"),
            None => call,
        },
    }
}

fn actor_function(plan: &Plan, actor: &str, role: &str) -> Vec<String> {
    let mut out = vec![
        format!("def {}():", ident(actor)),
        format!("    # The {actor}: {role}."),
    ];
    for (i, step) in plan.lesson.steps.iter().enumerate() {
        if step.actor != actor {
            continue;
        }
        let n = i + 1;
        let (setup, target, call) = parts(plan, i);
        let on = if step.call == Call::Socket {
            "None".to_string()
        } else {
            format!("\"{}\"", plan.sock(i))
        };
        out.push(String::new());
        out.push(format!("    # Step {n}."));
        out.extend(narration(step, "    # ", 78));
        let ind = if let Some(times) = step.repeat {
            out.push(format!("    for _ in range({times}):"));
            "        "
        } else {
            "    "
        };
        out.extend(setup.iter().map(|l| format!("{ind}{l}")));
        let made = format!("run({n}, lambda: {call}, {on})");
        out.push(match &target {
            Some(t) => format!("{ind}{t} = {made}"),
            None => format!("{ind}{made}"),
        });
        let k = key(&step.actor, &step.sock);
        if step.call == Call::Send && plan.unsent.contains(&k) {
            out.push(format!("{ind}unsent[\"{k}\"] = data{n}[n or 0:]"));
        }
        if step.call == Call::Recv && step.ntohl {
            out.push(format!("{ind}if data is not None and len(data) == 4:"));
            out.push(format!(
                "{ind}    say(f\"     ntohl: {{struct.unpack('!I', data)[0]}} (as this machine holds the same bytes: {{int.from_bytes(data, sys.byteorder)}})\")"
            ));
        }
        if step.call == Call::Getsockopt {
            out.push(format!("{ind}if err is not None:"));
            out.push(format!(
                "{ind}    say(f\"     SO_ERROR = {{err}} ({{errno.errorcode.get(err, 'no error')}})\")"
            ));
        }
        if step.repeat.is_some() {
            if let Some(until) = step.until.as_deref() {
                if until == "ok" {
                    out.push(format!("{ind}if last.errno == 0:"));
                } else {
                    out.push(format!("{ind}if last.errno == errno.{until}:"));
                }
                out.push(format!("{ind}    break"));
            }
            if step.rest {
                out.push(format!("{ind}if not unsent[\"{k}\"]:  # every byte taken"));
                out.push(format!("{ind}    break"));
            }
        }
        for named in plan.learns(i) {
            let v = plan.var(&named);
            out.push(format!(
                "    addr.{v} = sock.{v}.getsockname()  # its address, for the steps that name {named}"
            ));
        }
        out.push(format!("    finish({n})"));
    }
    out
}

/// The turn-taking and printing helpers every Python program shares, kept as
/// Python in a file of their own (assets/program/).
const HELPERS: &str = include_str!("../../assets/program/helpers.py");

/// The whole program.
pub(super) fn program(plan: &Plan) -> String {
    let lesson = plan.lesson;
    let mut out = vec!["#!/usr/bin/env python3".to_string()];
    out.extend(
        header(lesson, Lang::Python)
            .into_iter()
            .map(|l| format!("# {l}").trim_end().to_string()),
    );
    out.push(String::new());
    out.push("import errno".into());
    out.push("import os".into());
    out.push("import select".into());
    out.push("import socket".into());
    out.push("import struct".into());
    out.push("import sys".into());
    out.push("import threading".into());
    out.push("import time".into());
    out.push("import types".into());
    out.push(String::new());
    let names: Vec<String> = lesson
        .actors
        .iter()
        .map(|a| format!("\"{}\"", a.name))
        .collect();
    out.push(format!("ACTORS = [{}]", names.join(", ")));
    out.push("# Each step: its actor, its call, whether it may wait while later steps".into());
    out.push("# run (parks), and the actors whose waiting call it lets return (wakes).".into());
    out.push("STEPS = {".into());
    for (i, s) in lesson.steps.iter().enumerate() {
        let wakes: Vec<String> = s.wakes.iter().map(|w| format!("\"{w}\", ")).collect();
        out.push(format!(
            "    {}: (\"{}\", \"{}\", {}, ({})),",
            i + 1,
            s.actor,
            s.call.name(),
            if super::may_park(s) { "True" } else { "False" },
            wakes.concat().trim_end()
        ));
    }
    out.push("}".into());
    out.push(String::new());
    out.push(
        "sock = types.SimpleNamespace()  # the lesson's sockets, shared by the threads".into(),
    );
    out.push(
        "addr = types.SimpleNamespace()  # the addresses steps name, read with getsockname".into(),
    );
    out.push(
        "unsent = {}  # what a send left for the next (the kernel may take fewer bytes)".into(),
    );
    out.push(String::new());
    out.push(String::new());
    out.push("def fill(n):".into());
    out.push("    \"\"\"A `fill` payload: the alphabet over and over.\"\"\"".into());
    out.push(format!(
        "    return (b\"{FILL_ALPHABET}\" * (n // {} + 1))[:n]",
        FILL_ALPHABET.len()
    ));
    out.push(String::new());
    out.push(String::new());
    out.push(HELPERS.trim_end().to_string());
    for a in &lesson.actors {
        out.push(String::new());
        out.push(String::new());
        out.extend(actor_function(plan, &a.name, &super::one_line(&a.role)));
    }
    out.push(String::new());
    out.push(String::new());
    let bodies: Vec<String> = lesson.actors.iter().map(|a| ident(&a.name)).collect();
    out.extend([
        "def main():".to_string(),
        format!(
            "    threads = [threading.Thread(target=f) for f in ({},)]",
            bodies.join(", ")
        ),
        "    for t in threads:".into(),
        "        t.start()".into(),
        "    for step in STEPS:".into(),
        "        with changed:".into(),
        "            turn[0] = step".into(),
        "            changed.notify_all()".into(),
        "        wait_step(step)".into(),
        "    for t in threads:".into(),
        "        t.join()".into(),
        "    sys.stdout.flush()".into(),
        "    # Leave without Python's teardown: it would close the sockets the".into(),
        "    # lesson leaves open, calls the lesson never makes.".into(),
        "    os._exit(0)".into(),
        String::new(),
        String::new(),
        "if __name__ == \"__main__\":".into(),
        "    main()".into(),
    ]);
    out.join("\n") + "\n"
}
