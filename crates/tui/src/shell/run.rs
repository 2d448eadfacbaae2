//! The loop: one `tokio::select!` over everything that can happen, the same
//! for every screen.
//!
//! ```text
//!   terminal events ─┐   (crossterm's EventStream: key presses, resizes, mouse)
//!   the screen's feed ┤   (its driver: an engine, a server), drained once per frame
//!   animation tick ───┤   only while the screen animates
//!   the screen's timer┤   only while it asks for one (the kernel panel's refresh)
//!   signals ──────────┘   SIGINT, SIGTERM, SIGHUP, SIGQUIT: end, terminal restored;
//!                         SIGTSTP (Ctrl-Z): terminal given back until `fg`
//!            │
//!            ▼
//!   Shell::update(msg) → effect → the driver carries it out → maybe a message back
//!            │
//!            ▼
//!   draw once, then wait in select! again
//! ```
//!
//! When nothing moves, nothing ticks: the loop sleeps in `select!` until a
//! key, a message or a signal (idle CPU ~0%, measured in
//! docs/performance.md). Messages from the screen's source are taken as a
//! batch before the next frame, as oha does, so a flood of events costs one
//! frame, not one per event.
//!
//! The shell does the effects every screen shares (quit, write a handout);
//! a [`Driver`] does the screen's own, and is the only thing that touches
//! the screen's source.

use super::term::TerminalGuard;
use super::{Effect, Msg, Screen, Shell};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;
use tokio::signal::unix::{self, SignalKind};

/// Animation frames per second while something moves.
pub const FPS: u32 = 30;

/// The most of the screen's messages taken in one frame: a peer that floods
/// a server cannot keep the screen from being drawn.
pub const DRAIN_MAX: usize = 1024;

/// Why the TUI ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The presenter quit.
    Quit,
    /// A signal ended it (its number), for exit code 128 + n.
    Signal(i32),
}

/// The screen's side of the loop: its source of messages and the hands that
/// carry out its effects (the engine, the server). Everything with I/O a
/// screen needs is here, so the screen itself stays pure.
pub trait Driver<S: Screen> {
    /// The next message, waiting for it. A source that has ended waits
    /// forever: the screen stays up until the presenter quits.
    fn next(&mut self) -> impl Future<Output = S::Feed>;
    /// The next message if one is ready now.
    fn try_next(&mut self) -> Option<S::Feed>;
    /// Carry out `effect` for `screen`; what it found, if anything, comes
    /// back as a message.
    fn perform(&mut self, effect: S::Effect, screen: &S) -> Option<Msg<S::Feed>>;
}

/// The signals the loop listens for. The one place where signals become
/// something the loop acts on: a signal to add is a variant here and an arm
/// in [`run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    Hangup,
    /// SIGQUIT (Ctrl-\\). Its default action dumps core with the terminal
    /// still raw; listening for it ends the TUI like SIGINT instead.
    Quit,
    /// SIGTSTP (Ctrl-Z): suspend, the terminal given back until `fg`.
    Suspend,
}

impl Signal {
    /// The signal's number, for the exit code 128 + n.
    #[must_use]
    pub fn number(self) -> i32 {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
            Signal::Hangup => libc::SIGHUP,
            Signal::Quit => libc::SIGQUIT,
            Signal::Suspend => libc::SIGTSTP,
        }
    }
}

/// Listening for [`Signal`]s; installed once, before the first frame.
pub struct Signals {
    interrupt: unix::Signal,
    terminate: unix::Signal,
    hangup: unix::Signal,
    quit: unix::Signal,
    suspend: unix::Signal,
}

impl Signals {
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: unix::signal(SignalKind::interrupt())?,
            terminate: unix::signal(SignalKind::terminate())?,
            hangup: unix::signal(SignalKind::hangup())?,
            quit: unix::signal(SignalKind::quit())?,
            suspend: unix::signal(SignalKind::from_raw(libc::SIGTSTP))?,
        })
    }

    /// The next signal that arrives.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
            _ = self.hangup.recv() => Signal::Hangup,
            _ = self.quit.recv() => Signal::Quit,
            _ = self.suspend.recv() => Signal::Suspend,
        }
    }
}

/// What woke the loop.
enum Wake<S: Screen> {
    Msg(Msg<S::Feed>),
    /// The screen's timer: carry out its repeated effect.
    Every,
    Signal(Signal),
    /// The terminal went away: nothing left to show.
    Gone,
    /// An event no screen reads (a key release, focus, paste).
    Ignored,
}

