//! One endpoint of a lesson: it owns its sockets and performs the calls it is
//! given, one at a time, as real syscalls.
//!
//! The orchestrator hands [`Actor::call`] a [`Job`] per step; the actor leaves
//! a [`WaitNotice`] the moment the kernel says the call must wait (so the
//! screen can show it), and returns the event when the call returns. An actor
//! is one thread of control, like the process it stands for: it never runs
//! two calls at once (the orchestrator lends it to one call at a time).

use super::sock::Sock;
use crate::event::Event;
use crate::kernel;
use crate::lesson::{Lesson, ShutdownHow, SockOpt};
use crate::vocab::{Call, Proto, addr_text, preview};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A step's call with every address resolved to a real one.
#[derive(Debug, Clone)]
pub enum Op {
    Socket(Proto),
    Setsockopt(SockOpt),
    Bind(SocketAddr),
    Listen(i32),
    Accept {
        new: String,
    },
    Connect(SocketAddr),
    Send(Vec<u8>),
    /// Buffer size, and whether to pass MSG_DONTWAIT.
    Recv(usize, bool),
    Sendto(Vec<u8>, SocketAddr),
    Recvfrom(usize, bool),
    Shutdown(ShutdownHow),
    Close,
}

impl Op {
    pub fn call(&self) -> Call {
        match self {
            Op::Socket(_) => Call::Socket,
            Op::Setsockopt(_) => Call::Setsockopt,
            Op::Bind(_) => Call::Bind,
            Op::Listen(_) => Call::Listen,
            Op::Accept { .. } => Call::Accept,
            Op::Connect(_) => Call::Connect,
            Op::Send(_) => Call::Send,
            Op::Recv(..) => Call::Recv,
            Op::Sendto(..) => Call::Sendto,
            Op::Recvfrom(..) => Call::Recvfrom,
            Op::Shutdown(_) => Call::Shutdown,
            Op::Close => Call::Close,
        }
    }
}

/// Default backlog when a lesson's listen does not give one.
pub const DEFAULT_BACKLOG: i32 = 8;
/// Default receive buffer when a lesson's recv does not give one.
pub const DEFAULT_RECV_MAX: usize = 1024;

/// One call for the actor to make.
#[derive(Debug)]
pub struct Job {
    /// The lesson step that issues the call, from 1.
    pub step: usize,
    /// The lesson, shared, for the step's names (no copy per call).
    pub lesson: Arc<Lesson>,
    pub op: Op,
}

impl Job {
    /// The lesson's name for the socket the call acts on.
    pub fn sock(&self) -> &str {
        &self.lesson.steps[self.step - 1].sock
    }
}

/// The kernel said the call must wait (EAGAIN or EINPROGRESS): what the
/// screen shows of it at that moment.
#[derive(Debug)]
pub struct WaitNotice {
    pub fd: Option<i32>,
    pub args: String,
    pub at: Instant,
    /// The socket's local address at that moment.
    pub local: Option<SocketAddr>,
    /// Where a waiting connect is going.
    pub peer: Option<SocketAddr>,
    /// TCP: the kernel's state at that moment.
    pub tcp_state: Option<crate::vocab::StateSeen>,
}

/// Where an actor leaves the notice of a call that has to wait, for the
/// orchestrator to pick up while the call goes on waiting.
pub type WaitSlot = Arc<Mutex<Option<WaitNotice>>>;

/// An actor's open sockets by the lesson's names for them. An actor holds
/// one to three, and one is looked up on every call: a short list searched
/// by name costs less than hashing the name.
#[derive(Default)]
struct Socks(Vec<(String, Sock)>);

impl Socks {
    fn get(&self, name: &str) -> Option<&Sock> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Hold `sock` as `name`; a socket already held under that name (a
    /// lesson that reuses a name without closing) is dropped, which closes it.
    fn insert(&mut self, name: String, sock: Sock) {
        self.remove(&name);
        self.0.push((name, sock));
    }

    fn remove(&mut self, name: &str) -> Option<Sock> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.swap_remove(at).1)
    }
}

