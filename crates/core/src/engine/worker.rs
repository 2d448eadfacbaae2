//! The thread an actor runs in, and what the kernel says about it while one
//! of its calls sleeps.
//!
//! A student's program blocks in accept, connect or recv until a peer acts.
//! So does each lesson actor: it makes its calls in a thread of its own, and
//! a call that must wait sleeps in the kernel exactly as it would in C. The
//! orchestrator sends the thread one [`Job`] at a time and hears back when
//! the call has returned.
//!
//! A sleeping thread cannot say that it sleeps, so the orchestrator asks the
//! kernel. `/proc/self/task/TID/syscall` holds the number and arguments of
//! the system call a thread is blocked in (or `running` while it runs), and
//! `/proc/self/task/TID/wchan` the kernel function it sleeps in
//! (`inet_csk_accept` for accept, `wait_woken` for a recv, ...). A call is
//! shown as waiting only once the syscall file names the very syscall on the
//! very fd the actor said it was about to make and `stat` says the thread
//! is asleep (not stopped by a tracer): proof from the kernel, not a guess
//! from the clock. The three files are opened when the thread starts,
//! before the lesson's first socket, so reading them never takes an fd
//! number a lesson socket would have had.
//!
//! To stop a call that waits (the presenter quits or restarts), the thread
//! is sent a signal whose handler was installed without SA_RESTART
//! ([`sockscope_sys::interrupt`] says why that, and not shutdown(2)): the
//! call returns EINTR, the thread sees its job channel closed and ends,
//! and its sockets close with it.

use super::actor::{Actor, Done, InFlight, InFlightSlot, Job};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the kernel said about a call that sleeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The kernel function the thread sleeps in, from wchan; `None` when the
    /// kernel does not say (it reads `0`, or cannot be read).
    pub wchan: Option<String>,
    /// /proc/self/task/TID/syscall as read: the syscall number and its
    /// arguments in hex, then the stack and instruction pointers.
    pub syscall_line: String,
    pub tid: i32,
}

/// The /proc files of one thread, opened once.
struct TaskFiles {
    syscall: Option<File>,
    wchan: Option<File>,
    stat: Option<File>,
}

impl TaskFiles {
    fn open(tid: i32) -> TaskFiles {
        let path = |what: &str| format!("/proc/self/task/{tid}/{what}");
        TaskFiles {
            syscall: File::open(path("syscall")).ok(),
            wchan: File::open(path("wchan")).ok(),
            stat: File::open(path("stat")).ok(),
        }
    }

    /// Read a whole /proc file from its start (its content is made anew for
    /// each read from offset 0).
    fn read(file: Option<&File>) -> Option<String> {
        let mut buf = [0u8; 512];
        let n = file?.read_at(&mut buf, 0).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).trim().to_string())
    }
}

/// One actor's thread, seen from the orchestrator.
pub struct Worker {
    jobs: Option<std_mpsc::Sender<Job>>,
    done: mpsc::UnboundedReceiver<Done>,
    probe: Probe,
    thread: Option<JoinHandle<()>>,
}

/// An actor's thread that has been started and has not yet said its id.
pub struct Starting {
    jobs: std_mpsc::Sender<Job>,
    done: mpsc::UnboundedReceiver<Done>,
    in_flight: InFlightSlot,
    tid: std_mpsc::Receiver<i32>,
    thread: JoinHandle<()>,
}

impl Starting {
    /// Wait for the thread to run, and open its /proc files.
    pub fn ready(self) -> io::Result<Worker> {
        let tid = self
            .tid
            .recv()
            .map_err(|_| io::Error::other("the actor's thread ended before it started"))?;
        Ok(Worker {
            jobs: Some(self.jobs),
            done: self.done,
            probe: Probe {
                in_flight: self.in_flight,
                tid,
                files: Arc::new(TaskFiles::open(tid)),
            },
            thread: Some(self.thread),
        })
    }
}

/// What tells whether an actor's call sleeps in the kernel: the slot where
/// the actor names the call it is making, and the thread's /proc files.
/// Cheap to clone, so a look can be made from another thread
/// ([`super::Run`]'s watch hands one to tokio's blocking pool).
#[derive(Clone)]
pub struct Probe {
    in_flight: InFlightSlot,
    tid: i32,
    files: Arc<TaskFiles>,
}

