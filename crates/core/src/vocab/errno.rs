//! Errno names and the plain sentence a student is shown for each.
//!
//! Rust's `io::Error` knows the number and the C library's message; a learner
//! needs the name they will meet in man pages (`ECONNREFUSED`) and what it means
//! for *their* program. Numbers come from `libc`, so they are this platform's.
//!
//! Two tables: [`NAMES`], every errno Linux can return to a program (all of
//! `asm-generic/errno-base.h` and `errno.h`, a test compares them with the
//! headers), so no failure is ever shown without its name; and `TABLE`, a
//! sentence of our own for each errno a socket call meets. Any other errno is
//! explained in the C library's own words (strerror), never left blank.

use std::io;
use std::sync::OnceLock;

/// `(libc::EPERM, "EPERM")`, ..., for every name given.
macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        &[$((libc::$name, stringify!($name))),*]
    };
}

/// Every errno Linux returns to user space, 1 to 133 (41 and 58 are
/// unused), by its C name. The
/// aliases EWOULDBLOCK (= EAGAIN), EDEADLOCK (= EDEADLK) and glibc's ENOTSUP
/// (= EOPNOTSUPP) share a number with the name listed, which is what strace
/// prints for it.
pub const NAMES: &[(i32, &str)] = errnos![
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    ENOTBLK,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EDEADLK,
    ENAMETOOLONG,
    ENOLCK,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENOMSG,
    EIDRM,
    ECHRNG,
    EL2NSYNC,
    EL3HLT,
    EL3RST,
    ELNRNG,
    EUNATCH,
    ENOCSI,
    EL2HLT,
    EBADE,
    EBADR,
    EXFULL,
    ENOANO,
    EBADRQC,
    EBADSLT,
    EBFONT,
    ENOSTR,
    ENODATA,
    ETIME,
    ENOSR,
    ENONET,
    ENOPKG,
    EREMOTE,
    ENOLINK,
    EADV,
    ESRMNT,
    ECOMM,
    EPROTO,
    EMULTIHOP,
    EDOTDOT,
    EBADMSG,
    EOVERFLOW,
    ENOTUNIQ,
    EBADFD,
    EREMCHG,
    ELIBACC,
    ELIBBAD,
    ELIBSCN,
    ELIBMAX,
    ELIBEXEC,
    EILSEQ,
    ERESTART,
    ESTRPIPE,
    EUSERS,
    ENOTSOCK,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EOPNOTSUPP,
    EPFNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETDOWN,
    ENETUNREACH,
    ENETRESET,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ESHUTDOWN,
    ETOOMANYREFS,
    ETIMEDOUT,
    ECONNREFUSED,
    EHOSTDOWN,
    EHOSTUNREACH,
    EALREADY,
    EINPROGRESS,
    ESTALE,
    EUCLEAN,
    ENOTNAM,
    ENAVAIL,
    EISNAM,
    EREMOTEIO,
    EDQUOT,
    ENOMEDIUM,
    EMEDIUMTYPE,
    ECANCELED,
    ENOKEY,
    EKEYEXPIRED,
    EKEYREVOKED,
    EKEYREJECTED,
    EOWNERDEAD,
    ENOTRECOVERABLE,
    ERFKILL,
    EHWPOISON,
];

/// Name and explanation for one errno value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrnoInfo {
    pub number: i32,
    pub name: &'static str,
    pub explain: &'static str,
}