/// One endpoint of the lesson: its sockets, and nothing else. The
/// orchestrator lends the actor to one call at a time (see [`Actor::call`]);
/// sockets still open when the actor is dropped are closed by their `Drop`.
pub struct Actor {
    name: String,
    socks: Socks,
    /// One receive buffer for the actor's whole life, grown to the largest
    /// size a lesson asks for.
    scratch: Vec<u8>,
    /// Observe the kernel after each call (TCP_INFO, the tables).
    kernel: bool,
    waiting: WaitSlot,
}

impl Actor {
    /// A new endpoint, and the slot where it will say that a call waits.
    pub fn new(name: String, kernel: bool) -> (Actor, WaitSlot) {
        let waiting = WaitSlot::default();
        let actor = Actor {
            name,
            socks: Socks::default(),
            scratch: Vec::new(),
            kernel,
            waiting: Arc::clone(&waiting),
        };
        (actor, waiting)
    }

    /// Make `job`'s call, then observe the kernel. Returns the event and when
    /// the call returned (before the kernel was observed). If the kernel says
    /// the call must wait, a [`WaitNotice`] is left in the actor's slot at
    /// that moment, during the future's first poll.
    pub async fn call(&mut self, job: Job) -> (Box<Event>, Instant) {
        let mut event = perform(self, &job).await;
        let returned = Instant::now();
        if self.kernel {
            observe(&self.socks, &job, &mut event).await;
        }
        (event, returned)
    }
}

fn proto_c(proto: Proto) -> &'static str {
    match proto {
        Proto::Tcp => "SOCK_STREAM",
        Proto::Udp => "SOCK_DGRAM",
    }
}

fn quoted(data: &[u8]) -> String {
    format!("\"{}\"", preview::preview(data))
}

/// A blank event for `job`, to be filled in by `perform`.
///
/// Boxed from the start: an event is several hundred bytes, and it travels
/// from here through the orchestrator to the consumer; a box moves as a
/// pointer.
fn blank(actor: &str, job: &Job, proto: Proto, fd: Option<i32>) -> Box<Event> {
    let mut ev = Box::new(Event::new(actor, job.op.call(), job.sock(), proto, fd));
    ev.step = job.step;
    ev
}

/// Read the kernel's view of the socket the call acted on, right after the
/// call (this actor holds the fd, so nothing can happen to the socket in
/// between). After close, the fd is gone: the connection is looked up in
/// /proc/net/tcp by the addresses it had.
async fn observe(socks: &Socks, job: &Job, event: &mut Event) {
    let (state, observed) = if event.call == Call::Close {
        if event.proto != Proto::Tcp {
            return;
        }
        let addr = |a: &Option<String>| a.as_deref().and_then(|a| a.parse().ok());
        let Some(local) = addr(&event.local) else {
            // Closed before it ever had an address: it was in no table.
            return;
        };
        let peer = addr(&event.peer);
        kernel::settle(kernel::Settle::Immediate, || {
            kernel::observe_closed_tcp(local, peer)
        })
        .await
    } else {
        let Some(sock) = socks.get(job.sock()) else {
            return;
        };
        let proto = sock.proto();
        kernel::settle(kernel::Settle::Acknowledged, || {
            kernel::observe_fd(sock.socket(), proto)
        })
        .await
    };
    let mut observed = observed;
    if let Some(before) = event.kernel.take() {
        observed.state_before = before.state_before;
        observed.unread_before = before.unread_before;
        observed.linger_zero = before.linger_zero;
    }
    event.tcp_state = state;
    event.kernel = Some(observed);
}

fn record_addrs(event: &mut Event, sock: &Sock) {
    event.local = sock.local_addr().map(addr_text);
    if let Some(p) = sock.peer_addr() {
        event.peer = Some(addr_text(p));
    }
}

