//! `sockscope run`: a student's own programs, traced, and every socket call
//! they make turned into the same [`Event`] a lesson produces.
//!
//! [`Session`] starts the programs under ptrace (through
//! `sockscope_sys::trace`, where the seccomp filter makes the kernel stop
//! them only at socket-related calls) and hands out [`RunMsg`]s one at a
//! time: a call that returned, a call cut short by the program's end, a
//! program starting or ending. At each stop it decodes the call from the
//! program's memory ([`decode`]), lets it run to its exit stop, and reads
//! the kernel's answer: the return value, the bytes moved, and (through a
//! borrowed copy of the very socket, pidfd_getfd) getsockname, getpeername
//! and the TCP state and queues, as the lesson engine reports them.
//!
//! Only IP sockets (AF_INET, AF_INET6; TCP and UDP) are shown: a C
//! library's own AF_UNIX and netlink sockets (name lookup, nscd) and any
//! other file are let through untraced past their first stop. A read, write
//! or close is shown only when its fd is such a socket; a poll, select or
//! epoll call only when it waits on one.
//!
//! Lanes: every process and thread is its own `actor`, `comm[tid]`, so a
//! forking server's children and a threaded server's threads each have a
//! lane; `pid` is the process (thread group), `tid` the thread.
//!
//! Several programs (`run -- ./server ::: ./client`) start in order: each
//! one after the one before it has returned from listen (TCP) or bound a
//! UDP socket, or has ended, so a client never races its server's listen.

pub mod decode;

use crate::event::Event;
use crate::vocab::{Call, NONBLOCKING, Outcome, Proto, addr_text};
use crate::wire::Wire;
use crate::wire::recorder::{Recorder, SETTLE_ROUNDS};
use sockscope_sys::trace::{PidFd, Resume, Stop, Sys, Tracer, pipe};
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::io;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Said once per process, on the call where it first shows: a program whose
/// sockets do not block (Go, Java, Node and tokio programs, and any event
/// loop) makes other calls than the course's blocking sequence, and the
/// screen says why rather than leave the learner to wonder.
pub const NONBLOCKING_NOTE: &str = "non-blocking from here: this program's sockets do not wait in \
    their calls (they return EAGAIN or EINPROGRESS); it waits for readiness in poll or epoll \
    instead, as event loops do (Go, Java, Node, tokio): the same conversation as the course's \
    blocking calls, written for many sockets on one thread";

/// Every call the seccomp filter stops at.
#[must_use]
pub fn traced_calls() -> &'static [Sys] {
    Sys::ALL
}

/// One event of a traced program: the lesson's [`Event`], and who made it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub event: Event,
    /// The process (thread group id).
    pub pid: i32,
    /// The thread that made the call (the pid for a single-threaded program).
    pub tid: i32,
    /// The program's name, as /proc/PID/comm has it (at most 15 bytes, set
    /// by the program itself: escape it before printing).
    pub comm: String,
}

/// How a traced task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    Signal(i32),
}

impl End {
    /// How it ended, in words: `exited with status 0`.
    #[must_use]
    pub fn text(self) -> String {
        match self {
            End::Exited(code) => format!("exited with status {code}"),
            End::Signal(sig) => format!("killed by signal {sig}"),
        }
    }
}

/// A program's short name, as its output lines are prefixed with: the file
/// name of its first word (`server.py` for `python3 server.py` is `python3`).
#[must_use]
pub fn program_name(argv: &[OsString]) -> String {
    let Some(first) = argv.first() else {
        return String::new();
    };
    std::path::Path::new(first).file_name().map_or_else(
        || first.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What a session reports, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum RunMsg {
    /// Program `index` (from 0, in command-line order) started as `pid`.
    Started {
        index: usize,
        pid: i32,
        argv: String,
    },
    /// A socket call stopped at its entry and held there, not yet run
    /// ([`Options::step`]): decoded from the program's memory as it is
    /// about to be made; it runs when [`Session::release`] lets it. Its
    /// `seq` is 0 and its `result` is `waiting`.
    Calling(Box<RunEvent>),
    /// A socket call that returned.
    Event(Box<RunEvent>),
    /// A socket call that had not returned when its task ended (a server
    /// killed while it waits in accept): its `result` is `waiting`.
    Unfinished(Box<RunEvent>),
    /// A traced task ended (a thread, a forked child, or a program).
    Ended {
        pid: i32,
        tid: i32,
        comm: String,
        end: End,
    },
}

/// What a session needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// Read the kernel's view after each call (TCP state, queues), as
    /// `trace` does unless `--no-kernel`.
    pub kernel: bool,
    /// Hold every shown call at its entry, before the kernel sees it, until
    /// [`Session::release`]: how the `run` screen steps a program a call at
    /// a time. Nothing is changed or injected; the program only waits.
    pub step: bool,
    /// Capture the programs' packets on `lo` and attach each call's to its
    /// event, as a lesson's are (needs CAP_NET_RAW: every user has it in
    /// the lab; [`Session::wire`] says whether it runs).
    pub capture: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            kernel: true,
            step: false,
            capture: false,
        }
    }
}

/// What [`Session::try_next_msg`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Polled {
    Msg(RunMsg),
    /// Nothing has happened yet (the tasks run, or are held).
    Nothing,
    /// Every program has ended.
    Over,
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start `{program}`: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("cannot trace `{program}`: {source}. {why}")]
    Trace {
        program: String,
        source: io::Error,
        why: String,
    },
    #[error("lost track of the traced programs: {0}")]
    Wait(io::Error),
}

