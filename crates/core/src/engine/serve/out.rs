//! Where `serve`'s events go: numbered, time-stamped, counted, and handed
//! to the consumer without ever blocking; and the shared counts and peers
//! table [`super::Server`] reads.
//!
//! The consumer (the screen, `serve --headless`) reads a bounded channel.
//! A server thread that blocked on a full channel would stop accepting and
//! stop seeing the stop request, so it never does: before each call the loop
//! asks [`Out::room`], and makes the call only when everything the call can
//! report fits. A full channel therefore pauses the server's calls (the
//! kernel keeps the peers' bytes and handshakes queued meanwhile) and no
//! event is ever lost to it.

use super::{CLOSED_KEPT, PeerRow, Shared};
use crate::engine::EngineMsg;
use crate::event::{Event, Waiting};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Room the event channel must have before the server makes a call: the
/// most events one call can lead to (an accept that makes another peer
/// yield its slot reports the accept and that peer's close).
const RESERVE: usize = 4;

/// Where the server's events go: numbered, time-stamped, counted, and sent
/// without ever blocking.
pub(crate) struct Out {
    tx: mpsc::Sender<EngineMsg>,
    pub(super) shared: Arc<Shared>,
    started: Instant,
    seq: u64,
}

impl Out {
    pub(crate) fn new(tx: mpsc::Sender<EngineMsg>, shared: Arc<Shared>) -> Out {
        Out {
            tx,
            shared,
            started: Instant::now(),
            seq: 0,
        }
    }

    /// Is there room for what the next call may report?
    pub(super) fn room(&self) -> bool {
        self.tx.is_closed() || self.tx.capacity() >= RESERVE
    }

    fn since_start(&self, at: Instant) -> u64 {
        crate::engine::actor::duration_us(at.saturating_duration_since(self.started))
    }

    /// Report `ev`, which returned at `at`. The caller checked [`Out::room`],
    /// so this never has to wait; a consumer that went away just stops
    /// listening.
    pub(super) fn event(&mut self, mut ev: Event, at: Instant) {
        self.seq += 1;
        ev.seq = self.seq;
        ev.t_us = self.since_start(at);
        self.shared.stats().events += 1;
        let _ = self.tx.try_send(EngineMsg::Event(Box::new(ev)));
    }

    /// The last events, at stop: wait a little for room, within a bound.
    pub(super) fn last_event(&mut self, ev: Event, at: Instant, deadline: Instant) {
        while !self.room() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.event(ev, at);
    }

    /// Report `ev`, a call that found nothing to do (EAGAIN), then tell the
    /// consumer the server now waits in epoll_wait for that socket (the TUI
    /// shows the call as "waiting" until it returns).
    pub(super) fn event_then_wait(&mut self, ev: Event, at: Instant) {
        let w = Waiting {
            step: 0,
            actor: ev.actor.clone(),
            call: ev.call,
            sock: ev.sock.clone(),
            fd: ev.fd,
            args: ev.args.clone(),
            t_us: self.since_start(at),
            local: None,
            tcp_state: None,
            proto: ev.proto,
            // It waits in epoll_wait, not in the call: nothing of a
            // sleeping call to read.
            syscall: None,
            wchan: None,
            kernel_syscall: None,
            tid: None,
        };
        self.event(ev, at);
        let _ = self.tx.try_send(EngineMsg::Waiting(w));
    }
}

impl Shared {
    pub(super) fn stats(&self) -> std::sync::MutexGuard<'_, super::Stats> {
        crate::sync::lock(&self.stats)
    }

    /// Change the open peer `actor`'s row.
    pub(super) fn row(&self, actor: &str, f: impl FnOnce(&mut PeerRow)) {
        let mut p = crate::sync::lock(&self.peers);
        if let Some(r) = p.0.iter_mut().find(|r| r.actor == actor) {
            f(r);
        }
    }

    pub(super) fn add_row(&self, row: PeerRow) {
        let mut p = crate::sync::lock(&self.peers);
        p.0.push(row);
    }

    /// Move `actor`'s row to the closed ones, saying how it ended.
    pub(super) fn close_row(&self, actor: &str, state: &str) {
        let mut p = crate::sync::lock(&self.peers);
        if let Some(i) = p.0.iter().position(|r| r.actor == actor) {
            let mut row = p.0.remove(i);
            row.state = state.to_string();
            p.1.push_front(row);
            p.1.truncate(CLOSED_KEPT);
        }
    }
}
