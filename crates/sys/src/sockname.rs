//! getsockname(2) and getpeername(2) on any fd of this process.
//!
//! socket2 asks the kernel for a socket's addresses only through a socket it
//! owns. A test that checks what sockscope reported has just the fd number
//! the event names (the engine owns the socket), and must ask the kernel
//! about that very fd, not read sockscope's own record back. These two calls
//! take the number: the kernel checks it, so a wrong or closed fd is an
//! error (EBADF, ENOTSOCK), never undefined behaviour.
#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

/// Which of the two names to ask for.
#[derive(Clone, Copy)]
enum Which {
    Local,
    Peer,
}

fn name(fd: RawFd, which: Which) -> io::Result<Option<SocketAddr>> {
    // SAFETY: `try_init` hands us a zeroed `sockaddr_storage` and its size;
    // getsockname/getpeername write at most `*len` bytes into it and update
    // `*len`, which `try_init` then trusts. The fd is only a number to the
    // kernel: an invalid one fails with EBADF and writes nothing.
    let ((), addr) = unsafe {
        socket2::SockAddr::try_init(|storage, len| {
            let rc = match which {
                Which::Local => libc::getsockname(fd, storage.cast(), len),
                Which::Peer => libc::getpeername(fd, storage.cast(), len),
            };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        })
    }?;
    // An AF_UNIX or AF_PACKET socket has no IP address to report.
    Ok(addr.as_socket())
}

/// getsockname(fd): the local address the kernel holds for the socket
/// (`0.0.0.0:0` for a socket that was never bound).
pub fn local(fd: RawFd) -> io::Result<Option<SocketAddr>> {
    name(fd, Which::Local)
}

/// getpeername(fd): the connected peer, or ENOTCONN.
pub fn peer(fd: RawFd) -> io::Result<Option<SocketAddr>> {
    name(fd, Which::Peer)
}
