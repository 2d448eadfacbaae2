//! The interactive TUI: `sockscope` and `sockscope lesson NAME`.
//!
//! One loop, one `tokio::select!`, four sources: key presses and resizes
//! (crossterm's `EventStream`, presses only), the engine's messages, an
//! animation tick that exists only while an arrow travels, and SIGINT /
//! SIGTERM / SIGHUP. Each becomes a [`app::Msg`]; [`app::update`] changes the
//! state and returns an [`app::Effect`], which this loop carries out (step
//! the engine, change its pace, restart it, quit). When nothing moves the
//! loop sleeps in `select!`: no ticks while idle.
//!
//! The terminal is restored on every way out: a [`TerminalGuard`] restores
//! it on return and on error, and the panic hook restores it before
//! color-eyre prints the report.
//!
//! - [`app`]: the state and `update`, pure.
//! - [`keys`]: the key table.
//! - [`theme`]: colours and glyphs by role.
//! - [`arrows`]: what each call puts on the wire (expected, until captured).
//! - [`timeline`]: rows, sockets and ports at the focused step.
//! - [`ui`]: one file per panel (the packet pane is `ui::packet`).

pub mod app;
pub mod arrows;
#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod kernel_tests;
pub mod keys;
#[cfg(test)]
mod packet_tests;
#[cfg(test)]
mod render_tests;
pub mod theme;
pub mod timeline;
pub mod ui;

use crate::engine::{Engine, EngineConfig};
use crate::lesson::Lesson;
use app::{App, Effect, Machine, Msg};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, IsTerminal, Stdout};
use std::time::Duration;
use theme::{Theme, ThemeName};
use tokio::signal::unix::{SignalKind, signal};

/// How the TUI was asked to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub theme: ThemeName,
    pub ascii: bool,
    /// The port `$port` stands for in lessons; 0 lets the kernel choose.
    pub port: u16,
}

/// Why the TUI ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The presenter quit.
    Quit,
    /// A signal ended it (its number), for exit code 128 + n.
    Signal(i32),
}

/// The TUI needs a terminal on both ends.
#[derive(Debug, thiserror::Error)]
#[error(
    "sockscope: the interactive screen needs a terminal (stdin and stdout must be a tty). \
     To run a lesson without one, use `sockscope trace NAME`."
)]
pub struct NoTerminal;

pub fn check_terminal() -> Result<(), NoTerminal> {
    if io::stdin().is_terminal() && io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(NoTerminal)
    }
}

/// Raw mode and the alternate screen, undone on drop.
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        let terminal = Terminal::new(CrosstermBackend::new(out)).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen and show the cursor. Safe to call
/// more than once (the panic hook and the guard may both run).
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

/// Wrap the panic hook so the terminal is restored first, then the previous
/// hook prints: color-eyre's, which `main` installed with
/// `color_eyre::install()` (its `HookBuilder` can only be installed once per
/// process, so we wrap it rather than build a second one).
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Run the TUI on `lesson` until the presenter quits or a signal arrives.
pub fn run(lesson: Lesson, lessons: Vec<Lesson>, options: Options) -> color_eyre::Result<Outcome> {
    check_terminal()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    install_panic_hook();
    let theme = Theme::from_env(options.theme, options.ascii);
    let mut guard = TerminalGuard::enter()?;
    let outcome = runtime.block_on(event_loop(&mut guard, lesson, lessons, options, &theme));
    drop(guard);
    outcome
}