/// Our own sentence for each errno a socket call meets, by number (the
/// name comes from [`NAMES`]).
const TABLE: &[(i32, &str)] = &[
    (
        libc::ECONNREFUSED,
        "Nobody is listening on that port: the kernel answered the connection attempt with a reset.",
    ),
    (
        libc::EADDRINUSE,
        "Another socket already holds this address and port, so the kernel will not give it to a second one.",
    ),
    (
        libc::EACCES,
        "Permission denied: ports below this machine's unprivileged-port start need root or CAP_NET_BIND_SERVICE.",
    ),
    (
        libc::EPIPE,
        "This socket can no longer send: its sending direction was shut down, or the peer has gone.",
    ),
    (
        libc::ECONNRESET,
        "The peer reset the connection (it sent RST): the kernel tore the connection down at once.",
    ),
    (
        libc::ENOTCONN,
        "The socket is not connected, so there is no peer to talk to.",
    ),
    (
        libc::EINVAL,
        "The kernel rejected an argument or the call makes no sense in the socket's current state.",
    ),
    (
        libc::EADDRNOTAVAIL,
        "That address does not belong to this machine, or no local port is free.",
    ),
    (
        libc::EMSGSIZE,
        "The datagram is larger than the protocol can carry in one message.",
    ),
    (
        libc::ETIMEDOUT,
        "The peer did not answer in time, so the kernel gave up.",
    ),
    (libc::EISCONN, "The socket is already connected."),
    (libc::ENETUNREACH, "No route leads to that network."),
    (libc::EHOSTUNREACH, "No route leads to that host."),
    (
        libc::ECONNABORTED,
        "The connection was aborted before accept could return it.",
    ),
    (
        libc::EMFILE,
        "This process has run out of file descriptors.",
    ),
    (
        libc::ENFILE,
        "The whole system has run out of file descriptors.",
    ),
    (
        libc::ENOBUFS,
        "The kernel ran out of buffer space for this socket.",
    ),
    (
        libc::EAGAIN,
        "The call would have to wait, and it may not: the socket is non-blocking (O_NONBLOCK), the call passed MSG_DONTWAIT, or its timeout ran out.",
    ),
    (
        libc::EINPROGRESS,
        "The socket is non-blocking: the kernel has sent the SYN and the handshake finishes without this call; poll for POLLOUT, then read SO_ERROR to learn how it ended.",
    ),
    (libc::EBADF, "That number is not an open file descriptor."),
    (
        libc::EPERM,
        "The operation is not permitted for this process.",
    ),
    (
        libc::EOPNOTSUPP,
        "This kind of socket does not support that call.",
    ),
    (
        libc::EDESTADDRREQ,
        "The socket has no destination: connect it first or use sendto.",
    ),
    (
        libc::EINTR,
        "A signal interrupted the call before it finished.",
    ),
    (
        libc::EAFNOSUPPORT,
        "The socket's address family does not match the address: an AF_INET socket cannot use an IPv6 address, nor AF_INET6 an IPv4 one.",
    ),
    (
        libc::EPROTONOSUPPORT,
        "This kernel does not support that protocol for this kind of socket.",
    ),
    (
        libc::ESOCKTNOSUPPORT,
        "This kernel does not support that socket type in this address family.",
    ),
    (
        libc::EPROTOTYPE,
        "The protocol does not fit the socket type (TCP is a stream protocol, UDP a datagram one).",
    ),
    (
        libc::ENOTSOCK,
        "That file descriptor is open, but it is not a socket.",
    ),
    (
        libc::ENOPROTOOPT,
        "This socket's protocol has no such option.",
    ),
    (
        libc::ENETDOWN,
        "The network interface the route uses is down.",
    ),
    (
        libc::ENETRESET,
        "The network was reset, and the connection went with it.",
    ),
    (
        libc::ESHUTDOWN,
        "This socket's sending direction has been shut down, so it can send no more.",
    ),
    (
        libc::EALREADY,
        "A connection attempt on this non-blocking socket is already in progress.",
    ),
    (
        libc::EHOSTDOWN,
        "The host is down: nothing answers at that address.",
    ),
    (
        libc::ENOMEM,
        "The kernel could not allocate the memory this call needed.",
    ),
    (
        libc::EFAULT,
        "An address passed to the kernel points outside the process's memory.",
    ),
    (
        libc::EPROTO,
        "A protocol error: the connection broke while accept was taking it.",
    ),
];

/// The C library's description of every errno in [`NAMES`], as a sentence:
/// `No space left on device (the C library's words for ENOSPC).` Read once,
/// from strerror (through `io::Error`'s Display), so it is this system's text.
fn c_library_sentences() -> &'static [String] {
    static SENTENCES: OnceLock<Vec<String>> = OnceLock::new();
    SENTENCES.get_or_init(|| {
        NAMES
            .iter()
            .map(|&(number, name)| {
                let text = io::Error::from_raw_os_error(number).to_string();
                let text = text
                    .strip_suffix(&format!(" (os error {number})"))
                    .unwrap_or(&text)
                    .to_string();
                format!("{text} (the C library's words for {name}).")
            })
            .collect()
    })
}

