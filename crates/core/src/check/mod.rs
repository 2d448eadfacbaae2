//! `sockscope check`: a student's program graded in one role of a socket
//! exchange, claim by claim, from the calls it really made.
//!
//! A [`Role`] is data (`assets/roles/*.toml`, or a teacher's own file):
//! what sockscope plays as the other side ([`Peer`]) and, in order, the
//! claims the program must make true, each a socket call on a socket an
//! earlier claim named (`as`, `new`, `on`). [`evaluate`] holds the claims
//! against the program's events, as the tracer reported them (the calls
//! that ran, not what the program printed), and says for each what the
//! program did: the call that makes it true, the call that failed, the
//! bytes that were short, or the call the program made instead.
//!
//! The other side is played by [`peer`], with real sockets in this
//! process: it meets the program on the addresses its calls name.

pub mod peer;

use crate::event::Event;
use crate::vocab::{Call, Proto};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// What sockscope does as the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Peer {
    /// Clients (`clients` of them, one after the other) connect to the
    /// address the program listens on, each sends `message`, reads the
    /// answer until the program closes, and closes.
    Clients,
    /// A TCP server on the port given to the program: it accepts one
    /// connection, reads the request, answers with the `answer` pieces a
    /// moment apart, and closes.
    Server,
    /// One datagram, `message`, to the address the program bound.
    Sender,
    /// A UDP socket on the port given to the program, waiting for a
    /// datagram.
    Receiver,
}

/// A byte count a claim asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bytes {
    /// All of the peer's `message`.
    Message,
    /// All of the peer's `answer`, every piece.
    Answer,
}

/// Whom a claim's call must be addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum To {
    /// sockscope's own socket (the server or receiver it plays).
    Peer,
}

/// One thing the program must do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The claim in words: `accepts the first client`.
    pub say: String,
    /// The course's call (`send` also takes a `sendto`, `recv` a
    /// `recvfrom`, and the calls a traced program makes are named so:
    /// `accept4` is an accept, `read` on a socket a recv).
    pub call: Call,
    /// For `socket`: the protocol.
    pub proto: Option<Proto>,
    /// Name the socket the call made (`socket`) for later claims.
    #[serde(rename = "as")]
    pub name: Option<String>,
    /// The call is on the socket an earlier claim named.
    pub on: Option<String>,
    /// Name the new connection (`accept`) for later claims.
    pub new: Option<String>,
    /// The call (with the ones right after it on the same socket) moves
    /// this many bytes: a message read in pieces counts whole.
    pub bytes: Option<Bytes>,
    /// The call's address is sockscope's.
    pub to: Option<To>,
}

/// A role: the other side sockscope plays, and the claims.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    pub summary: String,
    pub peer: Peer,
    /// For [`Peer::Clients`]: how many, one after the other.
    pub clients: Option<u32>,
    /// What the peer sends ([`Peer::Clients`], [`Peer::Sender`]).
    pub message: Option<String>,
    /// The answer's pieces ([`Peer::Server`]).
    pub answer: Option<Vec<String>>,
    #[serde(rename = "claim")]
    pub claims: Vec<Claim>,
}

/// (file name, contents) of the roles that ship inside the binary.
const FILES: &[(&str, &str)] = &[
    (
        "tcp-server.toml",
        include_str!("../../assets/roles/tcp-server.toml"),
    ),
    (
        "tcp-client.toml",
        include_str!("../../assets/roles/tcp-client.toml"),
    ),
    (
        "udp-receiver.toml",
        include_str!("../../assets/roles/udp-receiver.toml"),
    ),
    (
        "udp-sender.toml",
        include_str!("../../assets/roles/udp-sender.toml"),
    ),
];

/// Every built-in role.
///
/// # Panics
///
/// When a built-in role file does not parse (a test checks they all do).
#[must_use]
pub fn builtins() -> Vec<Role> {
    FILES
        .iter()
        .map(|(file, text)| {
            parse(text).unwrap_or_else(|e| panic!("built-in role {file} is invalid: {e}"))
        })
        .collect()
}

