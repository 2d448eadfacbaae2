//! The other side of a check, played with real sockets in this process
//! (in the same network as the program: the lab's, or the machine's).
//!
//! Every wait is bounded ([`WAIT`]): a program that never accepts, never
//! answers or never closes costs the check a few seconds, and the log says
//! what the peer saw, in the words the report prints under "sockscope, as
//! the other side".

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// The longest the peer waits for the program at any one point.
pub const WAIT: Duration = Duration::from_secs(3);
/// Between the pieces of an answer: long enough that the first piece is
/// read on its own by a program that reads once.
pub const PIECE_GAP: Duration = Duration::from_millis(300);

/// What the peer did and saw, a line each.
pub type Log = Vec<String>;

/// Where to reach a socket the program bound: its address, with a wildcard
/// (0.0.0.0, ::) turned into loopback.
#[must_use]
pub fn reachable(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        let ip: std::net::IpAddr = if bound.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        SocketAddr::new(ip, bound.port())
    } else {
        bound
    }
}

/// `clients` clients, one after the other, each: connect to `at`, send
/// `message`, read until the program closes (or [`WAIT`] of silence),
/// close.
#[must_use]
pub fn clients(at: SocketAddr, clients: u32, message: &str) -> Log {
    let mut log = Vec::new();
    for n in 1..=clients {
        let mut s = match TcpStream::connect_timeout(&at, WAIT) {
            Ok(s) => s,
            Err(e) => {
                log.push(format!("client {n}: connect to {at} failed: {e}"));
                continue;
            }
        };
        let me = s
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string());
        log.push(format!("client {n} ({me}): connected to {at}"));
        if let Err(e) = s.write_all(message.as_bytes()) {
            log.push(format!("client {n}: sending failed: {e}"));
            continue;
        }
        log.push(format!("client {n}: sent {} bytes", message.len()));
        let _ = s.set_read_timeout(Some(WAIT));
        let (got, end) = read_to_end(&mut s);
        log.push(format!("client {n}: read {got} bytes, then {end}"));
    }
    log
}

/// Read until end of stream, an error, or [`WAIT`] of silence: the bytes
/// and how it ended.
fn read_to_end(s: &mut TcpStream) -> (usize, String) {
    let mut buf = [0u8; 4096];
    let mut got = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, "the program closed the connection".into()),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (got, format!("nothing more for {} s", WAIT.as_secs()));
            }
            Err(e) => return (got, format!("the connection failed: {e}")),
        }
    }
}

/// A TCP server for the program to connect to, bound before it starts.
pub struct Server {
    listener: TcpListener,
}

impl Server {
    /// Listen on 127.0.0.1:`port` (0: the kernel picks).
    ///
    /// # Errors
    ///
    /// The bind's or listen's error.
    pub fn bind(port: u16) -> std::io::Result<Server> {
        Ok(Server {
            listener: TcpListener::bind(("127.0.0.1", port))?,
        })
    }

    /// Where it listens.
    ///
    /// # Errors
    ///
    /// getsockname's error.
    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept one connection (within [`WAIT`] plus `start`, the time the
    /// program needs to start), read the request, send `answer`'s pieces
    /// [`PIECE_GAP`] apart, close.
    #[must_use]
    pub fn serve_once(self, answer: &[String], start: Duration) -> Log {
        let mut log = Vec::new();
        let _ = self.listener.set_nonblocking(true);
        let deadline = Instant::now() + WAIT + start;
        let mut s = loop {
            match self.listener.accept() {
                Ok((s, from)) => {
                    log.push(format!("server: accepted {from}"));
                    break s;
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    log.push(format!(
                        "server: no connection came within {} s",
                        (WAIT + start).as_secs()
                    ));
                    return log;
                }
                Err(e) => {
                    log.push(format!("server: accept failed: {e}"));
                    return log;
                }
            }
        };
        let _ = s.set_nonblocking(false);
        // The request: whatever comes first, then a short quiet spell.
        let _ = s.set_read_timeout(Some(WAIT));
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(n) => log.push(format!("server: read a request of {n} bytes")),
            Err(e) => log.push(format!("server: no request came: {e}")),
        }
        for (i, piece) in answer.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(PIECE_GAP);
            }
            match s.write_all(piece.as_bytes()) {
                Ok(()) => log.push(format!(
                    "server: sent piece {} of the answer, {} bytes",
                    i + 1,
                    piece.len()
                )),
                Err(e) => {
                    log.push(format!("server: sending the answer failed: {e}"));
                    return log;
                }
            }
        }
        drop(s);
        log.push("server: closed the connection".into());
        log
    }
}

/// One datagram, `message`, to `at`.
#[must_use]
pub fn send_datagram(at: SocketAddr, message: &str) -> Log {
    let bind = if at.is_ipv4() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    } else {
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0))
    };
    match UdpSocket::bind(bind).and_then(|s| s.send_to(message.as_bytes(), at).map(|n| (s, n))) {
        Ok((s, n)) => vec![format!(
            "sender ({}): sent one datagram of {n} bytes to {at}",
            s.local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string())
        )],
        Err(e) => vec![format!("sender: sendto {at} failed: {e}")],
    }
}

/// A UDP socket for the program to send to, bound before it starts.
pub struct Receiver {
    sock: UdpSocket,
}

impl Receiver {
    /// Bind 127.0.0.1:`port` (0: the kernel picks).
    ///
    /// # Errors
    ///
    /// The bind's error.
    pub fn bind(port: u16) -> std::io::Result<Receiver> {
        Ok(Receiver {
            sock: UdpSocket::bind(("127.0.0.1", port))?,
        })
    }

    /// Where it is bound.
    ///
    /// # Errors
    ///
    /// getsockname's error.
    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Wait for one datagram (within [`WAIT`] plus `start`) and send it
    /// back, as an echo server does: a sender that waits for an answer
    /// gets one.
    #[must_use]
    pub fn receive_once(self, start: Duration) -> Log {
        let _ = self.sock.set_read_timeout(Some(WAIT + start));
        let mut buf = vec![0u8; 65536];
        match self.sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let mut log = vec![format!("receiver: got a datagram of {n} bytes from {from}")];
                log.push(match self.sock.send_to(&buf[..n], from) {
                    Ok(m) => format!("receiver: sent it back, {m} bytes"),
                    Err(e) => format!("receiver: sending it back failed: {e}"),
                });
                log
            }
            Err(_) => vec![format!(
                "receiver: no datagram came within {} s",
                (WAIT + start).as_secs()
            )],
        }
    }
}
