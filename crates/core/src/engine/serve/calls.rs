//! The system calls `serve` makes, one function each, and how each is shown.
//!
//! `serve` is an event-driven server, the design most real servers use: its
//! sockets are non-blocking, one thread waits in `epoll_wait` until the
//! kernel says a socket is ready, and then makes the call that will not have
//! to wait. So its calls are not the blocking calls a lesson makes, and its
//! events say exactly which calls ran, as strace would print them:
//!
//! | course call | what really runs | why |
//! | --- | --- | --- |
//! | `socket` | `socket(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC\|SOCK_NONBLOCK, 0)` | non-blocking, so no call can stall the one thread; close-on-exec, so no child process inherits it |
//! | `accept` | `accept4(fd, ..., SOCK_CLOEXEC\|SOCK_NONBLOCK)` | the new connection gets the same two flags in the same call |
//! | `recv` | `recvfrom(fd, buf, 4096, 0, NULL, NULL)` | the C library's recv is this syscall |
//! | `send` | `sendto(fd, buf, n, MSG_NOSIGNAL, NULL, 0)` | a peer that has gone makes send fail with EPIPE instead of raising SIGPIPE |
//! | `recvfrom`, `sendto` (UDP) | the same, flags 0 | |
//!
//! Each function fills in the event's `args` (the arguments in strace's
//! order, flags spelled as strace spells them) and `syscall` (strace's name
//! for the call), then makes exactly one syscall. A call that finds nothing
//! to do returns EAGAIN: that is an event too (it ran), and the server then
//! waits in epoll_wait.

use crate::event::Event;
use crate::vocab::{Proto, preview};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

/// The flags every socket of `serve` is created with, as strace spells
/// them after the type.
const CREATE_FLAGS: &str = "SOCK_CLOEXEC|SOCK_NONBLOCK";

/// socket(2) for an address like `bind`: AF_INET or AF_INET6, as the address
/// says (an IPv6 bind on an AF_INET socket fails with EAFNOSUPPORT).
pub fn socket(ev: &mut Event, proto: Proto, bind: SocketAddr) -> io::Result<Socket> {
    let (family, domain) = match bind {
        SocketAddr::V4(_) => ("AF_INET", Domain::IPV4),
        SocketAddr::V6(_) => ("AF_INET6", Domain::IPV6),
    };
    let (ty_name, ty) = match proto {
        Proto::Tcp => ("SOCK_STREAM", Type::STREAM),
        Proto::Udp => ("SOCK_DGRAM", Type::DGRAM),
    };
    let flags = format!("{ty_name}|{CREATE_FLAGS}");
    ev.args = format!("{family}, {flags}, 0");
    ev.syscall = Some("socket".into());
    Socket::new(domain, ty.nonblocking().cloexec(), None)
}

/// bind(2); then the address the kernel gave (getsockname, which only reads).
pub fn bind(ev: &mut Event, sock: &Socket, addr: SocketAddr) -> io::Result<()> {
    ev.args = format!("{}, {addr}", sock.as_raw_fd());
    ev.syscall = Some("bind".into());
    sock.bind(&SockAddr::from(addr))?;
    ev.local = local_addr(sock).map(|a| a.to_string());
    Ok(())
}

/// listen(2).
pub fn listen(ev: &mut Event, sock: &Socket, backlog: i32) -> io::Result<()> {
    ev.args = format!("{}, {backlog}", sock.as_raw_fd());
    ev.syscall = Some("listen".into());
    sock.listen(backlog)
}

/// accept4(2) with SOCK_CLOEXEC|SOCK_NONBLOCK: the connection and the peer's
/// address, as accept4 returns it.
pub fn accept(ev: &mut Event, listener: &Socket) -> io::Result<(Socket, SocketAddr)> {
    ev.args = format!("{}, {CREATE_FLAGS}", listener.as_raw_fd());
    ev.syscall = Some("accept4".into());
    let (conn, addr) = listener.accept4(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)?;
    let peer = addr
        .as_socket()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
    Ok((conn, peer))
}

/// recv(2), which is recvfrom(fd, buf, len, 0, NULL, NULL): the bytes read
/// into `buf`, 0 at the peer's FIN.
pub fn recv(ev: &mut Event, sock: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    ev.args = format!("{}, {}, 0", sock.as_raw_fd(), buf.len());
    ev.syscall = Some("recvfrom".into());
    sock.recv(sockscope_sys::as_uninit(buf))
}

/// send(2) with MSG_NOSIGNAL, which is sendto(fd, buf, len, MSG_NOSIGNAL,
/// NULL, 0): how many of `data`'s bytes the kernel took.
pub fn send(ev: &mut Event, sock: &Socket, data: &[u8]) -> io::Result<usize> {
    ev.args = format!("{}, MSG_NOSIGNAL", data_args(sock, data));
    ev.syscall = Some("sendto".into());
    sock.send_with_flags(data, libc::MSG_NOSIGNAL)
}

/// recvfrom(2), flags 0: one datagram (65,536 bytes hold any UDP datagram,
/// so none is cut) and its sender.
pub fn recvfrom(ev: &mut Event, sock: &Socket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    ev.args = format!("{}, {}, 0", sock.as_raw_fd(), buf.len());
    ev.syscall = Some("recvfrom".into());
    let (n, from) = sock.recv_from(sockscope_sys::as_uninit(buf))?;
    let from = from
        .as_socket()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
    Ok((n, from))
}

/// sendto(2), flags 0: one datagram to `to`.
pub fn sendto(ev: &mut Event, sock: &Socket, data: &[u8], to: SocketAddr) -> io::Result<usize> {
    ev.args = format!("{}, 0, {to}", data_args(sock, data));
    ev.syscall = Some("sendto".into());
    sock.send_to(data, &SockAddr::from(to))
}

/// `fd, "preview", len`: how a sending call's first three arguments read.
fn data_args(sock: &Socket, data: &[u8]) -> String {
    format!(
        "{}, \"{}\", {}",
        sock.as_raw_fd(),
        preview::preview(data),
        data.len()
    )
}

/// close(2), with what the kernel said.
pub fn close(ev: &mut Event, sock: Socket) -> io::Result<()> {
    ev.args = sock.as_raw_fd().to_string();
    ev.syscall = Some("close".into());
    sockscope_sys::close(OwnedFd::from(sock))
}

/// getsockname(2): the socket's local address (it only reads).
pub fn local_addr(sock: &Socket) -> Option<SocketAddr> {
    sock.local_addr().ok().and_then(|a| a.as_socket())
}