/// Sets program `index`'s stdin, stdout and stderr before it starts.
pub type SetStdio = Box<dyn FnMut(usize, &mut Command)>;

/// One traced task.
#[derive(Debug)]
struct Task {
    tgid: i32,
    comm: String,
    /// Which program (command-line index) it belongs to.
    program: usize,
    pending: Option<Pending>,
    /// Its comm has been read at its first socket call (or since exec).
    named: bool,
}

/// A call decoded at its entry, waiting for its exit.
#[derive(Debug)]
struct Pending {
    sys: Sys,
    args: [u64; 6],
    event: Event,
    /// The first bytes of what a send is about to send.
    head: Vec<u8>,
    /// Socket fds a poll or epoll call involves.
    watched: Vec<i32>,
}

/// A running `run`: the programs, the tracer, and what is known of their fds.
pub struct Session {
    tracer: Tracer,
    options: Options,
    programs: Vec<Vec<OsString>>,
    /// Sets each program's stdio before it starts.
    stdio: SetStdio,
    started: usize,
    children: Vec<Child>,
    /// Each program's first pid.
    leaders: Vec<i32>,
    tasks: HashMap<i32, Task>,
    /// `(pid, fd)` to the protocol of the IP socket it is, or `None` for
    /// anything else; forgotten when the fd is closed or reused.
    fds: HashMap<(i32, i32), Option<Proto>>,
    /// `(pid, epoll fd)` to the socket fds registered with it.
    epolls: HashMap<(i32, i32), HashSet<i32>>,
    /// A pidfd per traced process, to copy its sockets out of.
    pidfds: HashMap<i32, PidFd>,
    /// `(pid, fd)` of a connected TCP socket to its local and peer
    /// addresses, which no call but close changes.
    addrs: HashMap<(i32, i32), (Option<String>, Option<String>)>,
    queue: VecDeque<RunMsg>,
    /// Tasks held at a call's entry ([`Options::step`]).
    held: HashSet<i32>,
    /// Processes told [`NONBLOCKING_NOTE`] already.
    told_nonblocking: HashSet<i32>,
    /// Calls let run and not returned: task to the order it was let run.
    in_flight: HashMap<i32, u64>,
    /// How many calls have been let run.
    releases: u64,
    /// The task whose call was let run last.
    latest: Option<i32>,
    /// The programs' packets on `lo`: which are theirs, which call caused
    /// each, and every frame kept for the screen and the pcap.
    recorder: Recorder,
    seq: u64,
    t0: Instant,
}

/// Why ptrace may be refused, in a sentence for the user.
#[must_use]
pub fn why_no_trace() -> String {
    match sockscope_sys::trace::yama_scope() {
        Some(2) => "Yama's ptrace_scope is 2 (admin-only attach): only a process with \
                    CAP_SYS_PTRACE may trace. Run sockscope as root, or ask the \
                    administrator for `sysctl kernel.yama.ptrace_scope=1`."
            .into(),
        Some(3) => "Yama's ptrace_scope is 3 (no attach): ptrace is off on this machine \
                    until it reboots with a lower setting (kernel.yama.ptrace_scope=1)."
            .into(),
        _ => "ptrace may be forbidden here (a container's seccomp profile often does: \
              allow ptrace, e.g. docker run --cap-add SYS_PTRACE), or the program is \
              already traced (gdb, strace)."
            .into(),
    }
}

/// Whether `call` leaves a socket's addresses as they were: a send or recv
/// on a connected TCP socket does (a UDP socket's first send binds it).
fn keeps_addresses(call: Call, proto: Proto) -> bool {
    proto == Proto::Tcp
        && matches!(
            call,
            Call::Send
                | Call::Recv
                | Call::Sendto
                | Call::Recvfrom
                | Call::Setsockopt
                | Call::Getsockopt
                | Call::Fcntl
                | Call::Poll
        )
}

/// Where the kernel has task `tid` of process `pid` asleep
/// (`/proc/PID/task/TID/wchan`: `inet_csk_accept`), `None` while it runs or
/// once it is gone.
#[must_use]
pub fn asleep_in(pid: i32, tid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/wchan"))
        .ok()
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty() && w != "0")
}

/// The [`SetStdio`] that sends each program's stdout and stderr, a line at
/// a time, to `each(program's name, line)` (never to sockscope's own
/// output, which the programs could corrupt): one pipe per program, read
/// by a thread of its own. Where the pipe cannot be made, the program's
/// output goes to /dev/null. The caller escapes the lines.
pub fn output_lines(
    programs: &[Vec<OsString>],
    each: impl Fn(&str, String) + Send + Sync + 'static,
) -> SetStdio {
    let names: Vec<String> = programs.iter().map(|p| program_name(p)).collect();
    let each = std::sync::Arc::new(each);
    Box::new(move |index, cmd: &mut Command| {
        let pipes = pipe().and_then(|(reader, writer)| Ok((reader, writer.try_clone()?, writer)));
        let Ok((reader, second, writer)) = pipes else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            return;
        };
        cmd.stdout(writer).stderr(second);
        let name = names.get(index).cloned().unwrap_or_default();
        let each = std::sync::Arc::clone(&each);
        forward_lines(reader, move |line| each(&name, line));
    })
}

/// Copy each line a program writes to `reader` to `each`, from a thread of
/// its own, until the program closes its end; the trailing newline is
/// dropped and bytes that are not UTF-8 are replaced.
fn forward_lines(reader: std::fs::File, mut each: impl FnMut(String) + Send + 'static) {
    use std::io::BufRead as _;
    std::thread::spawn(move || {
        let mut lines = io::BufReader::new(reader);
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            each(String::from_utf8_lossy(&line).into_owned());
            line.clear();
        }
    });
}

