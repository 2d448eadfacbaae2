//! Errno names and the plain sentence a student is shown for each.
//!
//! Rust's `io::Error` knows the number and the C library's message; a learner
//! needs the name they will meet in man pages (`ECONNREFUSED`) and what it means
//! for *their* program. Numbers come from `libc`, so they are this platform's.

use std::io;

/// Name and explanation for one errno value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrnoInfo {
    pub number: i32,
    pub name: &'static str,
    pub explain: &'static str,
}

const TABLE: &[(i32, &str, &str)] = &[
    (
        libc::ECONNREFUSED,
        "ECONNREFUSED",
        "Nobody is listening on that port: the kernel answered the connection attempt with a reset.",
    ),
    (
        libc::EADDRINUSE,
        "EADDRINUSE",
        "Another socket already holds this address and port, so the kernel will not give it to a second one.",
    ),
    (
        libc::EACCES,
        "EACCES",
        "Permission denied: ports below this machine's unprivileged-port start need root or CAP_NET_BIND_SERVICE.",
    ),
    (
        libc::EPIPE,
        "EPIPE",
        "This socket can no longer send: its sending direction was shut down, or the peer has gone.",
    ),
    (
        libc::ECONNRESET,
        "ECONNRESET",
        "The peer reset the connection (it sent RST): the kernel tore the connection down at once.",
    ),
    (
        libc::ENOTCONN,
        "ENOTCONN",
        "The socket is not connected, so there is no peer to talk to.",
    ),
    (
        libc::EINVAL,
        "EINVAL",
        "The kernel rejected an argument or the call makes no sense in the socket's current state.",
    ),
    (
        libc::EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "That address does not belong to this machine, or no local port is free.",
    ),
    (
        libc::EMSGSIZE,
        "EMSGSIZE",
        "The datagram is larger than the protocol can carry in one message.",
    ),
    (
        libc::ETIMEDOUT,
        "ETIMEDOUT",
        "The peer did not answer in time, so the kernel gave up.",
    ),
    (libc::EISCONN, "EISCONN", "The socket is already connected."),
    (
        libc::ENETUNREACH,
        "ENETUNREACH",
        "No route leads to that network.",
    ),
    (
        libc::EHOSTUNREACH,
        "EHOSTUNREACH",
        "No route leads to that host.",
    ),
    (
        libc::ECONNABORTED,
        "ECONNABORTED",
        "The connection was aborted before accept could return it.",
    ),
    (
        libc::EMFILE,
        "EMFILE",
        "This process has run out of file descriptors.",
    ),
    (
        libc::ENFILE,
        "ENFILE",
        "The whole system has run out of file descriptors.",
    ),
    (
        libc::ENOBUFS,
        "ENOBUFS",
        "The kernel ran out of buffer space for this socket.",
    ),
    (
        libc::EAGAIN,
        "EAGAIN",
        "The call would have to wait, and the socket is non-blocking.",
    ),
    (
        libc::EINPROGRESS,
        "EINPROGRESS",
        "The connection attempt has started and will finish later.",
    ),
    (
        libc::EBADF,
        "EBADF",
        "That number is not an open file descriptor.",
    ),
    (
        libc::EPERM,
        "EPERM",
        "The operation is not permitted for this process.",
    ),
    (
        libc::EOPNOTSUPP,
        "EOPNOTSUPP",
        "This kind of socket does not support that call.",
    ),
    (
        libc::EDESTADDRREQ,
        "EDESTADDRREQ",
        "The socket has no destination: connect it first or use sendto.",
    ),
    (
        libc::EINTR,
        "EINTR",
        "A signal interrupted the call before it finished.",
    ),
];

