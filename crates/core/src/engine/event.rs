//! The record of one socket call, as the engine hands it to every consumer.
//!
//! An [`Event`] is what a lifecycle call really did: which fd it acted on, what
//! the kernel returned, the addresses as the kernel reports them afterwards. The
//! TUI draws it, `trace` prints it, tests assert on it. Its JSON field names are
//! a public contract (scripts and handouts depend on them): add fields, never
//! rename or drop one.

use crate::wire::Segment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// The lifecycle calls the engine performs. Serialised in lower case, the way
/// the C API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Call {
    #[default]
    Socket,
    Setsockopt,
    Bind,
    Listen,
    Accept,
    Connect,
    Send,
    Recv,
    Sendto,
    Recvfrom,
    Shutdown,
    Close,
}

impl Call {
    /// Every call, in the order a lifecycle usually meets them.
    pub const ALL: [Call; 12] = [
        Call::Socket,
        Call::Setsockopt,
        Call::Bind,
        Call::Listen,
        Call::Accept,
        Call::Connect,
        Call::Send,
        Call::Recv,
        Call::Sendto,
        Call::Recvfrom,
        Call::Shutdown,
        Call::Close,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Call::Socket => "socket",
            Call::Setsockopt => "setsockopt",
            Call::Bind => "bind",
            Call::Listen => "listen",
            Call::Accept => "accept",
            Call::Connect => "connect",
            Call::Send => "send",
            Call::Recv => "recv",
            Call::Sendto => "sendto",
            Call::Recvfrom => "recvfrom",
            Call::Shutdown => "shutdown",
            Call::Close => "close",
        }
    }

    /// Calls that move payload bytes, whose `bytes` field is the count returned.
    pub fn moves_data(self) -> bool {
        matches!(
            self,
            Call::Send | Call::Recv | Call::Sendto | Call::Recvfrom
        )
    }

    /// Calls the kernel can make wait (EAGAIN, EINPROGRESS) until a peer
    /// does something or buffer space frees up: the only calls the engine
    /// can park while later steps run.
    pub fn can_wait(self) -> bool {
        matches!(
            self,
            Call::Accept | Call::Connect | Call::Recv | Call::Recvfrom | Call::Send | Call::Sendto
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Call {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Call::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown call `{s}`"))
    }
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    #[default]
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

/// One checked claim of the lesson: what the narration says the kernel will
/// do at this step, and what it really did in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which field was checked (`result`, `bytes`, `data`, `tcp_state`, ...).
    pub what: String,
    pub expected: String,
    pub seen: String,
    pub ok: bool,
}

/// One lifecycle call that really ran.
///
/// Fields that do not apply to a call are `null` in JSON rather than absent, so
/// every line of `trace --format json` has the same keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the run, from 1.
    pub seq: u64,
    /// Microseconds from the start of the lesson to the call's return
    /// (monotonic clock).
    pub t_us: u64,
    /// The lesson step that issued the call, from 1.
    pub step: usize,
    /// Which endpoint made the call: `server`, `client`, `client2`, ...
    pub actor: String,
    pub call: Call,
    /// The lesson's name for the socket the call acted on.
    pub sock: String,
    pub proto: Proto,
    /// The fd the call acted on (for `socket`, the fd it returned).
    pub fd: Option<i32>,
    /// For `socket` and `accept`: the fd the call returned.
    pub new_fd: Option<i32>,
    /// The socket's local address after the call, as getsockname reports it.
    pub local: Option<String>,
    /// The peer's address, as known after the call (getpeername, accept's or
    /// recvfrom's address, or the destination of sendto/connect).
    pub peer: Option<String>,
    /// For data calls: the byte count the call returned.
    pub bytes: Option<usize>,
    /// Escaped, capped preview of the payload moved.
    pub data: Option<String>,
    /// `ok`, or the errno name (`ECONNREFUSED`).
    pub result: String,
    /// On failure, the errno number.
    pub errno: Option<i32>,
    /// On failure, one plain sentence a student understands.
    pub explain: Option<String>,
    /// The call's arguments as C would write them, e.g. `3, 8` for listen.
    pub args: String,
    /// How long the call waited for a peer, when it had to wait: from the
    /// kernel's EAGAIN (or EINPROGRESS) until the call returned.
    pub waited_us: Option<u64>,
    /// Extra facts the kernel reported with the result (e.g. `MSG_TRUNC`).
    pub flags: Vec<String>,
    /// The lesson's claims for this step, checked against this run.
    pub checks: Vec<Check>,
    /// The packets captured on `lo` that this call caused (or, marked `late`,
    /// that arrived after an earlier call of the same connection). `null`
    /// when capture did not run (no privilege, `--no-capture`): not observed,
    /// which is different from an empty list (observed: no packets).
    pub segments: Option<Vec<Segment>>,
    /// TCP only: the kernel's state of the socket the call acted on (`fd`),
    /// read right after the call: `LISTEN`, `SYN_SENT`, `SYN_RECV`,
    /// `ESTABLISHED`, `FIN_WAIT1`, `FIN_WAIT2`, `CLOSE_WAIT`, `CLOSING`,
    /// `LAST_ACK`, `TIME_WAIT`, `CLOSE`. After `close`, the state of the
    /// connection the kernel still keeps without an fd, or `null` when it
    /// keeps nothing (then `kernel.source` is `none`). `not observed` if the
    /// kernel could not be asked.
    #[serde(default)]
    pub tcp_state: Option<String>,
    /// The kernel's figures for that socket: queues, accept queue and backlog,
    /// timer, granted SO_RCVBUF, UDP drops. `null` when there is no socket.
    #[serde(default)]
    pub kernel: Option<crate::kernel::Observed>,
    /// Every socket of the lesson that has had an address, keyed
    /// `actor:sock`, as the kernel's tables list it right after this call:
    /// including the other side of the connection and connections without an
    /// fd.
    #[serde(default)]
    pub sockets: std::collections::BTreeMap<String, crate::kernel::SockView>,
}

