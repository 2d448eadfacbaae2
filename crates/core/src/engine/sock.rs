//! A socket the engine owns, and the real syscalls a lesson performs on it.
//!
//! Each method is one lifecycle call: `open` is socket(2), `bind` is bind(2),
//! and so on, so the events on screen map one-to-one onto what strace shows.
//! The sockets are blocking, exactly as a student's C program makes them:
//! `socket(AF_INET, SOCK_STREAM, 0)` with no flags, `accept` (not accept4),
//! a `connect` that returns when the handshake is over, `recv`, `recvfrom`,
//! `send` and `sendto` with the flags the lesson shows and no others. A call
//! that has to wait sleeps in the kernel, in its actor's own thread
//! ([`super::worker`]); nothing here polls or retries.
//!
//! Each call goes through socket2, whose functions are the plain libc calls
//! (`Socket::new_raw` adds no SOCK_CLOEXEC, `accept_raw` is accept(2), `send`
//! passes the flags it is given and nothing else) and never retry on EINTR:
//! an interrupted call is reported as interrupted.

use crate::vocab::Proto;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// A blocking socket of a lesson.
#[derive(Debug)]
pub struct Sock {
    socket: Socket,
    proto: Proto,
    /// The addresses getsockname/getpeername last reported, or what a call
    /// itself told us (accept returns the peer; a fresh socket has neither).
    /// A call that can change an address marks it unknown, and the next look-up
    /// asks the kernel: one syscall exactly when the answer can differ.
    known: Mutex<Known>,
}

/// One address as far as the engine knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addr {
    /// Changed since it was last read: ask the kernel.
    Ask,
    /// What the kernel last said (`None`: no address).
    Is(Option<SocketAddr>),
}

#[derive(Debug, Clone, Copy)]
struct Known {
    local: Addr,
    peer: Addr,
}

impl Sock {
    /// socket(AF_INET, SOCK_STREAM or SOCK_DGRAM, 0): blocking, and without
    /// close-on-exec, as `socket(2)` makes it when no flag is or-ed into the
    /// type.
    pub fn open(proto: Proto) -> io::Result<Sock> {
        let ty = match proto {
            Proto::Tcp => Type::STREAM,
            Proto::Udp => Type::DGRAM,
        };
        // new_raw: socket2's `new` would add SOCK_CLOEXEC to the type.
        let socket = Socket::new_raw(Domain::IPV4, ty, None)?;
        // socket(2) makes a socket with no local address and no peer.
        Ok(Sock::new(socket, proto, Addr::Is(None), Addr::Is(None)))
    }

    fn new(socket: Socket, proto: Proto, local: Addr, peer: Addr) -> Sock {
        Sock {
            socket,
            proto,
            known: Mutex::new(Known { local, peer }),
        }
    }

    pub fn proto(&self) -> Proto {
        self.proto
    }

    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// The socket2 handle, for socket options and observers.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The socket's local address (getsockname(2)): `None` while it has none.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        let mut known = self.known();
        if known.local == Addr::Ask {
            let local = self
                .socket
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                // An unbound socket reports 0.0.0.0:0; that is "no address yet".
                .filter(|a| a.port() != 0 || !a.ip().is_unspecified());
            known.local = Addr::Is(local);
        }
        match known.local {
            Addr::Is(a) => a,
            Addr::Ask => unreachable!("just read"),
        }
    }

    /// The connected peer's address (getpeername(2)): `None` while unconnected.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        let mut known = self.known();
        if known.peer == Addr::Ask {
            let peer = self.socket.peer_addr().ok().and_then(|a| a.as_socket());
            known.peer = Addr::Is(peer);
        }
        match known.peer {
            Addr::Is(a) => a,
            Addr::Ask => unreachable!("just read"),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        crate::sync::lock(&self.known)
    }

    /// The kernel may have given the socket a local address of its own (an
    /// unbound socket is bound automatically by listen, connect and sendto).
    fn local_may_change(&self) {
        let mut known = self.known();
        if known.local == Addr::Is(None) {
            known.local = Addr::Ask;
        }
    }

    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.known().local = Addr::Ask;
        self.socket().bind(&SockAddr::from(addr))
    }

    pub fn listen(&self, backlog: i32) -> io::Result<()> {
        self.local_may_change();
        self.socket().listen(backlog)
    }

    /// accept(2): sleeps in the kernel while the accept queue is empty.
    pub fn accept(&self) -> io::Result<(Sock, SocketAddr)> {
        // accept_raw is accept(2) itself; socket2's `accept` would be
        // accept4(..., SOCK_CLOEXEC).
        let (socket, addr) = self.socket.accept_raw()?;
        let peer = addr
            .as_socket()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
        // accept reported the peer; the local address is the kernel's to say.
        Ok((
            Sock::new(socket, self.proto, Addr::Ask, Addr::Is(Some(peer))),
            peer,
        ))
    }

    /// connect(2). For TCP a blocking connect sends the SYN and sleeps until
    /// the handshake is over (or has failed: ECONNREFUSED, ETIMEDOUT after
    /// the kernel's SYN retries). For UDP it only records the default
    /// destination and returns at once.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        *self.known() = Known {
            local: Addr::Ask,
            peer: Addr::Ask,
        };
        self.socket.connect(&SockAddr::from(addr))
    }

    /// send(2) with `flags` (0 unless the lesson shows one). Without
    /// MSG_NOSIGNAL, a send on a connection that can no longer send raises
    /// SIGPIPE, which sockscope ignores (every Rust program does, from
    /// before main), and then fails with EPIPE.
    pub fn send(&self, data: &[u8], flags: i32) -> io::Result<usize> {
        self.socket.send_with_flags(data, flags)
    }

    /// recv(2) into `buf` (its length is the size asked for) with `flags`.
    /// 0 means the peer shut down its sending direction (end of file).
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        self.socket
            .recv_with_flags(sockscope_sys::as_uninit(buf), flags)
    }

    /// sendto(2): one datagram to `addr`.
    pub fn send_to(&self, data: &[u8], addr: SocketAddr, flags: i32) -> io::Result<usize> {
        // An unbound UDP socket gets its port from the kernel on first send.
        self.local_may_change();
        self.socket
            .send_to_with_flags(data, &SockAddr::from(addr), flags)
    }

    /// recvfrom(2): one datagram, or as much of it as fits in `buf` (the
    /// rest of a longer datagram is discarded by the kernel, and recvfrom's
    /// return value, the bytes copied, is all it says); the byte count and
    /// the sender.
    pub fn recv_from(&self, buf: &mut [u8], flags: i32) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self
            .socket
            .recv_from_with_flags(sockscope_sys::as_uninit(buf), flags)?;
        let from = from
            .as_socket()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
        Ok((n, from))
    }

    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.shutdown(how)
    }

    /// close(2), with the kernel's answer.
    pub fn close(self) -> io::Result<()> {
        sockscope_sys::close(OwnedFd::from(self.socket))
    }
}
