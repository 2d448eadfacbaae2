//! What binding a port here does now: a real socket(2) and bind(2) on
//! 127.0.0.1, TCP and UDP, then close(2). Nothing listens and nothing is sent;
//! the port is held for microseconds and released.
//!
//! bind is called without SO_REUSEADDR, as a plain first program would: so a
//! connection lingering in TIME_WAIT on the port makes it fail too, and the
//! report says so.

use super::holder::{self, Holder};
use super::machine::Machine;
use crate::vocab::{Proto, errno};
use serde::{Deserialize, Serialize};
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;

/// The outcome of one real bind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindProbe {
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// The failing or succeeding call: `socket` or `bind`.
    pub call: String,
    /// The address bind was asked for: `127.0.0.1:80`.
    pub addr: String,
    /// `ok`, or the errno name (`EACCES`, `EADDRINUSE`).
    pub result: crate::vocab::Outcome,
    pub errno: Option<i32>,
    /// On failure, the errno's plain sentence.
    pub explain: Option<String>,
    /// Why it went this way for this port and this process.
    pub why: Option<String>,
    /// The address the socket really had after bind (getsockname): for port
    /// 0, the port the kernel chose.
    pub bound: Option<String>,
    /// For EADDRINUSE: the sockets holding the port, with their processes
    /// where /proc shows them.
    pub holders: Vec<Holder>,
    /// What close(2) said when the probe released the socket: `ok` or an
    /// errno name; `null` if no socket was opened.
    pub released: Option<crate::vocab::Outcome>,
}

impl BindProbe {
    #[must_use]
    pub fn ok(&self) -> bool {
        self.result == crate::vocab::Outcome::Ok
    }

    /// The port the kernel gave the socket, when bind succeeded.
    #[must_use]
    pub fn bound_port(&self) -> Option<u16> {
        self.bound
            .as_deref()?
            .parse::<SocketAddr>()
            .ok()
            .map(|a| a.port())
    }
}

fn socket(proto: Proto) -> std::io::Result<Socket> {
    let ty = match proto {
        Proto::Tcp => Type::STREAM,
        Proto::Udp => Type::DGRAM,
    };
    Socket::new(Domain::IPV4, ty.cloexec(), None)
}

/// Bind `port` on 127.0.0.1 for `proto`, report, and release.
#[must_use]
pub fn probe(proto: Proto, port: u16, machine: &Machine) -> BindProbe {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut out = BindProbe {
        proto,
        call: "socket".into(),
        addr: addr.to_string(),
        result: crate::vocab::Outcome::Ok,
        errno: None,
        explain: None,
        why: None,
        bound: None,
        holders: Vec::new(),
        released: None,
    };
    let sock = match socket(proto) {
        Ok(s) => s,
        Err(e) => {
            fail(&mut out, &e);
            return out;
        }
    };
    out.call = "bind".into();
    match sock.bind(&SockAddr::from(addr)) {
        Ok(()) => {
            out.bound = sock
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .map(|a| a.to_string());
        }
        Err(e) => fail(&mut out, &e),
    }
    // Release first, so the holder lookup below never finds the probe itself.
    out.released = Some(match sockscope_sys::close(OwnedFd::from(sock)) {
        Ok(()) => crate::vocab::Outcome::Ok,
        Err(e) => crate::vocab::Outcome::Failed(errno::from_io(&e)),
    });
    if out.errno == Some(libc::EADDRINUSE) {
        out.holders = holder::holders(proto, port);
    }
    out.why = why(&out, port, machine);
    out
}

fn fail(out: &mut BindProbe, err: &std::io::Error) {
    let info = errno::from_io(err);
    out.result = crate::vocab::Outcome::Failed(info);
    out.errno = Some(info.number);
    out.explain = Some(info.explain.to_string());
}

