//! The engine: runs a lesson's calls as real syscalls on loopback and reports
//! each one as an [`Event`].
//!
//! One actor per endpoint owns that endpoint's sockets ([`actor`]); the
//! orchestrator here releases the lesson's steps one at a time through the
//! [`stepper::Gate`], resolves addresses (`server:listener` becomes the port
//! the kernel really chose), and is the only place that emits events, so
//! their order is the same on every run.
//!
//! Each actor runs in a thread of its own ([`worker`]) and makes blocking
//! calls, as the C program it stands for would: a call that must wait
//! sleeps in the kernel. The orchestrator hands a thread one call, then
//! watches it until the call returns or the kernel has the thread asleep in
//! it (read from /proc/self/task/TID/syscall, with wchan naming where). A
//! call seen asleep is reported as waiting, an event of its own; if the
//! lesson lets it (`park`), later steps run while it sleeps, and it is
//! finished at the step that wakes it (or before that actor's next call).
//! No timer bounds that wait: the presenter may pause for as long as they
//! like, and the call waits as long as the kernel keeps it waiting (its own
//! timers, like connect's SYN retries, are the only limits). Stop, restart
//! and quit interrupt a sleeping call with a signal (see [`worker`]).
//!
//! The engine knows nothing about terminals: the TUI, `trace` and the tests
//! all consume the same [`EngineMsg`] stream.
//!
//! When packet capture runs, the orchestrator is also where packets meet
//! calls: each time it records an event it drains the capture socket (never
//! waiting) and attaches the frames of that call's connection to the event
//! (see [`crate::wire::track`] for why this attribution holds on loopback).

pub mod actor;
pub mod expect;
pub mod guard;
pub mod serve;
pub mod sock;
pub mod stepper;
pub mod worker;

pub use crate::event::{Check, Event, Waiting};
pub use crate::vocab::{Call, Proto, errno, preview};
pub use stepper::{Control, Pace};

use crate::kernel::{self, snmp::UdpCounters};
use crate::lesson::{Lesson, Step, parse::is_literal_addr};
use crate::wire::recorder::{Recorder, SETTLE_ROUNDS};
use crate::wire::{Segment, Wire};
use actor::{
    Actor, DEFAULT_BACKLOG, DEFAULT_RECV_MAX, Done, InFlight, Job, Op, Payload, RecvFlags,
    duration_us,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use worker::{Blocked, Worker};

/// The flag on a call that sockscope interrupted (to stop, restart or quit
/// the lesson) while it waited: it returned EINTR because of sockscope's
/// signal, not because of anything the lesson did.
pub const INTERRUPTED: &str = "interrupted by sockscope";

/// Settings for one run of a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// The port that `$port` in the lesson stands for; 0 lets the kernel choose.
    pub port: u16,
    pub pace: Pace,
    /// Try to capture the run's packets on `lo` (needs CAP_NET_RAW; without
    /// it the run goes on and events' `segments` are `null`).
    pub capture: bool,
}

/// Which observers look at the kernel after each call. The kernel view is on
/// in every run a user sees; without it the engine still makes every call
/// and reports what each returned, which is how the benchmarks measure the
/// engine's own overhead and what `trace --no-kernel` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observers {
    /// TCP_INFO, the kernel's socket tables and UDP counters after each call.
    pub kernel: bool,
}

impl Default for Observers {
    fn default() -> Self {
        Observers { kernel: true }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            port: 0,
            pace: Pace::Manual,
            capture: true,
        }
    }
}

/// Everything the engine reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineMsg {
    /// A call is waiting for a peer.
    Waiting(Waiting),
    /// A call returned.
    Event(Box<Event>),
    /// Every step has run.
    Finished,
    /// The run could not go on (a lesson defect, not a failed syscall: those
    /// are events).
    Failed(EngineError),
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("step {step}: `{spec}` names a socket that has no address yet")]
    Unresolved { step: usize, spec: String },
    #[error("actor `{0}` stopped unexpectedly")]
    ActorGone(String),
    /// A call failed in a way the lesson did not expect (see [`guard`]).
    #[error("{0}")]
    Halted(guard::Halt),
}

/// A running lesson. Dropping it stops the run and closes every socket.
pub struct Engine {
    controls: mpsc::UnboundedSender<Control>,
    msgs: mpsc::UnboundedReceiver<EngineMsg>,
    wire: Wire,
    // Dropping the set aborts the orchestrator, which drops the actors' set,
    // which aborts them, which closes their sockets.
    _task: JoinSet<()>,
}

impl Engine {
    /// Start `lesson`. Must be called from inside a tokio runtime. Pass an
    /// `Arc<Lesson>` to run one lesson many times without copying it.
    pub fn start(lesson: impl Into<Arc<Lesson>>, config: EngineConfig) -> Engine {
        Engine::start_observed(lesson, config, Observers::default())
    }

