//! The kernel observer: what the kernel says about each socket of a lesson,
//! right now. No terminal code; the engine calls it after every call, the TUI
//! calls [`refresh`] on a slow timer while a lesson is paused (so a TIME_WAIT
//! timer counts down in real seconds), and `trace` prints what it found.
//!
//! Two ways in, because some connections outlive their fd:
//! - through the fd, for a socket the program still holds:
//!   getsockopt(TCP_INFO) and the queue ioctls ([`sockscope_sys::tcp_info`]);
//! - through the kernel's tables ([`procnet`]), matched by address and port,
//!   for every socket including those without an fd: TIME_WAIT after close, a
//!   peer in LAST_ACK, a request socket in SYN_RECV. These carry the timers.
//!
//! And for UDP, the machine's drop counters ([`snmp`]); and, after a call
//! that made a descriptor, the process's whole fd table ([`fds`]). The states, places
//! and sources are the vocabulary's types ([`crate::vocab::TcpState`] and
//! its neighbours); text is made only at the JSON and on screen.
//!
//! Nothing here guesses. A value the kernel did not report is `None`; a
//! connection the kernel no longer lists is reported as gone.

pub mod diag;
pub mod fds;
pub mod procnet;
pub mod snmp;
pub mod words;

use crate::vocab::{Proto, SeenIn, Source, StateSeen, TcpState, Timer};
use procnet::Entry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

/// What the kernel reported about the socket a call acted on, read right after
/// the call. This is the `kernel` object of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// Where the figures came from: `TCP_INFO` (through the fd),
    /// `sock_diag` (the kernel's socket tables through netlink, as `ss`
    /// reads them), `/proc/net/tcp` (the same tables as text, where netlink
    /// is unavailable) or `/proc/net/udp`, or `none` when the kernel no
    /// longer lists the connection at all.
    pub source: Source,
    /// Bytes received and not yet read by the program. For UDP, the receive
    /// memory in use as `ss` shows it (payload plus per-datagram overhead).
    pub recv_q: Option<u64>,
    /// Bytes sent and not yet acknowledged (TCP), or not yet sent (UDP).
    pub send_q: Option<u64>,
    /// Listener only: connections that completed the handshake and wait for
    /// accept.
    pub accept_q: Option<u64>,
    /// Listener only: the accept queue's limit as the kernel applies it.
    pub backlog: Option<u64>,
    /// The timer the kernel has armed: `timewait`, `on` (retransmit),
    /// `keepalive`, `persist`; the names `ss -o` uses.
    pub timer: Option<Timer>,
    /// Milliseconds until that timer fires.
    pub timer_ms: Option<u64>,
    /// SO_RCVBUF read back with getsockopt: what the kernel really granted.
    pub rcvbuf: Option<u64>,
    /// SO_SNDBUF read back with getsockopt.
    pub sndbuf: Option<u64>,
    /// UDP: datagrams the kernel dropped for this socket (/proc/net/udp).
    pub drops: Option<u64>,
    /// UDP: how far the machine's `Udp: RcvbufErrors` counter moved since the
    /// lesson started (/proc/net/snmp).
    pub udp_rcvbuf_errors: Option<u64>,
    /// UDP: how far the machine's `Udp: InErrors` counter moved since the
    /// lesson started.
    pub udp_in_errors: Option<u64>,
    /// TCP, through the fd: segments (SYNs included) the socket had to send
    /// again (`tcpi_total_retrans`).
    pub retransmits: Option<u64>,
    /// When the state changed while the observer waited for the peer's
    /// answer: the state the kernel reported first, right after the call
    /// (e.g. `FIN_WAIT1` until the peer acknowledged the FIN).
    pub first_state: Option<StateSeen>,
    /// close only, read through the fd just before close(2): the TCP state
    /// the socket was in. With the next two it decides what close sends: a
    /// FIN from ESTABLISHED or CLOSE_WAIT, an RST if data was unread or
    /// SO_LINGER was 0, nothing if the FIN had already gone (shutdown) or
    /// the connection was reset.
    pub state_before: Option<TcpState>,
    /// close only: bytes received and never read when close was called.
    pub unread_before: Option<u64>,
    /// close only: SO_LINGER was on with a zero timeout.
    pub linger_zero: Option<bool>,
    /// How many milliseconds the observer waited for the kernel to settle
    /// (for the peer's ACK); `null` when it did not have to wait.
    pub settle_ms: Option<u64>,
}