/// Read a role from TOML and check it makes sense: the fields its peer
/// needs are there, and every `on` names a socket an earlier claim named.
///
/// # Errors
///
/// The TOML error (with its place), or the first thing that does not fit.
pub fn parse(text: &str) -> Result<Role, String> {
    // One line: the message and where (toml's own Display draws the line
    // in several, for a terminal).
    let role: Role = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => {
            let (line, col) = crate::place::line_col(text, span.start);
            format!("line {line}, column {col}: {}", e.message().trim())
        }
        None => e.message().trim().to_string(),
    })?;
    let need = |what: bool, field: &str| {
        if what {
            Ok(())
        } else {
            Err(format!("role `{}`: its peer needs `{field}`", role.name))
        }
    };
    match role.peer {
        Peer::Clients => {
            need(
                role.message.as_ref().is_some_and(|m| !m.is_empty()),
                "message",
            )?;
            need(
                role.clients.is_some_and(|c| (1..=16).contains(&c)),
                "clients (1 to 16)",
            )?;
        }
        Peer::Server => need(
            role.answer
                .as_ref()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|p| !p.is_empty())),
            "answer (pieces, none empty)",
        )?,
        Peer::Sender => need(
            role.message.as_ref().is_some_and(|m| !m.is_empty()),
            "message",
        )?,
        Peer::Receiver => {}
    }
    if role.claims.is_empty() {
        return Err(format!("role `{}` has no claim", role.name));
    }
    let mut named: Vec<&str> = Vec::new();
    for (i, c) in role.claims.iter().enumerate() {
        if let Some(on) = &c.on
            && !named.contains(&on.as_str())
        {
            return Err(format!(
                "role `{}`, claim {}: `on = \"{on}\"` names no socket an earlier claim named",
                role.name,
                i + 1
            ));
        }
        if c.bytes == Some(Bytes::Message) && role.message.is_none()
            || c.bytes == Some(Bytes::Answer) && role.answer.is_none()
        {
            return Err(format!(
                "role `{}`, claim {}: its bytes need the role's message or answer",
                role.name,
                i + 1
            ));
        }
        named.extend(c.name.as_deref());
        named.extend(c.new.as_deref());
    }
    Ok(role)
}

impl Role {
    /// How many bytes `b` stands for.
    #[must_use]
    pub fn byte_count(&self, b: Bytes) -> usize {
        match b {
            Bytes::Message => self.message.as_ref().map_or(0, String::len),
            Bytes::Answer => self
                .answer
                .as_ref()
                .map_or(0, |a| a.iter().map(String::len).sum()),
        }
    }
}

/// Why a claim does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The call was made and failed: the event.
    Failed(usize),
    /// The bytes fell short: how many moved of how many, over these calls.
    Short { got: usize, want: usize },
    /// The call went to another address than sockscope's.
    Elsewhere(usize),
    /// Never made; what the program did instead on that socket (or at all)
    /// after the claim before, if anything.
    Instead(Option<usize>),
    /// It is on a socket an earlier claim should have named, and did not.
    Unnamed(String),
}

/// One claim held against the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The calls that show it (indices into the events): the call, or the
    /// calls that read a message in pieces.
    pub calls: Vec<usize>,
    /// Why it does not hold; `None` when it does.
    pub why: Option<Why>,
}

impl Verdict {
    /// Whether the claim holds: nothing says why not.
    #[must_use]
    pub fn holds(&self) -> bool {
        self.why.is_none()
    }
}

/// Whether `e` is a call of the claim's kind: `send` and `sendto` are one
/// kind, as are `recv` and `recvfrom` (a program's write on a socket is
/// its send, and the tracer names it so).
fn same_call(want: Call, e: &Event) -> bool {
    let family = |c: Call| match c {
        Call::Sendto => Call::Send,
        Call::Recvfrom => Call::Recv,
        c => c,
    };
    family(want) == family(e.call)
}

/// Is `text` (an event's address) sockscope's `peer`, or the same port on a
/// wildcard or loopback address?
fn is_peer(text: Option<&String>, peer: Option<SocketAddr>) -> bool {
    let (Some(text), Some(peer)) = (text, peer) else {
        return false;
    };
    text.parse::<SocketAddr>()
        .is_ok_and(|a| a == peer || (a.port() == peer.port() && a.ip().is_loopback()))
}

/// Hold each of `role`'s claims against the program's `events`, in order:
/// each claim is looked for after the call that made the claim before it
/// true. `peer` is sockscope's own address, for `to = "peer"`.
#[must_use]
pub fn evaluate(role: &Role, events: &[Event], peer: Option<SocketAddr>) -> Vec<Verdict> {
    let mut names: HashMap<&str, i32> = HashMap::new();
    let mut cursor = 0;
    let mut out = Vec::with_capacity(role.claims.len());
    for claim in &role.claims {
        let fd = match &claim.on {
            Some(n) => {
                let Some(&fd) = names.get(n.as_str()) else {
                    out.push(Verdict {
                        calls: Vec::new(),
                        why: Some(Why::Unnamed(n.clone())),
                    });
                    continue;
                };
                Some(fd)
            }
            None => None,
        };
        let on_socket = |e: &Event| fd.is_none_or(|fd| e.fd == Some(fd));
        let found = events.iter().enumerate().skip(cursor).find(|(_, e)| {
            same_call(claim.call, e) && on_socket(e) && claim.proto.is_none_or(|p| p == e.proto)
        });
        let Some((i, e)) = found else {
            let instead = events
                .iter()
                .enumerate()
                .skip(cursor)
                .find(|(_, e)| on_socket(e))
                .map(|(i, _)| i);
            out.push(Verdict {
                calls: Vec::new(),
                why: Some(Why::Instead(instead)),
            });
            continue;
        };
        cursor = i + 1;
        if !e.ok() {
            out.push(Verdict {
                calls: vec![i],
                why: Some(Why::Failed(i)),
            });
            continue;
        }
        if claim.to == Some(To::Peer) && !is_peer(e.peer.as_ref(), peer) {
            out.push(Verdict {
                calls: vec![i],
                why: Some(Why::Elsewhere(i)),
            });
            continue;
        }
        if let Some(b) = claim.bytes {
            let want = role.byte_count(b);
            let (calls, got) = gather(events, i, claim.call, want);
            cursor = calls.last().map_or(cursor, |&l| l + 1);
            out.push(Verdict {
                calls,
                why: (got < want).then_some(Why::Short { got, want }),
            });
            continue;
        }
        if let Some(n) = &claim.name
            && let Some(fd) = e.new_fd.or(e.fd)
        {
            names.insert(n, fd);
        }
        if let Some(n) = &claim.new
            && let Some(fd) = e.new_fd
        {
            names.insert(n, fd);
        }
        out.push(Verdict {
            calls: vec![i],
            why: None,
        });
    }
    out
}