    /// Start `lesson` with a choice of observers.
    pub fn start_observed(
        lesson: impl Into<Arc<Lesson>>,
        config: EngineConfig,
        observers: Observers,
    ) -> Engine {
        let (controls, control_rx) = mpsc::unbounded_channel();
        let (msg_tx, msgs) = mpsc::unbounded_channel();
        // Opened before the first step, so the consumer knows at once
        // whether packets will be captured.
        let recorder = Recorder::open(config.capture);
        let wire = recorder.wire();
        let gate = stepper::Gate::new(config.pace, control_rx);
        let run = Run::new(
            lesson.into(),
            config,
            Out::Send(msg_tx),
            recorder,
            observers,
        );
        let mut task = JoinSet::new();
        task.spawn(async move {
            run.finish(gate).await;
        });
        Engine {
            controls,
            msgs,
            wire,
            _task: task,
        }
    }

    /// This run's capture: whether it runs, and the frames so far.
    #[must_use]
    pub fn wire(&self) -> Wire {
        self.wire.clone()
    }

    /// Release the next call.
    pub fn step(&self) {
        let _ = self.controls.send(Control::Step);
    }

    /// Stop the run: a call still waiting is interrupted and reported (its
    /// event says `interrupted by sockscope`), then the messages end.
    /// Dropping the engine does the same without waiting for the report.
    pub fn stop(&self) {
        let _ = self.controls.send(Control::Stop);
    }

    pub fn set_pace(&self, pace: Pace) {
        let _ = self.controls.send(Control::Pace(pace));
    }

    /// The next message, waiting for it. `None` once the run is over and
    /// every message has been read.
    pub async fn next(&mut self) -> Option<EngineMsg> {
        self.msgs.recv().await
    }

    /// The next message if one is ready.
    pub fn try_next(&mut self) -> Option<EngineMsg> {
        self.msgs.try_recv().ok()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.controls.send(Control::Stop);
    }
}

/// Run `lesson` to the end with no pauses and collect what it reported,
/// without packet capture (events' `segments` are `null`). Capture has a
/// fixed cost per run: closing a packet socket waits for an RCU grace period
/// in the kernel (`synchronize_net`), milliseconds that thousands of
/// back-to-back runs would add up; [`run_to_end_with`] turns it on.
pub async fn run_to_end(lesson: impl Into<Arc<Lesson>>, port: u16) -> Vec<EngineMsg> {
    let config = EngineConfig {
        port,
        pace: Pace::RunToEnd,
        capture: false,
    };
    run_to_end_with(lesson, config).await.0
}

/// Run `lesson` to the end with no pauses (whatever `config.pace` says);
/// return what it reported and what it captured.
pub async fn run_to_end_with(
    lesson: impl Into<Arc<Lesson>>,
    config: EngineConfig,
) -> (Vec<EngineMsg>, Wire) {
    run_to_end_observed(lesson, config, Observers::default()).await
}

/// [`run_to_end_with`], with a choice of observers.
pub async fn run_to_end_observed(
    lesson: impl Into<Arc<Lesson>>,
    config: EngineConfig,
    observers: Observers,
) -> (Vec<EngineMsg>, Wire) {
    // Nobody steers a run to the end, so it needs no task of its own and no
    // channel for its messages: it runs in the caller's task and keeps them.
    let config = EngineConfig {
        pace: Pace::RunToEnd,
        ..config
    };
    let recorder = Recorder::open(config.capture);
    let wire = recorder.wire();
    let (_no_controls, control_rx) = mpsc::unbounded_channel();
    let gate = stepper::Gate::new(config.pace, control_rx);
    let run = Run::new(
        lesson.into(),
        config,
        Out::Keep(Vec::new()),
        recorder,
        observers,
    );
    (run.finish(gate).await, wire)
}

/// The events of a run, without the waiting notices.
#[must_use]
pub fn events(msgs: &[EngineMsg]) -> Vec<&Event> {
    msgs.iter()
        .filter_map(|m| match m {
            EngineMsg::Event(e) => Some(e.as_ref()),
            _ => None,
        })
        .collect()
}

/// A call an actor's thread is making: which step made it, and whether it
/// was seen asleep in the kernel.
struct Pending {
    step: usize,
    waited: bool,
}

/// The orchestrator's hold on one actor: its thread, and the call it is in.
struct Link {
    name: String,
    worker: Worker,
    busy: Option<Pending>,
}

/// How many times a call's result (or its sleep) is looked for between
/// yields before the orchestrator waits for it another way.
const EAGER_LOOKS: u32 = 50;

