//! `serve` over UDP: one socket, one datagram at a time.
//!
//! UDP has no connections to accept: every datagram arrives on the server's
//! one socket, with its sender's address. So the loop is recvfrom (which
//! returns one whole datagram and who sent it) and sendto back to that
//! address; each sender address gets its own lane (`peer1`, `peer2`, ...)
//! up to `max_peers`, and datagrams from further senders appear in the
//! server's own lane. Boundaries are kept, as UDP promises: one datagram in,
//! the same datagram out. Readiness works as for TCP ([`super::tcp`]): the
//! socket is edge-triggered, so the loop receives until EAGAIN, then waits
//! in epoll_wait.

use super::out::Out;
use super::run::{
    BUDGET, EVENTS, LISTENER, PAUSE, Ready, close_listener, found_nothing, wait, woken, would_block,
};
use super::{PeerRow, ServeConfig, UDP_READ_MAX, calls, event};
use crate::vocab::{Call, Proto, preview};
use mio::{Events, Poll};
use socket2::Socket;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub(super) struct Udp {
    out: Out,
    poll: Poll,
    sock: Socket,
    fd: i32,
    local: SocketAddr,
    max_peers: usize,
    /// Each sender's address and its lane, up to `max_peers` of them;
    /// datagrams from further senders appear in the server's own lane.
    lanes: HashMap<SocketAddr, String>,
    /// Senders beyond the lanes, counted for [`super::Stats::seen`].
    others: std::collections::HashSet<SocketAddr>,
    readable: bool,
    waiting_since: Option<Instant>,
    datagram: Vec<u8>,
}

impl Udp {
    pub(super) fn new(out: Out, ready: Ready, config: ServeConfig) -> Udp {
        Udp {
            out,
            poll: ready.poll,
            fd: ready.sock.as_raw_fd(),
            sock: ready.sock,
            local: ready.local,
            max_peers: config.max_peers,
            lanes: HashMap::new(),
            others: std::collections::HashSet::new(),
            readable: true,
            waiting_since: None,
            datagram: vec![0; UDP_READ_MAX],
        }
    }

    /// The lane of sender `from`: its own while there are lanes left, else
    /// the server's. A new sender is counted once, lane or not (the set of
    /// senders beyond the lanes is bounded too, so a flood of spoofed source
    /// ports cannot grow it without end).
    fn lane(&mut self, from: SocketAddr, at: Instant) -> String {
        if let Some(l) = self.lanes.get(&from) {
            return l.clone();
        }
        if self.lanes.len() >= self.max_peers {
            if self.others.len() < 65_536 && self.others.insert(from) {
                self.out.shared.stats().seen += 1;
            }
            return "server".into();
        }
        let l = format!("peer{}", self.lanes.len() + 1);
        self.lanes.insert(from, l.clone());
        self.out.shared.stats().seen += 1;
        self.out.shared.add_row(PeerRow {
            actor: l.clone(),
            addr: from,
            fd: self.fd,
            bytes_in: 0,
            bytes_out: 0,
            state: "open".into(),
            last_heard: at,
        });
        l
    }

    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS);
        while !self.out.shared.stop.load(Ordering::SeqCst) {
            let timeout = match (self.readable, self.out.room()) {
                (true, true) => Some(Duration::ZERO),
                (true, false) => Some(PAUSE),
                (false, _) => None,
            };
            wait(&mut self.poll, &mut events, timeout);
            if events.iter().any(|e| e.token() == LISTENER) {
                self.readable = true;
            }
            for _ in 0..BUDGET {
                if !self.readable || !self.out.room() || self.out.shared.stop.load(Ordering::SeqCst)
                {
                    break;
                }
                self.one_datagram();
            }
        }
        close_listener(&mut self.out, self.sock, Proto::Udp, self.local);
    }

    /// recvfrom one datagram and sendto it back.
    ///
    /// The echo is one sendto of exactly the bytes received, to the address
    /// they came from: a datagram's boundaries are kept, as UDP promises,
    /// and nothing is merged or split.
    fn one_datagram(&mut self) {
        let mut ev = event(
            "server",
            Call::Recvfrom,
            "listener",
            Proto::Udp,
            Some(self.fd),
        );
        ev.local = Some(self.local.to_string());
        let result = calls::recvfrom(&mut ev, &self.sock, &mut self.datagram);
        let at = Instant::now();
        let (n, from) = match result {
            Ok(x) => x,
            Err(e) if would_block(&e) => {
                self.readable = false;
                found_nothing(&mut ev, &e, "no datagram queued", "EPOLLIN");
                self.waiting_since = Some(at);
                self.out.event_then_wait(ev, at);
                return;
            }
            Err(e) => {
                // An ICMP error from an earlier reply (ECONNREFUSED: the
                // peer's port is closed) surfaces on the next call. Report it
                // and keep serving.
                ev.fail(&e);
                self.out.event(ev, at);
                return;
            }
        };
        let actor = self.lane(from, at);
        ev.actor.clone_from(&actor);
        ev.peer = Some(from.to_string());
        ev.bytes = Some(n);
        ev.data = Some(preview::preview(&self.datagram[..n]));
        woken(&mut ev, self.waiting_since.take(), at, "EPOLLIN");
        self.out.event(ev, at);
        self.out.shared.stats().bytes_in += n as u64;

        let buf = &self.datagram[..n];
        let mut ev = event(&actor, Call::Sendto, "listener", Proto::Udp, Some(self.fd));
        ev.local = Some(self.local.to_string());
        ev.peer = Some(from.to_string());
        let sent = calls::sendto(&mut ev, &self.sock, buf, from);
        let at = Instant::now();
        match sent {
            Ok(k) => {
                ev.bytes = Some(k);
                ev.data = Some(preview::preview(&buf[..k]));
                self.out.shared.stats().bytes_out += k as u64;
                self.out.shared.row(&actor, |r| {
                    r.bytes_in += n as u64;
                    r.bytes_out += k as u64;
                    r.last_heard = at;
                });
            }
            // A full send buffer drops the echo (UDP promises nothing);
            // reported, not retried.
            Err(e) => ev.fail(&e),
        }
        self.out.event(ev, at);
    }
}
