//! Reading a TCP socket's state and queues straight from the kernel, through
//! its fd: getsockopt(TCP_INFO) and the SIOCINQ / SIOCOUTQ ioctls.
//!
//! This is the most direct view there is: the same numbers `ss` prints, read
//! from the socket itself rather than from a table. libc declares the
//! `tcp_info` struct and the constants but offers no safe call, so the two
//! calls live here, each with its SAFETY comment.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::os::fd::RawFd;

/// What TCP_INFO and the queue ioctls said about one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// The kernel's state number (`TCP_ESTABLISHED` = 1 ... `TCP_NEW_SYN_RECV` = 12).
    pub state: u8,
    /// For a listener: connections that finished the handshake and wait in the
    /// accept queue (`sk_ack_backlog`). For a connection: segments sent and
    /// not yet acknowledged.
    pub unacked: u32,
    /// For a listener: the accept queue's limit (`sk_max_ack_backlog`, the
    /// backlog given to listen, capped by net.core.somaxconn).
    pub sacked: u32,
    /// Bytes received and not yet read by the application (SIOCINQ); `None`
    /// for a listener, where the ioctl is meaningless (EINVAL).
    pub recv_q: Option<u32>,
    /// Bytes sent and not yet acknowledged by the peer (SIOCOUTQ).
    pub send_q: Option<u32>,
    /// Segments (SYNs included) this socket has had to send again.
    pub total_retrans: u32,
}

/// getsockopt(fd, IPPROTO_TCP, TCP_INFO) plus SIOCINQ/SIOCOUTQ.
///
/// # Panics
///
/// Only if `struct tcp_info` (a few hundred bytes) did not fit in a
/// `socklen_t`, which no kernel's does.
pub fn tcp_info(fd: RawFd) -> io::Result<TcpInfo> {
    // SAFETY: `tcp_info` is a plain C struct of integers, for which all-zero
    // bytes are a valid value.
    let mut info: libc::tcp_info = unsafe { mem::zeroed() };
    let mut len = libc::socklen_t::try_from(mem::size_of::<libc::tcp_info>())
        .expect("tcp_info is a few hundred bytes");
    // SAFETY: `info` is a live, writable buffer of `len` bytes and `len`
    // points at its size; the kernel writes at most `len` bytes and updates
    // `len`. An invalid or non-TCP fd makes the call fail, it never writes
    // out of bounds.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let listening = info.tcpi_state == 10;
    Ok(TcpInfo {
        state: info.tcpi_state,
        unacked: info.tcpi_unacked,
        sacked: info.tcpi_sacked,
        recv_q: if listening {
            None
        } else {
            queue(fd, libc::FIONREAD)
        },
        send_q: if listening {
            None
        } else {
            queue(fd, libc::TIOCOUTQ)
        },
        total_retrans: info.tcpi_total_retrans,
    })
}

/// SIOCINQ (= FIONREAD) or SIOCOUTQ (= TIOCOUTQ) on a socket: a byte count.
fn queue(fd: RawFd, request: libc::Ioctl) -> Option<u32> {
    let mut n: libc::c_int = 0;
    // SAFETY: both requests write one `int` through the pointer, which points
    // at `n`, alive for the duration of the call.
    let rc = unsafe { libc::ioctl(fd, request, &raw mut n) };
    if rc == 0 { u32::try_from(n).ok() } else { None }
}

/// The kernel's clock tick (USER_HZ): /proc/net/tcp gives timers in these
/// units. sysconf(_SC_CLK_TCK) is what `ss` and `procps` use.
#[must_use]
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf takes a constant and reads nothing from us.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // 100 is USER_HZ on every Linux architecture we build for; only used if
    // sysconf were to fail.
    u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_listener_reports_listen_and_its_backlog() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let info = tcp_info(l.as_raw_fd()).unwrap();
        assert_eq!(info.state, 10, "TCP_LISTEN");
        assert_eq!(info.unacked, 0, "nobody queued yet");
        assert_eq!(info.recv_q, None);
        // std listens with backlog 128 on Linux; somaxconn may cap it lower.
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(info.sacked, 128.min(somaxconn));
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let mut queued = 0;
        for _ in 0..100 {
            queued = tcp_info(l.as_raw_fd()).unwrap().unacked;
            if queued == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(queued, 1, "one connection waits in the accept queue");
    }

    #[test]
    fn a_connection_reports_established_and_unread_bytes() {
        use std::io::Write;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(b"hello").unwrap();
        let mut info = tcp_info(s.as_raw_fd()).unwrap();
        for _ in 0..100 {
            if info.recv_q == Some(5) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            info = tcp_info(s.as_raw_fd()).unwrap();
        }
        assert_eq!(info.state, 1, "TCP_ESTABLISHED");
        assert_eq!(info.recv_q, Some(5));
    }

    #[test]
    fn a_udp_fd_is_not_tcp() {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(tcp_info(u.as_raw_fd()).is_err());
    }
}