/// How often the blocking-pool probe reads a watched thread's /proc files.
const PROBE_EVERY: Duration = Duration::from_micros(20);

/// Tells a watch's probe to stop when the watch ends, however it ends.
struct StopProbe(Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopProbe {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Why the run stops before its end.
enum Stop {
    Failed(EngineError),
    /// The presenter stopped it (quit, restart) or the consumer went away.
    Presenter,
}

impl From<EngineError> for Stop {
    fn from(e: EngineError) -> Stop {
        Stop::Failed(e)
    }
}

/// How a call that can wait came out of its first moments.
enum Watched {
    Returned(Done),
    Asleep(Blocked, InFlight),
}

/// The last local address of each `actor:sock`, as the event showed it and
/// parsed. A lesson has a handful of sockets, and this is read and written on
/// every call: a short list searched by name costs less than hashing two
/// strings, and most calls leave the address as it was, so the text is
/// compared before anything is parsed.
#[derive(Default)]
struct Addresses(Vec<AddressOf>);

struct AddressOf {
    actor: String,
    sock: String,
    shown: String,
    addr: SocketAddr,
}

impl Addresses {
    fn get(&self, actor: &str, sock: &str) -> Option<SocketAddr> {
        self.0
            .iter()
            .find(|a| a.actor == actor && a.sock == sock)
            .map(|a| a.addr)
    }

    /// Remember that `actor:sock` now has the local address `shown`.
    fn set(&mut self, actor: &str, sock: &str, shown: &str) {
        let entry = self
            .0
            .iter_mut()
            .find(|a| a.actor == actor && a.sock == sock);
        if entry.as_ref().is_some_and(|a| a.shown == shown) {
            return;
        }
        let Ok(addr) = shown.parse() else {
            return;
        };
        match entry {
            Some(a) => {
                a.addr = addr;
                a.shown = shown.to_string();
            }
            None => self.0.push(AddressOf {
                actor: actor.to_string(),
                sock: sock.to_string(),
                shown: shown.to_string(),
                addr,
            }),
        }
    }
}

/// Where a run's messages go: to an [`Engine`]'s consumer as they happen, or
/// kept for [`run_to_end_observed`] to return at the end.
enum Out {
    Send(mpsc::UnboundedSender<EngineMsg>),
    Keep(Vec<EngineMsg>),
}

/// The orchestrator's state for one run.
struct Run {
    lesson: Arc<Lesson>,
    config: EngineConfig,
    out: Out,
    started: Instant,
    seq: u64,
    /// One per endpoint, in the lesson's order. A lesson has a handful, and
    /// they are looked up by name several times per call: a short list
    /// searched by name costs less than hashing.
    actors: Vec<Link>,
    /// The address each `actor:sock` had when last seen, kept after close so a
    /// later step can aim at a port nobody holds any more.
    addrs: Addresses,
    /// The run's capture: the packet socket, whose each frame is, and
    /// what the consumers read.
    recorder: Recorder,
    /// Every socket that has had an address, keyed `actor:sock`, to find it
    /// in the kernel's tables after each call.
    known: BTreeMap<String, kernel::Known>,
    /// The machine's UDP counters when the run started, to report how far
    /// they moved.
    udp_start: Option<UdpCounters>,
    observers: Observers,
    /// The result of the last recorded call, for `until`.
    last_result: Option<crate::vocab::Outcome>,
    /// Whether the last recorded `rest` send took every byte left, which
    /// ends a repeated `rest` send as it ends a sendall loop.
    last_whole: bool,
    /// Set when a call failed in a way the lesson did not expect: the run
    /// stops before its next call ([`guard`]).
    halt: Option<guard::Halt>,
    /// The lesson's open sockets by fd, `actor:sock`, to name them in the
    /// fd table a `socket` or `accept` event carries.
    lesson_fds: Vec<(i32, String)>,
}

impl Run {
    fn new(
        lesson: Arc<Lesson>,
        config: EngineConfig,
        out: Out,
        recorder: Recorder,
        observers: Observers,
    ) -> Run {
        // A thread that cannot start leaves its actor out; its first call
        // then stops the run with `ActorGone`.
        // Every thread is started before any is waited for, so their
        // start-ups overlap.
        let handoffs = actor::Handoffs::default();
        let starting: Vec<_> = lesson
            .actors
            .iter()
            .map(|a| {
                let (actor, in_flight) =
                    Actor::new(a.name.clone(), observers.kernel, handoffs.clone());
                (a.name.clone(), Worker::start(&a.name, actor, in_flight))
            })
            .collect();
        let actors = starting
            .into_iter()
            .filter_map(|(name, started)| {
                let worker = started.and_then(worker::Starting::ready).ok()?;
                Some(Link {
                    name,
                    worker,
                    busy: None,
                })
            })
            .collect();
        Run {
            lesson,
            config,
            out,
            started: Instant::now(),
            seq: 0,
            actors,
            addrs: Addresses::default(),
            recorder,
            known: BTreeMap::new(),
            // Read only for the kernel view: it costs a file read per run.
            udp_start: observers.kernel.then(|| UdpCounters::read().ok()).flatten(),
            observers,
            last_result: None,
            last_whole: false,
            halt: None,
            lesson_fds: Vec::new(),
        }
    }

    fn emit(&mut self, msg: EngineMsg) {
        match &mut self.out {
            // A consumer that went away just stops listening; the run is
            // dropped with the Engine.
            Out::Send(tx) => {
                let _ = tx.send(msg);
            }
            Out::Keep(msgs) => msgs.push(msg),
        }
    }

    /// Run the lesson, end with `Finished` or `Failed`, and give back the
    /// messages kept (none when they were sent as they happened).
    async fn finish(mut self, gate: stepper::Gate) -> Vec<EngineMsg> {
        match self.drive(gate).await {
            Ok(true) => self.emit(EngineMsg::Finished),
            Ok(false) => {}
            Err(e) => self.emit(EngineMsg::Failed(e)),
        }
        match self.out {
            Out::Keep(msgs) => msgs,
            Out::Send(_) => Vec::new(),
        }
    }

    fn since_start(&self, at: Instant) -> u64 {
        duration_us(at.saturating_duration_since(self.started))
    }

    /// Run every step. `Ok(false)` if the presenter stopped the run: then
    /// every call still waiting is interrupted, and reported as such.
    async fn drive(&mut self, mut gate: stepper::Gate) -> Result<bool, EngineError> {
        match self.steps(&mut gate).await {
            Ok(()) => Ok(true),
            Err(Stop::Failed(e)) => Err(e),
            Err(Stop::Presenter) => {
                self.interrupt_all().await;
                Ok(false)
            }
        }
    }

    async fn steps(&mut self, gate: &mut stepper::Gate) -> Result<(), Stop> {
        for index in 0..self.lesson.steps.len() {
            if gate.open().await.is_err() {
                return Err(Stop::Presenter);
            }
            let lesson = Arc::clone(&self.lesson);
            let step = &lesson.steps[index];
            // An actor is one thread of control: a call still waiting must
            // finish before the same actor can make another.
            self.finish_parked(&step.actor, gate).await?;
            // A woken or finished call may have failed unexpectedly too.
            if let Some(halt) = self.halt.take() {
                return Err(EngineError::Halted(halt).into());
            }
            self.last_whole = false;
            for turn in 0..step.repeat.unwrap_or(1) {
                if turn > 0 {
                    // One thread of control: the last turn's call, if it
                    // had to wait, returns before the next is made.
                    self.finish_parked(&step.actor, gate).await?;
                    if step.rest && self.last_whole {
                        break;
                    }
                }
                self.run_step(index, step, gate).await?;
                if let Some(halt) = self.halt.take() {
                    return Err(EngineError::Halted(halt).into());
                }
                // `until` is the lesson's text; the result is compared as one.
                let until = step.until.as_deref().map(crate::vocab::Outcome::from_name);
                if until.is_some() && until == self.last_result {
                    break;
                }
                if step.rest && self.last_whole {
                    break;
                }
            }
            for woken in &step.wakes {
                self.finish_parked(woken, gate).await?;
            }
        }
        // Calls nobody woke are still waiting: let them finish if they can.
        let mut left: Vec<(usize, String)> = self
            .actors
            .iter()
            .filter_map(|link| link.busy.as_ref().map(|p| (p.step, link.name.clone())))
            .collect();
        left.sort();
        for (_, actor) in left {
            self.finish_parked(&actor, gate).await?;
        }
        self.settle_capture().await;
        // Every socket still open closes now, before `Finished` is sent:
        // each thread ends, and its actor's sockets close with it.
        self.actors.clear();
        Ok(())
    }

    /// Interrupt every call still waiting (the run is stopping) and report
    /// each as interrupted by sockscope.
    async fn interrupt_all(&mut self) {
        // A call interrupted returns within microseconds; the signal is sent
        // again each millisecond in case the first came just before the
        // thread entered its syscall. Bounded, so a stop always ends.
        const ROUNDS: usize = 1000;
        for i in 0..self.actors.len() {
            if self.actors[i].busy.is_none() {
                continue;
            }
            for _ in 0..ROUNDS {
                let link = &mut self.actors[i];
                link.worker.interrupt();
                match tokio::time::timeout(Duration::from_millis(1), link.worker.done()).await {
                    Ok(Some(mut done)) => {
                        if done.event.result.is(libc::EINTR) {
                            done.event.flags.push(INTERRUPTED.into());
                            done.event.explain = Some(
                                "sockscope interrupted this call to stop the lesson: it sent the \
                                 actor's thread a signal, and the kernel ended the wait with EINTR."
                                    .into(),
                            );
                        }
                        let name = link.name.clone();
                        self.record_done(&name, done);
                        break;
                    }
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
        }
    }

    async fn run_step(
        &mut self,
        index: usize,
        step: &Step,
        gate: &mut stepper::Gate,
    ) -> Result<(), Stop> {
        let op = self.resolve(index + 1, step)?;
        self.expect_ports(&op);
        let call = op.call();
        let job = Job {
            step: index + 1,
            lesson: Arc::clone(&self.lesson),
            op,
        };
        let gone = || EngineError::ActorGone(step.actor.clone());
        let link = self.link_mut(&step.actor).ok_or_else(gone)?;
        if !link.worker.send(job) {
            return Err(gone().into());
        }
        link.busy = Some(Pending {
            step: index + 1,
            waited: false,
        });
        if !call.can_wait() {
            // bind, listen, close, ...: they return without waiting for a
            // peer; the thread is awaited like any other.
            return self.finish_call(&step.actor, gate).await;
        }
        match self.watch(&step.actor, gate).await? {
            Watched::Returned(done) => {
                self.record_done(&step.actor, done);
                Ok(())
            }
            Watched::Asleep(blocked, in_flight) => {
                self.waiting(index, step, call, blocked, in_flight);
                if let Some(p) = self.link_mut(&step.actor).and_then(|l| l.busy.as_mut()) {
                    p.waited = true;
                }
                if step.parks() {
                    // It goes on sleeping in its thread while later steps run.
                    return Ok(());
                }
                // A connect seen through within its step (backlog's third
                // client, whose SYN the full queue dropped, waits for its
                // kernel's retransmission), or a recv the lesson waits for.
                self.finish_call(&step.actor, gate).await
            }
        }
    }

    /// Watch a call that can wait until it returns or the kernel has its
    /// thread asleep in it. Most calls return within microseconds, so the
    /// thread's state is first read between yields. A call that neither
    /// returns nor sleeps by then (its thread not yet scheduled, or a call
    /// on its way to the kernel's wait) is looked at every
    /// [`PROBE_EVERY`] from tokio's blocking pool: a tokio timer ticks only
    /// once a millisecond, which made every waiting call cost one or two
    /// ticks (docs/performance.md), while the probe sees the sleep within
    /// microseconds of its start and leaves the runtime free meanwhile.
    async fn watch(&mut self, actor: &str, gate: &mut stepper::Gate) -> Result<Watched, Stop> {
        let gone = || EngineError::ActorGone(actor.to_string());
        let seen = self
            .look_eagerly(actor, |w| {
                w.try_done().map(Watched::Returned).or_else(|| {
                    w.blocked()
                        .map(|(blocked, in_flight)| Watched::Asleep(blocked, in_flight))
                })
            })
            .await?;
        if let Some(seen) = seen {
            return Ok(seen);
        }
        let link = self.link_mut(actor).ok_or_else(gone)?;
        let probe = link.worker.probe();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let looking = {
            let stop = Arc::clone(&stop);
            tokio::task::spawn_blocking(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Some(asleep) = probe.blocked() {
                        return Some(asleep);
                    }
                    std::thread::sleep(PROBE_EVERY);
                }
                None
            })
        };
        // The probe ends when it sees the sleep or is told to stop; either
        // way the flag is set on the way out, so no probe outlives its call.
        let _stop_on_exit = StopProbe(stop);
        tokio::select! {
            biased;
            done = link.worker.done() => done.map(Watched::Returned).ok_or_else(|| gone().into()),
            seen = looking => match seen {
                Ok(Some((blocked, in_flight))) => Ok(Watched::Asleep(blocked, in_flight)),
                // The probe cannot stop on its own without a sleep seen;
                // a panic in it leaves the call to be awaited as it returns.
                _ => self.await_done(actor, gate).await.map(Watched::Returned),
            },
            _ = gate.stopped() => Err(Stop::Presenter),
        }
    }

    /// Look at `actor`'s worker [`EAGER_LOOKS`] times, yielding between
    /// looks, until `look` sees something. Most calls return (or fall
    /// asleep) within microseconds: looking between yields finds them
    /// without putting the runtime's thread to sleep and waking it again.
    async fn look_eagerly<T>(
        &mut self,
        actor: &str,
        mut look: impl FnMut(&mut Worker) -> Option<T>,
    ) -> Result<Option<T>, Stop> {
        let gone = || EngineError::ActorGone(actor.to_string());
        for _ in 0..EAGER_LOOKS {
            let link = self.link_mut(actor).ok_or_else(gone)?;
            if let Some(seen) = look(&mut link.worker) {
                return Ok(Some(seen));
            }
            tokio::task::yield_now().await;
        }
        Ok(None)
    }

    /// `actor`'s call's result, however long the kernel keeps it waiting;
    /// only the presenter's stop ends the wait early.
    async fn await_done(&mut self, actor: &str, gate: &mut stepper::Gate) -> Result<Done, Stop> {
        let gone = || EngineError::ActorGone(actor.to_string());
        let link = self.link_mut(actor).ok_or_else(gone)?;
        if let Some(done) = link.worker.try_done() {
            return Ok(done);
        }
        tokio::select! {
            done = link.worker.done() => done.ok_or_else(|| gone().into()),
            _ = gate.stopped() => Err(Stop::Presenter),
        }
    }

    /// Report that step `index`'s call is asleep in the kernel, with the
    /// kernel's state of its socket at that moment, and remember the socket
    /// it is waiting on (a connecting client is in the kernel's tables, in
    /// SYN_SENT, before its connect returns).
    fn waiting(&mut self, index: usize, step: &Step, call: Call, blocked: Blocked, f: InFlight) {
        let at = Instant::now();
        let proto = f.sock.proto();
        let local = f.sock.local_addr();
        let tcp_state = match proto {
            Proto::Tcp if self.observers.kernel => {
                kernel::observe_fd(f.sock.socket(), Proto::Tcp).0
            }
            _ => None,
        };
        if let Some(local) = local {
            let name = format!("{}:{}", step.actor, step.sock);
            let backlog = self.known.get(&name).and_then(|k| k.backlog);
            let peer = f
                .peer
                .or_else(|| self.known.get(&name).and_then(|k| k.peer));
            self.known.insert(
                name,
                kernel::Known {
                    proto,
                    local,
                    peer,
                    open: true,
                    last_state: tcp_state,
                    backlog,
                },
            );
        }
        self.emit(EngineMsg::Waiting(Waiting {
            step: index + 1,
            actor: step.actor.clone(),
            call,
            sock: step.sock.clone(),
            fd: Some(f.fd),
            args: f.args,
            t_us: self.since_start(at),
            local: local.map(|l| l.to_string()),
            tcp_state,
            proto,
            syscall: actor::syscall_name(call).map(str::to_string),
            wchan: blocked.wchan,
            kernel_syscall: Some(blocked.syscall_line),
            tid: Some(blocked.tid),
        }));
    }

    fn link_mut(&mut self, actor: &str) -> Option<&mut Link> {
        self.actors.iter_mut().find(|link| link.name == actor)
    }

    /// Wait for `actor`'s call to return, however long the kernel keeps it
    /// waiting, and record the event. Only the presenter's stop ends the
    /// wait early.
    async fn finish_call(&mut self, actor: &str, gate: &mut stepper::Gate) -> Result<(), Stop> {
        // A call that does not wait (bind, listen, close, a send with room)
        // returns within microseconds.
        let done = match self.look_eagerly(actor, Worker::try_done).await? {
            Some(done) => done,
            None => self.await_done(actor, gate).await?,
        };
        self.record_done(actor, done);
        Ok(())
    }

    /// If `actor` has a call in flight, let it finish now.
    async fn finish_parked(&mut self, actor: &str, gate: &mut stepper::Gate) -> Result<(), Stop> {
        match self.link_mut(actor) {
            Some(link) if link.busy.is_some() => self.finish_call(actor, gate).await,
            _ => Ok(()),
        }
    }

    /// Record the call `actor` just returned from.
    fn record_done(&mut self, actor: &str, done: Done) {
        let Some(p) = self.link_mut(actor).and_then(|l| l.busy.take()) else {
            return;
        };
        let Done {
            mut event,
            at,
            took,
        } = done;
        // How long it slept in the kernel, for a call seen asleep.
        event.waited_us = took.filter(|_| p.waited).map(duration_us);
        self.record(p.step - 1, event, at);
    }

    /// Number, time-stamp and check an event, remember its addresses, send it.
    fn record(&mut self, index: usize, mut event: Box<Event>, at: Instant) {
        self.seq += 1;
        event.seq = self.seq;
        event.t_us = self.since_start(at);
        let lesson = Arc::clone(&self.lesson);
        let step = &lesson.steps[index];
        if let Some(local) = event.local.as_deref() {
            match (&step.new, event.call) {
                (Some(new), Call::Accept) => self.addrs.set(step.new_owner(), new, local),
                _ => self.addrs.set(&step.actor, &step.sock, local),
            }
        }
        self.observe(index, &mut event);
        if step.until.is_some() {
            self.last_result = Some(event.result);
        }
        if step.rest {
            self.last_whole = event.flags.iter().any(|f| f == actor::WHOLE_BUFFER_SENT);
        }
        event.checks = expect::check(&step.expect, &event);
        if let Err(halt) = guard::after_call(&lesson, index, &mut event) {
            self.halt.get_or_insert(halt);
        }
        event.segments = self.captured_for(&event);
        self.track_fds(step, &mut event);
        self.emit(EngineMsg::Event(event));
    }

    /// Keep the list of the lesson's fds up to date with `event`, and give
    /// a call that made a descriptor the process's fd table, read now.
    fn track_fds(&mut self, step: &Step, event: &mut Event) {
        match (event.call, event.new_fd) {
            (Call::Socket, Some(fd)) if event.ok() => {
                self.lesson_fds
                    .push((fd, format!("{}:{}", step.actor, step.sock)));
            }
            (Call::Accept, Some(fd)) if event.ok() => {
                let new = step.new.as_deref().unwrap_or_default();
                self.lesson_fds
                    .push((fd, format!("{}:{new}", step.new_owner())));
            }
            (Call::Close, _) => self.lesson_fds.retain(|(fd, _)| Some(*fd) != event.fd),
            _ => return,
        }
        if !step.fd_table || !self.observers.kernel || event.call == Call::Close || !event.ok() {
            return;
        }
        let names = kernel::fds::Names {
            lesson: self
                .lesson_fds
                .iter()
                .map(|(fd, name)| (*fd, name.as_str()))
                .collect(),
            threads: self
                .actors
                .iter()
                .map(|l| (l.worker.tid(), l.name.as_str()))
                .collect(),
        };
        event.fds = kernel::fds::read(&names).ok();
    }

    /// Tell the capture filter about a port `op` is about to use, before the
    /// call runs, so its first packet is kept.
    fn expect_ports(&mut self, op: &Op) {
        let port = match op {
            Op::Bind(a) | Op::Connect(a) | Op::Sendto(_, a) => a.port(),
            _ => return,
        };
        self.recorder.expect_port(port);
    }

    /// Drain the capture and take the frames of `event`'s connection. `None`
    /// when capture is not running: not observed.
    fn captured_for(&mut self, event: &Event) -> Option<Vec<Segment>> {
        if !self.recorder.running() {
            return None;
        }
        let ends = (event.local.as_deref(), event.peer.as_deref());
        // An accepted connection belongs to the thread it was handed to.
        let owner = match event.call {
            Call::Accept => self.lesson.steps[event.step - 1].new_owner(),
            _ => &event.actor,
        };
        let close = event.call == Call::Close;
        self.recorder.captured_for(owner, ends, close, true)
    }

    /// After the last step: collect the frames still on their way (a FIN or
    /// ACK the receiving stack handled after its call returned) so the
    /// capture and the pcap are complete. It drains every few milliseconds
    /// until nothing of ours came in the last round and no connection is
    /// half-way through its teardown, within a bound; it runs after the last
    /// step, so it never delays one.
    async fn settle_capture(&mut self) {
        const ROUND: Duration = Duration::from_millis(2);
        for _ in 0..SETTLE_ROUNDS {
            if !self.recorder.running() {
                return;
            }
            tokio::time::sleep(ROUND).await;
            if self.recorder.settle_round() {
                break;
            }
        }
        self.recorder.finish();
    }

    /// Bring the list of known sockets up to date with `event`, then read the
    /// kernel's tables for all of them, and for UDP how far the machine's
    /// drop counters moved.
    fn observe(&mut self, index: usize, event: &mut Event) {
        if !self.observers.kernel {
            return;
        }
        let step = &self.lesson.steps[index];
        let acted = format!("{}:{}", step.actor, step.sock);
        let name = match (&step.new, event.call) {
            (Some(new), Call::Accept) => format!("{}:{new}", step.new_owner()),
            _ => acted.clone(),
        };
        let parse = |a: &Option<String>| a.as_deref().and_then(|a| a.parse().ok());
        if let Some(local) = parse(&event.local) {
            let previous = self.known.get(&name).and_then(|k| k.peer);
            let backlog = self.known.get(&name).and_then(|k| k.backlog);
            // The peer that identifies the socket in the tables: a TCP
            // socket's connected peer, a UDP socket's only once connected
            // (sendto's destination is not a connection).
            let peer = match (event.proto, event.call) {
                (Proto::Tcp | Proto::Udp, Call::Connect) if !event.ok() => previous,
                (Proto::Tcp, _) | (Proto::Udp, Call::Connect) => parse(&event.peer).or(previous),
                (Proto::Udp, _) => previous,
            };
            self.known.insert(
                name.clone(),
                kernel::Known {
                    proto: event.proto,
                    local,
                    peer,
                    open: true,
                    last_state: None,
                    backlog,
                },
            );
        }
        if let Some(k) = self.known.get_mut(&acted) {
            if event.call == Call::Close {
                k.open = false;
            } else if event.call != Call::Accept || name == acted {
                k.last_state = event.tcp_state;
            }
            if let Some(b) = event.kernel.as_ref().and_then(|o| o.backlog) {
                k.backlog = Some(b);
            }
        }
        if event.call == Call::Accept
            && let Some(k) = self.known.get_mut(&name)
        {
            k.last_state = Some(crate::vocab::StateSeen::Is(
                crate::vocab::TcpState::Established,
            ))
            .filter(|_| event.ok());
        }
        if let (Proto::Udp, Some(obs), Some(start)) =
            (event.proto, event.kernel.as_mut(), self.udp_start)
            && let Ok(now) = UdpCounters::read()
        {
            let moved = now.since(start);
            obs.udp_rcvbuf_errors = Some(moved.rcvbuf_errors);
            obs.udp_in_errors = Some(moved.in_errors);
        }
        event.sockets = kernel::snapshot(&self.known);
    }

    fn addr(&self, step: usize, spec: &str) -> Result<SocketAddr, EngineError> {
        let unresolved = || EngineError::Unresolved {
            step,
            spec: spec.to_string(),
        };
        if is_literal_addr(spec) {
            return spec
                .replace("$port", &self.config.port.to_string())
                .parse()
                .map_err(|_| unresolved());
        }
        let (actor, sock) = spec.split_once(':').ok_or_else(unresolved)?;
        self.addrs.get(actor, sock).ok_or_else(unresolved)
    }

    fn resolve(&self, n: usize, step: &Step) -> Result<Op, EngineError> {
        let text = |s: &Option<String>| s.clone().unwrap_or_default().into_bytes();
        let addr = |s: &Option<String>| self.addr(n, s.as_deref().unwrap_or_default());
        Ok(match step.call {
            Call::Socket => Op::Socket(step.proto.unwrap_or(Proto::Tcp)),
            Call::Setsockopt => Op::Setsockopt(step.opt.expect("validated: setsockopt has opt")),
            Call::Bind => Op::Bind(addr(&step.addr)?),
            Call::Listen => Op::Listen(step.backlog.unwrap_or(DEFAULT_BACKLOG)),
            Call::Accept => Op::Accept {
                new: step.new.clone().unwrap_or_default(),
                handoff: step.handoff.clone(),
            },
            Call::Connect => Op::Connect(addr(&step.to)?),
            Call::Send => Op::Send(match (step.htonl, step.fill) {
                _ if step.rest => Payload::Rest,
                (Some(n), _) => Payload::Bytes(n.to_be_bytes().to_vec()),
                (None, Some(len)) => Payload::Bytes(filled(len)),
                (None, None) => Payload::Bytes(text(&step.data)),
            }),
            Call::Recv => Op::Recv(step.max.unwrap_or(DEFAULT_RECV_MAX), recv_flags(step)),
            Call::Sendto => Op::Sendto(text(&step.data), addr(&step.to)?),
            Call::Recvfrom => Op::Recvfrom(step.max.unwrap_or(DEFAULT_RECV_MAX), recv_flags(step)),
            Call::Shutdown => Op::Shutdown(step.how.expect("validated: shutdown has how")),
            Call::Close => Op::Close,
            Call::Fcntl => Op::Fcntl(step.nonblock.expect("validated: fcntl has nonblock")),
            Call::Poll => Op::Poll(
                step.events.expect("validated: poll has events"),
                step.timeout_ms.unwrap_or(crate::lesson::POLL_FOREVER),
                step.also.clone(),
            ),
            Call::Getsockopt => Op::Getsockopt(step.get.expect("validated: getsockopt has get")),
            Call::Dup => {
                unreachable!("validated: a lesson step never names a traced-only call")
            }
        })
    }
}

/// A `fill = N` payload: the alphabet over and over, N bytes, so a preview
/// of any part of it reads as text and a lost or repeated stretch shows.
fn filled(len: usize) -> Vec<u8> {
    (b'a'..=b'z').cycle().take(len).collect()
}

/// The recv flags a step asks for.
fn recv_flags(step: &Step) -> RecvFlags {
    RecvFlags {
        dontwait: step.dontwait,
        waitall: step.waitall,
    }
}
