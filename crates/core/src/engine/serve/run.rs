//! The server's setup and what its two loops ([`super::tcp`], [`super::udp`])
//! share: the socket, the epoll instance, waiting in epoll_wait, and how a
//! call that found nothing to do is reported.
//!
//! The loop, as a C server written this way would have it:
//!
//! ```text
//! for (;;) {
//!     n = epoll_wait(ep, events, ...);      // sleep until something is ready
//!     for each ready socket: remember it is readable / writable;
//!     while some socket is ready and the consumer has room:
//!         listener readable   -> accept4()   (EAGAIN: not readable any more)
//!         connection readable -> recvfrom()  (EAGAIN: not readable; 0: the peer's FIN)
//!         bytes to echo, writable -> sendto() (EAGAIN: the send buffer is full)
//!     close connections silent for longer than the idle timeout;
//! }
//! ```
//!
//! Ready sockets are served in turn, one call each, so a peer that floods
//! takes one call per round like everyone else, and after [`BUDGET`] calls
//! the loop looks at epoll again, so new peers and the stop request are never
//! kept waiting behind a busy one.
//!
//! Why epoll and not a thread per peer: a hall of a thousand peers would be
//! a thousand threads, each with its own stack, for sockets that are idle
//! nearly all the time; one thread asking the kernel "which of these is
//! ready?" serves them all, and its calls never wait, so none can hold up
//! another. Why mio: it is epoll_create1, epoll_ctl and epoll_wait with
//! nothing added (the calls strace shows), behind a safe API.

use super::calls;
use super::out::Out;
use super::{BACKLOG, ServeConfig, event};
use crate::event::Event;
use crate::vocab::{Call, Proto};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::Socket;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The token epoll reports for [`super::Server::stop`]'s wake-up: mio's
/// Waker is an eventfd in the same epoll set, so a stop request wakes
/// epoll_wait like any ready socket.
pub(super) const WAKE: Token = Token(0);
/// The token of the server's own socket; connections get 2, 3, ... and a
/// token is never reused, so an event for a connection closed a moment ago
/// cannot be taken for a newer one that got the same fd number.
pub(super) const LISTENER: Token = Token(1);
/// Calls made between two looks at epoll: a busy peer cannot keep new peers
/// and the stop request waiting for long.
pub(super) const BUDGET: usize = 256;
/// How long to sleep in epoll_wait when the consumer has no room, before
/// looking again.
pub(super) const PAUSE: Duration = Duration::from_millis(10);
/// The events one epoll_wait returns at most; more ready sockets are
/// returned by the next call.
pub(super) const EVENTS: usize = 256;
/// At stop, how long the last events (every close) may wait for a slow
/// consumer before they are dropped: the sockets are closed regardless.
pub(super) const LAST_EVENTS_WAIT: Duration = Duration::from_secs(2);

/// What epoll is asked to report for the server's socket, as strace prints
/// it in epoll_ctl. mio registers every socket edge-triggered (`EPOLLET`:
/// reported once each time it becomes ready, not for as long as it is) and
/// with `EPOLLRDHUP` (the peer's FIN is reported as well as its data).
const LISTENER_EVENTS: &str = "EPOLLIN|EPOLLRDHUP|EPOLLET";

/// The server socket, ready to serve.
pub(super) struct Ready {
    pub(super) sock: Socket,
    pub(super) local: SocketAddr,
    pub(super) poll: Poll,
    pub(super) waker: Arc<Waker>,
}

/// A failure outside the course's calls (epoll_create1, epoll_ctl, the
/// eventfd), noted on the event of the call it follows.
pub(super) fn note_failure(ev: &mut Event, what: &str, e: &io::Error) {
    let info = crate::vocab::errno::from_io(e);
    ev.flags
        .push(format!("{what} failed: {} ({})", info.name, info.explain));
}

