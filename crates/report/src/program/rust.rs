//! A lesson as a Cargo project in Rust: the C library's socket calls
//! through the `libc` crate, one thread per actor, and the turn-taking of
//! this module's parent.
//!
//! Why libc and not std or socket2: std has no call for bind without
//! listen or for a backlog, makes every socket close-on-exec and passes
//! MSG_NOSIGNAL on every write; socket2 makes plain socket(2) and
//! accept(2) on request (new_raw, accept_raw), but its set_nonblocking
//! reads F_GETFL before it sets F_SETFL, and it has no poll. The lesson's
//! calls are exactly the C library's, so the program calls those. It keeps
//! the `unsafe` in one module of small wrappers, each with its SAFETY
//! comment, and every step reads like the C program's.

use super::OptValue;
use super::{FILL_ALPHABET, Plan, Statement, header, host_port, ident, key, narration, payload};
use crate::program::Lang;
use sockscope_core::engine::Call;
use sockscope_core::lesson::{PollEvents, ShutdownHow, SockOpt};

fn literal(bytes: &[u8]) -> String {
    format!(
        "b\"{}\"",
        sockscope_core::engine::preview::escape(bytes, usize::MAX)
    )
}

/// A socket's static, as Rust names constants.
fn var(plan: &Plan, k: &str) -> String {
    plan.var(k).to_uppercase()
}

fn address(plan: &Plan, spec: &str) -> String {
    match host_port(spec) {
        Some((host, port)) => format!(
            "SocketAddrV4::new(Ipv4Addr::new({}), {port})",
            host.replace('.', ", ")
        ),
        None => format!("{}_ADDR.get()", var(plan, spec)),
    }
}

/// A socket option's level, name and value as the wrapper takes them.
fn option(opt: SockOpt) -> String {
    let (level, name, value) = super::option(opt);
    let value = match value {
        OptValue::Int(n) => format!("{n}i32"),
        OptValue::Linger(seconds) => {
            format!("libc::linger {{ l_onoff: 1, l_linger: {seconds} }}")
        }
        OptValue::Timeval { sec, usec } => {
            format!("libc::timeval {{ tv_sec: {sec}, tv_usec: {usec} }}")
        }
    };
    format!("libc::{level}, libc::{name}, {value}")
}

/// recv's flags as the wrapper takes them.
fn recv_flags(plan: &Plan, i: usize) -> String {
    let set: Vec<String> = super::recv_flags(plan.step(i))
        .into_iter()
        .map(|f| format!("libc::{f}"))
        .collect();
    if set.is_empty() {
        "0".into()
    } else {
        set.join(" | ")
    }
}

/// What keeps a call's result.
enum Keep {
    /// The socket static a socket() or accept() fills.
    Socket(String),
    /// `n`, the count or 0 or -1.
    Count,
}

impl Keep {
    /// `call` with its result kept; `reads_n`: whether a later line reads `n`.
    fn line(&self, call: &str, reads_n: bool) -> String {
        match self {
            Keep::Socket(v) => format!("{v}.set({call});"),
            Keep::Count if reads_n => format!("let n = {call};"),
            Keep::Count => format!("{call};"),
        }
    }
}

