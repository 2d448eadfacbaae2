//! Turning a stopped syscall into the words of an [`Event`]: the arguments
//! as strace writes them, addresses as `127.0.0.1:8080`, payloads as
//! escaped previews, all read from the program's own memory.
//!
//! Everything read from the program is untrusted: a pointer may be wrong, a
//! length may be huge, a sockaddr may be short. Reads are capped, a failed
//! read shows as the raw pointer (`0x7ffd...`, as strace does), and nothing
//! here can panic on what the program passed.

use crate::vocab::preview::{PREVIEW_BYTES, preview};
use crate::vocab::{Call, addr_text};
use sockscope_sys::trace::{Sys, read_mem};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// The course's word for a syscall: `accept4` is an accept, `read` on a
/// socket a recv, `sendmsg` a send (or a sendto when it names an address).
#[must_use]
pub fn course_call(sys: Sys) -> Call {
    match sys {
        Sys::Socket => Call::Socket,
        Sys::Bind => Call::Bind,
        Sys::Listen => Call::Listen,
        Sys::Accept | Sys::Accept4 => Call::Accept,
        Sys::Connect => Call::Connect,
        Sys::Sendto => Call::Sendto,
        Sys::Recvfrom => Call::Recvfrom,
        Sys::Sendmsg | Sys::Sendmmsg | Sys::Write | Sys::Writev => Call::Send,
        Sys::Recvmsg | Sys::Recvmmsg | Sys::Read | Sys::Readv => Call::Recv,
        Sys::Shutdown => Call::Shutdown,
        Sys::Setsockopt => Call::Setsockopt,
        Sys::Getsockopt => Call::Getsockopt,
        Sys::Close => Call::Close,
        Sys::Fcntl => Call::Fcntl,
        Sys::Dup | Sys::Dup3 => Call::Dup,
        #[cfg(target_arch = "x86_64")]
        Sys::Dup2 => Call::Dup,
        #[cfg(target_arch = "x86_64")]
        Sys::Poll | Sys::Select | Sys::EpollWait => Call::Poll,
        Sys::Ppoll | Sys::Pselect6 | Sys::EpollCtl | Sys::EpollPwait => Call::Poll,
    }
}

/// A sockaddr read from the program: `sockaddr_in` or `sockaddr_in6`,
/// parsed from its bytes (family in host order, port and address in
/// network order, as <netinet/in.h> lays them out).
pub fn sockaddr(bytes: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
    match i32::from(family) {
        libc::AF_INET => {
            let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::from((Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            let scope = bytes
                .get(24..28)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_ne_bytes);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                scope,
            )))
        }
        _ => None,
    }
}

/// The address at `addr` (`len` bytes) in task `tid`, as text: the address,
/// `NULL`, or the pointer when it cannot be read.
#[must_use]
pub fn addr_arg(tid: i32, addr: u64, len: u64) -> (String, Option<SocketAddr>) {
    if addr == 0 {
        return ("NULL".into(), None);
    }
    let len = usize::try_from(len.min(128)).unwrap_or(128);
    match read_mem(tid, addr, len).ok().and_then(|b| sockaddr(&b)) {
        Some(a) => (addr_text(a), Some(a)),
        None => (format!("{addr:#x}"), None),
    }
}

/// A u32 (a `socklen_t`, an `int` option value) at `addr` in task `tid`.
#[must_use]
pub fn read_u32(tid: i32, addr: u64) -> Option<u32> {
    let b = read_mem(tid, addr, 4).ok()?;
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// A u64 at `addr` in task `tid`.
fn read_u64(tid: i32, addr: u64) -> Option<u64> {
    let b = read_mem(tid, addr, 8).ok()?;
    Some(u64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
}

/// The first bytes of a buffer, enough for a preview (one more than
/// [`PREVIEW_BYTES`], so the preview knows to mark the cut).
#[must_use]
pub fn buffer_head(tid: i32, addr: u64, len: u64) -> Vec<u8> {
    let want = usize::try_from(len)
        .unwrap_or(usize::MAX)
        .min(PREVIEW_BYTES + 1);
    read_mem(tid, addr, want).unwrap_or_default()
}

/// The first bytes of the buffers of an iovec array (`readv`, `sendmsg`):
/// `struct iovec { void *base; size_t len; }`, 16 bytes each on 64-bit.
#[must_use]
pub fn iov_head(tid: i32, iov: u64, count: u64, limit: u64) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..count.min(64) {
        let at = iov + i * 16;
        let (Some(base), Some(len)) = (read_u64(tid, at), read_u64(tid, at + 8)) else {
            break;
        };
        total = total.saturating_add(len);
        let room = (PREVIEW_BYTES as u64 + 1).saturating_sub(out.len() as u64);
        let take = len.min(room).min(limit.saturating_sub(total - len));
        if take > 0 {
            out.extend(read_mem(tid, base, take as usize).unwrap_or_default());
        }
    }
    (out, total)
}

/// `struct msghdr` on 64-bit Linux: name (8), namelen (4 + 4 padding), iov
/// (8), iovlen (8), control (8), controllen (8), flags (4).
pub struct Msghdr {
    pub name: u64,
    pub namelen: u64,
    pub iov: u64,
    pub iovlen: u64,
}

#[must_use]
pub fn msghdr(tid: i32, addr: u64) -> Option<Msghdr> {
    let b = read_mem(tid, addr, 56).ok()?;
    let word = |at: usize| Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?));
    Some(Msghdr {
        name: word(0)?,
        namelen: u64::from(u32::from_ne_bytes(b.get(8..12)?.try_into().ok()?)),
        iov: word(16)?,
        iovlen: word(24)?,
    })
}

