//! The packet socket behind the wire view: an `AF_PACKET` socket bound to the
//! loopback interface, so sockscope can read the frames its own sockets put
//! on `lo`.
//!
//! Opening one needs `CAP_NET_RAW` (root, or `setcap cap_net_raw+ep` on the
//! binary); without it `socket(2)` fails with `EPERM` and the caller says so
//! on screen. The socket is non-blocking: the engine drains it between calls
//! and must never wait on it. What is `unsafe` here is only what socket2 does
//! not wrap: building a `sockaddr_ll`, integer socket options by number, and
//! the interface index lookup. Each frame is read with nix's `recvmsg`, which
//! hands back its receive timestamp as a typed control message.

use socket2::{Domain, SockAddr, SockAddrStorage, SockFilter, Socket, Type};
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

// The option numbers come from libc, which has each architecture's values
// (SO_RCVBUFFORCE is 33 on x86 and arm but 0x100b on sparc; SO_TIMESTAMPNS
// differs on mips, sparc and where time_t is 32 bits):
// - `SO_RCVBUFFORCE`: like `SO_RCVBUF`, but a privileged process may exceed
//   `net.core.rmem_max`. We hold `CAP_NET_RAW`, not necessarily
//   `CAP_NET_ADMIN`, so `SO_RCVBUF` is the fallback.
// - `SO_TIMESTAMPNS`: a receive timestamp with every frame, as an
//   `SCM_TIMESTAMPNS` control message.

/// The receive buffer asked for: several MiB, so a burst of frames between
/// two drains (including other programs' loopback traffic, which we read and
/// discard) fits without the kernel dropping ours.
pub const RCVBUF_BYTES: usize = 8 << 20;

/// Open a non-blocking packet socket that receives the frames on `lo` that
/// `filter` keeps. On `lo` every frame is seen twice, once on its way out
/// and once arriving; which copy to keep is the filter's choice.
pub fn open_loopback(filter: &[SockFilter]) -> io::Result<Socket> {
    // Protocol 0: the socket receives nothing until bind names a protocol and
    // an interface, so no frame from another interface slips in between.
    let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
    sock.set_nonblocking(true)?;
    if set_int(
        &sock,
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        RCVBUF_BYTES as i32,
    )
    .is_err()
    {
        sock.set_recv_buffer_size(RCVBUF_BYTES)?;
    }
    // Ask for each frame's receive timestamp. The kernel turns software
    // receive stamping on for the whole stack when the first socket asks
    // (deferred to a work item); a frame that arrived before that is stamped
    // when it is read.
    set_int(&sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    // The filter goes on before bind, so no unfiltered frame is ever queued.
    sock.attach_filter(filter)?;
    sock.bind(&loopback_addr(loopback_index()?))?;
    Ok(sock)
}

/// The interface index of `lo`.
fn loopback_index() -> io::Result<u32> {
    // SAFETY: the argument is a NUL-terminated C string literal that lives for
    // the whole program; if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

/// `sockaddr_ll { AF_PACKET, htons(ETH_P_ALL), ifindex }`: every protocol, on
/// one interface.
fn loopback_addr(ifindex: u32) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is one of this platform's `sockaddr_*` types and is
    // smaller than `sockaddr_storage` (view_as asserts it); the storage is
    // zeroed, which is a valid `sockaddr_ll`.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    ll.sll_ifindex = ifindex as i32;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds a fully initialised `sockaddr_ll` of `len`
    // bytes with its family set to AF_PACKET.
    unsafe { SockAddr::new(storage, len) }
}

fn set_int(sock: &Socket, level: libc::c_int, name: libc::c_int, value: i32) -> io::Result<()> {
    let value: libc::c_int = value;
    // SAFETY: the fd is open (owned by `sock`), the pointer is to a live
    // `c_int` and the length passed is exactly its size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Read one frame into `buf` without waiting. Returns the frame's full length
/// (more than `buf.len()` if it did not fit: `MSG_TRUNC`) and the kernel's
/// receive timestamp (`SCM_TIMESTAMPNS`, the clock tcpdump records, as time
/// since the Unix epoch), or `WouldBlock` when no frame is queued.
///
/// nix's `recvmsg` builds the `msghdr` and walks the control messages
/// (CMSG_FIRSTHDR / CMSG_NXTHDR, alignment included), so none of that is
/// hand-written here.
pub fn recv_frame(sock: &Socket, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut iov = [io::IoSliceMut::new(buf)];
    // Room for the timestamp message (and a spare one), on the stack: this
    // runs for every frame.
    let mut control = [0u8; 64];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_TRUNC,
    )
    .map_err(io::Error::from)?;
    let mut time = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(ts) = c {
            // A receive time is after the epoch; a negative one would be a
            // kernel bug, and is left out rather than wrapped.
            if let (Ok(sec), Ok(nsec)) = (u64::try_from(ts.tv_sec()), u32::try_from(ts.tv_nsec())) {
                time = Some(Duration::new(sec, nsec));
            }
        }
    }
    Ok((msg.bytes, time))
}
