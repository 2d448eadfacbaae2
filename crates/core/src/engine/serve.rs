//! `sockscope serve`: a real echo server that waits for peers the user brings
//! (`nc`, `telnet`, a Python one-liner, a browser, a lecture hall of
//! students) and reports every call it makes for them as the same [`Event`]s
//! a lesson produces.
//!
//! # Design: one thread, non-blocking sockets, epoll
//!
//! A lesson makes blocking calls, one actor at a time, as a student's first
//! program does. A server for a hall of peers cannot: a blocking recv on one
//! connection would stall every other. So `serve` is built the way most real
//! servers are, and its events say so ([`calls`] lists each call as it
//! really runs):
//!
//! - socket, bind, listen make the server socket, created non-blocking
//!   (`SOCK_NONBLOCK`), and register it with an epoll instance (`mio`, a thin
//!   layer over epoll_create1, epoll_ctl and epoll_wait).
//! - One thread waits in `epoll_wait` until the kernel says some socket is
//!   ready, then makes the call that will not have to wait: `accept4` on
//!   the listener, `recvfrom` on a connection with bytes queued, `sendto`
//!   to echo them. Registration is edge-triggered (`EPOLLET`): the kernel
//!   reports a socket once each time it becomes ready, so the server calls
//!   until the kernel answers EAGAIN ("nothing more now"), and only then
//!   waits again. Every one of these calls, the EAGAIN ones too, is an event:
//!   strace's log of `serve --headless` and its JSON lines match call for
//!   call (a test checks it).
//! - Each connection is its own actor (`peer1`, `peer2`, ...: one lane each
//!   on screen). UDP: one socket; each datagram is received with recvfrom and
//!   sent back with sendto, under the actor of the address it came from.
//!
//! # A hall of strangers: everything is bounded
//!
//! Each read is capped ([`TCP_READ_MAX`]); at most `max_peers` connections
//! are served at once, and when all are taken the rule in [`hall`] decides
//! who yields (so 64 connections sending a byte a second cannot lock the
//! room out); a connection silent for `idle_timeout` is closed. Events flow
//! through a bounded channel ([`CHANNEL`]): the server never blocks on it.
//! It makes a call only when the channel has room for what the call will
//! report, so a consumer that falls behind pauses the server's calls (the
//! kernel's queues and TCP's flow control hold the peers meanwhile) instead
//! of memory growing or events being lost; a consumer that drops its end
//! stops nothing. [`Server::stats`] counts exactly (peers seen, open, bytes)
//! whatever the consumer keeps, and [`Server::peers`] lists every open
//! connection, for a screen that shows a hall. Every socket is closed, and
//! reported, when the server stops.

mod calls;
pub mod hall;
mod out;
mod run;
mod tcp;
mod udp;

use super::EngineMsg;
use crate::event::Event;
use crate::vocab::{Call, Proto};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The most bytes one TCP recv asks for. A flood arrives as many capped
/// reads, each one an event.
pub const TCP_READ_MAX: usize = 4096;
/// UDP reads take 65,536 bytes, more than any UDP datagram carries, so no
/// datagram is cut.
pub const UDP_READ_MAX: usize = 65_536;
/// The listen backlog: how many finished handshakes the kernel queues
/// before accept takes them. A hall connecting at once overflows a small
/// queue (at 128, a thousand students arriving together had SYNs dropped
/// and waited a second or three for their retransmission); Linux lowers it
/// to net.core.somaxconn (4096 by default) if that is smaller.
pub const BACKLOG: i32 = 1024;
/// Default cap on connections served at once.
pub const DEFAULT_MAX_PEERS: usize = 64;
/// Default `--idle-timeout`: a connection that sends nothing for this long is
/// closed (a student who walked away frees their slot).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Events buffered between the server and its consumer. The server makes a
/// call only when this has room for the events the call reports.
pub const CHANNEL: usize = 1024;
/// Closed connections [`Server::peers`] still lists, newest first, after
/// the open ones.
pub const CLOSED_KEPT: usize = 256;