impl Worker {
    /// Start `actor`'s thread without waiting for it: a lesson starts all
    /// its actors' threads first and then waits for them together
    /// ([`Starting::ready`]), so their start-up costs overlap. `in_flight`
    /// is the slot the actor fills before each call that can wait.
    pub fn start(name: &str, actor: Actor, in_flight: InFlightSlot) -> io::Result<Starting> {
        sockscope_sys::interrupt::install()?;
        let (jobs, job_rx) = std_mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::unbounded_channel();
        let (tid_tx, tid_rx) = std_mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            // The name shows in `top -H`, `ps -L` and /proc/self/task/TID/comm.
            .name(thread_name(name))
            .spawn(move || {
                let _ = tid_tx.send(sockscope_sys::interrupt::gettid());
                let mut actor = actor;
                // Ends when the orchestrator drops its sender: the actor is
                // dropped here, closing every socket it still holds.
                while let Some(job) = next_job(&job_rx) {
                    if done_tx.send(actor.call(job)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Starting {
            jobs,
            done,
            in_flight,
            tid: tid_rx,
            thread,
        })
    }

    /// Hand the thread its next call.
    #[must_use]
    pub fn send(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }

    /// The next call's result, once it returns. `None` if the thread is gone.
    pub async fn done(&mut self) -> Option<Done> {
        self.done.recv().await
    }

    /// The result if the call has returned already.
    pub fn try_done(&mut self) -> Option<Done> {
        self.done.try_recv().ok()
    }

    /// If the thread is asleep in the kernel in the call it said it is
    /// making, what the kernel says about it ([`Probe::blocked`]).
    #[must_use]
    pub fn blocked(&self) -> Option<(Blocked, InFlight)> {
        self.probe.blocked()
    }

    /// A probe of this thread, to look from elsewhere.
    #[must_use]
    pub fn probe(&self) -> Probe {
        self.probe.clone()
    }

    /// The thread's id, as /proc/self/task names it.
    #[must_use]
    pub fn tid(&self) -> i32 {
        self.probe.tid
    }

    /// Make a call that waits return EINTR (see the module comment).
    pub fn interrupt(&self) {
        if let Some(t) = &self.thread {
            let _ = sockscope_sys::interrupt::interrupt(t.as_pthread_t());
        }
    }

    /// Is a call in flight (made and not yet returned)?
    #[must_use]
    pub fn in_call(&self) -> bool {
        crate::sync::lock(&self.probe.in_flight).is_some()
    }
}

impl Probe {
    /// If the thread is asleep in the kernel in the call it said it is
    /// making, what the kernel says about it. The slot is read first and the
    /// kernel second: a call that returns in between is seen as running (or
    /// as a different syscall), never as waiting.
    #[must_use]
    pub fn blocked(&self) -> Option<(Blocked, InFlight)> {
        let view = {
            let slot = crate::sync::lock(&self.in_flight);
            slot.clone()?
        };
        let line = TaskFiles::read(self.files.syscall.as_ref())?;
        // "running" while the thread runs; "NR ARG0 ARG1 ... SP PC" while it
        // is blocked in a syscall (proc(5)).
        let mut words = line.split_whitespace();
        let nr: i64 = words.next()?.parse().ok()?;
        let arg0 = i64::from_str_radix(words.next()?.trim_start_matches("0x"), 16).ok()?;
        if nr != view.nr || view.arg0.is_some_and(|want| want != arg0) {
            return None;
        }
        // The syscall file also names the call of a thread stopped by a
        // tracer (strace stops it at each syscall's entry, state `t`), or
        // one that sleeps a moment on a lock (`D`): only a thread in an
        // interruptible sleep (`S`), the sleep of a call waiting for a peer
        // or for room, is waiting. The state is the first field after the
        // command's `)`.
        let stat = TaskFiles::read(self.files.stat.as_ref())?;
        let state = stat.rsplit_once(") ")?.1.chars().next()?;
        if state != 'S' {
            return None;
        }
        let wchan =
            TaskFiles::read(self.files.wchan.as_ref()).filter(|w| !w.is_empty() && w != "0");
        Some((
            Blocked {
                wchan,
                syscall_line: line,
                tid: self.tid,
            },
            view,
        ))
    }
}

/// How long an actor's thread looks for its next job before it sleeps on
/// the channel. A lesson run without pauses (`trace`) hands an actor its
/// next call within microseconds, and a thread put to sleep costs a futex
/// wake and a context switch (tens of microseconds) per call, the largest
/// share of the engine's time per step (docs/performance.md); a paused
/// lesson spends this once per step, then sleeps.
const SPIN_FOR_JOB: Duration = Duration::from_micros(100);

/// The next job: taken at once if it comes within [`SPIN_FOR_JOB`], else
/// waited for. `None` when the orchestrator has gone.
fn next_job(jobs: &std_mpsc::Receiver<Job>) -> Option<Job> {
    let until = std::time::Instant::now() + SPIN_FOR_JOB;
    loop {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(std_mpsc::TryRecvError::Disconnected) => return None,
            Err(std_mpsc::TryRecvError::Empty) if std::time::Instant::now() < until => {
                std::thread::yield_now();
            }
            Err(std_mpsc::TryRecvError::Empty) => return jobs.recv().ok(),
        }
    }
}

/// How long dropping a worker keeps waking its thread before it gives up on
/// joining it. A call interrupted by the signal returns at once; this bound
/// only matters if the kernel keeps a thread in an uninterruptible sleep.
const JOIN_ROUNDS: usize = 1000;
/// The first rounds of that, which yield instead of sleeping.
const EAGER_JOIN_ROUNDS: usize = 200;

impl Drop for Worker {
    fn drop(&mut self) {
        // No more jobs: an idle thread wakes from its channel and ends.
        self.jobs = None;
        let Some(thread) = self.thread.take() else {
            return;
        };
        for round in 0..JOIN_ROUNDS {
            if thread.is_finished() {
                let _ = thread.join();
                return;
            }
            // The signal is sent again each round: one sent just before the
            // thread entered its syscall would have been spent on nothing.
            if self.in_call() {
                let _ = sockscope_sys::interrupt::interrupt(thread.as_pthread_t());
            }
            // An idle thread ends within tens of microseconds of its channel
            // closing: the first rounds only yield, so a lesson's end does
            // not wait a sleep's granularity per actor.
            if round < EAGER_JOIN_ROUNDS {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

/// A thread name of at most 15 bytes (the kernel's limit), from the actor's.
fn thread_name(actor: &str) -> String {
    let mut name = String::new();
    for c in actor.chars() {
        if name.len() + c.len_utf8() > 15 {
            break;
        }
        name.push(c);
    }
    name
}