/// The reason behind the outcome, in terms of this port and this process.
fn why(p: &BindProbe, port: u16, m: &Machine) -> Option<String> {
    let start = m.unprivileged_port_start.map_or_else(
        || "ip_unprivileged_port_start".to_string(),
        |s| format!("ip_unprivileged_port_start = {s}"),
    );
    let who = m.credentials();
    match p.errno {
        None if port == 0 => {
            let chosen = p.bound_port()?;
            let range = match m.ephemeral_range {
                Some((lo, hi)) if (lo..=hi).contains(&chosen) => {
                    format!(", from ip_local_port_range {lo}-{hi}")
                }
                Some((lo, hi)) => format!(", outside ip_local_port_range {lo}-{hi}"),
                None => String::new(),
            };
            Some(format!("the kernel chose port {chosen}{range}"))
        }
        None if m.privileged(port) == Some(true) => Some(match m.cap_net_bind_service {
            Some(true) => format!(
                "allowed although port {port} is below {start}: this process ({}) holds CAP_NET_BIND_SERVICE, the capability that lifts the rule",
                m.who()
            ),
            _ => format!("allowed although port {port} is below {start}, for this process ({who})"),
        }),
        Some(libc::EACCES) => Some(match m.way_forward(port) {
            Some(way) => format!(
                "port {port} is below {start}, and this process ({who}) may not bind it; {way}"
            ),
            _ => format!(
                "this process ({who}) was refused although port {port} is not below {start}: a security module (SELinux, AppArmor) or a seccomp filter may forbid it"
            ),
        }),
        Some(libc::EADDRINUSE) => Some(holders_text(p)),
        None | Some(_) => None,
    }
}

fn holders_text(p: &BindProbe) -> String {
    if p.holders.is_empty() {
        let tables = match p.proto {
            Proto::Tcp => {
                "/proc/net/tcp and tcp6 (a TCP socket that is only bound, neither listening nor connected, is listed nowhere)"
            }
            Proto::Udp => "/proc/net/udp and udp6 (it may have been released in the meantime)",
        };
        return format!(
            "could not see which socket holds it: none on this port appears in {tables}"
        );
    }
    // Group identical holders: a busy port can have hundreds of TIME_WAIT
    // connections, and a student needs the count, not the list.
    let mut groups: Vec<(&Holder, usize)> = Vec::new();
    for h in &p.holders {
        match groups
            .iter_mut()
            .find(|(g, _)| g.local == h.local && g.state == h.state && g.who == h.who)
        {
            Some((_, n)) => *n += 1,
            None => groups.push((h, 1)),
        }
    }
    let list: Vec<String> = groups
        .iter()
        .map(|(h, n)| {
            let what = if *n == 1 {
                format!("{} socket", h.state)
            } else {
                format!("{n} {} sockets", h.state)
            };
            format!("{what} on {}, {}", h.local, h.who)
        })
        .collect();
    format!("in use: {}", list.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_binds_and_is_released() {
        let m = Machine::read();
        for proto in [Proto::Tcp, Proto::Udp] {
            let p = probe(proto, 0, &m);
            assert!(p.ok(), "{p:?}");
            let port = p.bound_port().unwrap();
            assert_ne!(port, 0);
            assert_eq!(p.released, Some(crate::vocab::Outcome::Ok));
            assert!(p.why.as_deref().unwrap().contains(&port.to_string()));
            // Released: the same port binds again at once (UDP has no
            // TIME_WAIT, and a TCP socket that never connected leaves none).
            let again = probe(proto, port, &m);
            assert!(again.ok(), "{again:?}");
        }
    }

    #[test]
    fn a_port_held_by_another_socket_is_eaddrinuse_with_its_holder() {
        let m = Machine::read();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for (proto, port) in [
            (Proto::Tcp, tcp.local_addr().unwrap().port()),
            (Proto::Udp, udp.local_addr().unwrap().port()),
        ] {
            let p = probe(proto, port, &m);
            assert!(p.result.is(libc::EADDRINUSE), "{p:?}");
            assert_eq!(p.errno, Some(libc::EADDRINUSE));
            assert_eq!(p.holders.len(), 1, "{p:?}");
            assert_eq!(p.holders[0].pid, Some(std::process::id()));
            let why = p.why.unwrap();
            assert!(
                why.contains(&format!("pid {}", std::process::id())),
                "{why}"
            );
        }
    }
}
