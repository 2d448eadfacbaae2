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

fn option(opt: SockOpt) -> String {
    match opt {
        SockOpt::Linger { seconds } => format!(
            "libc::SOL_SOCKET, libc::SO_LINGER, libc::linger {{ l_onoff: 1, l_linger: {seconds} }}"
        ),
        SockOpt::Rcvbuf { bytes } => format!("libc::SOL_SOCKET, libc::SO_RCVBUF, {bytes}i32"),
        SockOpt::Sndbuf { bytes } => format!("libc::SOL_SOCKET, libc::SO_SNDBUF, {bytes}i32"),
        SockOpt::Reuseaddr { on } => {
            format!("libc::SOL_SOCKET, libc::SO_REUSEADDR, {}i32", i32::from(on))
        }
        SockOpt::Rcvtimeo { ms } => format!(
            "libc::SOL_SOCKET, libc::SO_RCVTIMEO, libc::timeval {{ tv_sec: {}, tv_usec: {} }}",
            ms / 1000,
            (ms % 1000) * 1000
        ),
        SockOpt::Syncnt { count } => format!("libc::IPPROTO_TCP, libc::TCP_SYNCNT, {count}i32"),
    }
}

fn recv_flags(plan: &Plan, i: usize) -> String {
    let s = plan.step(i);
    let set: Vec<&str> = [
        (s.dontwait, "libc::MSG_DONTWAIT"),
        (s.waitall, "libc::MSG_WAITALL"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
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
    let s = format!("{}.get()", var(plan, &key(&step.actor, &step.sock)));
    let n = i + 1;
    let mut setup = Vec::new();
    let (keep, call) = match step.call {
        Call::Socket => (
            Keep::Socket(var(plan, &key(&step.actor, &step.sock))),
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
        Call::Accept => {
            let new = step.new.as_deref().unwrap_or("conn");
            (
                Keep::Socket(var(plan, &key(step.new_owner(), new))),
                format!("sys::accept({s})"),
            )
        }
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
            format!("{}.get()", var(plan, &key(&step.actor, &step.sock)))
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

const HELPERS: &str = r#"// ---- Taking turns ----------------------------------------------------------

/// A socket's fd, shared by the threads as they share the fd table.
struct Fd(AtomicI32);

impl Fd {
    const fn new() -> Fd {
        Fd(AtomicI32::new(-1))
    }
    fn get(&self) -> i32 {
        self.0.load(Ordering::SeqCst)
    }
    fn set(&self, fd: i64) {
        self.0.store(i32::try_from(fd).unwrap_or(-1), Ordering::SeqCst);
    }
}

/// An address a step names, read with getsockname.
struct Addr(Mutex<Option<SocketAddrV4>>);

#[allow(dead_code)]
impl Addr {
    const fn new() -> Addr {
        Addr(Mutex::new(None))
    }
    fn get(&self) -> SocketAddrV4 {
        self.0.lock().unwrap().unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    }
    fn set(&self, a: Option<SocketAddrV4>) {
        *self.0.lock().unwrap() = a;
    }
}

/// Whose turn it is, and what each thread is doing.
struct Turns {
    /// The step whose call may start now.
    turn: usize,
    /// The step each actor's thread is making a call for, or 0.
    in_call: [usize; ACTORS.len()],
    /// Each actor's thread, for /proc/self/task/TID.
    tid: [i32; ACTORS.len()],
    /// Every call of step N has returned.
    done: [bool; STEPS.len() + 1],
}

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    turn: 0,
    in_call: [0; ACTORS.len()],
    tid: [0; ACTORS.len()],
    done: [false; STEPS.len() + 1],
});
static CHANGED: Condvar = Condvar::new();

thread_local! {
    /// This thread's last errno (0: the call worked).
    static LAST_ERRNO: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

#[allow(dead_code)]
fn last_errno() -> i32 {
    LAST_ERRNO.with(std::cell::Cell::get)
}

/// Wait for step's turn, make the call (on socket `fd`), print what it
/// returned, and return that: -1 if it failed, with `last_errno()` saying why.
fn run(step: usize, fd: i32, call: impl FnOnce() -> i64) -> i64 {
    let actor = STEPS[step - 1].actor;
    {
        let mut t = CHANGED.wait_while(TURNS.lock().unwrap(), |t| t.turn != step).unwrap();
        t.in_call[actor] = step;
        t.tid[actor] = sys::tid();
    }
    let ret = call();
    // Read errno at once: printing may change it.
    let err = if ret == -1 { std::io::Error::last_os_error().raw_os_error().unwrap_or(0) } else { 0 };
    LAST_ERRNO.with(|e| e.set(err));
    TURNS.lock().unwrap().in_call[actor] = 0;
    CHANGED.notify_all();
    let fd = if fd >= 0 { fd.to_string() } else { String::new() };
    let head = format!("{step:3}  {:<8} {}({fd})", ACTORS[actor], STEPS[step - 1].call);
    if ret == -1 {
        say(&format!("{head} = -1 {} ({})", errno_name(err), std::io::Error::from_raw_os_error(err)));
    } else {
        say(&format!("{head} = {ret}"));
    }
    ret
}

/// One line on stdout, whole. A stdout that went away (`| head`) ends the
/// printing, not the lesson: println! would panic a thread mid-lesson.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

#[allow(dead_code)]
/// A receive into `buf`: `run`, then the bytes it read (escaped, the first 40).
fn run_data(step: usize, fd: i32, buf: &mut [u8], call: impl FnOnce(&mut [u8]) -> i64) -> i64 {
    let n = run(step, fd, || call(&mut *buf));
    if let Ok(len) = usize::try_from(n) && len > 0 {
        let shown: String = buf[..len.min(40)].escape_ascii().to_string();
        say(&format!("     \"{shown}\"{}", if len > 40 { "..." } else { "" }));
    }
    n
}

/// Every call of step has returned.
fn finish(step: usize) {
    TURNS.lock().unwrap().done[step] = true;
    CHANGED.notify_all();
}

/// Has the kernel got thread `t` asleep inside a system call? Its state in
/// /proc/self/task/TID/stat (the field after the name in parentheses) is S,
/// and /proc/self/task/TID/syscall names a call instead of "running".
fn asleep(t: i32) -> bool {
    let read = |file: &str| std::fs::read_to_string(format!("/proc/self/task/{t}/{file}")).unwrap_or_default();
    let stat = read("stat");
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('S'));
    let call = read("syscall");
    state == Some(true) && !call.is_empty() && !call.starts_with("running")
}

/// The conductor's wait after giving `step` its turn: until its calls have
/// returned or, for a call the lesson lets wait while later steps run, the
/// kernel has its thread asleep in it; then until every actor it wakes has
/// had its waiting call return.
fn wait_step(step: usize) {
    let s = &STEPS[step - 1];
    loop {
        let (finished, calling, t) = {
            let t = TURNS.lock().unwrap();
            (t.done[step], t.in_call[s.actor] == step, t.tid[s.actor])
        };
        if finished {
            break;
        }
        if s.parks && calling && asleep(t) {
            say(&format!("{step:3}  {:<8} {} ... waiting: the kernel has the thread asleep in the call", ACTORS[s.actor], s.call));
            break;
        }
        std::thread::sleep(Duration::from_millis(1)); // look again in 1 ms
    }
    for &woken in s.wakes {
        drop(CHANGED.wait_while(TURNS.lock().unwrap(), |t| t.in_call[woken] != 0).unwrap());
    }
}

/// A `fill` payload: the alphabet over and over.
#[allow(dead_code)]
fn fill(n: usize) -> Vec<u8> {
    ALPHABET.iter().copied().cycle().take(n).collect()
}

mod sys {
    //! The C library's socket calls, made exactly as the C program makes
    //! them. Each returns what the C function returns (-1 on failure, with
    //! errno set); nothing here retries, adds a flag or hides an error.
    #![allow(dead_code)]

    use std::net::{Ipv4Addr, SocketAddrV4};

    fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
        libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: a.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(*a.ip()).to_be() },
            sin_zero: [0; 8],
        }
    }

    const SOCKADDR_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

    pub fn socket(ty: i32) -> i64 {
        // SAFETY: no pointers; the kernel checks the arguments.
        i64::from(unsafe { libc::socket(libc::AF_INET, ty, 0) })
    }

    pub fn setsockopt<T>(fd: i32, level: i32, name: i32, value: T) -> i64 {
        // SAFETY: `value` lives across the call and the length is its size.
        i64::from(unsafe {
            libc::setsockopt(fd, level, name, std::ptr::from_ref(&value).cast(), std::mem::size_of::<T>() as libc::socklen_t)
        })
    }

    pub fn bind(fd: i32, a: SocketAddrV4) -> i64 {
        let sa = sockaddr(a);
        // SAFETY: `sa` is a whole sockaddr_in and the length says so.
        i64::from(unsafe { libc::bind(fd, std::ptr::from_ref(&sa).cast(), SOCKADDR_LEN) })
    }

    pub fn listen(fd: i32, backlog: i32) -> i64 {
        // SAFETY: no pointers.
        i64::from(unsafe { libc::listen(fd, backlog) })
    }

    pub fn accept(fd: i32) -> i64 {
        // SAFETY: null address and length: the peer's address is not asked for.
        i64::from(unsafe { libc::accept(fd, std::ptr::null_mut(), std::ptr::null_mut()) })
    }

    pub fn connect(fd: i32, a: SocketAddrV4) -> i64 {
        let sa = sockaddr(a);
        // SAFETY: as bind.
        i64::from(unsafe { libc::connect(fd, std::ptr::from_ref(&sa).cast(), SOCKADDR_LEN) })
    }

    pub fn send(fd: i32, data: &[u8], flags: i32) -> i64 {
        // SAFETY: the kernel reads at most data.len() bytes of `data`.
        unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), flags) as i64 }
    }

    pub fn recv(fd: i32, buf: &mut [u8], flags: i32) -> i64 {
        // SAFETY: the kernel writes at most buf.len() bytes into `buf`.
        unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) as i64 }
    }

    pub fn sendto(fd: i32, data: &[u8], flags: i32, a: SocketAddrV4) -> i64 {
        let sa = sockaddr(a);
        // SAFETY: as send and bind.
        unsafe { libc::sendto(fd, data.as_ptr().cast(), data.len(), flags, std::ptr::from_ref(&sa).cast(), SOCKADDR_LEN) as i64 }
    }

    pub fn recvfrom(fd: i32, buf: &mut [u8], flags: i32) -> i64 {
        // SAFETY: as recv; `from` has room for an IPv4 address and `len` says so.
        let mut from = sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let mut len = SOCKADDR_LEN;
        unsafe { libc::recvfrom(fd, buf.as_mut_ptr().cast(), buf.len(), flags, std::ptr::from_mut(&mut from).cast(), &mut len) as i64 }
    }

    pub fn shutdown(fd: i32, how: i32) -> i64 {
        // SAFETY: no pointers.
        i64::from(unsafe { libc::shutdown(fd, how) })
    }

    pub fn close(fd: i32) -> i64 {
        // SAFETY: the fd is the lesson's, and no one uses it after its close step.
        i64::from(unsafe { libc::close(fd) })
    }

    pub fn set_flags(fd: i32, flags: i32) -> i64 {
        // SAFETY: F_SETFL takes an int.
        i64::from(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) })
    }

    pub fn pollfd(fd: i32, events: i16) -> libc::pollfd {
        libc::pollfd { fd, events, revents: 0 }
    }

    pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> i64 {
        // SAFETY: the kernel writes `revents` of fds.len() entries.
        i64::from(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) })
    }

    pub fn so_error(fd: i32, err: &mut i32) -> i64 {
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: `err` is an int and `len` its size.
        i64::from(unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, std::ptr::from_mut(err).cast(), &mut len) })
    }

    pub fn local_addr(fd: i32) -> Option<SocketAddrV4> {
        let mut sa = sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let mut len = SOCKADDR_LEN;
        // SAFETY: `sa` has room for an IPv4 address and `len` says so.
        let ret = unsafe { libc::getsockname(fd, std::ptr::from_mut(&mut sa).cast(), &mut len) };
        (ret == 0).then(|| SocketAddrV4::new(Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)), u16::from_be(sa.sin_port)))
    }

    pub fn tid() -> i32 {
        // SAFETY: gettid takes nothing and cannot fail.
        unsafe { libc::gettid() }
    }
}"#;

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
    out.push(HELPERS.to_string());
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
        out.extend(actor_function(plan, &a.name, &a.role));
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
