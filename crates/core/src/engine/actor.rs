//! One endpoint of a lesson: it owns its sockets and performs the calls it is
//! given, one at a time, as real blocking syscalls.
//!
//! Each actor lives in a thread of its own ([`super::worker`]), like the
//! process it stands for: the orchestrator hands it a [`Job`] per step and
//! the actor makes the call, sleeping in the kernel if the call must wait.
//! Just before a call that can wait, the actor says in its [`InFlightSlot`]
//! which call it is about to make on which fd; the orchestrator, which
//! cannot see inside a sleeping thread any other way, reads the kernel's own
//! record of that thread (/proc/self/task/TID/syscall and wchan) and shows
//! the call as waiting only when the kernel has the thread asleep in it.

use super::sock::Sock;
use crate::event::Event;
use crate::kernel;
use crate::lesson::{GetOpt, Lesson, PollEvents, ShutdownHow, SockOpt};
use crate::vocab::{Call, Proto, addr_text, preview};
use sockscope_sys::readiness::{self, Want};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The system call a course call makes, as strace names it, where the two
/// differ: the C library's send(3) and recv(3) are the sendto and recvfrom
/// syscalls with no address (strace prints `sendto(5, "hi", 2, 0, NULL, 0)`),
/// and where the architecture has no poll(2), poll(3) is ppoll(2).
#[must_use]
pub fn syscall_name(call: Call) -> Option<&'static str> {
    match call {
        Call::Send => Some("sendto"),
        Call::Recv => Some("recvfrom"),
        #[cfg(not(target_arch = "x86_64"))]
        Call::Poll => Some("ppoll"),
        _ => None,
    }
}

/// The syscall number a waiting call sleeps in, as /proc/self/task/TID/syscall
/// reports it. `None` for calls that never wait.
#[must_use]
pub fn syscall_number(call: Call) -> Option<i64> {
    Some(match call {
        Call::Accept => libc::SYS_accept,
        Call::Connect => libc::SYS_connect,
        Call::Recv | Call::Recvfrom => libc::SYS_recvfrom,
        Call::Send | Call::Sendto => libc::SYS_sendto,
        Call::Poll => SYS_POLL,
        _ => return None,
    })
}

/// The syscall the C library's poll(3) makes: poll(2) where the
/// architecture has it, ppoll(2) where it does not (aarch64 has only ppoll).
#[cfg(target_arch = "x86_64")]
const SYS_POLL: i64 = libc::SYS_poll;
#[cfg(not(target_arch = "x86_64"))]
const SYS_POLL: i64 = libc::SYS_ppoll;

/// The flag an fcntl that set O_NONBLOCK carries (the vocabulary's word,
/// which `run` uses too).
pub use crate::vocab::NONBLOCKING;

/// A step's call with every address resolved to a real one.
#[derive(Debug, Clone)]
pub enum Op {
    Socket(Proto),
    Setsockopt(SockOpt),
    Bind(SocketAddr),
    Listen(i32),
    Accept {
        new: String,
        /// The actor the new socket is handed to, if not the caller.
        handoff: Option<String>,
    },
    Connect(SocketAddr),
    Send(Payload),
    /// Buffer size, and the flags to pass.
    Recv(usize, RecvFlags),
    Sendto(Vec<u8>, SocketAddr),
    Recvfrom(usize, RecvFlags),
    Shutdown(ShutdownHow),
    Close,
    /// Set (`true`) or clear O_NONBLOCK.
    Fcntl(bool),
    /// What to wait for, the timeout in milliseconds (-1: none), and the
    /// actor's other sockets to watch after the step's own.
    Poll(PollEvents, i32, Vec<String>),
    Getsockopt(GetOpt),
}

impl Op {
    #[must_use]
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
            Op::Fcntl(_) => Call::Fcntl,
            Op::Poll(..) => Call::Poll,
            Op::Getsockopt(_) => Call::Getsockopt,
        }
    }
}

/// What a send passes.
#[derive(Debug, Clone)]
pub enum Payload {
    /// These bytes.
    Bytes(Vec<u8>),
    /// What this socket's last send left untaken (`buf + sent, len - sent`
    /// in a sendall loop): the actor keeps it, since only the kernel's
    /// answer to that send said how much it took.
    Rest,
}