/// What the kernel says about one socket of the lesson, found in its tables
/// by address. One entry of an event's `sockets` map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockView {
    pub proto: Proto,
    /// The socket's local address, as getsockname last reported it.
    pub local: String,
    /// The connected peer, for a TCP connection or a connected UDP socket.
    pub peer: Option<String>,
    /// The kernel's state; `None` for UDP and for a TCP socket the kernel
    /// no longer lists.
    pub tcp_state: Option<TcpState>,
    /// `table` (found in the kernel's socket tables), `fd` (held by the
    /// program but in neither table), or `gone` (closed, and the kernel keeps
    /// nothing). The TCP table lists a socket in every state but CLOSE (the
    /// kernel unhashes a socket when it enters CLOSE), so a TCP socket seen
    /// only through its `fd` is in CLOSE: new, only bound, or reset.
    pub seen_in: SeenIn,
    /// Whether a program still holds an fd for it (the table's inode is not
    /// 0). TIME_WAIT connections never have one.
    pub has_fd: bool,
    pub recv_q: Option<u64>,
    pub send_q: Option<u64>,
    pub accept_q: Option<u64>,
    pub backlog: Option<u64>,
    pub timer: Option<Timer>,
    pub timer_ms: Option<u64>,
    pub drops: Option<u64>,
    /// Whether the lesson still holds its fd for this socket. It can while
    /// the table's entry has none (`has_fd` false): when the peer's FIN
    /// reaches a socket in FIN_WAIT2, the kernel moves the connection to a
    /// small TIME_WAIT record that belongs to no fd, and the socket behind
    /// the program's fd is left in CLOSE until the program closes it.
    #[serde(default)]
    pub fd_open: bool,
}

/// What the engine knows about one socket of the lesson, to find it in the
/// kernel's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub proto: Proto,
    pub local: SocketAddr,
    /// The peer of a connected socket (TCP connection, or a connected UDP
    /// socket); `None` for a listener or an unconnected UDP socket.
    pub peer: Option<SocketAddr>,
    /// Whether the program still holds the fd.
    pub open: bool,
    /// The state reported by this socket's last call, or while its call
    /// waits. Kept for the caller; the kernel's tables decide what is shown.
    pub last_state: Option<StateSeen>,
    /// A listener's accept-queue limit, read with TCP_INFO through its fd
    /// (the tables do not carry it; it is fixed by listen).
    pub backlog: Option<u64>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unspecified(a: SocketAddr) -> bool {
    a.ip().is_unspecified() && a.port() == 0
}

/// The table entry for a socket: same local address, and the same peer (or no
/// peer, for a listener or an unconnected UDP socket).
fn find(table: &[Entry], local: SocketAddr, peer: Option<SocketAddr>) -> Option<&Entry> {
    table.iter().find(|e| {
        e.local == local
            && match peer {
                Some(p) => e.remote == p,
                None => unspecified(e.remote),
            }
    })
}

/// Where TCP connections are looked up by address: sock_diag netlink, one
/// exact lookup per socket (fast however many sockets the machine has), or,
/// if netlink is unavailable, /proc/net/tcp read once.
enum TcpLookup {
    Diag(diag::Diag),
    Table(Vec<Entry>),
}

impl TcpLookup {
    fn open() -> TcpLookup {
        match diag::Diag::open() {
            Ok(d) => TcpLookup::Diag(d),
            Err(_) => TcpLookup::Table(procnet::tcp().unwrap_or_default()),
        }
    }

    fn find(&mut self, local: SocketAddr, peer: Option<SocketAddr>) -> Option<Entry> {
        match self {
            TcpLookup::Diag(d) => {
                if let Ok(e) = d.tcp(local, peer) {
                    e
                } else {
                    *self = TcpLookup::Table(procnet::tcp().unwrap_or_default());
                    self.find(local, peer)
                }
            }
            TcpLookup::Table(t) => find(t, local, peer).cloned(),
        }
    }

    fn source(&self) -> Source {
        match self {
            TcpLookup::Diag(_) => Source::SockDiag,
            TcpLookup::Table(_) => Source::ProcNetTcp,
        }
    }

    /// sock_diag reports a listener's accept-queue limit; /proc/net/tcp
    /// does not.
    fn has_backlog(&self) -> bool {
        matches!(self, TcpLookup::Diag(_))
    }
}

