//! A socket the engine owns, and the real syscalls a lesson performs on it.
//!
//! Each method is one lifecycle call: `open` is socket(2), `bind` is bind(2),
//! and so on, so the events on screen map one-to-one onto what strace would
//! show. The sockets are non-blocking and registered with tokio's reactor
//! (the first time a call has to wait; see [`Sock`] for why not earlier): a
//! call the kernel answers with EAGAIN (or EINPROGRESS, for connect) is
//! reported as *waiting* and retried only when epoll says the socket is ready.
//! Nothing here polls in a loop.

use crate::vocab::Proto;
use futures::FutureExt;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A non-blocking socket, registered with the tokio reactor the first time a
/// call on it has to wait.
///
/// Why not at once: epoll reports EPOLLHUP for a TCP socket that is neither
/// connected nor listening, and registering a fresh socket delivers that at
/// once. tokio keeps "closed" readiness forever (it never clears it), so a
/// later accept or recv on that socket would find it "ready" on every try,
/// hear EAGAIN from the kernel, and spin a CPU core instead of sleeping. By
/// the time a call has to wait, the socket is listening, connecting or
/// connected, and the readiness epoll reports is real.
#[derive(Debug)]
pub struct Sock {
    // Declared before `socket`: dropped (deregistered) before the fd closes.
    io: tokio::sync::OnceCell<AsyncFd<sockscope_sys::Watch>>,
    socket: Socket,
    proto: Proto,
    /// The addresses getsockname/getpeername last reported, or what a call
    /// itself told us (accept4 returns the peer; a fresh socket has neither).
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

/// Called once, the first time a call finds it has to wait.
pub type OnWait<'a> = &'a mut (dyn FnMut() + Send);

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Sock {
    /// socket(AF_INET, SOCK_STREAM or SOCK_DGRAM, 0), created non-blocking and
    /// close-on-exec in the same call.
    pub fn open(proto: Proto) -> io::Result<Sock> {
        let ty = match proto {
            Proto::Tcp => Type::STREAM,
            Proto::Udp => Type::DGRAM,
        };
        let socket = Socket::new(Domain::IPV4, ty.nonblocking().cloexec(), None)?;
        // socket(2) makes a socket with no local address and no peer.
        Ok(Sock::new(socket, proto, Addr::Is(None), Addr::Is(None)))
    }

    fn new(socket: Socket, proto: Proto, local: Addr, peer: Addr) -> Sock {
        Sock {
            io: tokio::sync::OnceCell::new(),
            socket,
            proto,
            known: Mutex::new(Known { local, peer }),
        }
    }

    /// The reactor registration, made on first use.
    async fn io(&self) -> io::Result<&AsyncFd<sockscope_sys::Watch>> {
        self.io
            .get_or_try_init(|| async { sockscope_sys::register(&self.socket) })
            .await
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
        self.known.lock().unwrap_or_else(|e| e.into_inner())
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

    /// accept4(2); waits while the accept queue is empty.
    pub async fn accept(&self, on_wait: OnWait<'_>) -> io::Result<(Sock, SocketAddr)> {
        let (socket, addr) = self
            .retry(Interest::READABLE, on_wait, |s| {
                s.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
            })
            .await?;
        let peer = addr
            .as_socket()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
        // accept4 reported the peer; the local address is the kernel's to say.
        Ok((
            Sock::new(socket, self.proto, Addr::Ask, Addr::Is(Some(peer))),
            peer,
        ))
    }

    /// connect(2). For TCP a non-blocking connect answers EINPROGRESS while the
    /// handshake runs; we wait for writability and read the outcome from
    /// SO_ERROR, as every event-driven program does. For UDP it only records
    /// the default destination and returns at once.
    pub async fn connect(&self, addr: SocketAddr, on_wait: OnWait<'_>) -> io::Result<()> {
        *self.known() = Known {
            local: Addr::Ask,
            peer: Addr::Ask,
        };
        match self.socket().connect(&SockAddr::from(addr)) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                on_wait();
                loop {
                    let mut guard = self.io().await?.writable().await?;
                    // Writable means the handshake finished, one way or the other.
                    guard.clear_ready();
                    if let Some(err) = self.socket().take_error()? {
                        return Err(err);
                    }
                    // getpeername answers only once the handshake is done,
                    // and its answer is the peer the screen shows.
                    if let Ok(peer) = self.socket().peer_addr() {
                        self.known().peer = Addr::Is(peer.as_socket());
                        return Ok(());
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    /// send(2) with MSG_NOSIGNAL (socket2 sets it), so writing to a shut-down
    /// connection returns EPIPE instead of killing the process with SIGPIPE.
    pub async fn send(&self, data: &[u8], on_wait: OnWait<'_>) -> io::Result<usize> {
        self.retry(Interest::WRITABLE, on_wait, |s| s.send(data))
            .await
    }

    /// recv(2) into a buffer of `max` bytes. 0 means the peer shut down its
    /// sending direction (end of file).
    ///
    /// With `wait` false this is recv(..., MSG_DONTWAIT): an empty queue is
    /// answered with EAGAIN at once.
    pub async fn recv(&self, max: usize, on_wait: OnWait<'_>, wait: bool) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; max];
        let n = self.recv_into(&mut buf, on_wait, wait).await?;
        buf.truncate(n);
        Ok(buf)
    }

    /// [`Sock::recv`] into the caller's buffer (its length is the size asked
    /// for), so a lesson's actor reuses one buffer for every call.
    pub async fn recv_into(
        &self,
        buf: &mut [u8],
        on_wait: OnWait<'_>,
        wait: bool,
    ) -> io::Result<usize> {
        self.retry_if(wait, Interest::READABLE, on_wait, |mut s| s.read(buf))
            .await
    }

    /// sendto(2): one datagram to `addr`.
    pub async fn send_to(
        &self,
        data: &[u8],
        addr: SocketAddr,
        on_wait: OnWait<'_>,
    ) -> io::Result<usize> {
        // An unbound UDP socket gets its port from the kernel on first send.
        self.local_may_change();
        let to = SockAddr::from(addr);
        self.retry(Interest::WRITABLE, on_wait, |s| s.send_to(data, &to))
            .await
    }

    /// recvfrom(2): one datagram, or as much of it as fits in `buf` (a
    /// datagram's excess is discarded by the kernel); the byte count, the
    /// sender, and whether the datagram was cut. Made with recvmsg(2),
    /// the same call with one buffer, because only recvmsg reports
    /// MSG_TRUNC: the third value says the datagram did not fit.
    pub async fn recv_from(
        &self,
        buf: &mut [u8],
        on_wait: OnWait<'_>,
        wait: bool,
    ) -> io::Result<(usize, SocketAddr, bool)> {
        let (n, flags, from) = self
            .retry_if(wait, Interest::READABLE, on_wait, |s| {
                let mut bufs = [socket2::MaybeUninitSlice::new(sockscope_sys::as_uninit(
                    buf,
                ))];
                s.recv_from_vectored(&mut bufs)
            })
            .await?;
        let from = from
            .as_socket()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
        Ok((n, from, flags.is_truncated()))
    }

    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket().shutdown(how)
    }

    /// close(2), with the kernel's answer. Deregisters from the reactor first.
    pub fn close(self) -> io::Result<()> {
        let Sock { io, socket, .. } = self;
        drop(io);
        sockscope_sys::close(OwnedFd::from(socket))
    }

    /// `retry` when `wait`, else one try whose EAGAIN is the answer.
    async fn retry_if<T>(
        &self,
        wait: bool,
        interest: Interest,
        on_wait: OnWait<'_>,
        op: impl FnMut(&Socket) -> io::Result<T>,
    ) -> io::Result<T> {
        if wait {
            self.retry(interest, on_wait, op).await
        } else {
            let mut op = op;
            op(self.socket())
        }
    }

    /// Run `op` until it stops saying EAGAIN, waiting on readiness between
    /// tries. `on_wait` runs once, at the first EAGAIN.
    async fn retry<T>(
        &self,
        interest: Interest,
        on_wait: OnWait<'_>,
        mut op: impl FnMut(&Socket) -> io::Result<T>,
    ) -> io::Result<T> {
        // Readiness the reactor still holds from an earlier call is stale once
        // the kernel says EAGAIN; taken before the try, as tokio's own
        // `try_io` does, so clearing it cannot lose an event that comes after.
        let held = match self.io.get() {
            Some(io) => io.ready(interest).now_or_never().transpose()?,
            None => None,
        };
        match op(self.socket()) {
            Err(e) if would_block(&e) => {
                if let Some(mut stale) = held {
                    stale.clear_ready();
                }
                on_wait();
            }
            other => return other,
        }
        loop {
            let mut guard = self.io().await?.ready(interest).await?;
            match guard.try_io(|_| op(&self.socket)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}