/// recv's flags, as a lesson step asks for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// MSG_DONTWAIT: answer EAGAIN at once instead of waiting.
    pub dontwait: bool,
    /// MSG_WAITALL: wait until the whole buffer is filled.
    pub waitall: bool,
}

impl RecvFlags {
    fn bits(self) -> i32 {
        let mut bits = 0;
        if self.dontwait {
            bits |= libc::MSG_DONTWAIT;
        }
        if self.waitall {
            bits |= libc::MSG_WAITALL;
        }
        bits
    }

    /// The flags argument as C (and strace) write it.
    fn c_text(self) -> String {
        let names: Vec<&str> = [
            (self.dontwait, "MSG_DONTWAIT"),
            (self.waitall, "MSG_WAITALL"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            "0".into()
        } else {
            names.join("|")
        }
    }
}

/// The flag of a send that returned fewer bytes than it was given: the
/// kernel took what fitted in the socket's buffers, and the program must
/// send the rest itself.
pub const PARTIAL_SEND: &str = "partial send";
/// The flag of a `rest` send that took every byte still left: the buffer
/// a partial send began is now wholly sent.
pub const WHOLE_BUFFER_SENT: &str = "whole buffer sent";

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
    #[must_use]
    pub fn sock(&self) -> &str {
        &self.lesson.steps[self.step - 1].sock
    }
}

/// A call that can wait, as the actor is about to make it: what the
/// orchestrator needs to recognise the call in the kernel's record of the
/// thread and to show it while it waits.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub fd: i32,
    /// The syscall number it sleeps in.
    pub nr: i64,
    /// The first argument the kernel's record of the call must show: the
    /// fd, for every call but poll, whose first argument is the address of
    /// its `struct pollfd` array (`None`: not compared).
    pub arg0: Option<i64>,
    pub args: String,
    /// The socket, shared so that the kernel's state of it can be read from
    /// the orchestrator while the call sleeps.
    pub sock: Arc<Sock>,
    /// Where a connect is going.
    pub peer: Option<SocketAddr>,
}

/// Where an actor says which call it is in, for the orchestrator to read.
/// Set just before the syscall and cleared just after it returns.
pub type InFlightSlot = Arc<Mutex<Option<InFlight>>>;

/// An actor's open sockets by the lesson's names for them. An actor holds
/// one to three, and one is looked up on every call: a short list searched
/// by name costs less than hashing the name.
#[derive(Default)]
struct Socks(Vec<(String, Arc<Sock>)>);

impl Socks {
    fn get(&self, name: &str) -> Option<&Arc<Sock>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Hold `sock` as `name`; a socket already held under that name (a
    /// lesson that reuses a name without closing) is dropped, which closes it.
    fn insert(&mut self, name: String, sock: Sock) {
        self.remove(&name);
        self.0.push((name, Arc::new(sock)));
    }

    fn remove(&mut self, name: &str) -> Option<Arc<Sock>> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.swap_remove(at).1)
    }
}

/// Sockets one actor handed another (a server thread giving an accepted
/// connection to a worker thread), until the receiver's next call takes
/// them. Shared by every actor of a run.
///
/// Nothing moves in the kernel: the threads are one process with one fd
/// table, so the fd means the same socket in every thread. What moves is
/// which thread of control the lesson lets use it.
#[derive(Clone, Default)]
pub struct Handoffs(Arc<std::sync::Mutex<Vec<(String, String, Sock)>>>);

impl Handoffs {
    fn give(&self, to: &str, name: &str, sock: Sock) {
        crate::sync::lock(&self.0).push((to.to_string(), name.to_string(), sock));
    }

    /// Move every socket handed to `actor` into its own sockets.
    fn take_into(&self, actor: &str, socks: &mut Socks) {
        let mut waiting = crate::sync::lock(&self.0);
        // Vec::extract_if would say it in one line, but is newer than the
        // workspace's rust-version (1.85).
        let mut i = 0;
        while i < waiting.len() {
            if waiting[i].0 == actor {
                let (_, name, sock) = waiting.swap_remove(i);
                socks.insert(name, sock);
            } else {
                i += 1;
            }
        }
    }
}

