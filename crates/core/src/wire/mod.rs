//! The wire view's engine side: capture the frames sockscope's own sockets put
//! on `lo`, decide which call caused each, decode them layer by layer, and
//! export them as pcap. No terminal code: the TUI and `trace` both read the
//! [`Segment`]s attached to events and the frames in a run's [`Wire`].
//!
//! - [`capture`]: the non-blocking packet socket, drained between calls.
//! - [`filter`]: the in-kernel filter that keeps only our ports' frames.
//! - [`track`]: which frames are ours and which event each belongs to.
//! - [`segment`]: the packet model events carry (`segments` in JSON).
//! - [`decode`]: a frame split into link, IPv4, TCP/UDP/ICMP and payload.
//! - [`describe`]: that split written out for the packet pane, and a hex dump
//!   whose bytes know their layer.
//! - [`pcap`]: pcap export.
//! - [`recorder`]: one run's capture as the engine and the tracer use it:
//!   the packet socket, the tracker and the wire, kept together.

pub mod capture;
pub mod decode;
pub mod describe;
pub mod filter;
pub mod pcap;
pub mod recorder;
pub mod segment;
pub mod track;

pub use capture::{CaptureStatus, enable_hint};
pub use segment::{Direction, Frame, Segment, WireProto};

use std::sync::{Arc, Mutex, MutexGuard};

/// What a run captured, shared between the engine (which fills it) and its
/// consumers (the packet pane, `w` in the TUI, `trace --pcap`).
#[derive(Debug, Clone, Default)]
pub struct Wire(Arc<Mutex<WireState>>);

#[derive(Debug, Clone, Default)]
pub struct WireState {
    pub status: CaptureStatus,
    /// Every frame of ours, in capture order (`n` = index + 1).
    pub frames: Vec<Frame>,
    /// Frames of ours not kept because the per-run bound was reached.
    pub not_kept: u64,
    /// Packets of ours that arrived after the last event of their
    /// connection (collected when the run ends), so no event carries them.
    pub after_last_call: Vec<Segment>,
}

impl Wire {
    #[must_use]
    pub fn new(status: CaptureStatus) -> Wire {
        Wire(Arc::new(Mutex::new(WireState {
            status,
            ..WireState::default()
        })))
    }

    fn lock(&self) -> MutexGuard<'_, WireState> {
        crate::sync::lock(&self.0)
    }

    #[must_use]
    pub fn status(&self) -> CaptureStatus {
        self.lock().status.clone()
    }

    pub fn set_status(&self, status: CaptureStatus) {
        self.lock().status = status;
    }

    /// A copy of every frame captured so far.
    #[must_use]
    pub fn frames(&self) -> Vec<Frame> {
        self.lock().frames.clone()
    }

    pub fn push(&self, frames: Vec<Frame>, not_kept: u64) {
        let mut s = self.lock();
        s.frames.extend(frames);
        s.not_kept = not_kept;
    }

    /// Packets no event carries (see [`WireState::after_last_call`]).
    #[must_use]
    pub fn after_last_call(&self) -> Vec<Segment> {
        self.lock().after_last_call.clone()
    }

    pub fn set_after_last_call(&self, segments: Vec<Segment>) {
        self.lock().after_last_call = segments;
    }

    /// Write every frame captured so far to `path` as pcap.
    pub fn write_pcap(&self, path: &std::path::Path) -> std::io::Result<usize> {
        let frames = self.frames();
        pcap::write_file(path, &frames)?;
        Ok(frames.len())
    }

    /// Write every frame captured so far as pcap to `out` (a file the
    /// caller created, e.g. with `create_new`).
    pub fn write_pcap_to(&self, out: impl std::io::Write) -> std::io::Result<usize> {
        let frames = self.frames();
        pcap::write(std::io::BufWriter::new(out), &frames).map_err(std::io::Error::other)?;
        Ok(frames.len())
    }
}