/// The calls of kind `call` on the socket of event `first`, from it on,
/// until `want` bytes have moved, the socket's end of stream (a call that
/// moved 0), or another call on that socket: the calls and the bytes.
fn gather(events: &[Event], first: usize, call: Call, want: usize) -> (Vec<usize>, usize) {
    let fd = events[first].fd;
    let mut calls = Vec::new();
    let mut got = 0;
    for (i, e) in events.iter().enumerate().skip(first) {
        if e.fd != fd {
            continue;
        }
        if !same_call(call, e) || !e.ok() {
            break;
        }
        calls.push(i);
        let n = e.bytes.unwrap_or(0);
        got += n;
        if n == 0 || got >= want {
            break;
        }
    }
    (calls, got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(call: Call, fd: i32, f: impl FnOnce(&mut Event)) -> Event {
        let mut e = Event::new("p[1]", call, "fd", Proto::Tcp, Some(fd));
        f(&mut e);
        e
    }

    fn server_role() -> Role {
        builtins()
            .into_iter()
            .find(|r| r.name == "tcp-server")
            .unwrap()
    }

    /// A server that does everything right, for its first client.
    fn good_first_client() -> Vec<Event> {
        let msg = server_role().message.unwrap().len();
        vec![
            ev(Call::Socket, 3, |e| e.new_fd = Some(3)),
            ev(Call::Bind, 3, |_| {}),
            ev(Call::Listen, 3, |_| {}),
            ev(Call::Accept, 3, |e| e.new_fd = Some(4)),
            ev(Call::Recv, 4, |e| e.bytes = Some(5)),
            ev(Call::Recv, 4, |e| e.bytes = Some(msg - 5)),
            ev(Call::Send, 4, |e| e.bytes = Some(10)),
            ev(Call::Close, 4, |_| {}),
        ]
    }

    #[test]
    fn every_builtin_role_parses_and_names_its_sockets_before_use() {
        let roles = builtins();
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["tcp-server", "tcp-client", "udp-receiver", "udp-sender"]
        );
    }

    #[test]
    fn a_message_read_in_pieces_counts_whole_and_the_rest_is_pointed_at() {
        let role = server_role();
        let v = evaluate(&role, &good_first_client(), None);
        assert!(v[..7].iter().all(Verdict::holds), "{v:?}");
        assert_eq!(v[4].calls, vec![4, 5], "both recvs make the message");
        // No second accept: the claim says what the program did instead
        // (nothing more on the listening socket).
        assert_eq!(v[7].why, Some(Why::Instead(None)));
        assert_eq!(v[8].why, Some(Why::Unnamed("second".into())));
    }

    #[test]
    fn a_server_that_reads_on_the_listening_socket_is_told_so() {
        let role = server_role();
        let mut events = good_first_client()[..3].to_vec();
        events.push(ev(Call::Recv, 3, |e| {
            e.fail(&std::io::Error::from_raw_os_error(libc::ENOTCONN));
        }));
        let v = evaluate(&role, &events, None);
        assert_eq!(v[3].why, Some(Why::Instead(Some(3))), "the recv on fd 3");
    }

    #[test]
    fn a_short_read_and_a_failed_call_do_not_hold() {
        let role = server_role();
        let mut events = good_first_client();
        events[5].bytes = Some(0);
        let v = evaluate(&role, &events, None);
        assert_eq!(v[4].why, Some(Why::Short { got: 5, want: 21 }));
        let mut events = good_first_client();
        events[1].fail(&std::io::Error::from_raw_os_error(libc::EADDRINUSE));
        let v = evaluate(&role, &events, None);
        assert_eq!(v[1].why, Some(Why::Failed(1)));
    }

    #[test]
    fn a_role_is_checked_before_it_is_used() {
        let bad = r#"
name = "x"
summary = "x"
peer = "clients"
message = "hi"
clients = 1
[[claim]]
say = "reads"
call = "recv"
on = "conn"
"#;
        assert!(parse(bad).unwrap_err().contains("names no socket"));
        let no_message = "name = \"x\"\nsummary = \"x\"\npeer = \"sender\"\n[[claim]]\nsay = \"s\"\ncall = \"socket\"\n";
        assert!(parse(no_message).unwrap_err().contains("needs `message`"));
        assert!(parse("name = 1").is_err());
    }
}