/// The flag an accept that handed its new socket to another actor carries.
#[must_use]
pub fn handed_to(actor: &str) -> String {
    format!("handed to {actor}: same process, same fd")
}

/// One endpoint of the lesson: its sockets, and nothing else. It runs in
/// its own thread and makes one call at a time (see [`Actor::call`]);
/// sockets still open when the actor is dropped are closed by their `Drop`.
pub struct Actor {
    name: String,
    socks: Socks,
    /// One receive buffer for the actor's whole life, grown to the largest
    /// size a lesson asks for.
    scratch: Vec<u8>,
    /// Per socket, the bytes its last send did not get taken: what a `rest`
    /// send passes.
    unsent: std::collections::HashMap<String, Vec<u8>>,
    /// Sockets handed between the run's actors.
    handoffs: Handoffs,
    /// Observe the kernel after each call (TCP_INFO, the tables).
    kernel: bool,
    in_flight: InFlightSlot,
}

/// What a call returned, and how long it spent in the kernel.
pub struct Done {
    pub event: Box<Event>,
    /// When the call returned (before the kernel was observed).
    pub at: Instant,
    /// From just before the syscall until it returned, for calls that can
    /// wait.
    pub took: Option<Duration>,
}

impl Actor {
    /// A new endpoint, and the slot where it will say which call it is in.
    #[must_use]
    pub fn new(name: String, kernel: bool, handoffs: Handoffs) -> (Actor, InFlightSlot) {
        let in_flight = InFlightSlot::default();
        let actor = Actor {
            name,
            socks: Socks::default(),
            scratch: Vec::new(),
            unsent: std::collections::HashMap::new(),
            handoffs,
            kernel,
            in_flight: Arc::clone(&in_flight),
        };
        (actor, in_flight)
    }

    /// Make `job`'s call, then observe the kernel. Blocks the calling thread
    /// for as long as the kernel keeps the call waiting.
    pub fn call(&mut self, job: Job) -> Done {
        let (mut event, took) = perform(self, &job);
        let at = Instant::now();
        if self.kernel {
            observe(&self.socks, &job, &mut event);
        }
        Done { event, at, took }
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
fn observe(socks: &Socks, job: &Job, event: &mut Event) {
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
    } else {
        let Some(sock) = socks.get(job.sock()) else {
            return;
        };
        let proto = sock.proto();
        kernel::settle(kernel::Settle::Acknowledged, || {
            kernel::observe_fd(sock.socket(), proto)
        })
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

/// Mark the call about to be made on `sock` as in flight until the guard
/// is dropped, right after the syscall returns.
struct InCall<'a> {
    slot: &'a InFlightSlot,
    started: Instant,
}

impl InCall<'_> {
    fn took(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for InCall<'_> {
    fn drop(&mut self) {
        *crate::sync::lock(self.slot) = None;
    }
}

fn in_call<'a>(
    slot: &'a InFlightSlot,
    call: Call,
    sock: &Arc<Sock>,
    args: &str,
    peer: Option<SocketAddr>,
) -> InCall<'a> {
    *crate::sync::lock(slot) = syscall_number(call).map(|nr| InFlight {
        fd: sock.fd(),
        nr,
        arg0: (call != Call::Poll).then_some(i64::from(sock.fd())),
        args: args.to_string(),
        sock: Arc::clone(sock),
        peer,
    });
    InCall {
        slot,
        started: Instant::now(),
    }
}

