//! One TCP connection looked up in the kernel by its addresses, through
//! sock_diag netlink (the interface `ss` uses), instead of reading the whole
//! /proc/net/tcp table.
//!
//! Why: /proc/net/tcp formats every TCP socket on the machine as text, and a
//! machine that ran many lessons holds thousands of TIME_WAIT connections, so
//! reading it after every call costs tens of milliseconds. A sock_diag request
//! that names the four addresses is answered from the kernel's hash table in
//! microseconds, with the same figures: state, timer and its remaining time,
//! both queues (for a listener: accept queue and its limit), inode.
//!
//! Everything here is plain bytes over a socket2 netlink socket: no `unsafe`.
//! Layouts are from include/uapi/linux/netlink.h and inet_diag.h.
//!
//! Why by hand and not with `netlink-packet-sock-diag` (MIT, rust-netlink):
//! its parsed reply (0.5, `InetResponseHeader::timer`) keeps the remaining
//! time of the retransmit, keepalive and probe timers but not of the
//! TIME_WAIT timer (`Timer::TimeWait` carries no duration), and the seconds
//! left in TIME_WAIT are what this lookup exists to show. Reading
//! `idiag_expires` ourselves would mean parsing the raw reply anyway. The
//! request is one fixed 72-byte message and the reply's fields sit at fixed
//! offsets, checked against the kernel by the tests below and by
//! `tests/kernel_view.rs` against `ss`.

use super::procnet::{Entry, Timer};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// `SOCK_DIAG_BY_FAMILY`: the request type for inet_diag_req_v2.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_HDR: usize = 16;
/// inet_diag_req_v2: family, protocol, ext, pad, states, sockid (48 bytes).
const REQ_LEN: usize = 56;
/// inet_diag_msg up to and including idiag_inode.
const MSG_LEN: usize = 72;

/// A netlink socket for sock_diag requests.
pub struct Diag {
    socket: Socket,
    seq: u32,
}

impl Diag {
    pub fn open() -> io::Result<Diag> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::DGRAM.cloexec(),
            Some(Protocol::from(libc::NETLINK_SOCK_DIAG)),
        )?;
        Ok(Diag { socket, seq: 0 })
    }

    /// The kernel's entry for the TCP socket `local` ↔ `remote` (a listener
    /// when `remote` is `None`), or `None` if the kernel has no such socket.
    pub fn tcp(
        &mut self,
        local: SocketAddr,
        remote: Option<SocketAddr>,
    ) -> io::Result<Option<Entry>> {
        let (SocketAddr::V4(l), remote) = (local, remote) else {
            return Ok(None);
        };
        let r = match remote {
            Some(SocketAddr::V4(r)) => r,
            Some(SocketAddr::V6(_)) => return Ok(None),
            None => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
        };
        self.seq = self.seq.wrapping_add(1);
        self.socket.send(&request(self.seq, l, r))?;
        // One reply: the socket's inet_diag_msg, or an error (ENOENT).
        let mut buf = [0u8; 1024];
        let n = (&self.socket).read(&mut buf)?;
        parse_reply(&buf[..n], l, r)
    }
}

