//! One run's capture, as both drivers of real sockets use it (the lesson
//! engine, and the tracer of a student's programs): the packet socket, the
//! [`Tracker`] that says whose each frame is, and the [`Wire`] the
//! consumers read. A capture error is shown (the wire's status) and the run
//! goes on without capture.
//!
//! The order of use: [`Recorder::expect_port`] before a call that names a
//! port (so its first packet is kept), [`Recorder::captured_for`] as soon
//! as the call has returned (on loopback its packets are queued by then),
//! and after the last call [`Recorder::settle_round`] until it says done,
//! then [`Recorder::finish`].

use super::Wire;
use super::capture::{Capture, CaptureStatus};
use super::segment::Segment;
use super::track::Tracker;
use std::net::SocketAddr;
use std::time::SystemTime;

/// How many settle rounds at most (each after a short sleep the caller
/// takes): about 200 ms with the drivers' 2 ms.
pub const SETTLE_ROUNDS: usize = 100;

/// The capture of one run.
pub struct Recorder {
    capture: Option<Capture>,
    tracker: Tracker,
    wire: Wire,
}

impl Recorder {
    /// A recorder for `capture` (`None`: nothing is captured, and `wire`'s
    /// status says why).
    #[must_use]
    pub fn new(capture: Option<Capture>, wire: Wire) -> Recorder {
        Recorder {
            capture,
            tracker: Tracker::new(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default(),
            ),
            wire,
        }
    }

    /// Open the packet socket when `capture` is asked for and allowed; the
    /// wire's status says whether it runs, or why not.
    #[must_use]
    pub fn open(capture: bool) -> Recorder {
        let (capture, status) = if capture {
            match Capture::open() {
                Ok(c) => (Some(c), CaptureStatus::Running),
                Err(status) => (None, status),
            }
        } else {
            (None, CaptureStatus::Disabled)
        };
        Recorder::new(capture, Wire::new(status))
    }

    /// What was captured, and whether capture runs.
    #[must_use]
    pub fn wire(&self) -> Wire {
        self.wire.clone()
    }

    /// Whether the packet socket is open.
    #[must_use]
    pub fn running(&self) -> bool {
        self.capture.is_some()
    }

    fn failed(&mut self, e: &std::io::Error) {
        self.capture = None;
        self.wire.set_status(CaptureStatus::Failed(e.to_string()));
    }

    /// A port a call is about to use (a bind's, a connect's or a sendto's
    /// destination): the in-kernel filter keeps its frames from now on.
    pub fn expect_port(&mut self, port: u16) {
        let Some(capture) = self.capture.as_mut() else {
            return;
        };
        self.tracker.expect_port(port);
        if let Err(e) = capture.set_ports(self.tracker.ports()) {
            self.failed(&e);
        }
    }

    /// Drain the capture once a call by `owner` on the socket at `local`
    /// (talking to `peer`; addresses as events write them, `127.0.0.1:80`)
    /// has returned, and take the frames of its connection. With `attach` false the frames are kept for a later
    /// call of that connection (the one that caused them). `close` says
    /// the call closed the socket, whose address is then forgotten.
    /// `None` while capture does not run: not observed.
    pub fn captured_for(
        &mut self,
        owner: &str,
        (local, peer): (Option<&str>, Option<&str>),
        close: bool,
        attach: bool,
    ) -> Option<Vec<Segment>> {
        let capture = self.capture.as_mut()?;
        let parse = |a: Option<&str>| a.and_then(|a| a.parse::<SocketAddr>().ok());
        let (local, peer) = (parse(local), parse(peer));
        self.tracker.learn(owner, local, peer);
        let mut frames = Vec::new();
        if let Err(e) = capture
            .set_ports(self.tracker.ports())
            .and_then(|()| capture.drain(&mut frames))
        {
            self.failed(&e);
            return None;
        }
        let ours = self.tracker.take(frames);
        self.wire.push(ours, self.tracker.not_kept);
        if !attach {
            return Some(Vec::new());
        }
        let segments = self.tracker.attach(local, peer);
        if let (true, Some(l), None) = (close, local, peer) {
            self.tracker.forget(l);
        }
        Some(segments)
    }

    /// After the last call: one round of collecting the frames still on
    /// their way (a FIN or ACK the receiving stack handled after its call
    /// returned). True when there is nothing more to wait for: capture is
    /// off or failed, or the round brought nothing of ours and no
    /// connection is half-way through its teardown.
    pub fn settle_round(&mut self) -> bool {
        let Some(capture) = self.capture.as_mut() else {
            return true;
        };
        let mut frames = Vec::new();
        if let Err(e) = capture.drain(&mut frames) {
            self.failed(&e);
            return true;
        }
        let ours = self.tracker.take(frames);
        let quiet = ours.is_empty();
        self.wire.push(ours, self.tracker.not_kept);
        quiet && !self.tracker.teardown_pending()
    }

    /// The run is over: the packets no call took go to the wire's
    /// after-last-call list, and the packet socket is closed.
    pub fn finish(&mut self) {
        if self.capture.take().is_some() {
            self.wire
                .set_after_last_call(self.tracker.take_unattached());
        }
    }
}