fn perform(me: &mut Actor, job: &Job) -> (Box<Event>, Option<Duration>) {
    let Actor {
        name: actor,
        socks,
        scratch,
        unsent,
        handoffs,
        kernel: observe_kernel,
        in_flight,
    } = me;
    let (actor, observe_kernel) = (actor.as_str(), *observe_kernel);
    handoffs.take_into(actor, socks);
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
        return (ev, None);
    }
    if matches!(job.op, Op::Close) {
        let Some(sock) = socks.remove(job.sock()) else {
            return (missing(actor, job), None);
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
        // Nobody else holds the socket between calls (the orchestrator's
        // share of it lives only while a call is in flight).
        match Arc::try_unwrap(sock) {
            Ok(sock) => {
                if let Err(e) = sock.close() {
                    ev.fail(&e);
                }
            }
            Err(shared) => drop(shared),
        }
        return (ev, None);
    }
    let Some(sock) = socks.get(job.sock()).cloned() else {
        return (missing(actor, job), None);
    };
    let fd = sock.fd();
    let mut ev = blank(actor, job, sock.proto(), Some(fd));
    ev.syscall = syscall_name(job.op.call()).map(str::to_string);
    let mut took = None;
    match &job.op {
        Op::Socket(_) | Op::Close => unreachable!("handled above"),
        Op::Setsockopt(opt) => {
            let (desc, res) = set_option(&sock, *opt);
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
        Op::Accept { new, handoff } => {
            ev.args = fd.to_string();
            let call = in_call(in_flight, Call::Accept, &sock, &ev.args, None);
            let res = sock.accept();
            took = Some(call.took());
            drop(call);
            match res {
                Ok((conn, peer)) => {
                    ev.new_fd = Some(conn.fd());
                    ev.local = conn.local_addr().map(addr_text);
                    ev.peer = Some(addr_text(peer));
                    match handoff {
                        Some(to) => {
                            ev.flags.push(handed_to(to));
                            handoffs.give(to, new, conn);
                        }
                        None => socks.insert(new.clone(), conn),
                    }
                }
                Err(e) => ev.fail(&e),
            }
            return (ev, took);
        }
        Op::Connect(addr) => {
            ev.args = format!("{fd}, {addr}");
            ev.peer = Some(addr_text(*addr));
            let call = in_call(in_flight, Call::Connect, &sock, &ev.args, Some(*addr));
            let res = sock.connect(*addr);
            took = Some(call.took());
            drop(call);
            if let Err(e) = res {
                ev.fail(&e);
            }
        }
        Op::Send(payload) => {
            let owned;
            let data: &[u8] = match payload {
                Payload::Bytes(bytes) => bytes,
                Payload::Rest => {
                    owned = unsent.remove(job.sock()).unwrap_or_default();
                    &owned
                }
            };
            ev.args = format!("{fd}, {}, {}, 0", quoted(data), data.len());
            let call = in_call(in_flight, Call::Send, &sock, &ev.args, None);
            let res = sock.send(data, 0);
            took = Some(call.took());
            drop(call);
            match res {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&data[..n]));
                    if n < data.len() {
                        // A short count is not an error: the kernel says how
                        // much it took, and the rest is the program's to send.
                        ev.flags.push(PARTIAL_SEND.into());
                        unsent.insert(job.sock().to_string(), data[n..].to_vec());
                    } else {
                        unsent.remove(job.sock());
                        if matches!(payload, Payload::Rest) {
                            ev.flags.push(WHOLE_BUFFER_SENT.into());
                        }
                    }
                    if let Some(number) = job.lesson.steps[job.step - 1].htonl {
                        ev.flags.extend(byte_order::sent(number));
                    }
                }
                Err(e) => {
                    // Nothing was taken: all of it is still to send.
                    unsent.insert(job.sock().to_string(), data.to_vec());
                    if e.raw_os_error() == Some(libc::EPIPE) {
                        // send(2): EPIPE "... In this case, the process
                        // will also receive a SIGPIPE unless MSG_NOSIGNAL
                        // is set." It was not set, so the kernel raised
                        // SIGPIPE at this thread; sockscope ignores it.
                        ev.flags.push(SIGPIPE_IGNORED.into());
                    }
                    ev.fail(&e);
                }
            }
        }
        Op::Recv(max, recv_flags) => {
            ev.args = format!("{fd}, {max}, {}", recv_flags.c_text());
            let call = in_call(in_flight, Call::Recv, &sock, &ev.args, None);
            let res = sock.recv_into(sized(scratch, *max), recv_flags.bits());
            took = Some(call.took());
            drop(call);
            match res {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&scratch[..n]));
                    if n == 0 {
                        ev.flags.push("EOF".into());
                    }
                    if job.lesson.steps[job.step - 1].ntohl
                        && let Ok(four) = <[u8; 4]>::try_from(&scratch[..n])
                    {
                        ev.flags.extend(byte_order::received(four));
                    }
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Sendto(data, addr) => {
            ev.args = format!("{fd}, {}, {}, 0, {addr}", quoted(data), data.len());
            ev.peer = Some(addr_text(*addr));
            let call = in_call(in_flight, Call::Sendto, &sock, &ev.args, None);
            let res = sock.send_to(data, *addr, 0);
            took = Some(call.took());
            drop(call);
            match res {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&data[..n]));
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Recvfrom(max, recv_flags) => {
            ev.args = format!("{fd}, {max}, {}", recv_flags.c_text());
            let call = in_call(in_flight, Call::Recvfrom, &sock, &ev.args, None);
            let res = sock.recv_from(sized(scratch, *max), recv_flags.bits());
            took = Some(call.took());
            drop(call);
            match res {
                Ok((n, from)) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&scratch[..n]));
                    ev.peer = Some(addr_text(from));
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
        Op::Fcntl(on) => {
            // As strace spells the flags (F_SETFL's argument decoded as open
            // flags: the access mode, 0, is O_RDONLY), from the one decoder
            // `run` uses too.
            let arg = if *on { libc::O_NONBLOCK } else { 0 };
            let (cmd, _) = crate::tracer::decode::fcntl_cmd(
                libc::F_SETFL as u64,
                u64::try_from(arg).unwrap_or(0),
            );
            ev.args = format!("{fd}, {cmd}");
            match readiness::set_nonblocking(sock.socket(), *on) {
                Ok(()) if *on => ev.flags.push(NONBLOCKING.into()),
                Ok(()) => {}
                Err(e) => ev.fail(&e),
            }
        }
        Op::Poll(events, timeout_ms, also) => {
            let want = match events {
                PollEvents::In => Want::Readable,
                PollEvents::Out => Want::Writable,
            };
            // The pollfd set: the step's socket, then the others it names,
            // as strace prints the array.
            let mut set = vec![(job.sock(), Arc::clone(&sock))];
            for name in also {
                match socks.get(name) {
                    Some(s) => set.push((name.as_str(), Arc::clone(s))),
                    None => return (missing(actor, job), None),
                }
            }
            let entries: Vec<String> = set
                .iter()
                .map(|(_, s)| format!("{{fd={}, events={}}}", s.fd(), want.c_name()))
                .collect();
            ev.args = format!("[{}], {}, {timeout_ms}", entries.join(", "), set.len());
            let fds: Vec<_> = set.iter().map(|(_, s)| s.socket().as_fd()).collect();
            let call = in_call(in_flight, Call::Poll, &sock, &ev.args, None);
            let res = readiness::poll_set(&fds, want, *timeout_ms);
            took = Some(call.took());
            drop(call);
            match res {
                Ok((count, each)) => {
                    ev.ready = Some(u32::try_from(count).unwrap_or(0));
                    if let [only] = each.as_slice() {
                        ev.flags.extend(only.iter().map(|r| (*r).to_string()));
                    } else {
                        // Several sockets: each ready one by the lesson's
                        // name for it, with its revents.
                        for ((name, _), revents) in set.iter().zip(&each) {
                            if !revents.is_empty() {
                                ev.flags.push(format!("{name}: {}", revents.join("|")));
                            }
                        }
                    }
                }
                Err(e) => ev.fail(&e),
            }
        }
        Op::Getsockopt(GetOpt::Error) => {
            // socket2's take_error is getsockopt(fd, SOL_SOCKET, SO_ERROR),
            // one call; reading the option clears the pending error.
            match sock.socket().take_error() {
                Ok(pending) => {
                    let code = pending
                        .as_ref()
                        .and_then(io::Error::raw_os_error)
                        .unwrap_or(0);
                    ev.args = format!("{fd}, SOL_SOCKET, SO_ERROR, [{code}], [4]");
                    ev.optval = Some(match code {
                        0 => "0".to_string(),
                        n => crate::vocab::errno::lookup(n).name.to_string(),
                    });
                }
                Err(e) => {
                    ev.args = format!("{fd}, SOL_SOCKET, SO_ERROR");
                    ev.fail(&e);
                }
            }
        }
    }
    let peer_before = ev.peer.take();
    record_addrs(&mut ev, &sock);
    if ev.peer.is_none() {
        ev.peer = peer_before;
    }
    (ev, took)
}