/// Run `shell` on the terminal until the presenter quits or a signal comes.
///
/// # Panics
///
/// In debug builds only, after the first frame when `SOCKSCOPE_TEST_PANIC`
/// is set: a deliberate panic, for tests/signals.rs to check that the
/// terminal is restored.
pub async fn run<S: Screen, D: Driver<S>>(
    guard: &mut TerminalGuard,
    shell: &mut Shell<S>,
    driver: &mut D,
) -> color_eyre::Result<Outcome> {
    let frame = Duration::from_secs_f64(1.0 / f64::from(FPS));
    let mut events = EventStream::new();
    let mut signals = Signals::new()?;
    // The screen's timer, made when the screen first asks for one and
    // kept, so its rhythm survives the frames in between.
    let mut timer: Option<(Duration, tokio::time::Interval)> = None;
    // Resizes report later sizes; the windows that scroll need the first.
    let size = guard.terminal.size()?;
    if let Some(end) = apply(guard, shell, driver, Msg::Resize(size.width, size.height)) {
        return Ok(end);
    }
    // What the source had ready before the first frame (whether it
    // captures, say) is on that frame already.
    if let Some(end) = drain(guard, shell, driver) {
        return Ok(end);
    }
    // Debug builds only: lets tests/signals.rs check that a panic restores
    // the terminal. Release builds have no such switch.
    #[cfg(debug_assertions)]
    let panic_after_first_frame = std::env::var_os("SOCKSCOPE_TEST_PANIC").is_some();
    loop {
        guard.terminal.draw(|f| shell.draw(f))?;
        #[cfg(debug_assertions)]
        assert!(
            !panic_after_first_frame,
            "SOCKSCOPE_TEST_PANIC: a deliberate panic to test terminal restore"
        );
        let every = shell.screen.every();
        if let Some((period, _)) = &every
            && timer.as_ref().is_none_or(|(p, _)| p != period)
        {
            let mut t = tokio::time::interval(*period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer = Some((*period, t));
        }
        let animating = shell.animating();
        let wake: Wake<S> = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => terminal_event(ev),
                Some(Err(e)) => return Err(e.into()),
                None => Wake::Gone,
            },
            feed = driver.next() => Wake::Msg(Msg::Feed(feed)),
            () = tokio::time::sleep(frame), if animating => Wake::Msg(Msg::Tick),
            () = tick(&mut timer), if every.is_some() => Wake::Every,
            signal = signals.recv() => Wake::Signal(signal),
        };
        let end = match wake {
            Wake::Msg(msg @ Msg::Feed(_)) => {
                apply(guard, shell, driver, msg).or_else(|| drain(guard, shell, driver))
            }
            Wake::Msg(msg) => apply(guard, shell, driver, msg),
            Wake::Every => every
                .and_then(|(_, effect)| carry_out(guard, shell, driver, Effect::Screen(effect))),
            // Ctrl-Z: the terminal goes back to the shell until `fg`; then
            // the loop draws the whole screen again.
            Wake::Signal(Signal::Suspend) => carry_out(guard, shell, driver, Effect::Suspend),
            // Every other signal we listen for ends the TUI; the guard
            // restores the terminal on the way out.
            Wake::Signal(signal) => Some(Outcome::Signal(signal.number())),
            Wake::Gone => Some(Outcome::Quit),
            Wake::Ignored => None,
        };
        if let Some(end) = end {
            return Ok(end);
        }
    }
}

/// What a terminal event means for the shell: key presses only (crossterm
/// reports releases and repeats too on terminals that can), resizes, and
/// mouse events.
fn terminal_event<S: Screen>(ev: TermEvent) -> Wake<S> {
    match ev {
        TermEvent::Key(k) if k.kind == KeyEventKind::Press => Wake::Msg(Msg::Key(k)),
        TermEvent::Resize(w, h) => Wake::Msg(Msg::Resize(w, h)),
        TermEvent::Mouse(m) => Wake::Msg(Msg::Mouse(m)),
        _ => Wake::Ignored,
    }
}

/// The next tick of the screen's timer (never, without one).
async fn tick(timer: &mut Option<(Duration, tokio::time::Interval)>) {
    match timer {
        Some((_, t)) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Take every message the source has ready (up to [`DRAIN_MAX`]).
fn drain<S: Screen, D: Driver<S>>(
    guard: &mut TerminalGuard,
    shell: &mut Shell<S>,
    driver: &mut D,
) -> Option<Outcome> {
    for _ in 0..DRAIN_MAX {
        let feed = driver.try_next()?;
        if let Some(end) = apply(guard, shell, driver, Msg::Feed(feed)) {
            return Some(end);
        }
    }
    None
}

/// Update with `msg`, then carry out what it asks.
fn apply<S: Screen, D: Driver<S>>(
    guard: &mut TerminalGuard,
    shell: &mut Shell<S>,
    driver: &mut D,
    msg: Msg<S::Feed>,
) -> Option<Outcome> {
    let effect = shell.update(msg);
    carry_out(guard, shell, driver, effect)
}

/// Carry out `effect`, and each effect of the messages it answers with,
/// until one asks for nothing more. `Some` when the TUI is to end.
fn carry_out<S: Screen, D: Driver<S>>(
    guard: &mut TerminalGuard,
    shell: &mut Shell<S>,
    driver: &mut D,
    mut effect: Effect<S::Effect>,
) -> Option<Outcome> {
    loop {
        let answer = match effect {
            Effect::None => return None,
            Effect::Quit => return Some(Outcome::Quit),
            // Stopped here until `fg`. If the terminal cannot be taken
            // back, there is nothing left to draw on: end as if it went away.
            Effect::Suspend => match guard.suspend() {
                Ok(()) => return None,
                Err(_) => return Some(Outcome::Quit),
            },
            Effect::Handout(h) => Msg::Notice(save_handout(&h)),
            Effect::Screen(e) => driver.perform(e, &shell.screen)?,
        };
        effect = shell.update(answer);
    }
}

/// Write a handout where the presenter started sockscope (never over
/// another file), and say where, or why not.
fn save_handout(h: &super::Handout) -> String {
    let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
    match sockscope_report::handout::save_text(&dir, &h.stem, &h.markdown) {
        Ok(path) => format!("Handout written: {}", path.display()),
        Err(e) => format!("No handout written in {}: {e}", dir.display()),
    }
}