/// A TCP entry as the event's figures: for a listener the receive queue is
/// the accept queue, and (from sock_diag) the send queue its limit.
fn tcp_figures(e: &Entry, o: &mut Observed, backlog_known: bool) {
    if TcpState::from_kernel(e.state) == Some(TcpState::Listen) {
        o.accept_q = Some(e.rx_queue);
        o.backlog = backlog_known.then_some(e.tx_queue);
    } else {
        o.recv_q = Some(e.rx_queue);
        o.send_q = Some(e.tx_queue);
    }
    o.timer = e.timer;
    o.timer_ms = e.timer.map(|_| ms(e.timer_left));
}

/// The inode of the socket behind `fd` in this process, which is the `inode`
/// column of the tables.
fn inode(fd: RawFd) -> Option<u64> {
    std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|m| m.ino())
}

/// Observe a socket the program holds, through its fd. Returns the TCP state
/// (`None` for UDP) and the figures.
pub fn observe_fd(socket: &socket2::Socket, proto: Proto) -> (Option<StateSeen>, Observed) {
    let fd = socket.as_raw_fd();
    let rcvbuf = socket
        .recv_buffer_size()
        .ok()
        .and_then(|b| u64::try_from(b).ok());
    let sndbuf = socket
        .send_buffer_size()
        .ok()
        .and_then(|b| u64::try_from(b).ok());
    match proto {
        Proto::Tcp => match sockscope_sys::tcp_info::tcp_info(fd) {
            Ok(info) => {
                let state = TcpState::from_kernel(info.state);
                let listening = state == Some(TcpState::Listen);
                let o = Observed {
                    source: Source::TcpInfo,
                    recv_q: info.recv_q.map(u64::from),
                    send_q: info.send_q.map(u64::from),
                    accept_q: listening.then_some(u64::from(info.unacked)),
                    backlog: listening.then_some(u64::from(info.sacked)),
                    retransmits: Some(u64::from(info.total_retrans)),
                    rcvbuf,
                    sndbuf,
                    ..Observed::default()
                };
                (Some(state.map_or(StateSeen::NotObserved, StateSeen::Is)), o)
            }
            Err(_) => (Some(StateSeen::NotObserved), Observed::default()),
        },
        Proto::Udp => {
            let mut o = Observed {
                source: Source::ProcNetUdp,
                rcvbuf,
                sndbuf,
                ..Observed::default()
            };
            let ino = inode(fd);
            if let (Some(ino), Ok(table)) = (ino, procnet::udp())
                && let Some(e) = table.iter().find(|e| e.inode == ino)
            {
                o.recv_q = Some(e.rx_queue);
                o.send_q = Some(e.tx_queue);
                o.drops = e.drops;
            }
            (None, o)
        }
    }
}

/// What a TCP socket looks like just before close(2): its state, the bytes
/// it never read, and whether SO_LINGER is 0 (see [`Observed::state_before`]).
///
/// Its `source` is `none`: once the fd is closed, the kernel keeps nothing
/// for a socket that never had an address. A close whose connection lives
/// on is observed again afterwards ([`observe_closed_tcp`]), which replaces
/// the figures and their source.
pub fn before_close(socket: &socket2::Socket) -> Observed {
    let info = sockscope_sys::tcp_info::tcp_info(socket.as_raw_fd()).ok();
    Observed {
        source: Source::None,
        state_before: info.and_then(|i| TcpState::from_kernel(i.state)),
        unread_before: info.and_then(|i| i.recv_q).map(u64::from),
        linger_zero: socket.linger().ok().map(|l| l == Some(Duration::ZERO)),
        ..Observed::default()
    }
}

/// Observe a TCP connection whose fd is gone (just closed), in the kernel's
/// table, by its addresses. `None` state and source `none` when the kernel
/// keeps nothing: the connection is gone.
pub fn observe_closed_tcp(
    local: SocketAddr,
    peer: Option<SocketAddr>,
) -> (Option<StateSeen>, Observed) {
    let mut lookup = TcpLookup::open();
    // A socket closed without ever connecting or listening is in no table.
    match peer.and_then(|p| lookup.find(local, Some(p))) {
        Some(e) => {
            let mut o = Observed {
                source: lookup.source(),
                ..Observed::default()
            };
            tcp_figures(&e, &mut o, lookup.has_backlog());
            (TcpState::from_kernel(e.state).map(StateSeen::Is), o)
        }
        None => (
            None,
            Observed {
                source: Source::None,
                ..Observed::default()
            },
        ),
    }
}