/// The escaped preview of `bytes`, cut to the `n` bytes the call moved.
#[must_use]
pub fn data_preview(mut bytes: Vec<u8>, n: u64) -> String {
    bytes.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    preview(&bytes)
}

/// `AF_INET`, `AF_INET6`, `AF_UNIX`, or the number.
#[must_use]
pub fn family(n: u64) -> String {
    match i32::try_from(n).unwrap_or(-1) {
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_UNIX => "AF_UNIX".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        other => other.to_string(),
    }
}

/// `SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK`, as strace writes socket's type.
#[must_use]
pub fn sock_type(n: u64) -> String {
    let n = i32::try_from(n).unwrap_or(0);
    let base = n & 0xf;
    let mut s = match base {
        libc::SOCK_STREAM => "SOCK_STREAM".to_string(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".to_string(),
        libc::SOCK_RAW => "SOCK_RAW".to_string(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".to_string(),
        other => other.to_string(),
    };
    flags_into(
        &mut s,
        n,
        &[
            (libc::SOCK_CLOEXEC, "SOCK_CLOEXEC"),
            (libc::SOCK_NONBLOCK, "SOCK_NONBLOCK"),
        ],
    );
    s
}

/// accept4's flags: `SOCK_CLOEXEC|SOCK_NONBLOCK`, or `0`.
#[must_use]
pub fn accept_flags(n: u64) -> String {
    let mut s = String::new();
    flags_into(
        &mut s,
        i32::try_from(n).unwrap_or(0),
        &[
            (libc::SOCK_CLOEXEC, "SOCK_CLOEXEC"),
            (libc::SOCK_NONBLOCK, "SOCK_NONBLOCK"),
        ],
    );
    if s.is_empty() { "0".into() } else { s }
}

/// send and recv flags as strace spells them (`MSG_NOSIGNAL`, `0`).
#[must_use]
pub fn msg_flags(n: u64) -> String {
    let mut s = String::new();
    flags_into(
        &mut s,
        i32::try_from(n).unwrap_or(0),
        &[
            (libc::MSG_OOB, "MSG_OOB"),
            (libc::MSG_PEEK, "MSG_PEEK"),
            (libc::MSG_DONTROUTE, "MSG_DONTROUTE"),
            (libc::MSG_TRUNC, "MSG_TRUNC"),
            (libc::MSG_DONTWAIT, "MSG_DONTWAIT"),
            (libc::MSG_EOR, "MSG_EOR"),
            (libc::MSG_WAITALL, "MSG_WAITALL"),
            (libc::MSG_NOSIGNAL, "MSG_NOSIGNAL"),
            (libc::MSG_MORE, "MSG_MORE"),
        ],
    );
    if s.is_empty() { "0".into() } else { s }
}

fn flags_into(s: &mut String, n: i32, names: &[(i32, &str)]) {
    for &(bit, name) in names {
        if n & bit != 0 {
            if !s.is_empty() {
                s.push('|');
            }
            s.push_str(name);
        }
    }
}

/// shutdown's `how`.
#[must_use]
pub fn how(n: u64) -> &'static str {
    match i32::try_from(n).unwrap_or(-1) {
        libc::SHUT_RD => "SHUT_RD",
        libc::SHUT_WR => "SHUT_WR",
        libc::SHUT_RDWR => "SHUT_RDWR",
        _ => "?",
    }
}

/// setsockopt/getsockopt level and name, compact: `SOL_SOCKET, SO_REUSEADDR`.
#[must_use]
pub fn sockopt(level: u64, name: u64) -> String {
    let (level, name) = (
        i32::try_from(level).unwrap_or(-1),
        i32::try_from(name).unwrap_or(-1),
    );
    let l = match level {
        libc::SOL_SOCKET => "SOL_SOCKET".to_string(),
        libc::IPPROTO_TCP => "IPPROTO_TCP".to_string(),
        libc::IPPROTO_IP => "IPPROTO_IP".to_string(),
        libc::IPPROTO_IPV6 => "IPPROTO_IPV6".to_string(),
        other => other.to_string(),
    };
    let n = match (level, name) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => "SO_REUSEADDR".to_string(),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => "SO_REUSEPORT".to_string(),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => "SO_KEEPALIVE".to_string(),
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => "SO_RCVBUF".to_string(),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => "SO_SNDBUF".to_string(),
        (libc::SOL_SOCKET, libc::SO_LINGER) => "SO_LINGER".to_string(),
        (libc::SOL_SOCKET, libc::SO_ERROR) => "SO_ERROR".to_string(),
        (libc::SOL_SOCKET, libc::SO_TYPE) => "SO_TYPE".to_string(),
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => "SO_BROADCAST".to_string(),
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => "SO_RCVTIMEO".to_string(),
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => "SO_SNDTIMEO".to_string(),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => "TCP_NODELAY".to_string(),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => "IPV6_V6ONLY".to_string(),
        (_, other) => other.to_string(),
    };
    format!("{l}, {n}")
}

