//! `sockscope run`'s view into a student's program: ptrace, a seccomp filter
//! that stops the program only at its socket calls, and reads of its memory.
//!
//! How it fits together (the kernel side of each step is in the comments):
//!
//! 1. [`spawn`] forks the program with std's `Command`. In the child, before
//!    exec, it asks to be traced (PTRACE_TRACEME), asks the kernel to die if
//!    sockscope dies (PR_SET_PDEATHSIG, until PTRACE_O_EXITKILL takes over)
//!    and installs the [`seccomp`] filter, which returns SECCOMP_RET_TRACE for
//!    the socket-related calls and SECCOMP_RET_ALLOW for everything else.
//! 2. The exec stops the program with SIGTRAP before its first instruction;
//!    sockscope then sets the options (EXITKILL, TRACESYSGOOD, TRACESECCOMP,
//!    follow fork/vfork/clone, TRACEEXEC) and lets it run with PTRACE_CONT:
//!    every other syscall runs at full speed, untraced.
//! 3. [`Tracer::wait`] reports what matters: a seccomp stop is the entry of
//!    a socket call (the call has not run yet); resuming it with
//!    PTRACE_SYSCALL gives a syscall-exit stop with the kernel's answer;
//!    new tasks, execs and exits. Signals meant for the program are passed
//!    on to it untouched.
//! 4. [`read_mem`] copies arguments and buffers out with process_vm_readv;
//!    [`dup_fd`] borrows a copy of one of its sockets (pidfd_getfd) so the
//!    caller can ask getsockname and TCP_INFO of the very socket.
//!
//! Arguments and results come from PTRACE_GET_SYSCALL_INFO (Linux 5.3),
//! which hands them over in the same form on every architecture: no
//! registers are read, so x86_64 and aarch64 share this code. The syscall
//! numbers come from libc's per-architecture constants ([`sys`]).
#![allow(unsafe_code)]

pub mod seccomp;
pub mod sys;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::HashSet;
use std::io;
use std::io::IoSliceMut;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

pub use sys::Sys;

/// How a new task came to be (PTRACE_EVENT_FORK, _VFORK, _CLONE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    Fork,
    Vfork,
    Clone,
}

/// What a traced task stopped for, as far as `run` cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A socket call about to run (a seccomp stop: the kernel has not
    /// started it). `nr` is the raw number, `sys` its name when it is one of
    /// ours.
    Enter {
        tid: i32,
        sys: Option<Sys>,
        nr: u64,
        args: [u64; 6],
    },
    /// The call that `tid` entered has returned: `rval` is the value, or
    /// the negated errno when `is_error`.
    Exit { tid: i32, rval: i64, is_error: bool },
    /// `parent` made a new task `child` (its first stop is handled here).
    Born {
        parent: i32,
        child: i32,
        birth: Birth,
    },
    /// `tid` called execve successfully: a new program in the same process.
    Exec { tid: i32 },
    /// `tid` ended with exit status `code`.
    Exited { tid: i32, code: i32 },
    /// `tid` was ended by signal `sig`.
    Killed { tid: i32, sig: i32 },
    /// No traced task is left.
    AllGone,
}

/// What to do with a task stopped at [`Stop::Enter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Let the call run and stop again when it returns ([`Stop::Exit`]).
    ToExit,
    /// Let the call run and do not stop until the next socket call.
    Free,
}

/// The tracer: every ptrace request must come from the thread that started
/// the programs (the kernel makes the forking thread the tracer), so a
/// `Tracer` lives on one thread (it is deliberately not `Send`).
#[derive(Debug, Default)]
pub struct Tracer {
    /// Every task we trace and have not seen end.
    known: HashSet<i32>,
    /// Tasks announced by a fork event whose first stop has not arrived.
    unborn: HashSet<i32>,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// PTRACE_O_EXITKILL: the kernel sends SIGKILL to every tracee when the
/// tracer exits, however it exits (a crash, SIGKILL, a panic): a student's
/// program is never left stopped or traced behind sockscope. TRACESYSGOOD
/// marks syscall stops (SIGTRAP|0x80) apart from real SIGTRAPs; TRACESECCOMP
/// turns SECCOMP_RET_TRACE into a stop; the fork options attach children
/// (and threads) as they are made, with these same options.
fn options() -> ptrace::Options {
    ptrace::Options::PTRACE_O_EXITKILL
        | ptrace::Options::PTRACE_O_TRACESYSGOOD
        | ptrace::Options::PTRACE_O_TRACESECCOMP
        | ptrace::Options::PTRACE_O_TRACEFORK
        | ptrace::Options::PTRACE_O_TRACEVFORK
        | ptrace::Options::PTRACE_O_TRACECLONE
        | ptrace::Options::PTRACE_O_TRACEEXEC
}

impl Tracer {
    #[must_use]
    pub fn new() -> Tracer {
        Tracer::default()
    }