/// How long [`settle`] waits for the kernel before reporting what it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// The program still holds the socket: wait until the peer has
    /// acknowledged what this call sent (its FIN, its data), even when the
    /// peer's kernel delays that acknowledgement (Linux's delayed ACK, about
    /// 40 ms on loopback). FIN_WAIT1, LAST_ACK, CLOSING, SYN_RECV and unacked
    /// bytes count as unsettled.
    Acknowledged,
    /// After close: the connection lives on without the program, and later
    /// events show how it goes on. Only wait for answers a peer sends at
    /// once (the ACK that ends LAST_ACK or CLOSING), not for a delayed ACK.
    Immediate,
}

/// The longest [`settle`] waits: well beyond Linux's delayed-ACK timer
/// (TCP_DELACK_MIN is 40 ms; a connection's ACK timeout can grow toward
/// TCP_DELACK_MAX, 200 ms).
pub const SETTLE_BUDGET: Duration = Duration::from_millis(300);

/// Re-read an observation until the kernel has settled (see [`Settle`]), or
/// until [`SETTLE_BUDGET`] is spent; then report what the kernel says, even
/// if it is still a passing state. When the state changed while waiting, the
/// first state seen and how long the wait took are kept in the observation
/// (`first_state`, `settle_ms`): a FIN_WAIT1 that lasted 40 ms is shown, not
/// hidden. It sleeps the calling thread between reads: it runs in the thread
/// of the actor that made the call, which has nothing else to do meanwhile.
pub fn settle<F>(mode: Settle, mut observe: F) -> (Option<StateSeen>, Observed)
where
    F: FnMut() -> (Option<StateSeen>, Observed),
{
    let unsettled = |seen: &(Option<StateSeen>, Observed)| {
        let Some(st) = seen.0.and_then(StateSeen::state) else {
            return false;
        };
        match mode {
            Settle::Acknowledged => {
                st.is_passing()
                    || matches!(st, TcpState::Established | TcpState::CloseWait)
                        && seen.1.send_q.is_some_and(|q| q > 0)
            }
            Settle::Immediate => matches!(
                st,
                TcpState::LastAck | TcpState::Closing | TcpState::SynRecv
            ),
        }
    };
    let started = std::time::Instant::now();
    let mut seen = observe();
    let first = seen.0;
    let mut waited = false;
    while unsettled(&seen) && started.elapsed() < SETTLE_BUDGET {
        waited = true;
        std::thread::sleep(Duration::from_millis(1));
        seen = observe();
    }
    if waited {
        seen.1.settle_ms = Some(ms(started.elapsed()));
        if seen.0 != first {
            seen.1.first_state = Some(first.unwrap_or(StateSeen::Nothing));
        }
    }
    seen
}

/// Look up every known socket in the kernel's tables. Keys are the lesson's
/// `actor:sock` names.
pub fn snapshot(known: &BTreeMap<String, Known>) -> BTreeMap<String, SockView> {
    let mut tcp = known
        .values()
        .any(|k| k.proto == Proto::Tcp)
        .then(TcpLookup::open);
    let udp = if known.values().any(|k| k.proto == Proto::Udp) {
        procnet::udp().unwrap_or_default()
    } else {
        Vec::new()
    };
    known
        .iter()
        .map(|(name, k)| (name.clone(), view(k, tcp.as_mut(), &udp)))
        .collect()
}

