//! The record of one socket call, as the engine hands it to every consumer.
//!
//! An [`Event`] is what a lifecycle call really did: which fd it acted on, what
//! the kernel returned, the addresses as the kernel reports them afterwards. The
//! TUI draws it, `trace` prints it, tests assert on it. Its JSON field names are
//! a public contract (scripts and handouts depend on them): add fields, never
//! rename or drop one.

use crate::vocab::errno;
pub use crate::vocab::{Call, Outcome, Proto, SeenIn, Source, StateSeen, TcpState};
use crate::wire::Segment;
use serde::{Deserialize, Serialize};

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
    pub result: Outcome,
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
    pub tcp_state: Option<StateSeen>,
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
    /// The system call that really ran, as strace names it, where the
    /// course's `call` is a name for it: `serve`'s accept is `accept4`, its
    /// recv is `recvfrom` (its flags are in `args`, in strace's order and
    /// spelling). `null` when no syscall ran.
    #[serde(default)]
    pub syscall: Option<String>,
    /// On a `waiting` line only: the kernel function the call's thread
    /// sleeps in, from /proc/self/task/TID/wchan (`inet_csk_accept`), or
    /// `null` when the kernel does not say.
    #[serde(default)]
    pub wchan: Option<String>,
    /// On a `waiting` line only: /proc/self/task/TID/syscall as read while
    /// the call slept (the syscall's number and arguments).
    #[serde(default)]
    pub kernel_syscall: Option<String>,
    /// poll only: its return value, how many of the sockets it watched are
    /// ready (0 when the timeout passed first). The ready events themselves
    /// (`POLLIN`, `POLLOUT`, `POLLHUP`, ...) are in `flags`.
    #[serde(default)]
    pub ready: Option<u32>,
    /// getsockopt only: the value the kernel wrote into the option's
    /// buffer. For SO_ERROR, `0` (no error) or the pending error's errno
    /// name (`ECONNREFUSED`).
    #[serde(default)]
    pub optval: Option<String>,
    /// After a `socket` or `accept` whose step asks for it (`fd_table =
    /// true`: its narration talks about fd numbers), with the kernel view
    /// on: the process's whole fd table as /proc/self/fd lists it right
    /// after the call, each entry named for what it is (the standard three,
    /// sockscope's own, the lesson's sockets). `null` otherwise.
    #[serde(default)]
    pub fds: Option<Vec<crate::kernel::fds::FdEntry>>,
}

impl Event {
    /// A call that started to wait, as a line of its own: `result` is
    /// `waiting`, `seq` is 0 (the call's numbered line follows when it
    /// returns), and the kernel's state is the one read at that moment.
    #[must_use]
    pub fn from_waiting(w: &Waiting) -> Event {
        Event {
            seq: 0,
            t_us: w.t_us,
            step: w.step,
            actor: w.actor.clone(),
            call: w.call,
            sock: w.sock.clone(),
            proto: w.proto,
            fd: w.fd,
            local: w.local.clone(),
            result: Outcome::Waiting,
            args: w.args.clone(),
            tcp_state: w.tcp_state,
            syscall: w.syscall.clone(),
            wchan: w.wchan.clone(),
            kernel_syscall: w.kernel_syscall.clone(),
            ..Event::default()
        }
    }

    /// A call that returned ok, before its results are filled in.
    #[must_use]
    pub fn new(actor: &str, call: Call, sock: &str, proto: Proto, fd: Option<i32>) -> Event {
        Event {
            actor: actor.to_string(),
            call,
            sock: sock.to_string(),
            proto,
            fd,
            result: Outcome::Ok,
            ..Event::default()
        }
    }

    /// Record that the call failed with `err`: the errno's name and number,
    /// and the sentence a student is shown (for UDP, where the protocol
    /// changes what an errno means, the UDP one).
    pub fn fail(&mut self, err: &std::io::Error) {
        let info = errno::from_io(err);
        self.result = Outcome::Failed(info);
        self.errno = Some(info.number);
        let explain = match self.proto {
            Proto::Udp => errno::udp_explain(info.number).unwrap_or(info.explain),
            Proto::Tcp => info.explain,
        };
        self.explain = Some(explain.to_string());
    }

    #[must_use]
    pub fn ok(&self) -> bool {
        self.result == Outcome::Ok
    }

    /// The value the call returned, as C would see it: the new fd, the byte
    /// count, poll's count of ready sockets, 0 for success, or -1 on failure.
    #[must_use]
    pub fn return_value(&self) -> String {
        if !self.ok() {
            return "-1".into();
        }
        if let Some(n) = self.ready {
            return n.to_string();
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
    #[must_use]
    pub fn syscall_line(&self) -> String {
        let mut s = format!("{}({}) = {}", self.call, self.args, self.return_value());
        if !self.ok() {
            s.push(' ');
            s.push_str(self.result.name());
        }
        s
    }
}

/// A call that has been issued and is waiting for a peer (accept with nobody
/// connecting yet, recv with nothing to read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    pub tcp_state: Option<StateSeen>,
    #[serde(default)]
    pub proto: Proto,
    /// The system call that sleeps, as strace names it, where it differs
    /// from `call` (recv is `recvfrom`).
    #[serde(default)]
    pub syscall: Option<String>,
    /// The kernel function the thread sleeps in, as
    /// /proc/self/task/TID/wchan names it (`inet_csk_accept`); `None` when
    /// the kernel does not say.
    #[serde(default)]
    pub wchan: Option<String>,
    /// /proc/self/task/TID/syscall as read at that moment: the number of
    /// the syscall the thread is blocked in and its arguments.
    #[serde(default)]
    pub kernel_syscall: Option<String>,
    /// The thread's id (TID), under /proc/self/task/.
    #[serde(default)]
    pub tid: Option<i32>,
}

impl Waiting {
    /// Where the kernel has the call asleep, as the screen and transcript
    /// say it: only what was read. `None` for a wait nobody watched in the
    /// kernel (`serve` waits in epoll_wait, not in the call).
    #[must_use]
    pub fn blocked_in(&self) -> Option<String> {
        self.tid?;
        Some(match &self.wchan {
            Some(w) => format!("blocked in the kernel: {w}"),
            None => "blocked in the kernel; where, it cannot be seen (wchan reads 0)".into(),
        })
    }
}
