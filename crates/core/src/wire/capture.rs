//! The live capture: the packet socket on `lo`, drained without ever waiting.
//!
//! The engine calls [`Capture::drain`] each time it produces an event, and
//! [`Capture::settle`] once at the end of a run to pick up the last replies.
//! Reads are bounded per drain, so other programs' loopback traffic can never
//! hold a lesson up; frames are copied out at their real length.

use super::filter;
use super::segment::Frame;
use socket2::SockFilter;
use sockscope_sys::packet;
use std::collections::BTreeSet;
use std::io;

/// Room for the largest frame `lo` hands over: with GSO a TCP "packet" on
/// loopback can be up to 64 KiB of payload plus headers, more than the MTU.
pub const FRAME_BUF: usize = 256 * 1024;

/// At most this many frames per drain; the rest wait in the kernel for the
/// next one.
const MAX_PER_DRAIN: usize = 20_000;

/// Why there is no capture in a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CaptureStatus {
    /// Capture ran for this run.
    Running,
    /// Turned off on purpose (`--no-capture`).
    #[default]
    Disabled,
    /// The process may not open a packet socket (no CAP_NET_RAW).
    Unprivileged,
    /// Opening or reading the packet socket failed; the message says how.
    Failed(String),
}

impl CaptureStatus {
    #[must_use]
    pub fn running(&self) -> bool {
        matches!(self, CaptureStatus::Running)
    }

    /// What to tell the user about capture, once: `None` when it runs or was
    /// turned off on purpose.
    #[must_use]
    pub fn notice(&self) -> Option<String> {
        match self {
            CaptureStatus::Running | CaptureStatus::Disabled => None,
            CaptureStatus::Unprivileged => Some(enable_hint()),
            CaptureStatus::Failed(e) => Some(format!(
                "packet capture failed ({e}); the arrows show the expected packets"
            )),
        }
    }
}

/// How to let sockscope capture, naming this binary's real path.
#[must_use]
pub fn enable_hint() -> String {
    let exe =
        std::env::current_exe().map_or_else(|_| "sockscope".into(), |p| p.display().to_string());
    format!(
        "packet capture needs CAP_NET_RAW, so the arrows show the expected packets, not captured ones. \
         To capture, run with sudo, or once: sudo setcap cap_net_raw+ep {exe}"
    )
}

/// An open capture on `lo`.
pub struct Capture {
    sock: socket2::Socket,
    buf: Vec<u8>,
    /// The ports the in-kernel filter keeps now.
    ports: BTreeSet<u16>,
}

fn compile(ports: &BTreeSet<u16>) -> Vec<SockFilter> {
    filter::program(ports)
        .into_iter()
        .map(|i| SockFilter::new(i.code, i.jt, i.jf, i.k))
        .collect()
}

impl Capture {
    /// Open the packet socket, or say why not. It keeps nothing (but ICMP)
    /// until [`Capture::set_ports`] names ports.
    pub fn open() -> Result<Capture, CaptureStatus> {
        let ports = BTreeSet::new();
        match packet::open_loopback(&compile(&ports)) {
            Ok(sock) => Ok(Capture {
                sock,
                buf: vec![0; FRAME_BUF],
                ports,
            }),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
                Err(CaptureStatus::Unprivileged)
            }
            Err(e) => Err(CaptureStatus::Failed(e.to_string())),
        }
    }

    /// Keep the frames to or from `ports` from now on (frames already queued
    /// stay).
    pub fn set_ports(&mut self, ports: &BTreeSet<u16>) -> io::Result<()> {
        if *ports != self.ports {
            self.sock.attach_filter(&compile(ports))?;
            self.ports.clone_from(ports);
        }
        Ok(())
    }

    /// Read every frame queued now (up to a bound), without waiting.
    /// Returns how many were read.
    pub fn drain(&mut self, out: &mut Vec<Frame>) -> io::Result<usize> {
        let mut read = 0;
        while read < MAX_PER_DRAIN {
            let (len, stamp) = match packet::recv_frame(&self.sock, &mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            // Always present with SO_TIMESTAMPNS on; the read time only
            // guards against a kernel that omits it.
            let time = stamp.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
            });
            let kept = len.min(self.buf.len());
            out.push(Frame {
                n: 0,
                time,
                data: self.buf[..kept].to_vec(),
                orig_len: u32::try_from(len).unwrap_or(u32::MAX),
            });
            read += 1;
        }
        Ok(read)
    }
}