/// Step `i` as setup lines, what keeps the result, and the call.
fn parts(plan: &Plan, i: usize) -> (Vec<String>, Keep, String) {
    let step = plan.step(i);
    let s = format!("{}.get()", plan.sock(i).to_uppercase());
    let n = i + 1;
    let mut setup = Vec::new();
    let (keep, call) = match step.call {
        Call::Socket => (
            Keep::Socket(plan.sock(i).to_uppercase()),
            format!(
                "sys::socket({})",
                if plan.udp(i) {
                    "libc::SOCK_DGRAM"
                } else {
                    "libc::SOCK_STREAM"
                }
            ),
        ),
        Call::Setsockopt => (
            Keep::Count,
            format!(
                "sys::setsockopt({s}, {})",
                option(step.opt.expect("validated: setsockopt has opt"))
            ),
        ),
        Call::Bind => (
            Keep::Count,
            format!(
                "sys::bind({s}, {})",
                address(plan, step.addr.as_deref().unwrap_or(""))
            ),
        ),
        Call::Listen => (
            Keep::Count,
            format!("sys::listen({s}, {})", plan.backlog(i)),
        ),
        Call::Accept => (
            Keep::Socket(plan.new_sock(i).to_uppercase()),
            format!("sys::accept({s})"),
        ),
        Call::Connect => (
            Keep::Count,
            format!(
                "sys::connect({s}, {})",
                address(plan, step.to.as_deref().unwrap_or(""))
            ),
        ),
        Call::Send => {
            let data = match (step.htonl, step.fill) {
                _ if step.rest => format!("unsent.{}.clone()", ident(&step.sock)),
                (Some(v), _) => format!("{v}u32.to_be_bytes().to_vec()"),
                (None, Some(len)) => format!("fill({len})"),
                (None, None) => format!("{}.to_vec()", literal(payload(step))),
            };
            // A socket whose unsent bytes are kept names its payload, to
            // keep what the kernel did not take.
            if plan.unsent.contains(&key(&step.actor, &step.sock)) {
                setup.push(format!("let data{n} = {data};"));
                (Keep::Count, format!("sys::send({s}, &data{n}, 0)"))
            } else {
                (Keep::Count, format!("sys::send({s}, &{data}, 0)"))
            }
        }
        Call::Recv => (
            Keep::Count,
            format!("sys::recv({s}, BUF, {})", recv_flags(plan, i)),
        ),
        Call::Sendto => (
            Keep::Count,
            format!(
                "sys::sendto({s}, {}, 0, {})",
                literal(payload(step)),
                address(plan, step.to.as_deref().unwrap_or(""))
            ),
        ),
        Call::Recvfrom => (
            Keep::Count,
            format!("sys::recvfrom({s}, BUF, {})", recv_flags(plan, i)),
        ),
        Call::Shutdown => (
            Keep::Count,
            format!(
                "sys::shutdown({s}, libc::{})",
                step.how.unwrap_or(ShutdownHow::Both).c_name()
            ),
        ),
        Call::Close => (Keep::Count, format!("sys::close({s})")),
        Call::Fcntl => (
            Keep::Count,
            format!(
                "sys::set_flags({s}, {})",
                if step.nonblock == Some(true) {
                    "libc::O_NONBLOCK"
                } else {
                    "0"
                }
            ),
        ),
        Call::Poll => {
            let ev = match step.events {
                Some(PollEvents::Out) => "libc::POLLOUT",
                _ => "libc::POLLIN",
            };
            let set: Vec<String> = std::iter::once(plan.sock(i))
                .chain(step.also.iter().map(|a| plan.sock_named(i, a)))
                .map(|f| format!("sys::pollfd({}.get(), {ev})", f.to_uppercase()))
                .collect();
            setup.push(format!("let mut fds{n} = [{}];", set.join(", ")));
            (
                Keep::Count,
                format!("sys::poll(&mut fds{n}, {})", step.timeout_ms.unwrap_or(-1)),
            )
        }
        Call::Getsockopt => (Keep::Count, format!("sys::so_error({s}, &mut err)")),
        Call::Dup => unreachable!("validated: a lesson step never names a traced-only call"),
    };
    (setup, keep, call)
}

/// The buffer a receive reads into, as the code panel shows it.
fn buffer(plan: &Plan, i: usize) -> String {
    format!("&mut buf[..{}]", plan.recv_max(i))
}

pub(super) fn statement(plan: &Plan, i: usize) -> Statement {
    let (setup, keep, call) = parts(plan, i);
    let call = call.replace("BUF", &buffer(plan, i));
    Statement {
        setup,
        call: keep.line(&call, true),
    }
}