fn view(k: &Known, tcp: Option<&mut TcpLookup>, udp: &[Entry]) -> SockView {
    let mut v = SockView {
        proto: k.proto,
        local: k.local.to_string(),
        peer: k.peer.map(|p| p.to_string()),
        tcp_state: None,
        seen_in: SeenIn::Gone,
        has_fd: false,
        recv_q: None,
        send_q: None,
        accept_q: None,
        backlog: None,
        timer: None,
        timer_ms: None,
        drops: None,
        fd_open: k.open,
    };
    let (entry, backlog_known) = match (k.proto, tcp) {
        (Proto::Tcp, Some(t)) => (t.find(k.local, k.peer), t.has_backlog()),
        (Proto::Tcp, None) => (None, false),
        (Proto::Udp, _) => (find(udp, k.local, k.peer).cloned(), false),
    };
    // A closed socket's entry must have no inode, or it is some other
    // socket that reused the address.
    let entry = entry.filter(|e| k.open || e.inode == 0);
    match entry {
        Some(e) => {
            v.seen_in = SeenIn::Table;
            v.has_fd = e.inode != 0;
            let mut o = Observed::default();
            match k.proto {
                Proto::Tcp => {
                    tcp_figures(&e, &mut o, backlog_known);
                    v.tcp_state = TcpState::from_kernel(e.state);
                }
                Proto::Udp => {
                    o.recv_q = Some(e.rx_queue);
                    o.send_q = Some(e.tx_queue);
                    v.drops = e.drops;
                }
            }
            v.recv_q = o.recv_q;
            v.send_q = o.send_q;
            v.accept_q = o.accept_q;
            v.backlog = o.backlog.or(o.accept_q.and(k.backlog));
            v.timer = o.timer;
            v.timer_ms = o.timer_ms;
        }
        None if k.open => {
            v.seen_in = SeenIn::Fd;
            v.has_fd = true;
            if k.proto == Proto::Tcp {
                v.tcp_state = Some(TcpState::Close);
            }
        }
        None => {}
    }
    v
}

/// Re-read the kernel's view of the sockets of an earlier snapshot, for a
/// screen that is paused between calls. Sockets seen only through their fd
/// keep what their last call reported (nothing about them changes without a
/// call).
#[must_use]
pub fn refresh(previous: &BTreeMap<String, SockView>) -> BTreeMap<String, SockView> {
    let known: BTreeMap<String, Known> = previous
        .iter()
        .filter_map(|(name, v)| {
            Some((
                name.clone(),
                Known {
                    proto: v.proto,
                    local: v.local.parse().ok()?,
                    peer: v.peer.as_deref().and_then(|p| p.parse().ok()),
                    open: v.fd_open
                        || v.seen_in != SeenIn::Gone && v.has_fd
                        || v.seen_in == SeenIn::Fd,
                    last_state: v.tcp_state.map(StateSeen::Is),
                    backlog: v.backlog,
                },
            ))
        })
        .collect();
    snapshot(&known)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn known(local: SocketAddr, peer: Option<SocketAddr>, open: bool) -> Known {
        Known {
            proto: Proto::Tcp,
            local,
            peer,
            open,
            last_state: None,
            backlog: None,
        }
    }

    #[test]
    fn the_side_that_closes_first_is_found_in_time_wait_without_an_fd() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let (cl, sl) = (c.local_addr().unwrap(), s.local_addr().unwrap());
        drop(c);
        drop(s);
        let mut m = BTreeMap::new();
        m.insert("client:sock".to_string(), known(cl, Some(sl), false));
        m.insert("server:conn".to_string(), known(sl, Some(cl), false));
        let mut snap = snapshot(&m);
        for _ in 0..100 {
            if snap["server:conn"].seen_in == SeenIn::Gone {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
            snap = snapshot(&m);
        }
        let c = &snap["client:sock"];
        assert_eq!(c.tcp_state, Some(TcpState::TimeWait));
        assert!(!c.has_fd);
        assert_eq!(c.timer, Some(Timer::TimeWait));
        let left = c.timer_ms.unwrap();
        assert!(
            left > 50_000 && left <= 60_000,
            "TIME_WAIT lasts 60 s: {left}"
        );
        assert_eq!(snap["server:conn"].seen_in, SeenIn::Gone);
        assert_eq!(snap["server:conn"].tcp_state, None);
        // And refresh finds the same, with the timer no further than before.
        let again = refresh(&snap);
        assert_eq!(again["client:sock"].tcp_state, Some(TcpState::TimeWait));
        assert!(again["client:sock"].timer_ms.unwrap() <= left);
    }

    #[test]
    fn a_listener_has_accept_queue_and_backlog() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut m = BTreeMap::new();
        m.insert(
            "s:l".to_string(),
            known(l.local_addr().unwrap(), None, true),
        );
        let v = &snapshot(&m)["s:l"];
        assert_eq!(v.tcp_state, Some(TcpState::Listen));
        assert!(v.has_fd);
        assert_eq!(v.accept_q, Some(0));
        let (st, o) = observe_fd(&socket2::Socket::from(l), Proto::Tcp);
        assert_eq!(st, Some(StateSeen::Is(TcpState::Listen)));
        assert_eq!(o.accept_q, Some(0));
    }
}