async fn event_loop(
    guard: &mut TerminalGuard,
    lesson: Lesson,
    lessons: Vec<Lesson>,
    options: Options,
    theme: &Theme,
) -> color_eyre::Result<Outcome> {
    let frame = Duration::from_secs_f64(1.0 / f64::from(app::FPS));
    let config = |app: &App| EngineConfig {
        port: options.port,
        pace: app.pace(),
        // Capture when the process may; without privilege the run goes on
        // and the arrows say "expected".
        capture: true,
    };
    let mut app = App::new(lesson, lessons, Machine::read());
    let mut engine = Engine::start(app.lesson.clone(), config(&app));
    app.set_capture(engine.wire().status());
    let mut engine_open = true;
    let mut keys = EventStream::new();
    // The slow refresh of the kernel panel while the lesson waits between
    // calls: once a second, and only while the panel shows the latest step.
    let mut kernel_tick = tokio::time::interval(Duration::from_secs(1));
    kernel_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    // Debug builds only: lets tests/signals.rs check that a panic restores
    // the terminal. Release builds have no such switch.
    #[cfg(debug_assertions)]
    let panic_after_first_frame = std::env::var_os("SOCKSCOPE_TEST_PANIC").is_some();
    loop {
        guard
            .terminal
            .draw(|f| ui::render(f, f.area(), &app, theme))?;
        #[cfg(debug_assertions)]
        if panic_after_first_frame {
            panic!("SOCKSCOPE_TEST_PANIC: a deliberate panic to test terminal restore");
        }
        let msg = tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => Msg::Key(k),
                Some(Ok(TermEvent::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                // The terminal went away: nothing left to show.
                None => return Ok(Outcome::Quit),
            },
            m = engine.next(), if engine_open => match m {
                Some(m) => Msg::Engine(m),
                None => {
                    engine_open = false;
                    continue;
                }
            },
            () = tokio::time::sleep(frame), if app.animating() => Msg::Tick,
            _ = kernel_tick.tick(), if app.kernel_to_refresh().is_some() => {
                match app.kernel_to_refresh() {
                    Some(view) => Msg::Kernel(crate::kernel::refresh(view)),
                    None => continue,
                }
            }
            _ = sigint.recv() => return Ok(Outcome::Signal(libc::SIGINT)),
            _ = sigterm.recv() => return Ok(Outcome::Signal(libc::SIGTERM)),
            _ = sighup.recv() => return Ok(Outcome::Signal(libc::SIGHUP)),
        };
        match app::update(&mut app, msg) {
            Effect::None => {}
            Effect::Step => engine.step(),
            Effect::Pace(p) => engine.set_pace(p),
            Effect::Restart(lesson) => {
                // Dropping the old engine closes every socket it opened.
                engine = Engine::start(*lesson, config(&app));
                app.set_capture(engine.wire().status());
                engine_open = true;
            }
            Effect::SavePcap => app.notice = Some(save_pcap(&engine.wire(), &app.lesson.name)),
            Effect::ExplainPort(port) => {
                // A real bind on 127.0.0.1, released within microseconds. It
                // runs here, on the loop's only thread, so it never races a
                // lesson's own bind: the engine's actors wait meanwhile.
                let report = crate::ports::explain(port);
                app::update(&mut app, Msg::Port(Box::new(report)));
            }
            Effect::Quit => return Ok(Outcome::Quit),
        }
    }
}

/// `w`: write the run's captured packets to a new pcap file in the current
/// directory, and say where (or why not) on the notice line.
fn save_pcap(wire: &crate::wire::Wire, lesson: &str) -> String {
    if let Some(why) = wire.status().notice() {
        return format!("No pcap written: {why}");
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Never overwrite: a second save in the same second gets a suffix.
    let path = (0..)
        .map(|i| {
            let suffix = if i == 0 {
                String::new()
            } else {
                format!("-{i}")
            };
            std::path::PathBuf::from(format!("sockscope-{lesson}-{secs}{suffix}.pcap"))
        })
        .find(|p| !p.exists())
        .expect("some name is free");
    match wire.write_pcap(&path) {
        Ok(n) => format!(
            "Wrote {n} packets to {} (open it with tcpdump -r or Wireshark)",
            path.display()
        ),
        Err(e) => format!("Could not write {}: {e}", path.display()),
    }
}
