//! A reader for the kernel's socket tables, /proc/net/tcp and /proc/net/udp.
//!
//! These tables list every IPv4 socket on the machine, including connections
//! that no longer have an fd (TIME_WAIT after close, an orphaned FIN_WAIT2,
//! a request socket in SYN_RECV), which is the only way to watch a connection
//! after its program let go of it.
//!
//! Why our own parser and not the `procfs` crate: `procfs`'s `TcpNetEntry`
//! drops the `tr tm->when` columns (which timer runs and when it fires), and
//! the remaining TIME_WAIT time is exactly what this view exists to show; it
//! also drops UDP's per-socket `drops` column. The format is fixed by the
//! kernel (net/ipv4/tcp_ipv4.c `get_tcp4_sock`, `get_timewait4_sock`,
//! `get_openreq4`; net/ipv4/udp.c `udp4_format_sock`) and is a few columns
//! of hex.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

pub use crate::vocab::Timer;

/// One line of /proc/net/tcp or /proc/net/udp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The kernel's state number (see [`crate::vocab::TcpState::from_kernel`]). For UDP, 7
    /// (unconnected) or 1 (connected).
    pub state: u8,
    /// `tx_queue`: for a TCP connection the bytes not yet acknowledged; for a
    /// TCP listener the backlog limit; for UDP the memory of unsent data.
    pub tx_queue: u64,
    /// `rx_queue`: for a TCP connection the bytes not yet read; for a TCP
    /// listener the accept queue's length; for UDP the receive memory in use
    /// (payload plus the kernel's per-datagram bookkeeping, as `ss` shows it).
    pub rx_queue: u64,
    pub timer: Option<Timer>,
    /// Time until the timer fires.
    pub timer_left: Duration,
    /// 0 for sockets without an fd (TIME_WAIT, request sockets, orphans).
    pub inode: u64,
    /// UDP only: datagrams the kernel dropped for this socket.
    pub drops: Option<u64>,
}

/// Parse `0100007F:1F90` (the address as the kernel's in-memory u32 in hex,
/// the port in host order) into 127.0.0.1:8080.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    if ip.len() != 8 {
        return None; // an IPv6 table line; we only open IPv4 sockets
    }
    let raw = u32::from_str_radix(ip, 16).ok()?;
    // The kernel printed the network-order bytes as a native integer, so the
    // native byte order of `raw` gives back the address bytes in order.
    let ip = Ipv4Addr::from(raw.to_ne_bytes());
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
}

fn hex_pair(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    ))
}

/// Parse one table line. `hz` is the kernel's USER_HZ, the unit of `tm->when`.
#[must_use]
pub fn parse_line(line: &str, hz: u64) -> Option<Entry> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 || !f[0].ends_with(':') {
        return None;
    }
    let (tx_queue, rx_queue) = hex_pair(f[4])?;
    let (tr, when) = hex_pair(f[5])?;
    let timer = Timer::from_code(u8::try_from(tr).ok()?);
    // `when` is jiffies_delta_to_clock_t(expires - now): clock ticks.
    let timer_left = if timer.is_some() {
        Duration::from_millis(when.saturating_mul(1000) / hz.max(1))
    } else {
        Duration::ZERO
    };
    Some(Entry {
        local: parse_addr(f[1])?,
        remote: parse_addr(f[2])?,
        state: u8::from_str_radix(f[3], 16).ok()?,
        tx_queue,
        rx_queue,
        timer,
        timer_left,
        inode: f[9].parse().ok()?,
        // The UDP table's last column; the TCP table has other things there.
        drops: None,
    })
}

fn parse_udp_line(line: &str, hz: u64) -> Option<Entry> {
    let mut e = parse_line(line, hz)?;
    e.drops = line.split_whitespace().nth(12).and_then(|d| d.parse().ok());
    Some(e)
}

/// Every IPv4 TCP socket of this thread's network namespace. The
/// thread's, not the process's: /proc/net is /proc/self/net, the main
/// thread's namespace, while a socket belongs to the namespace of the thread
/// that made it. In sockscope every thread shares one; reading the
/// thread's keeps that true wherever the reader runs.
pub fn tcp() -> io::Result<Vec<Entry>> {
    let text = std::fs::read_to_string("/proc/thread-self/net/tcp")?;
    let hz = sockscope_sys::tcp_info::clock_ticks_per_second();
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| parse_line(l, hz))
        .collect())
}

/// Every IPv4 UDP socket of this thread's network namespace (see [`tcp`]).
pub fn udp() -> io::Result<Vec<Entry>> {
    let text = std::fs::read_to_string("/proc/thread-self/net/udp")?;
    let hz = sockscope_sys::tcp_info::clock_ticks_per_second();
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| parse_udp_line(l, hz))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_wait_line_parses_with_its_timer() {
        let line = "   1: 0100007F:C744 0100007F:B035 06 00000000:00000000 03:00000C16 00000000     0        0 0 3 00000000832525ac";
        let e = parse_line(line, 100).unwrap();
        assert_eq!(e.local, "127.0.0.1:51012".parse().unwrap());
        assert_eq!(e.remote, "127.0.0.1:45109".parse().unwrap());
        assert_eq!(e.state, 6);
        assert_eq!(e.timer, Some(Timer::TimeWait));
        assert_eq!(e.timer_left, Duration::from_millis(30_940));
        assert_eq!(e.inode, 0);
    }

    #[test]
    fn a_listener_line_has_its_queues() {
        let line = "   0: 00000000:07E8 00000000:0000 0A 00000001:00000002 00:00000000 00000000     0        0 475 1 000000002a28908e 100 0 0 10 0";
        let e = parse_line(line, 100).unwrap();
        assert_eq!(e.local, "0.0.0.0:2024".parse().unwrap());
        assert_eq!(e.state, 10);
        assert_eq!((e.tx_queue, e.rx_queue), (1, 2));
        assert_eq!(e.timer, None);
        assert_eq!(e.inode, 475);
    }

    #[test]
    fn a_udp_line_has_its_drops() {
        let line = "  771: 0100007F:A1B2 00000000:0000 07 00000000:00000900 00:00000000 00000000     0        0 12345 2 0000000000000000 17";
        let e = parse_udp_line(line, 100).unwrap();
        assert_eq!(e.rx_queue, 0x900);
        assert_eq!(e.drops, Some(17));
    }

    #[test]
    fn the_header_and_garbage_are_skipped() {
        assert!(parse_line("  sl  local_address rem_address   st", 100).is_none());
        assert!(parse_line("", 100).is_none());
        assert!(parse_line("0: zz:zz", 100).is_none());
    }

    #[test]
    fn a_real_listener_is_in_the_real_table() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let e = tcp()
            .unwrap()
            .into_iter()
            .find(|e| e.local == addr)
            .unwrap();
        assert_eq!(e.state, 10);
        assert_ne!(e.inode, 0, "a socket with an fd has an inode");
    }
}
