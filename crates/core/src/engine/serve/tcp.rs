//! `serve` over TCP: the listener and every connection on one epoll loop.
//!
//! Each connection is a small state machine. It is *reading* until a recv
//! returns bytes, then *echoing* until send has taken all of them, then
//! reading again; 0 from recv (the peer's FIN) or an error (ECONNRESET:
//! its RST) ends it with close. Which call it makes next depends only on
//! what epoll last said about it:
//!
//! - `readable` / `writable` are set by epoll_wait's report and cleared only
//!   by an EAGAIN from the call itself. Registration is edge-triggered, so
//!   the kernel says "readable" once when bytes arrive, not again while
//!   they wait: the server must go on reading until the kernel answers
//!   EAGAIN, or it would sleep with bytes queued. That EAGAIN is the last
//!   call of every round, and an event like the others.
//! - Both interests are registered at once (EPOLLIN and EPOLLOUT): a socket
//!   is writable nearly always, and the server asks for writability only
//!   when an echo is pending, by looking at `writable` then. That costs no
//!   epoll_ctl per round, which registering EPOLLOUT on demand would.
//! - A new connection is tried at once (`readable` starts true): its peer
//!   may have sent already (nc sends as soon as it connects), and if not,
//!   EAGAIN says so.
//!
//! Slots: at most `max_peers` connections. A newcomer to a full server is
//! admitted by [`super::hall`]'s rule (the greediest address yields), or
//! closed at once with the reason. A connection silent for the idle timeout
//! is closed, and every close says why when sockscope decided it.

use super::hall::{self, Admit, Slot};
use super::out::Out;
use super::run::{
    BUDGET, EVENTS, LAST_EVENTS_WAIT, LISTENER, PAUSE, Ready, WAKE, close_listener, found_nothing,
    note_failure, wait, woken, would_block,
};
use super::{PeerRow, ServeConfig, TCP_READ_MAX, calls, event};
use crate::vocab::{Call, Proto, preview};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use socket2::Socket;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often connections are checked against the idle timeout: the timeout
/// is in whole seconds, so a check a second is as fine as it can be seen.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// What epoll is asked to report for a connection, as strace prints it in
/// epoll_ctl: its bytes and FIN (EPOLLIN, EPOLLRDHUP), room to send
/// (EPOLLOUT), edge-triggered (EPOLLET).
const CONN_EVENTS: &str = "EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET";

/// One connection.
struct Conn {
    actor: String,
    sock: Socket,
    fd: i32,
    local: Option<String>,
    peer: SocketAddr,
    /// What epoll last said and no EAGAIN has contradicted since.
    readable: bool,
    writable: bool,
    /// Bytes received and not yet all echoed, and how many of them were sent.
    pending: Vec<u8>,
    sent: usize,
    /// In the queue of sockets to serve.
    queued: bool,
    last_heard: Instant,
    /// When the last call said EAGAIN: the next one reports how long it
    /// waited for epoll.
    waiting_since: Option<Instant>,
}

impl Conn {
    /// Has a call to make that will not find nothing to do (as far as epoll
    /// has said)?
    fn has_work(&self) -> bool {
        if self.pending.is_empty() {
            self.readable
        } else {
            self.writable
        }
    }
}

/// The TCP server's whole state: one thread owns it, so nothing in it is
/// shared or locked (only the counts and the table in [`Out`]'s shared
/// part, which the consumer reads).
pub(super) struct Tcp {
    out: Out,
    poll: Poll,
    listener: Socket,
    lfd: i32,
    local: SocketAddr,
    config: ServeConfig,
    conns: HashMap<Token, Conn>,
    /// Connections with a call to make, served in turn.
    ready: VecDeque<Token>,
    /// As `Conn::readable`, for the listener: accept until EAGAIN.
    listener_readable: bool,
    /// When accept last said EAGAIN (the next accept reports the wait).
    listener_waiting_since: Option<Instant>,
    /// After accept failed for want of descriptors or memory: not before.
    accept_after: Option<Instant>,
    /// The next connection's epoll token (never reused).
    next_token: usize,
    /// Connections accepted so far (each one's actor is `peerN`).
    accepted: u64,
    /// One receive buffer for every recv: the bytes are copied out to the
    /// connection's `pending` before the next call, so one is enough.
    buf: Vec<u8>,
    next_idle_check: Instant,
}

