//! The code panel (`c`): each actor's part of the lesson as source code a
//! student would write, one line per step, in C (the default), Python or
//! Rust (socket2). It is generated from the lesson's own steps, so a
//! teacher's lesson gets it too, and the screen marks the line of the
//! current call and writes this run's results beside the lines that ran.
//!
//! The lines say what the lesson's call does, in each language's usual
//! spelling; the call that really ran, with its real arguments, is the one
//! in the lanes and the narration (strace's spelling).

use sockscope_core::engine::actor::{DEFAULT_BACKLOG, DEFAULT_RECV_MAX};
use sockscope_core::engine::{Call, Proto, preview};
use sockscope_core::lesson::{GetOpt, Lesson, PollEvents, ShutdownHow, SockOpt, Step};

/// A language the panel writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    C,
    Python,
    Rust,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::C, Lang::Python, Lang::Rust];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Lang::C => "c",
            Lang::Python => "python",
            Lang::Rust => "rust",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The next language, for the key that cycles them.
    #[must_use]
    pub fn next(self) -> Lang {
        match self {
            Lang::C => Lang::Python,
            Lang::Python => Lang::Rust,
            Lang::Rust => Lang::C,
        }
    }

    /// The language as the panel's title names it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Lang::C => "C",
            Lang::Python => "Python",
            Lang::Rust => "Rust (socket2)",
        }
    }

    /// How a comment starts.
    #[must_use]
    pub fn comment(self) -> &'static str {
        match self {
            Lang::Python => "#",
            Lang::C | Lang::Rust => "//",
        }
    }
}

/// One line of the program: its text, and the lesson step it makes the
/// call of (`None` for the function's frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeLine {
    pub text: String,
    pub step: Option<usize>,
}

/// `actor`'s part of `lesson`, as a function in `lang`.
#[must_use]
pub fn program(lesson: &Lesson, actor: &str, lang: Lang) -> Vec<CodeLine> {
    let frame = |text: String| CodeLine { text, step: None };
    let mut lines = vec![frame(match lang {
        Lang::C => format!("void *{}(void *arg) {{", ident(actor)),
        Lang::Python => format!("def {}():", ident(actor)),
        Lang::Rust => format!("fn {}() -> io::Result<()> {{", ident(actor)),
    })];
    for (i, step) in lesson.steps.iter().enumerate() {
        if step.actor != actor {
            continue;
        }
        let call = statement(lesson, step, lang);
        let text = match (step.repeat, lang) {
            (Some(n), Lang::C) => format!("    for (int i = 0; i < {n}; i++) {call}"),
            (Some(n), Lang::Python) => format!("    for _ in range({n}): {call}"),
            (Some(n), Lang::Rust) => format!("    for _ in 0..{n} {{ {call} }}"),
            (None, _) => format!("    {call}"),
        };
        lines.push(CodeLine {
            text,
            step: Some(i + 1),
        });
    }
    let end: &[&str] = match lang {
        Lang::C => &["    return NULL;", "}"],
        Lang::Python => &[],
        Lang::Rust => &["    Ok(())", "}"],
    };
    lines.extend(end.iter().map(|t| frame((*t).to_string())));
    lines
}

/// A name usable as a function or variable in all three languages.
fn ident(name: &str) -> String {
    name.replace('-', "_")
}

/// A string literal, escaped as C writes it (the events' own escaping),
/// cut past 24 bytes.
fn literal(data: &str) -> String {
    format!("\"{}\"", preview::escape(data.as_bytes(), 24))
}

/// The address a step names, as the program would have it: a literal, or
/// the variable holding another socket's address.
fn target(spec: &str) -> String {
    if spec.contains('.') || spec.starts_with('[') {
        spec.replace("$port", "PORT")
    } else {
        format!("{}_addr", ident(&spec.replace(':', "_")))
    }
}

/// What every language's line for a step is made of.
#[derive(Clone, Copy)]
struct Parts<'a> {
    /// The socket's variable.
    s: &'a str,
    data: &'a str,
    addr: &'a str,
    to: &'a str,
    udp: bool,
    max: usize,
    backlog: i32,
}

fn statement(lesson: &Lesson, step: &Step, lang: Lang) -> String {
    let s = ident(&step.sock);
    let addr = step.addr.as_deref().map(target).unwrap_or_default();
    let to = step.to.as_deref().map(target).unwrap_or_default();
    let parts = Parts {
        s: &s,
        data: step.data.as_deref().unwrap_or(""),
        addr: &addr,
        to: &to,
        udp: lesson.proto_of(&step.actor, &step.sock) == Some(Proto::Udp),
        // The engine's defaults, so the line says what really ran.
        max: step.max.unwrap_or(DEFAULT_RECV_MAX),
        backlog: step.backlog.unwrap_or(DEFAULT_BACKLOG),
    };
    match lang {
        Lang::C => c(step, parts),
        Lang::Python => python(step, parts),
        Lang::Rust => rust(step, parts),
    }
}