/// What a 4-byte number looks like on the wire and in this machine's
/// memory, for the byte-order lesson: computed here, on this machine, not
/// assumed (`to_ne_bytes` is the machine's own order).
mod byte_order {
    fn hex(bytes: [u8; 4]) -> String {
        bytes.map(|b| format!("{b:02x}")).join(" ")
    }

    fn machine() -> &'static str {
        if cfg!(target_endian = "little") {
            "little-endian: least significant byte first"
        } else {
            "big-endian: the same order as the network's"
        }
    }

    /// A send of `n` in network byte order.
    pub fn sent(n: u32) -> [String; 2] {
        [
            format!("htonl({n}) = {}: network byte order", hex(n.to_be_bytes())),
            format!(
                "{n} in this machine's memory: {} ({})",
                hex(n.to_ne_bytes()),
                machine()
            ),
        ]
    }

    /// Four bytes received as a number in network byte order.
    pub fn received(four: [u8; 4]) -> [String; 2] {
        [
            format!("ntohl({}) = {}", hex(four), u32::from_be_bytes(four)),
            format!(
                "read in this machine's order without ntohl: {}",
                u32::from_ne_bytes(four)
            ),
        ]
    }
}

/// The flag on a failed send that raised SIGPIPE: shown with the call, and
/// named by the narration.
pub const SIGPIPE_IGNORED: &str = "SIGPIPE (ignored)";