/// socket, bind, and for TCP listen: each reported; then the epoll instance,
/// with the socket registered. `None` if a call failed (that call's event
/// says why).
pub(super) fn setup(out: &mut Out, config: ServeConfig) -> Option<Ready> {
    let proto = config.proto;
    let mut ev = event("server", Call::Socket, "listener", proto, None);
    let sock = match calls::socket(&mut ev, proto, config.bind) {
        Ok(s) => s,
        Err(e) => {
            ev.fail(&e);
            out.event(ev, Instant::now());
            return None;
        }
    };
    let fd = sock.as_raw_fd();
    ev.fd = Some(fd);
    ev.new_fd = Some(fd);
    out.event(ev, Instant::now());

    let mut ev = event("server", Call::Bind, "listener", proto, Some(fd));
    if let Err(e) = calls::bind(&mut ev, &sock, config.bind) {
        ev.fail(&e);
        out.event(ev, Instant::now());
        return None;
    }
    // What bind's getsockname said; were it ever silent, the address asked
    // for is the best there is.
    let local = ev
        .local
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or(config.bind);
    if proto == Proto::Udp {
        return register(out, ev, sock, local, LISTENER_EVENTS);
    }
    out.event(ev, Instant::now());
    let mut ev = event("server", Call::Listen, "listener", proto, Some(fd));
    ev.local = Some(local.to_string());
    if let Err(e) = calls::listen(&mut ev, &sock, BACKLOG) {
        ev.fail(&e);
        out.event(ev, Instant::now());
        return None;
    }
    register(out, ev, sock, local, LISTENER_EVENTS)
}

/// epoll_create1, the wake-up eventfd, and epoll_ctl(ADD) for the server
/// socket; `ev` (the last setup call) says so, and is reported.
fn register(
    out: &mut Out,
    mut ev: Event,
    sock: Socket,
    local: SocketAddr,
    events: &str,
) -> Option<Ready> {
    let fd = sock.as_raw_fd();
    let made = Poll::new().and_then(|poll| {
        let waker = Waker::new(poll.registry(), WAKE)?;
        poll.registry()
            .register(&mut SourceFd(&fd), LISTENER, Interest::READABLE)?;
        Ok((poll, waker))
    });
    match made {
        Ok((poll, waker)) => {
            ev.flags.push(format!(
                "epoll_ctl(EPOLL_CTL_ADD, {fd}, {events}): the server waits in epoll_wait until the kernel says fd {fd} is ready"
            ));
            out.event(ev, Instant::now());
            Some(Ready {
                sock,
                local,
                poll,
                waker: Arc::new(waker),
            })
        }
        Err(e) => {
            note_failure(&mut ev, "setting up epoll", &e);
            out.event(ev, Instant::now());
            None
        }
    }
}

/// Serve until stopped, then close every socket (each reported).
pub(super) fn serve(out: Out, ready: Ready, config: ServeConfig) {
    match config.proto {
        Proto::Tcp => super::tcp::Tcp::new(out, ready, config).run(),
        Proto::Udp => super::udp::Udp::new(out, ready, config).run(),
    }
}

pub(super) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// `ev`'s call found nothing to do (`e`, its EAGAIN): say so, and what the
/// server now waits for in epoll_wait. The caller reports it
/// ([`Out::event_then_wait`]).
pub(super) fn found_nothing(ev: &mut Event, e: &io::Error, what: &str, interest: &str) {
    ev.fail(e);
    let fd = ev.fd.unwrap_or(-1);
    ev.flags.push(format!(
        "{what}: the server waits in epoll_wait for {interest} on fd {fd}"
    ));
}

/// The call after a wait (`since`, its EAGAIN): how long it waited, and
/// that epoll woke it.
pub(super) fn woken(ev: &mut Event, since: Option<Instant>, at: Instant, interest: &str) {
    if let Some(since) = since {
        ev.waited_us = Some(crate::engine::actor::duration_us(
            at.saturating_duration_since(since),
        ));
        ev.flags.push(format!("woken by epoll_wait: {interest}"));
    }
}

/// Wait in epoll_wait for at most `timeout`; EINTR is just an early return.
pub(super) fn wait(poll: &mut Poll, events: &mut Events, timeout: Option<Duration>) {
    if let Err(e) = poll.poll(events, timeout)
        && e.kind() != io::ErrorKind::Interrupted
    {
        // epoll_wait itself failing leaves nothing to wait on: pause rather
        // than spin, and try again.
        std::thread::sleep(PAUSE);
    }
}

/// Close the server's own socket, reporting it.
pub(super) fn close_listener(out: &mut Out, sock: Socket, proto: Proto, local: SocketAddr) {
    let mut ev = event(
        "server",
        Call::Close,
        "listener",
        proto,
        Some(sock.as_raw_fd()),
    );
    ev.local = Some(local.to_string());
    if let Err(e) = calls::close(&mut ev, sock) {
        ev.fail(&e);
    }
    let at = Instant::now();
    out.last_event(ev, at, at + LAST_EVENTS_WAIT);
}
