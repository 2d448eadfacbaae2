//! Which socket, and which process, holds a local port: the kernel's socket
//! tables (/proc/net/tcp, tcp6, udp, udp6) give each socket's local address,
//! state, owner uid and inode; /proc/PID/fd links (`socket:[INODE]`) tie an
//! inode to a process.
//!
//! Best effort, and honest about it: /proc shows other users' fds only to
//! root; a TCP socket that is bound but neither listening nor connected is in
//! no table; a connection in TIME_WAIT belongs to no process at all.

use crate::vocab::Proto;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One socket on the port, as the kernel's table lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its local address, `127.0.0.1:8080` or `[::]:8080`.
    pub local: String,
    /// TCP state (`LISTEN`, `ESTABLISHED`, `TIME_WAIT`, ...); for UDP
    /// `UNCONN` (bound) or `ESTABLISHED` (connected), as ss prints them.
    pub state: String,
    /// The uid that owns the socket.
    pub uid: u32,
    pub inode: u64,
    /// The process holding it, when /proc lets us see it.
    pub pid: Option<u32>,
    /// That process's name (/proc/PID/comm).
    pub process: Option<String>,
    /// Who holds it, in words: `held by pid 1234 (nginx)`, or why that is
    /// unknown (`could not see which process holds it (...)`).
    pub who: String,
}

/// Who holds a socket, in words, or why no process can be named. `as_root`:
/// whether this process could read every /proc/PID/fd.
fn who(h: &Holder, as_root: bool) -> String {
    match (&h.pid, &h.process) {
        (Some(pid), Some(name)) => format!("held by pid {pid} ({name})"),
        (Some(pid), None) => format!("held by pid {pid}"),
        _ if h.inode == 0 => {
            "held by no process: the kernel keeps a closed connection for a while".into()
        }
        _ if as_root => format!(
            "could not see which process holds it (socket owned by uid {}; no process in this /proc has it open, so it may run outside this PID namespace, e.g. on a container's host)",
            h.uid
        ),
        _ => format!(
            "could not see which process holds it (socket owned by uid {}; /proc shows other users' file descriptors only to root)",
            h.uid
        ),
    }
}

/// The `st` column of /proc/net/tcp as the state's name, from the one table
/// of TCP states ([`crate::vocab::TcpState`]); this report's JSON carries it
/// as text.
fn tcp_state(hex: &str) -> String {
    u8::from_str_radix(hex, 16)
        .ok()
        .and_then(crate::vocab::TcpState::from_kernel)
        .map_or_else(|| format!("state {hex}"), |s| s.name().to_string())
}

fn udp_state(hex: &str) -> String {
    match hex {
        "01" => crate::vocab::TcpState::Established.name().into(),
        "07" => "UNCONN".into(),
        other => format!("state {other}"),
    }
}

/// `0100007F` or a 32-digit IPv6 address as /proc/net prints it: each 32-bit
/// word of the network-order address, printed as a host-order number.
#[must_use]
pub fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// Could a socket bound to `ip` stop a bind on 127.0.0.1 of the same port?
/// Yes for 127.0.0.1 itself and for the wildcard addresses (an IPv6 wildcard
/// socket also takes IPv4 unless it is v6-only, which /proc does not show).
fn overlaps_loopback(ip: IpAddr) -> bool {
    let lo = Ipv4Addr::LOCALHOST;
    match ip {
        IpAddr::V4(v4) => v4 == lo || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4 == lo || v4.is_unspecified())
        }
    }
}

/// The sockets in one /proc/net table whose local port is `port` and whose
/// address overlaps 127.0.0.1.
#[must_use]
pub fn parse_table(text: &str, proto: Proto, port: u16) -> Vec<Holder> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (addr, p) = f.get(1)?.split_once(':')?;
            if u16::from_str_radix(p, 16).ok()? != port {
                return None;
            }
            let ip = parse_addr(addr)?;
            if !overlaps_loopback(ip) {
                return None;
            }
            let state = match proto {
                Proto::Tcp => tcp_state(f.get(3)?),
                Proto::Udp => udp_state(f.get(3)?),
            };
            Some(Holder {
                local: std::net::SocketAddr::new(ip, port).to_string(),
                state,
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(9)?.parse().ok()?,
                pid: None,
                process: None,
                who: String::new(),
            })
        })
        .collect()
}