/// `scratch` as a buffer of exactly `max` bytes: the size the lesson passes
/// to recv, which decides how much the kernel hands over.
fn sized(scratch: &mut Vec<u8>, max: usize) -> &mut [u8] {
    if scratch.len() < max {
        scratch.resize(max, 0);
    }
    &mut scratch[..max]
}

#[must_use]
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
        SockOpt::Sndbuf { bytes } => (
            format!("SOL_SOCKET, SO_SNDBUF, {bytes}"),
            s.set_send_buffer_size(bytes),
        ),
        SockOpt::Reuseaddr { on } => (
            format!("SOL_SOCKET, SO_REUSEADDR, {}", i32::from(on)),
            s.set_reuse_address(on),
        ),
        // strace's name: the original option number, whose struct timeval
        // has 64-bit fields on a 64-bit machine (the _NEW one exists for
        // 32-bit systems' 64-bit time).
        SockOpt::Rcvtimeo { ms } => (
            format!(
                "SOL_SOCKET, {}, {{tv_sec={}, tv_usec={}}}, 16",
                RCVTIMEO_NAME,
                ms / 1000,
                (ms % 1000) * 1000
            ),
            s.set_read_timeout(Some(Duration::from_millis(u64::from(ms)))),
        ),
        SockOpt::Syncnt { count } => (
            format!("SOL_TCP, TCP_SYNCNT, {count}"),
            sockscope_sys::tcpopt::set_syncnt(s.as_fd(), count),
        ),
    }
}

/// SO_RCVTIMEO as strace names it where the C library's SO_RCVTIMEO is the
/// original option (64-bit time: x86_64, aarch64).
#[cfg(target_pointer_width = "64")]
const RCVTIMEO_NAME: &str = "SO_RCVTIMEO_OLD";
#[cfg(not(target_pointer_width = "64"))]
const RCVTIMEO_NAME: &str = "SO_RCVTIMEO";

#[cfg(test)]
mod tests {
    use super::byte_order;

    /// byte-order: "htonl(11)" is 00 00 00 0b on the wire; those bytes read
    /// least significant first are 184549376 (the lesson's sentence).
    #[test]
    fn the_byte_order_flags_say_both_orders() {
        assert_eq!(
            byte_order::sent(11)[0],
            "htonl(11) = 00 00 00 0b: network byte order"
        );
        assert_eq!(
            byte_order::received([0, 0, 0, 11])[0],
            "ntohl(00 00 00 0b) = 11"
        );
        assert_eq!(u32::from_le_bytes([0, 0, 0, 11]), 184_549_376);
        let own = byte_order::received([0, 0, 0, 11])[1].clone();
        let expected = if cfg!(target_endian = "little") {
            184_549_376
        } else {
            11
        };
        assert!(own.ends_with(&expected.to_string()), "{own}");
    }
}