/// What to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    pub proto: Proto,
    pub bind: SocketAddr,
    pub max_peers: usize,
    /// Close a TCP connection that has sent nothing for this long; `None`:
    /// never.
    pub idle_timeout: Option<Duration>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            proto: Proto::Tcp,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_peers: DEFAULT_MAX_PEERS,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
        }
    }
}

/// Exact counts of what the server did, whatever its consumer kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted (TCP), or distinct senders (UDP).
    pub seen: u64,
    /// Connections open now.
    pub open: u64,
    /// Accepted and closed at once: every slot was fairly held.
    pub refused: u64,
    /// Closed to give their slot to a newcomer ([`hall`]).
    pub yielded: u64,
    /// Closed after `idle_timeout` of silence.
    pub idle_closed: u64,
    /// Bytes received from peers, and echoed back to them.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Events reported.
    pub events: u64,
}

/// One peer as a hall's table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRow {
    /// Its actor: `peer1`, `peer2`, ...
    pub actor: String,
    pub addr: SocketAddr,
    /// The fd of its connection (TCP), or of the server's socket (UDP).
    pub fd: i32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// `open`, or how it ended: `EOF`, an errno name, `idle`, `yielded`,
    /// `refused`, `stopped`.
    pub state: String,
    /// When it last sent something (or connected).
    pub last_heard: Instant,
}

/// What the server thread and [`Server`] share.
#[derive(Debug, Default)]
struct Shared {
    stats: Mutex<Stats>,
    /// Open peers in the order they came, then closed ones (at most
    /// [`CLOSED_KEPT`]).
    peers: Mutex<(Vec<PeerRow>, std::collections::VecDeque<PeerRow>)>,
    stop: AtomicBool,
}

/// A running server. Dropping it stops the server, which closes every
/// socket it holds.
pub struct Server {
    msgs: mpsc::Receiver<EngineMsg>,
    local: Option<SocketAddr>,
    shared: Arc<Shared>,
    waker: Option<Arc<mio::Waker>>,
}

impl Server {
    /// Open, bind (and for TCP listen on) the server socket and start
    /// serving on a thread of its own. If a setup call fails (the port is
    /// taken, or privileged), the failure is an event like any other and
    /// [`Server::local_addr`] is `None`. It waits for nothing, so async
    /// code calls it as it is.
    #[must_use]
    pub fn start(config: ServeConfig) -> Server {
        // Room for every peer's descriptor and the server's own few: a
        // refused raise leaves the limit as it was, and an accept beyond it
        // reports EMFILE like any failed call.
        let _ = sockscope_sys::raise_open_files(config.max_peers as u64 + 64);
        let (tx, msgs) = mpsc::channel(CHANNEL);
        let shared = Arc::new(Shared::default());
        let mut out = out::Out::new(tx, Arc::clone(&shared));
        let (local, waker) = match run::setup(&mut out, config) {
            Some(ready) => {
                let local = ready.local;
                let waker = Arc::clone(&ready.waker);
                std::thread::Builder::new()
                    .name("sockscope-serve".into())
                    .spawn(move || run::serve(out, ready, config))
                    .ok();
                (Some(local), Some(waker))
            }
            // `out` is dropped here: the consumer reads the failed call,
            // then the end of the stream.
            None => (None, None),
        };
        Server {
            msgs,
            local,
            shared,
            waker,
        }
    }

    /// The address the server really holds (the kernel's choice for port 0).
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The next message, waiting for it; `None` once the server has stopped
    /// and every message has been read.
    pub async fn next(&mut self) -> Option<EngineMsg> {
        self.msgs.recv().await
    }

    /// The next message if one is ready.
    pub fn try_next(&mut self) -> Option<EngineMsg> {
        self.msgs.try_recv().ok()
    }

