//! The one place where sockscope talks to the kernel through `unsafe` code.
//!
//! Everything else goes through socket2, std and tokio. What is here has no safe
//! wrapper in those crates: the return value of close(2) (Rust's `OwnedFd`
//! ignores it, but a learner should see what the kernel said), registering a
//! socket with tokio's reactor (an `unsafe fn` since tokio 1.5x), and viewing an
//! initialised byte buffer as the `MaybeUninit` slice socket2's receive calls
//! take, and raising the open-files limit for `serve`. [`packet`] opens the
//! wire view's capture socket; [`sockname`] asks the kernel for the
//! addresses of an fd the caller does not own (tests check what an event
//! reported against it); [`interrupt`] wakes a lesson's thread blocked in a
//! call when the presenter quits; [`lab`] moves the process into the lab
//! network (a user and network namespace of its own) and brings its `lo`
//! up; [`readiness`] sets O_NONBLOCK and polls one socket for a lesson
//! that teaches non-blocking I/O (safe nix calls, kept here beside the
//! other syscall wrappers); [`tcpopt`] sets and reads TCP_SYNCNT, which socket2 and
//! nix do not wrap. Each block carries a SAFETY comment; the crate
//! denies `unsafe_code` everywhere else.
#![allow(unsafe_code)]

// sockscope is an instrument for the Linux network stack: it reads TCP_INFO,
// asks sock_diag, captures on AF_PACKET, and (for the lab and `run`) uses
// namespaces and ptrace. None of these exist elsewhere, so a build on another
// system stops here with one sentence instead of a wall of errors.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "sockscope runs on Linux only (it reads TCP_INFO and sock_diag, captures with AF_PACKET, \
     and uses network namespaces and ptrace). On macOS or Windows, run it in a Linux VM or WSL2; \
     see README.md, \"Where it runs\"."
);

pub mod interrupt;
pub mod lab;
pub mod packet;
pub mod readiness;
pub mod sockname;
pub mod tcp_info;
pub mod tcpopt;
pub mod trace;

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// close(2) on a socket we own, returning what the kernel said.
pub fn close(fd: OwnedFd) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from an `OwnedFd` we just consumed, so it is open,
    // owned by nobody else, and closed exactly once here.
    let rc = unsafe { libc::close(raw) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A socket's fd as the reactor watches it. It does not own the fd: the
/// caller that made it (the engine benchmark's event-driven floor) owns
/// both, and drops this registration before it closes the fd.
#[derive(Debug)]
pub struct Watch(RawFd);

impl AsRawFd for Watch {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Register a socket with tokio's reactor so calls can wait for readiness.
pub fn register(socket: &socket2::Socket) -> io::Result<AsyncFd<Watch>> {
    let watch = Watch(socket.as_raw_fd());
    // SAFETY: the fd is open (the socket is borrowed) and stays open while the
    // `AsyncFd` lives: the caller keeps the registration only while it holds
    // the socket and drops it (deregisters) before it closes the fd.
    unsafe { AsyncFd::register_with_interest(watch, Interest::READABLE | Interest::WRITABLE) }
        .map_err(io::Error::from)
}

/// View an initialised buffer as the `MaybeUninit` slice that socket2's
/// `recv_from` takes.
pub fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the same layout as `u8`. The only code that
    // writes through the returned slice is the kernel copying received bytes
    // (via socket2), which never de-initialises memory, so `buf` stays fully
    // initialised for its owner.
    unsafe { &mut *(std::ptr::from_mut::<[u8]>(buf) as *mut [MaybeUninit<u8>]) }
}

/// Raise this process's soft limit on open files (RLIMIT_NOFILE) to at
/// least `want`, as far as the hard limit allows, and return the soft limit
/// now in force. `serve --max-peers 1024` needs more than the 1024 many
/// systems start a process with; the hard limit is the administrator's
/// ceiling and is never exceeded.
pub fn raise_open_files(want: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live,
    // properly aligned local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: want.min(lim.rlim_max),
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit only reads the `rlimit` it is given, a live local.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(raised.rlim_cur)
}