/// Look an errno number up. Unknown numbers still get a name (`errno 123`) and
/// the C library's own message, so nothing is ever left blank.
pub fn lookup(number: i32) -> ErrnoInfo {
    TABLE
        .iter()
        .find(|(n, _, _)| *n == number)
        .map(|&(number, name, explain)| ErrnoInfo {
            number,
            name,
            explain,
        })
        .unwrap_or(ErrnoInfo {
            number,
            name: "EUNKNOWN",
            explain: "The kernel returned an error this tool has no explanation for.",
        })
}

/// Name and number for an `io::Error` that came from a syscall; errors that
/// did not come from the kernel (none are expected) map to `EIO`-like
/// "EUNKNOWN" with number 0.
/// The explanation of `number` for a UDP socket, where it differs from TCP's:
/// UDP has no connection attempt to refuse, so ECONNREFUSED there reports an
/// ICMP message about an earlier datagram.
pub fn udp_explain(number: i32) -> Option<&'static str> {
    (number == libc::ECONNREFUSED).then_some(
        "An earlier datagram from this socket was answered with ICMP \"port unreachable\": nobody is bound to that port.",
    )
}

/// The errno named `name`, as [`lookup`] names it; `EUNKNOWN` (number 0)
/// for a name the table does not hold.
pub fn by_name(name: &str) -> ErrnoInfo {
    TABLE
        .iter()
        .find(|(_, n, _)| *n == name)
        .map_or_else(|| from_io(&io::Error::other(name)), |&(n, _, _)| lookup(n))
}

/// What a call came back with: `ok`, an errno, or (for a call that has to
/// wait) `waiting`. One type, compared as a type inside; its name, the
/// `result` field of the JSON, is made only at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Ok,
    Failed(ErrnoInfo),
    Waiting,
}

impl Outcome {
    /// The call failed with errno `number`.
    pub fn errno(number: i32) -> Outcome {
        Outcome::Failed(lookup(number))
    }

    /// `ok`, the errno's name (`ECONNREFUSED`), or `waiting`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed(e) => e.name,
            Outcome::Waiting => "waiting",
        }
    }

    pub fn from_name(name: &str) -> Outcome {
        match name {
            "ok" => Outcome::Ok,
            "waiting" => Outcome::Waiting,
            errno => Outcome::Failed(by_name(errno)),
        }
    }

    /// Did it fail with errno `number` (`libc::ECONNRESET`)?
    pub fn is(self, number: i32) -> bool {
        matches!(self, Outcome::Failed(e) if e.number == number)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Outcome::from_name(&text))
    }
}

pub fn from_io(err: &io::Error) -> ErrnoInfo {
    match err.raw_os_error() {
        Some(n) => lookup(n),
        None => ErrnoInfo {
            number: 0,
            name: "EUNKNOWN",
            explain: "The call failed without an errno from the kernel.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_c_library_numbers() {
        assert_eq!(lookup(libc::ECONNREFUSED).name, "ECONNREFUSED");
        assert_eq!(lookup(libc::EADDRINUSE).name, "EADDRINUSE");
        assert_eq!(lookup(libc::EPIPE).name, "EPIPE");
        assert_eq!(lookup(9999).name, "EUNKNOWN");
    }

    #[test]
    fn outcomes_are_spelled_as_the_json_spells_them() {
        assert_eq!(Outcome::Ok.name(), "ok");
        assert_eq!(Outcome::errno(libc::EPIPE).name(), "EPIPE");
        assert_eq!(
            Outcome::from_name("ECONNRESET"),
            Outcome::errno(libc::ECONNRESET)
        );
        assert!(Outcome::from_name("ECONNRESET").is(libc::ECONNRESET));
        assert_eq!(Outcome::from_name("waiting"), Outcome::Waiting);
        assert_eq!(
            serde_json::to_string(&Outcome::errno(libc::EAGAIN)).unwrap(),
            "\"EAGAIN\""
        );
    }

    #[test]
    fn every_name_is_distinct_and_explained() {
        let mut names: Vec<_> = TABLE.iter().map(|t| t.1).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        assert!(TABLE.iter().all(|t| t.2.ends_with('.')));
    }
}