/// A program's command line as one line of text (lossy for bytes that are
/// not UTF-8; escape it before printing).
#[must_use]
pub fn program_argv(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_comm(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{tid}/comm"))
        .map_or_else(|_| "?".into(), |s| s.trim_end_matches('\n').to_string())
}

fn read_tgid(tid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

impl Session {
    /// Start the first program; the others start as their turn comes.
    /// `stdio` sets where each program's stdin, stdout and stderr go (it
    /// must not be sockscope's own output).
    pub fn start(
        programs: Vec<Vec<OsString>>,
        options: Options,
        stdio: SetStdio,
    ) -> Result<Session, RunError> {
        // Opened before the first program starts, so its first packet is
        // kept; refused (no CAP_NET_RAW), the wire's status says why.
        let recorder = Recorder::open(options.capture);
        let mut s = Session {
            tracer: Tracer::new(),
            options,
            programs,
            stdio,
            started: 0,
            children: Vec::new(),
            leaders: Vec::new(),
            tasks: HashMap::new(),
            fds: HashMap::new(),
            epolls: HashMap::new(),
            addrs: HashMap::new(),
            pidfds: HashMap::new(),
            queue: VecDeque::new(),
            held: HashSet::new(),
            told_nonblocking: HashSet::new(),
            in_flight: HashMap::new(),
            releases: 0,
            latest: None,
            recorder,
            seq: 0,
            t0: Instant::now(),
        };
        s.start_next()?;
        Ok(s)
    }

    /// The packets captured so far, and whether capture runs.
    #[must_use]
    pub fn wire(&self) -> Wire {
        self.recorder.wire()
    }

    /// Stepping, a call that returns while a call let run after it is
    /// still in the kernel was woken by that later call (an accept asleep
    /// until the client's connect runs, a recv until the peer's send): the
    /// packets on the wire now are the later call's doing, and go on its
    /// event when it returns, not on the one woken. Running freely, nothing
    /// says which call caused a packet, and a call's event takes the
    /// packets of its connection queued when it returns.
    fn caused_by_another(&mut self, tid: i32) -> bool {
        let mine = self.in_flight.remove(&tid);
        match (mine, self.latest) {
            (Some(mine), Some(latest)) if latest != tid => self
                .in_flight
                .get(&latest)
                .is_some_and(|&later| later > mine),
            _ => false,
        }
    }

    /// Once every program has ended: collect the frames still on their way
    /// (the last FIN's ACK, handled by the receiving stack after its call
    /// returned), so the capture and a pcap are whole: rounds of 2 ms until
    /// one brings nothing of ours and no teardown is half done.
    fn settle_capture(&mut self) {
        for _ in 0..SETTLE_ROUNDS {
            if !self.recorder.running() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            if self.recorder.settle_round() {
                break;
            }
        }
        // Drained once: a second Over finds nothing more.
        self.recorder.finish();
    }

    /// The pid of each program started so far, in command-line order.
    #[must_use]
    pub fn pids(&self) -> &[i32] {
        &self.leaders
    }

    fn start_next(&mut self) -> Result<(), RunError> {
        let index = self.started;
        let Some(argv) = self.programs.get(index).cloned() else {
            return Ok(());
        };
        self.started += 1;
        let shown = program_argv(&argv);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.stdin(Stdio::null());
        (self.stdio)(index, &mut cmd);
        let child = match self.tracer.spawn(&mut cmd, traced_calls()) {
            Ok(c) => c,
            Err(e)
                if e.kind() == io::ErrorKind::PermissionDenied
                    && e.raw_os_error() == Some(libc::EPERM) =>
            {
                return Err(RunError::Trace {
                    program: shown,
                    source: e,
                    why: why_no_trace(),
                });
            }
            Err(e) => {
                return Err(RunError::Spawn {
                    program: shown,
                    source: e,
                });
            }
        };
        let pid = child.id() as i32;
        self.children.push(child);
        self.leaders.push(pid);
        self.tasks.insert(
            pid,
            Task {
                tgid: pid,
                comm: read_comm(pid),
                program: index,
                pending: None,
                named: false,
            },
        );
        self.queue.push_back(RunMsg::Started {
            index,
            pid,
            argv: shown,
        });
        Ok(())
    }

    /// End every program now (SIGKILL).
    pub fn kill_all(&mut self) {
        self.tracer.kill_all();
    }

    /// Ask every program still running to stop (SIGTERM to each program's
    /// first process), as `kill` from a shell would.
    pub fn terminate_all(&mut self) {
        for &pid in &self.leaders {
            if self.tasks.contains_key(&pid) {
                self.tracer.terminate(pid);
            }
        }
    }

    /// The next message, or `None` once every program has ended.
    pub fn next_msg(&mut self) -> Result<Option<RunMsg>, RunError> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                return Ok(Some(m));
            }
            let stop = self.tracer.wait().map_err(RunError::Wait)?;
            if self.handle(stop)? {
                self.settle_capture();
                return Ok(None);
            }
        }
    }

    /// The next message if there is one now, without waiting: for a caller
    /// that holds calls ([`Options::step`]) and must go on listening to the
    /// person who releases them while every task is held or asleep.
    pub fn try_next_msg(&mut self) -> Result<Polled, RunError> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                return Ok(Polled::Msg(m));
            }
            let Some(stop) = self.tracer.try_wait().map_err(RunError::Wait)? else {
                return Ok(Polled::Nothing);
            };
            if self.handle(stop)? {
                self.settle_capture();
                return Ok(Polled::Over);
            }
        }
    }

    /// Let task `tid`'s held call run (into the kernel, to its exit stop).
    /// A task not held (ended meanwhile, or never held) is left alone.
    pub fn release(&mut self, tid: i32) -> Result<(), RunError> {
        if self.held.remove(&tid) {
            self.releases += 1;
            self.in_flight.insert(tid, self.releases);
            self.latest = Some(tid);
            self.tracer
                .resume(tid, Resume::ToExit)
                .map_err(RunError::Wait)?;
        }
        Ok(())
    }

    /// Handle one stop, queueing what it reports; true once every program
    /// has ended.
    fn handle(&mut self, stop: Stop) -> Result<bool, RunError> {
        match stop {
            Stop::AllGone => {
                if self.started < self.programs.len() {
                    self.start_next()?;
                    return Ok(false);
                }
                for c in &mut self.children {
                    let _ = c.try_wait();
                }
                return Ok(true);
            }
            Stop::Enter { tid, sys, args, .. } => {
                let task = self.task(tid);
                let pending = sys.and_then(|sys| self.enter(tid, task, sys, args));
                if self.options.step
                    && let Some(p) = &pending
                {
                    // Held at the entry: the kernel has not seen the call.
                    // The task stays in its seccomp stop until released.
                    let comm = self.tasks.get(&tid).map(|t| t.comm.clone());
                    self.queue.push_back(RunMsg::Calling(Box::new(RunEvent {
                        event: p.event.clone(),
                        pid: task.0,
                        tid,
                        comm: comm.unwrap_or_default(),
                    })));
                    self.held.insert(tid);
                    if let Some(t) = self.tasks.get_mut(&tid) {
                        t.pending = pending;
                    }
                    return Ok(false);
                }
                let how = if pending.is_some() {
                    Resume::ToExit
                } else {
                    Resume::Free
                };
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.pending = pending;
                }
                self.tracer.resume(tid, how).map_err(RunError::Wait)?;
            }
            Stop::Exit {
                tid,
                rval,
                is_error,
            } => {
                let pending = self.tasks.get_mut(&tid).and_then(|t| t.pending.take());
                let out = pending.and_then(|p| self.exit(tid, p, rval, is_error));
                self.tracer.go_on(tid).map_err(RunError::Wait)?;
                if let Some(ev) = out {
                    let starts_next = ev.event.ok()
                        && (ev.event.call == Call::Listen
                            || (ev.event.call == Call::Bind && ev.event.proto == Proto::Udp))
                        && self
                            .tasks
                            .get(&tid)
                            .is_some_and(|t| t.program + 1 == self.started);
                    self.queue.push_back(RunMsg::Event(Box::new(ev)));
                    if starts_next {
                        self.start_next()?;
                    }
                }
            }
            Stop::Born { parent, child, .. } => {
                let (program, comm) = self
                    .tasks
                    .get(&parent)
                    .map(|t| (t.program, t.comm.clone()))
                    .unwrap_or_default();
                let tgid = read_tgid(child).unwrap_or(child);
                self.tasks.insert(
                    child,
                    Task {
                        tgid,
                        comm,
                        program,
                        pending: None,
                        named: false,
                    },
                );
                self.tracer.go_on(parent).map_err(RunError::Wait)?;
            }
            Stop::Exec { tid } => {
                let task = self.task(tid);
                // Close-on-exec fds are gone and the program is a new
                // one: what was known of its fds no longer holds.
                self.fds.retain(|&(pid, _), _| pid != task.0);
                self.epolls.retain(|&(pid, _), _| pid != task.0);
                self.addrs.retain(|&(pid, _), _| pid != task.0);
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.comm = read_comm(tid);
                    t.named = false;
                }
                self.tracer.go_on(tid).map_err(RunError::Wait)?;
            }
            Stop::Exited { tid, code } => self.ended(tid, End::Exited(code))?,
            Stop::Killed { tid, sig } => self.ended(tid, End::Signal(sig))?,
        }
        Ok(false)
    }

    fn ended(&mut self, tid: i32, end: End) -> Result<(), RunError> {
        let was_held = self.held.remove(&tid);
        self.in_flight.remove(&tid);
        let Some(mut task) = self.tasks.remove(&tid) else {
            return Ok(());
        };
        if let Some(p) = task.pending.take() {
            let mut event = p.event;
            event.result = Outcome::Waiting;
            event.flags.push(if was_held {
                // Held at its entry: the kernel never saw it.
                "never run: the program ended while sockscope held the call".into()
            } else {
                "unfinished: the program ended during the call".into()
            });
            self.seq += 1;
            event.seq = self.seq;
            event.t_us = self.t0.elapsed().as_micros() as u64;
            self.queue.push_back(RunMsg::Unfinished(Box::new(RunEvent {
                event,
                pid: task.tgid,
                tid,
                comm: task.comm.clone(),
            })));
        }
        self.queue.push_back(RunMsg::Ended {
            pid: task.tgid,
            tid,
            comm: task.comm,
            end,
        });
        if tid == task.tgid {
            self.fds.retain(|&(pid, _), _| pid != tid);
            self.epolls.retain(|&(pid, _), _| pid != tid);
            self.addrs.retain(|&(pid, _), _| pid != tid);
            self.pidfds.remove(&tid);
        }
        // The program whose turn it was to listen ended without: the next
        // one starts anyway.
        if self.leaders.get(task.program) == Some(&tid) && task.program + 1 == self.started {
            self.start_next()?;
        }
        Ok(())
    }

    /// `(tgid, program)` of task `tid`, learning it if it is new.
    // `tid` and `tgid` are the kernel's own names (a task's id and its
    // thread group's, the process id), as in /proc and the rest of this file.
    #[expect(clippy::similar_names, reason = "tid and tgid are the kernel's names")]
    fn task(&mut self, tid: i32) -> (i32, usize) {
        if let Some(t) = self.tasks.get(&tid) {
            return (t.tgid, t.program);
        }
        let tgid = read_tgid(tid).unwrap_or(tid);
        let program = self.tasks.get(&tgid).map_or(0, |t| t.program);
        self.tasks.insert(
            tid,
            Task {
                tgid,
                comm: read_comm(tid),
                program,
                pending: None,
                named: false,
            },
        );
        (tgid, program)
    }

    /// A copy of process `pid`'s `fd`, through the process's pidfd (opened
    /// at its first copy and kept).
    fn copy_fd(&mut self, pid: i32, fd: i32) -> io::Result<std::os::fd::OwnedFd> {
        match self.pidfds.entry(pid) {
            std::collections::hash_map::Entry::Occupied(p) => p.get().get(fd),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(PidFd::open(pid)?).get(fd),
        }
    }

    /// Is `fd` of process `pid` an IP socket, and which protocol?
    fn proto_of(&mut self, pid: i32, fd: i32) -> Option<Proto> {
        if fd < 0 {
            return None;
        }
        if let Some(known) = self.fds.get(&(pid, fd)) {
            return *known;
        }
        let found = std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .ok()
            .filter(|l| l.as_os_str().as_encoded_bytes().starts_with(b"socket:"))
            .and_then(|_| self.copy_fd(pid, fd).ok())
            .and_then(|owned| {
                let sock = socket2::Socket::from(owned);
                let domain = sock.domain().ok()?;
                if domain != socket2::Domain::IPV4 && domain != socket2::Domain::IPV6 {
                    return None;
                }
                match sock.r#type().ok()? {
                    socket2::Type::STREAM => Some(Proto::Tcp),
                    socket2::Type::DGRAM => Some(Proto::Udp),
                    _ => None,
                }
            });
        self.fds.insert((pid, fd), found);
        found
    }

    /// Decode a call at its entry; `None` for a call `run` does not show
    /// (not on an IP socket), which then runs untraced to its end.
    fn enter(&mut self, tid: i32, task: (i32, usize), sys: Sys, a: [u64; 6]) -> Option<Pending> {
        use decode::{addr_arg, sock_type};
        let pid = task.0;
        let fd = a[0] as i32;
        let mut watched = Vec::new();
        let mut head = Vec::new();
        let (proto, fd_field, args, call) = match sys {
            Sys::Socket => {
                let family = a[0] as i32;
                if family != libc::AF_INET && family != libc::AF_INET6 {
                    return None;
                }
                let proto = match (a[1] as i32) & 0xf {
                    libc::SOCK_STREAM => Proto::Tcp,
                    libc::SOCK_DGRAM => Proto::Udp,
                    _ => return None,
                };
                let p = match a[2] as i32 {
                    0 => "IPPROTO_IP".to_string(),
                    libc::IPPROTO_TCP => "IPPROTO_TCP".to_string(),
                    libc::IPPROTO_UDP => "IPPROTO_UDP".to_string(),
                    n => n.to_string(),
                };
                let args = format!("{}, {}, {p}", family_name(a[0]), sock_type(a[1]));
                (proto, None, args, Call::Socket)
            }
            _ if sys_is_poll(sys) => {
                let (fds, text) = self.poll_args(tid, pid, sys, a)?;
                watched = fds;
                let first = *watched.first()?;
                let proto = self.proto_of(pid, first)?;
                let fd_field = match sys {
                    Sys::EpollCtl | Sys::EpollPwait => Some(fd),
                    #[cfg(target_arch = "x86_64")]
                    Sys::EpollWait => Some(fd),
                    _ => Some(first),
                };
                (proto, fd_field, text, Call::Poll)
            }
            _ => {
                let proto = self.proto_of(pid, fd)?;
                let (args, call) = Self::fd_call_args(tid, sys, a, &mut head);
                (proto, Some(fd), args, call)
            }
        };
        let mut event = Event::new("", call, "", proto, fd_field);
        event.args = args;
        event.syscall = Some(sys.name().to_string());
        event.sock = fd_field.map(|f| format!("fd{f}")).unwrap_or_default();
        if matches!(call, Call::Connect | Call::Sendto) {
            let (addr, len) = match sys {
                Sys::Connect => (a[1], a[2]),
                Sys::Sendto => (a[4], a[5]),
                _ => (0, 0),
            };
            if let (_, Some(peer)) = addr_arg(tid, addr, len) {
                event.peer = Some(addr_text(peer));
                self.recorder.expect_port(peer.port());
            }
        }
        if sys == Sys::Bind
            && let (_, Some(local)) = addr_arg(tid, a[1], a[2])
        {
            self.recorder.expect_port(local.port());
        }
        if sys == Sys::Close {
            // The connection it closes, named while the fd still exists
            // (from what is known of a connected socket, or asked of it).
            if let Some((local, peer)) = self.addrs.get(&(pid, fd)) {
                event.local.clone_from(local);
                event.peer.clone_from(peer);
            } else if let Ok(owned) = self.copy_fd(pid, fd) {
                let sock = socket2::Socket::from(owned);
                event.local = sock
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map(addr_text);
                event.peer = sock
                    .peer_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map(addr_text);
            }
        }
        Some(Pending {
            sys,
            args: a,
            event,
            head,
            watched,
        })
    }

    /// The arguments of a call on one fd, as strace writes them, and its
    /// course name (a `sendto` without an address is a `send`).
    fn fd_call_args(tid: i32, sys: Sys, a: [u64; 6], head: &mut Vec<u8>) -> (String, Call) {
        use decode::{
            accept_flags, addr_arg, buffer_head, course_call, data_preview, fcntl_cmd, how,
            iov_head, msg_flags, msghdr, read_u32, sockopt,
        };
        let fd = a[0] as i32;
        let call = course_call(sys);
        match sys {
            Sys::Bind | Sys::Connect => (format!("{fd}, {}", addr_arg(tid, a[1], a[2]).0), call),
            Sys::Listen => (format!("{fd}, {}", a[1] as i32), call),
            Sys::Accept => (fd.to_string(), call),
            Sys::Accept4 => (format!("{fd}, {}", accept_flags(a[3])), call),
            Sys::Sendto => {
                *head = buffer_head(tid, a[1], a[2]);
                let mut s = format!(
                    "{fd}, \"{}\", {}, {}",
                    data_preview(head.clone(), a[2]),
                    a[2],
                    msg_flags(a[3])
                );
                if a[4] != 0 {
                    s.push_str(", ");
                    s.push_str(&addr_arg(tid, a[4], a[5]).0);
                    (s, Call::Sendto)
                } else {
                    (s, Call::Send)
                }
            }
            Sys::Recvfrom => {
                let s = format!("{fd}, {}, {}", a[2], msg_flags(a[3]));
                (
                    s,
                    if a[4] != 0 {
                        Call::Recvfrom
                    } else {
                        Call::Recv
                    },
                )
            }
            Sys::Write => {
                *head = buffer_head(tid, a[1], a[2]);
                (
                    format!("{fd}, \"{}\", {}", data_preview(head.clone(), a[2]), a[2]),
                    call,
                )
            }
            Sys::Read => (format!("{fd}, {}", a[2]), call),
            Sys::Writev => {
                let (h, total) = iov_head(tid, a[1], a[2], u64::MAX);
                let s = format!("{fd}, [\"{}\"], {}", data_preview(h.clone(), total), a[2]);
                *head = h;
                (s, call)
            }
            Sys::Readv => (format!("{fd}, {}", a[2]), call),
            Sys::Sendmsg => match msghdr(tid, a[1]) {
                Some(m) => {
                    let (h, total) = iov_head(tid, m.iov, m.iovlen, u64::MAX);
                    let mut s =
                        format!("{fd}, {{\"{}\", {total}}}", data_preview(h.clone(), total));
                    *head = h;
                    let call = if m.name != 0 {
                        s.push_str(", ");
                        s.push_str(&addr_arg(tid, m.name, m.namelen).0);
                        Call::Sendto
                    } else {
                        Call::Send
                    };
                    s.push_str(", ");
                    s.push_str(&msg_flags(a[2]));
                    (s, call)
                }
                None => (
                    format!("{fd}, {:#x}, {}", a[1], msg_flags(a[2])),
                    Call::Send,
                ),
            },
            Sys::Recvmsg => {
                let named = msghdr(tid, a[1]).is_some_and(|m| m.name != 0);
                (
                    format!("{fd}, {}", msg_flags(a[2])),
                    if named { Call::Recvfrom } else { Call::Recv },
                )
            }
            Sys::Sendmmsg | Sys::Recvmmsg => {
                (format!("{fd}, {}, {}", a[2] as u32, msg_flags(a[3])), call)
            }
            Sys::Shutdown => (format!("{fd}, {}", how(a[1])), call),
            Sys::Setsockopt => {
                let value = if a[4] == 4 {
                    read_u32(tid, a[3]).map_or("?".to_string(), |v| format!("[{}]", v as i32))
                } else {
                    format!("{} bytes", a[4])
                };
                (
                    format!("{fd}, {}, {value}, {}", sockopt(a[1], a[2]), a[4]),
                    call,
                )
            }
            Sys::Getsockopt => (format!("{fd}, {}", sockopt(a[1], a[2])), call),
            Sys::Fcntl => (format!("{fd}, {}", fcntl_cmd(a[1], a[2]).0), call),
            Sys::Dup => (fd.to_string(), call),
            Sys::Dup3 => (format!("{fd}, {}", a[1] as i32), call),
            #[cfg(target_arch = "x86_64")]
            Sys::Dup2 => (format!("{fd}, {}", a[1] as i32), call),
            _ => (fd.to_string(), call),
        }
    }

    /// A poll, select or epoll call: the socket fds it involves and its
    /// arguments; `None` when it involves no IP socket.
    fn poll_args(
        &mut self,
        tid: i32,
        pid: i32,
        sys: Sys,
        a: [u64; 6],
    ) -> Option<(Vec<i32>, String)> {
        use decode::{epoll_op, fd_set, poll_fds};
        let sockets = |s: &mut Session, fds: Vec<i32>| -> Vec<i32> {
            fds.into_iter()
                .filter(|&f| s.proto_of(pid, f).is_some())
                .collect()
        };
        let list = |fds: &[i32]| {
            fds.iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match sys {
            Sys::Ppoll => {
                let fds = poll_fds(tid, a[0], a[1]);
                let socks = sockets(self, fds.clone());
                (!socks.is_empty()).then(|| (socks, format!("[{}], {}", list(&fds), a[1])))
            }
            #[cfg(target_arch = "x86_64")]
            Sys::Poll => {
                let fds = poll_fds(tid, a[0], a[1]);
                let socks = sockets(self, fds.clone());
                (!socks.is_empty()).then(|| {
                    (
                        socks,
                        format!("[{}], {}, {}", list(&fds), a[1], a[2] as i32),
                    )
                })
            }
            Sys::Pselect6 => {
                let mut fds = fd_set(tid, a[1], a[0]);
                fds.extend(fd_set(tid, a[2], a[0]));
                fds.sort_unstable();
                fds.dedup();
                let socks = sockets(self, fds.clone());
                (!socks.is_empty()).then(|| (socks, format!("{}, [{}]", a[0], list(&fds))))
            }
            #[cfg(target_arch = "x86_64")]
            Sys::Select => {
                let mut fds = fd_set(tid, a[1], a[0]);
                fds.extend(fd_set(tid, a[2], a[0]));
                fds.sort_unstable();
                fds.dedup();
                let socks = sockets(self, fds.clone());
                (!socks.is_empty()).then(|| (socks, format!("{}, [{}]", a[0], list(&fds))))
            }
            Sys::EpollCtl => {
                let (epfd, fd) = (a[0] as i32, a[2] as i32);
                self.proto_of(pid, fd)?;
                Some((vec![fd], format!("{epfd}, {}, {fd}", epoll_op(a[1]))))
            }
            _ => {
                // epoll_wait / epoll_pwait: on an epoll fd that watches a socket.
                let epfd = a[0] as i32;
                let socks: Vec<i32> = self.epolls.get(&(pid, epfd))?.iter().copied().collect();
                let mut socks = socks;
                socks.sort_unstable();
                (!socks.is_empty())
                    .then(|| (socks, format!("{epfd}, {}, {}", a[2] as i32, a[3] as i32)))
            }
        }
    }

    /// Finish a call at its exit: result, bytes, data, new fds, addresses
    /// and the kernel's view.
    fn exit(&mut self, tid: i32, p: Pending, rval: i64, is_error: bool) -> Option<RunEvent> {
        use decode::{addr_arg, buffer_head, data_preview, fcntl_cmd, iov_head, msghdr, read_u32};
        // ERESTARTSYS and its kin (512-516) never reach the program: the
        // kernel restarts the call (a signal arrived while it waited), and
        // the restarted call stops here again, so it is shown once.
        if is_error && (512..=516).contains(&-rval) {
            return None;
        }
        let (pid, _) = self.task(tid);
        let Pending {
            sys,
            args: a,
            mut event,
            head,
            watched,
        } = p;
        if is_error {
            event.fail(&io::Error::from_raw_os_error(-rval as i32));
        }
        let ok = !is_error;
        let n = rval.max(0) as u64;
        let mut observe_fd = event.fd;
        match sys {
            Sys::Socket if ok => {
                event.fd = Some(rval as i32);
                event.new_fd = Some(rval as i32);
                event.sock = format!("fd{rval}");
                self.fds.insert((pid, rval as i32), Some(event.proto));
                observe_fd = Some(rval as i32);
            }
            Sys::Accept | Sys::Accept4 if ok => {
                let new = rval as i32;
                event.new_fd = Some(new);
                self.fds.insert((pid, new), Some(event.proto));
                if let Ok(owned) = self.copy_fd(pid, new) {
                    let s = socket2::Socket::from(owned);
                    event.peer = s
                        .peer_addr()
                        .ok()
                        .and_then(|a| a.as_socket())
                        .map(addr_text);
                }
            }
            Sys::Sendto | Sys::Write | Sys::Writev | Sys::Sendmsg if ok => {
                event.bytes = Some(n as usize);
                event.data = Some(data_preview(head, n));
            }
            Sys::Recvfrom | Sys::Read if ok => {
                event.bytes = Some(n as usize);
                event.data = Some(data_preview(buffer_head(tid, a[1], n), n));
                if sys == Sys::Recvfrom && a[4] != 0 {
                    let len = read_u32(tid, a[5]).map_or(0, u64::from);
                    event.peer = addr_arg(tid, a[4], len).1.map(addr_text);
                }
            }
            Sys::Readv if ok => {
                event.bytes = Some(n as usize);
                event.data = Some(data_preview(iov_head(tid, a[1], a[2], n).0, n));
            }
            Sys::Recvmsg if ok => {
                event.bytes = Some(n as usize);
                if let Some(m) = msghdr(tid, a[1]) {
                    event.data = Some(data_preview(iov_head(tid, m.iov, m.iovlen, n).0, n));
                    if m.name != 0 {
                        event.peer = addr_arg(tid, m.name, m.namelen).1.map(addr_text);
                    }
                }
            }
            Sys::Sendmmsg | Sys::Recvmmsg if ok => {
                event.flags.push(format!("messages {rval}"));
            }
            Sys::Close => {
                observe_fd = None;
                if ok {
                    self.fds.remove(&(pid, a[0] as i32));
                    self.epolls.retain(|&(p, f), set| {
                        set.remove(&(a[0] as i32));
                        !(p == pid && f == a[0] as i32)
                    });
                }
            }
            Sys::Dup | Sys::Dup3 if ok => {
                event.new_fd = Some(rval as i32);
                self.fds.insert((pid, rval as i32), Some(event.proto));
            }
            #[cfg(target_arch = "x86_64")]
            Sys::Dup2 if ok => {
                event.new_fd = Some(rval as i32);
                self.fds.insert((pid, rval as i32), Some(event.proto));
            }
            Sys::Fcntl if ok => {
                let cmd = a[1] as i32;
                if cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC {
                    event.new_fd = Some(rval as i32);
                    self.fds.insert((pid, rval as i32), Some(event.proto));
                } else if cmd == libc::F_GETFL {
                    event.flags.push(format!("returned {rval:#x}"));
                }
                if fcntl_cmd(a[1], a[2]).1 {
                    event.flags.push(NONBLOCKING.into());
                }
            }
            Sys::EpollCtl if ok => {
                let (epfd, fd) = (a[0] as i32, a[2] as i32);
                let set = self.epolls.entry((pid, epfd)).or_default();
                if a[1] as i32 == libc::EPOLL_CTL_DEL {
                    set.remove(&fd);
                } else {
                    set.insert(fd);
                }
            }
            Sys::Getsockopt if ok => {
                if let Some(v) = read_u32(tid, a[3]) {
                    event.flags.push(format!("value {}", v as i32));
                }
            }
            _ if sys_is_poll(sys) && ok => {
                // What it returned: how many fds are ready (0: it timed
                // out), as strace prints it.
                event.ready = u32::try_from(rval).ok();
                event.flags.push(format!("ready {rval}"));
                let _ = watched;
            }
            _ => {}
        }
        // The socket's addresses: from what is known of it when the call
        // cannot have changed them (a send or recv on a connected TCP
        // socket), else asked of the socket itself. Three syscalls fewer
        // for each send and recv (the tracer's cost per call is what
        // docs/performance.md measures against strace's).
        let known = observe_fd
            .and_then(|fd| self.addrs.get(&(pid, fd)).cloned())
            .filter(|_| keeps_addresses(event.call, event.proto));
        if let Some((local, peer)) = &known {
            if event.local.is_none() {
                event.local.clone_from(local);
            }
            if event.peer.is_none() {
                event.peer.clone_from(peer);
            }
        }
        // A new socket has no address yet: without the kernel's view of
        // it there is nothing to ask (the engine reports a lesson's new
        // socket the same way).
        let fresh = event.call == Call::Socket;
        let look = self.options.kernel || (known.is_none() && !fresh);
        if let Some(fd) = observe_fd.filter(|_| look)
            && let Ok(owned) = self.copy_fd(pid, fd)
        {
            let sock = socket2::Socket::from(owned);
            if event.local.is_none() {
                event.local = sock
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map(addr_text);
            }
            if event.peer.is_none() && event.call != Call::Listen {
                event.peer = sock
                    .peer_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map(addr_text);
            }
            if self.options.kernel {
                let (state, observed) = crate::kernel::observe_fd(&sock, event.proto);
                event.tcp_state = state;
                event.kernel = Some(observed);
            }
            // A connected TCP socket keeps these until it is closed.
            if event.proto == Proto::Tcp && event.peer.is_some() && event.call != Call::Accept {
                self.addrs
                    .insert((pid, fd), (event.local.clone(), event.peer.clone()));
            }
        }
        // A closed fd, or the fd a dup2 replaced, is another socket from
        // now on (or none).
        match (event.call, event.new_fd) {
            (Call::Close, _) => {
                self.addrs.remove(&(pid, a[0] as i32));
            }
            (Call::Dup, Some(new)) => {
                self.addrs.remove(&(pid, new));
            }
            _ => {}
        }
        // A thread may name itself after it starts (pthread_setname_np,
        // prctl(PR_SET_NAME)), as an exported lesson names each actor's
        // thread, before its first socket call: the name is read at each
        // task's first call (and again after an exec), and its lane
        // carries the name it has then.
        let comm = match self.tasks.get_mut(&tid) {
            Some(t) if t.named => t.comm.clone(),
            Some(t) => {
                t.comm = read_comm(tid);
                t.named = true;
                t.comm.clone()
            }
            None => read_comm(tid),
        };
        self.seq += 1;
        event.seq = self.seq;
        event.t_us = self.t0.elapsed().as_micros() as u64;
        event.actor = format!("{comm}[{tid}]");
        // The first sign of an event loop in this process: a socket made
        // or accepted non-blocking, O_NONBLOCK set, or a wait for readiness.
        let nonblocking = event.args.contains("SOCK_NONBLOCK")
            || event.flags.iter().any(|f| f == NONBLOCKING)
            || event.call == Call::Poll;
        if nonblocking && event.ok() && self.told_nonblocking.insert(pid) {
            event.flags.push(NONBLOCKING_NOTE.into());
        }
        let attach = !self.caused_by_another(tid);
        if self.recorder.running() {
            let ends = (event.local.as_deref(), event.peer.as_deref());
            let close = event.call == Call::Close;
            event.segments = self
                .recorder
                .captured_for(&event.actor, ends, close, attach);
        }
        Some(RunEvent {
            event,
            pid,
            tid,
            comm,
        })
    }
}

impl Drop for Session {
    /// Nothing traced outlives the session (EXITKILL covers a crash; this
    /// covers an early return).
    fn drop(&mut self) {
        if !self.tasks.is_empty() {
            self.tracer.kill_all();
            while let Ok(stop) = self.tracer.wait() {
                if stop == Stop::AllGone {
                    break;
                }
            }
        }
    }
}

fn family_name(n: u64) -> String {
    decode::family(n)
}

fn sys_is_poll(sys: Sys) -> bool {
    match sys {
        Sys::Ppoll | Sys::Pselect6 | Sys::EpollCtl | Sys::EpollPwait => true,
        #[cfg(target_arch = "x86_64")]
        Sys::Poll | Sys::Select | Sys::EpollWait => true,
        _ => false,
    }
}