impl Tcp {
    pub(super) fn new(out: Out, ready: Ready, config: ServeConfig) -> Tcp {
        let lfd = ready.sock.as_raw_fd();
        Tcp {
            out,
            poll: ready.poll,
            listener: ready.sock,
            lfd,
            local: ready.local,
            config,
            conns: HashMap::new(),
            ready: VecDeque::new(),
            // Try at once: a peer may be queued already; if not, accept4's
            // EAGAIN is the first thing the server reports.
            listener_readable: true,
            listener_waiting_since: None,
            accept_after: None,
            next_token: 2,
            accepted: 0,
            buf: vec![0; TCP_READ_MAX],
            next_idle_check: Instant::now() + IDLE_CHECK,
        }
    }

    fn stopping(&self) -> bool {
        self.out.shared.stop.load(Ordering::SeqCst)
    }

    fn can_accept(&self, now: Instant) -> bool {
        self.listener_readable && self.accept_after.is_none_or(|t| now >= t)
    }

    /// The loop, until [`super::Server::stop`]: wait in epoll_wait, note
    /// what became ready, make the calls that will not wait, close the
    /// idle; then close everything.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS);
        while !self.stopping() {
            let now = Instant::now();
            // How long epoll_wait may sleep: not at all while there are
            // calls to make (it only collects new readiness then), briefly
            // while the consumer has no room, until the next idle check
            // while connections are open, and otherwise until the kernel
            // has something (a peer, bytes, the stop's eventfd).
            let work = self.can_accept(now) || !self.ready.is_empty();
            let timeout = if work && self.out.room() {
                Some(Duration::ZERO)
            } else if work || self.listener_readable {
                // The consumer has no room, or accept is paused: look again soon.
                Some(PAUSE)
            } else if self.config.idle_timeout.is_some() && !self.conns.is_empty() {
                Some(self.next_idle_check.saturating_duration_since(now))
            } else {
                None
            };
            wait(&mut self.poll, &mut events, timeout);
            for e in &events {
                match e.token() {
                    WAKE => {}
                    LISTENER => self.listener_readable = true,
                    t => {
                        let Some(c) = self.conns.get_mut(&t) else {
                            continue;
                        };
                        // Edge-triggered: this is said once, so it is
                        // remembered until a call's EAGAIN says otherwise.
                        // An error or hang-up makes the next call report
                        // it (recv returns 0 or ECONNRESET), so it counts
                        // as ready too.
                        if e.is_readable() || e.is_read_closed() || e.is_error() {
                            c.readable = true;
                        }
                        if e.is_writable() || e.is_write_closed() || e.is_error() {
                            c.writable = true;
                        }
                        if c.has_work() && !c.queued {
                            c.queued = true;
                            self.ready.push_back(t);
                        }
                    }
                }
            }
            self.work();
            let now = Instant::now();
            if now >= self.next_idle_check {
                self.next_idle_check = now + IDLE_CHECK;
                self.close_idle(now);
            }
        }
        self.shutdown();
    }

    /// Make calls while sockets are ready and the consumer has room, one
    /// per socket in turn, at most [`BUDGET`].
    ///
    /// Round-robin, one call per turn: the listener (one accept), then the
    /// connection at the head of the queue (one recv or send), which goes
    /// to the back if it has more to do. A peer flooding gigabytes gets one
    /// call per turn like a peer typing, and a hall arriving at once is
    /// accepted while the others are served.
    fn work(&mut self) {
        for _ in 0..BUDGET {
            if self.stopping() || !self.out.room() {
                return;
            }
            let mut did = false;
            if self.can_accept(Instant::now()) {
                self.accept_one();
                did = true;
            }
            if let Some(t) = self.ready.pop_front() {
                did = true;
                if let Some(c) = self.conns.get_mut(&t) {
                    c.queued = false;
                }
                self.step(t);
                if let Some(c) = self.conns.get_mut(&t)
                    && c.has_work()
                    && !c.queued
                {
                    c.queued = true;
                    self.ready.push_back(t);
                }
            }
            if !did {
                return;
            }
        }
    }

    fn accept_one(&mut self) {
        let mut ev = event(
            "server",
            Call::Accept,
            "listener",
            Proto::Tcp,
            Some(self.lfd),
        );
        let result = calls::accept(&mut ev, &self.listener);
        // The moment the call returned: the event's time, and where a wait
        // that ends here is measured to.
        let at = Instant::now();
        let (conn, peer) = match result {
            Ok(c) => c,
            // The accept queue is empty: nobody is connecting now. The
            // listener stays quiet until epoll says a handshake finished.
            Err(e) if would_block(&e) => {
                self.listener_readable = false;
                found_nothing(&mut ev, &e, "nothing to accept yet", "EPOLLIN");
                self.listener_waiting_since = Some(at);
                self.out.event_then_wait(ev, at);
                return;
            }
            Err(e) => {
                // accept can fail for reasons that concern one connection
                // only (ECONNABORTED, EPROTO) or the process (EMFILE,
                // ENFILE, ENOBUFS); either way it is reported and the server
                // goes on. For the process-wide ones, pause before trying
                // again rather than spin on the same error.
                ev.fail(&e);
                if !matches!(
                    e.raw_os_error(),
                    Some(libc::ECONNABORTED | libc::EINTR | libc::EPROTO)
                ) {
                    self.accept_after = Some(at + Duration::from_millis(100));
                }
                self.out.event(ev, at);
                return;
            }
        };
        self.accept_after = None;
        // Every accepted connection gets a lane name, even one about to be
        // turned away: its accept and its close are calls that ran, and
        // they belong to it.
        self.accepted += 1;
        let actor = format!("peer{}", self.accepted);
        let cfd = conn.as_raw_fd();
        ev.new_fd = Some(cfd);
        // A wildcard listener's connection has a real local address of its
        // own (the one the peer dialled): ask the kernel. Otherwise it is the
        // listener's.
        let local = if self.local.ip().is_unspecified() {
            calls::local_addr(&conn).map(|a| a.to_string())
        } else {
            Some(self.local.to_string())
        };
        ev.local.clone_from(&local);
        ev.peer = Some(peer.to_string());
        woken(&mut ev, self.listener_waiting_since.take(), at, "EPOLLIN");
        ev.flags.push(format!("lane {actor}"));
        {
            let mut s = self.out.shared.stats();
            s.seen += 1;
        }
        // Who gets a slot is [`hall::admit`]'s decision, from each held
        // slot's address and silence.
        let slots: Vec<Slot<Token>> = self
            .conns
            .iter()
            .map(|(&key, c)| Slot {
                key,
                ip: c.peer.ip(),
                last_heard: c.last_heard,
            })
            .collect();
        match hall::admit(&slots, self.config.max_peers, peer.ip(), at) {
            // Every slot is fairly held: the newcomer was accepted (the
            // kernel finished its handshake already; the only way to turn
            // it away is to accept and close), and is closed at once. Its
            // peer reads end of file.
            Admit::Refuse => {
                let max = self.config.max_peers;
                ev.flags.push(format!(
                    "peer limit reached: {max} connections already open, closing this one"
                ));
                self.out.event(ev, at);
                self.out.shared.stats().refused += 1;
                let mut close = event(&actor, Call::Close, "conn", Proto::Tcp, Some(cfd));
                close.local = local;
                close.peer = Some(peer.to_string());
                close.flags.push("peer limit reached".into());
                if let Err(e) = calls::close(&mut close, conn) {
                    close.fail(&e);
                }
                self.out.event(close, Instant::now());
            }
            admit => {
                let token = Token(self.next_token);
                self.next_token += 1;
                // Registered before anything else happens to it, so the
                // event can say it was.
                if let Err(e) = self.poll.registry().register(
                    &mut SourceFd(&cfd),
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    // Without epoll the connection cannot be served: say so,
                    // and close it.
                    note_failure(&mut ev, "epoll_ctl(EPOLL_CTL_ADD)", &e);
                    self.out.event(ev, at);
                    let mut close = event(&actor, Call::Close, "conn", Proto::Tcp, Some(cfd));
                    if let Err(e) = calls::close(&mut close, conn) {
                        close.fail(&e);
                    }
                    self.out.event(close, Instant::now());
                    return;
                }
                ev.flags
                    .push(format!("epoll_ctl(EPOLL_CTL_ADD, {cfd}, {CONN_EVENTS})"));
                let victim = match admit {
                    Admit::Yield(victim, why) => {
                        if let Some(v) = self.conns.get(&victim) {
                            ev.flags
                                .push(format!("every slot was taken: {} yields its slot", v.actor));
                        }
                        Some((victim, why))
                    }
                    _ => None,
                };
                self.out.event(ev, at);
                if let Some((victim, why)) = victim {
                    self.out.shared.stats().yielded += 1;
                    self.close(victim, Some(&why), "yielded");
                }
                self.seat(token, actor, conn, peer, local, at);
            }
        }
    }

    /// Serve `conn`, registered with epoll as `token`.
    fn seat(
        &mut self,
        token: Token,
        actor: String,
        conn: Socket,
        peer: SocketAddr,
        local: Option<String>,
        at: Instant,
    ) {
        let fd = conn.as_raw_fd();
        {
            let mut s = self.out.shared.stats();
            s.open += 1;
        }
        self.out.shared.add_row(PeerRow {
            actor: actor.clone(),
            addr: peer,
            fd,
            bytes_in: 0,
            bytes_out: 0,
            state: "open".into(),
            last_heard: at,
        });
        self.conns.insert(
            token,
            Conn {
                actor,
                sock: conn,
                fd,
                local,
                peer,
                // Try recv at once (as after any readiness): the peer may
                // have sent already, and if not, EAGAIN says so.
                readable: true,
                writable: true,
                pending: Vec::new(),
                sent: 0,
                queued: true,
                last_heard: at,
                waiting_since: None,
            },
        );
        self.ready.push_back(token);
    }

    /// One call on connection `t`: echo what is pending, or read.
    ///
    /// Echo before reading more: the bytes of one recv are all sent back
    /// before the next recv, so a peer that does not read its echo fills
    /// its own receive window, then our send buffer (send says EAGAIN), and
    /// then we stop reading it: TCP's flow control makes that peer wait,
    /// and nobody else. No buffer grows.
    fn step(&mut self, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        let sending = !c.pending.is_empty();
        let call = if sending { Call::Send } else { Call::Recv };
        let mut ev = event(&c.actor, call, "conn", Proto::Tcp, Some(c.fd));
        ev.local.clone_from(&c.local);
        ev.peer = Some(c.peer.to_string());
        let result = if sending {
            calls::send(&mut ev, &c.sock, &c.pending[c.sent..])
        } else {
            calls::recv(&mut ev, &c.sock, &mut self.buf)
        };
        let at = Instant::now();
        let interest = if sending { "EPOLLOUT" } else { "EPOLLIN" };
        if !result.as_ref().is_err_and(would_block) {
            woken(&mut ev, c.waiting_since.take(), at, interest);
        }
        let ended = match result {
            // send may take fewer bytes than offered (the send buffer had
            // room for only some): the rest goes in the next call.
            Ok(n) if sending => {
                let data = &c.pending[c.sent..c.sent + n];
                ev.bytes = Some(n);
                ev.data = Some(preview::preview(data));
                c.sent += n;
                if c.sent == c.pending.len() {
                    c.pending.clear();
                    c.sent = 0;
                }
                self.out.shared.stats().bytes_out += n as u64;
                self.out.shared.row(&c.actor, |r| r.bytes_out += n as u64);
                None
            }
            // recv = 0: the peer's FIN. It will send nothing more, and an
            // echo server has nothing left to send it, so the server closes
            // its side too.
            Ok(0) => {
                ev.bytes = Some(0);
                ev.data = Some(String::new());
                ev.flags.push("EOF".into());
                Some("EOF".to_string())
            }
            Ok(n) => {
                let data = &self.buf[..n];
                ev.bytes = Some(n);
                ev.data = Some(preview::preview(data));
                c.pending.extend_from_slice(data);
                c.last_heard = at;
                self.out.shared.stats().bytes_in += n as u64;
                self.out.shared.row(&c.actor, |r| {
                    r.bytes_in += n as u64;
                    r.last_heard = at;
                });
                None
            }
            Err(e) if would_block(&e) => {
                let what = if sending {
                    c.writable = false;
                    "the send buffer is full"
                } else {
                    c.readable = false;
                    "nothing to read yet"
                };
                found_nothing(&mut ev, &e, what, interest);
                c.waiting_since = Some(at);
                self.out.event_then_wait(ev, at);
                return;
            }
            Err(e) => {
                // ECONNRESET (the peer's RST), EPIPE: the connection is over.
                ev.fail(&e);
                Some(ev.result.name().to_string())
            }
        };
        self.out.event(ev, at);
        if let Some(state) = ended {
            self.close(t, None, &state);
        }
    }

    /// Close connection `t`, reporting it; `why` when sockscope decided it
    /// (a yielded slot, the idle timeout, the stop), not the peer. Closing
    /// with bytes unread makes the kernel send RST instead of FIN, which is
    /// what a peer cut off should see.
    fn close(&mut self, t: Token, why: Option<&str>, state: &str) {
        let Some(c) = self.conns.remove(&t) else {
            return;
        };
        let mut ev = event(&c.actor, Call::Close, "conn", Proto::Tcp, Some(c.fd));
        ev.local = c.local;
        ev.peer = Some(c.peer.to_string());
        if let Some(w) = why {
            ev.flags.push(w.to_string());
        }
        // Closing the fd also removes it from the epoll set: no epoll_ctl
        // DEL is needed (nothing else holds a duplicate of it).
        if let Err(e) = calls::close(&mut ev, c.sock) {
            ev.fail(&e);
        }
        {
            let mut s = self.out.shared.stats();
            s.open = s.open.saturating_sub(1);
        }
        self.out.shared.close_row(&c.actor, state);
        let at = Instant::now();
        if self.stopping() {
            self.out.last_event(ev, at, at + LAST_EVENTS_WAIT);
        } else {
            self.out.event(ev, at);
        }
    }

    /// Close every connection silent for longer than the idle timeout,
    /// longest-silent first. Silent means nothing received: a peer that only
    /// reads its echoes slowly is not idle, one that sends nothing is.
    fn close_idle(&mut self, now: Instant) {
        let Some(limit) = self.config.idle_timeout else {
            return;
        };
        let mut idle: Vec<(Instant, Token)> = self
            .conns
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_heard) >= limit)
            .map(|(&t, c)| (c.last_heard, t))
            .collect();
        idle.sort();
        for (_, t) in idle {
            if !self.out.room() {
                // The rest are closed at the next check.
                return;
            }
            let why = format!(
                "idle for {} s (--idle-timeout {}): closed by sockscope",
                limit.as_secs(),
                limit.as_secs()
            );
            self.out.shared.stats().idle_closed += 1;
            self.close(t, Some(&why), "idle");
        }
    }

    /// Stop: every connection closed, then the server's own socket; each
    /// reported (within [`LAST_EVENTS_WAIT`] for a slow consumer).
    fn shutdown(mut self) {
        let mut open: Vec<Token> = self.conns.keys().copied().collect();
        open.sort();
        for t in open {
            self.close(
                t,
                Some("closed by sockscope: the server is stopping"),
                "stopped",
            );
        }
        close_listener(&mut self.out, self.listener, Proto::Tcp, self.local);
    }
}
