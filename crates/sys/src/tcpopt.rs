//! TCP-level socket options socket2 does not wrap: TCP_SYNCNT, which a
//! lesson sets so a connect whose SYNs go unanswered gives up within
//! seconds instead of the two minutes `net.ipv4.tcp_syn_retries` allows
//! (timeouts), or keeps trying for hours (backlog, paused in class).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// setsockopt(fd, SOL_TCP, TCP_SYNCNT, count): how many times connect
/// retransmits its SYN before it fails with ETIMEDOUT.
pub fn set_syncnt(fd: BorrowedFd<'_>, count: u32) -> io::Result<()> {
    let value =
        libc::c_int::try_from(count).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` is a live c_int for the whole call and its size is
    // passed with it; the kernel reads at most that many bytes. The fd is
    // borrowed, so it is open; a socket that is not TCP answers
    // EOPNOTSUPP or ENOPROTOOPT, which is returned as an error.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_TCP,
            libc::TCP_SYNCNT,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// getsockopt(fd, SOL_TCP, TCP_SYNCNT): the retries this socket's connect
/// will make; the namespace's `net.ipv4.tcp_syn_retries` until set.
pub fn syncnt(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live for the whole call; `len` says how
    // many bytes `value` has, and the kernel writes at most that many and
    // the length it wrote back into `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_TCP,
            libc::TCP_SYNCNT,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        Ok(value.unsigned_abs())
    } else {
        Err(io::Error::last_os_error())
    }
}