fn c(step: &Step, p: Parts) -> String {
    let Parts {
        s,
        data,
        addr,
        to,
        udp,
        max,
        backlog,
    } = p;
    let len = data.len();
    let flags = recv_flags(step, "MSG_DONTWAIT", "MSG_WAITALL", "0", "|");
    match step.call {
        Call::Socket => format!(
            "int {s} = socket(AF_INET, {}, 0);",
            if udp { "SOCK_DGRAM" } else { "SOCK_STREAM" }
        ),
        Call::Setsockopt => step.opt.map_or_else(String::new, |o| {
            let (level, name, value, _) = option(o);
            format!("setsockopt({s}, {level}, {name}, {value});")
        }),
        Call::Bind => format!("bind({s}, (struct sockaddr *)&addr, sizeof addr);  // {addr}"),
        Call::Listen => format!("listen({s}, {backlog});"),
        Call::Accept => format!(
            "int {} = accept({s}, NULL, NULL);",
            ident(step.new.as_deref().unwrap_or("conn"))
        ),
        Call::Connect => format!("connect({s}, (struct sockaddr *)&{to}, sizeof {to});"),
        Call::Send => match (step.htonl, step.fill, step.rest) {
            (_, _, true) => format!("n = send({s}, buf + sent, len - sent, 0);"),
            (Some(v), _, _) => {
                format!("uint32_t v = htonl({v}); n = send({s}, &v, 4, 0);")
            }
            (_, Some(f), _) => format!("n = send({s}, buf, {f}, 0);"),
            _ => format!("n = send({s}, {}, {len}, 0);", literal(data)),
        },
        Call::Recv => format!("n = recv({s}, buf, {max}, {flags});"),
        Call::Sendto => format!(
            "n = sendto({s}, {}, {len}, 0, (struct sockaddr *)&{to}, sizeof {to});",
            literal(data)
        ),
        Call::Recvfrom => {
            format!("n = recvfrom({s}, buf, {max}, {flags}, (struct sockaddr *)&from, &fromlen);")
        }
        Call::Shutdown => format!("shutdown({s}, {});", shut(step).c_name()),
        Call::Close => format!("close({s});"),
        Call::Fcntl => {
            if step.nonblock == Some(true) {
                format!("fcntl({s}, F_SETFL, O_NONBLOCK);")
            } else {
                format!("fcntl({s}, F_SETFL, 0);")
            }
        }
        Call::Poll => {
            let ev = match step.events {
                Some(PollEvents::Out) => "POLLOUT",
                _ => "POLLIN",
            };
            let set: Vec<String> = std::iter::once(s.to_string())
                .chain(step.also.iter().map(|a| ident(a)))
                .map(|f| format!("{{{f}, {ev}}}"))
                .collect();
            format!(
                "poll((struct pollfd[]){{{}}}, {}, {});",
                set.join(", "),
                set.len(),
                step.timeout_ms.unwrap_or(-1)
            )
        }
        Call::Getsockopt => match step.get {
            Some(GetOpt::Error) => {
                format!("getsockopt({s}, SOL_SOCKET, SO_ERROR, &err, &(socklen_t){{sizeof err}});")
            }
            None => String::new(),
        },
        Call::Dup => String::new(),
    }
}