    /// Start `cmd` traced, stopped only at the calls in `traced`, and
    /// return it running (past the exec). Its stdio is whatever the caller
    /// set on `cmd`.
    pub fn spawn(&mut self, cmd: &mut Command, traced: &[Sys]) -> io::Result<Child> {
        // Built before the fork: after it, the child may only make
        // async-signal-safe calls (no allocation), so the filter is
        // ready-made and moved into the closure, which owns it for as long
        // as `cmd` lives.
        let filter = seccomp::Filter::new(traced);
        // SAFETY: the closure runs in the child between fork and exec, where
        // only async-signal-safe calls are allowed. It allocates nothing: it
        // makes raw syscalls (prctl, ptrace) with a `sock_fprog` on its own
        // stack that points into `filter`, owned by the closure itself.
        unsafe {
            cmd.pre_exec(move || {
                let prog = filter.prog();
                let prog = &raw const prog;
                // Until EXITKILL is set (after the exec stop), dying with
                // the parent is what keeps the child from outliving us.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent becomes the tracer; the exec below then stops
                // the child with SIGTRAP before the new program's first
                // instruction.
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // A filter needs CAP_SYS_ADMIN or no_new_privs (so a setuid
                // program cannot be run with a filter it did not expect).
                // Try without first: as root, a setuid program still works.
                let install = || {
                    libc::prctl(
                        libc::PR_SET_SECCOMP,
                        libc::c_ulong::from(libc::SECCOMP_MODE_FILTER),
                        prog as libc::c_ulong,
                        0,
                        0,
                    )
                };
                if install() != 0 {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    if install() != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        // The exec's SIGTRAP: the program is loaded and has run nothing.
        match waitpid(pid, Some(WaitPidFlag::__WALL)).map_err(io::Error::from)? {
            WaitStatus::Stopped(_, Signal::SIGTRAP) => {}
            other => {
                return Err(io::Error::other(format!(
                    "the program did not stop at its start as a traced program does ({other:?})"
                )));
            }
        }
        ptrace::setoptions(pid, options()).map_err(io::Error::from)?;
        ptrace::cont(pid, None).map_err(io::Error::from)?;
        self.known.insert(pid.as_raw());
        Ok(child)
    }

    /// The tasks still traced.
    pub fn tasks(&self) -> impl Iterator<Item = i32> + '_ {
        self.known.iter().copied()
    }

    /// Let `tid`, stopped at [`Stop::Enter`], go on.
    pub fn resume(&mut self, tid: i32, how: Resume) -> io::Result<()> {
        let pid = Pid::from_raw(tid);
        let r = match how {
            // From a seccomp stop (Linux 4.8 and later), PTRACE_SYSCALL's
            // next stop is this call's syscall-exit stop.
            Resume::ToExit => ptrace::syscall(pid, None),
            Resume::Free => ptrace::cont(pid, None),
        };
        match r {
            // A task killed while stopped (SIGKILL from elsewhere, a
            // thread's exit_group) is gone: its exit is reported by wait.
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Let `tid`, stopped at [`Stop::Exit`] or [`Stop::Born`] or
    /// [`Stop::Exec`], run to its next socket call.
    pub fn go_on(&mut self, tid: i32) -> io::Result<()> {
        self.resume(tid, Resume::Free)
    }

    /// SIGKILL every traced task (q, or sockscope ending early).
    pub fn kill_all(&mut self) {
        for &tid in &self.known {
            // The tracee may be gone already: nothing to do then.
            let _ = nix::sys::signal::kill(Pid::from_raw(tid), Signal::SIGKILL);
        }
    }

    /// SIGTERM to process `pid`, as a shell's `kill` asks a program to stop
    /// (`check`, once the other side is done); the tracer then delivers it
    /// to the program unchanged, so the program's own handler runs.
    pub fn terminate(&mut self, pid: i32) {
        // Gone already: nothing to do.
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
    }

    /// Wait for the next stop that matters. Stops that do not (a signal for
    /// the program, a new task's first SIGSTOP) are handled here.
    pub fn wait(&mut self) -> io::Result<Stop> {
        loop {
            if let Some(stop) = self.next_stop(true)? {
                return Ok(stop);
            }
        }
    }

    /// The next stop that matters if one has happened, `None` if none has
    /// yet: for a tracer that also listens to someone else (the `run`
    /// screen's keys) and so cannot sleep in waitpid while every task it
    /// holds waits for that someone.
    pub fn try_wait(&mut self) -> io::Result<Option<Stop>> {
        self.next_stop(false)
    }

    /// waitpid (blocking, or WNOHANG) until a stop that matters, handling
    /// the others on the way; `None` when, without blocking, nothing that
    /// matters has happened yet.
    fn next_stop(&mut self, block: bool) -> io::Result<Option<Stop>> {
        let flags = if block {
            WaitPidFlag::__WALL
        } else {
            WaitPidFlag::__WALL | WaitPidFlag::WNOHANG
        };
        loop {
            if self.known.is_empty() {
                return Ok(Some(Stop::AllGone));
            }
            let status = match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(s) => s,
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => {
                    self.known.clear();
                    return Ok(Some(Stop::AllGone));
                }
                Err(e) => return Err(e.into()),
            };
            match status {
                WaitStatus::Exited(pid, code) if self.known.remove(&pid.as_raw()) => {
                    return Ok(Some(Stop::Exited {
                        tid: pid.as_raw(),
                        code,
                    }));
                }
                WaitStatus::Signaled(pid, sig, _) if self.known.remove(&pid.as_raw()) => {
                    return Ok(Some(Stop::Killed {
                        tid: pid.as_raw(),
                        sig: sig as i32,
                    }));
                }
                WaitStatus::PtraceEvent(pid, _, ev) => {
                    let tid = pid.as_raw();
                    if ev == ptrace::Event::PTRACE_EVENT_SECCOMP as i32 {
                        let info = ptrace::syscall_info(pid).map_err(io::Error::from)?;
                        // SAFETY: for a PTRACE_EVENT_SECCOMP stop the kernel
                        // fills the `seccomp` member of the union (op ==
                        // PTRACE_SYSCALL_INFO_SECCOMP, checked here); the
                        // union is plain integers, so any bytes are valid.
                        if info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP {
                            let s = unsafe { info.u.seccomp };
                            return Ok(Some(Stop::Enter {
                                tid,
                                sys: Sys::from_nr(s.nr),
                                nr: s.nr,
                                args: s.args,
                            }));
                        }
                        self.go_on(tid)?;
                        continue;
                    }
                    let birth = if ev == ptrace::Event::PTRACE_EVENT_FORK as i32 {
                        Some(Birth::Fork)
                    } else if ev == ptrace::Event::PTRACE_EVENT_VFORK as i32 {
                        Some(Birth::Vfork)
                    } else if ev == ptrace::Event::PTRACE_EVENT_CLONE as i32 {
                        Some(Birth::Clone)
                    } else {
                        None
                    };
                    if let Some(birth) = birth {
                        let child = ptrace::getevent(pid).map_err(io::Error::from)? as i32;
                        // The child may have reported its first stop
                        // already (then it is known and running).
                        if self.known.insert(child) {
                            self.unborn.insert(child);
                        }
                        return Ok(Some(Stop::Born {
                            parent: tid,
                            child,
                            birth,
                        }));
                    }
                    if ev == ptrace::Event::PTRACE_EVENT_EXEC as i32 {
                        return Ok(Some(Stop::Exec { tid }));
                    }
                    self.go_on(tid)?;
                }
                WaitStatus::PtraceSyscall(pid) => {
                    let info = ptrace::syscall_info(pid).map_err(io::Error::from)?;
                    if info.op == libc::PTRACE_SYSCALL_INFO_EXIT {
                        // SAFETY: op == PTRACE_SYSCALL_INFO_EXIT, so the
                        // kernel filled the `exit` member; plain integers.
                        let x = unsafe { info.u.exit };
                        return Ok(Some(Stop::Exit {
                            tid: pid.as_raw(),
                            rval: x.sval,
                            is_error: x.is_error != 0,
                        }));
                    }
                    self.go_on(pid.as_raw())?;
                }
                WaitStatus::Stopped(pid, sig) => {
                    let tid = pid.as_raw();
                    if sig == Signal::SIGSTOP && self.unborn.remove(&tid) {
                        // A new task's first stop, after its fork event.
                        self.go_on(tid)?;
                    } else if sig == Signal::SIGSTOP && !self.known.contains(&tid) {
                        // A new task's first stop, before its parent's fork
                        // event arrives: known from now on.
                        self.known.insert(tid);
                        self.go_on(tid)?;
                    } else {
                        // A signal for the program: deliver it unchanged.
                        match ptrace::cont(pid, Some(sig)) {
                            Ok(()) | Err(Errno::ESRCH) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Copy `len` bytes at `addr` out of task `tid`'s memory (process_vm_readv:
/// one copy, no stop, no ptrace word-by-word peeking). Fewer bytes are
/// returned when the range runs into unmapped memory.
pub fn read_mem(tid: i32, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    if len == 0 || addr == 0 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let n = process_vm_readv(
        Pid::from_raw(tid),
        &mut [IoSliceMut::new(&mut buf)],
        &remote,
    )
    .map_err(io::Error::from)?;
    buf.truncate(n);
    Ok(buf)
}

/// A process, held by a pidfd: what [`PidFd::get`] copies fds out of, kept
/// open for as long as the process is traced so each copy is one syscall
/// (pidfd_getfd), not three.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// pidfd_open(pid).
    ///
    /// # Errors
    ///
    /// pidfd_open's (ESRCH: the process is gone).
    pub fn open(pid: i32) -> io::Result<PidFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or
        // -1; no memory is passed.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if pidfd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pidfd_open returned a new fd that nobody else owns.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(pidfd as i32) }))
    }

    /// A copy of the process's `fd` in this process (pidfd_getfd). The
    /// caller asks the kernel about the very socket the program holds and
    /// must drop the copy before the program runs on: while it is open, the
    /// program's close would not free the socket.
    ///
    /// # Errors
    ///
    /// pidfd_getfd's (EBADF: no such fd in the process).
    pub fn get(&self, fd: i32) -> io::Result<OwnedFd> {
        use std::os::fd::AsRawFd;
        // SAFETY: pidfd_getfd takes two fds and flags (0) and returns a new
        // fd in this process or -1; no memory is passed.
        let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, self.0.as_raw_fd(), fd, 0) };
        if got < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pidfd_getfd returned a new fd (with FD_CLOEXEC) that
        // nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(got as i32) })
    }
}

/// A copy of task `pid`'s file descriptor `fd` in this process
/// (pidfd_open + pidfd_getfd, Linux 5.6; allowed because we trace it), for
/// one use: [`PidFd`] keeps the pidfd for many.
///
/// # Errors
///
/// pidfd_open's or pidfd_getfd's.
pub fn dup_fd(pid: i32, fd: i32) -> io::Result<OwnedFd> {
    PidFd::open(pid)?.get(fd)
}

/// Yama's ptrace_scope (/proc/sys/kernel/yama/ptrace_scope), when Yama is
/// there: 0 and 1 let sockscope trace a program it starts (1 allows a
/// parent to trace its descendants); 2 requires CAP_SYS_PTRACE; 3 forbids
/// ptrace altogether until reboot.
#[must_use]
pub fn yama_scope() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// A pipe for a traced program's stdout and stderr: (read end, write end),
/// both close-on-exec in this process (the write end is handed to the
/// program through `Command`, which dups it onto fd 1 and 2).
pub fn pipe() -> io::Result<(std::fs::File, std::fs::File)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the two-int array it is given, a
    // live local; on failure it writes nothing.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both fds are new and owned by nobody else.
    let (r, w) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    Ok((r, w))
}