/// fcntl's command, and whether it sets O_NONBLOCK.
#[must_use]
pub fn fcntl_cmd(cmd: u64, arg: u64) -> (String, bool) {
    let arg_i = i32::try_from(arg).unwrap_or(0);
    match i32::try_from(cmd).unwrap_or(-1) {
        libc::F_GETFL => ("F_GETFL".into(), false),
        libc::F_SETFL => {
            let mut s = String::new();
            flags_into(
                &mut s,
                arg_i,
                &[
                    (libc::O_NONBLOCK, "O_NONBLOCK"),
                    (libc::O_APPEND, "O_APPEND"),
                ],
            );
            let rw = match arg_i & libc::O_ACCMODE {
                libc::O_WRONLY => "O_WRONLY",
                libc::O_RDWR => "O_RDWR",
                _ => "O_RDONLY",
            };
            let flags = if s.is_empty() {
                rw.to_string()
            } else {
                format!("{rw}|{s}")
            };
            (format!("F_SETFL, {flags}"), arg_i & libc::O_NONBLOCK != 0)
        }
        libc::F_GETFD => ("F_GETFD".into(), false),
        libc::F_SETFD => (
            format!(
                "F_SETFD, {}",
                if arg_i & libc::FD_CLOEXEC != 0 {
                    "FD_CLOEXEC"
                } else {
                    "0"
                }
            ),
            false,
        ),
        libc::F_DUPFD => (format!("F_DUPFD, {arg_i}"), false),
        libc::F_DUPFD_CLOEXEC => (format!("F_DUPFD_CLOEXEC, {arg_i}"), false),
        other => (other.to_string(), false),
    }
}

/// epoll_ctl's op.
#[must_use]
pub fn epoll_op(n: u64) -> &'static str {
    match i32::try_from(n).unwrap_or(-1) {
        libc::EPOLL_CTL_ADD => "EPOLL_CTL_ADD",
        libc::EPOLL_CTL_MOD => "EPOLL_CTL_MOD",
        libc::EPOLL_CTL_DEL => "EPOLL_CTL_DEL",
        _ => "?",
    }
}

/// The fds of a `struct pollfd` array (`int fd; short events, revents;`, 8
/// bytes each), at most 64 of them.
#[must_use]
pub fn poll_fds(tid: i32, addr: u64, n: u64) -> Vec<i32> {
    let n = n.min(64);
    let Ok(b) = read_mem(tid, addr, (n * 8) as usize) else {
        return Vec::new();
    };
    b.chunks_exact(8)
        .filter_map(|c| c.get(..4)?.try_into().ok().map(i32::from_ne_bytes))
        .collect()
}

/// The fds set in an `fd_set` of `nfds` bits at `addr` (select), at most
/// 1024.
#[must_use]
pub fn fd_set(tid: i32, addr: u64, nfds: u64) -> Vec<i32> {
    if addr == 0 {
        return Vec::new();
    }
    let nfds = nfds.min(1024);
    let Ok(b) = read_mem(tid, addr, nfds.div_ceil(8) as usize) else {
        return Vec::new();
    };
    (0..nfds as usize)
        .filter(|&i| b.get(i / 8).is_some_and(|byte| byte & (1 << (i % 8)) != 0))
        .map(|i| i as i32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddrs_parse_from_their_c_layout() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&8080u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(sockaddr(&v4), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(sockaddr(&v4[..6]), None);
        let mut v6 = vec![0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&443u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(sockaddr(&v6), Some("[::1]:443".parse().unwrap()));
        assert_eq!(sockaddr(&[]), None);
    }

    #[test]
    fn flags_are_spelled_as_strace_spells_them() {
        let t = (libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as u64;
        assert_eq!(sock_type(t), "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK");
        assert_eq!(msg_flags(0), "0");
        assert_eq!(msg_flags(libc::MSG_NOSIGNAL as u64), "MSG_NOSIGNAL");
        assert_eq!(
            fcntl_cmd(
                libc::F_SETFL as u64,
                (libc::O_RDWR | libc::O_NONBLOCK) as u64
            ),
            ("F_SETFL, O_RDWR|O_NONBLOCK".to_string(), true)
        );
    }
}