fn python(step: &Step, p: Parts) -> String {
    let Parts {
        s,
        data,
        addr,
        to,
        udp,
        max,
        backlog,
    } = p;
    let py_addr = |a: &str| match a.rsplit_once(':') {
        Some((host, port)) if a.contains('.') => format!("(\"{host}\", {port})"),
        _ => a.to_string(),
    };
    let flags = recv_flags(step, "socket.MSG_DONTWAIT", "socket.MSG_WAITALL", "", " | ");
    let with_flags = |base: String| {
        if flags.is_empty() {
            base
        } else {
            format!("{base}, {flags}")
        }
    };
    let bytes = format!("b{}", literal(data));
    match step.call {
        Call::Socket => format!(
            "{s} = socket.socket(socket.AF_INET, {})",
            if udp {
                "socket.SOCK_DGRAM"
            } else {
                "socket.SOCK_STREAM"
            }
        ),
        Call::Setsockopt => step.opt.map_or_else(String::new, |o| {
            let (level, name, _, value) = option(o);
            format!("{s}.setsockopt(socket.{level}, socket.{name}, {value})")
        }),
        Call::Bind => format!("{s}.bind({})", py_addr(addr)),
        Call::Listen => format!("{s}.listen({backlog})"),
        Call::Accept => format!(
            "{}, peer = {s}.accept()",
            ident(step.new.as_deref().unwrap_or("conn"))
        ),
        Call::Connect => format!("{s}.connect({})", py_addr(to)),
        Call::Send => match (step.htonl, step.fill, step.rest) {
            (_, _, true) => format!("n = {s}.send(buf[sent:])"),
            (Some(v), _, _) => format!("n = {s}.send(struct.pack(\"!I\", {v}))"),
            (_, Some(f), _) => format!("n = {s}.send(buf[:{f}])"),
            _ => format!("n = {s}.send({bytes})"),
        },
        Call::Recv => with_flags(format!("data = {s}.recv({max}")) + ")",
        Call::Sendto => format!("n = {s}.sendto({bytes}, {})", py_addr(to)),
        Call::Recvfrom => with_flags(format!("data, peer = {s}.recvfrom({max}")) + ")",
        Call::Shutdown => format!("{s}.shutdown(socket.{})", shut(step).c_name()),
        Call::Close => format!("{s}.close()"),
        Call::Fcntl => format!(
            "{s}.setblocking({})",
            if step.nonblock == Some(true) {
                "False"
            } else {
                "True"
            }
        ),
        Call::Poll => {
            let ev = match step.events {
                Some(PollEvents::Out) => "select.POLLOUT",
                _ => "select.POLLIN",
            };
            let regs: Vec<String> = std::iter::once(s.to_string())
                .chain(step.also.iter().map(|a| ident(a)))
                .map(|f| format!("p.register({f}, {ev})"))
                .collect();
            format!(
                "p = select.poll(); {}; ready = p.poll({})",
                regs.join("; "),
                step.timeout_ms
                    .map_or("None".to_string(), |t| t.to_string())
            )
        }
        Call::Getsockopt => format!("err = {s}.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)"),
        Call::Dup => String::new(),
    }
}

fn rust(step: &Step, p: Parts) -> String {
    let Parts {
        s,
        data,
        addr,
        to,
        udp,
        max,
        backlog,
    } = p;
    let rs_addr = |a: &str| {
        if a.contains('.') {
            format!("&\"{a}\".parse::<SocketAddr>().unwrap().into()")
        } else {
            format!("&{a}.into()")
        }
    };
    let bytes = format!("b{}", literal(data));
    match step.call {
        Call::Socket => format!(
            "let {s} = Socket::new(Domain::IPV4, Type::{}, None)?;",
            if udp { "DGRAM" } else { "STREAM" }
        ),
        Call::Setsockopt => match step.opt {
            Some(SockOpt::Linger { seconds }) => {
                format!("{s}.set_linger(Some(Duration::from_secs({seconds})))?;")
            }
            Some(SockOpt::Rcvbuf { bytes }) => format!("{s}.set_recv_buffer_size({bytes})?;"),
            Some(SockOpt::Sndbuf { bytes }) => format!("{s}.set_send_buffer_size({bytes})?;"),
            Some(SockOpt::Reuseaddr { on }) => format!("{s}.set_reuse_address({on})?;"),
            Some(SockOpt::Rcvtimeo { ms }) => {
                format!("{s}.set_read_timeout(Some(Duration::from_millis({ms})))?;")
            }
            Some(SockOpt::Syncnt { count }) => format!(
                "setsockopt({s}.as_raw_fd(), IPPROTO_TCP, TCP_SYNCNT, {count}); // no socket2 method"
            ),
            None => String::new(),
        },
        Call::Bind => format!("{s}.bind({})?;", rs_addr(addr)),
        Call::Listen => format!("{s}.listen({backlog})?;"),
        Call::Accept => format!(
            "let ({}, peer) = {s}.accept()?;",
            ident(step.new.as_deref().unwrap_or("conn"))
        ),
        Call::Connect => format!("{s}.connect({})?;", rs_addr(to)),
        Call::Send => match (step.htonl, step.fill, step.rest) {
            (_, _, true) => format!("let n = {s}.send(&buf[sent..])?;"),
            (Some(v), _, _) => format!("let n = {s}.send(&{v}u32.to_be_bytes())?;"),
            (_, Some(f), _) => format!("let n = {s}.send(&buf[..{f}])?;"),
            _ => format!("let n = {s}.send({bytes})?;"),
        },
        Call::Recv => match recv_flags(step, "MSG_DONTWAIT", "MSG_WAITALL", "", " | ") {
            f if f.is_empty() => format!("let n = {s}.recv(&mut buf[..{max}])?;"),
            f => format!("let n = {s}.recv_with_flags(&mut buf[..{max}], {f})?;"),
        },
        Call::Sendto => format!("let n = {s}.send_to({bytes}, {})?;", rs_addr(to)),
        Call::Recvfrom => format!("let (n, peer) = {s}.recv_from(&mut buf[..{max}])?;"),
        Call::Shutdown => format!(
            "{s}.shutdown(Shutdown::{})?;",
            match shut(step) {
                ShutdownHow::Read => "Read",
                ShutdownHow::Write => "Write",
                ShutdownHow::Both => "Both",
            }
        ),
        Call::Close => format!("drop({s}); // close"),
        Call::Fcntl => format!("{s}.set_nonblocking({})?;", step.nonblock == Some(true)),
        Call::Poll => {
            let ev = match step.events {
                Some(PollEvents::Out) => "PollFlags::POLLOUT",
                _ => "PollFlags::POLLIN",
            };
            let set: Vec<String> = std::iter::once(s.to_string())
                .chain(step.also.iter().map(|a| ident(a)))
                .map(|f| format!("PollFd::new({f}.as_fd(), {ev})"))
                .collect();
            format!(
                "let ready = poll(&mut [{}], {})?; // nix",
                set.join(", "),
                step.timeout_ms.unwrap_or(-1)
            )
        }
        Call::Getsockopt => format!("let err = {s}.take_error()?;"),
        Call::Dup => String::new(),
    }
}