async fn perform(me: &mut Actor, job: &Job) -> Box<Event> {
    let Actor {
        name: actor,
        socks,
        scratch,
        kernel: observe_kernel,
        waiting,
    } = me;
    let (actor, observe_kernel) = (actor.as_str(), *observe_kernel);
    if let Op::Socket(proto) = job.op {
        let mut ev = blank(actor, job, proto, None);
        ev.args = format!("AF_INET, {}, 0", proto_c(proto));
        match Sock::open(proto) {
            Ok(sock) => {
                ev.fd = Some(sock.fd());
                ev.new_fd = Some(sock.fd());
                socks.insert(job.sock().to_string(), sock);
            }
            Err(e) => ev.fail(&e),
        }
        return ev;
    }
    if matches!(job.op, Op::Close) {
        let Some(sock) = socks.remove(job.sock()) else {
            return missing(actor, job);
        };
        let mut ev = blank(actor, job, sock.proto(), Some(sock.fd()));
        ev.args = sock.fd().to_string();
        // Addresses as they were just before the close, so observers can find
        // the connection the kernel may keep (TIME_WAIT) after the fd is gone.
        record_addrs(&mut ev, &sock);
        if observe_kernel && sock.proto() == Proto::Tcp {
            // What decides whether close sends FIN, RST or nothing, read just
            // before the fd goes away.
            ev.kernel = Some(kernel::before_close(sock.socket()));
        }
        if let Err(e) = sock.close() {
            ev.fail(&e);
        }
        return ev;
    }
    let Some(sock) = socks.get(job.sock()) else {
        return missing(actor, job);
    };
    let fd = sock.fd();
    let mut ev = blank(actor, job, sock.proto(), Some(fd));
    let mut waited_at: Option<Instant> = None;
    let waiting_args;
    // Tell the orchestrator the moment the kernel says "not yet".
    let notify = |args: String, waited_at: &mut Option<Instant>| {
        let at = Instant::now();
        *waited_at = Some(at);
        let tcp_state = match sock.proto() {
            Proto::Tcp if observe_kernel => kernel::observe_fd(sock.socket(), Proto::Tcp).0,
            _ => None,
        };
        *waiting.lock().unwrap_or_else(|e| e.into_inner()) = Some(WaitNotice {
            fd: Some(fd),
            args,
            at,
            local: sock.local_addr(),
            peer: match &job.op {
                Op::Connect(to) => Some(*to),
                _ => None,
            },
            tcp_state,
        });
    };
    match &job.op {
        Op::Socket(_) | Op::Close => unreachable!("handled above"),
        Op::Setsockopt(opt) => {
            let (desc, res) = set_option(sock, *opt);
            ev.args = format!("{fd}, {desc}");
            if let Err(e) = res {
                ev.fail(&e);
            }
        }
        Op::Bind(addr) => {
            ev.args = format!("{fd}, {addr}");
            if let Err(e) = sock.bind(*addr) {
                ev.fail(&e);
            }
        }
        Op::Listen(backlog) => {
            ev.args = format!("{fd}, {backlog}");
            if let Err(e) = sock.listen(*backlog) {
                ev.fail(&e);
            }
        }
        Op::Accept { new } => {
            ev.args = fd.to_string();
            waiting_args = ev.args.clone();
            let mut on_wait = || notify(waiting_args.clone(), &mut waited_at);
            match sock.accept(&mut on_wait).await {
                Ok((conn, peer)) => {
                    ev.new_fd = Some(conn.fd());
                    ev.local = conn.local_addr().map(addr_text);
                    ev.peer = Some(addr_text(peer));
                    socks.insert(new.clone(), conn);
                }
                Err(e) => ev.fail(&e),
            }
            ev.waited_us = waited_for(waited_at);
            return ev;
        }
        Op::Connect(addr) => {
            ev.args = format!("{fd}, {addr}");
            ev.peer = Some(addr_text(*addr));
            waiting_args = ev.args.clone();
            let mut on_wait = || notify(waiting_args.clone(), &mut waited_at);
            if let Err(e) = sock.connect(*addr, &mut on_wait).await {
                ev.fail(&e);
            }
        }
        Op::Send(data) => {
            ev.args = format!("{fd}, {}, {}", quoted(data), data.len());
            waiting_args = ev.args.clone();
            let mut on_wait = || notify(waiting_args.clone(), &mut waited_at);
            match sock.send(data, &mut on_wait).await {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&data[..n]));
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Recv(max, dontwait) => {
            ev.args = format!("{fd}, {max}{}", flags_arg(*dontwait));
            waiting_args = ev.args.clone();
            let mut on_wait = || notify(waiting_args.clone(), &mut waited_at);
            match sock
                .recv_into(sized(scratch, *max), &mut on_wait, !dontwait)
                .await
            {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&scratch[..n]));
                    if n == 0 {
                        ev.flags.push("EOF".into());
                    }
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Sendto(data, addr) => {
            ev.args = format!("{fd}, {}, {}, {addr}", quoted(data), data.len());
            ev.peer = Some(addr_text(*addr));
            waiting_args = ev.args.clone();
            let mut on_wait = || notify(waiting_args.clone(), &mut waited_at);
            match sock.send_to(data, *addr, &mut on_wait).await {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&data[..n]));
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Recvfrom(max, dontwait) => {
            ev.args = format!("{fd}, {max}{}", flags_arg(*dontwait));
            waiting_args = ev.args.clone();
            let mut on_wait = || notify(waiting_args.clone(), &mut waited_at);
            match sock
                .recv_from(sized(scratch, *max), &mut on_wait, !dontwait)
                .await
            {
                Ok((n, from, truncated)) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&scratch[..n]));
                    ev.peer = Some(addr_text(from));
                    if truncated {
                        // recvmsg's msg_flags: the datagram was longer than
                        // the buffer and the kernel discarded the rest.
                        ev.flags.push("MSG_TRUNC".into());
                    }
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Shutdown(how) => {
            ev.args = format!("{fd}, {}", how.c_name());
            let how = match how {
                ShutdownHow::Read => Shutdown::Read,
                ShutdownHow::Write => Shutdown::Write,
                ShutdownHow::Both => Shutdown::Both,
            };
            if let Err(e) = sock.shutdown(how) {
                ev.fail(&e);
            }
        }
    }
    ev.waited_us = waited_for(waited_at);
    let peer_before = ev.peer.take();
    record_addrs(&mut ev, sock);
    if ev.peer.is_none() {
        ev.peer = peer_before;
    }
    ev
}