/// The process whose fd table holds socket `inode`, if /proc shows it.
///
/// Walked by hand rather than with the `procfs` crate: the walk is a
/// readlink per fd (`socket:[INODE]`, see proc(5)), and `procfs` (with
/// `rustix`) would enter the binary for this one loop; the socket tables it
/// parses drop the timer columns sockscope shows (see
/// [`crate::kernel::procnet`]), so it would not replace the rest either.
fn owner_of(inode: u64) -> Option<(u32, Option<String>)> {
    let target = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // Unreadable fd directories (other users' processes, when not root)
        // are skipped: that is the "could not see" case.
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target.as_str()) {
                // Any process can name itself anything (prctl PR_SET_NAME),
                // escape sequences included: escaped here, where it enters,
                // so no output path can print it raw.
                let comm = std::fs::read_to_string(entry.path().join("comm"))
                    .ok()
                    .map(|c| {
                        crate::vocab::preview::text(c.strip_suffix('\n').unwrap_or(&c)).into_owned()
                    });
                return Some((pid, comm));
            }
        }
    }
    None
}

/// Every socket of `proto` that holds `port` on 127.0.0.1 (or the wildcard),
/// with its process where /proc shows it.
#[must_use]
pub fn holders(proto: Proto, port: u16) -> Vec<Holder> {
    let tables: &[&str] = match proto {
        Proto::Tcp => &["/proc/net/tcp", "/proc/net/tcp6"],
        Proto::Udp => &["/proc/net/udp", "/proc/net/udp6"],
    };
    let mut found: Vec<Holder> = tables
        .iter()
        .filter_map(|t| std::fs::read_to_string(t).ok())
        .flat_map(|text| parse_table(&text, proto, port))
        .collect();
    let as_root = super::Machine::read().uid == Some(0);
    for h in &mut found {
        if h.inode != 0 {
            if let Some((pid, comm)) = owner_of(h.inode) {
                h.pid = Some(pid);
                h.process = comm;
            }
        }
        h.who = who(h, as_root);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 100 0 0 10 0
   2: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
   3: 0100007F:0050 0100007F:D431 06 00000000:00000000 03:00000F9A 00000000     0        0 0 3 0000000000000000
";

    #[test]
    fn proc_net_lines_give_address_state_uid_and_inode() {
        if cfg!(target_endian = "big") {
            return; // the fixture is little-endian /proc text
        }
        let h = parse_table(TCP, Proto::Tcp, 8080);
        // 127.0.0.2 does not clash with a bind on 127.0.0.1.
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].local, "127.0.0.1:8080");
        assert_eq!(h[0].state, "LISTEN");
        assert_eq!((h[0].uid, h[0].inode), (0, 4242));
        assert_eq!(h[1].local, "0.0.0.0:8080");
        assert_eq!(h[1].uid, 1000);
        let tw = parse_table(TCP, Proto::Tcp, 80);
        assert_eq!(tw[0].state, "TIME_WAIT");
        assert!(who(&tw[0], true).starts_with("held by no process"));
        assert!(who(&h[1], false).contains("could not see which process"));
        assert!(who(&h[1], false).contains("only to root"));
        assert!(who(&h[1], true).contains("PID namespace"));
    }

    #[test]
    fn ipv6_addresses_parse() {
        if cfg!(target_endian = "big") {
            return;
        }
        assert_eq!(
            parse_addr("00000000000000000000000000000000"),
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        );
        let mapped = parse_addr("0000000000000000FFFF00000100007F").unwrap();
        assert_eq!(mapped.to_string(), "::ffff:127.0.0.1");
        assert!(overlaps_loopback(mapped));
        assert_eq!(
            parse_addr("00000000000000000000000001000000"),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert!(!overlaps_loopback(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[test]
    fn a_listener_of_this_process_is_found_with_its_pid() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = holders(Proto::Tcp, port);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].state, "LISTEN");
        assert_eq!(h[0].pid, Some(std::process::id()));
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = u.local_addr().unwrap().port();
        let h = holders(Proto::Udp, port);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].state, "UNCONN");
        assert_eq!(h[0].pid, Some(std::process::id()));
    }
}