/// A socket option as C and Python pass it: level, name, and the value
/// (with its length, in C).
fn option(opt: SockOpt) -> (&'static str, &'static str, String, String) {
    let int = |n: String| (format!("&(int){{{n}}}, sizeof(int)"), n);
    let (level, name, (c, py)) = match opt {
        SockOpt::Linger { seconds } => (
            "SOL_SOCKET",
            "SO_LINGER",
            (
                format!("&(struct linger){{1, {seconds}}}, sizeof(struct linger)"),
                format!("struct.pack(\"ii\", 1, {seconds})"),
            ),
        ),
        SockOpt::Rcvbuf { bytes } => ("SOL_SOCKET", "SO_RCVBUF", int(bytes.to_string())),
        SockOpt::Sndbuf { bytes } => ("SOL_SOCKET", "SO_SNDBUF", int(bytes.to_string())),
        SockOpt::Reuseaddr { on } => ("SOL_SOCKET", "SO_REUSEADDR", int(i32::from(on).to_string())),
        SockOpt::Rcvtimeo { ms } => {
            let (sec, usec) = (ms / 1000, (ms % 1000) * 1000);
            (
                "SOL_SOCKET",
                "SO_RCVTIMEO",
                (
                    format!("&(struct timeval){{{sec}, {usec}}}, sizeof(struct timeval)"),
                    format!("struct.pack(\"ll\", {sec}, {usec})"),
                ),
            )
        }
        SockOpt::Syncnt { count } => ("IPPROTO_TCP", "TCP_SYNCNT", int(count.to_string())),
    };
    (level, name, c, py)
}

fn shut(step: &Step) -> ShutdownHow {
    step.how.unwrap_or(ShutdownHow::Both)
}

/// recv's flags in a language's spelling; `none` when neither is set.
fn recv_flags(step: &Step, dontwait: &str, waitall: &str, none: &str, join: &str) -> String {
    let set: Vec<&str> = [(step.dontwait, dontwait), (step.waitall, waitall)]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if set.is_empty() {
        none.to_string()
    } else {
        set.join(join)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_every_built_in_lesson_is_a_line_of_its_actors_program() {
        for l in sockscope_core::lesson::builtins() {
            for lang in Lang::ALL {
                let mut lines = 0;
                for a in &l.actors {
                    let p = program(&l, &a.name, lang);
                    for line in p.iter().filter(|c| c.step.is_some()) {
                        assert!(
                            !line.text.trim().is_empty(),
                            "{} {lang:?}: {line:?}",
                            l.name
                        );
                        lines += 1;
                    }
                }
                assert_eq!(lines, l.steps.len(), "{} {lang:?}", l.name);
            }
        }
    }

    #[test]
    fn the_tcp_servers_program_reads_as_c_python_and_rust() {
        let l = sockscope_core::lesson::builtin("tcp").unwrap();
        let c = program(&l, "server", Lang::C);
        assert_eq!(c[0].text, "void *server(void *arg) {");
        assert_eq!(
            c[1].text,
            "    int listener = socket(AF_INET, SOCK_STREAM, 0);"
        );
        assert!(
            c.iter().any(|l| l.text == "    listen(listener, 8);"),
            "{c:#?}"
        );
        let py = program(&l, "server", Lang::Python);
        assert_eq!(py[0].text, "def server():");
        assert!(
            py.iter()
                .any(|l| l.text == "    conn, peer = listener.accept()")
        );
        let rs = program(&l, "server", Lang::Rust);
        assert!(
            rs.iter()
                .any(|l| l.text == "    let (conn, peer) = listener.accept()?;")
        );
        assert_eq!(rs.last().unwrap().text, "}");
    }
}