fn actor_function(plan: &Plan, actor: &str, role: &str) -> Vec<String> {
    let mut body = Vec::new();
    let mut keeps_unsent = Vec::new();
    for (i, step) in plan.lesson.steps.iter().enumerate() {
        if step.actor != actor {
            continue;
        }
        let n = i + 1;
        let (setup, keep, call) = parts(plan, i);
        let on = if step.call == Call::Socket {
            "-1".to_string()
        } else {
            format!("{}.get()", plan.sock(i).to_uppercase())
        };
        body.push(String::new());
        body.push(format!("    // Step {n}."));
        body.extend(narration(step, "    // ", 78));
        let ind = if let Some(times) = step.repeat {
            body.push(format!("    for _ in 0..{times} {{"));
            "        "
        } else {
            "    "
        };
        body.extend(setup.iter().map(|l| format!("{ind}{l}")));
        let made = match step.call {
            Call::Recv | Call::Recvfrom => format!(
                "run_data({n}, {on}, {}, |b| {})",
                buffer(plan, i),
                call.replace("BUF", "b")
            ),
            _ => format!("run({n}, {on}, || {call})"),
        };
        let k = key(&step.actor, &step.sock);
        // `n` is bound only where a later line reads it.
        let reads_n = step.call == Call::Getsockopt
            || (step.call == Call::Recv && step.ntohl)
            || (step.call == Call::Send && plan.unsent.contains(&k))
            || step.until.is_some();
        body.push(format!("{ind}{}", keep.line(&made, reads_n)));
        if step.call == Call::Send && plan.unsent.contains(&k) {
            let field = ident(&step.sock);
            if !keeps_unsent.contains(&field) {
                keeps_unsent.push(field.clone());
            }
            body.push(format!(
                "{ind}unsent.{field} = data{n}[usize::try_from(n).unwrap_or(0)..].to_vec();"
            ));
        }
        if step.call == Call::Recv && step.ntohl {
            body.push(format!("{ind}if n == 4 {{"));
            body.push(format!(
                "{ind}    let bytes = [buf[0], buf[1], buf[2], buf[3]];"
            ));
            body.push(format!(
                "{ind}    say(&format!(\"     ntohl: {{}} (as this machine holds the same bytes: {{}})\", u32::from_be_bytes(bytes), u32::from_ne_bytes(bytes)));"
            ));
            body.push(format!("{ind}}}"));
        }
        if step.call == Call::Getsockopt {
            body.push(format!(
                "{ind}if n == 0 {{ say(&format!(\"     SO_ERROR = {{err}} ({{}})\", if err == 0 {{ \"no error\" }} else {{ errno_name(err) }})); }}"
            ));
        }
        if step.repeat.is_some() {
            if let Some(until) = step.until.as_deref() {
                if until == "ok" {
                    body.push(format!("{ind}if n != -1 {{ break; }}"));
                } else {
                    body.push(format!(
                        "{ind}if n == -1 && last_errno() == libc::{until} {{ break; }}"
                    ));
                }
            }
            if step.rest {
                body.push(format!(
                    "{ind}if unsent.{}.is_empty() {{ break; }} // every byte taken",
                    ident(&step.sock)
                ));
            }
            body.push("    }".into());
        }
        for named in plan.learns(i) {
            let v = var(plan, &named);
            body.push(format!(
                "    {v}_ADDR.set(sys::local_addr({v}.get())); // its address, for the steps that name {named}"
            ));
        }
        body.push(format!("    finish({n});"));
    }
    let text = body.join("\n");
    let mut out = vec![
        format!("/// The {actor}: {role}."),
        format!("fn {}() {{", ident(actor)),
    ];
    if text.contains("&mut buf[") {
        out.push(format!(
            "    let mut buf = vec![0u8; {}];",
            plan.buf_len(actor)
        ));
    }
    if text.contains("&mut err") {
        out.push("    let mut err = 0;".into());
    }
    if !keeps_unsent.is_empty() {
        out.push(
            "    // What a send left for the next: the kernel may take fewer bytes than asked."
                .into(),
        );
        out.push("    #[derive(Default)]".into());
        out.push(format!(
            "    struct Unsent {{ {} }}",
            keeps_unsent
                .iter()
                .map(|f| format!("{f}: Vec<u8>"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push("    let mut unsent = Unsent::default();".into());
    }
    out.extend(body);
    out.push("}".into());
    out
}

/// The helpers every Rust program shares (the turns, printing, and the one
/// module of `unsafe` libc wrappers), kept as Rust source in a file of
/// their own (assets/program/helpers.rs.in: text to this crate, not code,
/// so sockscope's own `unsafe` stays in crates/sys).
const HELPERS: &str = include_str!("../../assets/program/helpers.rs.in");

/// The project's manifest.
pub(super) fn manifest(plan: &Plan) -> String {
    format!(
        "[package]\nname = \"{}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nlibc = \"0.2\"\n\n[workspace]\n",
        ident(&plan.lesson.name).replace('_', "-")
    )
}

/// The whole program.
pub(super) fn program(plan: &Plan) -> String {
    let lesson = plan.lesson;
    let mut out: Vec<String> = header(lesson, Lang::Rust)
        .into_iter()
        .map(|l| format!("//! {l}").trim_end().to_string())
        .collect();
    out.push(String::new());
    out.push("use std::net::{Ipv4Addr, SocketAddrV4};".into());
    out.push("use std::sync::atomic::{AtomicI32, Ordering};".into());
    out.push("use std::sync::{Condvar, Mutex};".into());
    out.push("use std::time::Duration;".into());
    out.push(String::new());
    let names: Vec<String> = lesson
        .actors
        .iter()
        .map(|a| format!("\"{}\"", a.name))
        .collect();
    out.push(format!(
        "const ACTORS: [&str; {}] = [{}];",
        names.len(),
        names.join(", ")
    ));
    out.push(format!("const ALPHABET: &[u8] = b\"{FILL_ALPHABET}\";"));
    out.push(String::new());
    out.push("/// A step: its actor, its call, whether it may wait while later steps".into());
    out.push("/// run (parks), and the actors whose waiting call it lets return (wakes).".into());
    out.push("struct Step {".into());
    out.push("    actor: usize,".into());
    out.push("    call: &'static str,".into());
    out.push("    parks: bool,".into());
    out.push("    wakes: &'static [usize],".into());
    out.push("}".into());
    out.push(String::new());
    out.push(format!("const STEPS: [Step; {}] = [", lesson.steps.len()));
    for s in &lesson.steps {
        let wakes: Vec<String> = s
            .wakes
            .iter()
            .map(|w| plan.actor_index(w).to_string())
            .collect();
        out.push(format!(
            "    Step {{ actor: {}, call: \"{}\", parks: {}, wakes: &[{}] }},",
            plan.actor_index(&s.actor),
            s.call.name(),
            super::may_park(s),
            wakes.join(", ")
        ));
    }
    out.push("];".into());
    out.push(String::new());
    out.push("// The lesson's sockets.".into());
    for k in &plan.sockets {
        out.push(format!("static {}: Fd = Fd::new();", var(plan, k)));
    }
    for k in &plan.named {
        out.push(format!("static {}_ADDR: Addr = Addr::new();", var(plan, k)));
    }
    out.push(String::new());
    out.push(HELPERS.trim_end().to_string());
    out.push(String::new());
    out.push(
        "/// The errno names this program may print, as C's strerrorname_np gives them.".into(),
    );
    out.push("fn errno_name(e: i32) -> &'static str {".into());
    out.push("    match e {".into());
    let mut seen = std::collections::BTreeSet::new();
    for (number, name) in sockscope_core::vocab::errno::NAMES {
        if seen.insert(*number) {
            out.push(format!("        {number} => \"{name}\","));
        }
    }
    out.push("        _ => \"E?\",".into());
    out.push("    }".into());
    out.push("}".into());
    for a in &lesson.actors {
        out.push(String::new());
        out.extend(actor_function(plan, &a.name, &super::one_line(&a.role)));
    }
    out.push(String::new());
    let bodies: Vec<String> = lesson.actors.iter().map(|a| ident(&a.name)).collect();
    out.extend([
        "fn main() {".to_string(),
        "    // Rust's runtime ignores SIGPIPE before main, as sockscope does: a send".into(),
        "    // to a connection the peer has closed fails with EPIPE instead.".into(),
        "    // Each thread named for its actor (ps, top and `sockscope run`'s lanes).".into(),
        format!(
            "    let bodies: [fn(); {}] = [{}];",
            bodies.len(),
            bodies.join(", ")
        ),
        "    let threads: Vec<_> = ACTORS".into(),
        "        .iter()".into(),
        "        .zip(bodies)".into(),
        "        .map(|(name, body)| std::thread::Builder::new().name(name.to_string()).spawn(body).unwrap())".into(),
        "        .collect();".into(),
        "    for step in 1..=STEPS.len() {".into(),
        "        TURNS.lock().unwrap().turn = step;".into(),
        "        CHANGED.notify_all();".into(),
        "        wait_step(step);".into(),
        "    }".into(),
        "    for t in threads {".into(),
        "        t.join().unwrap();".into(),
        "    }".into(),
        "}".into(),
    ]);
    out.join("\n") + "\n"
}
