//! Non-blocking mode and readiness, as a lesson teaches them: one
//! `fcntl(fd, F_SETFL, O_NONBLOCK)`, one `poll` on one socket or on a set
//! of them.
//!
//! Both go through nix, whose wrappers are the plain libc calls: `fcntl`
//! with F_SETFL passes the flags it is given (so a lesson's step is the very
//! line Beej's guide writes, `fcntl(fd, F_SETFL, O_NONBLOCK)`, one syscall,
//! no F_GETFL before it), and `poll` is poll(2) itself, never retried on
//! EINTR: a poll the presenter interrupts is reported as interrupted, like
//! every other call a lesson makes.

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

/// `fcntl(fd, F_SETFL, O_NONBLOCK)` when `on`, `fcntl(fd, F_SETFL, 0)` when
/// not. F_SETFL replaces the file status flags the call may change
/// (O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME, O_NONBLOCK; the access mode
/// stays), and a socket has none of the others set, so the one call sets
/// or clears exactly O_NONBLOCK.
pub fn set_nonblocking(fd: impl AsFd, on: bool) -> io::Result<()> {
    let flags = if on {
        OFlag::O_NONBLOCK
    } else {
        OFlag::empty()
    };
    fcntl(fd, FcntlArg::F_SETFL(flags))
        .map(drop)
        .map_err(io::Error::from)
}

/// What one poll(2) on one socket returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// poll's return value: 1 when the socket is ready, 0 when the timeout
    /// passed first.
    pub count: i32,
    /// The kernel's `revents` for the socket, as poll.h spells each bit.
    pub revents: Vec<&'static str>,
}

/// Which readiness a lesson's poll waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// POLLIN: data to read, a connection to accept, or end of file.
    Readable,
    /// POLLOUT: room to write; for a connecting TCP socket, the handshake
    /// is over (successfully or not: SO_ERROR says which).
    Writable,
}

impl Want {
    #[must_use]
    pub fn c_name(self) -> &'static str {
        match self {
            Want::Readable => "POLLIN",
            Want::Writable => "POLLOUT",
        }
    }

    fn flags(self) -> PollFlags {
        match self {
            Want::Readable => PollFlags::POLLIN,
            Want::Writable => PollFlags::POLLOUT,
        }
    }
}

/// `poll([{fd, events}], 1, timeout_ms)`: sleeps in the kernel until the
/// socket is ready or `timeout_ms` passes (-1: no timeout).
pub fn poll_one(fd: impl AsFd, want: Want, timeout_ms: i32) -> io::Result<Ready> {
    let (count, mut each) = poll_set(&[fd.as_fd()], want, timeout_ms)?;
    Ok(Ready {
        count,
        revents: each.pop().unwrap_or_default(),
    })
}

/// `poll([{fd, events}, ...], n, timeout_ms)` on several sockets, each
/// watched for the same readiness: poll's return value (how many are
/// ready) and each socket's `revents`, in the order given.
pub fn poll_set(
    fds: &[BorrowedFd<'_>],
    want: Want,
    timeout_ms: i32,
) -> io::Result<(i32, Vec<Vec<&'static str>>)> {
    let timeout = PollTimeout::try_from(timeout_ms).unwrap_or(PollTimeout::NONE);
    let mut set: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, want.flags()))
        .collect();
    let count = poll(&mut set, timeout).map_err(io::Error::from)?;
    let each = set
        .iter()
        .map(|p| revents_names(p.revents().unwrap_or(PollFlags::empty())))
        .collect();
    Ok((count, each))
}

/// The bits of `revents`, in poll.h's order.
fn revents_names(got: PollFlags) -> Vec<&'static str> {
    const NAMES: [(PollFlags, &str); 5] = [
        (PollFlags::POLLIN, "POLLIN"),
        (PollFlags::POLLOUT, "POLLOUT"),
        (PollFlags::POLLERR, "POLLERR"),
        (PollFlags::POLLHUP, "POLLHUP"),
        (PollFlags::POLLNVAL, "POLLNVAL"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| got.contains(*bit))
        .map(|(_, name)| *name)
        .collect()
}
