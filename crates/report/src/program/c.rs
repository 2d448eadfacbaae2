//! A lesson as one C file: POSIX sockets, one pthread per actor, and the
//! turn-taking of this module's parent. Compiles with `cc -Wall -Werror
//! -pthread` (glibc 2.32 or later, for `strerrorname_np`).

use super::OptValue;
use super::{FILL_ALPHABET, Lang, Plan, Statement, header, host_port, ident, narration, payload};
use sockscope_core::engine::Call;
use sockscope_core::lesson::{PollEvents, ShutdownHow};
use std::fmt::Write as _;

/// A C string literal holding exactly `bytes`. Octal escapes, not `\x`:
/// C's hex escape swallows every hex digit after it (`"\x41B"` is one
/// byte), an octal one stops at three. `?` is escaped so no `??x` can read
/// as a trigraph.
fn literal(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

/// The `struct sockaddr_in` a step's address names: a variable read with
/// getsockname, or one the step's setup line fills from a literal.
fn address(plan: &Plan, i: usize, spec: &str, setup: &mut Vec<String>) -> String {
    let Some((host, port)) = host_port(spec) else {
        return format!("{}_addr", plan.var(spec));
    };
    let var = format!("at{}", i + 1);
    setup.push(format!(
        "struct sockaddr_in {var} = ipv4({}, {port});",
        literal(host.as_bytes())
    ));
    var
}

/// A socket option's `optval, optlen` pair.
fn option_value(value: &OptValue) -> String {
    match value {
        OptValue::Int(n) => format!("&(int){{{n}}}, sizeof(int)"),
        OptValue::Linger(seconds) => {
            format!("&(struct linger){{1, {seconds}}}, sizeof(struct linger)")
        }
        OptValue::Timeval { sec, usec } => {
            format!("&(struct timeval){{{sec}, {usec}}}, sizeof(struct timeval)")
        }
    }
}

/// recv's flags as C passes them.
fn recv_flags(plan: &Plan, i: usize) -> String {
    let set = super::recv_flags(plan.step(i));
    if set.is_empty() {
        "0".into()
    } else {
        set.join("|")
    }
}

/// Step `i`'s statement: what the program writes, and the code panel shows.
pub(super) fn statement(plan: &Plan, i: usize) -> Statement {
    let step = plan.step(i);
    let s = plan.sock(i);
    let n = i + 1;
    let mut setup = Vec::new();
    let call = match step.call {
        Call::Socket => format!(
            "{s} = socket(AF_INET, {}, 0);",
            if plan.udp(i) {
                "SOCK_DGRAM"
            } else {
                "SOCK_STREAM"
            }
        ),
        Call::Setsockopt => {
            let (level, name, value) =
                super::option(step.opt.expect("validated: setsockopt has opt"));
            format!(
                "n = setsockopt({s}, {level}, {name}, {});",
                option_value(&value)
            )
        }
        Call::Bind => {
            let a = address(plan, i, step.addr.as_deref().unwrap_or(""), &mut setup);
            format!("n = bind({s}, (struct sockaddr *)&{a}, sizeof {a});")
        }
        Call::Listen => format!("n = listen({s}, {});", plan.backlog(i)),
        Call::Accept => format!("{} = accept({s}, NULL, NULL);", plan.new_sock(i)),
        Call::Connect => {
            let a = address(plan, i, step.to.as_deref().unwrap_or(""), &mut setup);
            format!("n = connect({s}, (struct sockaddr *)&{a}, sizeof {a});")
        }
        Call::Send => match (step.htonl, step.fill) {
            _ if step.rest => format!("n = send({s}, {s}_unsent.at, {s}_unsent.len, 0);"),
            (Some(v), _) => {
                setup.push(format!("uint32_t be{n} = htonl({v});"));
                format!("n = send({s}, &be{n}, 4, 0);")
            }
            (None, Some(len)) => format!("n = send({s}, fill_buf, {len}, 0);"),
            (None, None) => {
                let data = payload(step);
                format!("n = send({s}, {}, {}, 0);", literal(data), data.len())
            }
        },
        Call::Recv => format!(
            "n = recv({s}, buf, {}, {});",
            plan.recv_max(i),
            recv_flags(plan, i)
        ),
        Call::Sendto => {
            let a = address(plan, i, step.to.as_deref().unwrap_or(""), &mut setup);
            let data = payload(step);
            format!(
                "n = sendto({s}, {}, {}, 0, (struct sockaddr *)&{a}, sizeof {a});",
                literal(data),
                data.len()
            )
        }
        Call::Recvfrom => {
            setup.push("fromlen = sizeof from;".into());
            format!(
                "n = recvfrom({s}, buf, {}, {}, (struct sockaddr *)&from, &fromlen);",
                plan.recv_max(i),
                recv_flags(plan, i)
            )
        }
        Call::Shutdown => format!(
            "n = shutdown({s}, {});",
            step.how.unwrap_or(ShutdownHow::Both).c_name()
        ),
        Call::Close => format!("n = close({s});"),
        Call::Fcntl => format!(
            "n = fcntl({s}, F_SETFL, {});",
            if step.nonblock == Some(true) {
                "O_NONBLOCK"
            } else {
                "0"
            }
        ),
        Call::Poll => {
            let ev = match step.events {
                Some(PollEvents::Out) => "POLLOUT",
                _ => "POLLIN",
            };
            let set: Vec<String> = std::iter::once(s.clone())
                .chain(step.also.iter().map(|a| plan.sock_named(i, a)))
                .map(|f| format!("{{{f}, {ev}, 0}}"))
                .collect();
            setup.push(format!("struct pollfd fds{n}[] = {{{}}};", set.join(", ")));
            format!(
                "n = poll(fds{n}, {}, {});",
                set.len(),
                step.timeout_ms.unwrap_or(-1)
            )
        }
        Call::Getsockopt => {
            setup.push(format!(
                "int err{n} = 0; socklen_t errlen{n} = sizeof err{n};"
            ));
            format!("n = getsockopt({s}, SOL_SOCKET, SO_ERROR, &err{n}, &errlen{n});")
        }
        Call::Dup => unreachable!("validated: a lesson step never names a traced-only call"),
    };
    Statement { setup, call }
}

/// What a step does after its call: print it (with the bytes a receive
/// read), keep a send's unsent bytes, say what getsockopt and ntohl read.
fn report(plan: &Plan, i: usize) -> Vec<String> {
    let step = plan.step(i);
    let s = plan.sock(i);
    let n = i + 1;
    let mut out = match step.call {
        Call::Socket => vec![format!("said({n}, -1, {s});")],
        Call::Accept => vec![format!("said({n}, {s}, {});", plan.new_sock(i))],
        Call::Recv | Call::Recvfrom => vec![format!("said_data({n}, {s}, n, buf);")],
        _ => vec![format!("said({n}, {s}, n);")],
    };
    if step.call == Call::Send && plan.unsent.contains(&super::key(&step.actor, &step.sock)) {
        let (at, len) = match (step.htonl, step.fill) {
            _ if step.rest => (format!("{s}_unsent.at"), format!("{s}_unsent.len")),
            (Some(_), _) => (format!("(const char *)&be{n}"), "4".into()),
            (None, Some(len)) => ("fill_buf".into(), len.to_string()),
            (None, None) => (literal(payload(step)), payload(step).len().to_string()),
        };
        out.push(format!("keep(&{s}_unsent, {at}, {len}, n);"));
    }
    if step.call == Call::Getsockopt {
        out.push(format!("if (n == 0) printf(\"     SO_ERROR = %d (%s)\\n\", err{n}, err{n} ? strerrorname_np(err{n}) : \"no error\");"));
    }
    if step.call == Call::Recv && step.ntohl {
        out.push("if (n == 4) {".into());
        out.push("    uint32_t v;".into());
        out.push("    memcpy(&v, buf, 4);".into());
        out.push("    printf(\"     ntohl: %u (as this machine holds the same bytes: %u)\\n\", ntohl(v), v);".into());
        out.push("}".into());
    }
    out
}

/// The repeat loop's exits after each call.
fn exits(plan: &Plan, i: usize) -> Vec<String> {
    let step = plan.step(i);
    let mut out = Vec::new();
    if let Some(until) = step.until.as_deref() {
        if until == "ok" {
            out.push("if (n != -1) break;".into());
        } else {
            out.push(format!("if (n == -1 && errno == {until}) break;"));
        }
    }
    if step.rest {
        out.push(format!(
            "if ({}_unsent.len == 0) break; // every byte taken",
            plan.sock(i)
        ));
    }
    out
}

fn actor_function(plan: &Plan, actor: &str, role: &str) -> Vec<String> {
    let mut body: Vec<String> = Vec::new();
    for (i, step) in plan.lesson.steps.iter().enumerate() {
        if step.actor != actor {
            continue;
        }
        let n = i + 1;
        body.push(String::new());
        body.push(format!("    // Step {n}."));
        body.extend(narration(step, "    // ", 78));
        let st = statement(plan, i);
        let (ind, open) = match step.repeat {
            Some(times) => (
                "        ",
                Some(format!("    for (int i = 0; i < {times}; i++) {{")),
            ),
            None => ("    ", None),
        };
        body.extend(st.setup.iter().map(|l| format!("    {l}")));
        body.extend(open);
        body.push(format!("{ind}begin({n});"));
        body.push(format!("{ind}{}", st.call));
        body.extend(report(plan, i).into_iter().map(|l| format!("{ind}{l}")));
        if step.repeat.is_some() {
            body.extend(exits(plan, i).into_iter().map(|l| format!("{ind}{l}")));
            body.push("    }".into());
        }
        for k in plan.learns(i) {
            let v = plan.var(&k);
            body.push(format!(
                "    getsockname({v}, (struct sockaddr *)&{v}_addr, &(socklen_t){{sizeof {v}_addr}}); // its address, for the steps that name {k}"
            ));
        }
        body.push(format!("    finish({n});"));
    }
    let text = body.join("\n");
    let mut out = vec![
        format!("// The {actor}: {role}."),
        format!("static void *{}(void *arg) {{", ident(actor)),
        "    (void)arg;".into(),
        // The thread's name in ps, top and `sockscope run`'s lanes.
        format!(
            "    pthread_setname_np(pthread_self(), {});",
            literal(actor.as_bytes().get(..15).unwrap_or(actor.as_bytes()))
        ),
    ];
    if text.contains(" n = ") {
        out.push("    long n;".into());
    }
    let receives = plan
        .lesson
        .steps
        .iter()
        .any(|s| s.actor == actor && matches!(s.call, Call::Recv | Call::Recvfrom));
    if receives {
        out.push(format!("    static char buf[{}];", plan.buf_len(actor)));
    }
    if text.contains("recvfrom(") {
        out.push("    struct sockaddr_in from;".into());
        out.push("    socklen_t fromlen;".into());
    }
    out.extend(body);
    out.push("    return NULL;".into());
    out.push("}".into());
    out
}

/// The turn-taking and printing helpers every C program shares, kept as C in
/// a file of their own (assets/program/) so they read as the program has them.
const HELPERS: &str = include_str!("../../assets/program/helpers.c");

const UNSENT: &str = include_str!("../../assets/program/unsent.c");

/// The whole program.
pub(super) fn program(plan: &Plan) -> String {
    let lesson = plan.lesson;
    let mut out: Vec<String> = header(lesson, Lang::C)
        .into_iter()
        .map(|l| format!("// {l}").trim_end().to_string())
        .collect();
    out.push(String::new());
    out.extend(
        [
            "#define _GNU_SOURCE",
            "#include <arpa/inet.h>",
            "#include <errno.h>",
            "#include <fcntl.h>",
            "#include <netinet/in.h>",
            "#include <netinet/tcp.h>",
            "#include <poll.h>",
            "#include <pthread.h>",
            "#include <signal.h>",
            "#include <stdint.h>",
            "#include <stdio.h>",
            "#include <string.h>",
            "#include <sys/socket.h>",
            "#include <sys/time.h>",
            "#include <time.h>",
            "#include <unistd.h>",
            "",
        ]
        .map(String::from),
    );
    let actors = &lesson.actors;
    out.push(format!(
        "enum {{ ACTORS = {}, STEPS = {} }};",
        actors.len(),
        lesson.steps.len()
    ));
    let names: Vec<String> = actors.iter().map(|a| literal(a.name.as_bytes())).collect();
    out.push(format!(
        "static const char *const ACTOR[ACTORS] = {{{}}};",
        names.join(", ")
    ));
    out.push(String::new());
    out.push("// Each step: its actor, its call, whether it may wait while later steps".into());
    out.push("// run (parks), and the actors whose waiting call it lets return (wakes).".into());
    out.push("struct step {".into());
    out.push("    int actor;".into());
    out.push("    const char *call;".into());
    out.push("    int parks;".into());
    out.push("    unsigned wakes;".into());
    out.push("};".into());
    out.push("static const struct step STEP[STEPS + 1] = {".into());
    for (i, s) in lesson.steps.iter().enumerate() {
        let wakes: Vec<String> = s
            .wakes
            .iter()
            .map(|w| format!("1u << {}", plan.actor_index(w)))
            .collect();
        out.push(format!(
            "    [{}] = {{{}, {}, {}, {}}},",
            i + 1,
            plan.actor_index(&s.actor),
            literal(s.call.name().as_bytes()),
            i32::from(super::may_park(s)),
            if wakes.is_empty() {
                "0".into()
            } else {
                wakes.join(" | ")
            }
        ));
    }
    out.push("};".into());
    out.push(String::new());
    out.push("// The lesson's sockets: threads share them, as they share the fd table.".into());
    for k in &plan.sockets {
        out.push(format!("static int {} = -1;", plan.var(k)));
    }
    if !plan.named.is_empty() {
        out.push("// The addresses steps name, read with getsockname.".into());
        for k in &plan.named {
            out.push(format!("static struct sockaddr_in {}_addr;", plan.var(k)));
        }
    }
    if plan.fill_max > 0 {
        out.push(format!(
            "// `fill` payloads: the alphabet over and over.\nstatic char fill_buf[{}];",
            plan.fill_max
        ));
    }
    out.push(String::new());
    out.push(HELPERS.trim_end().to_string());
    if !plan.unsent.is_empty() {
        out.push(UNSENT.trim_end().to_string());
        for k in &plan.unsent {
            out.push(format!("static struct unsent {}_unsent;", plan.var(k)));
        }
    }
    for a in actors {
        out.push(String::new());
        out.extend(actor_function(plan, &a.name, &super::one_line(&a.role)));
    }
    out.push(String::new());
    out.push("int main(void) {".into());
    out.push("    // As in sockscope: a send to a connection the peer has closed fails".into());
    out.push("    // with EPIPE, instead of SIGPIPE ending the program.".into());
    out.push("    signal(SIGPIPE, SIG_IGN);".into());
    out.push("    setvbuf(stdout, NULL, _IOLBF, 0);".into());
    if plan.fill_max > 0 {
        out.push(format!(
            "    for (size_t i = 0; i < sizeof fill_buf; i++)\n        fill_buf[i] = {}[i % {}];",
            literal(FILL_ALPHABET.as_bytes()),
            FILL_ALPHABET.len()
        ));
    }
    let bodies: Vec<String> = actors.iter().map(|a| ident(&a.name)).collect();
    out.push(format!(
        "    void *(*const body[ACTORS])(void *) = {{{}}};",
        bodies.join(", ")
    ));
    out.push("    pthread_t thread[ACTORS];".into());
    out.push("    for (int a = 0; a < ACTORS; a++)".into());
    out.push("        pthread_create(&thread[a], NULL, body[a], NULL);".into());
    out.push("    for (int step = 1; step <= STEPS; step++) {".into());
    out.push("        pthread_mutex_lock(&lock);".into());
    out.push("        turn = step;".into());
    out.push("        pthread_cond_broadcast(&changed);".into());
    out.push("        pthread_mutex_unlock(&lock);".into());
    out.push("        wait_step(step);".into());
    out.push("    }".into());
    out.push("    for (int a = 0; a < ACTORS; a++)".into());
    out.push("        pthread_join(thread[a], NULL);".into());
    out.push("    return 0;".into());
    out.push("}".into());
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_exact_and_cannot_run_together() {
        assert_eq!(literal(b"hi\n"), "\"hi\\n\"");
        // `\x41B` would be one byte in C; octal stops at three digits.
        assert_eq!(literal(&[0, b'1']), "\"\\0001\"");
        assert_eq!(literal(b"??="), "\"\\?\\?=\"");
        assert_eq!(literal(&[0xe2, 0x80, 0xa6]), "\"\\342\\200\\246\"");
    }
}