fn request(seq: u32, local: SocketAddrV4, remote: SocketAddrV4) -> Vec<u8> {
    let mut m = Vec::with_capacity(NLMSG_HDR + REQ_LEN);
    let total = u32::try_from(NLMSG_HDR + REQ_LEN).unwrap_or(u32::MAX);
    m.extend_from_slice(&total.to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    let flags = u16::try_from(libc::NLM_F_REQUEST).unwrap_or(1);
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid: 0 is the kernel
    m.push(u8::try_from(libc::AF_INET).unwrap_or(2));
    m.push(u8::try_from(libc::IPPROTO_TCP).unwrap_or(6));
    m.push(0); // no extensions
    m.push(0);
    m.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    sockid(&mut m, local, remote);
    m
}

/// inet_diag_sockid: ports and addresses in network byte order, interface 0,
/// and INET_DIAG_NOCOOKIE (all ones) so the lookup is by address alone.
fn sockid(m: &mut Vec<u8>, local: SocketAddrV4, remote: SocketAddrV4) {
    m.extend_from_slice(&local.port().to_be_bytes());
    m.extend_from_slice(&remote.port().to_be_bytes());
    for ip in [local.ip(), remote.ip()] {
        m.extend_from_slice(&ip.octets());
        m.extend_from_slice(&[0u8; 12]);
    }
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[0xff; 8]);
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_reply(b: &[u8], local: SocketAddrV4, remote: SocketAddrV4) -> io::Result<Option<Entry>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "short sock_diag reply");
    let kind = b.get(4..6).ok_or_else(bad)?;
    let kind = u16::from_ne_bytes([kind[0], kind[1]]);
    if i32::from(kind) == libc::NLMSG_ERROR {
        let err = u32_at(b, NLMSG_HDR).ok_or_else(bad)? as i32;
        return match -err {
            0 | libc::ENOENT => Ok(None),
            e => Err(io::Error::from_raw_os_error(e)),
        };
    }
    let m = b.get(NLMSG_HDR..NLMSG_HDR + MSG_LEN).ok_or_else(bad)?;
    let port = |at: usize| u16::from_be_bytes([m[at], m[at + 1]]);
    let ip = |at: usize| Ipv4Addr::new(m[at], m[at + 1], m[at + 2], m[at + 3]);
    let got_local = SocketAddrV4::new(ip(8), port(4));
    let got_remote = SocketAddrV4::new(ip(24), port(6));
    // A lookup for a connection that is gone can fall back to the listener on
    // the same local port: that is not the socket we asked about.
    if got_local != local || got_remote != remote {
        return Ok(None);
    }
    // idiag_timer uses the /proc/net/tcp `tr` codes.
    let timer = Timer::from_code(m[2]);
    let expires_ms = u32_at(m, 52).ok_or_else(bad)?;
    Ok(Some(Entry {
        local: SocketAddr::new(IpAddr::V4(*got_local.ip()), got_local.port()),
        remote: SocketAddr::new(IpAddr::V4(*got_remote.ip()), got_remote.port()),
        state: m[1],
        // For a listener, rqueue is the accept queue and wqueue its limit.
        rx_queue: u64::from(u32_at(m, 56).ok_or_else(bad)?),
        tx_queue: u64::from(u32_at(m, 60).ok_or_else(bad)?),
        timer,
        timer_left: timer.map_or(Duration::ZERO, |_| {
            Duration::from_millis(u64::from(expires_ms))
        }),
        inode: u64::from(u32_at(m, 68).ok_or_else(bad)?),
        drops: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_listener_and_a_connection_are_found_with_their_queues() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let la = l.local_addr().unwrap();
        let c = TcpStream::connect(la).unwrap();
        let ca = c.local_addr().unwrap();
        let mut d = Diag::open().unwrap();
        let lst = d.tcp(la, None).unwrap().expect("listener found");
        assert_eq!(lst.state, 10);
        assert_eq!(lst.rx_queue, 1, "one connection waits in the accept queue");
        assert!(lst.tx_queue > 0, "the backlog limit");
        assert_ne!(lst.inode, 0);
        let conn = d.tcp(ca, Some(la)).unwrap().expect("client found");
        assert_eq!(conn.state, 1);
        // A connection that does not exist is not confused with the listener.
        let ghost: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(d.tcp(la, Some(ghost)).unwrap(), None);
    }

    #[test]
    fn time_wait_is_found_without_an_fd_with_its_timer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let la = listener.local_addr().unwrap();
        let client = TcpStream::connect(la).unwrap();
        let ca = client.local_addr().unwrap();
        let (server, _) = listener.accept().unwrap();
        drop(client);
        drop(server);
        let mut diag = Diag::open().unwrap();
        let mut entry = diag.tcp(ca, Some(la)).unwrap().unwrap();
        for _ in 0..100 {
            if entry.state == 6 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
            entry = diag.tcp(ca, Some(la)).unwrap().unwrap();
        }
        assert_eq!(entry.state, 6, "TIME_WAIT");
        assert_eq!(entry.inode, 0);
        assert_eq!(entry.timer, Some(Timer::TimeWait));
        assert!(entry.timer_left > Duration::from_secs(50));
    }
}
