//! The packet socket behind the wire view: an `AF_PACKET` socket bound to the
//! loopback interface, so sockscope can read the frames its own sockets put
//! on `lo`.
//!
//! Opening one needs `CAP_NET_RAW` (root, or `setcap cap_net_raw+ep` on the
//! binary); without it `socket(2)` fails with `EPERM` and the caller says so
//! on screen. The socket is non-blocking: the engine drains it between calls
//! and must never wait on it. What is `unsafe` here is only what socket2 does
//! not wrap: building a `sockaddr_ll`, two integer socket options by number,
//! the interface index lookup, and `recvmsg` to read each frame with its
//! receive timestamp.

use socket2::{Domain, SockAddr, SockAddrStorage, SockFilter, Socket, Type};
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// `SOL_PACKET` from `<linux/socket.h>`.
const SOL_PACKET: libc::c_int = 263;
/// `PACKET_IGNORE_OUTGOING` from `<linux/if_packet.h>` (Linux 4.20+): do not
/// hand this socket the copy of a frame taken on its way out. On `lo` every
/// frame is both sent and received, so without it each one would be read
/// twice.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `SO_RCVBUFFORCE`: like `SO_RCVBUF`, but a privileged process may exceed
/// `net.core.rmem_max`. We hold `CAP_NET_RAW`, not necessarily
/// `CAP_NET_ADMIN`, so `SO_RCVBUF` is the fallback.
const SO_RCVBUFFORCE: libc::c_int = 33;
/// `SO_TIMESTAMPNS` (`SO_TIMESTAMPNS_OLD`, the 64-bit-time form on 64-bit
/// targets); also the type of the `SCM_TIMESTAMPNS` control message.
const SO_TIMESTAMPNS: libc::c_int = 35;

/// The receive buffer asked for: several MiB, so a burst of frames between
/// two drains (including other programs' loopback traffic, which we read and
/// discard) fits without the kernel dropping ours.
pub const RCVBUF_BYTES: usize = 8 << 20;

/// Open a non-blocking packet socket that receives the frames arriving on
/// `lo` that `filter` keeps (and none of the outgoing copies).
pub fn open_loopback(filter: &[SockFilter]) -> io::Result<Socket> {
    // Protocol 0: the socket receives nothing until bind names a protocol and
    // an interface, so no frame from another interface slips in between.
    let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
    sock.set_nonblocking(true)?;
    set_int(&sock, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)?;
    if set_int(&sock, libc::SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES as i32).is_err() {
        sock.set_recv_buffer_size(RCVBUF_BYTES)?;
    }
    // Ask for each frame's receive timestamp. The kernel turns software
    // receive stamping on for the whole stack when the first socket asks
    // (deferred to a work item); a frame that arrived before that is stamped
    // when it is read.
    set_int(&sock, libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)?;
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
pub fn recv_frame(sock: &Socket, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for a few control messages; u64 elements keep it aligned for
    // `cmsghdr`.
    let mut control = [0u64; 16];
    // SAFETY: `msghdr` is a plain C struct for which all-zero bytes are a
    // valid (empty) value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the fd is open (owned by `sock`); `msg` points at one iovec that
    // describes `buf` (live, writable, `buf.len()` bytes) and at `control`
    // (live, writable, `msg_controllen` bytes). The kernel writes no more than
    // those lengths.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut time = None;
    // SAFETY: `msg` was filled by a successful recvmsg, so its control
    // pointer and length describe the control messages the kernel wrote into
    // `control`; CMSG_FIRSTHDR/CMSG_NXTHDR stay within that length and return
    // null at its end. An SCM_TIMESTAMPNS message carries one `timespec`,
    // read unaligned because CMSG_DATA need not be aligned for it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SO_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                time = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, time))
}
