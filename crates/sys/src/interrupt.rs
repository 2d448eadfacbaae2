//! Waking a thread that is blocked in a system call: one signal, sent to that
//! thread alone, whose handler is installed without `SA_RESTART`.
//!
//! A lesson's actor makes blocking calls (accept, connect, recv, ...) in a
//! thread of its own, as a C program would. When the presenter quits or
//! restarts while such a call waits, the engine has to make the call return.
//! There are two ways on Linux:
//!
//! - shutdown(2) on the socket from another thread wakes a blocked accept or
//!   recv. But it is a call on the lesson's socket that changes its state
//!   (it can send a FIN, it makes later calls fail), it does not wake a
//!   blocked connect the same way, and strace would show a shutdown the
//!   lesson never asked for.
//! - A signal delivered to the blocked thread makes the kernel abandon the
//!   wait. When the handler was installed without `SA_RESTART`, the call
//!   returns -1 EINTR instead of being restarted (signal(7), "Interruption
//!   of system calls and library functions by signal handlers": accept,
//!   connect, recv, recvfrom, send and sendto on sockets all do).
//!
//! The signal is the cleaner of the two: it touches no socket, works the
//! same for every call that can wait, and the strace log shows it for what
//! it is (`--- SIGRT_n {si_code=SI_TKILL} ---` then `= -1 EINTR`). The
//! engine shows such a call as interrupted by sockscope. pthread_kill
//! directs it at one thread, so no other thread of the process sees it.
#![allow(unsafe_code)]

use std::io;
use std::os::raw::c_int;
use std::sync::OnceLock;

/// The signal used: the first real-time signal the C library leaves free
/// (glibc keeps the first two for its own threads). Real-time signals have
/// no default meaning for anyone else in the process.
#[must_use]
pub fn signal() -> c_int {
    libc::SIGRTMIN()
}

/// The handler does nothing: the point of the signal is the EINTR.
extern "C" fn wake(_: c_int) {}

/// Install the handler once per process, without `SA_RESTART`.
pub fn install() -> io::Result<()> {
    static DONE: OnceLock<Result<(), i32>> = OnceLock::new();
    let done = DONE.get_or_init(|| {
        // SAFETY: `sigaction` is a plain C struct for which all-zero bytes
        // are a valid value (empty mask, no flags); we then set the handler
        // and pass a pointer to this live local, which sigaction(2) only
        // reads. The handler is an `extern "C" fn` that does nothing, so it
        // is async-signal-safe.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = wake as extern "C" fn(c_int) as libc::sighandler_t;
            // No SA_RESTART: a blocked call returns EINTR instead of being
            // restarted by the kernel.
            action.sa_flags = 0;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(signal(), &raw const action, std::ptr::null_mut())
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    });
    (*done).map_err(io::Error::from_raw_os_error)
}

/// Send the signal to one thread of this process (pthread_kill(3)).
/// `thread` must be a thread that has not been joined yet.
pub fn interrupt(thread: libc::pthread_t) -> io::Result<()> {
    // SAFETY: `thread` comes from a `JoinHandle` the caller still holds
    // (std::os::unix::thread::JoinHandleExt::as_pthread_t), so it names a
    // live or finished-but-unjoined thread: pthread_kill on it is defined
    // (it fails with ESRCH at worst, and never touches memory of ours).
    let rc = unsafe { libc::pthread_kill(thread, signal()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The calling thread's kernel id (gettid(2)): the TID under which
/// /proc/self/task/ lists it, where the engine reads what a blocked call is
/// waiting for.
#[must_use]
pub fn gettid() -> i32 {
    // SAFETY: gettid(2) takes no arguments, cannot fail and touches no memory.
    unsafe { libc::gettid() }
}