    /// Stop serving: the server closes every connection and then its own
    /// socket, each reported as a close event. Read on with
    /// [`Server::next`] until it returns `None`.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(w) = &self.waker {
            // Wakes epoll_wait (an eventfd write); the thread sees `stop`.
            let _ = w.wake();
        }
    }

    /// Exact counts so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        *crate::sync::lock(&self.shared.stats)
    }

    /// Every open peer, in the order they came, then the most recently
    /// closed ones ([`CLOSED_KEPT`] at most), newest first.
    #[must_use]
    pub fn peers(&self) -> Vec<PeerRow> {
        let p = crate::sync::lock(&self.shared.peers);
        p.0.iter().chain(p.1.iter()).cloned().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh event for a call made by `serve` (`step` is 0: no lesson step).
/// serve neither captures nor reads the kernel's view of its sockets, so
/// `segments`, `tcp_state` and `kernel` stay null: not observed.
fn event(actor: &str, call: Call, sock: &str, proto: Proto, fd: Option<i32>) -> Event {
    Event::new(actor, call, sock, proto, fd)
}

/// The host part of a connect command: a wildcard bind is reached on
/// loopback from this machine.
fn host(local: SocketAddr) -> String {
    match local {
        a if a.ip().is_unspecified() && a.is_ipv6() => "::1".into(),
        a if a.ip().is_unspecified() => "127.0.0.1".into(),
        a => a.ip().to_string(),
    }
}

/// The command a student pastes to connect to a server at `local`.
#[must_use]
pub fn connect_command(proto: Proto, local: SocketAddr) -> String {
    let host = host(local);
    match proto {
        Proto::Tcp => format!("nc {host} {}", local.port()),
        Proto::Udp => format!("nc -u {host} {}", local.port()),
    }
}

/// The same connection from Python, for machines without nc.
#[must_use]
pub fn python_command(proto: Proto, local: SocketAddr) -> String {
    let host = host(local);
    let port = local.port();
    let family = if local.is_ipv6() {
        "socket.AF_INET6"
    } else {
        "socket.AF_INET"
    };
    match proto {
        Proto::Tcp => format!(
            "python3 -c \"import socket; s=socket.create_connection(('{host}',{port})); s.sendall(b'hi\\n'); print(s.recv(100)); s.close()\""
        ),
        Proto::Udp => format!(
            "python3 -c \"import socket; s=socket.socket({family},socket.SOCK_DGRAM); s.sendto(b'hi\\n',('{host}',{port})); print(s.recv(100))\""
        ),
    }
}

/// The warning shown when the server is reachable from other machines.
/// Give it the address the server really holds ([`Server::local_addr`]), so
/// the port is the one the kernel chose, not the 0 that asked for one.
#[must_use]
pub fn exposure_warning(bound: SocketAddr) -> Option<String> {
    super::guard::exposure_warning(bound).map(|w| {
        format!("{w}, and anyone who can reach it can connect and have their bytes echoed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_commands_name_the_real_port() {
        let a: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        assert_eq!(connect_command(Proto::Tcp, a), "nc 127.0.0.1 40001");
        assert_eq!(connect_command(Proto::Udp, a), "nc -u 127.0.0.1 40001");
        let any: SocketAddr = "0.0.0.0:5000".parse().unwrap();
        assert_eq!(connect_command(Proto::Tcp, any), "nc 127.0.0.1 5000");
        let v6: SocketAddr = "[::]:5000".parse().unwrap();
        assert_eq!(connect_command(Proto::Tcp, v6), "nc ::1 5000");
    }

    #[test]
    fn only_non_loopback_binds_warn_and_they_name_the_real_port() {
        assert!(exposure_warning("127.0.0.1:1".parse().unwrap()).is_none());
        assert!(exposure_warning("127.0.0.2:1".parse().unwrap()).is_none());
        assert!(exposure_warning("[::1]:1".parse().unwrap()).is_none());
        let w = exposure_warning("0.0.0.0:41234".parse().unwrap()).unwrap();
        assert!(w.contains("reachable from the network"), "{w}");
        assert!(w.contains("port 41234"), "{w}");
        assert!(exposure_warning("[::]:7".parse().unwrap()).is_some());
    }
}