impl Event {
    /// A call that returned ok, before its results are filled in.
    pub fn new(actor: &str, call: Call, sock: &str, proto: Proto, fd: Option<i32>) -> Event {
        Event {
            actor: actor.to_string(),
            call,
            sock: sock.to_string(),
            proto,
            fd,
            result: "ok".into(),
            ..Event::default()
        }
    }

    /// Record that the call failed with `err`: the errno's name and number,
    /// and the sentence a student is shown (for UDP, where the protocol
    /// changes what an errno means, the UDP one).
    pub fn fail(&mut self, err: &std::io::Error) {
        let info = super::errno::from_io(err);
        self.result = info.name.to_string();
        self.errno = Some(info.number);
        let explain = match self.proto {
            Proto::Udp => super::errno::udp_explain(info.number).unwrap_or(info.explain),
            Proto::Tcp => info.explain,
        };
        self.explain = Some(explain.to_string());
    }

    pub fn ok(&self) -> bool {
        self.result == "ok"
    }

    /// The value the call returned, as C would see it: the new fd, the byte
    /// count, 0 for success, or -1 on failure.
    pub fn return_value(&self) -> String {
        if !self.ok() {
            return "-1".into();
        }
        if let Some(fd) = self.new_fd {
            return fd.to_string();
        }
        if let Some(n) = self.bytes {
            return n.to_string();
        }
        "0".into()
    }

    /// The call as strace would print it: `accept(3) = 5`,
    /// `connect(4, 127.0.0.1:9) = -1 ECONNREFUSED`.
    pub fn syscall_line(&self) -> String {
        let mut s = format!("{}({}) = {}", self.call, self.args, self.return_value());
        if !self.ok() {
            s.push(' ');
            s.push_str(&self.result);
        }
        s
    }
}

/// A call that has been issued and is waiting for a peer (accept with nobody
/// connecting yet, recv with nothing to read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub step: usize,
    pub actor: String,
    pub call: Call,
    pub sock: String,
    pub fd: Option<i32>,
    pub args: String,
    /// Microseconds from the start of the lesson to the moment the kernel
    /// first said the call would block (EAGAIN / EINPROGRESS).
    pub t_us: u64,
    /// The socket's local address at that moment (a connecting client already
    /// has its kernel-chosen port).
    #[serde(default)]
    pub local: Option<String>,
    /// TCP only: the kernel's state of the socket at that moment (`SYN_SENT`
    /// for a connect whose handshake has not completed).
    #[serde(default)]
    pub tcp_state: Option<String>,
}

/// `127.0.0.1:41234`, exactly as `SocketAddr`'s `Display` writes it, without
/// the formatting machinery: it runs for every call of every lesson, and
/// was the engine's largest single cost in the profile.
pub fn addr_text(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => {
            // Written into a buffer on the stack, then copied into a string
            // of exactly the right size: one allocation, no pushes.
            let mut buf = [0u8; 21];
            let mut len = 0;
            for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                len += write_decimal(&mut buf[len..], u16::from(octet));
            }
            buf[len] = b':';
            len += 1;
            len += write_decimal(&mut buf[len..], v4.port());
            // Only ASCII digits, dots and a colon were written.
            std::str::from_utf8(&buf[..len])
                .unwrap_or_default()
                .to_owned()
        }
        SocketAddr::V6(_) => addr.to_string(),
    }
}

/// `n` in decimal at the start of `out`; returns how many digits it took.
fn write_decimal(out: &mut [u8], mut n: u16) -> usize {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - at;
    out[..len].copy_from_slice(&digits[at..]);
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_text_writes_what_display_writes() {
        for a in [
            "127.0.0.1:0",
            "127.0.0.1:65535",
            "0.0.0.0:52213",
            "10.20.30.40:8080",
            "255.255.255.255:1",
            "[::1]:443",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(addr_text(addr), addr.to_string());
        }
        for port in (0..=65535u16).step_by(97) {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            assert_eq!(addr_text(addr), addr.to_string());
        }
    }
}