/// `scratch` as a buffer of exactly `max` bytes: the size the lesson passes
/// to recv, which decides how much the kernel hands over.
fn sized(scratch: &mut Vec<u8>, max: usize) -> &mut [u8] {
    if scratch.len() < max {
        scratch.resize(max, 0);
    }
    &mut scratch[..max]
}

/// The flags argument as C would write it, when it is not 0.
fn flags_arg(dontwait: bool) -> &'static str {
    if dontwait { ", MSG_DONTWAIT" } else { "" }
}

/// From the moment the kernel said the call must wait until it returned.
/// (Not from the start of the call: the clock is read only for calls that
/// wait, and the try that met EAGAIN took a microsecond or less.)
fn waited_for(waited_at: Option<Instant>) -> Option<u64> {
    waited_at.map(|at| duration_us(at.elapsed()))
}

pub fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A step that names a socket the actor does not hold. Lesson validation
/// rules this out for well-formed lessons; report it as EBADF, which is what
/// the kernel would say for a closed fd.
fn missing(actor: &str, job: &Job) -> Box<Event> {
    let mut ev = blank(actor, job, Proto::Tcp, None);
    ev.args = format!("<{}: not open>", job.sock());
    ev.fail(&io::Error::from_raw_os_error(libc::EBADF));
    ev
}

fn set_option(sock: &Sock, opt: SockOpt) -> (String, io::Result<()>) {
    let s = sock.socket();
    match opt {
        SockOpt::Linger { seconds } => (
            format!("SOL_SOCKET, SO_LINGER, {{l_onoff=1, l_linger={seconds}}}"),
            s.set_linger(Some(Duration::from_secs(u64::from(seconds)))),
        ),
        SockOpt::Rcvbuf { bytes } => (
            format!("SOL_SOCKET, SO_RCVBUF, {bytes}"),
            s.set_recv_buffer_size(bytes),
        ),
        SockOpt::Reuseaddr { on } => (
            format!("SOL_SOCKET, SO_REUSEADDR, {}", i32::from(on)),
            s.set_reuse_address(on),
        ),
    }
}