/// Look an errno number up: its name, and our sentence for it or else the C
/// library's. A number the kernel never returns to a program (none should
/// reach here) is `EUNKNOWN`, with the number said.
#[must_use]
pub fn lookup(number: i32) -> ErrnoInfo {
    let Some(at) = NAMES.iter().position(|&(n, _)| n == number) else {
        return ErrnoInfo {
            number,
            name: "EUNKNOWN",
            explain: "The call failed with an error number Linux does not define.",
        };
    };
    let name = NAMES[at].1;
    let explain = TABLE
        .iter()
        .find(|(n, _)| *n == number)
        .map_or_else(|| c_library_sentences()[at].as_str(), |t| t.1);
    ErrnoInfo {
        number,
        name,
        explain,
    }
}

/// The explanation of `number` for a UDP socket, where it differs from TCP's:
/// UDP has no connection attempt to refuse, so ECONNREFUSED there reports an
/// ICMP message about an earlier datagram.
#[must_use]
pub fn udp_explain(number: i32) -> Option<&'static str> {
    (number == libc::ECONNREFUSED).then_some(
        "An earlier datagram from this socket was answered with ICMP \"port unreachable\": nobody is bound to that port.",
    )
}

/// The errno named `name`, as [`lookup`] names it; `EUNKNOWN` (number 0)
/// for a name the table does not hold.
#[must_use]
pub fn by_name(name: &str) -> ErrnoInfo {
    NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map_or_else(|| from_io(&io::Error::other(name)), |&(n, _)| lookup(n))
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
    #[must_use]
    pub fn errno(number: i32) -> Outcome {
        Outcome::Failed(lookup(number))
    }

    /// `ok`, the errno's name (`ECONNREFUSED`), or `waiting`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed(e) => e.name,
            Outcome::Waiting => "waiting",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Outcome {
        match name {
            "ok" => Outcome::Ok,
            "waiting" => Outcome::Waiting,
            errno => Outcome::Failed(by_name(errno)),
        }
    }

    /// Did it fail with errno `number` (`libc::ECONNRESET`)?
    #[must_use]
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

/// Name and number for an `io::Error` that came from a syscall; an error
/// that did not come from the kernel (none are expected) is "EUNKNOWN" with
/// number 0.
#[must_use]
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
    fn every_errno_linux_returns_has_its_name_and_a_sentence() {
        // `--bind ::1` on an AF_INET socket was errno 97, shown as EUNKNOWN.
        assert_eq!(lookup(97).name, "EAFNOSUPPORT");
        // 1 to 133, except 41 and 58, which Linux leaves unused.
        for n in (1..=133).filter(|n| ![41, 58].contains(n)) {
            let info = lookup(n);
            assert_ne!(info.name, "EUNKNOWN", "errno {n}");
            assert!(
                info.explain.ends_with('.'),
                "{}: {}",
                info.name,
                info.explain
            );
        }
        assert!(
            lookup(libc::ENOSPC)
                .explain
                .starts_with("No space left on device")
        );
        let mut names: Vec<_> = NAMES.iter().map(|t| t.1).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
        assert!(TABLE.iter().all(|t| NAMES.iter().any(|n| n.0 == t.0)));
    }

    /// The table against the kernel's own headers, where they are installed
    /// (linux-libc-dev; CI has them with the C compiler).
    #[test]
    fn the_names_are_the_kernel_headers_names() {
        let headers = [
            "/usr/include/asm-generic/errno-base.h",
            "/usr/include/asm-generic/errno.h",
        ];
        let Ok(text) = headers
            .iter()
            .map(std::fs::read_to_string)
            .collect::<Result<String, _>>()
        else {
            crate::testing::skip("the kernel headers are not installed (linux-libc-dev)");
            return;
        };
        let mut defined = 0;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let (Some("#define"), Some(name), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            // Aliases (`#define EWOULDBLOCK EAGAIN`) name another entry.
            let Ok(number) = value.parse::<i32>() else {
                continue;
            };
            defined += 1;
            assert_eq!(lookup(number).name, name, "errno {number}");
        }
        assert_eq!(defined, NAMES.len());
    }
}
